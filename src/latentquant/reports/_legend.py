"""Private helpers shared by the figure modules: the legend cap and the grey ``others (n)`` legend entry.

:func:`_top` picks which columns get a colour and a legend entry, :func:`_with_others` appends the one grey entry
for the rest, :func:`_nan_abs_mean` is the NaN-aware mean absolute value several figures rank their columns by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

_LEGEND_MAX = 10
_OTHERS = "0.72"  # grey of the series without a legend entry


def _top(scores: Sequence[float] | np.ndarray, legend_max: int) -> np.ndarray:
    """Boolean mask of the ``legend_max`` largest scores (NaN ranks last; ties keep the earlier column)."""
    if not (isinstance(legend_max, (int, np.integer)) and legend_max >= 1):
        raise ValueError(f"legend_max must be a positive integer, got {legend_max!r}.")
    values = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    keep = np.zeros(len(values), dtype=bool)
    keep[np.argsort(-values, kind="stable")[:legend_max]] = True
    return keep


def _with_others(handles: list[Any], labels: list[str], n_others: int, *,
                 patch: bool = False) -> tuple[list[Any], list[str]]:
    """The legend's handles and labels with one grey ``others (n)`` entry appended when ``n_others > 0``."""
    if n_others > 0:
        handles = [*handles, Patch(facecolor=_OTHERS) if patch else Line2D([], [], color=_OTHERS, lw=0.8)]
        labels = [*labels, f"others ({n_others})"]
    return handles, labels


def _nan_abs_mean(frame: pd.DataFrame) -> np.ndarray:
    values = np.abs(frame.to_numpy(dtype=np.float64))
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    return np.where(counts > 0, np.where(finite, values, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)
