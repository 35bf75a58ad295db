"""Returns from prices: simple and log returns, with validation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from latentquant.validation import check_frame

__all__ = ["log_returns", "simple_returns"]


def simple_returns(prices: pd.DataFrame | pd.Series, *, allow_nan: bool = False) -> pd.DataFrame:
    """Simple returns :math:`r_t = P_t / P_{t-1} - 1`; the first date is dropped.

    Parameters
    ----------
    prices : DataFrame or Series
        Prices (dates × assets), strictly positive.
    allow_nan : bool
        Accept missing prices (returns touching a missing price are NaN).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"A": [100.0, 110.0, 99.0]}, index=pd.date_range("2020-01-01", periods=3))
    >>> simple_returns(p)["A"].round(4).tolist()
    [0.1, -0.1]
    """
    p = check_frame(prices, name="prices", positive=True, allow_nan=allow_nan, min_rows=2)
    r = p / p.shift(1) - 1.0
    return r.iloc[1:]


def log_returns(prices: pd.DataFrame | pd.Series, *, allow_nan: bool = False) -> pd.DataFrame:
    """Log returns :math:`r_t = \\log P_t - \\log P_{t-1}`; the first date is dropped.

    Raises :class:`~latentquant.exceptions.DataValidationError` on non-positive prices, naming the column and date.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"A": [1.0, 2.0, 4.0]}, index=pd.date_range("2020-01-01", periods=3))
    >>> log_returns(p)["A"].round(6).tolist()
    [0.693147, 0.693147]
    """
    p = check_frame(prices, name="prices", positive=True, allow_nan=allow_nan, min_rows=2)
    lp = pd.DataFrame(np.log(p.to_numpy()), index=p.index, columns=p.columns)
    return (lp - lp.shift(1)).iloc[1:]
