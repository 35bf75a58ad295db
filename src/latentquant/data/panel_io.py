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
transform to [−1, 1] (missing → 0).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from latentquant.data.panel import Panel
from latentquant.exceptions import ConfigError, DataValidationError

__all__ = ["read_gkx_panel"]

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


def read_gkx_panel(path: str | os.PathLike[str], *, return_col: str = "ret", id_col: str = "permno",
                   date_col: str = "date", characteristics: Sequence[str] | None = None,
                   lag: int = 1) -> Panel:
    """Read a long CRSP/GKX-layout CSV or Parquet file (``permno, date, ret, <characteristics>``) into a Panel.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file.
    return_col, id_col, date_col : str
        Names of the return, asset-id and date columns.
    characteristics : sequence of str, optional
        Characteristic columns to keep, in this order; by default every other numeric column in file order.
    lag : int, default 1
        Periods by which to lag the characteristics (:meth:`Panel.lag`): row ``(t, i)`` of the result holds the
        characteristics stored for asset ``i`` ``lag`` panel dates earlier, and the first ``lag`` dates are dropped.
        Pass ``lag=0`` when the file already stores each row's characteristics with their publication lag (as
        Gu–Kelly–Xiu's file does).

    Returns
    -------
    Panel
        Long ``(date, asset)`` index (month-end ``date``, asset = the ``id_col`` values), sorted; characteristics
        as stored (NaN kept; use :meth:`Panel.rank`). Rows without a return are dropped with a ``DataWarning``.

    Raises
    ------
    DataValidationError
        Missing, unreadable or header-only file; missing id/date/return column; missing id; unparseable date (the
        first bad value is shown); duplicated (id, month); non-numeric return or characteristic column.
    ConfigError
        Unknown characteristic names; ``lag`` not a non-negative integer.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "gkx.csv")
    >>> pd.DataFrame({"permno": [1, 2, 1, 2], "date": [200001, 200001, 200002, 200002],
    ...               "ret": [0.01, 0.02, 0.03, 0.04], "mom": [1.0, 2.0, 3.0, 4.0]}).to_csv(path, index=False)
    >>> p = read_gkx_panel(path)  # January's characteristics explain February's returns
    >>> p.characteristics["mom"].tolist(), p.returns.tolist()
    ([1.0, 2.0], [0.03, 0.04])
    """
    if not isinstance(lag, int) or isinstance(lag, bool) or lag < 0:
        raise ConfigError(f"lag must be a non-negative integer, got {lag!r}.")
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
                f"{', '.join(map(repr, columns[:10]))}{' ...' if len(columns) > 10 else ''}); pass {role}=...."
            )
    if frame[id_col].isna().any():
        pos = int(frame[id_col].isna().to_numpy().argmax())
        raise DataValidationError(f"{p.name!r} has a missing {id_col!r} in row {pos}; drop or fill that row.")
    if not pd.api.types.is_numeric_dtype(frame[return_col]):
        raise DataValidationError(
            f"return column {return_col!r} of {p.name!r} is not numeric (e.g. {_py(frame[return_col].iloc[0])!r}); "
            "convert it to decimal returns (missing as empty/NaN)."
        )
    reserved = {id_col, date_col, return_col}
    if characteristics is None:
        chars = [c for c in columns if c not in reserved and pd.api.types.is_numeric_dtype(frame[c])]
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
    returns = pd.Series(frame[return_col].to_numpy(np.float64, na_value=np.nan), index=index, name="ret")
    chars_frame = frame[chars].astype(np.float64)
    chars_frame.index = index
    returns = returns.sort_index()
    chars_frame = chars_frame.sort_index()
    panel = Panel(returns, chars_frame)
    return panel.lag(lag) if lag > 0 else panel
