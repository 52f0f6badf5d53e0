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
from pyfadml.exercises import EXERCISES, TIME_LIMIT, CheckResult, check, get, progress

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
        self.status: dict[str, str] = {}          # key -> "pass" | "fail"
        self.codes: dict[str, str] = {}           # key -> the student's code (absent: the template)
        self.drafts: dict[str, str] = {}          # key -> the student's code before Show solution / Reset
        self.results: dict[str, CheckResult] = {}
        self.checks = 0
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

    def run_check(self) -> CheckResult:
        """Grade the editor's code; the verdict panel says "Checking…" while it runs."""
        key = self.exercise
        self.checks += 1
        self._result.object = result_html(None, key, self.checks, checking=True)
        result = check(key, self.code)
        self.results[key] = result
        progress.record(self.status, self.codes, key, result, self.code)
        self._result.object = result_html(result, key, self.checks)
        self._update_progress()
        return result

    def show_solution(self) -> None:
        self._replace_code(get(self.exercise).solution)

    def reset_to_template(self) -> None:
        self._replace_code(get(self.exercise).template)

    def back_to_my_code(self) -> None:
        key = self.exercise
        if key in self.drafts:
            self._set_editor(self.drafts.pop(key))
        self._back_btn.visible = False

    def _replace_code(self, code: str) -> None:
        key, ex = self.exercise, get(self.exercise)
        mine = self.code
        if mine not in (ex.template, ex.solution, code):   # the student's own code: keep it one click away
            self.drafts[key] = mine
        self._set_editor(code)
        self._back_btn.visible = key in self.drafts

    def _set_editor(self, code: str) -> None:
        self._editor.value = code       # _on_edit records it and saves

    # ------------------------------------------------------------------ state

    def _on_edit(self, event) -> None:
        ex = get(self.exercise)
        if event.new == ex.template:
            self.codes.pop(self.exercise, None)
        else:
            self.codes[self.exercise] = event.new
        self._update_progress()

    @param.depends("exercise", watch=True)
    def _show_exercise(self) -> None:
        ex = get(self.exercise)
        self._chooser.value = ex.key
        self._header.object = (f"<h3>{ex.title}: complete <code>{ex.class_name}.backward</code></h3>"
                               f"<p>{ex.text}</p>$${ex.formula}$$")
        self._editor.rows = max(16, ex.template.count("\n") + 3)
        self._set_editor(self.codes.get(ex.key, ex.template))
        self._back_btn.visible = ex.key in self.drafts
        self._result.object = result_html(self.results.get(ex.key), ex.key, self.checks)
        self._update_progress()

    def _update_progress(self) -> None:
        self._progress.object = progress_html(self.status, self.exercise)
        self._writing = True
        try:
            self._store.value = progress.dump(self.status, self.codes, self.exercise)
        finally:
            self._writing = False

    def _on_store(self, event) -> None:
        """The page handed back what this browser saved: merge it (a pass is never lost, drafts of this
        visit win over saved ones) and show it."""
        if self._writing:
            return
        status, codes, current = progress.load(event.new)
        untouched = not self.codes and not self.results
        progress.merge(self.status, self.codes, status, codes)
        if untouched and current and current != self.exercise:
            self.exercise = current                    # shows it (and saves)
        else:
            ex = get(self.exercise)
            if self.code == ex.template and self.exercise in self.codes:
                self._set_editor(self.codes[self.exercise])
            self._update_progress()
