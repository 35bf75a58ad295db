"""Loaders for the user's own tables of prices or returns (CSV or Parquet), returned wide.

A wide file has one date column and one numeric column per asset. A long file has one row per (date, asset): a
date column whose dates repeat, one text column naming the asset (``ticker``, ``Symbol``, ...) and the value
column(s); the loaders recognise it and pivot it to wide (dates × assets), saying so in a
:class:`~latentquant.exceptions.DataWarning`. The loaders find and parse the date column, make it the index (named
``date``) and hold the result to the contract of :func:`latentquant.validation.check_frame`: sorted unique dates,
numeric columns, no NaN/inf unless allowed, strictly positive prices. Every problem raises
:class:`~latentquant.exceptions.DataValidationError` naming the file, the column and the first offending value or
date.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError, DataWarning
from latentquant.validation import MAX_ABS_RETURN, check_frame, format_date

__all__ = ["SUPPORTED_SUFFIXES", "load_prices_csv", "load_returns", "missing_by_column"]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".pq")
_DATE_NAMES = ("date", "timestamp", "datetime")
_INDEX_NAMES = ("unnamed: 0", "index")  # what pandas calls a saved row index (to_csv() / reset_index())
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")  # 13/01/2020, 13.01.20, 13-01-2020


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _read_table(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, Path]:
    p = Path(path)
    suffix = _suffix(p)
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataValidationError(
            f"unsupported file format {suffix or '(no suffix)'!r} for {str(p)!r}; "
            "supported formats: "
            f"{', '.join(SUPPORTED_SUFFIXES)} (CSV or Parquet). Convert the file or rename it."
        )
    if not p.is_file():
        raise DataValidationError(f"file not found: {str(p)!r}; check the path.")
    names: list[str] = []
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(p)
            # pandas renames repeated headers (A, A.1): read the header row as written to catch them.
            header = pd.read_csv(p, header=None, nrows=1, dtype=str).iloc[0]
            names = [h for h in header if isinstance(h, str)]
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataValidationError(f"could not read {str(p)!r} as {suffix}: {exc}") from exc
    repeated = [h for h, n in Counter(names).items() if n > 1]
    if repeated:
        raise DataValidationError(
            f"{p.name!r} has duplicated column header(s) {', '.join(map(repr, repeated[:5]))}; "
            "give every column a unique name (one column per asset)."
        )
    return frame, p


def _check_leading_index(frame: pd.DataFrame, date_column: str | None, path: Path) -> None:
    """Reject a first column that is a saved row index (``Unnamed: 0`` or ``index`` holding 0, 1, ..., n-1)."""
    if frame.shape[1] == 0:
        return
    first = str(frame.columns[0])
    if first.lower() not in _INDEX_NAMES or first == date_column:
        return
    values = frame.iloc[:, 0]
    if pd.api.types.is_integer_dtype(values) and np.array_equal(values.to_numpy(), np.arange(len(values))):
        raise DataValidationError(
            f"{path.name!r} starts with a column {first!r} holding the row numbers 0..{len(values) - 1}: a saved "
            "DataFrame index (e.g. from df.reset_index().to_csv()), not an asset; drop that column or write the "
            "file with to_csv(index=False)."
        )


def _check_no_booleans(frame: pd.DataFrame, path: Path) -> None:
    booleans = [c for c in frame.columns if pd.api.types.is_bool_dtype(frame[c])]
    if booleans:
        raise DataValidationError(
            f"column {booleans[0]!r} of {path.name!r} holds booleans (True/False), not prices or returns; drop it "
            f"({len(booleans)} boolean column(s): {', '.join(map(repr, booleans[:5]))})."
        )


def _date_column(frame: pd.DataFrame, date_column: str | None, path: Path) -> str:
    columns = [str(c) for c in frame.columns]
    if date_column is not None:
        if date_column not in columns:
            raise DataValidationError(
                f"date_column {date_column!r} not found in {path.name!r}; columns are "
                f"{', '.join(map(repr, columns[:10]))}{' ...' if len(columns) > 10 else ''}."
            )
        return date_column
    for col in columns:
        if col.lower() in _DATE_NAMES:
            return col
    if not columns:
        raise DataValidationError(
            f"{path.name!r} has no columns; expected a date column and assets.")
    return columns[0]


def _parse_dates(values: pd.Series, column: str, path: Path, dayfirst: bool = False) -> pd.DatetimeIndex:
    """Parse a date column; integers 20200131 (YYYYMMDD) or 202001 (YYYYMM, month end) allowed.

    Dates written day/month/year (``13/01/2020``) need ``dayfirst=True``; without it a first field above 12 is an
    error rather than a silent month-first reading."""
    where = f"date column {column!r} of {path.name!r}"
    if values.isna().any():
        pos = int(values.isna().to_numpy().argmax())
        raise DataValidationError(
            f"{where} has a missing date in row {pos}; drop or fill that row.")
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values)
    elif pd.api.types.is_integer_dtype(values):
        text = values.astype(str)
        width = int(text.str.len().max())
        if width == 8:
            parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
        elif width == 6:
            parsed = pd.to_datetime(text, format="%Y%m", errors="coerce") + pd.offsets.MonthEnd(0)
        else:
            raise DataValidationError(
                f"{where} holds integers such as {values.iloc[0]!r}; use ISO dates (YYYY-MM-DD), "
                "YYYYMMDD or YYYYMM."
            )
        _check_parsed(values, parsed, where)
    else:
        text = values.astype(str)
        fields = text.str.extract(_DAY_MONTH)
        day_month = bool(fields[0].notna().any())
        if day_month and not dayfirst:
            first_field = pd.to_numeric(fields[0], errors="coerce")
            above = (first_field > 12).to_numpy()
            if above.any():
                pos = int(above.argmax())
                raise DataValidationError(
                    f"{where} has day-first dates such as {values.iloc[pos]!r} (row {pos}: "
                    f"{int(first_field.iloc[pos])} cannot be a month); pass dayfirst=True to read dd/mm/yyyy dates, "
                    "or write ISO dates (YYYY-MM-DD)."
                )
        with warnings.catch_warnings():  # pandas' per-element fallback is fine: every value is checked below
            warnings.filterwarnings("ignore", message="Could not infer format", category=UserWarning)
            try:
                parsed = pd.to_datetime(text, errors="coerce", dayfirst=dayfirst and day_month)
                mixed = not pd.api.types.is_datetime64_any_dtype(parsed)
            except (ValueError, TypeError):  # mixed UTC offsets (pandas >= 3 raises)
                mixed = True
            if mixed:
                parsed = pd.to_datetime(text, errors="coerce", utc=True, dayfirst=dayfirst and day_month)
        _check_parsed(values, parsed, where)
    index = pd.DatetimeIndex(parsed, name="date")
    if index.tz is not None:
        index = index.tz_convert("UTC")
    return index


def _check_parsed(raw: pd.Series, parsed: pd.Series, where: str) -> None:
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos = int(bad.argmax())
        raise DataValidationError(
            f"{where} has an unparseable date {raw.iloc[pos]!r} (row {pos}, {int(bad.sum())} bad "
            "value(s) in total); use ISO dates like 2020-01-31 or pass date_column=..."
        )


def _is_text(values: pd.Series) -> bool:
    """Whether a column names things (tickers) rather than holding numbers: mostly non-numeric strings."""
    if (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
            or pd.api.types.is_datetime64_any_dtype(values)):
        return False
    present = values.dropna()
    if present.empty:
        return False
    return bool(pd.to_numeric(present, errors="coerce").isna().mean() > 0.5)


def _names(items: list[str], limit: int = 8) -> str:
    return ", ".join(map(repr, items[:limit])) + (" ..." if len(items) > limit else "")


def _long_to_wide(frame: pd.DataFrame, path: Path, date_name: str, value_column: str | None,
                  warn: bool) -> pd.DataFrame:
    """Pivot a long-layout table (dates as index, one text asset column, value columns) to dates × assets.

    A table is long when its dates repeat and it has a text column, or when ``value_column`` is given; otherwise it
    is returned unchanged (a wide table)."""
    text = [str(c) for c in frame.columns if _is_text(frame[c])]
    repeated = bool(frame.index.has_duplicates)
    if value_column is None and not (repeated and text):
        if repeated and frame.shape[1] > 1:
            dup = frame.index.duplicated()
            raise DataValidationError(
                f"{path.name!r} has repeated dates ({int(dup.sum())} repeat(s), first "
                f"{format_date(frame.index[dup][0])}) but no text column naming the assets. A wide file needs one "
                "row per date (one column per asset); a long file (date, ticker, value) needs a ticker column "
                "holding text such as 'AAPL'. Fix the file, or keep one row per date."
            )
        return frame
    if not text:
        raise DataValidationError(
            f"value_column {value_column!r} was given but {path.name!r} has no text column naming the assets; a "
            "long-layout file needs a date column, one asset column holding text (e.g. ticker 'AAPL') and the "
            "value column. For a wide file (one column per asset) leave value_column unset."
        )
    if len(text) > 1:
        raise DataValidationError(
            f"{path.name!r} looks like a long-layout file (one row per date and asset; date column {date_name!r}) "
            f"but has {len(text)} text columns ({_names(text)}); keep exactly one column naming the asset "
            "(e.g. the ticker) and drop the others, or write a wide file (one column per asset)."
        )
    asset = text[0]
    numeric = [str(c) for c in frame.columns if str(c) != asset]
    where = (f"{path.name!r} is a long-layout file (one row per date and asset: date column {date_name!r}, asset "
             f"column {asset!r})")
    if value_column is not None:
        if value_column not in numeric:
            raise DataValidationError(
                f"value_column {value_column!r} is not among the value columns of {path.name!r} (long layout: date "
                f"column {date_name!r}, asset column {asset!r}); value columns: {_names(numeric) or '(none)'}."
            )
        value = value_column
    elif len(numeric) == 1:
        value = numeric[0]
    else:
        found = f"several value columns ({_names(numeric)})" if numeric else "no value column"
        raise DataValidationError(
            f"{where} with {found}; "
            + (f"choose the one to load with value_column (one of {_names(numeric)})." if numeric else
               "add a column of prices or returns.")
        )
    ids = frame[asset]
    if ids.isna().any():
        pos = int(ids.isna().to_numpy().argmax())
        raise DataValidationError(f"{where}; its asset column has a missing name in row {pos}; fill or drop "
                                  "that row.")
    ids = ids.astype(str)
    keys = pd.DataFrame({"date": frame.index, "asset": ids.to_numpy()})
    dup = keys.duplicated(keep="first").to_numpy()
    if dup.any():
        pairs = [f"({format_date(d)}, {a!r})" for d, a in keys.loc[dup].drop_duplicates().head(3).itertuples(
            index=False)]
        raise DataValidationError(
            f"{where} with {int(dup.sum())} repeated (date, {asset}) row(s), first {', '.join(pairs)}; keep one row "
            "per date and asset (e.g. the last quote of each day)."
        )
    long = pd.DataFrame({"value": frame[value].to_numpy(), "asset": ids.to_numpy()}, index=frame.index)
    wide = long.pivot(columns="asset", values="value").reindex(columns=pd.unique(ids.to_numpy()))
    wide.columns = pd.Index([str(c) for c in wide.columns])
    wide.index = pd.DatetimeIndex(wide.index, name="date")
    if warn:
        holes = int(wide.isna().to_numpy().sum() - long["value"].isna().sum())
        warnings.warn(
            f"{where}: pivoted to wide, column {value!r} for each of the {wide.shape[1]} assets named in "
            f"{asset!r}, on {wide.shape[0]} dates"
            + (f" ({holes} (date, asset) pair(s) absent from the file are missing values)" if holes else "")
            + (f"; other value columns ignored: {_names([c for c in numeric if c != value])}"
               if len(numeric) > 1 else "") + ".",
            DataWarning, stacklevel=4,
        )
    return wide


def missing_by_column(frame: pd.DataFrame) -> list[tuple[Any, int, str]]:
    """``(column, missing count, first missing date)`` for every column of ``frame`` with a missing value."""
    missing = frame.isna()
    counts = missing.sum()
    return [(col, int(n), format_date(frame.index[missing[col].to_numpy()][0]))
            for col, n in counts[counts > 0].items()]


def _check_missing(frame: pd.DataFrame, name: str) -> None:
    """NaN in a loaded table: each column with its own count and first missing date."""
    parts = []
    for col, n, first in missing_by_column(frame):
        amount = f"all {n} values missing" if n == len(frame) else f"{n} missing value{'s' if n > 1 else ''}"
        parts.append(f"column {col!r} has NaN ({amount}, first at {first})")
    if not parts:
        return
    more = f" and {len(parts) - 5} more column(s)" if len(parts) > 5 else ""
    raise DataValidationError(
        f"{name} {'; '.join(parts[:5])}{more}; pass allow_nan=True to keep missing values (e.g. assets that start "
        "late), or drop or fill them in the file."
    )


def _load_wide(path: str | os.PathLike[str], *, date_column: str | None, what: str,
               positive: bool, allow_nan: bool, dayfirst: bool = False,
               max_abs: float | None = None, value_column: str | None = None, warn: bool = True) -> pd.DataFrame:
    frame, p = _read_table(path)
    if date_column is None and isinstance(frame.index, pd.DatetimeIndex):
        # Parquet written with the dates as index (df.to_parquet(path)).
        frame = frame.copy()
        date_name = str(frame.index.name or "date")
        frame.index = pd.DatetimeIndex(frame.index, name="date")
    else:
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index()
        frame.columns = pd.Index([str(c) for c in frame.columns])
        _check_leading_index(frame, date_column, p)
        date_name = _date_column(frame, date_column, p)
        index = _parse_dates(frame[date_name], date_name, p, dayfirst)
        frame = frame.drop(columns=[date_name])
        frame.index = index
    if frame.index.tz is not None:
        frame.index = frame.index.tz_convert("UTC")
    frame.columns = pd.Index([str(c) for c in frame.columns])
    _check_no_booleans(frame, p)
    frame = _long_to_wide(frame, p, date_name, value_column, warn)
    name = f"{what} file {p.name!r}"
    out = check_frame(frame, name=name, positive=positive, allow_nan=True, max_abs=max_abs)
    if not allow_nan:
        _check_missing(out, name)
    out.index.name = "date"
    return out


def load_prices_csv(path: str | os.PathLike[str], *, date_column: str | None = None, value_column: str | None = None,
                    positive: bool = True, allow_nan: bool = False, dayfirst: bool = False,
                    warn: bool = True) -> pd.DataFrame:
    """Load a table of prices from a CSV or Parquet file as a wide frame (one column per asset).

    The file is wide (a date column and one column per asset) or long (one row per date and asset: ``date, ticker,
    price``, ``Date,Symbol,Close``, ...). A long file is recognised by its repeated dates and its one text column
    naming the asset; it is pivoted to dates × assets (assets in order of first appearance) with a
    :class:`~latentquant.exceptions.DataWarning`. Its value column is the one numeric column, or ``value_column``
    when there are several (``Open``, ``Close``, ``Volume``, ...). Dates on which an asset has no row become
    missing values (see ``allow_nan``).

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file (chosen by suffix).
    date_column : str, optional
        Name of the date column. By default a column named
        ``date``/``Date``/``timestamp``/``datetime`` (any case), else the first column; a Parquet
        file whose index holds the dates also works. Dates are parsed with
        :func:`pandas.to_datetime`; integer dates may be ``YYYYMMDD`` or ``YYYYMM`` (placed at month
        end). Time-zone-aware dates are converted to UTC.
    value_column : str, optional
        The column of a long-layout file to pivot (required when it has several numeric columns); giving it also
        reads a file whose dates do not repeat (a single asset) as long.
    positive : bool, default True
        Require strictly positive prices (needed for log returns).
    allow_nan : bool, default False
        Accept missing prices (e.g. assets that start later). Without it a missing value is an error naming each
        column with its own count of missing values and first missing date.
    dayfirst : bool, default False
        Read dates written ``dd/mm/yyyy`` (also with ``.`` or ``-``) day first. Without it such dates are read
        month first, and a file whose first field exceeds 12 somewhere (``13/01/2020``) is rejected instead of
        misread. ISO dates (``YYYY-MM-DD``) are unaffected.
    warn : bool, default True
        Emit the :class:`~latentquant.exceptions.DataWarning` saying that a long file was pivoted.

    Returns
    -------
    pandas.DataFrame
        float64 prices, :class:`~pandas.DatetimeIndex` named ``date`` (sorted, unique), one column
        per asset in the file's order.

    Raises
    ------
    DataValidationError
        Missing file, unsupported suffix, unparseable date, unsorted or duplicated dates,
        non-numeric or boolean column, NaN/inf (unless allowed), non-positive price, duplicated
        column headers (pandas would rename them ``A.1``), day-first dates without ``dayfirst=True``,
        and a leading column ``Unnamed: 0`` or ``index`` holding the row numbers 0..n-1 (a saved
        DataFrame index, which is never taken as an asset). A long file with several value columns and no
        ``value_column``, several text columns, or a repeated (date, asset) pair; repeated dates without a text
        column naming the assets. The message names the file, the column and the first offending date or value.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from latentquant.datasets import load_prices_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "prices.csv")
    >>> table = pd.DataFrame({"date": ["2024-01-02", "2024-01-03"], "AAA": [10.0, 10.5]})
    >>> table.to_csv(path, index=False)
    >>> load_prices_csv(path)["AAA"].tolist()
    [10.0, 10.5]

    A long file (``Date, Symbol, Close``) comes back wide:

    >>> long = pd.DataFrame({"Date": ["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03"],
    ...                      "Symbol": ["AAA", "BBB", "AAA", "BBB"], "Close": [10.0, 20.0, 10.5, 19.5]})
    >>> long.to_csv(path, index=False)
    >>> load_prices_csv(path, warn=False).to_dict("list")
    {'AAA': [10.0, 10.5], 'BBB': [20.0, 19.5]}
    """
    return _load_wide(path, date_column=date_column, what="prices", positive=positive,
                      allow_nan=allow_nan, dayfirst=dayfirst, value_column=value_column, warn=warn)


def load_returns(path: str | os.PathLike[str], *, date_column: str | None = None, value_column: str | None = None,
                 allow_nan: bool = False, dayfirst: bool = False,
                 max_abs: float | None = MAX_ABS_RETURN, warn: bool = True) -> pd.DataFrame:
    """Load a table of returns from a CSV or Parquet file as a wide frame (one column per asset).

    Wide and long (``date, ticker, ret``) files are read as by :func:`load_prices_csv`.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file (chosen by suffix).
    date_column : str, optional
        Name of the date column; found as in :func:`load_prices_csv` by default.
    value_column : str, optional
        The column of a long-layout file to pivot, as in :func:`load_prices_csv`.
    allow_nan : bool, default False
        Accept missing returns (otherwise an error naming each column's count of missing values).
    dayfirst : bool, default False
        Read ``dd/mm/yyyy`` dates day first, as in :func:`load_prices_csv`.
    max_abs : float or None, default 10
        Reject a return whose magnitude exceeds this bound
        (:data:`~latentquant.validation.MAX_ABS_RETURN`: a 1,000 % simple return or a log return
        of 10 in one period); such values are units errors (percent instead of decimals, prices
        instead of returns) and overflow standardisation downstream. ``None`` disables the check.
    warn : bool, default True
        Emit the :class:`~latentquant.exceptions.DataWarning` saying that a long file was pivoted.

    Returns
    -------
    pandas.DataFrame
        float64 returns exactly as stored (decimal fractions are expected: 0.01 = 1 %; this loader
        does not rescale), :class:`~pandas.DatetimeIndex` named ``date``.

    Raises
    ------
    DataValidationError
        As :func:`load_prices_csv`, without the positivity check, and for a return above
        ``max_abs`` in magnitude (the message names the column and first date).

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from latentquant.datasets import load_returns
    >>> path = os.path.join(tempfile.mkdtemp(), "returns.csv")
    >>> table = pd.DataFrame({"date": ["2024-01-31", "2024-02-29"], "AAA": [0.01, -0.02]})
    >>> table.to_csv(path, index=False)
    >>> load_returns(path).shape
    (2, 1)
    """
    return _load_wide(path, date_column=date_column, what="returns", positive=False,
                      allow_nan=allow_nan, dayfirst=dayfirst, max_abs=max_abs, value_column=value_column, warn=warn)
