"""Input checks shared by the strategy and Sharpe-inference modules (private; public names for those modules)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from latentquant.evaluation.portfolio import _as_1d
from latentquant.exceptions import DataValidationError
from latentquant.validation import check_aligned

__all__ = ["paired_arrays"]


def paired_arrays(a: Any, b: Any, names: tuple[str, str], min_obs: int = 1
                  ) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    """Two finite 1-D float64 arrays of equal length (same index when both are Series) and the common index.

    Examples
    --------
    >>> x, y, index = paired_arrays([1, 2], [3.0, 4.0], ("a", "b"))
    >>> x.tolist(), y.tolist(), index is None
    ([1.0, 2.0], [3.0, 4.0], True)
    """
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        check_aligned(a, b, names=names)
    x, ix = _as_1d(a, name=names[0], min_obs=min_obs)
    y, iy = _as_1d(b, name=names[1], min_obs=min_obs)
    if x.size != y.size:
        raise DataValidationError(
            f"{names[0]} has {x.size} values but {names[1]} has {y.size}; pass one value per date for both, "
            f"e.g. as Series aligned with {names[0]}, {names[1]} = {names[0]}.align({names[1]}, join='inner')."
        )
    return x, y, ix if ix is not None else iy
