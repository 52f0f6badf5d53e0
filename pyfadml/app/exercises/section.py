"""Section "Exercises": the student writes ``backward`` and a numerical gradient check grades it, in the page.

Everything that grades lives in :mod:`pyfadml.exercises` (no Panel there); this module shows it. "Check" runs
:func:`pyfadml.exercises.check` on the editor's code (in the browser's Python worker; a time limit stops
endless loops), "Show solution" and "Reset to template" replace the editor's code and keep the student's own
version one click away ("Back to my code").

Progress (solved / tried per exercise, each draft, the open exercise) is kept in the browser's local storage.
Python in the worker cannot reach local storage, so the section mirrors it into a hidden text input (CSS
class ``pyfadml-exercise-store``, JSON of :func:`pyfadml.exercises.progress.dump`); the page's
index.js saves every value Python writes there and, when the section first appears, writes the saved
value into it, which comes back here as a change and is merged (:meth:`ExercisesSection._on_store`).
"""
from __future__ import annotations

import panel as pn
import param

from pyfadml.app import ui
from pyfadml.app.exercises.view import PROGRESS_CSS, RESULT_CSS, progress_html, result_html
from pyfadml.exercises import EXERCISES, TIME_LIMIT, CheckResult, get
from pyfadml.exercises.workbook import Workbook

STORE_CLASS = "pyfadml-exercise-store"
LABELS = {e.title: e.key for e in EXERCISES}

INTRO = """
<h2>Exercises: write the backward pass</h2>
<p class="secondary">Each exercise is a layer of the lecture in the library's style: <code>forward</code> is
given and caches what it needs; you complete <code>backward</code>, which fills <code>grads</code> and
returns the gradient for the layer's input. <b>Check</b> compares your gradients with centred differences
(<code>pyfadml.gradcheck</code>), entry by entry, in float64. Everything runs in your browser.</p>
"""

EDITOR_CSS = """
textarea {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: calc(12.5px * min(var(--pf-scale, 1), 1.12)); line-height: 1.4;  /* 80 columns fit */ tab-size: 4; white-space: pre;
  background: #fcfcfd; color: #0f172a; resize: vertical;
}
"""


class ExercisesSection(ui.View):
    """Chooser and progress on the left; the formula, the editor and the verdict on the right."""

    title = "Exercises"
    exercise = param.Selector(default=EXERCISES[0].key, objects=[e.key for e in EXERCISES])

    def __init__(self, **params):
        super().__init__(**params)
        self.book = Workbook()                    # what the student did: checks, drafts, progress
        self._writing = False
        W = pn.widgets
        self._chooser = W.Select(label="Exercise", options=LABELS, value=self.exercise,
                                 sizing_mode="stretch_width", margin=(4, 5, 8, 5))
        self._chooser.param.watch(lambda e: setattr(self, "exercise", e.new), "value")
        self._progress = ui.prose(css=PROGRESS_CSS)
        self._store = W.TextInput(value="", visible=False, css_classes=[STORE_CLASS])
        self._store.param.watch(self._on_store, "value")
        self._header = ui.prose(math=True)
        self._editor = W.TextAreaInput(value="", rows=24, sizing_mode="stretch_width", stylesheets=[EDITOR_CSS],
                                       css_classes=["pyfadml-code"], margin=(4, 5))
        self._editor.param.watch(self._on_edit, "value")
        self._check_btn = W.Button(label="Check", color="primary", width=110, margin=(4, 5))
        self._solution_btn = W.Button(label="Show solution", color="default", variant="outline", width=130,
                                      margin=(4, 5))
        self._reset_btn = W.Button(label="Reset to template", color="default", variant="outline", width=150,
                                   margin=(4, 5))
        self._back_btn = W.Button(label="Back to my code", color="warning", variant="outline", width=140,
                                  margin=(4, 5), visible=False)
        self._check_btn.on_click(lambda e: self.run_check())
        self._solution_btn.on_click(lambda e: self.show_solution())
        self._reset_btn.on_click(lambda e: self.reset_to_template())
        self._back_btn.on_click(lambda e: self.back_to_my_code())
        self._result = ui.prose(css=RESULT_CSS, margin=(4, 5))
        editor = pn.Column(
            pn.Row(self._check_btn, self._solution_btn, self._reset_btn, self._back_btn),
            self._editor, sizing_mode="stretch_width", min_width=480)
        self._layout = ui.screen(
            [self._chooser, ui.prose("<h3>Your progress</h3>", margin=(8, 5, 0, 5), sizing_mode=None), self._progress,
             ui.prose(f"<p class='muted'>The check stops code that runs longer than {TIME_LIMIT:g} s. Tab indents in "
                      "the editor. Numpy is available as <code>np</code>.</p>", margin=(10, 5, 0, 5), sizing_mode=None),
             self._store],
            [ui.prose(INTRO), self._header,
             pn.Row(editor, pn.Column(self._result, width=330), sizing_mode="stretch_width")], width=230)
        self._show_exercise()

    # ------------------------------------------------------------------ actions

    @property
    def code(self) -> str:
        return self._editor.value

    @property
    def status(self) -> dict[str, str]:
        """Exercise -> "pass" (solved) or "fail" (tried, not solved yet)."""
        return self.book.status

    def run_check(self) -> CheckResult:
        """Grade the editor's code; the verdict panel says "Checking…" while it runs."""
        key, book = self.exercise, self.book
        self._result.object = result_html(None, key, book.checks + 1, checking=True)
        result = book.check(key, self.code)
        self._result.object = result_html(result, key, book.checks)
        self._update_progress()
        return result

    def show_solution(self) -> None:
        self._replace_code(get(self.exercise).solution)

    def reset_to_template(self) -> None:
        self._replace_code(get(self.exercise).template)

    def back_to_my_code(self) -> None:
        mine = self.book.back(self.exercise)
        if mine is not None:
            self._editor.value = mine
        self._back_btn.visible = False

    def _replace_code(self, code: str) -> None:
        self.book.replace(self.exercise, self.code, code)
        self._editor.value = code       # _on_edit records it and saves
        self._back_btn.visible = self.exercise in self.book.drafts

    # ------------------------------------------------------------------ state

    def _on_edit(self, event) -> None:
        self.book.edited(self.exercise, event.new)
        self._update_progress()

    @param.depends("exercise", watch=True)
    def _show_exercise(self) -> None:
        ex = get(self.exercise)
        self._chooser.value = ex.key
        self._header.object = (f"<h3>{ex.title}: complete <code>{ex.class_name}.backward</code></h3>"
                               f"<p>{ex.text}</p>$${ex.formula}$$")
        self._editor.rows = max(16, ex.template.count("\n") + 3)
        self._editor.value = self.book.code(ex.key)
        self._back_btn.visible = ex.key in self.book.drafts
        self._result.object = result_html(self.book.results.get(ex.key), ex.key, self.book.checks)
        self._update_progress()

    def _update_progress(self) -> None:
        self._progress.object = progress_html(self.book.status, self.exercise)
        self._writing = True
        try:
            self._store.value = self.book.dump(self.exercise)
        finally:
            self._writing = False

    def _on_store(self, event) -> None:
        """The page handed back what this browser saved: merge it (a pass is never lost, drafts of this
        visit win over saved ones) and show it."""
        if self._writing:
            return
        current = self.book.merge_saved(event.new)
        if current and current != self.exercise:
            self.exercise = current                    # shows it (and saves)
        else:
            if self.code == get(self.exercise).template and self.exercise in self.book.codes:
                self._editor.value = self.book.codes[self.exercise]
            self._update_progress()
