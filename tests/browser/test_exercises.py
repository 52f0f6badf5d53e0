"""The Exercises section in headless Chromium (issue 13, item 7): the student's backward graded in the page.

The verdict is ``[data-testid=exercise-result]``: ``data-pass`` "true"/"false" once a check has finished,
``data-checks`` counts the checks (a test waits for it to grow), ``data-kind`` says what happened.
"""
from __future__ import annotations

import json
import re

import pytest

from pyfadml.exercises import TIME_LIMIT, get

pytestmark = pytest.mark.browser

SECTION = "Exercises"
RESULT = "[data-testid=exercise-result]"
EDITOR = ".pyfadml-code textarea"
CHECK_TIMEOUT_S = 60.0


def _open(ui):
    ui.open_section(SECTION)
    ui.page.locator(RESULT).first.wait_for(state="visible", timeout=60_000)


def _checks(ui) -> int:
    return int(ui.attr(RESULT, "data-checks"))


def _check(ui) -> dict:
    """Press Check and wait for the verdict; returns the result's data- attributes."""
    before = _checks(ui)
    ui.click_button("Check")
    ui.wait_attr(RESULT, "data-checks", lambda v: int(v) > before, CHECK_TIMEOUT_S, "a new check")
    ui.wait_attr(RESULT, "data-state", lambda v: v == "done", CHECK_TIMEOUT_S, "the verdict")
    ui.wait_for_python()
    loc = ui.page.locator(RESULT).first
    return {k: loc.get_attribute(f"data-{k}") for k in ("pass", "kind", "exercise", "line")}


def _errors(ui) -> dict[str, float]:
    cells = ui.page.locator("[data-testid^=exercise-error-]")
    return {cells.nth(i).get_attribute("data-testid").removeprefix("exercise-error-"):
            float(cells.nth(i).get_attribute("data-value")) for i in range(cells.count())}


def _type_code(ui, code: str) -> None:
    """Replace the editor's code as a student would (fill, then leave the field so the value is sent)."""
    box = ui.page.locator(EDITOR).first
    box.fill(code)
    box.blur()
    ui.wait_for_python()


@pytest.mark.parametrize("key, label", [("sigmoid", "Sigmoid"), ("dense", "Dense layer"),
                                        ("conv2d", "Conv2D (one channel)"), ("rnn_step", "RNN step")])
def test_template_fails_and_solution_passes(ui, key, label):
    _open(ui)
    ui.select("Exercise", label)
    ex = get(key)
    assert ui.page.locator(EDITOR).first.input_value() == ex.template
    failed = _check(ui)
    assert failed == {"pass": "false", "kind": "gradient", "exercise": key, "line": None}
    errors = _errors(ui)
    assert set(errors) >= set(ex.inputs) and all(err > 0.5 for err in errors.values()), errors
    assert ui.page.locator("[data-testid=exercise-hint]").first.is_visible()

    ui.click("Show solution")
    assert ui.page.locator(EDITOR).first.input_value() == ex.solution
    passed = _check(ui)
    assert passed["pass"] == "true" and passed["kind"] == "pass"
    errors = _errors(ui)
    assert set(errors) >= set(ex.inputs) and max(errors.values()) < 1e-7, errors
    assert not ui.page.locator("[data-testid=exercise-hint]").count()
    progress = json.loads(ui.attr("[data-testid=exercise-progress]", "data-progress"))
    assert progress[key] == "pass"


def test_endless_loop_is_stopped_and_the_page_stays_responsive(ui):
    _open(ui)
    ui.select("Exercise", "Tanh")
    endless = get("tanh").solution.replace("        dz = dout", "        while True:\n            pass\n        dz = dout")
    _type_code(ui, endless)
    before = _checks(ui)
    ui.click_button("Check")
    # while Python is busy the page still draws: the verdict says it is checking
    ui.wait_attr(RESULT, "data-state", lambda v: v == "checking", 30, "the checking state")
    ui.section("Backprop & decision boundaries").click()      # a click during the check is not lost
    ui.wait_attr(RESULT, "data-checks", lambda v: int(v) > before, CHECK_TIMEOUT_S + TIME_LIMIT, "the check")
    ui.wait_for_python(60_000)
    ui.page.locator("[data-testid=stats]").first.wait_for(state="visible", timeout=60_000)
    assert not ui.page.locator(RESULT).first.is_visible()      # the nav click was handled afterwards

    _open(ui)
    loc = ui.page.locator(RESULT).first
    assert loc.get_attribute("data-pass") == "false" and loc.get_attribute("data-kind") == "time"
    text = loc.inner_text()
    assert f"Stopped after {TIME_LIMIT:g} s" in text and "loop" in text
    assert re.search(r"line 1[45]:\s+(while True:|pass)", ui.text("[data-testid=exercise-line]"))
    # another button still works, and so does the next check
    ui.click("Reset to template")
    assert ui.page.locator(EDITOR).first.input_value() == get("tanh").template
    assert ui.page.locator("button.bk-btn:visible").filter(has_text=re.compile(r"^\s*Back to my code\s*$")).count()
    assert _check(ui)["kind"] == "gradient"
    ui.click("Back to my code")
    assert ui.page.locator(EDITOR).first.input_value() == endless


def test_syntax_error_and_exception_name_the_line(ui):
    _open(ui)
    ui.select("Exercise", "ReLU")
    code = get("relu").solution.replace("dz = dout * (self.z > 0)", "dz = dout * (self.z > 0")
    line = code.splitlines().index("        dz = dout * (self.z > 0") + 1
    _type_code(ui, code)
    result = _check(ui)
    assert result["pass"] == "false" and result["kind"] == "syntax" and result["line"] == str(line)
    assert f"line {line}" in ui.text(RESULT)

    code = get("relu").solution.replace("dz = dout * (self.z > 0)", "dz = dout @ self.z")
    _type_code(ui, code)
    result = _check(ui)
    assert result["kind"] == "exception" and result["line"] == str(line)
    assert "ValueError" in ui.text(RESULT) and "dz = dout @ self.z" in ui.text("[data-testid=exercise-line]")


def test_progress_and_drafts_survive_a_reload(ui):
    page = ui.page
    _open(ui)
    ui.select("Exercise", "Softmax cross-entropy")
    ui.click("Show solution")
    assert _check(ui)["pass"] == "true"
    ui.select("Exercise", "VAE reparameterisation")
    draft = get("reparam").template.replace("dmu = np.zeros_like(dz)", "dmu = dz  # my first step")
    _type_code(ui, draft)
    assert _check(ui)["pass"] == "false"
    saved = json.loads(page.evaluate("localStorage.getItem('pyfadml-exercises')"))
    assert saved["status"] == {"softmax_ce": "pass", "reparam": "fail"}

    page.reload()
    page.locator('body[data-app-state="ready"]').wait_for(state="attached", timeout=120_000)
    _open(ui)
    ui.wait_attr("[data-testid=exercise-progress]", "data-solved", lambda v: v == "1", 30, "the restored progress")
    progress = json.loads(ui.attr("[data-testid=exercise-progress]", "data-progress"))
    assert progress == {"softmax_ce": "pass", "reparam": "fail"}
    assert "1 of 8 solved" in ui.text("[data-testid=exercise-progress]")
    # the exercise open when the page was left is open again, with the student's draft in the editor
    assert ui.widget("Exercise").locator("select").input_value() == "VAE reparameterisation"
    assert ui.page.locator(EDITOR).first.input_value() == draft
    ui.select("Exercise", "Softmax cross-entropy")
    assert ui.page.locator(EDITOR).first.input_value() == get("softmax_ce").solution
