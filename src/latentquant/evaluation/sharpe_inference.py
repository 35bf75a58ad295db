r"""Inference on Sharpe ratios: is a strategy's Sharpe ratio above a benchmark, above what the best of many trials
would show by luck, different from a benchmark's; and does a per-sample importance differ between two regimes.

Conventions (same as :mod:`latentquant.evaluation.portfolio` and :mod:`latentquant.evaluation.strategy`): simple
per-period returns, one per period, no missing values; ``rf`` an **annualised** yield in decimals (a scalar or one
value per date); Sharpe = mean(excess) / std(excess, ddof=1) × √``periods_per_year``. The probabilistic and deflated
Sharpe ratios work with the *per-period* Sharpe internally and take and report annualised values.

The tests return result objects (:class:`DeflatedSharpe`, :class:`SharpeDifference`) with ``summary()`` and
``to_dict()``; :func:`probabilistic_sharpe_ratio` returns the probability itself and :func:`regime_importance_test`
a labelled table (features × statistics).

References
----------
Bailey, D. H. & López de Prado, M. (2012). The Sharpe Ratio Efficient Frontier. Journal of Risk 15(2).
Bailey, D. H. & López de Prado, M. (2014). The Deflated Sharpe Ratio: Correcting for Selection Bias, Backtest
Overfitting and Non-Normality. Journal of Portfolio Management 40(5).
Newey, W. K. & West, K. D. (1987, 1994). A Simple, Positive Semi-definite, Heteroskedasticity and Autocorrelation
Consistent Covariance Matrix; Automatic Lag Selection in Covariance Matrix Estimation.
Politis, D. N. & Romano, J. P. (1994). The Stationary Bootstrap. JASA 89(428).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from latentquant._math import newey_west_lrv
from latentquant.evaluation._results import FieldsResult
from latentquant.evaluation._series import (
    as_1d,
    check_ppy,
    describe_position,
    excess_returns,
    paired_arrays,
    resampled_sharpes,
    sharpe_per_period,
    stationary_bootstrap_indices,
)
from latentquant.evaluation.portfolio import ArrayLike1D, RiskFree
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import Interval, check_aligned, check_arg

__all__ = [
    "DeflatedSharpe",
    "SharpeDifference",
    "deflated_sharpe_ratio",
    "newey_west_lags",
    "probabilistic_sharpe_ratio",
    "regime_importance_test",
    "sharpe_difference_test",
]

EULER_GAMMA = 0.5772156649015329
MIN_OBS = 3


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
    x, index = as_1d(returns, min_obs=MIN_OBS)
    e, _ = excess_returns(x, index, returns, rf, ppy)
    sr = sharpe_per_period(e)
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
    ppy = check_ppy(periods_per_year)
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
        b, _, index = paired_arrays(benchmark_sharpe, returns, ("benchmark_sharpe", "returns"), min_obs=MIN_OBS)
        like = benchmark_sharpe if isinstance(benchmark_sharpe, pd.Series) else returns
        sr_star = sharpe_per_period(excess_returns(b, index, like, rf, ppy)[0])
    return _psr(sr, sr_star, e.size, g3, g4)


@dataclass(frozen=True)
class DeflatedSharpe(FieldsResult):
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

    Examples
    --------
    >>> out = DeflatedSharpe(dsr=0.61, sr0=0.38, sharpe=0.52, n_trials=5, n_obs=1000, periods_per_year=252.0)
    >>> out.to_dict()["dsr"], out.summary().splitlines()[0]
    (0.61, 'DSR 0.610 (Sharpe 0.52 vs SR0 0.38 expected of the best of 5 trials; T=1000, ×√252)')
    """

    dsr: float
    sr0: float
    sharpe: float
    n_trials: int
    n_obs: int
    periods_per_year: float

    _title: ClassVar[str] = "deflated Sharpe ratio"

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
    ppy = check_ppy(periods_per_year)
    trials, _ = as_1d(trial_sharpes, name="trial_sharpes", min_obs=1)
    # at most the number of trial Sharpe ratios; None: all of them
    check_arg("n_trials", n_trials, Interval(Integral, 1, trials.size, closed="both"), None)
    n = int(trials.size if n_trials is None else n_trials)
    e, sr, g3, g4 = _moments(returns, rf, ppy)
    var = float(np.var(trials / math.sqrt(ppy), ddof=1)) if trials.size > 1 else 0.0
    sr0 = _expected_max_sharpe(var, n)
    return DeflatedSharpe(dsr=_psr(sr, sr0, e.size, g3, g4), sr0=sr0 * math.sqrt(ppy), sharpe=sr * math.sqrt(ppy),
                          n_trials=n, n_obs=e.size, periods_per_year=ppy)


@dataclass(frozen=True)
class SharpeDifference(FieldsResult):
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
    level : float
        Level of the interval.
    n_obs, n_boot, block : int
        Number of periods, bootstrap replicates and the mean block length.
    periods_per_year : float
        Annualisation factor.

    Examples
    --------
    >>> out = SharpeDifference(difference=0.2, se=0.1, low=0.0, high=0.4, p_value=0.04, level=0.95, n_obs=1500,
    ...                        n_boot=2000, block=11, periods_per_year=252.0)
    >>> out.to_dict()["p_value"], "<table" in out.summary("html"), "tabular" in out.summary("latex")
    (0.04, True, True)
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

    _title: ClassVar[str] = "Sharpe difference"

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
    ppy = check_ppy(periods_per_year)
    check_arg("level", level, Interval(Real, 0, 1, closed="neither"))
    check_arg("n_boot", n_boot, Interval(Integral, 100, None))
    a, b, index = paired_arrays(returns, benchmark, ("returns", "benchmark"), min_obs=MIN_OBS)
    like = returns if isinstance(returns, pd.Series) else benchmark
    ea = excess_returns(a, index, like, rf, ppy)[0]
    eb = excess_returns(b, index, like, rf, ppy)[0]
    t = ea.size
    blk = max(1, round(t ** (1.0 / 3.0))) if block is None else block
    check_arg("block", blk, Interval(Integral, 1, t, closed="both"))  # at most the number of observations
    observed = sharpe_per_period(ea) - sharpe_per_period(eb)
    rng = np.random.default_rng(seed)
    reps = np.concatenate([resampled_sharpes(ea[idx]) - resampled_sharpes(eb[idx])
                           for idx in stationary_bootstrap_indices(t, int(n_boot), int(blk), rng)])
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

    Parameters
    ----------
    n_obs : int
        Number of observations :math:`T`.

    Returns
    -------
    int

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
    cov = xtx_inv @ newey_west_lrv(scores, lags) @ xtx_inv
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
        first = describe_position(regime.index, int(np.argmax(regime.isna().to_numpy())))
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
    else:  # None uses floor(4 (T/100)^(2/9)); at most T - 1
        check_arg("lags", lags, Interval(Integral, 0, t - 1, closed="both"), None)
        lag = int(lags)
    rows = {}
    for col in importance.columns:
        try:
            y, _ = as_1d(importance[col], name=f"importance[{col!r}]", min_obs=MIN_OBS)
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

