"""Input checks shared by every public constructor and call.

Each raises ``ValueError``/``TypeError`` that names the parameter, what was expected and what was given,
so that a mistake surfaces at the call that made it and not deep inside NumPy.
"""
from __future__ import annotations

import numbers

import numpy as np


def as_rng(rng, where: str = "rng") -> np.random.Generator:
    """Return a ``np.random.Generator`` from a Generator or an int seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{where}: an int seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{where}: expected a numpy Generator (np.random.default_rng(seed)) or an int seed, "
                    f"got {type(rng).__name__}")


def check_int(value, name: str, *, minimum: int | None = 1) -> int:
    """A whole number >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_float(value, name: str, *, minimum: float | None = None, strict: bool = False) -> float:
    """A finite real number, optionally > or >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value}")
    return value


def check_choice(value, name: str, choices) -> str:
    """One of a fixed set of names."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {sorted(choices)}")
    return value


def check_array(x, name: str, *, ndim=None, shape=None, dtype=None) -> np.ndarray:
    """Convert ``x`` to a floating (or given ``dtype``) array and check its rank and shape.

    ``ndim`` is an int or a tuple of allowed ints; ``shape`` a tuple where ``None`` matches any size,
    e.g. ``shape=(None, 3)`` for "N rows of 3 features".
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array, could not convert {type(x).__name__}: {exc}") from None
    kind = arr.dtype.kind          # b bool, i/u integer, f floating, c complex; anything else is not a number
    if kind not in ("b", "i", "u", "f", "c"):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if kind == "c":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}; pass x.real (or np.abs(x)) "
                        f"if that is what you mean")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif kind != "f":
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must be {want}-dimensional, got shape {arr.shape}")
    if shape is not None:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    return arr


def check_labels(y, name: str, *, n_classes: int | None = None, shape=None) -> np.ndarray:
    """Integer class labels in [0, n_classes)."""
    arr = np.asarray(y)
    if arr.dtype.kind not in ("i", "u"):
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if n_classes is not None and arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(f"{name} must lie in [0, {n_classes}), got values from {arr.min()} to {arr.max()}")
    return arr


def check_finite(x: np.ndarray, name: str) -> np.ndarray:
    """Refuse NaN or inf with a message that says where."""
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name} contains {bad} NaN or inf value(s)")
    return x


def check_bool(value, name: str) -> bool:
    """A real ``True``/``False`` (so that ``return_sequences="no"`` does not silently mean True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} ({value!r})")
    return bool(value)


def require_forward(cache, where: str) -> None:
    """``backward`` needs the values cached by ``forward``; say so instead of failing on ``None``."""
    if cache is None:
        raise RuntimeError(f"{where} called before forward: run forward(x) first, then backward(dout)")
