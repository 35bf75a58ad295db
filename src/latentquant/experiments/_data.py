"""Loading the returns a study runs on: a bundled dataset or a user file, as complete rows of log returns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from latentquant.data import log_returns
from latentquant.data.returns import log_returns_from_simple
from latentquant.datasets import dataset_info, load_prices_csv, load_returns
from latentquant.datasets._user import missing_by_column
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

__all__ = ["STUDY_INPUTS", "STUDY_MISSING", "load_study_returns"]

STUDY_INPUTS = ("prices", "log_returns", "returns")
#: What a study does with missing values of its data: raise (the default for a user file) or drop the dates.
STUDY_MISSING = ("error", "drop")


def load_study_returns(data: str | None, path: str | None, input: str = "prices", *, missing: str | None = None,
                       min_history: int | None = None, value_column: str | None = None,
                       max_gap_days: float | None = 7.0) -> tuple[pd.DataFrame, str]:
    """Daily log returns on the dates where every column has a value, and a description of the source.

    ``data`` names a bundled dataset (prices); ``path`` a user CSV/Parquet file holding ``input`` (prices, log returns
    or simple returns, converted with ``log1p``), wide or long layout (see
    :func:`~latentquant.datasets.load_prices_csv`). Missing values follow ``missing``: ``"drop"`` keeps only the
    dates on which every column has a value and reports the dropped rows, with each column's own count, in a
    :class:`~latentquant.exceptions.DataWarning`; ``"error"`` raises instead, naming each column's count. By default a
    bundled dataset drops (its coverage is documented) and a user file raises. ``min_history`` first drops the assets
    with fewer values than that (assets that start late), with their counts in a warning, so that the common span of
    the others is kept. Returns that span a hole in the calendar (e.g. a fortnight missing from daily data) are
    dropped with a warning too: they are not one-period returns. The hole rule follows the data's frequency, inferred
    from the median spacing of the source's dates: a return is dropped if it spans more than
    ``max(max_gap_days, 1.6 × median spacing)`` days, so daily data keep the ``max_gap_days`` rule and monthly data
    (YYYYMM dates or month ends; median ≈ 31 days) drop only returns across a missing month (≥ 59 days).

    Messages name the config keys ``missing``, ``min_history`` and ``value_column`` (the same names as these
    arguments).

    Parameters
    ----------
    data : str or None
        A bundled dataset name (exactly one of ``data`` and ``path``).
    path : str or None
        A user CSV/Parquet file.
    input : {"prices", "log_returns", "returns"}, default "prices"
        What the file holds.
    missing : {"error", "drop"} or None
        What to do with missing values (``None``: ``"drop"`` for a bundled dataset, ``"error"`` for a file).
    min_history : int or None
        Drop the assets with fewer than this many values (prices or returns as stored) before anything else.
    value_column : str or None
        The value column of a long-layout file with several numeric columns.
    max_gap_days : float or None, default 7
        Drop returns spanning a longer calendar hole (``None``: keep them).

    Returns
    -------
    returns : pandas.DataFrame
        Log returns, dates × assets, no missing value.
    source : str
        ``"bundled dataset 'name': title"`` or ``"user <input> file <path>"``.

    Raises
    ------
    ConfigError
        Not exactly one source, an unknown ``input`` or ``missing``, a bad ``min_history``.
    DataValidationError
        Invalid file, missing values with ``missing: error``, no asset or no date left.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> import pandas as pd
    >>> path = os.path.join(tempfile.mkdtemp(), "prices.csv")
    >>> prices = pd.DataFrame({"A": [10.0, 11.0, 12.0, 13.0], "B": [None, 20.0, 21.0, 22.0]},
    ...                       index=pd.bdate_range("2024-01-01", periods=4).rename("date"))
    >>> prices.to_csv(path)
    >>> load_study_returns(None, path)
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: user prices file ... has missing values: column 'B' 1 of 4 \
(first 2024-01-01); set missing: drop (--missing drop) to keep only the dates on which every column has a value, \
or min_history: N (--min-history N) to drop the assets with fewer than N values; or fill them in the file.
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     returns, source = load_study_returns(None, path, missing="drop")
    >>> returns.shape, str(caught[0].message).split(" of user")[0]
    ((2, 2), 'Dropped 1 of 3 return rows')
    """
    if (data is None) == (path is None):
        raise ConfigError("Give exactly one data source: a bundled dataset name (data) or a file path (path).")
    if input not in STUDY_INPUTS:
        raise ConfigError(f"input must be one of {list(STUDY_INPUTS)}, got {input!r}.")
    if missing is not None and missing not in STUDY_MISSING:
        raise ConfigError(f"missing must be 'error' (stop at a missing value) or 'drop' (keep the dates on which every "
                          f"column has a value), got {missing!r}.")
    if min_history is not None and (isinstance(min_history, bool) or not isinstance(min_history, int)
                                    or min_history < 2):
        raise ConfigError(f"min_history must be an integer >= 2 (values an asset needs to be kept) or null, got "
                          f"{min_history!r}.")
    if data is not None:
        if input != "prices":
            raise ConfigError("Bundled datasets hold prices; input must be 'prices' with data=… "
                              "(use a file path for your own returns).")
        if value_column is not None:
            raise ConfigError("value_column applies to a long-layout user file (path), not to a bundled dataset.")
        info = dataset_info(data)
        table = info.load()
        source = f"bundled dataset {data!r}: {info.title}"
    else:
        assert path is not None
        source = f"user {input.replace('_', ' ')} file {path}"
        if input == "prices":
            table = load_prices_csv(path, allow_nan=True, value_column=value_column)
        else:
            table = load_returns(path, allow_nan=True, value_column=value_column)
    table = _keep_history(table, source, min_history)
    policy = missing if missing is not None else ("drop" if data is not None else "error")
    if policy == "error":
        _raise_missing(table, source)
    if input == "prices":
        rets = log_returns(table, allow_nan=True)
        previous = table.index[:-1]  # the date of the price each return starts from
    else:
        rets = table
        previous = rets.index[:-1].insert(0, rets.index[0]) if len(rets) else rets.index
        if input == "returns":
            rets = log_returns_from_simple(rets, name=source, fix="check the data or pass "
                                           "input='log_returns' if these are log returns")
    complete = rets.dropna(axis=0, how="any")
    if complete.empty:
        counts = rets.notna().sum().sort_values()
        sparse = ", ".join(f"{c!r} {int(n)} of {len(rets)}" for c, n in counts.iloc[:3].items())
        raise DataValidationError(
            f"{source} has no date on which every column has a value (sparsest columns, values present: {sparse}); "
            "set min_history: N (--min-history N) to drop the assets with fewer than N values, or select the columns "
            "you need and pass them as a file."
        )
    if len(complete) < len(rets):
        per_column = rets.isna().sum()
        per_column = per_column[per_column > 0]
        detail = ", ".join(f"{c!r} {int(n)}" for c, n in per_column.iloc[:8].items())
        warnings.warn(f"Dropped {len(rets) - len(complete)} of {len(rets)} return rows of {source} with a missing "
                      f"value in some column (missing returns per column: {detail}"
                      f"{' ...' if len(per_column) > 8 else ''}).", DataWarning, stacklevel=2)
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


def _keep_history(table: pd.DataFrame, source: str, min_history: int | None) -> pd.DataFrame:
    """``table`` without the columns holding fewer than ``min_history`` values (counts in a warning)."""
    if min_history is None:
        return table
    counts = table.notna().sum()
    short = counts[counts < min_history]
    if short.empty:
        return table
    if len(short) == table.shape[1]:
        raise DataValidationError(
            f"{source}: every column has fewer than min_history={min_history} values (most: {counts.idxmax()!r} "
            f"with {int(counts.max())}); lower min_history or pass a longer history."
        )
    detail = ", ".join(f"{c!r} {int(n)}" for c, n in short.iloc[:8].items())
    warnings.warn(f"Dropped {len(short)} of {table.shape[1]} columns of {source} with fewer than "
                  f"min_history={min_history} values (values per dropped column: {detail}"
                  f"{' ...' if len(short) > 8 else ''}).", DataWarning, stacklevel=3)
    return table.drop(columns=short.index)


def _raise_missing(table: pd.DataFrame, source: str) -> None:
    """A :class:`DataValidationError` naming each column's own count of missing values, if there are any."""
    counts = missing_by_column(table)
    if not counts:
        return
    parts = [f"column {c!r} {n} of {len(table)} (first {first})" for c, n, first in counts[:5]]
    more = f" and {len(counts) - 5} more column(s)" if len(counts) > 5 else ""
    raise DataValidationError(
        f"{source} has missing values: {', '.join(parts)}{more}; set missing: drop (--missing drop) to keep only the "
        "dates on which every column has a value, or min_history: N (--min-history N) to drop the assets with fewer "
        "than N values; or fill them in the file."
    )


def _gap_limit(dates: pd.Index, max_gap_days: float) -> float:
    """The longest span (days) of a one-period return: ``max_gap_days`` for daily data, 1.6 × the median spacing of
    ``dates`` for lower frequencies (weekly ≈ 11 days, monthly ≈ 50 days: one missing period is a hole)."""
    steps = pd.Series(dates).diff().dt.total_seconds().to_numpy()[1:] / 86400.0
    steps = steps[steps > 0]
    if not len(steps):
        return max_gap_days
    return max(max_gap_days, 1.6 * float(np.median(steps)))
