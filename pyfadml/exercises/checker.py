"""Grade a student's ``backward``: run their code, then :mod:`pyfadml.gradcheck` on every input and parameter.

:func:`check` never raises for anything the student wrote. It returns a :class:`CheckResult` whose ``kind``
says what happened:

* ``"pass"``       every gradient agrees with centred differences (relative error < :data:`TOLERANCE`);
* ``"gradient"``   it runs, but some gradient is wrong: ``errors`` has the worst relative error of each;
* ``"syntax"``     the code does not parse (``line`` is set);
* ``"exception"``  the code raised (``line``: the line of the student's code where it happened);
* ``"missing"``    the class of the template is gone;
* ``"none"``       ``backward`` returned None (a forgotten ``return``);
* ``"shape"``      a gradient has the wrong shape (or ``params``/``grads`` lost a key);
* ``"forward"``    ``forward`` no longer computes the lecture's formula (so a check of it would prove nothing);
* ``"time"``       the code ran past the time limit (an endless loop) and was stopped.

The time limit works without threads or signals (a Pyodide Web Worker has neither): :func:`time_limit`
installs a ``sys.settrace`` hook that traces only frames of the student's code (its lines, and every
bytecode of a one-line loop) and raises :class:`TimeLimitExceeded` at the first event after the deadline.
A single C call that never returns (a huge matrix product) cannot be stopped this way; the student's Python
lines always can, unless their code itself catches ``BaseException`` (a bare ``except:``) around the loop.
"""
from __future__ import annotations

import contextlib
import dis
import inspect
import io
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np

from pyfadml.exercises.catalogue import BY_KEY, Exercise
from pyfadml.gradcheck import numerical_gradient, rel_error

FILENAME = "<your code>"      # the student's code is compiled under this name (it marks their frames)
TOLERANCE = 1e-7              # the library's own gradient checks pass below this
TIME_LIMIT = 3.0              # seconds for the whole check (a correct solution takes a few milliseconds)
MAX_OUTPUT = 2000             # characters of the student's print output kept


class TimeLimitExceeded(BaseException):
    """Raised inside the student's code at the deadline (a BaseException, so ``except Exception`` lets it by)."""


def one_line_loops(code) -> set[int]:
    """Lines of ``code`` (a code object, nested ones included) holding a loop that jumps back into the same
    line, such as ``while True: pass`` or ``[0 for i in range(10**10)]``: such a loop starts no new line, so
    a line tracer alone would never see it run."""
    lines = set()
    todo = [code]
    while todo:
        c = todo.pop()
        todo.extend(k for k in c.co_consts if hasattr(k, "co_code"))
        instructions = list(dis.get_instructions(c))
        line_at = {ins.offset: ins.positions.lineno for ins in instructions}
        for ins in instructions:
            if ins.opname.startswith("JUMP_BACKWARD") and line_at.get(ins.argval) == ins.positions.lineno:
                lines.add(ins.positions.lineno)
    return lines


@contextlib.contextmanager
def time_limit(seconds: float, filename: str = FILENAME, tight_lines: set[int] = frozenset()):
    """Raise :class:`TimeLimitExceeded` in any line of code compiled as ``filename`` run after ``seconds``.

    Only frames of that code get a line tracer, so library code called from it runs at full speed. On the
    ``tight_lines`` (see :func:`one_line_loops`) every bytecode is traced, since their loops start no new
    line. The previous trace function (a debugger, coverage) is restored afterwards.
    """
    deadline = time.monotonic() + seconds

    def tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise TimeLimitExceeded(f"stopped after {seconds:g} s")
        if event == "line" and frame.f_lineno in tight_lines:
            frame.f_trace_opcodes = True
        return tracer

    def call_tracer(frame, event, arg):
        if frame.f_code.co_filename != filename:
            return None
        return tracer(frame, event, arg)

    previous = sys.gettrace()
    sys.settrace(call_tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


@dataclass
class CheckResult:
    """What :func:`check` found. ``errors``: quantity (``"z"``, ``"W"``, ``"h_prev"``...) -> worst relative
    error between the student's gradient and the numerical one (only when the check got that far)."""

    key: str
    passed: bool
    kind: str
    message: str
    errors: dict[str, float] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    line: int | None = None
    code_line: str = ""
    hint: str = ""
    output: str = ""
    seconds: float = 0.0


class _Fail(Exception):
    def __init__(self, kind: str, message: str, hint: str = ""):
        super().__init__(message)
        self.kind, self.message, self.hint = kind, message, hint


def get(exercise) -> Exercise:
    """An :class:`Exercise` from itself or its key."""
    if isinstance(exercise, Exercise):
        return exercise
    if exercise not in BY_KEY:
        raise ValueError(f"unknown exercise {exercise!r}; the exercises are {sorted(BY_KEY)}")
    return BY_KEY[exercise]


def _draw(shape, kind: str, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal(shape)
    if kind == "away_from_zero":        # |x| >= 0.1: centred differences never straddle a kink
        x = np.sign(x) * (0.1 + np.abs(x))
    elif kind == "unit":
        x = np.tanh(x)
    return x.astype(np.float64)


def _build(cls, ex: Exercise, args: dict, rng_seed: int):
    kwargs = dict(args)
    if "rng" in inspect.signature(cls).parameters:
        kwargs["rng"] = np.random.default_rng(rng_seed)
    return cls(**kwargs)


def _as_tuple(value, names, what: str):
    """backward's return value as a tuple of float64 arrays, one per input, or a _Fail that says what is wrong."""
    listing = ", ".join(f"dL/d{n}" for n in names)
    if value is None:
        raise _Fail("none", f"backward returned None: it must return {listing}. Is the return line missing?",
                    "End backward with return " + ", ".join(f"d{n}" for n in names) + ".")
    values = tuple(value) if len(names) > 1 and isinstance(value, (tuple, list)) else (value,)
    if len(values) != len(names):
        raise _Fail("shape", f"backward returned {len(values)} value(s); it must return {len(names)}: {listing}.")
    out = []
    for n, v in zip(names, values):
        if v is None:
            raise _Fail("none", f"backward returned None for dL/d{n}.")
        try:
            out.append(np.array(v, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise _Fail("shape", f"dL/d{n} returned by {what} is not an array of numbers ({exc}).") from None
    return tuple(out)


def _expect_shape(got: np.ndarray, shape, name: str) -> None:
    if got.shape != tuple(shape):
        raise _Fail("shape", f"Wrong shape: dL/d{name} must have the shape of {name}, {tuple(shape)}, "
                             f"but it is {got.shape}.",
                    "Write the shapes of each factor next to the formula: the gradient of a quantity always "
                    "has that quantity's shape.")


def check(exercise, code: str, *, time_limit_s: float = TIME_LIMIT, seed: int = 0) -> CheckResult:
    """Run ``code`` (the student's version of the template) and check its ``backward`` numerically.

    The class named in the exercise is taken from ``code``; inputs and parameters are drawn in float64 from
    ``seed``, ``L = sum(forward(...) * dout)`` for a random ``dout``, and each gradient from ``backward``
    is compared with :func:`pyfadml.gradcheck.numerical_gradient` by :func:`pyfadml.gradcheck.rel_error`.
    Never raises because of ``code``; see the module docstring for the possible results.
    """
    ex = get(exercise)
    if not isinstance(code, str):
        raise TypeError(f"check: code must be a str, got {type(code).__name__}")
    result = CheckResult(ex.key, False, "exception", "", inputs=tuple(ex.inputs))
    lines = code.splitlines()
    start = time.perf_counter()
    output = io.StringIO()
    stage = "running your code"
    try:
        try:
            compiled = compile(code, FILENAME, "exec")
        except ValueError as exc:         # e.g. a NUL character (Python 3.11 raises ValueError for it)
            result.kind, result.message = "syntax", f"Python cannot read this code: {exc}."
            result.hint = "Delete the character Python names, or Reset to template."
            return result
        except SyntaxError as exc:
            result.kind, result.line = "syntax", exc.lineno
            result.code_line = (exc.text or "").strip()
            where = f" on line {exc.lineno}" if exc.lineno else ""
            result.message = f"Syntax error{where}: {exc.msg}."
            result.hint = "Python could not read the code: look at that line and the one before it " \
                          "(a missing bracket, colon or quote, or an indentation that does not line up)."
            return result
        # print() is kept for the page, input() gets an empty line at once (never waits), numpy's error
        # settings and the warnings filters are restored afterwards.
        with contextlib.redirect_stdout(output), _no_stdin(), np.errstate(), \
                warnings.catch_warnings(record=True) as caught, \
                time_limit(time_limit_s, tight_lines=one_line_loops(compiled)):
            warnings.simplefilter("always")
            stage = "running your code"
            namespace = {"np": np, "numpy": np, "__name__": "exercise"}
            exec(compiled, namespace)
            stage = "preparing the check"
            cls = namespace.get(ex.class_name)
            if not isinstance(cls, type):
                raise _Fail("missing", f"Your code has no class {ex.class_name}: keep the class name of the "
                                       f"template (Reset to template brings it back).")
            result.params, errors = _run(ex, cls, seed)
            result.errors = errors
    except TimeLimitExceeded as exc:
        result.kind = "time"
        result.line, result.code_line = _student_line(exc, lines)
        where = f" at line {result.line}" if result.line else ""
        result.message = (f"Stopped after {time_limit_s:g} s{where} while {_STAGE[0] or stage}: the code runs far "
                          f"longer than it should (a correct backward takes milliseconds). Is there a loop "
                          f"that never ends?")
        result.hint = "Look for a while loop whose condition never becomes false, or a loop over a range " \
                      "far larger than the arrays."
    except _Fail as fail:
        result.kind, result.message, result.hint = fail.kind, fail.message, fail.hint or ex.hint()
    except BaseException as exc:   # anything the student's code raised, made numpy raise, or exit()
        result.kind = "exception"
        result.line, result.code_line = _student_line(exc, lines)
        where = f" on line {result.line} of your code" if result.line else ""
        detail = ("exit() ends the program; the check needs your code to return normally"
                  if isinstance(exc, SystemExit) else str(exc)[:300] or "no message")
        result.message = f"{type(exc).__name__}{where} while {_STAGE[0] or stage}: {detail}"
        result.hint = ex.hint()
    else:
        failing = {k: v for k, v in result.errors.items() if not v < TOLERANCE}
        if failing:
            order = [*result.params, *result.inputs]      # the lecture's order: dW, db, then what flows back
            first = min(failing, key=order.index)
            result.kind = "gradient"
            result.message = (", ".join(f"dL/d{k}" for k in failing) +
                              f" disagree{'s' if len(failing) == 1 else ''} with the numerical gradient.")
            result.hint = ex.hint(first)
        else:
            result.passed, result.kind = True, "pass"
            result.message = ("Correct: every gradient agrees with the numerical gradient "
                              f"(relative error below {TOLERANCE:.0e}).".replace("e-0", "e-"))
    finally:
        _STAGE[0] = ""
        result.seconds = time.perf_counter() - start
        text = output.getvalue()
        for w in caught if "caught" in locals() else ():
            if w.filename == FILENAME:
                text += f"Warning on line {w.lineno}: {w.message}\n"
        result.output = text[:MAX_OUTPUT]
    return result


_STAGE = [""]        # the step of the check now running, for messages (set while the student's code runs)


def _set_stage(stage: str) -> None:
    _STAGE[0] = stage


def _run(ex: Exercise, cls, seed: int) -> tuple[tuple[str, ...], dict[str, float]]:
    """Build the student's object and the solution's, compare forward, then gradient-check backward."""
    rng = np.random.default_rng(seed)
    args = {k: (v(rng) if callable(v) else v) for k, v in ex.args.items()}
    inputs = {name: _draw(shape, kind, rng) for name, (shape, kind) in ex.inputs.items()}
    reference_ns = {"np": np}
    exec(compile(ex.solution, "<solution>", "exec"), reference_ns)
    reference = _build(reference_ns[ex.class_name], ex, args, seed)
    params = {k: rng.standard_normal(np.shape(v)) for k, v in reference.params.items()}
    reference.params = {k: v.copy() for k, v in params.items()}
    expected = np.asarray(reference.forward(*(x.copy() for x in inputs.values())), dtype=np.float64)

    _set_stage("building your " + ex.class_name)
    layer = _build(cls, ex, args, seed)
    if not isinstance(getattr(layer, "params", None), dict) or set(layer.params) != set(params):
        raise _Fail("shape", f"{ex.class_name}.params must be a dict with the keys {sorted(params)} "
                             f"like the template's, got {sorted(getattr(layer, 'params', {}) or {})}.")
    for k, v in params.items():       # the same random values as the solution, in place
        layer.params[k] = v
    _set_stage("running forward")
    out = np.asarray(layer.forward(*(x.copy() for x in inputs.values())), dtype=np.float64)
    if out.shape != expected.shape or rel_error(out, expected) > 1e-9:
        raise _Fail("forward", "forward no longer computes the lecture's formula (its output differs from "
                               "the template's), so checking backward against it would prove nothing.",
                    "Only backward needs changing: undo the change to forward, or Reset to template.")
    dout = rng.standard_normal(out.shape)
    _set_stage("running backward")
    grads_in = _as_tuple(layer.backward(dout.copy()), tuple(inputs), "backward")
    for (name, x), g in zip(inputs.items(), grads_in):
        _expect_shape(g, x.shape, name)
    grads = getattr(layer, "grads", None)
    analytic = {}
    for k, p in params.items():
        if not isinstance(grads, dict) or k not in grads or grads[k] is None:
            raise _Fail("shape", f"backward did not fill grads[{k!r}]: store dL/d{k} there "
                                 f"(an array of {k}'s shape {p.shape}).", ex.hint(k))
        try:
            analytic[k] = np.array(grads[k], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise _Fail("shape", f"grads[{k!r}] is not an array of numbers ({exc}).") from None
        _expect_shape(analytic[k], p.shape, k)

    _set_stage("computing the numerical gradients (your forward runs many times)")

    def loss(_):
        return float(np.sum(np.asarray(layer.forward(*inputs.values()), dtype=np.float64) * dout))

    errors = {name: rel_error(g, numerical_gradient(loss, x)) for (name, x), g in zip(inputs.items(), grads_in)}
    for k, p in params.items():
        errors[k] = rel_error(analytic[k], numerical_gradient(loss, layer.params[k]))
    _set_stage("")
    return tuple(params), errors


@contextlib.contextmanager
def _no_stdin():
    previous = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = previous


def _student_line(exc: BaseException, lines: list[str]) -> tuple[int | None, str]:
    """The deepest line of the student's code in ``exc``'s traceback, and its text."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == FILENAME:
            line = frame.lineno
    if line is None:
        return None, ""
    return line, lines[line - 1].strip() if 0 < line <= len(lines) else ""
