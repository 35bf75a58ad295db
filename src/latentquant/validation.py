"""Validation of wide time-series tables (dates × assets).

These checks sit below every other layer (datasets, data, models) so that user files, bundled data and model inputs
are held to one contract:

* a non-empty :class:`pandas.DataFrame` with a :class:`~pandas.DatetimeIndex`,
* dates sorted ascending and unique,
* numeric columns only,
* no NaN or infinite values (unless explicitly allowed),
* optionally strictly positive values (prices for log returns) and a minimum number of rows.

Each failure raises :class:`~latentquant.exceptions.DataValidationError` whose message names the column and the first
offending date and says how to fix the input.

Hyperparameters are checked declaratively: an estimator lists, per parameter, the constraints a valid value meets
(:class:`Interval`, :class:`Options`, :class:`SequenceOf`, a type, ``"boolean"`` or ``None``) and
:func:`check_params` raises one :class:`~latentquant.exceptions.ConfigError` naming the parameter, the bad value and
what is allowed. Functions check their arguments with the same helper (:func:`check_arg`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from latentquant._constraints import Constraint as Constraint  # re-exported: estimators annotate with it
from latentquant._constraints import Interval, Options, SequenceOf, check_arg, check_params
from latentquant.exceptions import DataValidationError

__all__ = [
    "MAX_ABS_RETURN",
    "Interval",
    "Options",
    "SequenceOf",
    "check_aligned",
    "check_arg",
    "check_frame",
    "check_min_rows",
    "check_params",
    "format_date",
]

#: The largest plausible absolute return of one period (simple or log): 10 is a 1,000 % simple return or a log return
#: of 10 (a factor of e^10 ≈ 22,000). Larger values are units errors (percent instead of decimal fractions, prices
#: passed as returns) and would overflow standardisation downstream, so the return readers and :class:`Panel
#: <latentquant.data.Panel>` reject them by default.
MAX_ABS_RETURN: float = 10.0


def format_date(value: Any) -> str:
    """A date as error messages print it: ``2020-01-31`` for a tz-naive midnight, ISO 8601 otherwise.

    Parameters
    ----------
    value : object
        A timestamp (anything else is printed with ``str``).

    Examples
    --------
    >>> format_date(pd.Timestamp("2020-01-31")), format_date(pd.Timestamp("2020-01-31 09:30"))
    ('2020-01-31', '2020-01-31T09:30:00')
    """
    if isinstance(value, pd.Timestamp):
        if value.tz is None and value == value.normalize():
            return value.strftime("%Y-%m-%d")
        return value.isoformat()
    return str(value)


def check_frame(
    data: Any,
    *,
    name: str = "data",
    allow_nan: bool = False,
    positive: bool = False,
    min_rows: int = 1,
    require_datetime_index: bool = True,
    max_abs: float | None = None,
) -> pd.DataFrame:
    """Validate a wide table of prices or returns and return it as a float64 DataFrame.

    Parameters
    ----------
    data : pandas.DataFrame or pandas.Series
        Rows are dates, columns are assets. A Series is treated as a single column.
    name : str
        What the data are called in error messages (e.g. ``"prices"``).
    allow_nan : bool
        Accept NaN (infinite values are always rejected).
    positive : bool
        Require every non-missing value to be strictly positive (prices before taking logs).
    min_rows : int
        Minimum number of rows the caller needs.
    require_datetime_index : bool
        Require a :class:`~pandas.DatetimeIndex` (sorted, unique).
    max_abs : float, optional
        Reject values whose magnitude exceeds this bound (e.g. :data:`MAX_ABS_RETURN` for returns: finite but
        absurd values such as 1e200 would overflow to inf downstream). ``None`` (default) checks no magnitude.

    Returns
    -------
    pandas.DataFrame
        The same data as float64 (a copy).

    Raises
    ------
    DataValidationError
        On any violation; the message names the column and first offending date.

    Examples
    --------
    >>> import pandas as pd
    >>> prices = pd.DataFrame({"SPY": [100, 101.5]}, index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    >>> check_frame(prices, name="prices", positive=True).dtypes.tolist()
    [dtype('float64')]
    >>> check_frame(prices.iloc[::-1], name="prices")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: prices dates are not sorted ascending (first out-of-order date \
2024-01-02 after 2024-01-03); call data.sort_index() first.
    >>> returns = pd.DataFrame({"SPY": [0.01, 250.0]}, index=prices.index)
    >>> check_frame(returns, name="returns", max_abs=MAX_ABS_RETURN)
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: returns column 'SPY' has a value of magnitude above 10: first at \
2024-01-03 (value 250.0); returns are expected as decimal fractions per period (0.01 = 1 %): check the units \
(percent instead of decimals? prices instead of returns?) and correct or drop the value.
    """
    if isinstance(data, pd.Series):
        data = data.to_frame(name=data.name if data.name is not None else name)
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError(
            f"{name} must be a pandas DataFrame with one column per asset, got {type(data).__name__}; "
            "wrap arrays with pd.DataFrame(values, index=dates, columns=assets)."
        )
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise DataValidationError(
            f"{name} is empty (shape {data.shape}); pass at least one date and one asset column."
        )
    if data.columns.has_duplicates:
        dup_cols = data.columns[data.columns.duplicated()].unique().tolist()
        raise DataValidationError(
            f"{name} has duplicated column names {dup_cols[:5]}; give every asset a unique column name."
        )
    non_numeric = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
    non_numeric = [c for c in non_numeric if not pd.api.types.is_bool_dtype(data[c])]
    if non_numeric:
        col = non_numeric[0]
        bad = pd.to_numeric(data[col], errors="coerce").isna() & data[col].notna()
        where = ""
        if bad.any():
            first = format_date(data.index[bad.to_numpy()][0])
            where = f" (first non-numeric value {data[col][bad].iloc[0]!r} on {first})"
        raise DataValidationError(
            f"{name} column {col!r} is not numeric{where}; convert it with pd.to_numeric or drop the column "
            f"({len(non_numeric)} non-numeric column(s): {', '.join(map(repr, non_numeric[:5]))})."
        )
    if require_datetime_index:
        if not isinstance(data.index, pd.DatetimeIndex):
            raise DataValidationError(
                f"{name} must have a DatetimeIndex, got {type(data.index).__name__}; "
                "parse the date column with pd.to_datetime and set it as the index."
            )
        dup = data.index.duplicated()
        if dup.any():
            first_dup = data.index[dup][0]
            raise DataValidationError(
                f"{name} has duplicated dates ({int(dup.sum())} duplicate(s), first {format_date(first_dup)}); "
                "aggregate or drop duplicates, e.g. data[~data.index.duplicated(keep='last')]."
            )
        if not data.index.is_monotonic_increasing:
            pos = int(np.argmax(np.diff(data.index.asi8) < 0)) + 1
            raise DataValidationError(
                f"{name} dates are not sorted ascending (first out-of-order date {format_date(data.index[pos])} "
                f"after {format_date(data.index[pos - 1])}); call data.sort_index() first."
            )
    values = data.to_numpy(dtype=np.float64, na_value=np.nan)
    bad_inf = np.isinf(values)
    if bad_inf.any():
        _raise_cell(data, bad_inf, name, "an infinite value", "replace it (e.g. with NaN) and handle missing values")
    if max_abs is not None:
        with np.errstate(invalid="ignore"):
            bad_big = np.abs(values) > max_abs
        if bad_big.any():
            _raise_cell(
                data, bad_big, name, f"a value of magnitude above {max_abs:g}",
                "returns are expected as decimal fractions per period (0.01 = 1 %): check the units "
                "(percent instead of decimals? prices instead of returns?) and correct or drop the value",
            )
    if not allow_nan:
        bad_nan = np.isnan(values)
        if bad_nan.any():
            all_nan = [c for j, c in enumerate(data.columns) if bad_nan[:, j].all()]
            if all_nan:
                raise DataValidationError(
                    f"{name} column {all_nan[0]!r} is entirely NaN; drop it before fitting."
                )
            _raise_cell(
                data, bad_nan, name, f"NaN ({int(bad_nan.sum())} missing value(s) in total)",
                "drop or fill missing values (e.g. data.dropna() or data.ffill()) before fitting",
            )
    if positive:
        bad_pos = ~np.isnan(values) & (values <= 0)
        if bad_pos.any():
            _raise_cell(
                data, bad_pos, name, "a non-positive value",
                "log returns need strictly positive prices; check the column, or if the data are returns, not "
                "prices, say so (input: returns, --input returns)",
            )
    if data.shape[0] < min_rows:
        raise DataValidationError(
            f"{name} has {data.shape[0]} rows but at least {min_rows} are needed; "
            "pass a longer history or reduce the model size."
        )
    out = pd.DataFrame(values, index=data.index.copy(), columns=data.columns.copy())
    return out


def _raise_cell(data: pd.DataFrame, mask: np.ndarray, name: str, what: str, fix: str) -> None:
    rows, cols = np.nonzero(mask)
    order = np.lexsort((cols, rows))
    i, j = int(rows[order[0]]), int(cols[order[0]])
    value = data.iat[i, j]
    value = value.item() if isinstance(value, np.generic) else value
    raise DataValidationError(
        f"{name} column {data.columns[j]!r} has {what}: first at {format_date(data.index[i])} (value {value!r}); {fix}."
    )


def check_min_rows(n_rows: int, required: int, *, what: str, name: str = "data") -> None:
    """Raise if ``n_rows < required``; ``what`` says who needs the rows (e.g. ``"a 5-factor model"``).

    Parameters
    ----------
    n_rows : int
        Rows available.
    required : int
        Rows needed.
    what : str
        Who needs them, as it should read in the message.
    name : str, default "data"
        What the rows are called in the message.

    Raises
    ------
    DataValidationError
        When ``n_rows < required``.

    Examples
    --------
    >>> check_min_rows(60, 20, what="a 5-factor model")
    >>> check_min_rows(10, 20, what="a 5-factor model", name="returns")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: returns has 10 rows but a 5-factor model needs at least 20; pass a \
longer history or a smaller model.
    """
    if n_rows < required:
        raise DataValidationError(
            f"{name} has {n_rows} rows but {what} needs at least {required}; "
            "pass a longer history or a smaller model."
        )


def check_aligned(left: pd.DataFrame | pd.Series, right: pd.DataFrame | pd.Series, *,
                  names: tuple[str, str] = ("left", "right")) -> None:
    """Raise if two tables do not share exactly the same index (same dates in the same order).

    Parameters
    ----------
    left, right : pandas.DataFrame or pandas.Series
        The two tables.
    names : tuple of str, default ("left", "right")
        What the two tables are called in the message.

    Raises
    ------
    DataValidationError
        Naming how many dates only one table has and the first of them.

    Examples
    --------
    >>> import pandas as pd
    >>> dates = pd.date_range("2024-01-01", periods=3)
    >>> check_aligned(pd.Series(1.0, index=dates), pd.Series(2.0, index=dates))
    >>> check_aligned(pd.Series(1.0, index=dates), pd.Series(2.0, index=dates[:2]), names=("returns", "factors"))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: returns and factors have misaligned indexes (1 date(s) only in \
returns, first 2024-01-03); align them first, e.g. returns, factors = returns.align(factors, join='inner', axis=0).
    """
    if left.index.equals(right.index):
        return
    a, b = names
    only_a = left.index.difference(right.index)
    only_b = right.index.difference(left.index)
    if len(only_a):
        detail = f"{len(only_a)} date(s) only in {a}, first {format_date(only_a[0])}"
    elif len(only_b):
        detail = f"{len(only_b)} date(s) only in {b}, first {format_date(only_b[0])}"
    else:
        detail = "same dates in a different order or with repeats"
    raise DataValidationError(
        f"{a} and {b} have misaligned indexes ({detail}); align them first, "
        f"e.g. {a}, {b} = {a}.align({b}, join='inner', axis=0)."
    )

