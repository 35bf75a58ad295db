"""Loading the returns a study runs on: a bundled dataset or a user file, as complete rows of log returns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from latentquant.data import log_returns
from latentquant.data.returns import log_returns_from_simple
from latentquant.datasets import dataset_info, load_prices_csv, load_returns
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

__all__ = ["STUDY_INPUTS", "load_study_returns"]

STUDY_INPUTS = ("prices", "log_returns", "returns")


def load_study_returns(data: str | None, path: str | None, input: str = "prices", *,
                       max_gap_days: float | None = 7.0) -> tuple[pd.DataFrame, str]:
    """Daily log returns on the dates where every column has a value, and a description of the source.

    ``data`` names a bundled dataset (prices); ``path`` a user CSV/Parquet file holding ``input`` (prices, log returns
    or simple returns, converted with ``log1p``). Rows with a missing value in some column are dropped with a
    ``DataWarning``; so are returns that span a hole in the calendar (e.g. a fortnight missing from daily data),
    which are not one-period returns. The hole rule follows the data's frequency, inferred from the median spacing
    of the source's dates: a return is dropped if it spans more than ``max(max_gap_days, 1.6 × median spacing)``
    days, so daily data keep the ``max_gap_days`` rule and monthly data (YYYYMM dates or month ends; median ≈ 31
    days) drop only returns across a missing month (≥ 59 days).
    """
    if (data is None) == (path is None):
        raise ConfigError("Give exactly one data source: a bundled dataset name (data) or a file path (path).")
    if input not in STUDY_INPUTS:
        raise ConfigError(f"input must be one of {list(STUDY_INPUTS)}, got {input!r}.")
    if data is not None:
        if input != "prices":
            raise ConfigError("Bundled datasets hold prices; input must be 'prices' with data=… "
                              "(use a file path for your own returns).")
        info = dataset_info(data)
        frame = info.load()
        source = f"bundled dataset {data!r}: {info.title}"
        rets = log_returns(frame, allow_nan=True)
        previous = frame.index[:-1]  # the date of the price each return starts from
    else:
        assert path is not None
        source = f"user {input.replace('_', ' ')} file {path}"
        if input == "prices":
            prices = load_prices_csv(path)
            rets = log_returns(prices, allow_nan=True)
            previous = prices.index[:-1]
        else:
            rets = load_returns(path)
            previous = rets.index[:-1].insert(0, rets.index[0]) if len(rets) else rets.index
            if input == "returns":
                rets = log_returns_from_simple(rets, name=source, fix="check the data or pass "
                                               "input='log_returns' if these are log returns")
    complete = rets.dropna(axis=0, how="any")
    if complete.empty:
        sparse = rets.notna().sum().sort_values().index[:3].tolist()
        raise DataValidationError(
            f"{source} has no date on which every column has a value (sparsest columns: {sparse}); "
            "select the columns you need and pass them as a file."
        )
    if len(complete) < len(rets):
        warnings.warn(f"Dropped {len(rets) - len(complete)} of {len(rets)} return rows of {source} with a missing "
                      "value in some column.", DataWarning, stacklevel=2)
    if max_gap_days is not None and isinstance(complete.index, pd.DatetimeIndex) and len(complete) > 1:
        # a return is a one-period return only if it starts from the source's previous observation
        prev = pd.Series(previous, index=rets.index).reindex(complete.index)
        gap = (complete.index.to_series() - prev).dt.total_seconds() / 86400.0
        limit = _gap_limit(rets.index, max_gap_days)
        long = gap > limit
        if long.any():
            first = complete.index[long.to_numpy()][0]
            warnings.warn(f"Dropped {int(long.sum())} return(s) of {source} spanning a calendar hole longer than "
                          f"{limit:g} days (first {first.date()}).", DataWarning, stacklevel=2)
            complete = complete.loc[~long.to_numpy()]
    return complete, source


def _gap_limit(dates: pd.Index, max_gap_days: float) -> float:
    """The longest span (days) of a one-period return: ``max_gap_days`` for daily data, 1.6 × the median spacing of
    ``dates`` for lower frequencies (weekly ≈ 11 days, monthly ≈ 50 days: one missing period is a hole)."""
    steps = pd.Series(dates).diff().dt.total_seconds().to_numpy()[1:] / 86400.0
    steps = steps[steps > 0]
    if not len(steps):
        return max_gap_days
    return max(max_gap_days, 1.6 * float(np.median(steps)))
