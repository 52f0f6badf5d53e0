"""Convolution, max-pooling and flattening for images of shape ``(N, C, H, W)``.

"Convolution" here is cross-correlation, as in the lecture's X example (and in every DL library): slide a
``k x k`` kernel over the (zero-padded) image and, at each position, sum the element-wise product of the
kernel and the window under it. With C input channels, c_out kernels W[o] of shape (C, k, k), stride s and
padding p:

    z[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] * x_pad[n, c, s*i + u, s*j + v]

    output size   H_out = (H + 2p - k) / s + 1      (we require the division to be exact)

Backward, with delta = dL/dz of shape (N, c_out, H_out, W_out):

    dL/dW[o, c, u, v] = sum_{n, i, j} delta[n, o, i, j] * x_pad[n, c, s*i + u, s*j + v]
    dL/db[o]          = sum_{n, i, j} delta[n, o, i, j]
    dL/dx_pad[n, c, s*i + u, s*j + v]  +=  delta[n, o, i, j] * W[o, c, u, v]   (every window adds its share)

Two implementations compute exactly this:

* :func:`conv2d_naive` / :class:`Conv2DNaive`: plain loops over (n, o, i, j), read these first;
* :class:`Conv2D`: the same maths as one matrix product (im2col): every window becomes a column of a
  matrix ``cols`` (C*k*k, H_out*W_out*N), so ``z = W_rows cols + b`` with ``W_rows = W.reshape(c_out, -1)``
  -- the lecture's Dense ``z = W a + b`` applied to every window.

Likewise :class:`MaxPool2DNaive` is the loop twin of :class:`MaxPool2D`.

Memory order: :class:`Conv2D` computes all output pixels of a channel as one row, ordered (i, j, n), so its
output ``(N, c_out, H_out, W_out)`` is stored batch-last (a transposed view of a ``(c_out, H_out, W_out, N)``
array). Element-wise layers and :class:`MaxPool2D` keep that order and the next im2col reads it directly;
with the batch innermost, every strided slice of a small map (a pooling offset, a kernel offset) still runs
over long contiguous stretches. Indexing and shapes are the usual ``(N, C, H, W)``, and
``np.ascontiguousarray`` gives a C-ordered copy where one is needed.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from pyfadml._checks import as_rng, check_array, check_int, require_forward
from pyfadml.init import he_normal
from pyfadml.layers import _matmul
from pyfadml.layers.base import Layer


def _output_size(x_shape, kh: int, kw: int, stride: int, padding: int, where: str,
                 what: str = "kernel") -> tuple[int, int]:
    """``(H_out, W_out)`` for windows ``kh x kw``; ValueError if they do not fit or do not tile the input."""
    H, W = x_shape[2], x_shape[3]
    Hp, Wp = H + 2 * padding, W + 2 * padding
    if kh > Hp or kw > Wp:
        raise ValueError(f"{where}: {what} {kh}x{kw} is larger than the padded input {Hp}x{Wp} "
                         f"(x shape {tuple(x_shape)}, padding {padding})")
    for axis, size, k in (("H", H, kh), ("W", W, kw)):
        if (size + 2 * padding - k) % stride != 0:
            raise ValueError(
                f"{where}: {what} {kh}x{kw} with stride {stride} does not tile x of shape {tuple(x_shape)}: "
                f"({axis} + 2*padding - {what}) = ({size} + 2*{padding} - {k}) = {size + 2 * padding - k} "
                f"is not divisible by stride {stride}; change padding, stride or the input size")
    return (Hp - kh) // stride + 1, (Wp - kw) // stride + 1


def _pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero-pad the two spatial axes of ``(N, C, H, W)``."""
    if padding == 0:
        return x
    N, C, H, W = x.shape
    x_pad = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=x.dtype)
    x_pad[:, :, padding:padding + H, padding:padding + W] = x
    return x_pad


def conv2d_naive(x, W, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Cross-correlation with plain loops: ``x (N, C, H, W)``, ``W (c_out, C, kh, kw)``, ``b (c_out,)`` or None.

    Returns ``z (N, c_out, H_out, W_out)`` with ``z[n, o, i, j] = b[o] + sum(W[o] * window)``.
    """
    x = check_array(x, "conv2d_naive: x", ndim=4)
    W = check_array(W, "conv2d_naive: W", ndim=4)
    stride = check_int(stride, "conv2d_naive: stride")
    padding = check_int(padding, "conv2d_naive: padding", minimum=0)
    c_out, c_in, kh, kw = W.shape
    if x.shape[1] != c_in:
        raise ValueError(f"conv2d_naive: x must have {c_in} channels to match W of shape {W.shape}, "
                         f"got x of shape {x.shape}")
    b = np.zeros(c_out, dtype=W.dtype) if b is None else check_array(b, "conv2d_naive: b", shape=(c_out,))
    H_out, W_out = _output_size(x.shape, kh, kw, stride, padding, "conv2d_naive")

    x_pad = _pad(x, padding)
    z = np.empty((x.shape[0], c_out, H_out, W_out), dtype=np.result_type(x, W, b))
    for n in range(x.shape[0]):
        for o in range(c_out):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    z[n, o, i, j] = np.sum(window * W[o]) + b[o]
    return z


def correlate2d(image, kernel, *, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Single-channel cross-correlation: ``image (H, W)``, ``kernel (kh, kw)`` -> ``(H_out, W_out)``.

    The lecture's X detector: ``correlate2d(x_image, [[1,-1,1],[-1,1,-1],[1,-1,1]])`` peaks (at 9, one
    match per kernel entry) where the X's centre is.
    """
    image = check_array(image, "correlate2d: image", ndim=2)
    kernel = check_array(kernel, "correlate2d: kernel", ndim=2)
    return conv2d_naive(image[None, None], kernel[None, None], None, stride, padding)[0, 0]


def _batch_last(x: np.ndarray, padding: int) -> np.ndarray:
    """``x (N, C, H, W)``, zero-padded, as a ``(C, H + 2p, W + 2p, N)`` array: the batch as the last axis.

    A view when there is no padding and ``x`` is already stored that way (a Conv2D output, and what the
    element-wise layers and MaxPool2D make of it); otherwise one copy.
    """
    if padding == 0:
        view = x.transpose(1, 2, 3, 0)
        if view.flags.c_contiguous:
            return view
    N, C, H, W = x.shape
    x_pad = np.zeros((C, H + 2 * padding, W + 2 * padding, N), dtype=x.dtype)
    x_pad[:, padding:padding + H, padding:padding + W] = x.transpose(1, 2, 3, 0)
    return x_pad


def im2col(x: np.ndarray, k: int, stride: int, padding: int) -> np.ndarray:
    """Every ``k x k`` window of ``x (N, C, H, W)`` as a column: ``cols (C*k*k, H_out*W_out*N)``.

    Column ``(i, j, n)`` (index ``(i*W_out + j)*N + n``) holds the window under output pixel (i, j) of image
    n, channels first, in the same order as ``W[o].ravel()``, so ``W.reshape(c_out, -1) @ cols`` is every
    output pixel at once. The windows are a strided view of the padded input stored batch-last (entry
    (c, u, v, i, j, n) is ``x_pad[n, c, s*i + u, s*j + v]``); the reshape copies them, row after row. With
    the batch as the last axis, each row is copied in runs of ``W_out * N`` contiguous numbers (for stride 1)
    instead of runs of W_out: on a 4x4 map, 4 numbers at a time.
    """
    x_pad = _batch_last(x, padding)
    C, Hp, Wp, N = x_pad.shape
    H_out, W_out = (Hp - k) // stride + 1, (Wp - k) // stride + 1
    sC, sH, sW, sN = x_pad.strides
    windows = as_strided(x_pad, shape=(C, k, k, H_out, W_out, N),
                         strides=(sC, sH, sW, stride * sH, stride * sW, sN), writeable=False)
    return windows.reshape(C * k * k, H_out * W_out * N)


def col2im(cols: np.ndarray, x_shape, k: int, stride: int, padding: int) -> np.ndarray:
    """The adjoint of :func:`im2col`: add each column's entries back onto the pixels they were copied from.

    Overlapping windows share pixels, so contributions are summed. Instead of a loop over the windows we loop
    over the ``k*k`` kernel offsets (u, v): offset (u, v) of window (i, j) is pixel (s*i + u, s*j + v), so
    for a fixed offset all windows together hit the strided slice ``x_pad[:, u::s, v::s, :]`` once each
    (batch last, so for stride 1 each addition runs over ``W_out * N`` contiguous numbers).
    Returns ``dx (N, C, H, W)``, stored batch-last (a transposed view of a ``(C, H, W, N)`` array).
    """
    N, C, H, W = x_shape
    H_out, W_out = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    d_windows = cols.reshape(C, k, k, H_out, W_out, N)
    dx_pad = np.zeros((C, H + 2 * padding, W + 2 * padding, N), dtype=cols.dtype)
    for u in range(k):
        for v in range(k):
            dx_pad[:, u:u + stride * H_out:stride, v:v + stride * W_out:stride] += d_windows[:, u, v]
    return dx_pad[:, padding:padding + H, padding:padding + W].transpose(3, 0, 1, 2)


class Conv2D(Layer):
    """2-D convolution (cross-correlation), vectorised with im2col.

    Shapes: ``x (N, c_in, H, W) -> z (N, c_out, H_out, W_out)``, ``H_out = (H + 2*padding - k) / stride + 1``.
    Params: ``W (c_out, c_in, k, k)`` (He normal, fan_in = c_in*k*k), ``b (c_out,)`` (zeros).

    Forward: ``cols = im2col(x)`` (c_in*k*k, H_out*W_out*N);  ``z = W_rows cols + b`` with
    ``W_rows = W.reshape(c_out, -1)`` -- exactly a Dense layer applied to every window, one matrix product.
    So backward is the Dense backward: with ``delta`` as ``(c_out, H_out*W_out*N)``,
    ``dW_rows = delta cols^T``, ``db = sum delta``, ``dcols = W_rows^T delta``, then :func:`col2im` adds
    ``dcols`` back onto the pixels. The output is stored batch-last (see the module docstring).
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, *, stride: int = 1, padding: int = 0, rng):
        super().__init__()
        name = type(self).__name__
        self.c_in = check_int(c_in, f"{name}: c_in")
        self.c_out = check_int(c_out, f"{name}: c_out")
        self.kernel_size = check_int(kernel_size, f"{name}: kernel_size")
        self.stride = check_int(stride, f"{name}: stride")
        self.padding = check_int(padding, f"{name}: padding", minimum=0)
        k = self.kernel_size
        W = he_normal((self.c_out, self.c_in, k, k), self.c_in * k * k, rng=as_rng(rng, f"{name}: rng"))
        self.params = {"W": W, "b": np.zeros(self.c_out)}
        self.grads = {key: np.zeros_like(v) for key, v in self.params.items()}
        self._cache = None

    def _check_x(self, x, where: str):
        """x as an array of the params' dtype, and the output size; named errors for bad shapes."""
        x = check_array(x, f"{where}: x", ndim=4)
        if x.shape[1] != self.c_in:
            raise ValueError(f"{where}: x must have c_in={self.c_in} channels, shape (N, {self.c_in}, H, W), "
                             f"got {x.shape}")
        k = self.kernel_size
        H_out, W_out = _output_size(x.shape, k, k, self.stride, self.padding, where)
        return x.astype(self.params["W"].dtype, copy=False), H_out, W_out

    def _check_dout(self, dout, x_shape, H_out, W_out, where: str) -> np.ndarray:
        shape = (x_shape[0], self.c_out, H_out, W_out)
        return check_array(dout, f"{where}: dout", shape=shape).astype(self.params["W"].dtype, copy=False)

    def forward(self, x) -> np.ndarray:
        """``z = b + W (*) x`` via im2col;  ``(N, c_in, H, W) -> (N, c_out, H_out, W_out)``."""
        x, H_out, W_out = self._check_x(x, "Conv2D.forward")
        W, b = self.params["W"], self.params["b"]
        cols = im2col(x, self.kernel_size, self.stride, self.padding)   # (c_in*k*k, Ho*Wo*N)
        z = _matmul.matmul(W.reshape(self.c_out, -1), cols)              # (c_out, Ho*Wo*N)
        z += b[:, None]
        self._cache = (x.shape, H_out, W_out, cols)
        return z.reshape(self.c_out, H_out, W_out, x.shape[0]).transpose(3, 0, 1, 2)

    def backward(self, dout) -> np.ndarray:
        """Fills ``grads["W"]``, ``grads["b"]``; returns ``dL/dx (N, c_in, H, W)``."""
        require_forward(self._cache, "Conv2D.backward")
        x_shape, H_out, W_out, cols = self._cache
        delta = self._check_dout(dout, x_shape, H_out, W_out, "Conv2D.backward")
        W = self.params["W"]
        W_rows = W.reshape(self.c_out, -1)
        delta_rows = delta.transpose(1, 2, 3, 0).reshape(self.c_out, -1)  # (c_out, Ho*Wo*N), as the columns
        self.grads["W"][...] = _matmul.matmul(delta_rows, cols.T).reshape(W.shape)
        self.grads["b"][...] = delta_rows.sum(axis=1)
        d_cols = _matmul.matmul(W_rows.T, delta_rows)                      # (c_in*k*k, Ho*Wo*N)
        return col2im(d_cols, x_shape, self.kernel_size, self.stride, self.padding)

    def get_config(self) -> dict:
        return {"c_in": self.c_in, "c_out": self.c_out, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding}

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        c_in, c_out = check_int(config["c_in"], "Conv2D: c_in"), check_int(config["c_out"], "Conv2D: c_out")
        k = check_int(config["kernel_size"], "Conv2D: kernel_size")
        return {"W": (c_out, c_in, k, k), "b": (c_out,)}


class Conv2DNaive(Conv2D):
    """The readable twin of :class:`Conv2D`: same constructor, params and results, plain loops.

    Forward: :func:`conv2d_naive`. Backward: for every output pixel (n, o, i, j) under window ``x_pad[n, :,
    rows, cols]``:  ``dW[o] += delta[n, o, i, j] * window``  and  ``dx_pad[n, :, rows, cols] += delta[n, o, i, j] * W[o]``.
    Slow (four nested Python loops): use it to read and to test, use Conv2D to train.
    """

    def forward(self, x) -> np.ndarray:
        x, H_out, W_out = self._check_x(x, "Conv2DNaive.forward")
        self._cache = (x.shape, H_out, W_out, _pad(x, self.padding))
        return conv2d_naive(x, self.params["W"], self.params["b"], self.stride, self.padding)

    def backward(self, dout) -> np.ndarray:
        require_forward(self._cache, "Conv2DNaive.backward")
        x_shape, H_out, W_out, x_pad = self._cache
        delta = self._check_dout(dout, x_shape, H_out, W_out, "Conv2DNaive.backward")
        W, k, s, p = self.params["W"], self.kernel_size, self.stride, self.padding
        dW = np.zeros_like(W)
        dx_pad = np.zeros_like(x_pad)
        for n in range(x_shape[0]):
            for o in range(self.c_out):
                for i in range(H_out):
                    for j in range(W_out):
                        rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
                        dW[o] += delta[n, o, i, j] * x_pad[n, :, rows, cols]
                        dx_pad[n, :, rows, cols] += delta[n, o, i, j] * W[o]
        self.grads["W"][...] = dW
        self.grads["b"][...] = delta.sum(axis=(0, 2, 3))
        return dx_pad[:, :, p:p + x_shape[2], p:p + x_shape[3]]


class MaxPool2D(Layer):
    """Max-pooling over ``size x size`` windows: ``x (N, C, H, W) -> (N, C, H_out, W_out)``.

    ``H_out = (H - size) / stride + 1`` (stride defaults to size; the windows must tile the input exactly).
    The maximum is differentiable in the winning entry only (slope 1) and flat in the others (slope 0), so
    backward routes each window's gradient to its argmax. Ties go to the first maximum in row-major order:
    exactly one winner per window.

    No loop over windows: offset (u, v) of every window is the strided slice ``x[:, :, u::s, v::s]``, so a
    loop over the ``size * size`` offsets compares all windows at once (forward keeps the running maximum
    and the offset that holds it) and routes all gradients at once (backward). :class:`MaxPool2DNaive` is
    the loop-over-windows twin.
    """

    def __init__(self, size: int = 2, stride: int | None = None):
        super().__init__()
        name = type(self).__name__
        self.size = check_int(size, f"{name}: size")
        self.stride = self.size if stride is None else check_int(stride, f"{name}: stride")
        self._cache = None

    def _check_x(self, x, where: str):
        x = check_array(x, f"{where}: x", ndim=4)
        k, s = self.size, self.stride
        return x, _output_size(x.shape, k, k, s, 0, where, what="window")

    def _check_dout(self, dout, shape, dtype, where: str) -> np.ndarray:
        return check_array(dout, f"{where}: dout", shape=shape).astype(dtype, copy=False)

    def _offset(self, a: np.ndarray, j: int, out_shape) -> np.ndarray:
        """Entry ``j = u*size + v`` (offset (u, v)) of every window: a strided view of ``a`` of ``out_shape``."""
        u, v = divmod(j, self.size)
        s, (H_out, W_out) = self.stride, out_shape[2:]
        return a[:, :, u:u + s * (H_out - 1) + 1:s, v:v + s * (W_out - 1) + 1:s]

    def forward(self, x) -> np.ndarray:
        x, (H_out, W_out) = self._check_x(x, "MaxPool2D.forward")
        shape = x.shape[:2] + (H_out, W_out)
        out = self._offset(x, 0, shape).copy(order="K")
        winner = np.zeros_like(out, dtype=np.min_scalar_type(self.size ** 2 - 1))  # offset u*k + v of the max
        took = np.empty_like(winner)
        for j in range(1, self.size ** 2):
            x_j = self._offset(x, j, shape)
            better = np.greater(x_j, out)      # strictly: a tie keeps the earlier offset
            np.maximum(out, x_j, out=out)      # (maximum, not a masked copy: a NaN stays visible)
            # winner = j where better: j exceeds every earlier offset, so max(winner, better * j) does it
            np.maximum(winner, np.multiply(better, winner.dtype.type(j), out=took), out=winner)
        self._cache = (x, winner)
        return out

    def backward(self, dout) -> np.ndarray:
        require_forward(self._cache, "MaxPool2D.backward")
        x, winner = self._cache
        dout = self._check_dout(dout, winner.shape, x.dtype, "MaxPool2D.backward")
        tiles = self.stride == self.size        # then every pixel is in exactly one window
        dx = np.empty_like(x) if tiles else np.zeros_like(x)
        for j in range(self.size ** 2):
            dx_j = self._offset(dx, j, winner.shape)
            if tiles:
                np.multiply(dout, winner == j, out=dx_j)
            else:                               # overlapping windows add up; pixels in none stay 0
                dx_j += dout * (winner == j)
        return dx

    def get_config(self) -> dict:
        return {"size": self.size, "stride": self.stride}


class MaxPool2DNaive(MaxPool2D):
    """The readable twin of :class:`MaxPool2D`: same constructor and results, a loop over every window.

    Forward: ``out[n, c, i, j] = max(window)``, the window ``x[n, c, s*i : s*i + k, s*j : s*j + k]``.
    Backward: ``dx[n, c, window's argmax] += dout[n, c, i, j]`` (``np.argmax``: the first maximum in
    row-major order).
    """

    def forward(self, x) -> np.ndarray:
        x, (H_out, W_out) = self._check_x(x, "MaxPool2DNaive.forward")
        k, s = self.size, self.stride
        out = np.empty(x.shape[:2] + (H_out, W_out), dtype=x.dtype)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                for i in range(H_out):
                    for j in range(W_out):
                        out[n, c, i, j] = np.max(x[n, c, s * i:s * i + k, s * j:s * j + k])
        self._cache = x
        return out

    def backward(self, dout) -> np.ndarray:
        require_forward(self._cache, "MaxPool2DNaive.backward")
        x = self._cache
        k, s = self.size, self.stride
        H_out, W_out = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
        dout = self._check_dout(dout, x.shape[:2] + (H_out, W_out), x.dtype, "MaxPool2DNaive.backward")
        dx = np.zeros_like(x)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                for i in range(H_out):
                    for j in range(W_out):
                        u, v = divmod(int(np.argmax(x[n, c, s * i:s * i + k, s * j:s * j + k])), k)
                        dx[n, c, s * i + u, s * j + v] += dout[n, c, i, j]
        return dx


class Flatten(Layer):
    """``(N, d1, d2, ...) -> (N, d1*d2*...)``, e.g. conv feature maps into a Dense layer; backward reshapes back."""

    def __init__(self):
        super().__init__()
        self._shape = self._dtype = self._axes = None

    def forward(self, x) -> np.ndarray:
        x = check_array(x, "Flatten.forward: x")
        if x.ndim < 2:
            raise ValueError(f"Flatten.forward: x must have a batch axis and at least one more, shape (N, ...), "
                             f"got {x.shape}")
        self._shape, self._dtype = x.shape, x.dtype
        self._axes = tuple(int(a) for a in np.argsort([-abs(st) for st in x.strides], kind="stable"))
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))        # (not -1: N may be 0)

    def backward(self, dout) -> np.ndarray:
        """``dout`` reshaped back, stored in the memory order of the forward's input (a Conv2D/MaxPool2D
        output is stored batch-last: the layer before works on one memory order, which is faster)."""
        require_forward(self._shape, "Flatten.backward")
        shape = (self._shape[0], int(np.prod(self._shape[1:])))
        dout = check_array(dout, "Flatten.backward: dout", shape=shape).reshape(self._shape)
        if self._axes == tuple(range(len(self._shape))):
            return dout.astype(self._dtype, copy=False)
        dx = np.empty([self._shape[a] for a in self._axes], dtype=self._dtype).transpose(np.argsort(self._axes))
        dx[...] = dout
        return dx
