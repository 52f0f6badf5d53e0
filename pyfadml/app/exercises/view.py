"""HTML of the Exercises section: the verdict panel and the progress list.

The verdict is ``[data-testid=exercise-result]`` with ``data-pass="true"`` or ``"false"`` once a check has
finished (``""`` before the first check and while one runs), ``data-kind`` (see
:mod:`pyfadml.exercises.checker`), ``data-exercise`` and ``data-checks`` (a counter: a test waits for it to
change). Each relative error is a ``[data-testid=exercise-error-<name>]`` with the full value in
``data-value``.
"""
from __future__ import annotations

import json
from html import escape

from pyfadml.app import theme, ui
from pyfadml.exercises import EXERCISES, TOLERANCE, CheckResult

RESULT_CSS = f"""
:host {{ color: {theme.TEXT}; font-size: calc(14px * var(--pf-scale, 1)); line-height: 1.45; }}
.verdict {{ font-size: calc(20px * var(--pf-scale, 1)); font-weight: 700; margin: 0 0 6px 0; }}
.result {{ border-radius: 10px; padding: 12px 14px; border: 1px solid {theme.RULE}; background: {theme.PAGE_BG}; }}
.result.pass {{ background: #f0fdf4; border-color: #86efac; }}
.result.pass .verdict {{ color: #15803d; }}
.result.fail {{ background: #fef2f2; border-color: #fca5a5; }}
.result.fail .verdict {{ color: {theme.DANGER}; }}
.result.checking .verdict {{ color: {theme.ACCENT}; }}
.message {{ margin: 0 0 8px 0; color: {theme.INK}; }}
table.err {{ border-collapse: collapse; margin: 4px 0 8px 0; font-variant-numeric: tabular-nums; }}
table.err th {{ text-align: left; font-weight: 500; color: {theme.MUTED}; font-size: 12px; padding: 2px 10px 2px 0; }}
table.err td {{ padding: 2px 10px 2px 0; }}
table.err td.q {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }}
td.ok {{ color: #15803d; font-weight: 600; }}
td.bad {{ color: {theme.DANGER}; font-weight: 600; }}
pre {{ background: white; border: 1px solid {theme.RULE}; border-radius: 6px; padding: 6px 8px; margin: 4px 0 8px 0;
       font-size: 12.5px; white-space: pre-wrap; max-height: 160px; overflow: auto; }}
.hint {{ background: #fffbeb; border: 1px solid #fde68a; border-radius: 6px; padding: 6px 8px; margin: 6px 0 0 0; }}
.muted {{ color: {theme.MUTED}; font-size: 12.5px; }}
"""

PROGRESS_CSS = f"""
:host {{ color: {theme.TEXT}; font-size: calc(13px * var(--pf-scale, 1)); }}
ol {{ margin: 4px 0 0 0; padding-left: 0; list-style: none; }}
li {{ margin: 2px 0; display: flex; gap: 8px; align-items: baseline; }}
li.current {{ font-weight: 650; color: {theme.INK}; }}
.mark {{ width: 16px; text-align: center; font-weight: 700; }}
.pass .mark {{ color: #15803d; }}
.fail .mark {{ color: {theme.DANGER}; }}
.todo .mark {{ color: #94a3b8; }}
.summary {{ color: {theme.MUTED}; margin-top: 6px; }}
"""

MARKS = {"pass": ("✓", "solved"), "fail": ("✗", "tried, not solved yet"), "todo": ("○", "not tried")}


def progress_html(status: dict[str, str], current: str) -> str:
    """The list of exercises with ✓ solved, ✗ tried, ○ not tried; ``data-progress`` holds ``status`` as JSON."""
    items = []
    for e in EXERCISES:
        state = status.get(e.key, "todo")
        mark, words = MARKS[state]
        items.append(f'<li class="{state}{" current" if e.key == current else ""}" data-exercise="{e.key}" '
                     f'data-status="{state}"><span class="mark" title="{words}">{mark}</span>'
                     f'<span>{escape(e.title)}</span></li>')
    solved = sum(1 for v in status.values() if v == "pass")
    data = escape(json.dumps(status, sort_keys=True), quote=True)
    return (f'<div data-testid="exercise-progress" data-progress="{data}" data-solved="{solved}">'
            f'<ol>{"".join(items)}</ol><div class="summary">{solved} of {len(EXERCISES)} solved · '
            f'kept in this browser</div></div>')


def _quantity(name: str) -> str:
    return f"∂L/∂{escape(name)}"


def result_html(result: CheckResult | None, key: str, checks: int, *, checking: bool = False) -> str:
    """The verdict panel for ``result`` (None: not checked yet, or ``checking``)."""
    common = f'data-testid="exercise-result" data-exercise="{key}" data-checks="{checks}"'
    if checking:
        return (f'<div class="result checking" {common} data-pass="" data-kind="checking" data-state="checking">'
                f'<div class="verdict">Checking…</div><p class="message">Running your backward and the numerical '
                f'gradient check in your browser.</p></div>')
    if result is None:
        return (f'<div class="result" {common} data-pass="" data-kind="none-yet" data-state="idle">'
                f'<div class="verdict">Not checked yet</div><p class="message">Complete <code>backward</code> '
                f'in the editor and press <b>Check</b>: your gradients are compared with centred differences '
                f'(a relative error below {ui.num(TOLERANCE)} passes).</p></div>')
    verdict = "Pass" if result.passed else "Not yet"
    parts = [f'<div class="result {"pass" if result.passed else "fail"}" {common} '
             f'data-pass="{"true" if result.passed else "false"}" data-kind="{result.kind}" data-state="done"'
             f'{f" data-line={chr(34)}{result.line}{chr(34)}" if result.line else ""}>',
             f'<div class="verdict">{verdict}</div>', f'<p class="message">{escape(result.message)}</p>']
    if result.code_line:
        parts.append(f'<pre data-testid="exercise-line">line {result.line}:  {escape(result.code_line)}</pre>')
    if result.errors:
        rows = "".join(
            f'<tr><td class="q">{_quantity(name)}</td>'
            f'<td data-testid="exercise-error-{escape(name)}" data-value="{ui.exact(err)}">{ui.num(err, 3)}</td>'
            f'<td class="{"ok" if err < TOLERANCE else "bad"}">{"✓" if err < TOLERANCE else "✗"}</td></tr>'
            for name, err in result.errors.items())
        parts.append(f'<table class="err"><tr><th>gradient</th><th>worst relative error</th><th></th></tr>'
                     f'{rows}</table>')
    if result.hint and not result.passed:
        parts.append(f'<div class="hint" data-testid="exercise-hint"><b>Hint.</b> {escape(result.hint)}</div>')
    if result.output:
        parts.append(f'<div class="muted">What your code printed:</div><pre>{escape(result.output)}</pre>')
    parts.append(f'<div class="muted">Checked in {1000 * result.seconds:.0f} ms.</div></div>')
    return "".join(parts)

