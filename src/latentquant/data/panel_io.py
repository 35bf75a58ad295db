"""Read long CRSP / Gu–Kelly–Xiu-layout files into a :class:`~latentquant.data.panel.Panel`.

The layout is one row per stock and month: an id column (``permno``), a date column, the month's (excess) return
and any number of characteristic columns, e.g. ``permno, date, ret, mvel1, mom12m, ...``. Dates may be ``YYYYMM`` or
``YYYYMMDD`` integers or strings, or ISO strings (``2000-01-31``); every date is moved to its month end.

**Alignment.** With ``lag=1`` (the default) the characteristics of row ``(t, i)`` of the result are those stored for
the asset's previous panel date, so characteristics known at :math:`t-1` explain :math:`r_t` (see
:meth:`Panel.lag`). Gu, Kelly & Xiu's published characteristics file already stores every characteristic with its
publication lag (monthly ones at :math:`t-1`, quarterly :math:`t-4`, annual :math:`t-6`) on the row of the return it
predicts — pass ``lag=0`` for such an already-aligned file, or you lag it twice.

Characteristics are returned as stored (missing values stay NaN); call :meth:`Panel.rank` for the per-month rank
transform to [−1, 1] (missing → 0). Non-numeric columns (names, industry codes stored as text) are not
characteristics: they are left out, with a ``DataWarning`` that names them.

**Units.** Returns are used as decimal fractions (0.01 = 1 %). ``return_unit='auto'`` (the default) reads a file's
returns as percent, divides them by 100 and says so in a ``DataWarning``, when the median absolute return exceeds
:data:`PERCENT_MEDIAN` = 0.2. The rule separates the two units with a wide margin on monthly data: individual
stocks have monthly volatilities of roughly 10–15 %, hence a median absolute return of about 0.05–0.10 in decimals
(0.02–0.04 for factor returns) and 5–10 in percent; a decimal panel is misread only if its typical month moves by
more than ±20 % (volatility near 30 % a month, e.g. small crypto coins), a percent panel only if its typical month
moves by less than ±0.2 %. A maximum-based rule is not used: CRSP holds genuine monthly returns above +150 %.
``'decimal'`` or ``'percent'`` switch the detection off.

:func:`read_factor_returns` reads a file of observable factor returns (``date, Mkt-RF, SMB, HML[, RF]``, as the
Fama–French files) with the same date formats and the same unit rule.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant.data.panel import Panel
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.validation import Options, check_arg

__all__ = ["PERCENT_MEDIAN", "RETURN_UNITS", "read_factor_returns", "read_gkx_panel"]

#: The values of ``return_unit``.
RETURN_UNITS = ("auto", "decimal", "percent")
#: ``return_unit='auto'`` reads returns as percent when their median absolute value exceeds this (module docstring).
PERCENT_MEDIAN = 0.2

#: ``fix(option, value)`` → how the caller sets ``option`` (``value`` None: a name only the caller knows).
Fix = Callable[[str, "str | None"], str]

_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def _read(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, Path]:
    p = Path(path)
    name = p.name.lower()
    suffix = next((s for s in sorted(_SUFFIXES, key=len, reverse=True) if name.endswith(s)), p.suffix.lower())
    if suffix not in _SUFFIXES:
        raise DataValidationError(
            f"unsupported file format {suffix or '(no suffix)'!r} for {str(p)!r}; use CSV "
            f"({', '.join(_SUFFIXES[:2])}) or Parquet ({', '.join(_SUFFIXES[2:])})."
        )
    if not p.is_file():
        raise DataValidationError(f"file not found: {str(p)!r}; check the path.")
    try:
        frame = pd.read_parquet(p) if suffix in (".parquet", ".pq") else pd.read_csv(p)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataValidationError(f"could not read {str(p)!r} as {suffix}: {exc}") from exc
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return frame, p


def _py(value: object) -> object:
    """NumPy scalar → Python scalar, so messages show ``200001`` rather than ``np.int64(200001)``."""
    return value.item() if isinstance(value, np.generic) else value


def _month_ends(values: pd.Series, where: str) -> pd.DatetimeIndex:
    """YYYYMM / YYYYMMDD (integers or strings), ISO strings or datetimes → month-end timestamps."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.Series(pd.to_datetime(values), index=values.index)
    else:
        text = values.astype("string").str.strip()
        if pd.api.types.is_float_dtype(values):  # 200001.0 (CSV column with a missing value)
            text = text.str.replace(r"\.0$", "", regex=True)
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        digits = text.str.fullmatch(r"\d+").fillna(False).to_numpy(bool)
        six = digits & (text.str.len() == 6).fillna(False).to_numpy(bool)
        eight = digits & (text.str.len() == 8).fillna(False).to_numpy(bool)
        other = ~digits & values.notna().to_numpy()
        if six.any():
            parsed[six] = pd.to_datetime(text[six], format="%Y%m", errors="coerce")
        if eight.any():
            parsed[eight] = pd.to_datetime(text[eight], format="%Y%m%d", errors="coerce")
        if other.any():
            parsed[other] = pd.to_datetime(text[other], format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos = int(bad.argmax())
        raise DataValidationError(
            f"{where} has an unparseable date {_py(values.iloc[pos])!r} (row {pos}, {int(bad.sum())} bad value(s) in "
            "total); use YYYYMM, YYYYMMDD or ISO dates like 2000-01-31."
        )
    index = pd.DatetimeIndex(parsed)
    if index.tz is not None:
        index = index.tz_localize(None)
    return (index.normalize() + pd.offsets.MonthEnd(0)).rename("date")


def _python_fix(option: str, value: str | None) -> str:
    """How a Python caller fixes a problem: ``pass option=value`` (``...`` for a name only the caller knows)."""
    return f"pass {option}={'...' if value is None else repr(value)}"


def _columns_text(columns: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(map(repr, columns[:limit]))
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def _resolve_unit(values: np.ndarray, return_unit: str, what: str, fix: Fix) -> dict[str, Any]:
    """Whether ``values`` are percent or decimals (the rule of the module docstring); warns when ``'auto'`` finds
    percent. Returns what was decided, and why, for the run's report."""
    magnitudes = np.abs(values[np.isfinite(values)])
    median = float(np.median(magnitudes)) if magnitudes.size else 0.0
    if return_unit == "auto":
        unit = "percent" if median > PERCENT_MEDIAN else "decimal"
        rule = f"auto: median |value| {median:.4g} {'>' if unit == 'percent' else '<='} {PERCENT_MEDIAN:g}"
        if unit == "percent":
            warnings.warn(
                f"{what} look like percent (median |value| {median:.3g} > {PERCENT_MEDIAN:g}; monthly returns in "
                f"decimals have a median magnitude of about 0.02–0.10): divided by 100 to decimal returns. If they are "
                f"decimals, {fix('return_unit', 'decimal')}.", DataWarning, stacklevel=4)
    else:
        unit, rule = return_unit, "set explicitly"
    return {"unit": unit, "rule": rule, "median_abs": median, "divided_by_100": unit == "percent"}


def read_gkx_panel(path: str | os.PathLike[str], *, return_col: str = "ret", id_col: str = "permno",
                   date_col: str = "date", characteristics: Sequence[str] | None = None,
                   lag: int = 1, return_unit: str = "auto") -> Panel:
    """Read a long CRSP/GKX-layout CSV or Parquet file (``permno, date, ret, <characteristics>``) into a Panel.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file.
    return_col, id_col, date_col : str
        Names of the return, asset-id and date columns.
    characteristics : sequence of str, optional
        Characteristic columns to keep, in this order; by default every other numeric column in file order (the
        non-numeric ones are left out with a ``DataWarning`` naming them).
    lag : int, default 1
        Periods by which to lag the characteristics (:meth:`Panel.lag`): row ``(t, i)`` of the result holds the
        characteristics stored for asset ``i`` ``lag`` panel dates earlier, and the first ``lag`` dates are dropped.
        Pass ``lag=0`` when the file already stores each row's characteristics with their publication lag (as
        Gu–Kelly–Xiu's file does).
    return_unit : {"auto", "decimal", "percent"}, default "auto"
        Units of the return column. ``'percent'`` divides by 100; ``'auto'`` does so, with a ``DataWarning``,
        when the median absolute return exceeds :data:`PERCENT_MEDIAN` (see the module docstring).

    Returns
    -------
    Panel
        Long ``(date, asset)`` index (month-end ``date``, asset = the ``id_col`` values), sorted; returns in
        decimals; characteristics as stored (NaN kept; use :meth:`Panel.rank`). Rows without a return are dropped
        with a ``DataWarning``.

    Raises
    ------
    DataValidationError
        Missing, unreadable or header-only file; missing id/date/return column; missing id; unparseable date (the
        first bad value is shown); duplicated (id, month); non-numeric return or characteristic column.
    ConfigError
        Unknown characteristic names; ``lag`` not a non-negative integer; an unknown ``return_unit``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "gkx.csv")
    >>> pd.DataFrame({"permno": [1, 2, 1, 2], "date": [200001, 200001, 200002, 200002],
    ...               "ret": [0.01, 0.02, 0.03, 0.04], "mom": [1.0, 2.0, 3.0, 4.0]}).to_csv(path, index=False)
    >>> p = read_gkx_panel(path)  # January's characteristics explain February's returns
    >>> p.characteristics["mom"].tolist(), p.returns.tolist()
    ([1.0, 2.0], [0.03, 0.04])

    The same file in percent gives the same panel:

    >>> pd.DataFrame({"permno": [1, 2, 1, 2], "date": [200001, 200001, 200002, 200002],
    ...               "ret": [1.0, 2.0, 3.0, 4.0], "mom": [1.0, 2.0, 3.0, 4.0]}).to_csv(path, index=False)
    >>> read_gkx_panel(path, return_unit="percent").returns.tolist()
    [0.03, 0.04]
    """
    return load_gkx_file(path, return_col=return_col, id_col=id_col, date_col=date_col,
                         characteristics=characteristics, lag=lag, return_unit=return_unit, fix=_python_fix)[0]


def load_gkx_file(path: str | os.PathLike[str], *, return_col: str, id_col: str, date_col: str,
                  characteristics: Sequence[str] | None, lag: int, return_unit: str,
                  fix: Fix) -> tuple[Panel, dict[str, Any]]:
    """:func:`read_gkx_panel` and a report of what was done to the file (units, dropped columns); ``fix(option,
    value)`` words the remedy of a bad option for the caller (Python arguments or config keys). Not exported."""
    if not isinstance(lag, int) or isinstance(lag, bool) or lag < 0:
        raise ConfigError(f"lag must be a non-negative integer, got {lag!r}.")
    check_arg("return_unit", return_unit, Options(*RETURN_UNITS))
    frame, p = _read(path)
    columns = list(frame.columns)
    if frame.empty:
        raise DataValidationError(
            f"{p.name!r} has no rows (only the header: {', '.join(map(repr, columns[:10]))}"
            f"{' ...' if len(columns) > 10 else ''}); a panel needs one row per (asset, month); check the export."
        )
    for role, col in (("id_col", id_col), ("date_col", date_col), ("return_col", return_col)):
        if col not in columns:
            raise DataValidationError(
                f"{p.name!r} has no {role.split('_')[0]} column {col!r} (columns: "
                f"{', '.join(map(repr, columns[:10]))}{' ...' if len(columns) > 10 else ''}); {fix(role, None)}."
            )
    if frame[id_col].isna().any():
        pos = int(frame[id_col].isna().to_numpy().argmax())
        raise DataValidationError(f"{p.name!r} has a missing {id_col!r} in row {pos}; drop or fill that row.")
    if not pd.api.types.is_numeric_dtype(frame[return_col]):
        text = frame[return_col]
        bad = (pd.to_numeric(text, errors="coerce").isna() & text.notna()).to_numpy()
        pos = int(bad.argmax()) if bad.any() else 0
        raise DataValidationError(
            f"return column {return_col!r} of {p.name!r} is not numeric ({int(bad.sum())} non-numeric value(s), "
            f"first {_py(text.iloc[pos])!r} in row {pos}); convert it to returns (missing as empty/NaN; CRSP's "
            "letter codes such as 'B' or 'C' mean missing)."
        )
    reserved = {id_col, date_col, return_col}
    dropped: list[str] = []
    if characteristics is None:
        chars = [c for c in columns if c not in reserved and pd.api.types.is_numeric_dtype(frame[c])]
        dropped = [c for c in columns if c not in reserved and c not in chars]
        if dropped:
            warnings.warn(
                f"{p.name!r}: {len(dropped)} non-numeric column(s) left out of the characteristics: "
                f"{_columns_text(dropped, 20)}; convert them to numbers to use them.", DataWarning, stacklevel=3)
    else:
        if isinstance(characteristics, str):
            raise ConfigError(f"characteristics must be a list of column names, got the string {characteristics!r}.")
        chars = list(characteristics)
        unknown = [c for c in chars if c not in columns or c in reserved]
        if unknown:
            raise ConfigError(
                f"unknown characteristic(s) {unknown} in {p.name!r}; available: "
                f"{[c for c in columns if c not in reserved][:20]}."
            )
        non_numeric = [c for c in chars if not pd.api.types.is_numeric_dtype(frame[c])]
        if non_numeric:
            c = non_numeric[0]
            raise DataValidationError(
                f"characteristic column {c!r} of {p.name!r} is not numeric (e.g. {_py(frame[c].iloc[0])!r}); "
                "convert it to numbers or leave it out of characteristics=."
            )

    dates = _month_ends(frame[date_col], f"date column {date_col!r} of {p.name!r}")
    ids = frame[id_col].to_numpy()
    index = pd.MultiIndex.from_arrays([dates, ids], names=["date", "asset"])
    if index.has_duplicates:
        pos = int(np.flatnonzero(index.duplicated())[0])
        raise DataValidationError(
            f"{p.name!r} has duplicated ({id_col}, month) rows: {id_col}={_py(ids[pos])!r}, month "
            f"{dates[pos].strftime('%Y-%m')} (row {pos}, raw date {_py(frame[date_col].iloc[pos])!r}); keep one "
            f"row per {id_col} and month."
        )
    values = frame[return_col].to_numpy(np.float64, na_value=np.nan)
    unit = _resolve_unit(values, return_unit, f"the returns in column {return_col!r} of {p.name!r}", fix)
    if unit["divided_by_100"]:
        values = values / 100.0
    returns = pd.Series(values, index=index, name="ret")
    chars_frame = frame[chars].astype(np.float64)
    chars_frame.index = index
    returns = returns.sort_index()
    chars_frame = chars_frame.sort_index()
    panel = Panel(returns, chars_frame)
    report = {"file": p.name, "return_col": return_col, "return_unit": unit, "characteristics": len(chars),
              "dropped_columns": dropped, "n_dropped_columns": len(dropped)}
    return (panel.lag(lag) if lag > 0 else panel), report


def read_factor_returns(path: str | os.PathLike[str], *, date_col: str | None = None,
                        return_unit: str = "auto") -> pd.DataFrame:
    """Read a CSV or Parquet file of monthly factor returns (a date column and one column per factor).

    The layout of the Fama–French files: ``date, Mkt-RF, SMB, HML[, RF]`` with ``YYYYMM`` (or ``YYYYMMDD``, ISO)
    dates, in percent or decimals. The result can be passed to
    ``FamaFrench(...).fit(panel, factor_returns=frame)`` (drop ``RF`` first: it is not a factor).

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file.
    date_col : str, optional
        The date column; by default the column named ``date`` (any case), else the first column.
    return_unit : {"auto", "decimal", "percent"}, default "auto"
        Units of the factor columns; ``'auto'`` reads them as percent (and divides by 100, with a ``DataWarning``)
        when the median absolute value of the factors other than ``RF`` exceeds :data:`PERCENT_MEDIAN`.

    Returns
    -------
    pandas.DataFrame
        Month-end dates (sorted, named ``date``) × every other column of the file, float64, in decimals (NaN kept).

    Raises
    ------
    DataValidationError
        Missing, unreadable or header-only file; no date column; unparseable or duplicated months; a non-numeric or
        infinite factor value; no factor column.
    ConfigError
        An unknown ``return_unit``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ff3.csv")
    >>> pd.DataFrame({"date": [200001, 200002], "Mkt-RF": [-4.74, 2.45], "SMB": [4.43, 18.38],
    ...               "HML": [-1.89, -9.81], "RF": [0.41, 0.43]}).to_csv(path, index=False)
    >>> ff = read_factor_returns(path, return_unit="percent")
    >>> ff.round(4).to_dict("list")
    {'Mkt-RF': [-0.0474, 0.0245], 'SMB': [0.0443, 0.1838], 'HML': [-0.0189, -0.0981], 'RF': [0.0041, 0.0043]}
    >>> [str(d.date()) for d in ff.index]
    ['2000-01-31', '2000-02-29']
    """
    return load_factor_file(path, date_col=date_col, return_unit=return_unit, fix=_python_fix)[0]


def load_factor_file(path: str | os.PathLike[str], *, date_col: str | None, return_unit: str,
                     fix: Fix) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`read_factor_returns` and a report (file, factor and RF columns, months, units); ``fix`` as in
    :func:`load_gkx_file`. Not exported."""
    check_arg("return_unit", return_unit, Options(*RETURN_UNITS))
    frame, p = _read(path)
    columns = list(frame.columns)
    what = f"factors file {p.name!r}"
    if frame.empty:
        raise DataValidationError(f"{what} has no rows (only the header: {_columns_text(columns)}); it needs one row "
                                  "per month; check the export.")
    if date_col is None:
        date_col = next((c for c in columns if c.strip().lower() == "date"), columns[0])
        where = f"date column {date_col!r} of {what} (the column named 'date', else the first column)"
    elif date_col not in columns:
        raise DataValidationError(f"{what} has no date column {date_col!r} (columns: {_columns_text(columns)}); "
                                  f"{fix('date_col', None)}.")
    else:
        where = f"date column {date_col!r} of {what}"
    names = [c for c in columns if c != date_col]
    if not names:
        raise DataValidationError(f"{what} has no factor column besides its date column {date_col!r}; add the factor "
                                  "returns (e.g. Mkt-RF, SMB, HML) as columns.")
    non_numeric = [c for c in names if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        c = non_numeric[0]
        raise DataValidationError(
            f"{what} has {len(non_numeric)} non-numeric column(s) {_columns_text(non_numeric)} (e.g. "
            f"{_py(frame[c].dropna().iloc[0]) if frame[c].notna().any() else None!r}); a factors file holds a date "
            "column and numeric factor returns (e.g. Mkt-RF, SMB, HML, optional RF): convert or remove the others.")
    dates = _month_ends(frame[date_col], where)
    if dates.has_duplicates:
        pos = int(np.flatnonzero(dates.duplicated())[0])
        raise DataValidationError(f"{what} has two rows for month {dates[pos].strftime('%Y-%m')} (row {pos}, raw date "
                                  f"{_py(frame[date_col].iloc[pos])!r}); keep one row per month.")
    values = frame[names].astype(np.float64)
    values.index = dates
    infinite = ~np.isfinite(values.to_numpy()) & values.notna().to_numpy()
    if infinite.any():
        row, col = (int(v[0]) for v in np.nonzero(infinite))
        raise DataValidationError(f"{what} has an infinite value in column {names[col]!r}, month "
                                  f"{dates[row].strftime('%Y-%m')}; replace it with a number or leave it empty.")
    rf = [c for c in names if c.strip().upper() == "RF"]
    factors = [c for c in names if c not in rf]
    if not factors:
        raise DataValidationError(f"{what} holds only the risk-free rate {rf}; add the factor returns (e.g. Mkt-RF, "
                                  "SMB, HML) as columns.")
    unit = _resolve_unit(values[factors].to_numpy().ravel(), return_unit, f"the factor returns of {what}", fix)
    if unit["divided_by_100"]:
        values = values / 100.0
    values = values.sort_index()
    report = {"file": p.name, "factors": factors, "rf_column": rf[0] if rf else None,
              "first_month": values.index[0].strftime("%Y-%m"), "last_month": values.index[-1].strftime("%Y-%m"),
              "n_months": len(values), "return_unit": unit}
    return values, report
