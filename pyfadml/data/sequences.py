"""Sequence tasks for RNNs and LSTMs, one per way of modelling temporal dependencies in the lecture.

All inputs are ``X: (N, T, D)`` float64 (batch, time, features), the layout ``RNN``/``LSTM`` take.

=====================  ==============  ===================================================================
function               mode            targets
=====================  ==============  ===================================================================
make_sentiment         many-to-one     ``y (N,)`` int: 1 positive, 0 negative (toy sentiment analysis)
make_memory_task       many-to-one     ``y (N,)`` int: the first symbol, recalled after T steps
make_one_to_many       one-to-many     ``Y (N, T, 1)`` float: a class-specific waveform from one input
make_many_to_many      many-to-many    ``Y (N, T)`` int: a label at every step (running parity, delayed copy)
make_translation       many-to-many    toy translation where the word order changes (``Y (N, T)`` int)
make_sine              many-to-many    ``Y (N, T, 1)`` float: the next value of a sine wave (continuation)
=====================  ==============  ===================================================================
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import as_rng, check_choice, check_float, check_int

__all__ = [
    "make_sine", "make_memory_task", "memory_task_chance",
    "SENTIMENT_VOCAB", "make_sentiment", "decode_tokens",
    "make_one_to_many", "one_to_many_waveforms", "make_many_to_many",
    "EN_VOCAB", "FR_VOCAB", "make_translation", "translate",
    "CAPTION_VOCAB", "CAPTION_IMAGE_SIZE", "make_captions", "caption_image",
]


def _one_hot(idx: np.ndarray, depth: int) -> np.ndarray:
    """Integer array (...,) -> float64 one-hot (..., depth)."""
    out = np.zeros(idx.shape + (depth,))
    np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
    return out


def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels in [0, k), class sizes differing by at most one, in random order."""
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    return rng.permutation(np.repeat(np.arange(k, dtype=np.int64), sizes))


# ---------------------------------------------------------------------------------------------------------
# many-to-many regression: continue a sine wave

def make_sine(n: int = 256, *, T: int = 40, noise: float = 0.0, rng):
    """Next-value prediction on sine waves (many-to-many, continuation).

    Each sequence is ``s_t = A sin(omega t + phi)`` with amplitude A in [0.5, 1], angular frequency omega in
    [0.15, 0.6] rad/step and phase phi in [0, 2 pi); the input at step t is ``s_t`` (+ Gaussian ``noise``),
    the target the clean next value ``s_{t+1}``. A model must infer A, omega and phi from what it has seen
    so far, so early steps are harder than late ones. Run the trained model on its own outputs to let it
    continue ("generate") a wave.

    Returns X (n, T, 1) float64, Y (n, T, 1) float64.
    """
    n = check_int(n, "make_sine: n", minimum=1)
    T = check_int(T, "make_sine: T", minimum=2)
    noise = check_float(noise, "make_sine: noise", minimum=0.0)
    rng = as_rng(rng, "make_sine: rng")
    amp = rng.uniform(0.5, 1.0, (n, 1))
    omega = rng.uniform(0.15, 0.6, (n, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, (n, 1))
    t = np.arange(T + 1)[None, :]
    s = amp * np.sin(omega * t + phase)                      # (n, T + 1)
    X = s[:, :-1] + noise * rng.standard_normal((n, T))
    Y = s[:, 1:]
    return X[:, :, None], Y[:, :, None].copy()


# ---------------------------------------------------------------------------------------------------------
# many-to-one: long-range memory

def make_memory_task(n: int = 2000, *, T: int = 70, n_symbols: int = 8, rng):
    """Recall the first symbol after T steps (many-to-one): the long-range memory task.

    Every step carries one symbol of the same alphabet of ``n_symbols``, one-hot in channels
    ``0..n_symbols-1``; channel ``n_symbols`` is a start marker, 1 at t = 0 only. The label is the symbol at
    t = 0. The other T - 1 symbols are uniformly random distractors from the *same* alphabet, so they look
    exactly like the symbol to remember and carry no information about the label (chance = 1 / n_symbols).

    Returns X (n, T, n_symbols + 1) float64 (0/1), y (n,) int64 in [0, n_symbols) (balanced).

    Why this task and this T. The model must write the symbol at t = 0 and keep it through T - 1 inputs
    that look just like it. An LSTM can learn to open its input gate on the marker and shut it afterwards,
    with its forget gate near 1; the cell then holds the symbol untouched and the gradient reaches t = 0
    along the cell state. A tanh RNN adds every input into the same state: it has to build latching units
    from saturated tanh, and the gradient that would teach it to has to cross T tanh Jacobians. Binary
    recall is too easy for it (one saturated unit latches one bit), so 8 symbols (3 bits) are used.
    Measured with pyfadml (32 hidden units, LSTM forget-gate bias 3 -- sigmoid(3) = 0.95, a standard
    initialisation -- Adam lr 3e-3 and gradient-norm clipping 1 for both, batch 32, 2000 training and
    1000 test sequences, seeds 0-2):

    * T = 70 (the default): the LSTM is past 95 % test accuracy after 300-400 steps and at 100 % after
      600 on all three seeds; the RNN stays at chance (11-14 %) for all 1500 steps it was given.
    * T = 40: a race rather than a failure. LSTM >= 95 % after 200-300 steps; the RNN is at 50-70 % after
      200 steps and needs 500-800 steps to pass 95 %.
    * With shorter sequences the RNN keeps up; with T = 60 it learned within 800-1600 steps on some seeds.
      An RNN with 64 hidden units (about the LSTM's parameter count) gets to 90-100 % at T = 70 within
      1500 steps. The gap is how fast the gradient can teach a long dependency, and it widens with T.
    """
    n = check_int(n, "make_memory_task: n", minimum=1)
    T = check_int(T, "make_memory_task: T", minimum=2)
    k = check_int(n_symbols, "make_memory_task: n_symbols", minimum=2)
    rng = as_rng(rng, "make_memory_task: rng")
    y = _balanced_labels(n, k, rng)
    symbols = rng.integers(0, k, (n, T))
    symbols[:, 0] = y
    X = np.zeros((n, T, k + 1))
    X[:, :, :k] = _one_hot(symbols, k)
    X[:, 0, k] = 1.0
    return X, y


def memory_task_chance(*, n_symbols: int = 8, T: int | None = None) -> float:
    """Accuracy of guessing on :func:`make_memory_task`: ``1 / n_symbols``.

    The distractors carry no information about the label, so no model that has forgotten the first
    symbol beats this, whatever ``T`` is (``T`` is accepted, and checked, so the task's own keyword
    arguments can be passed straight through).
    """
    k = check_int(n_symbols, "memory_task_chance: n_symbols", minimum=2)
    if T is not None:
        check_int(T, "memory_task_chance: T", minimum=2)
    return 1.0 / k


# ---------------------------------------------------------------------------------------------------------
# many-to-one: toy sentiment analysis

SENTIMENT_VOCAB = (
    # neutral filler
    "the", "movie", "film", "plot", "actor", "was", "is", "and", "it", "a", "story",
    # negation: flips the opinion word that follows it
    "not", "never",
    # positive
    "good", "great", "fun", "love", "brilliant",
    # negative
    "bad", "awful", "boring", "hate", "dull",
)
"""Token id -> word for :func:`make_sentiment` (11 neutral, 2 negation, 5 positive, 5 negative words)."""

_NEUTRAL = [SENTIMENT_VOCAB.index(w) for w in ("the", "movie", "film", "plot", "actor", "was", "is", "and",
                                                 "it", "a", "story")]
_NEGATION = [SENTIMENT_VOCAB.index(w) for w in ("not", "never")]
_POSITIVE = [SENTIMENT_VOCAB.index(w) for w in ("good", "great", "fun", "love", "brilliant")]
_NEGATIVE = [SENTIMENT_VOCAB.index(w) for w in ("bad", "awful", "boring", "hate", "dull")]


_SUBJECTS = (("the", "movie"), ("the", "film"), ("the", "plot"), ("the", "actor"), ("the", "story"), ("it",))
_ADJ_POSITIVE = ("good", "great", "brilliant", "fun")
_ADJ_NEGATIVE = ("bad", "awful", "boring", "dull")
_NOUNS = ("movie", "film", "plot", "story")


def _clause(base: int, negated: bool, adjective: str, rng) -> list[str]:
    """One clause of ``base`` words (+1 when ``negated``): "the movie was not good" (base 3-4, form A) or
    "it is a dull film" / "the plot was not a good story" (base 5-6, form B)."""
    form_b = base >= 5
    if base == 6:                      # "the movie is a good film": a subject that is a film
        subject = ["the", ("movie", "film")[rng.integers(0, 2)]]
    else:
        subject = list(_SUBJECTS[rng.integers(0, 5)] if base == 4 else ("it",))
    words = subject + [("was", "is")[rng.integers(0, 2)]]
    if negated:
        words.append(("not", "never")[rng.integers(0, 2)])
    if form_b:
        nouns = ("film", "story") if base == 6 else _NOUNS                   # "the movie is a good film"
        words += ["a", adjective, nouns[rng.integers(0, len(nouns))]]         # adjectives here take "a", not "an"
    else:
        words.append(adjective)
    return words


def make_sentiment(n: int = 512, *, T: int = 10, negation_prob: float = 0.4, rng):
    """Toy sentiment analysis (many-to-one): short reviews that read as sentences -> 1 positive / 0 negative.

    A review is one or two clauses joined by "and", exactly ``T`` words: "the plot was not boring and it
    is a great film", "it was never dull and the actor is brilliant". Each clause says one opinion
    (an adjective), negated by "not" / "never" with probability ``negation_prob``, which flips it: "not bad"
    is positive, and so is "not a bad film" (the negation is one or two words before the adjective). All opinions of a review agree, and the label is that opinion. Because of negation, counting
    words is not enough: the model must carry "I just read 'not'" to the next word, and the opinion to the
    end. ``T`` from 4 to 15 (one clause up to 7 words, two from 7).

    Returns X (n, T, V) float64 one-hot over ``SENTIMENT_VOCAB`` (V = 23), y (n,) int64 (balanced).
    Use :func:`decode_tokens` to print a review.
    """
    n = check_int(n, "make_sentiment: n", minimum=1)
    T = check_int(T, "make_sentiment: T", minimum=4)
    if T > 15:
        raise ValueError(f"make_sentiment: T must be between 4 and 15 words, got {T}")
    p_neg = check_float(negation_prob, "make_sentiment: negation_prob", minimum=0.0)
    if p_neg > 1.0:
        raise ValueError(f"make_sentiment: negation_prob must be in [0, 1], got {p_neg}")
    rng = as_rng(rng, "make_sentiment: rng")
    y = _balanced_labels(n, 2, rng)
    index = {w: i for i, w in enumerate(SENTIMENT_VOCAB)}
    tokens = np.zeros((n, T), dtype=np.intp)
    for i in range(n):
        while True:                      # draw negations, then clause lengths that add up to T
            two = T >= 9 or (T >= 7 and rng.random() < 0.5)
            negs = [bool(rng.random() < p_neg) for _ in range(2 if two else 1)]
            rest = T - (1 if two else 0) - sum(negs)
            if two:
                pairs = [(a, rest - a) for a in (3, 4, 5, 6) if 3 <= rest - a <= 6]
                if pairs:
                    bases = pairs[rng.integers(0, len(pairs))]
                    break
            elif 3 <= rest <= 6:
                bases = (rest,)
                break
        words = []
        for k, (base, neg) in enumerate(zip(bases, negs)):
            says_positive = bool(y[i]) != neg
            adjs = _ADJ_POSITIVE if says_positive else _ADJ_NEGATIVE
            if base >= 5:
                adjs = tuple(a for a in adjs if a != "awful")              # "a awful film" is not English
            if k:
                words.append("and")
            words += _clause(base, neg, adjs[rng.integers(0, len(adjs))], rng)
        tokens[i] = [index[w] for w in words]
    return _one_hot(tokens, len(SENTIMENT_VOCAB)), y


def decode_tokens(x) -> list[str]:
    """One sequence of one-hot rows ``(T, V)`` (or token ids ``(T,)``) -> its sentence as a list of words."""
    x = np.asarray(x)
    if x.ndim == 2:
        if x.shape[1] != len(SENTIMENT_VOCAB):
            raise ValueError(f"decode_tokens: x must have shape (T, {len(SENTIMENT_VOCAB)}) or (T,), "
                             f"got {x.shape}")
        ids = x.argmax(axis=1)
    elif x.ndim == 1:
        ids = x.astype(int)
    else:
        raise ValueError(f"decode_tokens: x must have shape (T, {len(SENTIMENT_VOCAB)}) or (T,), got {x.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= len(SENTIMENT_VOCAB)):
        raise ValueError(f"decode_tokens: token ids must be in [0, {len(SENTIMENT_VOCAB)}), "
                         f"got {ids.min()}..{ids.max()}")
    return [SENTIMENT_VOCAB[i] for i in ids]


# ---------------------------------------------------------------------------------------------------------
# one-to-many: one input, a whole output sequence

def one_to_many_waveforms(n_classes: int = 3, T: int = 24) -> np.ndarray:
    """The target waveform of every class of :func:`make_one_to_many`: (n_classes, T) float64.

    Class k is ``0.8 sin(2 pi (k + 1) t / T)``: k + 1 full periods over the sequence.
    """
    k = check_int(n_classes, "one_to_many_waveforms: n_classes", minimum=1)
    T = check_int(T, "one_to_many_waveforms: T", minimum=2)
    t = np.arange(T)[None, :]
    return 0.8 * np.sin(2.0 * np.pi * (np.arange(k)[:, None] + 1) * t / T)


def make_one_to_many(n: int = 300, *, T: int = 24, n_classes: int = 3, noise: float = 0.0, rng):
    """One-to-many (the lecture's image-captioning shape): a class at t = 0, a whole sequence out.

    Input: the class one-hot at step 0, zeros at steps 1..T-1 (the network has to generate the rest from
    its own memory). Target: the class's waveform (:func:`one_to_many_waveforms`) at every step, plus
    optional Gaussian ``noise``.

    Returns X (n, T, n_classes) float64, Y (n, T, 1) float64. Labels: ``X[:, 0].argmax(1)``.
    """
    n = check_int(n, "make_one_to_many: n", minimum=1)
    T = check_int(T, "make_one_to_many: T", minimum=2)
    k = check_int(n_classes, "make_one_to_many: n_classes", minimum=2)
    noise = check_float(noise, "make_one_to_many: noise", minimum=0.0)
    rng = as_rng(rng, "make_one_to_many: rng")
    labels = _balanced_labels(n, k, rng)
    X = np.zeros((n, T, k))
    X[np.arange(n), 0, labels] = 1.0
    Y = one_to_many_waveforms(k, T)[labels] + noise * rng.standard_normal((n, T))
    return X, Y[:, :, None]


# ---------------------------------------------------------------------------------------------------------
# many-to-many: a label at every step

def make_many_to_many(n: int = 512, *, T: int = 12, task: str = "parity", delay: int = 2,
                      n_symbols: int = 4, rng):
    """Many-to-many sequence labelling: one class label per time step.

    * ``task="parity"``: input bits ``x_t`` in {0, 1} (D = 1); target ``y_t = (x_0 + ... + x_t) mod 2``,
      the running parity: the state must flip on every 1.
    * ``task="delay"``: input symbols one-hot over ``n_symbols`` (D = n_symbols); target
      ``y_t = symbol at t - delay``, and the extra class ``n_symbols`` ("nothing yet") for t < delay:
      a delayed copy, the simplest "translation".

    Returns X (n, T, D) float64, Y (n, T) int64 (use with a ``return_sequences=True`` layer and
    ``softmax_cross_entropy`` on (N, T, K) logits). Classes: 2 for parity, n_symbols + 1 for delay.
    """
    n = check_int(n, "make_many_to_many: n", minimum=1)
    T = check_int(T, "make_many_to_many: T", minimum=2)
    check_choice(task, "make_many_to_many: task", ("parity", "delay"))
    rng = as_rng(rng, "make_many_to_many: rng")
    if task == "parity":
        bits = rng.integers(0, 2, (n, T))
        return bits[:, :, None].astype(np.float64), np.cumsum(bits, axis=1) % 2
    delay = check_int(delay, "make_many_to_many: delay", minimum=1)
    k = check_int(n_symbols, "make_many_to_many: n_symbols", minimum=2)
    if delay >= T:
        raise ValueError(f"make_many_to_many: delay must be < T ({T}), got {delay}")
    symbols = rng.integers(0, k, (n, T))
    Y = np.full((n, T), k, dtype=np.int64)
    Y[:, delay:] = symbols[:, :-delay]
    return _one_hot(symbols, k), Y


# ---------------------------------------------------------------------------------------------------------
# many-to-many: toy translation, where the word order changes

EN_VOCAB = (".", "the", "big", "small", "red", "black", "dog", "cat", "ball", "sees", "likes")
"""Input words of :func:`make_translation` ("." pads the end of a sentence)."""
FR_VOCAB = (".", "le", "grand", "petit", "rouge", "noir", "chien", "chat", "ballon", "voit", "aime")
"""Output words of :func:`make_translation` ("." where there is no word to say yet, or any more)."""
_EN_TO_FR = dict(zip(EN_VOCAB, FR_VOCAB))
_COLOURS = ("red", "black")                 # French puts these after the noun; "grand", "petit" stay before
_SIZES = ("big", "small")
_ANIMALS_OR_THINGS = ("dog", "cat", "ball")
_VERBS = ("sees", "likes")
TRANSLATION_WORDS = 7                       # the longest sentence: the ADJ NOUN VERB the ADJ NOUN


def translate(words) -> list[str]:
    """English -> the toy French, word by word, except that a colour moves after its noun:
    "the big dog sees the red ball" -> "le grand chien voit le ballon rouge"."""
    out = [_EN_TO_FR[w] for w in words]
    for i in range(len(words) - 1):
        if words[i] in _COLOURS and words[i + 1] in _ANIMALS_OR_THINGS:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def make_translation(n: int = 512, *, delay: int = 2, rng):
    """Toy translation (many-to-many): English sentences -> the toy French, one word per step, ``delay``
    steps behind the input.

    Sentences are "the [ADJ] NOUN VERB the [ADJ] NOUN" (5 to 7 words, each adjective there with probability
    0.6), padded with "." to 7 words and then ``delay`` more steps, so ``T = 7 + delay``. The French keeps
    the words' order except that a colour goes *after* its noun ("the red ball" -> "le ballon rouge"; "the
    big dog" -> "le grand chien"): to say "ballon" the network must already have read "ball", one word after
    "red", and must remember "red" to say it next. The output at step t is the French word ``t - delay``
    (index into :data:`FR_VOCAB`, "." before the sentence starts and after it ends).

    Returns X (n, T, 11) float64 one-hot over :data:`EN_VOCAB`, Y (n, T) int64 over :data:`FR_VOCAB`.
    """
    n = check_int(n, "make_translation: n", minimum=1)
    delay = check_int(delay, "make_translation: delay", minimum=1)
    if delay > 5:
        raise ValueError(f"make_translation: delay must be between 1 and 5 steps, got {delay}")
    rng = as_rng(rng, "make_translation: rng")
    T = TRANSLATION_WORDS + delay
    en_index = {w: i for i, w in enumerate(EN_VOCAB)}
    fr_index = {w: i for i, w in enumerate(FR_VOCAB)}
    X = np.zeros((n, T), dtype=np.intp)
    Y = np.zeros((n, T), dtype=np.int64)

    def phrase():
        words = ["the"]
        if rng.random() < 0.6:
            adjs = _COLOURS + _SIZES
            words.append(adjs[rng.integers(0, len(adjs))])
        words.append(_ANIMALS_OR_THINGS[rng.integers(0, len(_ANIMALS_OR_THINGS))])
        return words

    for i in range(n):
        en = phrase() + [_VERBS[rng.integers(0, len(_VERBS))]] + phrase()
        fr = translate(en)
        X[i, :len(en)] = [en_index[w] for w in en]
        Y[i, delay:delay + len(fr)] = [fr_index[w] for w in fr]
    return _one_hot(X, len(EN_VOCAB)), Y


# ---------------------------------------------------------------------------------------------------------
# one-to-many: toy image captioning

CAPTION_VOCAB = (".", "a", "small", "big", "filled", "hollow", "square", "circle", "triangle")
"""Output words of :func:`make_captions`; "." ends a caption."""
CAPTION_IMAGE_SIZE = 10
CAPTION_T = 5                               # "a SIZE STYLE SHAPE ."
_CAPTION_SHAPES = ("square", "circle", "triangle")
_CAPTION_RADIUS = {"small": 2.0, "big": 3.6}


def caption_image(shape: str, size: str, style: str, *, shift=(0.0, 0.0), pixels: int = CAPTION_IMAGE_SIZE):
    """A ``pixels`` x ``pixels`` image in [0, 1] (1 = ink) of a square, circle or triangle (apex up), small
    or big, filled or hollow (an outline 1.2 pixels thick), centred plus ``shift`` pixels (dy, dx)."""
    if shape not in _CAPTION_SHAPES or size not in _CAPTION_RADIUS or style not in ("filled", "hollow"):
        raise ValueError(f"caption_image: unknown shape/size/style {shape!r}, {size!r}, {style!r}")
    c = (pixels - 1) / 2.0
    yy, xx = np.mgrid[0:pixels, 0:pixels].astype(np.float64)
    dy, dx = yy - c - shift[0], xx - c - shift[1]

    def inside(r):
        if shape == "square":
            return np.maximum(np.abs(dx), np.abs(dy)) <= r
        if shape == "circle":
            return np.hypot(dx, dy) <= r
        return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2.0 + 0.3)

    r = _CAPTION_RADIUS[size]
    ink = inside(r) if style == "filled" else inside(r) & ~inside(r - 1.2)
    return ink.astype(np.float64)


def make_captions(n: int = 512, *, noise: float = 0.05, rng):
    """Toy image captioning (one-to-many): one small image in, a caption out, one word per step.

    The image (:func:`caption_image`: a square, circle or triangle, small or big, filled or hollow, shifted by
    up to a pixel, plus Gaussian noise ``noise``) is the input at t = 0, flattened to 100 numbers; the
    inputs after it are zero, so the network must hold the image in its hidden state and decode the caption
    word by word: "a big hollow circle ." (T = 5). 12 captions, balanced.

    Returns X (n, 5, 100) float64, Y (n, 5) int64 over :data:`CAPTION_VOCAB`.
    """
    n = check_int(n, "make_captions: n", minimum=1)
    noise = check_float(noise, "make_captions: noise", minimum=0.0)
    rng = as_rng(rng, "make_captions: rng")
    combos = [(sh, si, st) for sh in _CAPTION_SHAPES for si in ("small", "big") for st in ("filled", "hollow")]
    which = _balanced_labels(n, len(combos), rng)
    P = CAPTION_IMAGE_SIZE
    X = np.zeros((n, CAPTION_T, P * P))
    Y = np.zeros((n, CAPTION_T), dtype=np.int64)
    index = {w: i for i, w in enumerate(CAPTION_VOCAB)}
    for i, k in enumerate(which):
        shape, size, style = combos[k]
        img = caption_image(shape, size, style, shift=rng.uniform(-1.0, 1.0, 2))
        X[i, 0] = np.clip(img + rng.normal(0.0, noise, img.shape), 0.0, 1.0).ravel()
        Y[i] = [index[w] for w in ("a", size, style, shape, ".")]
    return X, Y
