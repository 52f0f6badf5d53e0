"""``matmul(a, b)``: the layers' large matrix products, fast natively and in the browser.

Natively NumPy computes ``a @ b`` with BLAS, whatever the memory layout of ``a`` and ``b``. Pyodide's NumPy has
no BLAS: its fallback loop walks the contracted axis of both operands element by element, so it is fast only
when that axis is contiguous in both, and up to 8x slower otherwise (measured in Pyodide 0.27: W (16, 72) @
cols (72, 2048), a Conv2D forward, 14.7 ms; ``np.einsum`` 2.6 ms; W @ cols.T with cols stored the other way
round 2.0 ms). ``np.einsum`` follows the memory order, so in the browser it is within ~1.3x of the best
layout for every product the layers compute; natively it does not use BLAS and is several times slower than
``@``. Hence: ``@`` where NumPy has BLAS, ``einsum`` in Pyodide. The small products inside the recurrent
layers' time loops stay ``np.matmul`` (there the call overhead dominates, and matmul's is lower).
"""
from __future__ import annotations

import sys

import numpy as np

NO_BLAS = sys.platform == "emscripten"
"""True in Pyodide (the browser), whose NumPy is built without BLAS. Tests may set it to run the other path."""


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D ``a (m, k)`` and ``b (k, n)``: a new array, or written into ``out`` (C-contiguous).

    Natively ``np.dot``, which calls BLAS for every shape: ``np.matmul`` (``@``) does not when an operand
    is a single row or column, and its own loop is slow (measured: x (1600, 1) @ Wx (1, 128), the recurrent
    layers' input with one feature per step, 198 us with ``@``, 22 us with ``np.dot``).
    """
    if NO_BLAS:
        return np.einsum("ik,kj->ij", a, b, out=out)
    return np.dot(a, b, out=out)
