"""Returns from prices: simple and log returns, with validation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError
from latentquant.validation import check_frame, format_date

__all__ = ["log_returns", "log_returns_from_simple", "simple_returns"]


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

    Parameters
    ----------
    prices : DataFrame or Series
        Prices (dates × assets), strictly positive.
    allow_nan : bool
        Accept missing prices (returns touching a missing price are NaN).

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


def log_returns_from_simple(returns: pd.DataFrame, *, name: str = "returns",
                            fix: str = "check the data or the units") -> pd.DataFrame:
    """Log returns :math:`\\log(1 + r_t)` from simple returns, refusing :math:`r_t \\le -1` (a price cannot fall by
    100% or more).

    Parameters
    ----------
    returns : pandas.DataFrame
        Simple returns (dates × assets), already validated as a numeric table (NaN allowed and kept).
    name : str
        What the data are called in the error message.
    fix : str
        What the error message suggests.

    Returns
    -------
    pandas.DataFrame
        Same index and columns.

    Raises
    ------
    DataValidationError
        Naming the first column and date with a simple return <= -1.

    Examples
    --------
    >>> r = pd.DataFrame({"A": [0.1, -0.5]}, index=pd.date_range("2020-01-01", periods=2))
    >>> log_returns_from_simple(r)["A"].round(4).tolist()
    [0.0953, -0.6931]
    >>> log_returns_from_simple(r - 0.6)
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: returns column 'A' has a simple return <= -1 on 2020-01-02 \
(-1.1); a price cannot fall by 100% or more — check the data or the units.
    """
    values = returns.to_numpy()
    low = values <= -1.0
    if low.any():
        i, j = (int(a[0]) for a in np.nonzero(low))
        raise DataValidationError(
            f"{name} column {returns.columns[j]!r} has a simple return <= -1 on {format_date(returns.index[i])} "
            f"({float(values[i, j])!r}); a price cannot fall by 100% or more — {fix}."
        )
    return pd.DataFrame(np.log1p(values), index=returns.index, columns=returns.columns)
