"""Small, fast fitting cases for the estimator contract test (``test_estimator_contract.py``): one per estimator.

A case builds an unfitted estimator, says how to fit it, how to get a pandas output from it (used for the
not-fitted check, reproducibility and the save/load round trip) and one invalid hyperparameter value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Case:
    estimator: Any
    fit: Callable[[Any], Any]
    predict: Callable[[Any], Any]
    bad_param: tuple[str, Any]


def outputs_equal(a: Any, b: Any) -> bool:
    """Identical labels and values (NaN equal to NaN)."""
    if isinstance(a, tuple):
        return len(a) == len(b) and all(outputs_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, pd.Series | pd.DataFrame):
        try:
            pd.testing.assert_index_equal(a.index, b.index)
            if isinstance(a, pd.DataFrame):
                pd.testing.assert_index_equal(a.columns, b.columns)
        except AssertionError:
            return False
        return bool(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True))
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


def returns_frame(n: int = 300, k: int = 2, n_assets: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, k))
    r = f @ rng.normal(size=(k, n_assets)) * 0.01 + 0.002 * rng.normal(size=(n, n_assets))
    return pd.DataFrame(r, index=pd.bdate_range("2020-01-01", periods=n), columns=[f"A{i}" for i in range(n_assets)])


def standardizer() -> Case:
    from latentquant.data import Standardizer

    x = returns_frame()
    return Case(Standardizer(), lambda e: e.fit(x.iloc[:200]), lambda e: e.transform(x.iloc[200:]), ("ddof", -1))


def lambert_w_gaussianizer() -> Case:
    from latentquant.data import LambertWGaussianizer

    x = returns_frame()
    return Case(LambertWGaussianizer(), lambda e: e.fit(x.iloc[:200]), lambda e: e.transform(x.iloc[200:]),
                ("max_iter", 0))


CASES: dict[str, Callable[[], Case]] = {
    "Standardizer": standardizer,
    "LambertWGaussianizer": lambert_w_gaussianizer,
}

# each model family keeps its cases in its own module (one author each): tests/_cases_<family>.py defines
# CASES = {name: factory}; they are merged here
for _family in ("factor", "generative", "pricing", "selection"):
    try:
        _module = __import__(f"_cases_{_family}")
    except ModuleNotFoundError:
        continue
    CASES.update(_module.CASES)

# estimators still being moved onto latentquant.base.BaseModel; the contract test skips them (must end up empty)
PENDING: set[str] = set()
