"""The exercises grade a student's backward: the template fails, the solution passes, broken code gets a message."""
from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from pyfadml.exercises import EXERCISES, TOLERANCE, TimeLimitExceeded, check, get, time_limit
from pyfadml.exercises.checker import one_line_loops

KEYS = [e.key for e in EXERCISES]


def test_the_eight_exercises_of_the_issue():
    assert KEYS == ["sigmoid", "tanh", "relu", "dense", "softmax_ce", "conv2d", "rnn_step", "reparam"]
    for e in EXERCISES:
        assert f"class {e.class_name}" in e.template and f"class {e.class_name}" in e.solution
        assert "def backward" in e.template and "TODO" in e.template and "TODO" not in e.solution
        assert e.formula and e.hint()


@pytest.mark.parametrize("key", KEYS)
def test_template_fails_with_every_gradient_wrong(key):
    ex = get(key)
    result = check(key, ex.template)
    assert not result.passed and result.kind == "gradient"
    assert set(result.errors) == set(ex.inputs) | set(result.params)
    assert all(err > 0.5 for err in result.errors.values()), result.errors   # zeros against a real gradient
    assert result.hint and "disagree" in result.message


@pytest.mark.parametrize("key", KEYS)
def test_solution_passes(key):
    result = check(key, get(key).solution)
    assert result.passed and result.kind == "pass", result.message
    assert result.errors and max(result.errors.values()) < TOLERANCE
    assert set(result.errors) == set(get(key).inputs) | set(result.params)


def test_errors_name_every_input_and_parameter():
    assert set(check("dense", get("dense").solution).errors) == {"a", "W", "b"}
    assert set(check("conv2d", get("conv2d").solution).errors) == {"x", "W", "b"}
    assert set(check("rnn_step", get("rnn_step").solution).errors) == {"x", "h_prev", "Wx", "Wh", "b"}
    assert set(check("reparam", get("reparam").solution).errors) == {"mu", "logvar"}


def test_one_wrong_gradient_is_singled_out_with_its_hint():
    code = get("dense").solution.replace("da = delta @ W", "da = 2 * delta @ W")
    result = check("dense", code)
    assert not result.passed and result.kind == "gradient"
    assert result.errors["W"] < TOLERANCE and result.errors["b"] < TOLERANCE
    assert result.errors["a"] > 0.1
    assert result.hint == get("dense").hint("a")
    assert "dL/da" in result.message and "dL/dW" not in result.message


def test_the_relu_kink_is_never_straddled():
    # inputs of ReLU are kept at |z| >= 0.1: a correct backward passes for every seed
    for seed in range(5):
        assert check("relu", get("relu").solution, seed=seed).passed


def _with_line(key, marker, new):
    code = get(key).solution
    assert marker in code
    return code.replace(marker, new + marker, 1)


@pytest.mark.parametrize("key", KEYS)
def test_endless_loop_is_stopped_with_its_line(key):
    lines = get(key).solution.splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip().startswith("def backward"))
    lines.insert(i + 1, "        while True:\n            pass")
    code = "\n".join(lines) + "\n"
    start = time.monotonic()
    result = check(key, code, time_limit_s=1.0)
    assert time.monotonic() - start < 10
    assert result.kind == "time" and not result.passed
    assert "Stopped after 1 s" in result.message and "running backward" in result.message
    assert result.code_line in ("while True:", "pass")


def test_one_line_loop_and_long_numpy_loop_are_stopped():
    one_line = _with_line("sigmoid", "        dz = dout", "        while True: pass\n")
    numpy_loop = _with_line("sigmoid", "        dz = dout",
                            "        for i in range(10**9):\n            np.dot(np.ones(50), np.ones(50))\n")
    top_level = "n = 0\nwhile True:\n    n += 1\n" + get("sigmoid").solution
    for code, stage in ((one_line, "backward"), (numpy_loop, "backward"), (top_level, "running your code")):
        start = time.monotonic()
        result = check("sigmoid", code, time_limit_s=1.0)
        assert time.monotonic() - start < 10
        assert result.kind == "time" and stage in result.message


def test_endless_forward_is_stopped_too():
    code = get("dense").solution.replace("        self.a = a ", "        while True:\n            pass\n        self.a = a ")
    result = check("dense", code, time_limit_s=1.0)
    assert result.kind == "time" and "forward" in result.message


def test_time_limit_restores_the_previous_tracer_and_spares_other_code():
    calls = []

    def tracer(frame, event, arg):
        calls.append(event)
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        with time_limit(0.05):
            time.sleep(0.1)
            sum(range(1000))           # not the student's code: never stopped
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(old)
    for source in ("while True:\n    pass\n", "while True: pass\n", "x = [0 for i in range(10**12)]\n"):
        code = compile(source, "<your code>", "exec")
        with pytest.raises(TimeLimitExceeded):
            with time_limit(0.05, tight_lines=one_line_loops(code)):
                exec(code, {})
        assert sys.gettrace() is old
    assert one_line_loops(compile("while True:\n    pass\n", "<t>", "exec")) == set()
    assert one_line_loops(compile("a = 1\nwhile True: pass\n", "<t>", "exec")) == {2}


def test_syntax_error_names_the_line():
    code = get("tanh").solution.replace("dz = dout * (1.0 - self.a ** 2)", "dz = dout * (1.0 - self.a ** 2")
    result = check("tanh", code)
    assert result.kind == "syntax" and not result.passed
    line = code.splitlines().index("        dz = dout * (1.0 - self.a ** 2") + 1
    assert result.line == line and f"line {line}" in result.message
    assert "never closed" in result.message


def test_exception_names_the_line_of_the_students_code():
    code = get("rnn_step").solution.replace("dx = dz @ Wx.T", "dx = dz @ Wx")           # (N, H) @ (D, H): shapes do not match
    result = check("rnn_step", code)
    assert result.kind == "exception" and not result.passed
    assert result.code_line == "dx = dz @ Wx" and f"line {result.line}" in result.message
    assert "ValueError" in result.message and "running backward" in result.message


def test_none_wrong_shape_missing_class_and_changed_forward():
    sig = get("sigmoid").solution
    none = check("sigmoid", sig.replace("        return dz\n", "        pass\n"))
    assert none.kind == "none" and "returned None" in none.message
    shape = check("sigmoid", sig.replace("return dz", "return dz.T"))
    assert shape.kind == "shape" and "(4, 5)" in shape.message and "(5, 4)" in shape.message
    grads = check("dense", get("dense").solution.replace("delta.sum(axis=0)", "delta.sum(axis=1)"))
    assert grads.kind == "shape" and "dL/db" in grads.message and "(2,)" in grads.message
    pair = check("reparam", get("reparam").solution.replace("return dmu, dlogvar", "return dmu"))
    assert pair.kind == "shape"
    missing = check("sigmoid", sig.replace("class Sigmoid", "class Sigma"))
    assert missing.kind == "missing" and "Sigmoid" in missing.message
    forward = check("sigmoid", sig.replace("1.0 / (1.0 + np.exp(-z))", "np.tanh(z)"))
    assert forward.kind == "forward" and not forward.passed
    # a "backward" that agrees with a forward changed to match it proves nothing: refused
    cheat = get("relu").template.replace("np.maximum(z, 0.0)", "np.zeros_like(z)")
    assert check("relu", cheat).kind == "forward"


def test_print_output_and_warnings_are_kept():
    code = _with_line("sigmoid", "        dz = dout", "        print('shape', dout.shape)\n")
    result = check("sigmoid", code)
    assert result.passed and "shape (4, 5)" in result.output
    nan = check("sigmoid", get("sigmoid").solution.replace("dz = dout *", "dz = dout / 0 *"))
    assert not nan.passed and "divide by zero" in nan.output


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown exercise"):
        check("lstm", "")
    with pytest.raises(TypeError, match="code must be a str"):
        check("sigmoid", None)


def test_check_does_not_touch_global_numpy_state():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    check("dense", get("dense").solution)
    assert np.random.random() == before


def test_exit_input_and_unreadable_code_get_messages_and_leave_no_trace():
    sig = get("sigmoid").solution
    stdin = sys.stdin
    exited = check("sigmoid", _with_line("sigmoid", "        dz = dout", "        exit()\n"))
    assert exited.kind == "exception" and "exit()" in exited.message and exited.code_line == "exit()"
    waiting = check("sigmoid", _with_line("sigmoid", "        dz = dout", "        input()\n"))
    assert waiting.kind == "exception" and "EOFError" in waiting.message       # never waits for a keyboard
    nul = check("sigmoid", "x = 1\x00")
    assert nul.kind == "syntax" and "null" in nul.message
    settings = np.geterr()
    assert check("sigmoid", 'np.seterr(all="raise")\n' + sig).passed
    assert np.geterr() == settings and sys.stdin is stdin


def test_progress_keeps_a_pass_and_round_trips_through_json():
    from pyfadml.exercises import check, get, progress

    status, codes = {}, {}
    progress.record(status, codes, "tanh", check("tanh", get("tanh").solution), "# solved")
    progress.record(status, codes, "tanh", check("tanh", get("tanh").template), "# broken later")
    progress.record(status, codes, "relu", check("relu", get("relu").template), "# tried")
    assert status == {"tanh": "pass", "relu": "fail"} and codes["tanh"] == "# broken later"
    assert progress.load(progress.dump(status, codes, "relu")) == (status, codes, "relu")
    progress.merge(status, codes, {"tanh": "fail", "relu": "pass", "dense": "fail"}, {"relu": "# old", "dense": "x"})
    assert status == {"tanh": "pass", "relu": "pass", "dense": "fail"}
    assert codes == {"tanh": "# broken later", "relu": "# tried", "dense": "x"}
    assert progress.load("[]") == ({}, {}, None)
