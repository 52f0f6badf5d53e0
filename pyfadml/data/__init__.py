"""Offline datasets for the demos and tests; everything is generated with NumPy or bundled.

* :mod:`pyfadml.data.toy2d`     2-D point clouds (XOR, circles, moons, spirals, Gaussian blobs), train/test split
* :mod:`pyfadml.data.images`    the lecture's 9x9 X and its kernel, a shapes set with the lecture's
                                variations, the UCI 8x8 digits
* :mod:`pyfadml.data.points`    your own 2-D points from a CSV of x, y, label rows
* :mod:`pyfadml.data.sequences` sequence tasks for RNN/LSTM: many-to-one, one-to-many, many-to-many,
                                next-value prediction and the long-range memory task

Every generator takes an explicit keyword ``rng`` (a ``np.random.Generator`` or an int seed) and
returns float64 inputs with integer (or float) targets; shapes are in each docstring.
"""
from pyfadml.data.toy2d import (
    make_xor, make_circles, make_moons, make_spiral, make_gaussians, TOY_DATASETS, make_toy, train_test_split,
)
from pyfadml.data.images import (
    X_KERNEL, lecture_x, lecture_x_variant, SHAPE_CLASSES, SHAPE_VARIATIONS, make_shapes, render_shape,
    load_digits,
)
from pyfadml.data.points import parse_points
from pyfadml.data.sequences import (
    make_sine, make_memory_task, memory_task_chance, SENTIMENT_VOCAB, make_sentiment, decode_tokens,
    make_one_to_many, one_to_many_waveforms, make_many_to_many,
)

__all__ = [
    "make_xor", "make_circles", "make_moons", "make_spiral", "make_gaussians", "TOY_DATASETS", "make_toy",
    "train_test_split",
    "X_KERNEL", "lecture_x", "lecture_x_variant", "SHAPE_CLASSES", "SHAPE_VARIATIONS", "make_shapes",
    "render_shape", "load_digits", "parse_points",
    "make_sine", "make_memory_task", "memory_task_chance", "SENTIMENT_VOCAB", "make_sentiment", "decode_tokens",
    "make_one_to_many", "one_to_many_waveforms", "make_many_to_many",
]
