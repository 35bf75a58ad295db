r"""Stylized facts of returns (Cont 2001) — the checks a synthetic return series must pass, each with a confidence
interval where one exists.

Inputs
------
Every function takes returns in one of three shapes and works per feature (column):

* a 1-D series ``(T,)`` (array, list or :class:`pandas.Series`), one feature;
* a 2-D table ``(T, F)`` (array or :class:`pandas.DataFrame`, columns = features), one path of ``F`` series;
* a 3-D array of windows ``(n, L, F)`` (as built by ``sliding_windows`` or returned by a generator), ``n`` paths
  of length ``L``.

Pooling convention for several paths (windows)
----------------------------------------------
Time-series facts are computed *within* paths and pooled, never across a path boundary:

* **ACF / leverage** — panel estimator: values are centred by the pooled mean and scaled by the pooled variance
  (over all paths), the lagged products are summed within each path and divided by the number of pairs
  :math:`n(L-k)`. With one path this is the usual sample autocorrelation with the ``T − k`` denominator
  (``statsmodels.tsa.stattools.acf(x, adjusted=True)``); with many paths it is the pair-weighted average of the
  per-path ACFs, without the :math:`-1/L` bias of demeaning each short window by its own mean.
* **Moments, tail index, quantiles** — pooled over every value of every path.
* **Aggregational Gaussianity** — non-overlapping ``h``-step sums inside each path (a remainder shorter than ``h`` at
  the end of a path is dropped), pooled.
* **Bootstrap** — the stationary block bootstrap (Politis & Romano 1994) resamples *time* for one path (mean block
  length :math:`T^{1/3}`) and *whole paths* for several (mean block :math:`n^{1/3}` of consecutive paths, which keeps
  the dependence of overlapping windows), so each path stays intact.

Defaults that depend on the data (``max_lag=None`` and the like in :func:`stylized_facts`) are capped at what the
data allow and say so in ``notes``; a value passed explicitly that the data cannot support raises
:class:`~latentquant.exceptions.DataValidationError`.

References
----------
Cont, R. (2001). Empirical properties of asset returns: stylized facts and statistical issues. Quantitative Finance 1.
Hill, B. M. (1975). A simple general approach to inference about the tail of a distribution. Ann. Statist. 3(5).
Politis, D. N. & Romano, J. P. (1994). The Stationary Bootstrap. JASA 89(428).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from latentquant.evaluation.synthetic._panel import (
    DEFAULT_HORIZONS,
    MIN_SUMS,
    MIN_TAIL,
    _bootstrap_moments,
    _check_bootstrap,
    _check_lags,
    _check_level,
    _estimate_frame,
    _hill,
    _horizon_sums,
    _lag_index,
    _names,
    _Panel,
    _power_law,
    _quantile_ratio,
    _standardized,
    _transform_acf,
    acf_kernel,
    as_panel,
    leverage_kernel,
)
from latentquant.exceptions import DataValidationError
from latentquant.validation import Interval, SequenceOf, check_arg

__all__ = [
    "acf",
    "aggregational_gaussianity",
    "excess_kurtosis",
    "gain_loss_asymmetry",
    "hill_tail_index",
    "leverage_effect",
    "power_law_decay",
]


# --------------------------------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------------------------------
def acf(returns: Any, max_lag: int = 20) -> pd.DataFrame:
    r"""Sample autocorrelation at lags ``1..max_lag``, per feature, computed by FFT.

    .. math::

        \hat\rho(k) = \frac{1}{N_k \hat\sigma^2}\sum_{\text{paths}} \sum_{t=1}^{L-k} (r_t - \bar r)(r_{t+k} - \bar r),
        \qquad N_k = n (L - k),

    with the pooled mean :math:`\bar r` and (population) variance :math:`\hat\sigma^2` over all paths (module
    docstring: one path gives the usual ``T − k``-denominator ACF). Pass ``np.abs(returns)`` or ``returns ** 2`` for
    the volatility-clustering ACFs. Under independence :math:`\hat\rho(k)` lies within :math:`\pm 1.96/\sqrt{nL}` 95%
    of the time.

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``.
    max_lag : int, default 20
        Largest lag, at most ``L − 1``.

    Returns
    -------
    pandas.DataFrame
        Lags ``1..max_lag`` (index ``lag``) × features.

    Examples
    --------
    An AR(1) with :math:`\phi = 0.5` has :math:`\rho(k) = 0.5^k`:

    >>> rng = np.random.default_rng(0)
    >>> e = rng.normal(size=20_000)
    >>> x = np.empty_like(e)
    >>> x[0] = e[0]
    >>> for t in range(1, e.size):
    ...     x[t] = 0.5 * x[t - 1] + e[t]
    >>> rho = acf(x, max_lag=3)
    >>> rho.index.tolist(), bool(np.allclose(rho["r"], [0.5, 0.25, 0.125], atol=0.02))
    ([1, 2, 3], True)
    """
    panel = as_panel(returns)
    lag = _check_lags(panel, max_lag, "max_lag")
    values = acf_kernel(_standardized(panel, "returns"), lag)
    return pd.DataFrame(values, index=_lag_index(lag), columns=_names(panel))


def leverage_effect(returns: Any, max_lag: int = 20) -> pd.DataFrame:
    r"""Leverage effect: the correlation of today's return with future squared returns,
    :math:`\operatorname{corr}(r_t, r_{t+k}^2)`, ``k = 1..max_lag``, per feature (negative for equities: falls in
    price raise future volatility).

    Both :math:`r` and :math:`r^2` are centred and scaled by their pooled moments; products are taken within paths
    and divided by the number of pairs, as in :func:`acf`.

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``.
    max_lag : int, default 20
        Largest lag, at most ``L − 1``.

    Returns
    -------
    pandas.DataFrame
        Lags ``1..max_lag`` (index ``lag``) × features.

    Examples
    --------
    Volatility that rises after a negative return:

    >>> rng = np.random.default_rng(0)
    >>> e = rng.standard_normal(20_000)
    >>> r = np.empty_like(e)
    >>> r[0] = e[0]
    >>> for t in range(1, e.size):
    ...     r[t] = (1.5 if r[t - 1] < 0 else 0.5) * e[t]
    >>> lev = leverage_effect(r, max_lag=2)["r"]
    >>> bool(lev[1] < -0.2), bool(abs(lev[2]) < 0.05)
    (True, True)
    """
    panel = as_panel(returns)
    lag = _check_lags(panel, max_lag, "max_lag")
    values = leverage_kernel(_standardized(panel, "returns"), lag)
    return pd.DataFrame(values, index=_lag_index(lag), columns=_names(panel))


def excess_kurtosis(returns: Any, *, n_boot: int = 1000, level: float = 0.95, block: float | None = None,
                    seed: int | None = 0) -> pd.DataFrame:
    r"""Excess kurtosis :math:`m_4/m_2^2 - 3` (population moments, 0 for a Gaussian) per feature, with a stationary
    block bootstrap percentile interval.

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        ``(T,)``, ``(T, F)`` or windows ``(n, L, F)`` (pooled over all values; paths resampled whole).
    n_boot : int, default 1000
        Bootstrap replicates (at least 100).
    level : float, default 0.95
        Confidence level of the interval.
    block : float, optional
        Mean block length of the stationary bootstrap, in steps for one path or in paths for several; default
        :math:`T^{1/3}` or :math:`n^{1/3}`.
    seed : int, optional
        Seed of the bootstrap; the same seed gives the same interval.

    Returns
    -------
    pandas.DataFrame
        Features × ``estimate``, ``low``, ``high``.

    Examples
    --------
    A Gaussian's interval covers 0; Student-t with 5 degrees of freedom has excess kurtosis 6:

    >>> rng = np.random.default_rng(0)
    >>> gauss = excess_kurtosis(rng.normal(size=5000), seed=0)
    >>> gauss.round(2).to_dict("index")
    {'r': {'estimate': -0.1, 'low': -0.23, 'high': 0.03}}
    >>> t5 = excess_kurtosis(pd.Series(rng.standard_t(5, size=20_000), name="t5"))
    >>> bool(t5.loc["t5", "low"] > 1)  # true value 6; sample kurtosis of t(5) converges slowly
    True
    """
    panel = as_panel(returns)
    _check_bootstrap(n_boot, block)
    lvl = _check_level(level)
    z = _standardized(panel, "returns")
    _, kurt, _, ci = _bootstrap_moments(z, int(n_boot), block, lvl, seed)
    return _estimate_frame(_names(panel), kurt, ci[0], ci[1])


def gain_loss_asymmetry(returns: Any, *, quantile: float = 0.05, n_boot: int = 1000, level: float = 0.95,
                        block: float | None = None, seed: int | None = 0) -> pd.DataFrame:
    r"""Gain/loss asymmetry: the skewness (bootstrap interval) and the quantile ratio

    .. math::

        \frac{q_{1-p} - q_{0.5}}{q_{0.5} - q_p},

    the distance of the upper ``1 − p`` quantile above the median over that of the lower ``p`` quantile below it
    (below 1: large losses are larger than large gains, as for equity indices; 1 for a symmetric law). The ratio is
    location and scale free and reported without an interval (resampling quantiles of long pooled sets is costly and
    the skewness interval already tells whether the asymmetry is significant).

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``.
    quantile : float, default 0.05
        Tail probability ``p`` of the quantile ratio, in ``(0, 0.5)``.
    n_boot, level, block, seed
        Bootstrap of the skewness, as in :func:`excess_kurtosis`.

    Returns
    -------
    pandas.DataFrame
        Index ``(feature, statistic)`` with statistics ``skewness`` and ``quantile_ratio``; columns ``estimate``,
        ``low``, ``high`` (``<NA>`` for the ratio's interval).

    Examples
    --------
    A law with a long left tail:

    >>> rng = np.random.default_rng(0)
    >>> r = -rng.lognormal(0.0, 0.5, 5000)
    >>> out = gain_loss_asymmetry(r)
    >>> bool(out.loc[("r", "skewness"), "high"] < 0), bool(out.loc[("r", "quantile_ratio"), "estimate"] < 1)
    (True, True)
    """
    panel = as_panel(returns)
    check_arg("quantile", quantile, Interval(Real, 0, 0.5, closed="neither"))
    _check_bootstrap(n_boot, block)
    lvl = _check_level(level)
    z = _standardized(panel, "returns")
    skew, _, ci, _ = _bootstrap_moments(z, int(n_boot), block, lvl, seed)
    ratio = _quantile_ratio(panel.values.reshape(-1, panel.values.shape[2]), float(quantile))
    _check_finite_ratio(ratio, panel, float(quantile))
    return _asymmetry_frame(panel, skew, ci, ratio)


def _check_finite_ratio(ratio: np.ndarray, panel: _Panel, quantile: float) -> None:
    bad = ~np.isfinite(ratio)
    if bad.any():
        f = int(np.argmax(bad))
        raise DataValidationError(
            f"returns feature {panel.features[f]!r} has its {quantile:g} quantile equal to its median, so the "
            "gain/loss quantile ratio is undefined; pass a larger quantile or more varied data."
        )


def _asymmetry_frame(panel: _Panel, skew: np.ndarray, ci: np.ndarray, ratio: np.ndarray) -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for f, name in enumerate(panel.features):
        rows.append((name, "skewness", float(skew[f]), float(ci[0, f]), float(ci[1, f])))
        rows.append((name, "quantile_ratio", float(ratio[f]), None, None))
    out = pd.DataFrame(rows, columns=["feature", "statistic", "estimate", "low", "high"])
    return out.set_index(["feature", "statistic"]).astype("Float64")


def hill_tail_index(returns: Any, *, tail_fraction: float = 0.05, level: float = 0.95) -> pd.DataFrame:
    r"""Hill (1975) tail index of both tails, per feature, with its asymptotic interval.

    With the ``k = ⌊tail_fraction · N⌋`` largest values :math:`X_{(1)} \ge \dots \ge X_{(k)}` above the threshold
    :math:`X_{(k+1)} > 0`,

    .. math::

        \hat\alpha = \Big(\frac{1}{k}\sum_{i=1}^{k} \log\frac{X_{(i)}}{X_{(k+1)}}\Big)^{-1},
        \qquad \hat\alpha\,\big(1 \pm z_{(1+\text{level})/2}/\sqrt{k}\big).

    The left tail is the right tail of :math:`-r`. A Student-t with :math:`\nu` degrees of freedom has
    :math:`\alpha = \nu`; daily equity returns typically 3–5. The values are used as they are (not demeaned): the
    index concerns the size of large returns, and daily means are negligible beside them. Larger ``tail_fraction``
    lowers the variance and raises the bias; the interval covers only the variance.

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        ``(T,)``, ``(T, F)`` or windows ``(n, L, F)`` (pooled).
    tail_fraction : float, default 0.05
        Share of the values in each tail used, in ``(0, 0.5)``; ``k`` must be at least 10.
    level : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        Index ``(feature, tail)`` with tails ``left`` and ``right``; columns ``estimate``, ``low``, ``high``, ``k``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> out = hill_tail_index(rng.standard_t(3, size=50_000), tail_fraction=0.01)
    >>> out["estimate"].round(1).to_dict()
    {('r', 'left'): 2.9, ('r', 'right'): 2.8}
    >>> out["k"].tolist(), bool((out["low"] < 3).all() and (out["high"] > 2.5).all())
    ([500, 500], True)
    """
    panel = as_panel(returns)
    check_arg("tail_fraction", tail_fraction, Interval(Real, 0, 0.5, closed="neither"))
    return _hill_frame(panel, float(tail_fraction), _check_level(level))


def _hill_frame(panel: _Panel, tail_fraction: float, level: float) -> pd.DataFrame:
    """The table of :func:`hill_tail_index` for a validated panel."""
    values = panel.values.reshape(-1, panel.values.shape[2])
    k = math.floor(tail_fraction * values.shape[0])
    if k < MIN_TAIL:
        raise DataValidationError(
            f"tail_fraction={tail_fraction!r} of {values.shape[0]} values leaves k={k} tail observations, fewer "
            f"than {MIN_TAIL}; pass a larger tail_fraction (at least {MIN_TAIL / values.shape[0]:.3g}) or more data."
        )
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    alphas = {}
    for tail, sign in (("left", -1.0), ("right", 1.0)):
        top = -np.sort(-sign * values, axis=0)[: k + 1]  # the k + 1 largest, descending
        nonpos = top[k] <= 0
        if nonpos.any():
            f = int(np.argmax(nonpos))
            raise DataValidationError(
                f"returns feature {panel.features[f]!r}: fewer than k + 1 = {k + 1} values lie in the {tail} tail "
                f"(beyond 0), so its Hill index is undefined; pass a smaller tail_fraction (now {tail_fraction!r})."
            )
        alphas[tail] = _hill(top, k)
    half = z / math.sqrt(k)
    rows = [(name, tail, float(alphas[tail][f]), float(alphas[tail][f]) * (1 - half),
             float(alphas[tail][f]) * (1 + half), k)
            for f, name in enumerate(panel.features) for tail in ("left", "right")]
    out = pd.DataFrame(rows, columns=["feature", "tail", "estimate", "low", "high", "k"])
    return out.set_index(["feature", "tail"])


def power_law_decay(returns: Any, max_lag: int = 250) -> pd.DataFrame:
    r"""Power-law decay :math:`\rho_{|r|}(k) \approx c\,k^{-\beta}` of the ACF of absolute returns, fitted by least
    squares of :math:`\log\hat\rho_{|r|}(k)` on :math:`\log k` over the leading lags where the ACF is positive
    (from lag 1 up to the first non-positive value, at most ``max_lag``).

    Daily equity returns give :math:`\beta` of about 0.2–0.4 (slow decay: long memory in volatility). No interval is
    reported: the ACF estimates at neighbouring lags are strongly correlated, so a regression standard error would be
    far too small. ``r2`` tells how straight the log-log line is.

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``.
    max_lag : int, default 250
        Largest lag of the fit, at most ``L − 1``.

    Returns
    -------
    pandas.DataFrame
        Features × ``exponent`` (:math:`\beta`), ``intercept`` (:math:`\log c`), ``r2``, ``n_lags``.

    Examples
    --------
    A GARCH(1, 1) has volatility clustering, so its ACF of :math:`|r|` is positive and decays:

    >>> rng = np.random.default_rng(0)
    >>> r = np.empty(20_000)
    >>> var = 1.0
    >>> for t in range(r.size):
    ...     r[t] = np.sqrt(var) * rng.standard_normal()
    ...     var = 0.05 + 0.1 * r[t] ** 2 + 0.85 * var
    >>> fit = power_law_decay(r, max_lag=50)
    >>> bool(fit.loc["r", "exponent"] > 0), int(fit.loc["r", "n_lags"]) >= 3
    (True, True)
    """
    panel = as_panel(returns)
    lag = _check_lags(panel, max_lag, "max_lag")
    values = _transform_acf(panel, lag, np.abs, "returns")
    rows = {}
    for f, name in enumerate(panel.features):
        try:
            beta, c, r2, n = _power_law(values[:, f])
        except DataValidationError as err:
            raise DataValidationError(f"returns feature {name!r}: {err}") from None
        rows[name] = {"exponent": beta, "intercept": c, "r2": r2, "n_lags": n}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "feature"
    return out


def aggregational_gaussianity(returns: Any, horizons: Sequence[int] = DEFAULT_HORIZONS) -> pd.DataFrame:
    r"""Excess kurtosis of non-overlapping ``h``-step sums (log returns over ``h`` periods) for each horizon: it falls
    towards 0 as ``h`` grows (aggregational Gaussianity; :math:`\kappa_h = \kappa_1/h` for i.i.d. returns).

    Sums are taken inside each path (a remainder shorter than ``h`` is dropped) and pooled; each horizon needs at
    least 20 sums.

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        Log returns ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``.
    horizons : sequence of int, default (1, 5, 20, 60)
        Aggregation horizons in periods.

    Returns
    -------
    pandas.DataFrame
        Horizons (index ``horizon``) × features.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> out = aggregational_gaussianity(rng.standard_t(5, size=100_000), horizons=(1, 20))
    >>> bool(out.loc[1, "r"] > 3 > 1 > out.loc[20, "r"])
    True
    """
    panel = as_panel(returns)
    hs = _check_horizons(panel, horizons, "horizons")
    _standardized(panel, "returns")
    out = {}
    for h in hs:
        sums = _horizon_sums(panel, h)
        with np.errstate(divide="ignore", invalid="ignore"):
            kurt = stats.kurtosis(sums, axis=0)
        out[h] = np.asarray(kurt, dtype=np.float64)
        _check_defined(out[h], panel, f"the {h}-step sums")
    return pd.DataFrame.from_dict(out, orient="index", columns=list(panel.features)).rename_axis(
        index="horizon", columns="feature")


def _check_defined(values: np.ndarray, panel: _Panel, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        f = int(np.argmax(bad))
        raise DataValidationError(
            f"returns feature {panel.features[f]!r}: {what} are constant, so their kurtosis is undefined; drop this "
            "horizon or pass more varied data."
        )


def _horizon_ok(panel: _Panel, h: int) -> bool:
    return h <= panel.length and panel.n_paths * (panel.length // h) >= MIN_SUMS


def _check_horizons(panel: _Panel, horizons: Any, arg: str, min_sums: int = MIN_SUMS) -> list[int]:
    check_arg(arg, horizons, _horizon_constraint())
    hs = [int(h) for h in horizons]
    for h in hs:
        count = panel.n_paths * (panel.length // h)
        if count < min_sums:
            raise DataValidationError(
                f"{arg} contains {h}, but paths of length {panel.length} ({panel.n_paths} path(s)) give only {count} "
                f"non-overlapping {h}-step sum(s), fewer than {min_sums}; drop horizons above "
                f"{_largest_horizon(panel, min_sums)} or pass longer paths."
            )
    return hs


def _largest_horizon(panel: _Panel, min_sums: int) -> int:
    return max([h for h in range(1, panel.length + 1) if panel.n_paths * (panel.length // h) >= min_sums],
               default=0)


def _horizon_constraint() -> SequenceOf:
    return SequenceOf(Interval(Integral, 1, None), min_len=1)
