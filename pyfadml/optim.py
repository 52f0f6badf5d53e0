"""Optimizers: turn gradients into parameter updates.

An optimizer acts on the list of ``(name, param, grad)`` triples that ``model.parameters()`` returns,
after ``model.backward`` has filled the grads, and updates every ``param`` in place. Its state (velocity,
moments) is kept per parameter *name*, so it survives the list being rebuilt each step.

``step(params, guard=...)`` first computes every update ``delta W`` (and the new state) without touching
anything, hands them to ``guard(params, deltas)``, and only then applies ``W <- W + delta W``: a guard that
raises (the Trainer's divergence check) leaves the parameters and the state exactly as they were.

* SGD:       v <- mu v - lr g;  W <- W + v        (mu = 0: plain gradient descent  W <- W - lr g)
* Adam:      m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
             W <- W - lr mhat / (sqrt(vhat) + eps),  mhat = m / (1 - b1^t),  vhat = v / (1 - b2^t)
* clip_grad_norm: if ||g||_2 (over all grads) > max_norm, scale every g by max_norm / ||g||.
"""
from __future__ import annotations

import math
import weakref

import numpy as np

from pyfadml._checks import check_choice, check_float


def _check_triples(params, where: str) -> list:
    """A list of (name, param, grad) with unique names and grads shaped like their params."""
    try:
        triples = list(params)
    except TypeError:
        raise TypeError(f"{where}: params must be a list of (name, param, grad) triples, "
                        f"got {type(params).__name__}") from None
    seen = set()
    for i, item in enumerate(triples):
        if not (isinstance(item, tuple) and len(item) == 3):
            raise TypeError(f"{where}: params[{i}] must be a (name, param, grad) triple, got {item!r:.80}")
        name, p, g = item
        if not isinstance(p, np.ndarray) or not isinstance(g, np.ndarray):
            raise TypeError(f"{where}: params[{i}] ({name!r}) must hold ndarrays, got "
                            f"{type(p).__name__} and {type(g).__name__}")
        if not (p.dtype.kind == "f" and g.dtype.kind == "f"):
            raise TypeError(f"{where}: params[{i}] ({name!r}) must hold floating-point arrays (an update is "
                            f"fractional), got {p.dtype} and {g.dtype}; convert with p.astype(float)")
        if p.shape != g.shape:
            raise ValueError(f"{where}: grad of {name!r} must have the shape of the param {p.shape}, "
                             f"got {g.shape}")
        if name in seen:
            raise ValueError(f"{where}: parameter names must be unique, {name!r} appears twice")
        seen.add(name)
    return triples


class Optimizer:
    """Base class: holds ``lr`` (validated, may be changed between steps) and per-name state."""

    def __init__(self, lr: float):
        self.lr = lr
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._updated: dict[str, weakref.ref] = {}   # name -> the array this optimizer updates

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_float(value, f"{type(self).__name__}: lr", minimum=0.0, strict=True)

    def _state_of(self, name: str, p: np.ndarray, keys: tuple[str, ...]) -> list[np.ndarray]:
        """The current state arrays of parameter ``name`` (zeros before its first update); read only."""
        st = self.state.get(name)
        if st is None:
            return [np.zeros_like(p) for _ in keys]
        if st[keys[0]].shape != p.shape:
            raise ValueError(f"{type(self).__name__}.step: parameter {name!r} changed shape from "
                             f"{st[keys[0]].shape} to {p.shape}; call reset() or make a new optimizer")
        return [st[k] for k in keys]

    def reset(self) -> None:
        """Forget all state (velocities, moments, step count) and which model's parameters it updated."""
        self.state.clear()
        self._updated.clear()

    def _check_owner(self, triples) -> None:
        """One optimizer per model: its state belongs to the arrays it has been updating."""
        for name, p, _ in triples:
            st = self.state.get(name)
            first = next(iter(st.values()), None) if isinstance(st, dict) else None
            if isinstance(first, np.ndarray) and first.shape != p.shape:
                raise ValueError(f"{type(self).__name__}.step: parameter {name!r} changed shape from "
                                 f"{first.shape} to {p.shape}; call reset() or make a new optimizer")
            ref = self._updated.get(name)
            if ref is not None and ref() is not p:      # a weak reference: no id reused by a new array
                raise ValueError(f"{type(self).__name__}.step: parameter {name!r} is not the array this optimizer "
                                 f"has been updating (another model's?). Its momentum/moments would mix two "
                                 f"models: give each model its own optimizer, or call reset() first")

    def updates(self, params) -> tuple[list[np.ndarray], dict]:
        """``(deltas, new_state)``: the update of every param (same order) and the state after it.

        Pure: neither the params nor ``self`` change. :meth:`step` applies both.
        """
        return self._updates(_check_triples(params, f"{type(self).__name__}.updates"))

    def _updates(self, triples) -> tuple[list[np.ndarray], dict]:
        raise NotImplementedError

    def _commit(self, new_state: dict) -> None:
        self.state.update(new_state)

    def step(self, params, *, guard=None) -> None:
        """Update every param in place: ``W <- W + delta W``.

        ``guard(params, deltas)``, if given, sees the updates first; if it raises, nothing has changed.
        """
        triples = _check_triples(params, f"{type(self).__name__}.step")
        self._check_owner(triples)
        deltas, new_state = self._updates(triples)
        if guard is not None:
            guard(triples, deltas)
        self._commit(new_state)
        self._updated.update((name, weakref.ref(p)) for name, p, _ in triples)
        for (_, p, _), d in zip(triples, deltas):
            p += d

    def get_config(self) -> dict:
        return {"lr": self.lr}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (heavy-ball) momentum.

    v <- momentum * v - lr * g;   W <- W + v.    With momentum = 0 this is W <- W - lr g.
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0):
        super().__init__(lr)
        momentum = check_float(momentum, "SGD: momentum", minimum=0.0)
        if momentum >= 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum

    def _updates(self, triples):
        """delta W = -lr g (plain), or the new velocity v = momentum v - lr g."""
        deltas, new_state = [], {}
        for name, p, g in triples:
            if self.momentum == 0.0:
                deltas.append(-self.lr * g)
                continue
            (v,) = self._state_of(name, p, ("v",))
            v = self.momentum * v - self.lr * g
            deltas.append(v)
            new_state[name] = {"v": v}
        return deltas, new_state

    def get_config(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): a per-parameter step size from running moments of the gradient.

    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g*g;  mhat = m/(1-b1^t);  vhat = v/(1-b2^t);
    W <- W - lr * mhat / (sqrt(vhat) + eps).   t counts this optimizer's steps, from 1.
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        for nm, b in (("beta1", beta1), ("beta2", beta2)):
            b = check_float(b, f"Adam: {nm}", minimum=0.0)
            if b >= 1.0:
                raise ValueError(f"Adam: {nm} must be in [0, 1), got {b}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = check_float(eps, "Adam: eps", minimum=0.0, strict=True)
        self.t = 0

    def reset(self) -> None:
        super().reset()
        self.t = 0

    def _updates(self, triples):
        """delta W = -lr mhat / (sqrt(vhat) + eps) with the moments of step t + 1."""
        t = self.t + 1
        b1, b2 = self.beta1, self.beta2
        c1 = 1.0 - b1 ** t
        c2 = 1.0 - b2 ** t
        deltas, new_state = [], {"t": t}
        for name, p, g in triples:
            m, v = self._state_of(name, p, ("m", "v"))
            s = p.dtype.type                  # scalars of the params' dtype: no conversion in every call
            # new arrays, updated in place: b1 m + (1-b1) g = m + (1-b1)(g - m), likewise v with g^2
            m_new = g - m
            m_new *= s(1.0 - b1)
            m_new += m
            v_new = np.square(g)
            v_new -= v
            v_new *= s(1.0 - b2)
            v_new += v
            delta = v_new * s(1.0 / c2)       # vhat
            np.sqrt(delta, out=delta)
            delta += s(self.eps)
            np.divide(m_new, delta, out=delta)
            delta *= s(-self.lr / c1)         # -lr mhat / (sqrt(vhat) + eps)
            deltas.append(delta)
            new_state[name] = {"m": m_new, "v": v_new}
        return deltas, new_state

    def _commit(self, new_state: dict) -> None:
        self.t = new_state.pop("t")
        super()._commit(new_state)

    def get_config(self) -> dict:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


def grad_norm(params) -> float:
    """||g||_2 over all gradients together: sqrt(sum over every grad of sum g^2)."""
    total = 0.0
    for _, _, g in _check_triples(params, "grad_norm"):
        total += float(np.sum(np.square(g, dtype=np.float64)))
    return math.sqrt(total)


def clip_grad_norm(params, max_norm: float) -> float:
    """Rescale all grads in place so that their joint L2 norm is at most ``max_norm``.

    Returns the norm *before* clipping. Grads are left alone when the norm is already small enough,
    or when it is not finite (NaN/inf: nothing sensible to rescale; the Trainer reports divergence).
    """
    max_norm = check_float(max_norm, "clip_grad_norm: max_norm", minimum=0.0, strict=True)
    triples = _check_triples(params, "clip_grad_norm")
    norm = grad_norm(triples)
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / norm
        for _, _, g in triples:
            g *= scale
    return norm


OPTIMIZERS = ("sgd", "momentum", "adam")
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam"}
"""How a sentence names each of :data:`OPTIMIZERS`."""


def get_optimizer(name: str, **kwargs) -> Optimizer:
    """A new optimizer by name: "sgd" (SGD), "momentum" (SGD, momentum 0.9 unless given), "adam"."""
    if not isinstance(name, str):
        raise TypeError(f"get_optimizer: name must be a str, got {type(name).__name__}")
    check_choice(name, "optimizer name", OPTIMIZERS)
    if name == "adam":
        return Adam(**kwargs)
    if name == "momentum":
        kwargs.setdefault("momentum", 0.9)
    return SGD(**kwargs)
