"""What the recurrent layers (:mod:`pyfadml.layers.recurrent`, :mod:`pyfadml.layers.recurrent_naive`) share:
the input check, the output gradient as time-major steps, the per-step gradient norms (computed when read),
and the arrays a fast layer allocates once and reuses.
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import check_array


def _check_sequence(x, n_in: int, dtype, where: str) -> np.ndarray:
    """``x`` as an ``(N, T, n_in)`` array of ``dtype`` with T >= 1."""
    x = check_array(x, f"{where}: x", ndim=3)
    if x.shape[2] != n_in:
        raise ValueError(f"{where}: x must have shape (N, T, {n_in}) (n_in={n_in} features per step), "
                         f"got {x.shape}")
    if x.shape[1] < 1:
        raise ValueError(f"{where}: x must have at least one time step, got shape {x.shape}")
    return x.astype(dtype, copy=False)


def _dout_time_major(dout, x_shape, n_hidden: int, return_sequences: bool, out: np.ndarray,
                     where: str, *, fill: bool = True) -> np.ndarray:
    """dL/d(output) written into ``out (T, N, H)``: the gradient arriving at each ``h_t`` from the layer's output.

    With ``return_sequences=False`` only the last step is an output, so only ``h_{T-1}`` receives ``dout``;
    the other steps get zeros, or with ``fill=False`` are left as they are (for a caller that overwrites them).
    """
    N, T, _ = x_shape
    if return_sequences:
        dout = check_array(dout, f"{where}: dout", shape=(N, T, n_hidden))
        np.copyto(out, dout.transpose(1, 0, 2))
    else:
        dout = check_array(dout, f"{where}: dout", shape=(N, n_hidden))
        if fill:
            out[:-1] = 0
        out[-1] = dout
    return out


def _mean_norms(d: np.ndarray) -> np.ndarray:
    """``d (T, N, H)`` -> ``(T,)`` float64: for every step, the batch mean of the per-example Euclidean norm."""
    return np.sqrt(np.einsum("tnh,tnh->tn", d, d)).mean(axis=1, dtype=np.float64)


def _time_major_rows(x: np.ndarray) -> np.ndarray:
    """``x (N, T, D)`` -> a new ``(T*N, D)`` array: row ``t*N + n`` is ``x[n, t]``."""
    N, T, D = x.shape
    return x.transpose(1, 0, 2).reshape(T * N, D)


class _StepNorms:
    """A layer attribute ``dh_norms`` / ``dc_norms`` ``(T,)``, computed from the last backward's gradients when it
    is first read.

    ``backward`` stores the per-step gradients ``(T, N, H)`` in ``layer._norm_sources[name]`` and sets the
    attribute to None; reading it then computes :func:`_mean_norms` once. Training alone does not pay for the
    norms (a pass over every gradient); the demos that plot them read them. Assigning a value (the naive
    twins do) stores it as it is.
    """

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        value = layer.__dict__.get(self.name)
        if value is None:
            source = layer.__dict__.get("_norm_sources", {}).pop(self.name, None)
            if source is not None:
                value = layer.__dict__[self.name] = _mean_norms(source)
        return value

    def __set__(self, layer, value):
        layer.__dict__[self.name] = value
        if value is not None:
            layer.__dict__.get("_norm_sources", {}).pop(self.name, None)


class _Workspace:
    """The arrays a fast recurrent layer's loops write into, allocated for one input shape and reused.

    ``get(key, (N, T, dtype), make)`` returns the arrays ``make()`` built for that shape the last time, or
    builds them anew when the shape or dtype changed. Reusing them matters: a fresh large array is new
    memory that the system maps page by page when first written, which can cost as much as the loop itself
    (measured with two LSTMs, N=32, T=50, H=32, trained in turn: ~570 page faults and +60 % time per step).
    The arrays the layer exposes (``hiddens``, ``gates``, ``cells``) are views of these: they are rewritten
    by the next ``forward``.
    """

    def __init__(self):
        self._arrays = {}

    def __reduce__(self):
        # A copied (or pickled) layer starts with an empty workspace: copies of the per-step views would no
        # longer share memory with copies of the arrays they view, and two layers must not share arrays.
        return (_Workspace, ())

    def get(self, key: str, shape_key, make):
        entry = self._arrays.get(key)
        if entry is None or entry[0] != shape_key:
            entry = self._arrays[key] = (shape_key, make())
        return entry[1]
