"""Performance metrics of return series: Sharpe ratio with confidence intervals, drawdowns, summary tables.

Conventions (REFERENCE §1, book Appendix A.4), stated again in every output:

* ``returns`` are *simple* per-period returns (``P_t / P_{t-1} - 1``), one value per period, no missing values.
* ``rf`` is an **annualised** yield in decimals (``0.05`` for 5%): either a scalar or one value per period aligned with
  ``returns``. The per-period risk-free return is ``rf / periods_per_year``, so excess returns are
  ``returns - rf / periods_per_year``. ``rf = 0`` (the default) is the right choice for dollar-neutral long-short books.
  A per-period risk-free *return* series (e.g. daily returns of a T-bill ETF such as BIL) is annualised first, as in the
  book: ``rf = bil_returns * periods_per_year``. Treasury yields quoted in percent (``load_treasury_yields``) must be
  divided by 100.
* Sharpe = mean(excess) / std(excess, ddof=1) × √``periods_per_year``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from latentquant.evaluation._series import (
    as_1d,
    check_ppy,
    check_simple,
    drawdown_of,
    excess_returns,
    resampled_sharpes,
    sharpe_per_period,
    stationary_bootstrap_indices,
)
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import check_aligned

__all__ = ["SharpeEstimate", "max_drawdown", "performance_summary", "sharpe_ci", "sharpe_ratio"]

ArrayLike1D = np.ndarray | pd.Series | list[float]
RiskFree = float | np.ndarray | pd.Series

_METHODS = ("asymptotic", "bootstrap")


# --------------------------------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------------------------------
def _check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, Real) or not 0.0 < float(level) < 1.0:
        raise ConfigError(f"level must be in (0, 1), got {level!r}; pass e.g. 0.95 for a 95% interval.")
    return float(level)


# --------------------------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------------------------
def sharpe_ratio(returns: ArrayLike1D, *, rf: RiskFree = 0.0, periods_per_year: float = 252) -> float:
    """Annualised Sharpe ratio of simple per-period returns.

    .. math::

        SR = \\frac{\\overline{r - r_f / P}}{\\operatorname{sd}(r - r_f / P)} \\sqrt{P}, \\qquad P =
        \\text{periods\\_per\\_year}

    with the sample standard deviation (``ddof=1``).

    Parameters
    ----------
    returns : array-like or pandas.Series
        Simple returns, one per period, no NaN.
    rf : float or array-like or pandas.Series
        Annualised risk-free yield in decimals: a scalar, or one value per period (a Series must have the same index
        as ``returns``). Each period's risk-free return is ``rf / periods_per_year``. Default 0 (dollar-neutral book).
    periods_per_year : float
        252 for daily, 52 weekly, 12 monthly returns.

    Returns
    -------
    float
        The annualised Sharpe ratio; divide by √``periods_per_year`` for the per-period value.

    Raises
    ------
    DataValidationError
        NaN/inf, fewer than 3 observations, constant excess returns, misaligned ``rf``.
    ConfigError
        Non-positive ``periods_per_year`` or non-finite scalar ``rf``.

    Examples
    --------
    >>> r = np.array([0.01, -0.01, 0.02, 0.0])
    >>> round(sharpe_ratio(r, periods_per_year=1), 6)   # mean 0.005 / sd 0.012910
    0.387298
    >>> round(sharpe_ratio(r, rf=0.04, periods_per_year=4), 6)   # 1% per period removed
    -0.774597
    """
    ppy = check_ppy(periods_per_year)
    x, index = as_1d(returns)
    e, _ = excess_returns(x, index, returns, rf, ppy)
    return sharpe_per_period(e) * math.sqrt(ppy)


@dataclass(frozen=True)
class SharpeEstimate:
    """An annualised Sharpe ratio with its standard error and a confidence interval.

    Attributes
    ----------
    sharpe : float
        Annualised point estimate.
    se : float
        Annualised standard error (asymptotic: Mertens' formula; bootstrap: std of the bootstrap replicates).
    low, high : float
        Confidence bounds (annualised).
    level : float
        Confidence level, e.g. 0.95.
    method : str
        ``"asymptotic"`` or ``"bootstrap"``.
    n_obs : int
        Number of periods used.
    periods_per_year : float
        Annualisation factor; the Sharpe is the per-period value × √``periods_per_year``.
    rf : str
        How the risk-free rate was handled, e.g. ``"rf=0"`` or ``"rf=BIL (annualised, /252 per period)"``.

    Examples
    --------
    >>> r = np.random.default_rng(0).normal(0.0005, 0.01, 2520)  # ten years of daily returns
    >>> est = sharpe_ci(r)
    >>> print(est)
    Sharpe 0.31 [-0.31, 0.93] (95% CI, asymptotic; rf=0, ×√252)
    >>> bool(np.isclose(est.sharpe, r.mean() / r.std(ddof=1) * np.sqrt(252)))
    True
    >>> bool(np.isclose(est.high - est.sharpe, 1.959964 * est.se)), est.n_obs
    (True, 2520)
    """

    sharpe: float
    se: float
    low: float
    high: float
    level: float
    method: str
    n_obs: int
    periods_per_year: float
    rf: str

    def __str__(self) -> str:
        return (
            f"Sharpe {self.sharpe:.2f} [{self.low:.2f}, {self.high:.2f}] "
            f"({self.level * 100:g}% CI, {self.method}; {self.rf}, ×√{self.periods_per_year:g})"
        )


def _stationary_bootstrap_sharpes(e: np.ndarray, n_boot: int, block: int, rng: np.random.Generator) -> np.ndarray:
    """Per-period Sharpe ratios of ``n_boot`` stationary-bootstrap resamples of ``e``."""
    return np.concatenate([resampled_sharpes(e[idx])
                           for idx in stationary_bootstrap_indices(e.size, n_boot, block, rng)])


def sharpe_ci(returns: ArrayLike1D, *, rf: RiskFree = 0.0, periods_per_year: float = 252, level: float = 0.95,
              method: Literal["asymptotic", "bootstrap"] = "asymptotic", n_boot: int = 2000,
              block: int | None = None, seed: int | None = 0) -> SharpeEstimate:
    """Sharpe ratio with a standard error and confidence interval.

    ``method="asymptotic"`` uses the standard error of Mertens (2002) for iid returns, which extends Lo (2002) to
    non-normal returns. With the per-period Sharpe :math:`SR`, sample skewness :math:`\\gamma_3` and (non-excess)
    kurtosis :math:`\\gamma_4` of the excess returns,

    .. math::

        \\operatorname{Var}(\\widehat{SR}) = \\frac{1 - \\gamma_3 SR + \\frac{\\gamma_4 - 1}{4} SR^2}{T},

    (for normal returns :math:`(1 + SR^2/2)/T`); the standard error is annualised by √``periods_per_year`` and the
    interval is :math:`\\widehat{SR} \\pm z_{(1+level)/2}\\,se`.

    ``method="bootstrap"`` resamples the excess returns with the stationary block bootstrap (circular, geometric block
    lengths of mean ``block``, default ``round(T ** (1/3))``) ``n_boot`` times and reports the percentile interval; the
    standard error is the standard deviation of the replicates. It keeps serial dependence up to about the block length
    and makes no normality assumption. ``seed`` feeds :func:`numpy.random.default_rng`.

    Parameters
    ----------
    returns, rf, periods_per_year
        As in :func:`sharpe_ratio`.
    level : float
        Confidence level in (0, 1).
    method : {"asymptotic", "bootstrap"}
    n_boot : int
        Bootstrap replicates (at least 100).
    block : int, optional
        Mean block length of the bootstrap, 1 ≤ block ≤ T (1 is the iid bootstrap).
    seed : int, optional
        Seed of the bootstrap generator; the same seed gives the same interval.

    Returns
    -------
    SharpeEstimate

    Examples
    --------
    Four years of iid daily returns with a true Sharpe of 1.27: the interval is wide.

    >>> rng = np.random.default_rng(0)
    >>> r = rng.normal(0.0008, 0.01, 1000)
    >>> est = sharpe_ci(r)
    >>> print(est)
    Sharpe 0.52 [-0.47, 1.50] (95% CI, asymptotic; rf=0, ×√252)
    >>> bool(est.low < sharpe_ratio(r) < est.high)
    True
    >>> print(sharpe_ci(r, method="bootstrap", seed=0))
    Sharpe 0.52 [-0.46, 1.50] (95% CI, bootstrap; rf=0, ×√252)
    """
    ppy = check_ppy(periods_per_year)
    lvl = _check_level(level)
    if method not in _METHODS:
        raise ConfigError(f"method must be 'asymptotic' or 'bootstrap', got {method!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, Integral) or n_boot < 100:
        raise ConfigError(f"n_boot must be an integer >= 100, got {n_boot!r}; 2000 is a good default.")
    x, index = as_1d(returns)
    e, rf_text = excess_returns(x, index, returns, rf, ppy)
    sr = sharpe_per_period(e)
    t = e.size
    scale = math.sqrt(ppy)
    if method == "asymptotic":
        if block is not None:
            raise ConfigError("block is only used by method='bootstrap'; drop it or pass method='bootstrap'.")
        g3 = float(stats.skew(e))
        g4 = float(stats.kurtosis(e, fisher=False))
        var = (1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr**2) / t
        se = math.sqrt(max(var, 0.0))
        z = float(stats.norm.ppf(0.5 + lvl / 2.0))
        low, high = sr - z * se, sr + z * se
    else:
        b = max(1, round(t ** (1.0 / 3.0))) if block is None else block
        if isinstance(b, bool) or not isinstance(b, Integral) or not 1 <= b <= t:
            raise ConfigError(f"block must be an integer in [1, {t}] (the number of observations), got {block!r}.")
        reps = _stationary_bootstrap_sharpes(e, int(n_boot), int(b), np.random.default_rng(seed))
        reps = reps[np.isfinite(reps)]
        if reps.size < 0.9 * n_boot:
            raise DataValidationError(
                f"only {reps.size} of {n_boot} bootstrap resamples had a defined Sharpe ratio (too few distinct "
                f"values among {t} observations, so many resamples are constant); use method='asymptotic' or a "
                "longer history."
            )
        se = float(reps.std(ddof=1))
        low, high = (float(q) for q in np.quantile(reps, [0.5 - lvl / 2.0, 0.5 + lvl / 2.0]))
    return SharpeEstimate(
        sharpe=sr * scale, se=se * scale, low=low * scale, high=high * scale, level=lvl, method=method,
        n_obs=t, periods_per_year=ppy, rf=rf_text,
    )


def max_drawdown(returns: ArrayLike1D) -> float:
    """Largest peak-to-trough loss of the compounded wealth curve, as a positive fraction.

    Wealth starts at 1 and compounds the simple ``returns``: :math:`W_t = \\prod_{s \\le t} (1 + r_s)`; the initial
    wealth counts as a peak, so a loss in the first period is a drawdown. 0 means wealth never fell below a previous
    high; 1 means total loss.

    Parameters
    ----------
    returns : array-like or pandas.Series
        One-dimensional simple returns per period, none below −1.

    Returns
    -------
    float

    Examples
    --------
    >>> round(max_drawdown([0.5, -0.2, -0.25, 1.0]), 12)   # wealth 1.5, 1.2, 0.9, 1.8: peak 1.5 to trough 0.9
    0.4
    >>> max_drawdown([0.01, 0.02])
    0.0
    """
    x, index = as_1d(returns, min_obs=1)
    check_simple(x, index)
    return drawdown_of(x)


def _summary_1d(returns: Any, rf: Any, ppy: float, level: float) -> tuple[pd.Series, str]:
    x, index = as_1d(returns)
    check_simple(x, index)
    e, rf_text = excess_returns(x, index, returns, rf, ppy)
    est = sharpe_ci(e, periods_per_year=ppy, level=level)
    t = x.size
    scale = math.sqrt(ppy)
    wealth_end = float(np.prod(1.0 + x))
    cagr = wealth_end ** (ppy / t) - 1.0
    downside = math.sqrt(float(np.mean(np.minimum(e, 0.0) ** 2)))
    mdd = drawdown_of(x)
    nan = float("nan")
    out = pd.Series({
        "ann_return": float(x.mean()) * ppy,
        "cagr": cagr,
        "ann_vol": float(x.std(ddof=1)) * scale,
        "sharpe": est.sharpe,
        "sharpe_low": est.low,
        "sharpe_high": est.high,
        "sortino": float(e.mean()) / downside * scale if downside > 0 else nan,
        "max_drawdown": mdd,
        "calmar": cagr / mdd if mdd > 0 else nan,
        "hit_rate": float(np.mean(x > 0)),
        "n_obs": float(t),
    }, name=returns.name if isinstance(returns, pd.Series) else None)
    return out, rf_text


def performance_summary(returns: ArrayLike1D | pd.DataFrame, *, rf: RiskFree = 0.0, periods_per_year: float = 252,
                        level: float = 0.95) -> pd.Series | pd.DataFrame:
    """Standard performance metrics of one return series, or of each column of a table.

    ==================  ===============================================================================================
    ``ann_return``      arithmetic mean return × ``periods_per_year``
    ``cagr``            compounded annual growth rate, :math:`W_T^{P/T} - 1` with :math:`W_T = \\prod (1 + r_t)`
    ``ann_vol``         std(returns, ddof=1) × √``periods_per_year``
    ``sharpe``          annualised Sharpe ratio of excess returns (see :func:`sharpe_ratio`)
    ``sharpe_low/high`` asymptotic (Mertens) confidence interval at ``level`` (see :func:`sharpe_ci`)
    ``sortino``         mean(excess) / downside deviation × √P, downside deviation :math:`\\sqrt{\\overline{\\min(e,
                        0)^2}}` over all periods; NaN when no period has a negative excess return
    ``max_drawdown``    largest peak-to-trough loss of compounded wealth, positive fraction (:func:`max_drawdown`)
    ``calmar``          ``cagr / max_drawdown``; NaN when there is no drawdown
    ``hit_rate``        share of periods with a return > 0
    ``n_obs``           number of periods
    ==================  ===============================================================================================

    ``ann_return``, ``cagr``, ``ann_vol``, ``max_drawdown`` and ``hit_rate`` use the raw returns; Sharpe and Sortino use
    excess returns ``returns - rf / periods_per_year``. The conventions are also stored in ``result.attrs``
    (``rf``, ``periods_per_year``, ``level``, ``sharpe_ci``).

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        Simple per-period returns without NaN; a DataFrame gives one row per column (e.g. per long-short portfolio).
    rf : float or array-like or pandas.Series
        Annualised risk-free yield (scalar, or one value per period aligned with ``returns``; applied to every column
        of a DataFrame).
    periods_per_year : float
        252 daily, 52 weekly, 12 monthly.
    level : float
        Confidence level of the Sharpe interval.

    Returns
    -------
    pandas.Series or pandas.DataFrame

    Examples
    --------
    >>> r = pd.Series([0.5, -0.2, -0.25, 1.0], name="toy")
    >>> s = performance_summary(r, periods_per_year=4)   # one year of quarterly returns
    >>> s[["ann_return", "cagr", "max_drawdown", "calmar", "hit_rate"]].round(4).to_dict()
    {'ann_return': 1.05, 'cagr': 0.8, 'max_drawdown': 0.4, 'calmar': 2.0, 'hit_rate': 0.5}
    >>> s.attrs["rf"]
    'rf=0'
    >>> df = pd.DataFrame({"a": [0.01, -0.02, 0.03], "b": [0.0, 0.01, -0.01]})
    >>> performance_summary(df).shape
    (2, 11)
    """
    ppy = check_ppy(periods_per_year)
    lvl = _check_level(level)
    attrs: dict[Hashable, Any] = {"periods_per_year": ppy, "level": lvl, "sharpe_ci": "asymptotic (Mertens 2002)"}
    if isinstance(returns, pd.DataFrame):
        if returns.shape[1] == 0:
            raise DataValidationError("returns is a DataFrame with no columns; pass at least one return series.")
        if isinstance(rf, pd.Series):
            check_aligned(returns, rf, names=("returns", "rf"))
        rows = []
        rf_text = ""
        for col in returns.columns:
            try:
                row, rf_text = _summary_1d(returns[col], rf, ppy, lvl)
            except DataValidationError as exc:
                raise DataValidationError(f"column {col!r}: {exc}") from None
            rows.append(row.rename(col))
        table = pd.DataFrame(rows)
        table.index.name = returns.columns.name
        table.attrs = {"rf": rf_text, **attrs}
        return table
    series, rf_text = _summary_1d(returns, rf, ppy, lvl)
    series.attrs = {"rf": rf_text, **attrs}
    return series
