"""The lecture's three ways to model a sequence, each trained live on its own task: no UI, only NumPy + pyfadml.

An RNN (or LSTM) reads a sequence one step at a time, carrying its hidden state ``h_t`` forward:

    h_t = tanh(x_t Wx + h_{t-1} Wh + b)          (RNN;  the LSTM adds gates and a cell state c_t)
    y_t = h_t W^T + b_out                         (a Dense layer read-out, the same at every step)

Unfolded over time this is a deep network with one layer per step that shares its weights. The three modes:

==============  ====================================================================================
mode            task (from :mod:`pyfadml.data.sequences`)
==============  ====================================================================================
many-to-one     toy sentiment analysis: a 10-word review -> positive / negative, read at the last step
                (:func:`~pyfadml.data.sequences.make_sentiment`; "not bad" is positive, so the network
                must carry the negation to the next word and the opinion to the end)
one-to-many     toy image captioning: a 10x10 image of a shape at t = 0, nothing after; the network says
                "a big hollow circle ." word by word from its memory alone
                (:func:`~pyfadml.data.sequences.make_captions`)
many-to-many    toy translation: an English sentence -> a toy French two words behind, where a colour
                moves after its noun ("the red ball" -> "le ballon rouge";
                :func:`~pyfadml.data.sequences.make_translation`)
==============  ====================================================================================

:class:`SequenceDemo` owns the data, the model and the :class:`~pyfadml.train.Trainer`, and answers what the
page asks: :meth:`~SequenceDemo.step` / :meth:`~SequenceDemo.train_for` (train), :meth:`~SequenceDemo.evaluate`
(train/test loss and accuracy, appended to ``history``) and :meth:`~SequenceDemo.unfold` (one test sequence
through the unrolled network: every ``x_t``, ``h_t`` and ``y_t``, read from the library's layers).

Reproducibility: ``np.random.SeedSequence(seed)`` spawns the streams of, in order, the dataset, the weight
initialisation and the Trainer's mini-batch shuffling, so the same settings and the same number of steps
always give the same weights, however the steps were split into bursts.
"""
from __future__ import annotations


import numpy as np

from pyfadml._checks import check_choice, check_float, check_int
from pyfadml.data.sequences import (
    CAPTION_IMAGE_SIZE, CAPTION_VOCAB, EN_VOCAB, FR_VOCAB, SENTIMENT_VOCAB, TRANSLATION_WORDS, make_captions,
    make_sentiment, make_translation,
)
from pyfadml.demos._live import TrainerDemo
from pyfadml.layers import LSTM, RNN, Dense
from pyfadml.losses import softmax
from pyfadml.models import Sequential
from pyfadml.history import History
from pyfadml.io import check_same, layer_specs
from pyfadml.optim import OPTIMIZER_NAMES, OPTIMIZERS, get_optimizer
from pyfadml.train import DivergenceError, Trainer

__all__ = ["SequenceDemo", "MODES", "CELLS", "OPTIMIZERS", "MODE_INFO", "DivergenceError"]

MODES = ("many-to-one", "one-to-many", "many-to-many")
CELLS = ("rnn", "lstm")
MAX_HIDDEN = 32

MODE_INFO = {
    "many-to-one": {
        "task": "Toy sentiment analysis",
        "what": "reads a 10-word movie review and says, at the last step, whether it is positive or "
                "negative. Negations flip the next opinion word (\"not bad\" is positive), so the "
                "hidden state must carry what it has read so far.",
        "T": 10, "loss": "cross_entropy", "metric": "accuracy",
    },
    "one-to-many": {
        "task": "Toy image captioning",
        "what": "sees one small image at t = 0 (a square, circle or triangle; small or big; filled or "
                "hollow) and nothing afterwards, and must describe it word by word from its memory alone: "
                "\"a big hollow circle .\"",
        "T": 5, "loss": "cross_entropy", "metric": "accuracy",
    },
    "many-to-many": {
        "task": "Toy translation",
        "what": "reads an English sentence word by word (\"the big dog sees the red ball\") and says it in a toy "
                "French two words behind (\"le grand chien voit le ballon rouge\"). A colour goes after its "
                "noun, so the word order changes: to say \"ballon\" it must already have read \"ball\", and "
                "remember \"red\" to say it next.",
        "T": TRANSLATION_WORDS + 2, "loss": "cross_entropy", "metric": "accuracy",
    },
}
"""What each mode's task is (for the page's text), its sequence length, loss and metric."""

_DELAY = 2


class SequenceDemo(TrainerDemo):
    """One of the three modes, an RNN or LSTM of ``hidden`` units and a Dense read-out, trained live.

    Settings (keyword-only): ``mode`` (one of :data:`MODES`), ``cell`` ("rnn" or "lstm"), ``hidden`` units
    (1-32), ``lr``, ``optimizer`` ("sgd", "momentum" = SGD with momentum 0.9, "adam"), ``batch_size``,
    ``clip_norm`` (gradient-norm clipping threshold, ``None`` = off), ``n_train`` and ``n_test`` sequences,
    ``seed``.
    """

    def __init__(self, *, mode: str = "many-to-one", cell: str = "rnn", hidden: int = 16, lr: float = 0.01,
                 optimizer: str = "adam", batch_size: int = 32, clip_norm: float | None = 1.0,
                 n_train: int = 1024, n_test: int = 256, seed: int = 0):
        self.mode = check_choice(mode, "mode", MODES)
        self.cell = check_choice(cell, "cell", CELLS)
        self.hidden = check_int(hidden, "SequenceDemo: hidden")
        if self.hidden > MAX_HIDDEN:
            raise ValueError(f"SequenceDemo: hidden must be between 1 and {MAX_HIDDEN}, got {hidden}")
        self.optimizer_name = check_choice(optimizer, "optimizer", OPTIMIZERS)
        self.n_train = check_int(n_train, "SequenceDemo: n_train", minimum=8)
        self.n_test = check_int(n_test, "SequenceDemo: n_test", minimum=1)
        self.seed = check_int(seed, "SequenceDemo: seed", minimum=0)
        lr = check_float(lr, "SequenceDemo: lr", minimum=0.0, strict=True)
        batch_size = check_int(batch_size, "SequenceDemo: batch_size")
        if clip_norm is not None:
            clip_norm = check_float(clip_norm, "SequenceDemo: clip_norm", minimum=0.0, strict=True)

        info = MODE_INFO[self.mode]
        self.T = info["T"]
        self.loss_name = info["loss"]
        data_ss, init_ss, batch_ss = np.random.SeedSequence(self.seed).spawn(3)
        X, Y = self._make_data(self.n_train + self.n_test, np.random.default_rng(data_ss))
        self.X_train, self.X_test = X[:self.n_train], X[self.n_train:]
        self.Y_train, self.Y_test = Y[:self.n_train], Y[self.n_train:]
        self.n_in = X.shape[2]

        init_rng = np.random.default_rng(init_ss)
        seq_out = self.mode != "many-to-one"
        cell_cls = RNN if self.cell == "rnn" else LSTM
        n_out = len(self.class_names)
        self.model = Sequential([cell_cls(self.n_in, self.hidden, return_sequences=seq_out, rng=init_rng),
                                 Dense(self.hidden, n_out, rng=init_rng)])
        self.trainer = Trainer(self.model, self.loss_name, get_optimizer(self.optimizer_name, lr=lr),
                               self.X_train, self.Y_train, batch_size=batch_size,
                               rng=np.random.default_rng(batch_ss), clip_norm=clip_norm)
        keys = ["step", "train_loss", "test_loss"]
        if self.is_classification:
            keys += ["train_acc", "test_acc"]
        self.history = History(keys)

    def _make_data(self, n: int, rng: np.random.Generator):
        if self.mode == "many-to-one":
            return make_sentiment(n, T=self.T, rng=rng)
        if self.mode == "one-to-many":
            return make_captions(n, rng=rng)
        return make_translation(n, delay=_DELAY, rng=rng)

    # ------------------------------------------------------------------------------------------
    # settings and state
    # ------------------------------------------------------------------------------------------

    @property
    def settings(self) -> dict:
        """The keyword arguments that rebuild this demo from scratch (with the current lr and clipping)."""
        return dict(mode=self.mode, cell=self.cell, hidden=self.hidden, lr=self.lr,
                    optimizer=self.optimizer_name, batch_size=self.trainer.batch_size, clip_norm=self.clip_norm,
                    n_train=self.n_train, n_test=self.n_test, seed=self.seed)

    def settings_for(self, model, name: str = "the model") -> dict:
        """``{"mode", "cell", "hidden"}`` that make this demo's network ``model``'s architecture: an RNN or
        LSTM cell then a Dense layer, as one of the modes builds it (this demo's mode first). ValueError
        naming the misfit (for this demo's mode) otherwise."""
        specs = layer_specs(model)
        kinds = [c for c, _ in specs]
        if kinds not in (["RNN", "Dense"], ["LSTM", "Dense"]):
            raise ValueError(f"{name} does not fit: this tab trains an RNN or LSTM cell then a Dense layer; the "
                             f"file has {', '.join(kinds[:12])}.")
        cell, hidden = kinds[0].lower(), specs[0][1].get("n_hidden")
        if not isinstance(hidden, int) or not 1 <= hidden <= MAX_HIDDEN:
            raise ValueError(f"{name} does not fit: {hidden} hidden units; at most {MAX_HIDDEN} here.")
        error = None
        for mode in [self.mode] + [m for m in MODES if m != self.mode]:
            template = SequenceDemo(mode=mode, cell=cell, hidden=hidden, n_train=8, n_test=1).model
            try:
                check_same(name, model, template)
            except ValueError as exc:
                error = error or exc                       # the message for this demo's mode
                continue
            return dict(mode=mode, cell=cell, hidden=hidden)
        raise error

    def describe(self) -> str:
        """One line: the network, the training settings and the data, e.g. for a caption."""
        clip = f"gradients clipped at {self.clip_norm:g}" if self.clip_norm else "no clipping"
        return (f"The {self.cell.upper()} with {self.hidden} hidden units, {OPTIMIZER_NAMES[self.optimizer_name]}, "
                f"learning rate {self.lr:g}, batch {self.batch_size}, {clip}; {len(self.X_train):,} training and "
                f"{len(self.X_test):,} test sequences of {self.T} steps.")

    @property
    def is_classification(self) -> bool:
        return self.loss_name == "cross_entropy"

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the output classes: the opinion, the caption's words or the French words."""
        if self.mode == "many-to-one":
            return ("negative", "positive")
        if self.mode == "many-to-many":
            return FR_VOCAB
        return CAPTION_VOCAB

    @property
    def layer(self):
        """The recurrent layer (RNN or LSTM)."""
        return self.model.layers[0]

    # ------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------

    def step(self, n: int = 1) -> dict | None:
        """Train ``n`` mini-batches; returns the last step's record (``None`` if ``n == 0``).

        A :class:`~pyfadml.train.DivergenceError` propagates; the weights stay as before the failing step.
        """
        n = check_int(n, "SequenceDemo.step: n", minimum=0)
        record = None
        for _ in range(n):
            record = self.trainer.step()
        return record

    def evaluate(self) -> dict:
        """Loss (and accuracy, for classification) on the whole train and test sets, appended to ``history``
        (one row per distinct step count)."""
        tr = self.trainer.evaluate(self.X_train, self.Y_train)
        te = self.trainer.evaluate(self.X_test, self.Y_test)
        row = {"step": self.step_count, "train_loss": tr["loss"], "test_loss": te["loss"]}
        if self.is_classification:
            row["train_acc"] = tr["accuracy"]
            row["test_acc"] = te["accuracy"]
        return self.history.put(row)

    # ------------------------------------------------------------------------------------------
    # the unfolded network on one sequence
    # ------------------------------------------------------------------------------------------

    def input_labels(self, x: np.ndarray) -> list[str]:
        """A readable name for every input ``x_t`` of one sequence ``x (T, D)``."""
        if self.mode == "many-to-one":
            return [SENTIMENT_VOCAB[i] for i in np.argmax(x, axis=1)]
        if self.mode == "one-to-many":
            return ["image" if row.any() else "0" for row in x]
        return [EN_VOCAB[i] for i in np.argmax(x, axis=1)]

    def unfold(self, index: int = 0) -> dict:
        """Test sequence ``index`` through the network unrolled over its T steps, with the current weights.

        Every value comes from the library's layers in one eval-mode forward pass: ``h`` is the recurrent
        layer's ``hiddens``, the LSTM's ``cells`` and ``gates`` are its own, the outputs are the Dense
        read-out's. Returns

        ``step``, ``index``, ``mode``, ``cell``, ``T``,
        ``x`` (T, D) the inputs and ``x_labels`` (T,) their names (a word, a symbol, "class k" or "0"),
        ``h`` (T, H) the hidden states, ``c`` (T, H) the LSTM cell states (``None`` for the RNN),
        ``gates`` dict i/f/o/g -> (T, H) (LSTM) or ``None``,
        ``out_steps`` the time steps that have an output (only the last for many-to-one, all otherwise),
        ``y`` the outputs at those steps: class probabilities (S, K) for classification, values (S,)
        for the regression; ``target`` the targets at those steps (labels (S,) or values (S,)),
        ``pred`` the predicted labels (S,) (classification) or values, ``y_labels`` / ``target_labels``
        readable names of prediction and target per output step, ``correct`` (S,) bool (classification;
        for the regression |y - target| < 0.1).
        """
        index = check_int(index, "SequenceDemo.unfold: index", minimum=0)
        if index >= self.n_test:
            raise ValueError(f"SequenceDemo.unfold: index must be < n_test ({self.n_test}), got {index}")
        x = self.X_test[index]
        out = self.model.predict(x[None])
        layer = self.layer
        h = layer.hiddens[0].copy()
        c = gates = None
        if isinstance(layer, LSTM):
            c = layer.cells[0].copy()
            gates = {k: v[0].copy() for k, v in layer.gates.items()}
        if self.mode == "many-to-one":
            out_steps = np.array([self.T - 1])
            logits = out[0][None]                                 # (1, K)
            target = np.array([self.Y_test[index]])
        else:
            out_steps = np.arange(self.T)
            logits = out[0]                                       # (T, K)
            target = self.Y_test[index]
        result = {"step": self.step_count, "index": index, "mode": self.mode, "cell": self.cell, "T": self.T,
                  "x": x.copy(), "x_labels": self.input_labels(x), "h": h, "c": c, "gates": gates,
                  "out_steps": out_steps, "target": target.copy()}
        probs = softmax(logits)
        pred = np.argmax(probs, axis=1)
        names = self.class_names
        result.update(y=probs, pred=pred, y_labels=[names[k] for k in pred],
                      target_labels=[names[k] for k in target], correct=pred == target)
        return result

    def predictions(self, index: int = 0, *, n: int = 16) -> dict:
        """What a plot of predictions against targets shows: ``{"pred", "target"}`` (float arrays of one
        length). Many-to-one: P(positive) and the label (0/1) of the first ``n`` test sentences; the other
        modes: the predicted and the target class index at every time step of test sequence ``index``."""
        if self.mode == "many-to-one":
            n = min(check_int(n, "SequenceDemo.predictions: n"), self.n_test)
            with np.errstate(over="ignore", invalid="ignore"):
                probs = softmax(self.model.predict(self.X_test[:n]))[:, 1]
            return {"pred": probs.astype(np.float64), "target": self.Y_test[:n].astype(np.float64)}
        u = self.unfold(index)
        return {"pred": u["pred"].astype(np.float64), "target": u["target"].astype(np.float64)}

    def image(self, index: int = 0) -> np.ndarray:
        """The one-to-many mode's test image ``index``, (10, 10) in [0, 1] (the other modes: ValueError)."""
        if self.mode != "one-to-many":
            raise ValueError(f"SequenceDemo.image: only the one-to-many mode has images, not {self.mode}")
        index = check_int(index, "SequenceDemo.image: index", minimum=0)
        if index >= self.n_test:
            raise ValueError(f"SequenceDemo.image: index must be < n_test ({self.n_test}), got {index}")
        return self.X_test[index, 0].reshape(CAPTION_IMAGE_SIZE, CAPTION_IMAGE_SIZE).copy()
