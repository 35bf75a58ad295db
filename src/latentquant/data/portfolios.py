r"""Characteristic-sorted portfolios of a :class:`~latentquant.data.panel.Panel` (REFERENCE §4.1).

* :func:`decile_long_short` — per month and characteristic, half the difference between the equal-weighted mean
  return of the stocks in the top and in the bottom decile of that characteristic,
  :math:`\tfrac12(\bar r_{\text{top }10\%} - \bar r_{\text{bottom }10\%})`;
* :func:`portfolio_level` — any per-row quantity (returns, a model's fitted returns, residuals) aggregated into the
  characteristic-managed portfolios with the weights used for the returns, :math:`(Z_{t-1}^\top Z_{t-1})^{-1}
  Z_{t-1}^\top v_t` (``'gkx'``) or :math:`Z_{t-1}^\top v_t / N_t` (``'mean'``). Applied to the fitted returns
  :math:`\hat r_t` it gives the model-implied managed portfolios that the portfolio-level R² of Gu, Kelly & Xiu
  (2021, Table 1) compares with :math:`x_t`.

The panel's characteristics must already be aligned with the returns (row ``(t, i)`` holds :math:`z_{i,t-1}`, see
:meth:`~latentquant.data.panel.Panel.lag`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from latentquant.data.panel import Panel, managed_portfolios
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

__all__ = ["decile_long_short", "portfolio_level"]

_MIN_STOCKS = 10  # fewer stocks than this leave the decile empty


def _check_panel(panel: Any) -> Panel:
    if not isinstance(panel, Panel):
        raise DataValidationError(f"panel must be a latentquant Panel, got {type(panel).__name__}; build one with "
                                  "Panel(returns, characteristics).")
    if panel.characteristics.shape[1] == 0:
        raise DataValidationError("panel has no characteristics; pass a Panel with at least one characteristic "
                                  "column.")
    return panel


def decile_long_short(panel: Panel, characteristic: str | Sequence[str] | None = None) -> pd.DataFrame:
    r"""Long-short decile portfolio returns, one row per date and one column per characteristic.

    For date :math:`t` and characteristic :math:`j`, the :math:`N_{t,j}` stocks with a return and a non-missing
    value of :math:`j` are ranked by it and :math:`k = \lfloor N_{t,j}/10 \rfloor`; the return is
    :math:`\tfrac12(\text{mean return of ranks} > N_{t,j} - k \;-\; \text{mean return of ranks} \le k)`.

    Ties use average ranks, so tied stocks are either all in a decile or all out of it: a tied group straddling a
    cut-off belongs to the decile when its average rank is inside it (the decile then holds more than ``k`` stocks);
    a characteristic that is constant in a month leaves both deciles empty and gives NaN.

    Parameters
    ----------
    panel : Panel
        Returns and aligned characteristics (row ``(t, i)`` holds :math:`z_{i,t-1}`). Sort on the raw or on the
        rank-transformed values — the order is the same, except that rank-transformed missing values are 0 (the
        median) while raw missing values are left out.
    characteristic : str, sequence of str or None
        The characteristic(s) to sort on; ``None`` (default) uses every column.

    Returns
    -------
    pandas.DataFrame
        Dates × characteristics. Cells of months with fewer than 10 such stocks are NaN, with one ``DataWarning``
        counting them.

    Raises
    ------
    DataValidationError
        ``panel`` is not a Panel or has no characteristics.
    ConfigError
        An unknown characteristic name.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["2020-01"], range(20)], names=["date", "asset"])
    >>> r = pd.Series(np.arange(20) / 100.0, index=idx)
    >>> p = Panel(r, pd.DataFrame({"mom": np.arange(20.0)}, index=idx))
    >>> round(float(decile_long_short(p).loc["2020-01", "mom"]), 6)  # ½((0.18+0.19)/2 − (0.00+0.01)/2)
    0.09
    """
    panel = _check_panel(panel)
    chars = panel.characteristics
    if characteristic is None:
        columns = list(chars.columns)
    else:
        columns = [characteristic] if isinstance(characteristic, str) else list(characteristic)
        unknown = [c for c in columns if c not in chars.columns]
        if unknown or not columns:
            raise ConfigError(f"characteristic {unknown[0] if unknown else columns!r} is not a column of the panel "
                              f"(columns: {list(chars.columns)[:8]}…).")
    dates = panel.dates
    r = panel.returns
    out = {}
    thin_cells = 0
    first_thin = None
    for col in columns:
        z = chars[col]
        grouped = z.groupby(level=0, sort=False)
        rank = grouped.rank(method="average")
        n = grouped.transform("count")
        k = n // _MIN_STOCKS
        top = r.where(rank > n - k).groupby(level=0, sort=False).mean().reindex(dates)
        bottom = r.where(rank <= k).groupby(level=0, sort=False).mean().reindex(dates)
        spread = 0.5 * (top - bottom)
        n_month = grouped.count().reindex(dates).fillna(0)
        thin = n_month < _MIN_STOCKS
        if thin.any():
            thin_cells += int(thin.sum())
            first = dates[thin.to_numpy()][0]
            first_thin = first if first_thin is None or first < first_thin else first_thin
        out[col] = spread.where(~thin)
    if thin_cells:
        warnings.warn(f"decile_long_short: {thin_cells} (month, characteristic) cell(s) have fewer than "
                      f"{_MIN_STOCKS} stocks with a value (first month {first_thin!s}); they are NaN.",
                      DataWarning, stacklevel=2)
    frame = pd.DataFrame(out, index=dates, columns=columns)
    frame.index.name = r.index.names[0]
    return frame.astype(np.float64)


def portfolio_level(panel: Panel, values: pd.Series | np.ndarray, method: str = "gkx") -> pd.DataFrame:
    r"""Aggregate a per-row quantity into the panel's characteristic-managed portfolios, dates × characteristics.

    Uses the same weights as the managed portfolios of the returns
    (:func:`~latentquant.data.panel.managed_portfolios` with missing characteristics → 0), so
    ``portfolio_level(panel, panel.returns)`` equals ``panel.managed_portfolios(method)`` and
    ``portfolio_level(panel, model.fitted(panel))`` is the model-implied :math:`\hat x_t`. The map is linear in
    ``values``.

    Parameters
    ----------
    panel : Panel
        Returns and aligned characteristics.
    values : pandas.Series or numpy.ndarray
        One value per row of the panel: a Series on the panel's ``(date, asset)`` index (reordered to it; every row
        must be present and finite) or a 1-d array in the panel's row order.
    method : {'gkx', 'mean'}
        ``'gkx'``: :math:`(Z_t^\top Z_t)^{-1} Z_t^\top v_t`; ``'mean'``: :math:`Z_t^\top v_t / N_t`.

    Raises
    ------
    ConfigError
        Unknown ``method``.
    DataValidationError
        ``values`` missing rows of the panel, of the wrong length or not finite.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["2020-01"], ["a", "b"]], names=["date", "asset"])
    >>> p = Panel(pd.Series([0.02, -0.02], index=idx), pd.DataFrame({"mom": [1.0, -1.0]}, index=idx))
    >>> portfolio_level(p, pd.Series([0.01, 0.03], index=idx), method="mean")["mom"].round(6).tolist()
    [-0.01]
    """
    if method not in ("gkx", "mean"):
        raise ConfigError(f"method must be 'gkx' or 'mean', got {method!r}.")
    panel = _check_panel(panel)
    index = panel.returns.index
    if isinstance(values, pd.Series):
        v = values.reindex(index)
        if v.isna().any():
            first = index[v.isna().to_numpy()][0]
            raise DataValidationError(f"values have no (finite) value for {v.isna().sum()} row(s) of the panel "
                                      f"(first {first!r}); pass one value per (date, asset) row.")
        v = v.astype(np.float64)
    elif isinstance(values, np.ndarray):
        if values.ndim != 1 or len(values) != len(index):
            raise DataValidationError(f"values has shape {values.shape}, expected ({len(index)},): one value per row "
                                      "of the panel, in its order.")
        v = pd.Series(values.astype(np.float64), index=index)
    else:
        raise DataValidationError(f"values must be a pandas Series or a 1-d numpy array, got {type(values).__name__}.")
    if not np.isfinite(v.to_numpy()).all():
        raise DataValidationError("values contain NaN or infinite entries; pass finite values for every row.")
    return managed_portfolios(v, panel.characteristics.fillna(0.0), method)
