"""Exercises: write the backward pass yourself, and let a numerical gradient check grade it.

Eight exercises follow the lecture: :data:`EXERCISES` (Sigmoid, Tanh, ReLU, Dense, softmax cross-entropy,
a one-channel Conv2D, an RNN step, the VAE's reparameterisation). Each has the lecture's formula, a template
whose ``backward`` is left to write, hints and a solution. No Panel here: the page's Exercises section
(:mod:`pyfadml.app.exercises`) only shows what this package computes; :mod:`.progress` keeps what a student
has solved as one JSON text, :mod:`.workbook` the rules of a visit (checks, drafts set aside, saved progress).

>>> from pyfadml.exercises import get, check
>>> result = check("sigmoid", get("sigmoid").solution)
>>> result.passed, sorted(result.errors)
(True, ['z'])
"""
from pyfadml.exercises import progress
from pyfadml.exercises.catalogue import EXERCISES, Exercise
from pyfadml.exercises.checker import (
    TIME_LIMIT, TOLERANCE, CheckResult, TimeLimitExceeded, check, get, time_limit,
)

__all__ = ["EXERCISES", "Exercise", "CheckResult", "TimeLimitExceeded", "TIME_LIMIT", "TOLERANCE",
           "check", "get", "time_limit", "progress"]
