r"""Long panels of asset returns and characteristics, and the preprocessing of conditional factor models.

A panel is indexed by ``(date, asset)``: one row per asset and period with the period's (excess) return and the
characteristics **known at the start of the period**. :meth:`Panel.lag` does the alignment explicitly: it shifts each
asset's characteristics by whole periods so that row ``t`` holds :math:`z_{i,t-\ell}`.

Preprocessing as in Gu, Kelly & Xiu (2021) and Kelly, Pruitt & Su (2019):

* :func:`rank_transform` — per period, each characteristic's cross-sectional rank mapped to :math:`[-1, 1]`,
  :math:`x = 2(\mathrm{rank}-1)/(N_t-1) - 1` (average ranks for ties), missing → 0 (the cross-sectional median);
* :func:`managed_portfolios` — characteristic-managed portfolios
  :math:`x_t = (Z_{t-1}^\top Z_{t-1})^{-1} Z_{t-1}^\top r_t` (``'gkx'``) or :math:`Z_{t-1}^\top r_t / N_t`
  (``'mean'``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.validation import MAX_ABS_RETURN, format_date

__all__ = ["Panel", "managed_portfolios", "rank_transform"]


def _check_long(frame: pd.DataFrame | pd.Series, name: str) -> None:
    if not isinstance(frame.index, pd.MultiIndex) or frame.index.nlevels != 2:
        raise DataValidationError(
            f"{name} must be indexed by a 2-level (date, asset) MultiIndex, got {type(frame.index).__name__}; "
            "use df.set_index(['date', 'asset'])."
        )
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise DataValidationError(
            f"{name} has duplicated (date, asset) rows (first {dup[0]!s}, {dup[1]!r}); keep one row per asset and date."
        )
    dates = frame.index.get_level_values(0)
    if not dates.is_monotonic_increasing:
        raise DataValidationError(f"{name} dates are not sorted; call .sort_index() first.")


def _where(index: pd.Index, position: int) -> str:
    date, asset = index[position]
    return f"({format_date(date)}, {asset!r})"


def _check_returns(returns: pd.Series, max_abs: float | None) -> pd.Series:
    """The returns as float64 (NaN kept); non-numeric, boolean, infinite or implausibly large values raise."""
    if pd.api.types.is_bool_dtype(returns):
        raise DataValidationError(
            f"returns are booleans (True/False), first at {_where(returns.index, 0)}; pass numeric returns "
            "(decimal fractions, 0.01 = 1 %)."
        )
    if not pd.api.types.is_numeric_dtype(returns):
        coerced = pd.to_numeric(returns, errors="coerce")
        bad = (coerced.isna() & returns.notna()).to_numpy()
        if bad.any():
            pos = int(bad.argmax())
            raise DataValidationError(
                f"returns are not numeric: {int(bad.sum())} non-numeric value(s), first {returns.iloc[pos]!r} at "
                f"{_where(returns.index, pos)}; convert them with pd.to_numeric or drop those rows."
            )
        returns = coerced
    values = returns.to_numpy(np.float64, na_value=np.nan)
    inf = np.isinf(values)
    if inf.any():
        pos = int(inf.argmax())
        raise DataValidationError(
            f"returns contain {int(inf.sum())} infinite value(s), first {float(values[pos])!r} at "
            f"{_where(returns.index, pos)}; "
            "replace them with NaN (those rows are then dropped) or fix the data."
        )
    if max_abs is not None:
        with np.errstate(invalid="ignore"):
            big = np.abs(values) > max_abs
        if big.any():
            pos = int(big.argmax())
            raise DataValidationError(
                f"returns have {int(big.sum())} value(s) of magnitude above {max_abs:g}, first "
                f"{float(values[pos])!r} at {_where(returns.index, pos)}; returns are expected as decimal fractions "
                "per period (0.01 = 1 %): check the units (percent instead of decimals? prices instead of "
                "returns?) or pass max_abs_return=None to skip this check."
            )
    return pd.Series(values, index=returns.index, name=returns.name)


def rank_transform(characteristics: pd.DataFrame) -> pd.DataFrame:
    """Cross-sectional rank of each characteristic per date, mapped to [−1, 1]; missing values become 0.

    A date with a single non-missing value maps it to 0.

    Parameters
    ----------
    characteristics : pandas.DataFrame
        Characteristics indexed by ``(date, asset)``, dates sorted.

    Returns
    -------
    pandas.DataFrame
        Same index and columns, float64 values in ``[-1, 1]``, no NaN.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["2020-01"], ["a", "b", "c", "d"]], names=["date", "asset"])
    >>> z = pd.DataFrame({"size": [10.0, 30.0, 20.0, np.nan]}, index=idx)
    >>> rank_transform(z)["size"].tolist()
    [-1.0, 1.0, 0.0, 0.0]
    """
    _check_long(characteristics, "characteristics")
    grouped = characteristics.groupby(level=0, sort=False)
    ranks = grouped.rank(method="average")
    counts = grouped.transform("count")
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = 2.0 * (ranks - 1.0) / (counts - 1.0) - 1.0
    scaled = scaled.where(counts > 1, 0.0)
    return scaled.fillna(0.0).astype(np.float64)


def managed_portfolios(returns: pd.Series, characteristics: pd.DataFrame, method: str = "gkx") -> pd.DataFrame:
    r"""Characteristic-managed portfolio returns, one row per date and one column per characteristic.

    ``characteristics`` at row ``(t, i)`` must already be the values known before the return at ``(t, i)`` (see
    :meth:`Panel.lag`). ``method='gkx'``: :math:`(Z_t^\top Z_t)^{-1} Z_t^\top r_t` (least-squares, Gu–Kelly–Xiu);
    ``'mean'``: :math:`Z_t^\top r_t / N_t`.

    Parameters
    ----------
    returns : pandas.Series
        Returns indexed by ``(date, asset)``.
    characteristics : pandas.DataFrame
        Lagged characteristics on the same index, without NaN.
    method : {"gkx", "mean"}, default "gkx"
        Least-squares portfolios or characteristic-weighted averages.

    Returns
    -------
    pandas.DataFrame
        Dates × characteristics.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["2020-01"], ["a", "b"]], names=["date", "asset"])
    >>> r = pd.Series([0.02, -0.02], index=idx)
    >>> z = pd.DataFrame({"mom": [1.0, -1.0]}, index=idx)
    >>> managed_portfolios(r, z, method="mean")["mom"].tolist()
    [0.02]
    """
    if method not in ("gkx", "mean"):
        raise ConfigError(f"method must be 'gkx' or 'mean', got {method!r}.")
    _check_long(characteristics, "characteristics")
    if not returns.index.equals(characteristics.index):
        raise DataValidationError(
            "returns and characteristics must share the same (date, asset) index; align them first, "
            "e.g. via Panel(...)."
        )
    rows = []
    dates = []
    r_all = returns.to_numpy(np.float64)
    z_all = characteristics.to_numpy(np.float64)
    index = characteristics.index
    assert isinstance(index, pd.MultiIndex)
    codes = np.asarray(index.codes[0])
    levels = index.levels[0]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for block in np.split(np.arange(len(codes)), bounds):
        if block.size == 0:
            continue
        z, r = z_all[block], r_all[block]
        if method == "mean":
            rows.append(z.T @ r / len(block))
        else:
            rows.append(np.linalg.lstsq(z, r, rcond=None)[0])
        dates.append(levels[codes[block[0]]])
    return pd.DataFrame(np.asarray(rows), index=pd.Index(dates, name=characteristics.index.names[0]),
                        columns=characteristics.columns)


class Panel:
    """Returns and characteristics of many assets over time, indexed by ``(date, asset)``.

    Parameters
    ----------
    returns : pandas.Series
        (Excess) return of each asset in each period, long ``(date, asset)`` index.
    characteristics : pandas.DataFrame
        Characteristics on the same index (any subset of rows; missing rows are NaN).
    min_assets : int
        Periods with fewer assets than this are dropped with a ``DataWarning`` (e.g. the number of factors).
    max_abs_return : float or None, default 10
        The largest plausible return magnitude of one period
        (:data:`~latentquant.validation.MAX_ABS_RETURN`: a 1,000 % simple return); a larger return is a units error
        and raises. ``None`` disables the check.

    Raises
    ------
    DataValidationError
        Returns that are non-numeric, boolean, infinite or above ``max_abs_return`` in magnitude (the message names
        the first ``(date, asset)``), non-numeric or infinite characteristics, a malformed index.

    Notes
    -----
    Rows without a return (NaN) are dropped with a warning and a count; a characteristic constant across the
    cross-section in some period is reported by :meth:`constant_characteristics` (after ranking it carries no
    information then).

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([pd.to_datetime(["2020-01-31", "2020-02-29"]), ["a", "b", "c"]],
    ...                                  names=["date", "asset"])
    >>> p = Panel(pd.Series([0.01, 0.02, -0.01, 0.03, 0.0, 0.01], index=idx),
    ...           pd.DataFrame({"mom": [1.0, 2.0, 3.0, 3.0, 2.0, 1.0]}, index=idx))
    >>> lagged = p.lag(1)  # characteristics of January explain February's returns
    >>> lagged.characteristics["mom"].tolist()
    [1.0, 2.0, 3.0]
    >>> lagged.n_periods, lagged.n_assets
    (1, 3)
    """

    def __init__(self, returns: pd.Series, characteristics: pd.DataFrame, *, min_assets: int = 1,
                 max_abs_return: float | None = MAX_ABS_RETURN) -> None:
        if not isinstance(returns, pd.Series):
            raise DataValidationError(f"returns must be a pandas Series, got {type(returns).__name__}.")
        if not isinstance(characteristics, pd.DataFrame):
            raise DataValidationError(
                f"characteristics must be a pandas DataFrame, got {type(characteristics).__name__}."
            )
        _check_long(returns, "returns")
        _check_long(characteristics, "characteristics")
        non_numeric = [c for c in characteristics.columns if not pd.api.types.is_numeric_dtype(characteristics[c])]
        if non_numeric:
            raise DataValidationError(f"characteristics column {non_numeric[0]!r} is not numeric; convert or drop it.")
        if not np.isfinite(characteristics.to_numpy(np.float64, na_value=0.0)).all():
            raise DataValidationError("characteristics contain infinite values; replace them with NaN.")
        returns = _check_returns(returns, max_abs_return)
        chars = characteristics.reindex(returns.index)
        missing = returns.isna()
        if missing.any():
            warnings.warn(f"Dropped {int(missing.sum())} (date, asset) rows without a return.", DataWarning,
                          stacklevel=2)
        keep = ~missing.to_numpy()
        r = returns[keep].astype(np.float64)
        chars = chars[keep]
        counts = r.groupby(level=0, sort=False).size()
        thin = counts.index[counts < min_assets]
        if len(thin):
            warnings.warn(f"Dropped {len(thin)} period(s) with fewer than {min_assets} assets (first "
                          f"{thin[0]!s}).", DataWarning, stacklevel=2)
            mask = ~r.index.get_level_values(0).isin(thin)
            r, chars = r[mask], chars[mask]
        if r.empty:
            raise DataValidationError("The panel has no rows left with a return; check the data.")
        self.returns = r.rename("ret")
        self.characteristics = chars.astype(np.float64)
        self.min_assets = min_assets
        self.max_abs_return = max_abs_return

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, return_col: str = "ret", **kwargs: Any) -> Panel:
        """Build from one long DataFrame indexed by ``(date, asset)`` with a return column."""
        if return_col not in frame.columns:
            columns = [str(c) for c in frame.columns]
            shown = ", ".join(map(repr, columns[:20])) + (f", ... ({len(columns)} in all)" if len(columns) > 20 else "")
            raise DataValidationError(
                f"frame has no return column {return_col!r}; its columns are {shown or '(none)'}; name the return "
                "column with the return_col option (Panel.from_frame(frame, return_col='<column>'))."
            )
        return cls(frame[return_col], frame.drop(columns=[return_col]), **kwargs)

    @property
    def dates(self) -> pd.Index:
        return self.returns.index.get_level_values(0).unique()

    @property
    def n_periods(self) -> int:
        return len(self.dates)

    @property
    def n_assets(self) -> int:
        return int(self.returns.index.get_level_values(1).nunique())

    def lag(self, periods: int = 1) -> Panel:
        """Align characteristics known ``periods`` periods earlier with each return: row ``(t, i)`` of the result
        holds :math:`z_{i,t-periods}` (periods are the panel's own dates, per asset). The first ``periods`` dates
        lose their characteristics and are dropped."""
        if not isinstance(periods, int) or isinstance(periods, bool) or periods < 0:
            raise ConfigError(f"periods must be a non-negative integer, got {periods!r}.")
        dates = self.dates
        position = pd.Series(np.arange(len(dates)), index=dates)
        chars = self.characteristics.copy()
        idx = chars.index
        pos = position.reindex(idx.get_level_values(0)).to_numpy() + periods
        valid = pos < len(dates)
        shifted = chars[valid]
        shifted.index = pd.MultiIndex.from_arrays(
            [dates[pos[valid]], idx.get_level_values(1)[valid]], names=idx.names)
        later = self.returns[self.returns.index.get_level_values(0).isin(dates[periods:])]
        return Panel(later, shifted.reindex(later.index), min_assets=self.min_assets,
                     max_abs_return=self.max_abs_return)

    def select(self, rows: np.ndarray) -> Panel:
        """The rows of the panel where the boolean mask ``rows`` is true (e.g. a window's dates)."""
        mask = np.asarray(rows, dtype=bool)
        if mask.shape != (len(self.returns),):
            raise DataValidationError(f"rows must be a boolean mask of length {len(self.returns)}, got {mask.shape}.")
        if not mask.any():
            raise DataValidationError("the selection is empty; no panel row matches.")
        return Panel(self.returns[mask], self.characteristics[mask], min_assets=self.min_assets,
                     max_abs_return=self.max_abs_return)

    def rank(self) -> Panel:
        """The panel with every characteristic rank-transformed to [−1, 1] per date (missing → 0)."""
        return Panel(self.returns, rank_transform(self.characteristics), min_assets=self.min_assets,
                     max_abs_return=self.max_abs_return)

    def with_constant(self, name: str = "const") -> Panel:
        """The panel with a characteristic equal to 1 on every row, appended last (after :meth:`rank`, which would
        map a constant to 0). It lets a conditional model price the cross-sectional average (the intercept of
        Kelly, Pruitt & Su's instruments)."""
        if name in self.characteristics.columns:
            raise ConfigError(f"the panel already has a characteristic named {name!r}; choose another name.")
        return Panel(self.returns, self.characteristics.assign(**{name: 1.0}), min_assets=self.min_assets,
                     max_abs_return=self.max_abs_return)

    def constant_characteristics(self) -> pd.DataFrame:
        """Per characteristic, the number of periods in which it does not vary across assets (ignoring NaN)."""
        distinct = self.characteristics.groupby(level=0, sort=False).nunique(dropna=True)
        return (distinct <= 1).sum().rename("constant_periods").to_frame()

    def managed_portfolios(self, method: str = "gkx") -> pd.DataFrame:
        """Characteristic-managed portfolios of this panel (see :func:`managed_portfolios`); missing → 0."""
        return managed_portfolios(self.returns, self.characteristics.fillna(0.0), method)

    def wide_returns(self) -> pd.DataFrame:
        """Returns as a dates × assets table (NaN where an asset has no return)."""
        return self.returns.unstack(level=1)
