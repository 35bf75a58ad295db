"""Loaders for the user's own wide tables of prices or returns (CSV or Parquet).

A wide file has one date column and one numeric column per asset. The loaders find and parse the
date column, make it the index (named ``date``) and hold the result to the contract of
:func:`latentquant.validation.check_frame`: sorted unique dates, numeric columns, no NaN/inf unless
allowed, strictly positive prices. Every problem raises
:class:`~latentquant.exceptions.DataValidationError` naming the file, the column and the first
offending value or date.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError
from latentquant.validation import MAX_ABS_RETURN, check_frame

__all__ = ["SUPPORTED_SUFFIXES", "load_prices_csv", "load_returns"]

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


def _load_wide(path: str | os.PathLike[str], *, date_column: str | None, what: str,
               positive: bool, allow_nan: bool, dayfirst: bool = False,
               max_abs: float | None = None) -> pd.DataFrame:
    frame, p = _read_table(path)
    if date_column is None and isinstance(frame.index, pd.DatetimeIndex):
        # Parquet written with the dates as index (df.to_parquet(path)).
        frame = frame.copy()
        frame.index = pd.DatetimeIndex(frame.index, name="date")
    else:
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index()
        frame.columns = pd.Index([str(c) for c in frame.columns])
        _check_leading_index(frame, date_column, p)
        col = _date_column(frame, date_column, p)
        index = _parse_dates(frame[col], col, p, dayfirst)
        frame = frame.drop(columns=[col])
        frame.index = index
    if frame.index.tz is not None:
        frame.index = frame.index.tz_convert("UTC")
    frame.columns = pd.Index([str(c) for c in frame.columns])
    _check_no_booleans(frame, p)
    out = check_frame(frame, name=f"{what} file {p.name!r}", positive=positive, allow_nan=allow_nan,
                      max_abs=max_abs)
    out.index.name = "date"
    return out


def load_prices_csv(path: str | os.PathLike[str], *, date_column: str | None = None,
                    positive: bool = True, allow_nan: bool = False, dayfirst: bool = False) -> pd.DataFrame:
    """Load a wide table of prices (one column per asset) from a CSV or Parquet file.

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
    positive : bool, default True
        Require strictly positive prices (needed for log returns).
    allow_nan : bool, default False
        Accept missing prices (e.g. assets that start later).
    dayfirst : bool, default False
        Read dates written ``dd/mm/yyyy`` (also with ``.`` or ``-``) day first. Without it such dates are read
        month first, and a file whose first field exceeds 12 somewhere (``13/01/2020``) is rejected instead of
        misread. ISO dates (``YYYY-MM-DD``) are unaffected.

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
        DataFrame index, which is never taken as an asset). The message names the file, the column
        and the first offending date or value.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from latentquant.datasets import load_prices_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "prices.csv")
    >>> table = pd.DataFrame({"date": ["2024-01-02", "2024-01-03"], "AAA": [10.0, 10.5]})
    >>> table.to_csv(path, index=False)
    >>> load_prices_csv(path)["AAA"].tolist()
    [10.0, 10.5]
    """
    return _load_wide(path, date_column=date_column, what="prices", positive=positive,
                      allow_nan=allow_nan, dayfirst=dayfirst)


def load_returns(path: str | os.PathLike[str], *, date_column: str | None = None,
                 allow_nan: bool = False, dayfirst: bool = False,
                 max_abs: float | None = MAX_ABS_RETURN) -> pd.DataFrame:
    """Load a wide table of returns (one column per asset) from a CSV or Parquet file.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file (chosen by suffix).
    date_column : str, optional
        Name of the date column; found as in :func:`load_prices_csv` by default.
    allow_nan : bool, default False
        Accept missing returns.
    dayfirst : bool, default False
        Read ``dd/mm/yyyy`` dates day first, as in :func:`load_prices_csv`.
    max_abs : float or None, default 10
        Reject a return whose magnitude exceeds this bound
        (:data:`~latentquant.validation.MAX_ABS_RETURN`: a 1,000 % simple return or a log return
        of 10 in one period); such values are units errors (percent instead of decimals, prices
        instead of returns) and overflow standardisation downstream. ``None`` disables the check.

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
                      allow_nan=allow_nan, dayfirst=dayfirst, max_abs=max_abs)
