"""The Exercises section without a browser: checks, solution/reset/back, and the saved progress merge."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("panel")

from pyfadml.app.exercises import ExercisesSection  # noqa: E402
from pyfadml.exercises.progress import dump as dump_store, load as load_store  # noqa: E402
from pyfadml.exercises import EXERCISES, get  # noqa: E402


def _result_attrs(section) -> str:
    return section._result.object


def test_check_template_then_solution_updates_verdict_and_progress():
    s = ExercisesSection()
    assert 'data-pass=""' in _result_attrs(s) and 'data-checks="0"' in _result_attrs(s)
    assert s.run_check().kind == "gradient"
    assert 'data-pass="false"' in _result_attrs(s) and 'data-checks="1"' in _result_attrs(s)
    assert 'data-testid="exercise-hint"' in _result_attrs(s)
    s.show_solution()
    assert s.code == get("sigmoid").solution
    assert s.run_check().passed and 'data-pass="true"' in _result_attrs(s)
    assert s.status == {"sigmoid": "pass"}
    s._editor.value = get("sigmoid").template          # broken again: still counted as solved
    assert not s.run_check().passed and s.status == {"sigmoid": "pass"}
    assert 'data-solved="1"' in s._progress.object


def test_solution_and_reset_keep_the_students_code_one_click_away():
    s = ExercisesSection(exercise="dense")
    s._editor.value = "class Dense:\n    pass  # mine\n"
    s.show_solution()
    assert s.code == get("dense").solution and s._back_btn.visible
    s.reset_to_template()
    assert s.code == get("dense").template and s._back_btn.visible
    s.back_to_my_code()
    assert s.code == "class Dense:\n    pass  # mine\n" and not s._back_btn.visible


def test_switching_exercises_keeps_each_draft_and_result():
    s = ExercisesSection()
    s._editor.value = "# my sigmoid"
    s.exercise = "conv2d"
    assert s.code == get("conv2d").template and 'data-exercise="conv2d"' in _result_attrs(s)
    s.exercise = "sigmoid"
    assert s.code == "# my sigmoid"
    stored = json.loads(s._store.value)
    assert stored["code"] == {"sigmoid": "# my sigmoid"} and stored["current"] == "sigmoid"


def test_saved_progress_is_merged_and_bad_values_are_ignored():
    saved = dump_store({"tanh": "pass", "relu": "fail"}, {"relu": "# saved relu"}, "relu")
    fresh = ExercisesSection()
    fresh._store.value = saved                        # what index.js hands back after a reload
    assert fresh.status == {"tanh": "pass", "relu": "fail"}
    assert fresh.exercise == "relu" and fresh.code == "# saved relu"

    busy = ExercisesSection()
    busy.show_solution()
    busy.run_check()                                    # this visit already has work: it is not replaced
    busy._store.value = dump_store({"sigmoid": "fail", "tanh": "pass"}, {"sigmoid": "# old"}, "tanh")
    assert busy.status == {"sigmoid": "pass", "tanh": "pass"}
    assert busy.exercise == "sigmoid" and busy.code == get("sigmoid").solution
    for bad in ("", "not json", "[]", json.dumps({"v": 99}), json.dumps({"v": 1, "status": {"x": "pass"}})):
        busy._store.value = bad
        assert busy.status == {"sigmoid": "pass", "tanh": "pass"}
    assert load_store(json.dumps({"v": 1, "status": {"relu": "maybe"}, "code": {"relu": 3}})) == ({}, {}, None)


def test_every_exercise_can_be_opened_and_solved_in_the_section():
    s = ExercisesSection()
    for e in EXERCISES:
        s.exercise = e.key
        assert e.class_name in s._header.object and "$$" in s._header.object
        s.show_solution()
        assert s.run_check().passed, e.key
    assert 'data-solved="8"' in s._progress.object
