"""Your own 2-D points, as the toy sets give them: a CSV of ``x, y, label`` rows, checked row by row.

:func:`parse_points` reads the bytes of a file and returns the points, or raises ``ValueError`` with a message
that names the first bad row (its line in the file, counting a header) and what to do. Rules: two numeric
columns and a label column (a header row is optional), 2 to 8 classes, at most 5,000 rows, no NaN or
infinity. Labels may be numbers or words; they become classes 0..K-1 in sorted order. The coordinates are
centred and scaled to unit variance (one factor for both axes, so shapes keep their proportions), the range
the toy sets and the networks' initialisation are made for. ``MLPDemo(points=(p["X"], p["y"]))`` trains on
them; the Backprop section of the page reads an uploaded file with this function.

>>> p = parse_points(b"x,y,label\\n" + b"0,0,a\\n1,1,b\\n" * 4)
>>> p["X"].shape, p["labels"]
((8, 2), ['a', 'b'])
"""
from __future__ import annotations

import csv
import io
import math

import numpy as np

MAX_ROWS = 5000
MIN_ROWS = 8
MIN_CLASSES, MAX_CLASSES = 2, 8
MAX_BYTES = 2 * 2 ** 20


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v


def parse_points(data: bytes, name: str = "the file") -> dict:
    """``{"X": (N, 2) float64 standardised, "y": (N,) int64, "labels": [names], "center", "scale"}`` from CSV
    bytes, or ValueError naming the first bad row."""
    if not data:
        raise ValueError(f"{name} is empty: it needs rows of x, y, label.")
    if len(data) > MAX_BYTES:
        raise ValueError(f"{name} is {len(data) / 2 ** 20:.1f} MB; a CSV of {MAX_ROWS:,} points is far smaller.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not a text file (CSV): it needs rows of x, y, label.") from None
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ("\t" if sample.count("\t") > sample.count(",")
                                                                   else ",")
    xs, ys, labels = [], [], []
    for line, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) != 3:
            raise ValueError(f"{name}, row {line}: {len(cells)} column{'s' if len(cells) != 1 else ''}; "
                             f"every row needs 3: x, y, label.")
        x, y = _number(cells[0]), _number(cells[1])
        if not xs and not labels and (x is None or y is None):
            if line == 1:
                continue                               # a header
        for value, text_value, axis in ((x, cells[0], "x"), (y, cells[1], "y")):
            if value is None:
                raise ValueError(f"{name}, row {line}: {axis} = {text_value[:20]!r} is not a number.")
            if not math.isfinite(value):
                raise ValueError(f"{name}, row {line}: {axis} = {text_value[:20]} (no NaN or infinity).")
        if not cells[2]:
            raise ValueError(f"{name}, row {line}: the label is empty.")
        if len(xs) == MAX_ROWS:
            raise ValueError(f"{name}, row {line}: more than {MAX_ROWS:,} points; keep at most {MAX_ROWS:,}.")
        xs.append(x)
        ys.append(y)
        labels.append(cells[2])
    if len(xs) < MIN_ROWS:
        raise ValueError(f"{name} has {len(xs)} point{'s' if len(xs) != 1 else ''}; at least {MIN_ROWS} are needed.")
    names = sorted(set(labels), key=lambda t: (_number(t) is None, _number(t) or 0.0, t))
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise ValueError(f"{name} has {len(names)} different label{'s' if len(names) != 1 else ''}; a classifier "
                         f"here takes {MIN_CLASSES} to {MAX_CLASSES} classes.")
    index = {t: i for i, t in enumerate(names)}
    X = np.column_stack([xs, ys]).astype(np.float64)
    center = X.mean(axis=0)
    scale = float(np.sqrt(((X - center) ** 2).sum(axis=1).mean() / 2.0)) or 1.0
    return {"X": (X - center) / scale, "y": np.array([index[t] for t in labels], dtype=np.int64),
            "labels": names, "center": center, "scale": scale}
