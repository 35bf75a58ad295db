"""The stored tasks of the synthetic-data study: one generator fitted with one training seed, its draws scored
against the test windows (:mod:`latentquant.executors`; a finished task is saved, so an interrupted study resumes).

Results are plain dicts of frames and arrays (what a task store saves), rebuilt into
:class:`~latentquant.evaluation.synthetic.SyntheticReport` objects by the study.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from latentquant.data import window_split
from latentquant.evaluation.synthetic import evaluate_synthetic
from latentquant.exceptions import DataValidationError
from latentquant.models.generative import create
from latentquant.models.generative._torch import TorchGenerator

__all__ = ["REFERENCE", "fit_and_score", "reference_draws", "split_windows"]

REFERENCE = "real: training span"


def split_windows(frame: pd.DataFrame, length: int, test_size: float) -> tuple[np.ndarray, np.ndarray, Any]:
    """Training and test windows (data units) of ``frame`` and the :class:`~latentquant.data.WindowSplit`."""
    split = window_split(frame, length, test_size=test_size, standardize=False)
    return np.asarray(split.train, dtype=np.float64), np.asarray(split.test, dtype=np.float64), split


def reference_draws(train_w: np.ndarray, n: int, n_draws: int, seed: int) -> np.ndarray:
    """``n_draws`` sets of ``n`` windows drawn (without replacement, kept in time order) from the training span."""
    if len(train_w) < n:
        raise DataValidationError(f"the training span has {len(train_w)} windows, fewer than the test span's {n}; "
                                  "lower test_size.")
    rng = np.random.default_rng(seed)
    return np.stack([train_w[np.sort(rng.choice(len(train_w), n, replace=False))] for _ in range(n_draws)])


def fit_and_score(*, data_path: str, length: int, test_size: float, name: str, params: dict[str, Any], seed: int,
                  n_draws: int, draw_seed: int, eval_kw: dict[str, Any], long_paths: int, long_length: int,
                  data: str) -> dict[str, Any]:
    """Fit generator ``name`` (or draw the training-span reference) with ``seed`` and score ``n_draws`` draws.

    ``data`` is the data's fingerprint (part of the task's identity in the store). Returns the per-draw scores, the
    window facts, one draw (for the overlay figures), the fit time and — for generators that sample any length —
    ``long_paths`` paths of ``long_length`` days of the return feature.
    """
    frame = pd.read_parquet(data_path)
    train_w, test_w, _ = split_windows(frame, length, test_size)
    t0 = time.perf_counter()
    long: np.ndarray | None = None
    if name == REFERENCE:
        draws = reference_draws(train_w, len(test_w), n_draws, draw_seed)
    else:
        model = create(name, seed=seed, **params).fit(train_w)
        draws = np.stack([model.sample(len(test_w), seed=draw_seed + d) for d in range(n_draws)])
        if not isinstance(model, TorchGenerator):  # networks sample the window length they were trained on
            f = int(eval_kw["return_feature"])
            longer = clone(model).set_params(length=long_length).fit(train_w)
            long = longer.sample(long_paths, seed=draw_seed + 7)[..., f:f + 1]
    fit_seconds = time.perf_counter() - t0
    rep = evaluate_synthetic(test_w, draws, name=name, **eval_kw)
    # the store keeps numpy dtypes: the facts' missing intervals (pandas <NA>) become NaN
    return {"per_draw": rep.per_draw, "real_facts": rep.real_facts.astype("float64"),
            "synthetic_facts": rep.synthetic_facts.astype("float64"),
            "first_draw": draws[0], "long": long, "fit_seconds": fit_seconds}
