"""Training histories: one table shape for the Trainer and every demo.

A :class:`History` is a dict of columns, ``name -> list``, every column as long as ``history["step"]``: row
``i`` is ``{name: history[name][i]}``. Plots read the columns directly (``history["loss"]``).
"""
from __future__ import annotations

import bisect
import math
import warnings

import numpy as np


class History(dict):
    """Rows of numbers, one per step, stored as columns (``dict[str, list]``).

    ``History(("step", "loss"))`` starts with those (empty) columns; without names, the first row sets them.
    ``append(row)``: add a row; a column missing from the row gets NaN, and a new column is NaN for the
    earlier rows, so every column keeps the length of ``step``.
    ``put(row)``: the same, except that a row with the step of the last row replaces it (an evaluation
    repeated without training in between).
    ``truncate(step)``: drop the rows after ``step`` (what ``Trainer.recover`` does after a divergence).
    """

    def __init__(self, columns=()):
        super().__init__((name, []) for name in ("step", *[c for c in columns if c != "step"]))

    @property
    def n_rows(self) -> int:
        return len(self["step"])

    def append(self, row: dict) -> dict:
        """Add ``row`` (a dict with a ``"step"``) as the last row. Returns it."""
        if "step" not in row:
            raise ValueError(f"History.append: a row needs a 'step', got keys {sorted(row)}")
        n = self.n_rows
        for name in row:
            if name not in self:
                self[name] = [math.nan] * n
        for name, column in self.items():
            column.append(row.get(name, math.nan))
        return row

    def put(self, row: dict) -> dict:
        """Replace the last row by ``row`` if it has the same step, else append it. Returns it."""
        steps = self["step"]
        if steps and steps[-1] == row.get("step"):
            for name, column in self.items():
                column[-1] = row.get(name, math.nan)
            for name in row:
                if name not in self:
                    self[name] = [math.nan] * (len(steps) - 1) + [row[name]]
            return row
        return self.append(row)

    def truncate(self, step: int) -> None:
        """Keep only the rows whose step is <= ``step``."""
        steps = self["step"]
        keep = len(steps)
        while keep and steps[keep - 1] > step:
            keep -= 1
        for column in self.values():
            del column[keep:]

    def mean_after(self, step: float) -> dict | None:
        """The rows after ``step`` as one row: ``"step"`` the last one's, every other column its mean over
        those rows (NaN ignored; NaN if all are). None when no row comes after ``step``; rows in step order."""
        steps = self["step"]
        start = bisect.bisect_right(steps, step)
        if start >= len(steps):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)             # a column of NaN only: its mean is NaN
            return {name: steps[-1] if name == "step" else float(np.nanmean(np.asarray(column[start:], dtype=float)))
                    for name, column in self.items()}

    def last(self) -> dict | None:
        """The last row as a dict (``None`` if there is none)."""
        if not self["step"]:
            return None
        return {name: column[-1] for name, column in self.items()}


def to_csv(history: dict) -> str:
    """A history (``{column: list}``, e.g. a :class:`History`) as CSV text: a header row, then one row per
    step; integers as integers, floats with ``repr`` (they read back exactly), NaN as ``nan``."""
    columns = list(history)
    lines = [",".join(columns)]
    for row in zip(*(history[c] for c in columns)):
        lines.append(",".join(_cell(v) for v in row))
    return "\n".join(lines) + "\n"


def _cell(v) -> str:
    if isinstance(v, (bool, int, np.bool_, np.integer)):
        return str(int(v))
    try:
        f = float(v)
    except (TypeError, ValueError):
        text = str(v)
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text
    return "nan" if math.isnan(f) else repr(f)
