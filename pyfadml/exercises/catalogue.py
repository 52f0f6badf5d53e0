"""The eight exercises: for each, the lecture's formula, a template with ``backward`` left to write, a solution.

Every class is written in the library's style (see :mod:`pyfadml.layers.base`): ``params`` and ``grads``
dicts, ``forward`` caches what ``backward`` needs, ``backward`` fills ``grads`` and returns the gradient of
the loss with respect to each input. The templates run (their ``backward`` returns zeros), so a first
"Check" already shows the gradient check failing rather than an exception.

Inputs are drawn by :mod:`pyfadml.exercises.checker` from ``inputs`` (name -> (shape, kind)); parameters
are redrawn as standard normal float64 of the shapes the solution gives them.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Exercise:
    """One exercise. ``inputs``: the arguments of ``forward`` as ``name -> (shape, kind)``, kind ``"normal"``,
    ``"away_from_zero"`` (for kinks such as ReLU's) or ``"unit"`` (in (-1, 1), e.g. a previous tanh state);
    ``args``: constructor keyword arguments (``"rng"`` is given by the checker; a callable value is
    called with the checker's rng, e.g. to draw labels); ``hints``: quantity name ->
    what to look at when its gradient is wrong (key ``""``: the general hint)."""

    key: str
    title: str
    class_name: str
    formula: str            # TeX, displayed between $$ ... $$
    text: str               # one or two sentences (HTML) above the editor
    template: str
    solution: str
    inputs: dict[str, tuple[tuple[int, ...], str]]
    args: dict = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)

    def hint(self, quantity: str = "") -> str:
        return self.hints.get(quantity) or self.hints.get("", "")


def _activation(name: str, doc: str, cache: str, todo: str, solution: str) -> tuple[str, str]:
    head = f'''class {name}:
    """{doc}"""

    def __init__(self):
        self.params, self.grads = {{}}, {{}}   # no parameters

    def forward(self, z):
{cache}

    def backward(self, dout):
        """dout = dL/da, shape (N, n) -> return dL/dz, shape (N, n)."""
'''
    template = head + f"        # TODO: {todo}\n        dz = np.zeros_like(dout)\n        return dz\n"
    return template, head + f"        dz = {solution}\n        return dz\n"


SIGMOID = _activation(
    "Sigmoid", "a = sigma(z) = 1 / (1 + exp(-z)), element by element.\n    Shapes: z (N, n) -> a (N, n).",
    "        self.a = 1.0 / (1.0 + np.exp(-z))   # cached: sigma'(z) is written with a\n"
    "        return self.a",
    "dL/dz = dL/da * sigma'(z), element by element,\n"
    "        #       with sigma'(z) = sigma(z) (1 - sigma(z))",
    "dout * self.a * (1.0 - self.a)")

TANH = _activation(
    "Tanh", "a = tanh(z), element by element.\n    Shapes: z (N, n) -> a (N, n).",
    "        self.a = np.tanh(z)      # cached: tanh'(z) is written with a\n"
    "        return self.a",
    "dL/dz = dL/da * tanh'(z), element by element,\n"
    "        #       with tanh'(z) = 1 - tanh(z)^2",
    "dout * (1.0 - self.a ** 2)")

RELU = _activation(
    "ReLU", "a = max(0, z), element by element.\n    Shapes: z (N, n) -> a (N, n).",
    "        self.z = z               # cached: relu'(z) depends on the sign of z\n"
    "        return np.maximum(z, 0.0)",
    "dL/dz = dL/da * relu'(z), element by element,\n"
    "        #       with relu'(z) = 1 where z > 0 and 0 where z <= 0",
    "dout * (self.z > 0)")

_DENSE_HEAD = '''class Dense:
    """A fully connected layer for a batch of N examples stored as rows:
    z = a W^T + b   (the lecture's z^l = W^l a^{l-1} + b^l, one row per example).
    Shapes: a (N, n_in) -> z (N, n_out).  Params: W (n_out, n_in), b (n_out,)."""

    def __init__(self, n_in, n_out, rng):
        self.params = {"W": rng.standard_normal((n_out, n_in)) / np.sqrt(n_in),
                       "b": np.zeros(n_out)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, a):
        self.a = a          # a^{l-1}, cached: needed for dL/dW
        return a @ self.params["W"].T + self.params["b"]

    def backward(self, delta):
        """delta = dL/dz, shape (N, n_out): fill grads["W"] and grads["b"];
        return dL/da, shape (N, n_in)."""
        W = self.params["W"]
'''
DENSE = (_DENSE_HEAD + '''        # TODO: dL/dW = delta^T a  (the lecture's delta^l (a^{l-1})^T,
        #                           summed over the batch)
        #       dL/db = delta summed over the batch (axis 0)
        #       dL/da = delta W    (the lecture's (W^l)^T delta^l, as rows)
        self.grads["W"] = np.zeros_like(W)
        self.grads["b"] = np.zeros_like(self.params["b"])
        da = np.zeros_like(self.a)
        return da
''', _DENSE_HEAD + '''        self.grads["W"] = delta.T @ self.a
        self.grads["b"] = delta.sum(axis=0)
        da = delta @ W
        return da
''')

_SCE_HEAD = '''class SoftmaxCrossEntropy:
    """The classifier's loss on logits z (N, K) with integer labels y (N,):
    p_n = softmax(z_n),   L = -(1/N) sum_n log p_{n, y_n}   (a number)."""

    def __init__(self, y):
        self.y = y
        self.params, self.grads = {}, {}

    def forward(self, z):
        shifted = z - z.max(axis=1, keepdims=True)   # no overflow in exp
        e = np.exp(shifted)
        self.p = e / e.sum(axis=1, keepdims=True)    # cached: softmax(z)
        N = z.shape[0]
        return -np.mean(np.log(self.p[np.arange(N), self.y]))

    def backward(self, dout=1.0):
        """dout = the gradient arriving at L (1.0 when L is the loss itself)
        -> return dL/dz, shape (N, K)."""
        N = self.p.shape[0]
'''
SOFTMAX_CE = (_SCE_HEAD + '''        # TODO: dL/dz = (p - onehot(y)) / N, times dout
        #       (onehot(y)[n, k] is 1 where k == y[n], else 0)
        dz = np.zeros_like(self.p)
        return dz * dout
''', _SCE_HEAD + '''        dz = self.p.copy()
        dz[np.arange(N), self.y] -= 1.0
        dz /= N
        return dz * dout
''')

_CONV_HEAD = '''class Conv2D:
    """One channel, one k x k kernel, stride 1, no padding
    (a cross-correlation, as in the lecture):
        z[n, i, j] = sum_{p, q} W[p, q] x[n, i + p, j + q] + b.
    Shapes: x (N, rows, cols) -> z (N, rows - k + 1, cols - k + 1).
    Params: W (k, k), b (1,)."""

    def __init__(self, k, rng):
        self.params = {"W": rng.standard_normal((k, k)) / k, "b": np.zeros(1)}
        self.grads = {key: np.zeros_like(v) for key, v in self.params.items()}

    def forward(self, x):
        self.x = x          # cached: every window of x is needed for dL/dW
        W, b = self.params["W"], self.params["b"]
        k = W.shape[0]
        N, rows, cols = x.shape
        z = np.empty((N, rows - k + 1, cols - k + 1))
        for i in range(rows - k + 1):
            for j in range(cols - k + 1):
                z[:, i, j] = np.sum(x[:, i:i + k, j:j + k] * W, axis=(1, 2)) + b[0]
        return z

    def backward(self, delta):
        """delta = dL/dz, shape (N, rows - k + 1, cols - k + 1):
        fill grads["W"] and grads["b"]; return dL/dx, shape (N, rows, cols)."""
        x, W = self.x, self.params["W"]
        k = W.shape[0]
        dW = np.zeros_like(W)
        dx = np.zeros_like(x)
        for i in range(delta.shape[1]):
            for j in range(delta.shape[2]):
'''
CONV = (_CONV_HEAD + '''                # TODO: output (i, j) saw the window x[n, i:i+k, j:j+k]
                #       through W, so
                #       dW += delta[n, i, j] * window,  summed over the examples n
                #       dx[n, i:i+k, j:j+k] += delta[n, i, j] * W,  for every n
                pass
        self.grads["W"] = dW
        self.grads["b"] = np.zeros(1)   # TODO: dL/db = the sum of all of delta
        return dx
''', _CONV_HEAD + '''                window = x[:, i:i + k, j:j + k]                  # (N, k, k)
                dW += np.tensordot(delta[:, i, j], window, axes=1)
                dx[:, i:i + k, j:j + k] += delta[:, i, j, None, None] * W
        self.grads["W"] = dW
        self.grads["b"] = np.array([delta.sum()])
        return dx
''')

_RNN_HEAD = '''class RNNStep:
    """One time step of the vanilla RNN (rows are examples):
        h = tanh(z),   z = x Wx + h_prev Wh + b.
    Shapes: x (N, D), h_prev (N, H) -> h (N, H).
    Params: Wx (D, H), Wh (H, H), b (H,)."""

    def __init__(self, D, H, rng):
        self.params = {"Wx": rng.standard_normal((D, H)) / np.sqrt(D),
                       "Wh": rng.standard_normal((H, H)) / np.sqrt(H),
                       "b": np.zeros(H)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, h_prev):
        self.x, self.h_prev = x, h_prev     # cached for dWx and dWh
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        self.h = np.tanh(x @ Wx + h_prev @ Wh + b)   # cached for tanh'
        return self.h

    def backward(self, dh):
        """dh = dL/dh, shape (N, H): fill grads["Wx"], grads["Wh"], grads["b"];
        return (dL/dx (N, D), dL/dh_prev (N, H)): backpropagation through
        time passes dh_prev on to the step before."""
        Wx, Wh = self.params["Wx"], self.params["Wh"]
'''
RNN_STEP = (_RNN_HEAD + '''        # TODO: dz = dh * (1 - h^2)      (through tanh)
        #       dWx = x^T dz,  dWh = h_prev^T dz,  db = dz summed over the batch
        #       dx = dz Wx^T,  dh_prev = dz Wh^T
        self.grads["Wx"] = np.zeros_like(Wx)
        self.grads["Wh"] = np.zeros_like(Wh)
        self.grads["b"] = np.zeros_like(self.params["b"])
        dx = np.zeros_like(self.x)
        dh_prev = np.zeros_like(self.h_prev)
        return dx, dh_prev
''', _RNN_HEAD + '''        dz = dh * (1.0 - self.h ** 2)
        self.grads["Wx"] = self.x.T @ dz
        self.grads["Wh"] = self.h_prev.T @ dz
        self.grads["b"] = dz.sum(axis=0)
        dx = dz @ Wx.T
        dh_prev = dz @ Wh.T
        return dx, dh_prev
''')

_REPARAM_HEAD = '''class Reparameterize:
    """The VAE's sampling step, written so that gradients reach the encoder:
        z = mu + sigma * eps,   sigma = exp(logvar / 2),
    with eps ~ N(0, I) drawn outside (an input, not a weight).
    Shapes: mu (N, d), logvar (N, d) -> z (N, d)."""

    def __init__(self, eps):
        self.eps = eps
        self.params, self.grads = {}, {}

    def forward(self, mu, logvar):
        self.sigma = np.exp(0.5 * logvar)   # cached for backward
        return mu + self.sigma * self.eps

    def backward(self, dz):
        """dz = dL/dz, shape (N, d) -> return (dL/dmu, dL/dlogvar), both (N, d)."""
'''
REPARAM = (_REPARAM_HEAD + '''        # TODO: dz/dmu = 1 and dz/dlogvar = eps * sigma / 2,
        #       since d exp(logvar / 2) / dlogvar = sigma / 2
        dmu = np.zeros_like(dz)
        dlogvar = np.zeros_like(dz)
        return dmu, dlogvar
''', _REPARAM_HEAD + '''        dmu = dz
        dlogvar = dz * self.eps * 0.5 * self.sigma
        return dmu, dlogvar
''')

_ACTIVATION_HINT = ("Multiply the incoming gradient dout by the derivative, element by element (dout * ...), "
                    "not with a matrix product; write the derivative with what forward cached.")

EXERCISES: tuple[Exercise, ...] = (
    Exercise("sigmoid", "Sigmoid", "Sigmoid",
             r"\frac{\partial \mathcal{L}}{\partial z} = \frac{\partial \mathcal{L}}{\partial a} \odot "
             r"\sigma'(z), \qquad \sigma'(z) = \sigma(z)\,\bigl(1 - \sigma(z)\bigr)",
             "The activation of the lecture's neurons. Its backward pass is the <b>&odot; &sigma;'(z)</b> "
             "of &delta;<sup>l-1</sup> = (W<sup>l</sup>)<sup>T</sup> &delta;<sup>l</sup> &odot; &sigma;'(z<sup>l-1</sup>).",
             *SIGMOID, inputs={"z": ((4, 5), "normal")},
             hints={"": _ACTIVATION_HINT + " forward kept a = sigma(z): sigma'(z) = a (1 - a)."}),
    Exercise("tanh", "Tanh", "Tanh",
             r"\frac{\partial \mathcal{L}}{\partial z} = \frac{\partial \mathcal{L}}{\partial a} \odot "
             r"\bigl(1 - \tanh^2(z)\bigr)",
             "The activation of the RNN's hidden state. Its derivative is largest (1) at z = 0 and "
             "vanishes for large |z|.",
             *TANH, inputs={"z": ((4, 5), "normal")},
             hints={"": _ACTIVATION_HINT + " forward kept a = tanh(z): tanh'(z) = 1 - a**2."}),
    Exercise("relu", "ReLU", "ReLU",
             r"\frac{\partial \mathcal{L}}{\partial z} = \frac{\partial \mathcal{L}}{\partial a} \odot "
             r"\mathbb{1}[z > 0]",
             "The CNN's activation: it keeps the prominent features and replaces the rest with zero. "
             "The gradient passes where z &gt; 0 and stops elsewhere.",
             *RELU, inputs={"z": ((4, 5), "away_from_zero")},
             hints={"": _ACTIVATION_HINT + " (self.z > 0) is True/False per entry; multiplying by it "
                        "keeps dout where z > 0 and zeroes it elsewhere."}),
    Exercise("dense", "Dense layer", "Dense",
             r"\frac{\partial \mathcal{L}}{\partial W^l} = \delta^l (a^{l-1})^T, \qquad "
             r"\frac{\partial \mathcal{L}}{\partial b^l} = \delta^l, \qquad "
             r"\frac{\partial \mathcal{L}}{\partial a^{l-1}} = (W^l)^T \delta^l",
             "The lecture's backpropagation equations, for a batch: each example is a <i>row</i>, so "
             "W a becomes a W<sup>T</sup>, and the per-example gradients of W and b add up over the batch.",
             *DENSE, inputs={"a": ((4, 3), "normal")}, args={"n_in": 3, "n_out": 2},
             hints={"W": "grads['W'] has W's shape (n_out, n_in): delta.T @ self.a is (n_out, N) @ (N, n_in).",
                    "b": "grads['b'] has b's shape (n_out,): add delta up over the examples, delta.sum(axis=0).",
                    "a": "dL/da has a's shape (N, n_in): delta @ W is (N, n_out) @ (n_out, n_in).",
                    "": "Check every shape: grads['W'] like W, grads['b'] like b, the returned dL/da like a."}),
    Exercise("softmax_ce", "Softmax cross-entropy", "SoftmaxCrossEntropy",
             r"\mathcal{L} = -\frac{1}{N}\sum_n \log p_{n,y_n}, \qquad "
             r"\frac{\partial \mathcal{L}}{\partial z_{n,k}} = \frac{1}{N}\bigl(p_{n,k} - [k = y_n]\bigr)",
             "The classifier's loss. Softmax and the log cancel out so well that the gradient is just "
             "&quot;predicted probabilities minus the one-hot target&quot;, averaged over the batch.",
             *SOFTMAX_CE, inputs={"z": ((4, 3), "normal")}, args={"y": lambda rng: rng.integers(0, 3, size=4)},
             hints={"": "Start from a copy of self.p, subtract 1 at the true class of each row "
                        "(dz[np.arange(N), self.y] -= 1), divide by N (the loss is a mean) and keep the "
                        "final * dout."}),
    Exercise("conv2d", "Conv2D (one channel)", "Conv2D",
             r"\frac{\partial \mathcal{L}}{\partial W_{pq}} = \sum_{n,i,j} \delta_{n,ij}\, x_{n,i+p,\,j+q}, "
             r"\qquad \frac{\partial \mathcal{L}}{\partial x_{n,i+p,\,j+q}} \mathrel{+}= \delta_{n,ij}\, W_{pq},"
             r"\qquad \frac{\partial \mathcal{L}}{\partial b} = \sum_{n,i,j} \delta_{n,ij}",
             "The kernel slides over the image, so every weight meets many pixels and every pixel meets "
             "several weights: both gradients are sums over the positions (i, j).",
             *CONV, inputs={"x": ((2, 5, 5), "normal")}, args={"k": 3},
             hints={"W": "For each (i, j): dW += the window x[n, i:i+k, j:j+k] weighted by delta[n, i, j], "
                         "summed over n (e.g. np.tensordot(delta[:, i, j], window, axes=1)).",
                    "x": "For each (i, j): dx[:, i:i+k, j:j+k] += delta[:, i, j, None, None] * W "
                         "(the None axes let the N deltas broadcast over the k x k kernel). Use +=: "
                         "windows overlap.",
                    "b": "b is added to every output, so dL/db is the sum of all of delta, "
                         "as an array of shape (1,): np.array([delta.sum()]).",
                    "": "Both gradients are sums over every output position (i, j)."}),
    Exercise("rnn_step", "RNN step", "RNNStep",
             r"\delta = \frac{\partial \mathcal{L}}{\partial h} \odot (1 - h^2), \quad "
             r"\frac{\partial \mathcal{L}}{\partial W_x} = x^T \delta, \quad "
             r"\frac{\partial \mathcal{L}}{\partial W_h} = h_{prev}^T\, \delta, \quad "
             r"\frac{\partial \mathcal{L}}{\partial h_{prev}} = \delta\, W_h^T",
             "One step of backpropagation through time. The gradient returned for h_prev is what flows "
             "to the step before; multiplied by W<sub>h</sub><sup>T</sup> and tanh' at every step, it "
             "vanishes or explodes.",
             *RNN_STEP, inputs={"x": ((3, 4), "normal"), "h_prev": ((3, 5), "unit")},
             args={"D": 4, "H": 5},
             hints={"Wx": "grads['Wx'] is (D, H): self.x.T @ dz, with dz = dh * (1 - self.h**2).",
                    "Wh": "grads['Wh'] is (H, H): self.h_prev.T @ dz.",
                    "b": "grads['b'] is (H,): dz.sum(axis=0).",
                    "x": "dL/dx is (N, D): dz @ Wx.T.",
                    "h_prev": "dL/dh_prev is (N, H): dz @ Wh.T.",
                    "": "First go back through tanh: dz = dh * (1 - self.h**2); every gradient uses dz."}),
    Exercise("reparam", "VAE reparameterisation", "Reparameterize",
             r"z = \mu + \sigma \odot \varepsilon, \quad \sigma = e^{\frac{1}{2}\log\sigma^2}, \qquad "
             r"\frac{\partial \mathcal{L}}{\partial \mu} = \frac{\partial \mathcal{L}}{\partial z}, \qquad "
             r"\frac{\partial \mathcal{L}}{\partial \log\sigma^2} = \frac{\partial \mathcal{L}}{\partial z} "
             r"\odot \varepsilon \odot \frac{\sigma}{2}",
             "Sampling z directly would block backpropagation; drawing &epsilon; outside and computing "
             "z = &mu; + &sigma; &epsilon; makes z a smooth function of &mu; and log &sigma;<sup>2</sup>, "
             "so the encoder learns.",
             *REPARAM, inputs={"mu": ((4, 2), "normal"), "logvar": ((4, 2), "normal")},
             args={"eps": lambda rng: rng.standard_normal((4, 2))},
             hints={"mu": "z = mu + ...: the gradient passes to mu unchanged, dmu = dz.",
                    "logvar": "sigma = exp(logvar / 2), so d sigma / d logvar = sigma / 2: "
                              "dlogvar = dz * self.eps * 0.5 * self.sigma.",
                    "": "Return a pair: (dL/dmu, dL/dlogvar)."}),
)

BY_KEY = {e.key: e for e in EXERCISES}
