r"""Statistics of a daily long-or-cash timing strategy, and of the best of many strategy variants.

Conventions (same as :mod:`latentquant.evaluation.portfolio`):

* Returns are *simple* per-period returns, one per period, no missing values.
* **Alignment.** ``asset_returns`` at date :math:`t` is the *forward* return :math:`y_t = P_{t+1}/P_t - 1` (the
  study's target at date :math:`t`), and the position :math:`w_t` decided at the close of :math:`t` (from information
  up to :math:`t`) earns it. So ``positions``, ``predictions`` and ``asset_returns`` share one index and are
  multiplied date by date, with no shift; the strategy return labelled :math:`t` is realised at :math:`t+1`.
* ``rf`` is an **annualised** yield in decimals (3M T-bill in percent / 100), a scalar or one value per date aligned
  with the returns; one period of cash earns ``rf / periods_per_year``.
* Sharpe = mean(excess) / std(excess, ddof=1) × √``periods_per_year``. The probabilistic and deflated Sharpe ratios
  work with the *per-period* Sharpe internally and take and report annualised values.

References
----------
Bailey, D. H. & López de Prado, M. (2012). The Sharpe Ratio Efficient Frontier. Journal of Risk 15(2).
Bailey, D. H. & López de Prado, M. (2014). The Deflated Sharpe Ratio: Correcting for Selection Bias, Backtest
Overfitting and Non-Normality. Journal of Portfolio Management 40(5).
Newey, W. K. & West, K. D. (1987, 1994). A Simple, Positive Semi-definite, Heteroskedasticity and Autocorrelation
Consistent Covariance Matrix; Automatic Lag Selection in Covariance Matrix Estimation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from latentquant.evaluation.portfolio import (
    ArrayLike1D,
    RiskFree,
    _as_1d,
    _check_ppy,
    _check_simple,
    _excess,
    _max_drawdown,
    _resampled_sharpes,
    _sharpe_per_period,
    _stationary_bootstrap_indices,
    _where,
)
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import check_aligned

__all__ = [
    "DeflatedSharpe",
    "SharpeDifference",
    "deflated_sharpe_ratio",
    "hit_rate",
    "long_cash_positions",
    "newey_west_lags",
    "probabilistic_sharpe_ratio",
    "regime_importance_test",
    "sharpe_difference_test",
    "strategy_returns",
    "timing_summary",
    "turnover",
]

EULER_GAMMA = 0.5772156649015329
_MIN_OBS = 3


# --------------------------------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------------------------------
def _pair(a: Any, b: Any, names: tuple[str, str], min_obs: int = 1) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    """Two finite 1-D series of equal length (same index when both are Series) and the common index."""
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        check_aligned(a, b, names=names)
    x, ix = _as_1d(a, name=names[0], min_obs=min_obs)
    y, iy = _as_1d(b, name=names[1], min_obs=min_obs)
    if x.size != y.size:
        raise DataValidationError(
            f"{names[0]} has {x.size} values but {names[1]} has {y.size}; pass one value per date for both, "
            f"e.g. as Series aligned with {names[0]}, {names[1]} = {names[0]}.align({names[1]}, join='inner')."
        )
    return x, y, ix if ix is not None else iy


def _cash_per_period(rf: Any, n: int, index: pd.Index | None, like: Any, ppy: float) -> np.ndarray:
    """Per-period cash return ``rf / ppy`` as an array of length ``n`` (validated like :func:`sharpe_ratio`'s rf)."""
    zeros = np.zeros(n)
    return zeros - _excess(zeros, index, like, rf, ppy)[0]


def _check_cost(cost_bps: Any) -> float:
    if isinstance(cost_bps, bool) or not isinstance(cost_bps, Real) or not math.isfinite(float(cost_bps)) \
            or float(cost_bps) < 0:
        raise ConfigError(
            f"cost_bps must be a finite number >= 0 (basis points per unit of position change), got {cost_bps!r}; "
            "pass e.g. 5 for 5 bp = 0.05% per full switch between cash and the asset."
        )
    return float(cost_bps)


def _check_threshold(threshold: Any) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not math.isfinite(float(threshold)):
        raise ConfigError(f"threshold must be a finite number (a return, e.g. 0.0), got {threshold!r}.")
    return float(threshold)


def _sharpe_or_nan(e: np.ndarray) -> float:
    try:
        return _sharpe_per_period(e)
    except DataValidationError:
        return float("nan")


def _wrap(values: np.ndarray, index: pd.Index | None, name: str) -> pd.Series:
    return pd.Series(values, index=index, name=name)


# --------------------------------------------------------------------------------------------------------------------
# positions, strategy returns, turnover, hit rate
# --------------------------------------------------------------------------------------------------------------------
def long_cash_positions(predictions: ArrayLike1D, threshold: float = 0.0) -> pd.Series:
    """Positions of the long-or-cash rule: 1 (long the asset) where the predicted next-period return exceeds
    ``threshold``, else 0 (cash).

    Parameters
    ----------
    predictions : array-like or pandas.Series
        Predicted forward returns, one per date (the prediction at :math:`t` is of :math:`P_{t+1}/P_t - 1`).
    threshold : float
        Strict threshold; a prediction equal to it gives cash. Default 0.

    Returns
    -------
    pandas.Series
        Float 0/1 positions named ``"position"``, with the index of ``predictions`` (a RangeIndex for arrays).

    Examples
    --------
    >>> long_cash_positions([0.002, -0.001, 0.0, 0.004]).tolist()
    [1.0, 0.0, 0.0, 1.0]
    """
    thr = _check_threshold(threshold)
    p, index = _as_1d(predictions, name="predictions", min_obs=1)
    return _wrap((p > thr).astype(np.float64), index, "position")


def strategy_returns(positions: ArrayLike1D, asset_returns: ArrayLike1D, *, rf: RiskFree = 0.0,
                     cost_bps: float = 0.0, periods_per_year: float = 252) -> pd.Series:
    r"""Per-period returns of a strategy holding ``positions`` in the asset and the rest in cash.

    .. math::

        r_t = w_t\,y_t + (1 - w_t)\,\frac{r_{f,t}}{P} - \frac{c}{10^4}\,\lvert w_t - w_{t-1}\rvert,
        \qquad w_{-1} = 0,

    where :math:`y_t = P_{t+1}/P_t - 1` is the asset's forward return stored at date :math:`t` (see the module
    docstring), :math:`w_t` the position chosen at the close of :math:`t`, :math:`P` = ``periods_per_year`` and
    :math:`c` = ``cost_bps``. A trade made at the close of :math:`t` is charged in the return labelled :math:`t`,
    and the strategy starts in cash, so entering the first position is a trade. Fractional or negative positions are
    allowed: the cash weight is always :math:`1 - w_t` (a short position's proceeds earn the cash rate).

    Parameters
    ----------
    positions : array-like or pandas.Series
        Position per date (1 long, 0 cash for :func:`long_cash_positions`).
    asset_returns : array-like or pandas.Series
        Forward simple returns of the asset, same dates (a Series must have the same index as ``positions``).
    rf : float or array-like or pandas.Series
        Annualised cash yield in decimals: a scalar or one value per date (e.g. the 3M T-bill in percent / 100, the
        yield at date :math:`t` applying over :math:`t \to t+1`). Default 0: cash earns nothing.
    cost_bps : float
        Transaction cost in basis points per unit of :math:`\lvert \Delta w \rvert` (a full switch cash → asset costs
        ``cost_bps`` bp).
    periods_per_year : float
        252 for daily data.

    Returns
    -------
    pandas.Series
        Strategy returns named ``"strategy"`` with the index of ``positions`` (or ``asset_returns``).

    Raises
    ------
    DataValidationError
        NaN/inf, different lengths or indexes, asset returns below -1.
    ConfigError
        Negative or non-finite ``cost_bps``, bad ``periods_per_year`` or ``rf``.

    Examples
    --------
    Long, long, cash, long over four days; cash yields 2.52% a year (0.01% a day); 10 bp per switch:

    >>> r = strategy_returns([1, 1, 0, 1], [0.01, -0.02, 0.03, 0.01], rf=0.0252, cost_bps=10)
    >>> [round(v, 6) for v in r]
    [0.009, -0.02, -0.0009, 0.009]
    """
    ppy = _check_ppy(periods_per_year)
    c = _check_cost(cost_bps) / 1e4
    w, y, index = _pair(positions, asset_returns, ("positions", "asset_returns"))
    _check_simple(y, index, name="asset_returns")
    like = positions if isinstance(positions, pd.Series) else asset_returns
    cash = _cash_per_period(rf, y.size, index, like, ppy)
    trades = np.abs(np.diff(w, prepend=0.0))
    return _wrap(w * y + (1.0 - w) * cash - c * trades, index, "strategy")


def turnover(positions: ArrayLike1D, *, periods_per_year: float | None = None) -> float:
    r"""Average absolute position change per period, :math:`\frac1T \sum_{t=0}^{T-1} \lvert w_t - w_{t-1} \rvert`
    with :math:`w_{-1} = 0`.

    The entry into the first position counts, as in :func:`strategy_returns`, so that total trading cost is
    ``cost_bps / 1e4 × turnover × T``. With ``periods_per_year`` the value is annualised (× ``periods_per_year``),
    in one-way position units a year: 0.1 a day is 25.2 a year at 252 days (about 12.6 round trips cash → asset →
    cash).

    Examples
    --------
    >>> turnover([1, 1, 0, 1, 1])          # entry, exit, re-entry: 3 changes over 5 days
    0.6
    >>> round(turnover([1, 1, 0, 1, 1], periods_per_year=252), 6)
    151.2
    """
    w, _ = _as_1d(positions, name="positions", min_obs=1)
    value = float(np.mean(np.abs(np.diff(w, prepend=0.0))))
    if periods_per_year is None:
        return value
    return value * _check_ppy(periods_per_year)


def hit_rate(predictions: ArrayLike1D, realised: ArrayLike1D) -> float:
    """Share of periods in which the predicted and the realised return have the same sign.

    Periods with a realised return of exactly 0 (market holidays carried forward, unchanged closes) are left out of
    numerator and denominator, since no direction call can be right or wrong there. A prediction of exactly 0 has no
    sign and counts as a miss.

    Parameters
    ----------
    predictions : array-like or pandas.Series
        Predicted forward returns (or any score whose sign is the call).
    realised : array-like or pandas.Series
        Realised forward returns, same dates.

    Examples
    --------
    >>> hit_rate([0.1, -0.2, 0.3, 0.1, 0.0], [0.01, 0.02, 0.03, 0.0, -0.01])   # day 4 dropped: 2 hits of 4
    0.5
    """
    p, y, _ = _pair(predictions, realised, ("predictions", "realised"))
    keep = y != 0
    if not keep.any():
        raise DataValidationError(
            f"all {y.size} realised returns are exactly 0, so no direction call can be scored; check that realised "
            "holds returns, not a placeholder."
        )
    return float(np.mean(np.sign(p[keep]) == np.sign(y[keep])))


# --------------------------------------------------------------------------------------------------------------------
# probabilistic and deflated Sharpe ratios
# --------------------------------------------------------------------------------------------------------------------
def _psr(sr: float, sr_star: float, n_obs: int, skew: float, kurt: float) -> float:
    """PSR from per-period Sharpe ``sr``, benchmark ``sr_star``, sample size and moments (kurt non-excess)."""
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if not var > 0:
        raise DataValidationError(
            f"the variance term 1 - skew·SR + (kurt-1)/4·SR² is {var!r} <= 0 (skew {skew:.3g}, kurtosis {kurt:.3g}, "
            f"SR {sr:.3g} per period); the returns are degenerate (e.g. two distinct values), pass a longer history."
        )
    return float(stats.norm.cdf((sr - sr_star) * math.sqrt(n_obs - 1) / math.sqrt(var)))


def _expected_max_sharpe(var: float, n_trials: int) -> float:
    """Expected maximum of ``n_trials`` iid N(0, var) Sharpe ratios (Bailey & López de Prado 2014, eq. for SR0)."""
    if n_trials == 1:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(var) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def _moments(returns: Any, rf: Any, ppy: float) -> tuple[np.ndarray, float, float, float]:
    x, index = _as_1d(returns, min_obs=_MIN_OBS)
    e, _ = _excess(x, index, returns, rf, ppy)
    sr = _sharpe_per_period(e)
    return e, sr, float(stats.skew(e)), float(stats.kurtosis(e, fisher=False))


def probabilistic_sharpe_ratio(returns: ArrayLike1D, benchmark_sharpe: float | ArrayLike1D = 0.0, *,
                               rf: RiskFree = 0.0, periods_per_year: float = 252) -> float:
    r"""Probability that the true Sharpe ratio exceeds a benchmark (Bailey & López de Prado 2012).

    .. math::

        \widehat{PSR}(SR^*) = \Phi\!\left(\frac{(\widehat{SR} - SR^*)\sqrt{T-1}}
        {\sqrt{1 - \hat\gamma_3 \widehat{SR} + \frac{\hat\gamma_4 - 1}{4}\widehat{SR}^2}}\right)

    with the per-period Sharpe :math:`\widehat{SR}` of the excess returns, their sample skewness :math:`\hat\gamma_3`
    and (non-excess) kurtosis :math:`\hat\gamma_4`, and the benchmark converted to per period,
    :math:`SR^* = SR^*_{\text{annual}} / \sqrt{P}`. The statistic assumes iid returns; PSR = 0.5 when
    :math:`\widehat{SR} = SR^*`, and ``PSR > 0.95`` rejects :math:`SR \le SR^*` at the 5% level (one-sided).

    Parameters
    ----------
    returns : array-like or pandas.Series
        Simple per-period returns of the strategy.
    benchmark_sharpe : float or array-like or pandas.Series
        The annualised benchmark Sharpe ratio :math:`SR^*`, or a benchmark *return series* (e.g. buy-and-hold) over
        the same dates, whose annualised Sharpe (same ``rf``) is then used as :math:`SR^*`. The benchmark's Sharpe is
        treated as known, without estimation error, so this is not a test of the difference of two estimated Sharpe
        ratios (that would need their joint distribution) and overstates significance somewhat.
    rf : float or array-like or pandas.Series
        Annualised risk-free yield (see :func:`~latentquant.evaluation.sharpe_ratio`).
    periods_per_year : float
        252 daily.

    Returns
    -------
    float
        The probability :math:`\widehat{PSR}` in [0, 1].

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = rng.normal(0.0008, 0.01, 1000)                   # sample Sharpe 0.52 a year
    >>> round(probabilistic_sharpe_ratio(r), 3)               # P[SR > 0]
    0.849
    >>> from latentquant.evaluation import sharpe_ratio
    >>> round(probabilistic_sharpe_ratio(r, sharpe_ratio(r)), 3)
    0.5
    """
    ppy = _check_ppy(periods_per_year)
    e, sr, g3, g4 = _moments(returns, rf, ppy)
    if isinstance(benchmark_sharpe, np.ndarray) and benchmark_sharpe.ndim == 0:
        benchmark_sharpe = benchmark_sharpe.item()
    if isinstance(benchmark_sharpe, bool):
        raise ConfigError(f"benchmark_sharpe must be an annualised Sharpe ratio or a return series, got "
                          f"{benchmark_sharpe!r}.")
    if isinstance(benchmark_sharpe, Real):
        if not math.isfinite(float(benchmark_sharpe)):
            raise ConfigError(f"benchmark_sharpe must be finite, got {benchmark_sharpe!r}; pass e.g. 0.0 or 0.5.")
        sr_star = float(benchmark_sharpe) / math.sqrt(ppy)
    else:
        b, _, index = _pair(benchmark_sharpe, returns, ("benchmark_sharpe", "returns"), min_obs=_MIN_OBS)
        like = benchmark_sharpe if isinstance(benchmark_sharpe, pd.Series) else returns
        sr_star = _sharpe_per_period(_excess(b, index, like, rf, ppy)[0])
    return _psr(sr, sr_star, e.size, g3, g4)


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio of the selected strategy.

    Attributes
    ----------
    dsr : float
        Probability that the true Sharpe ratio exceeds ``sr0``, i.e. PSR(``sr0``).
    sr0 : float
        Annualised Sharpe ratio expected of the best of ``n_trials`` skill-less trials.
    sharpe : float
        Annualised Sharpe ratio of the selected strategy.
    n_trials : int
        Number of (independent) trials used for the deflation.
    n_obs : int
        Number of return periods.
    periods_per_year : float
        Annualisation factor.
    """

    dsr: float
    sr0: float
    sharpe: float
    n_trials: int
    n_obs: int
    periods_per_year: float

    def __str__(self) -> str:
        return (f"DSR {self.dsr:.3f} (Sharpe {self.sharpe:.2f} vs SR0 {self.sr0:.2f} expected of the best of "
                f"{self.n_trials} trials; T={self.n_obs}, ×√{self.periods_per_year:g})")


def deflated_sharpe_ratio(returns: ArrayLike1D, trial_sharpes: ArrayLike1D, *, n_trials: int | None = None,
                          rf: RiskFree = 0.0, periods_per_year: float = 252) -> DeflatedSharpe:
    r"""Deflated Sharpe ratio: the PSR of the selected strategy against the Sharpe ratio expected of the best of
    :math:`N` trials without skill (Bailey & López de Prado 2014).

    .. math::

        SR_0 = \sqrt{V[\{\widehat{SR}_n\}]}\left((1-\gamma)\,\Phi^{-1}\!\left(1 - \tfrac1N\right) +
        \gamma\,\Phi^{-1}\!\left(1 - \tfrac{1}{N e}\right)\right), \qquad DSR = \widehat{PSR}(SR_0),

    with :math:`\gamma` the Euler–Mascheroni constant and :math:`V` the sample variance (``ddof=1``) of the trials'
    per-period Sharpe ratios (``trial_sharpes`` / √``periods_per_year``). ``sr0`` is reported annualised.

    With one trial there is nothing to deflate: the expected maximum of a single zero-mean draw is 0, so ``sr0 = 0``
    and the DSR equals ``probabilistic_sharpe_ratio(returns, 0.0)`` (the formula itself would give
    :math:`\Phi^{-1}(0) = -\infty`). Trials with identical Sharpe ratios also give ``sr0 = 0``.

    Parameters
    ----------
    returns : array-like or pandas.Series
        Simple per-period returns of the selected strategy (usually the best trial).
    trial_sharpes : array-like
        Annualised Sharpe ratios of all trials tried, the selected one included, computed with the same ``rf`` and
        ``periods_per_year``. Their dispersion estimates :math:`V`.
    n_trials : int, optional
        Number of *independent* trials :math:`N` when fewer than ``len(trial_sharpes)`` (e.g. after clustering
        correlated variants); default ``len(trial_sharpes)``.
    rf, periods_per_year
        As in :func:`probabilistic_sharpe_ratio`.

    Returns
    -------
    DeflatedSharpe

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = rng.normal(0.0008, 0.01, 1000)
    >>> out = deflated_sharpe_ratio(r, trial_sharpes=[0.52, 0.1, -0.3, 0.25, 0.4])
    >>> round(out.sr0, 3), round(out.dsr, 3), out.n_trials
    (0.379, 0.61, 5)
    """
    ppy = _check_ppy(periods_per_year)
    trials, _ = _as_1d(trial_sharpes, name="trial_sharpes", min_obs=1)
    n = trials.size if n_trials is None else n_trials
    if isinstance(n, bool) or not isinstance(n, Integral) or not 1 <= n <= trials.size:
        raise ConfigError(
            f"n_trials must be an integer in [1, {trials.size}] (the number of trial Sharpe ratios), got {n_trials!r}; "
            "leave it None to use len(trial_sharpes)."
        )
    n = int(n)
    e, sr, g3, g4 = _moments(returns, rf, ppy)
    var = float(np.var(trials / math.sqrt(ppy), ddof=1)) if trials.size > 1 else 0.0
    sr0 = _expected_max_sharpe(var, n)
    return DeflatedSharpe(dsr=_psr(sr, sr0, e.size, g3, g4), sr0=sr0 * math.sqrt(ppy), sharpe=sr * math.sqrt(ppy),
                          n_trials=n, n_obs=e.size, periods_per_year=ppy)


@dataclass(frozen=True)
class SharpeDifference:
    """Paired-bootstrap comparison of two Sharpe ratios on the same dates (annualised values).

    Attributes
    ----------
    difference : float
        Sharpe of ``returns`` minus Sharpe of ``benchmark``.
    se, low, high : float
        Bootstrap standard error and percentile interval of the difference at ``level``.
    p_value : float
        Two-sided p-value of "no difference": the share of centred bootstrap differences at least as far from 0 as
        the observed one.
    """

    difference: float
    se: float
    low: float
    high: float
    p_value: float
    level: float
    n_obs: int
    n_boot: int
    block: int
    periods_per_year: float

    def __str__(self) -> str:
        return (f"ΔSharpe {self.difference:+.3f} [{self.low:.3f}, {self.high:.3f}] ({self.level:.0%}), "
                f"p = {self.p_value:.3f} (paired stationary bootstrap, block {self.block}, "
                f"×√{self.periods_per_year:g})")


def sharpe_difference_test(returns: ArrayLike1D, benchmark: ArrayLike1D, *, rf: RiskFree = 0.0,
                           periods_per_year: float = 252, level: float = 0.95, n_boot: int = 2000,
                           block: int | None = None, seed: int | None = 0) -> SharpeDifference:
    r"""Is the Sharpe ratio of ``returns`` different from that of ``benchmark`` (same dates)?

    Both series are resampled with the *same* stationary-bootstrap indices (circular, geometric blocks of mean
    ``block``, default :math:`\lfloor T^{1/3}\rceil`), which keeps their correlation and serial dependence; a timing
    strategy and buy-and-hold are strongly correlated, so comparing two separate intervals would be far too
    conservative. The p-value is that of the centred bootstrap distribution:
    :math:`P^*(|\Delta^* - \hat\Delta| \ge |\hat\Delta|)`.

    Parameters
    ----------
    returns, benchmark : array-like or pandas.Series
        Simple per-period returns on the same dates (Series must share the index).
    rf, periods_per_year
        As in :func:`~latentquant.evaluation.sharpe_ratio`; ``rf`` applies to both.
    level : float
        Level of the percentile interval.
    n_boot, block, seed
        Bootstrap replicates (>= 100), mean block length, seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    SharpeDifference

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> market = rng.normal(0.0004, 0.01, 1500)
    >>> timing = np.where(rng.random(1500) < 0.7, market, 0.0)
    >>> out = sharpe_difference_test(timing, market, n_boot=500)
    >>> bool(out.low < out.difference < out.high), 0 <= out.p_value <= 1
    (True, True)
    """
    ppy = _check_ppy(periods_per_year)
    if isinstance(level, bool) or not isinstance(level, Real) or not 0 < float(level) < 1:
        raise ConfigError(f"level must be in (0, 1), e.g. 0.95, got {level!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, Integral) or n_boot < 100:
        raise ConfigError(f"n_boot must be an integer >= 100, got {n_boot!r}.")
    a, b, index = _pair(returns, benchmark, ("returns", "benchmark"), min_obs=_MIN_OBS)
    like = returns if isinstance(returns, pd.Series) else benchmark
    ea = _excess(a, index, like, rf, ppy)[0]
    eb = _excess(b, index, like, rf, ppy)[0]
    t = ea.size
    blk = max(1, round(t ** (1.0 / 3.0))) if block is None else block
    if isinstance(blk, bool) or not isinstance(blk, Integral) or not 1 <= blk <= t:
        raise ConfigError(f"block must be an integer in [1, {t}] (the number of observations), got {block!r}.")
    observed = _sharpe_per_period(ea) - _sharpe_per_period(eb)
    rng = np.random.default_rng(seed)
    reps = np.concatenate([_resampled_sharpes(ea[idx]) - _resampled_sharpes(eb[idx])
                           for idx in _stationary_bootstrap_indices(t, int(n_boot), int(blk), rng)])
    reps = reps[np.isfinite(reps)]
    if reps.size < 0.9 * n_boot:
        raise DataValidationError(
            f"only {reps.size} of {n_boot} bootstrap resamples had defined Sharpe ratios for both series (too few "
            f"distinct values among {t} observations, e.g. a strategy almost always in cash); use a longer history."
        )
    lvl = float(level)
    low, high = (float(q) for q in np.quantile(reps, [0.5 - lvl / 2.0, 0.5 + lvl / 2.0]))
    p_value = float(np.mean(np.abs(reps - observed) >= abs(observed)))
    scale = math.sqrt(ppy)
    return SharpeDifference(difference=observed * scale, se=float(reps.std(ddof=1)) * scale, low=low * scale,
                            high=high * scale, p_value=p_value, level=lvl, n_obs=t, n_boot=int(n_boot),
                            block=int(blk), periods_per_year=ppy)


# --------------------------------------------------------------------------------------------------------------------
# importance in regimes
# --------------------------------------------------------------------------------------------------------------------
def newey_west_lags(n_obs: int) -> int:
    r"""Default Newey–West lag: :math:`\lfloor 4 (T/100)^{2/9} \rfloor` (Newey & West 1994; statsmodels' default).

    Examples
    --------
    >>> newey_west_lags(100), newey_west_lags(2000)
    (4, 7)
    """
    return math.floor(4.0 * (n_obs / 100.0) ** (2.0 / 9.0))


def _hac_slope(y: np.ndarray, d: np.ndarray, lags: int) -> tuple[float, float]:
    """OLS of ``y`` on [1, d]: the slope and its Newey–West (Bartlett) standard error, no small-sample correction."""
    x = np.column_stack([np.ones_like(d), d])
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ (x.T @ y)
    scores = x * (y - x @ beta)[:, None]
    s = scores.T @ scores
    for lag in range(1, lags + 1):
        g = scores[lag:].T @ scores[:-lag]
        s += (1.0 - lag / (lags + 1.0)) * (g + g.T)
    cov = xtx_inv @ s @ xtx_inv
    return float(beta[1]), math.sqrt(max(float(cov[1, 1]), 0.0))


def regime_importance_test(importance: pd.DataFrame, regime: pd.Series, *, lags: int | None = None) -> pd.DataFrame:
    r"""Does each feature's importance differ between two regimes? Means and a Newey–West t-test of the difference.

    For each column :math:`a_t` of ``importance`` the regression

    .. math::

        a_t = \alpha + \delta\,D_t + u_t, \qquad D_t = 1[\text{regime}_t]

    gives :math:`\hat\delta = \bar a_{\text{high}} - \bar a_{\text{low}}` exactly. Its standard error is the
    Newey–West HAC estimate with Bartlett weights :math:`1 - \ell/(L+1)` and, by default,
    :math:`L = \lfloor 4 (T/100)^{2/9} \rfloor` lags (:func:`newey_west_lags`), without small-sample correction;
    the p-value is two-sided from the normal distribution. This equals ``statsmodels``'
    ``OLS(a, [1, D]).fit(cov_type="HAC", cov_kwds={"maxlags": L})``. HAC errors matter here because per-sample
    attention importances and regime indicators (VIX above its median) are both strongly persistent; iid t-tests
    would be far too confident. Prefer a larger ``lags`` when regimes last months.

    Parameters
    ----------
    importance : pandas.DataFrame
        Dates × features, e.g. per-sample attention column sums; no NaN; dates in time order, equally spaced.
    regime : pandas.Series
        Boolean (or 0/1) per date with the same index: True for the "high" regime (e.g. ``vix > vix.median()``).
    lags : int, optional
        Newey–West lag :math:`L \ge 0` (0 gives White's heteroskedasticity-robust errors).

    Returns
    -------
    pandas.DataFrame
        Features × [``mean_high``, ``mean_low``, ``diff``, ``t_stat``, ``p_value``]; ``diff = mean_high - mean_low``.
        ``attrs`` holds ``lags``, ``n_high``, ``n_low``. ``t_stat`` and ``p_value`` are NaN for a column whose
        residuals are all zero (constant within both regimes).

    Examples
    --------
    >>> dates = pd.bdate_range("2020-01-01", periods=200)
    >>> high = pd.Series(np.arange(200) % 40 < 20, index=dates)        # regimes of 20 days
    >>> rng = np.random.default_rng(0)
    >>> imp = pd.DataFrame({"vix": 0.5 + 0.2 * high + rng.normal(0, 0.1, 200),
    ...                     "rsi": 0.5 + rng.normal(0, 0.1, 200)}, index=dates)
    >>> out = regime_importance_test(imp, high)
    >>> out["diff"].round(2).to_dict()
    {'vix': 0.21, 'rsi': 0.02}
    >>> bool(out.loc["vix", "p_value"] < 0.001), bool(out.loc["rsi", "p_value"] > 0.05), out.attrs["lags"]
    (True, True, 4)
    """
    if not isinstance(importance, pd.DataFrame):
        raise DataValidationError(
            f"importance must be a pandas DataFrame (dates × features), got {type(importance).__name__}; wrap it with "
            "pd.DataFrame(values, index=dates, columns=features)."
        )
    if not isinstance(regime, pd.Series):
        raise DataValidationError(
            f"regime must be a boolean pandas Series on the dates of importance, got {type(regime).__name__}; "
            "e.g. regime = vix > vix.median()."
        )
    if importance.shape[1] == 0:
        raise DataValidationError("importance has no columns; pass at least one feature.")
    check_aligned(importance, regime, names=("importance", "regime"))
    if not (importance.index.is_monotonic_increasing and importance.index.is_unique):
        raise DataValidationError(
            "importance dates must be unique and sorted ascending: the Newey–West errors weight neighbouring rows "
            "as neighbouring periods; call importance.sort_index() (and regime.sort_index()) first."
        )
    if regime.isna().any():
        first = _where(regime.index, int(np.argmax(regime.isna().to_numpy())))
        raise DataValidationError(
            f"regime has missing values (first at {first}); decide the regime of every date, "
            "e.g. regime.fillna(False)."
        )
    if pd.api.types.is_bool_dtype(regime):
        d = regime.to_numpy(dtype=np.float64)
    else:
        vals = pd.to_numeric(regime, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isin(vals, (0.0, 1.0)).all():
            raise DataValidationError(
                "regime must be boolean or 0/1 (1 = high regime); threshold a level first, e.g. vix > vix.median()."
            )
        d = vals
    n_high, t = int(d.sum()), d.size
    n_low = t - n_high
    if min(n_high, n_low) < 2:
        raise DataValidationError(
            f"regime has {n_high} high and {n_low} low date(s); each regime needs at least 2 dates to compare means, "
            "choose another threshold or a longer sample."
        )
    if lags is None:
        lag = newey_west_lags(t)
    elif isinstance(lags, bool) or not isinstance(lags, Integral) or not 0 <= lags < t:
        raise ConfigError(f"lags must be an integer in [0, {t - 1}] (T - 1), got {lags!r}; None uses "
                          f"floor(4 (T/100)^(2/9)) = {newey_west_lags(t)}.")
    else:
        lag = int(lags)
    rows = {}
    for col in importance.columns:
        try:
            y, _ = _as_1d(importance[col], name=f"importance[{col!r}]", min_obs=_MIN_OBS)
        except DataValidationError as exc:
            raise DataValidationError(f"column {col!r}: {exc}") from None
        diff, se = _hac_slope(y, d, lag)
        t_stat = diff / se if se > 0 else float("nan")
        p = float(2.0 * stats.norm.sf(abs(t_stat))) if se > 0 else float("nan")
        high = d == 1.0
        rows[col] = {"mean_high": float(y[high].mean()), "mean_low": float(y[~high].mean()), "diff": diff,
                     "t_stat": t_stat, "p_value": p}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = importance.columns.name
    out.attrs = {"lags": lag, "n_high": n_high, "n_low": n_low, "se": "Newey-West (Bartlett), normal p-values"}
    return out


# --------------------------------------------------------------------------------------------------------------------
# summary of many strategies
# --------------------------------------------------------------------------------------------------------------------
def timing_summary(predictions: pd.DataFrame, asset_returns: pd.Series, *, threshold: float = 0.0,
                   rf: RiskFree = 0.0, cost_bps: float = 0.0, periods_per_year: float = 252,
                   buy_and_hold: bool = True) -> pd.DataFrame:
    r"""One row per predictor of the long-or-cash strategy it drives, plus buy-and-hold.

    Each column of ``predictions`` gives positions ``long_cash_positions(col, threshold)`` traded on
    ``asset_returns`` (forward returns at the same dates) with ``cost_bps``. Two Sharpe conventions are reported,
    because the seed study's "no rf" numbers and an honest excess-return Sharpe differ when rates are not zero:

    ===================  ==============================================================================================
    ``sharpe_rf0``       cash earns 0 and Sharpe of the raw strategy returns (the seed study's convention)
    ``sharpe_excess``    cash earns ``rf`` and Sharpe of the excess returns over ``rf`` (equal to ``sharpe_rf0`` when
                         ``rf = 0``)
    ``psr``              :func:`probabilistic_sharpe_ratio` of the excess returns against 0
    ``ann_return``       mean strategy return (cash earning ``rf``) × ``periods_per_year``
    ``ann_vol``          std(strategy returns, ddof=1) × √``periods_per_year``
    ``max_drawdown``     largest peak-to-trough loss of the compounded strategy returns
    ``hit_rate``         :func:`hit_rate` of the predictions against ``asset_returns`` (buy-and-hold: share of up days)
    ``time_in_market``   mean position
    ``turnover``         annualised :func:`turnover` (one-way position units a year, entry included)
    ``n_obs``            number of periods
    ===================  ==============================================================================================

    Sharpe ratios and PSR are NaN for a strategy whose returns are constant (e.g. never invested with a constant
    ``rf``), instead of an error, so that one dead predictor does not stop the table.

    To correct the best row's Sharpe for having tried all rows, pass ``table["sharpe_excess"]`` (without the
    buy-and-hold row) to :func:`deflated_sharpe_ratio`.

    Examples
    --------
    >>> dates = pd.bdate_range("2020-01-01", periods=250)
    >>> y = pd.Series(np.random.default_rng(0).normal(0.0005, 0.01, 250), index=dates)
    >>> preds = pd.DataFrame({"oracle": y, "always_out": -1.0 + 0 * y})
    >>> table = timing_summary(preds, y, rf=0.02)
    >>> table.index.tolist()
    ['oracle', 'always_out', 'buy_and_hold']
    >>> float(table.loc["oracle", "hit_rate"]), float(table.loc["always_out", "time_in_market"])
    (1.0, 0.0)
    """
    if not isinstance(predictions, pd.DataFrame):
        raise DataValidationError(
            f"predictions must be a DataFrame with one column per strategy, got {type(predictions).__name__}; "
            "wrap one series with series.to_frame()."
        )
    if predictions.shape[1] == 0:
        raise DataValidationError("predictions has no columns; pass at least one predictor.")
    if not isinstance(asset_returns, pd.Series):
        raise DataValidationError(
            f"asset_returns must be a pandas Series on the dates of predictions, got {type(asset_returns).__name__}."
        )
    check_aligned(predictions, asset_returns, names=("predictions", "asset_returns"))
    ppy = _check_ppy(periods_per_year)
    cost = _check_cost(cost_bps)
    cols: dict[Any, tuple[pd.Series, pd.Series]] = {}
    for col in predictions.columns:
        pred = predictions[col]
        try:
            cols[col] = (long_cash_positions(pred, threshold), pred)
        except DataValidationError as exc:
            raise DataValidationError(f"strategy {col!r}: {exc}") from None
    if buy_and_hold:
        if "buy_and_hold" in cols:
            raise DataValidationError("predictions already has a column 'buy_and_hold'; rename it or pass "
                                      "buy_and_hold=False.")
        ones = pd.Series(1.0, index=asset_returns.index, name="position")
        cols["buy_and_hold"] = (ones, ones)
    rows = {}
    for name, (pos, pred) in cols.items():
        try:
            r0 = strategy_returns(pos, asset_returns, cost_bps=cost, periods_per_year=ppy)
            r = strategy_returns(pos, asset_returns, rf=rf, cost_bps=cost, periods_per_year=ppy)
            excess = r.to_numpy() - _cash_per_period(rf, r.size, r.index, r, ppy)
            live = float(np.std(excess)) > 0
            rows[name] = {
                "sharpe_rf0": _sharpe_or_nan(r0.to_numpy()) * math.sqrt(ppy),
                "sharpe_excess": _sharpe_or_nan(excess) * math.sqrt(ppy),
                "psr": probabilistic_sharpe_ratio(excess, 0.0, periods_per_year=ppy) if live else float("nan"),
                "ann_return": float(r.mean()) * ppy,
                "ann_vol": float(r.std(ddof=1)) * math.sqrt(ppy),
                "max_drawdown": _max_drawdown(r.to_numpy()),
                "hit_rate": hit_rate(pred, asset_returns),
                "time_in_market": float(pos.mean()),
                "turnover": turnover(pos, periods_per_year=ppy),
                "n_obs": float(r.size),
            }
        except DataValidationError as exc:
            raise DataValidationError(f"strategy {name!r}: {exc}") from None
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs = {"periods_per_year": ppy, "cost_bps": cost, "threshold": float(threshold),
                   "alignment": "position at t earns asset_returns at t (= P[t+1]/P[t] - 1)"}
    return table
