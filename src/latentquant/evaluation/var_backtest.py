r"""Backtests of Value-at-Risk and Expected Shortfall forecasts: Kupiec's proportion of failures, Christoffersen's
independence and conditional coverage, and Acerbi–Székely's ES test :math:`Z_2`.

Conventions: ``returns`` are per-period P&L or returns (gains positive); ``var`` and ``es`` are **positive losses**
at tail probability ``p`` (``p = 0.01``: the 99% VaR). Day :math:`t` is a *hit* (an exception) when
:math:`r_t < -\mathrm{VaR}_t`. Forecasts must be made with information up to :math:`t - 1` only; the tests check the
hits, not how the forecasts were made.

* **Kupiec (1995) proportion of failures**: :math:`x` hits in :math:`n` days,

  .. math::

     LR_{pof} = -2\ln\big[(1-p)^{n-x}p^x\big] + 2\ln\big[(1-\hat\pi)^{n-x}\hat\pi^x\big],\quad \hat\pi = x/n,
     \qquad LR_{pof}\sim\chi^2(1).

* **Christoffersen (1998) independence**: :math:`n_{ij}` transitions from state :math:`i` to :math:`j` of the hit
  sequence, :math:`\pi_{01} = n_{01}/(n_{00}+n_{01})`, :math:`\pi_{11} = n_{11}/(n_{10}+n_{11})`,
  :math:`\pi = (n_{01}+n_{11})/\sum n_{ij}`,

  .. math::

     LR_{ind} = -2\ln\big[(1-\pi)^{n_{00}+n_{10}}\pi^{n_{01}+n_{11}}\big]
       + 2\ln\big[(1-\pi_{01})^{n_{00}}\pi_{01}^{n_{01}}(1-\pi_{11})^{n_{10}}\pi_{11}^{n_{11}}\big]
       \sim\chi^2(1),

  and **conditional coverage** :math:`LR_{cc} = LR_{pof} + LR_{ind} \sim \chi^2(2)` (:math:`0\ln 0 = 0`
  throughout).
* **Acerbi & Székely (2014) test 2**: :math:`Z_2 = \sum_t r_t I_t / (T p\,\mathrm{ES}_t) + 1`, zero in expectation
  when the forecasts are right and negative when they understate the tail. Its p-value is the Monte Carlo
  :math:`(1 + \#\{Z_2^{(i)} \le Z_2\}) / (m + 1)` over :math:`Z_2^{(i)}` computed on :math:`m` histories drawn
  from the forecast distributions (``null_draws``): with 500 draws, nothing below 1/501 ≈ 0.002 can be resolved.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from scipy.special import xlogy
from scipy.stats import chi2

from latentquant.evaluation._var_results import CoverageTest, ESTest, VaRBacktest
from latentquant.evaluation.distribution import var_es
from latentquant.exceptions import DataValidationError
from latentquant.validation import Interval, check_arg

__all__ = ["CoverageTest", "ESTest", "VaRBacktest", "acerbi_szekely_z2", "christoffersen_independence",
           "conditional_coverage", "draws_var_backtest", "kupiec_pof", "sample_var_backtest", "var_backtest",
           "var_es_by_day", "var_hits"]


# ----------------------------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------------------------
def _check_p(p: float, upper: float = 1.0) -> float:
    check_arg("p", p, Interval(Real, 0, upper, closed="neither"))
    return float(p)


def _require_losses(var: float | np.ndarray, p: float, what: str) -> None:
    """Refuse a "VaR" that is not a loss: a p-quantile at or above 0 means the values are not returns."""
    values = np.atleast_1d(np.asarray(var, dtype=np.float64))
    bad = np.flatnonzero(~(values > 0))
    if bad.size:
        where = f"{what} is {-values[0]:.4g}" if np.ndim(var) == 0 else f"{what} of day {int(bad[0])} is"
        raise DataValidationError(f"the {p:g}-quantile of {where} >= 0, so its VaR is not a loss: backtests need "
                                  "returns or P&L (gains positive), not prices or min-max scaled values.")


def _series(values: Any, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0 and n is not None:
        arr = np.full(n, float(arr))
    if arr.ndim != 1 or arr.size == 0:
        raise DataValidationError(f"{name} must be a non-empty 1-D series, got shape {arr.shape}.")
    if n is not None and arr.size != n:
        raise DataValidationError(f"{name} has {arr.size} values but returns have {n}; pass one forecast per day.")
    if not np.isfinite(arr).all():
        raise DataValidationError(f"{name} holds NaN or infinite values; drop those days before backtesting.")
    return arr


def _hits(hits: Any) -> np.ndarray:
    arr = np.asarray(hits)
    if arr.ndim != 1 or arr.size == 0:
        raise DataValidationError(f"hits must be a non-empty 1-D sequence of booleans, got shape {arr.shape}.")
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise DataValidationError("hits must be booleans (or 0/1): True on the days the loss exceeded the VaR; "
                                      "build them with var_hits(returns, var).")
        arr = arr.astype(bool)
    return arr


# ----------------------------------------------------------------------------------------------------------------------
# the tests
# ----------------------------------------------------------------------------------------------------------------------
def var_hits(returns: Any, var: Any) -> np.ndarray:
    """Exceptions :math:`r_t < -\\mathrm{VaR}_t`.

    Parameters
    ----------
    returns : array-like
        ``(n,)`` returns or P&L (gains positive).
    var : float or array-like
        VaR forecasts as positive losses, one per day or one for all.

    Returns
    -------
    numpy.ndarray
        bool ``(n,)``.

    Examples
    --------
    >>> var_hits([0.01, -0.03, -0.01], 0.02).tolist()
    [False, True, False]
    """
    r = _series(returns, "returns")
    v = _series(var, "var", r.size)
    if (v <= 0).any():
        raise DataValidationError("var holds values <= 0; pass VaR as a positive loss (e.g. 0.02 for a 2% loss).")
    return r < -v


def kupiec_pof(hits: Any, p: float) -> CoverageTest:
    """Kupiec's proportion-of-failures test: is the hit rate ``p``? (module docstring; :math:`\\chi^2(1)`).

    Parameters
    ----------
    hits : array-like of bool
        ``(n,)`` exceptions (:func:`var_hits`).
    p : float
        Expected hit probability (the VaR's tail probability).

    Returns
    -------
    CoverageTest

    Examples
    --------
    >>> round(kupiec_pof([True] * 2 + [False] * 98, 0.02).statistic, 12)  # exactly the expected rate
    0.0
    """
    h, p = _hits(hits), _check_p(p)
    n, x = h.size, int(h.sum())
    pi = x / n
    stat = -2.0 * (xlogy(n - x, 1 - p) + xlogy(x, p)) + 2.0 * (xlogy(n - x, 1 - pi) + xlogy(x, pi))
    stat = max(float(stat), 0.0)
    return CoverageTest("kupiec_pof", stat, float(chi2.sf(stat, 1)), 1, n, x, p)


def _transitions(h: np.ndarray) -> tuple[int, int, int, int]:
    prev, cur = h[:-1], h[1:]
    return (int((~prev & ~cur).sum()), int((~prev & cur).sum()), int((prev & ~cur).sum()), int((prev & cur).sum()))


def christoffersen_independence(hits: Any) -> CoverageTest:
    """Christoffersen's independence test: is a hit as likely after a hit as after a quiet day? (module
    docstring; :math:`\\chi^2(1)`).

    Parameters
    ----------
    hits : array-like of bool
        ``(n,)`` exceptions, in time order (at least 2 days).

    Returns
    -------
    CoverageTest

    Examples
    --------
    >>> clustered = np.r_[np.zeros(50), np.ones(5), np.zeros(50)].astype(bool)
    >>> christoffersen_independence(clustered).pvalue < 0.001
    True
    """
    h = _hits(hits)
    if h.size < 2:
        raise DataValidationError("the independence test needs at least 2 days of hits.")
    n00, n01, n10, n11 = _transitions(h)
    total = n00 + n01 + n10 + n11
    pi = (n01 + n11) / total
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    restricted = xlogy(n00 + n10, 1 - pi) + xlogy(n01 + n11, pi)
    free = xlogy(n00, 1 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1 - pi11) + xlogy(n11, pi11)
    stat = max(float(-2.0 * restricted + 2.0 * free), 0.0)
    return CoverageTest("christoffersen_independence", stat, float(chi2.sf(stat, 1)), 1, h.size, int(h.sum()), None)


def conditional_coverage(hits: Any, p: float) -> CoverageTest:
    """Christoffersen's conditional coverage: :math:`LR_{pof} + LR_{ind} \\sim \\chi^2(2)`.

    Parameters
    ----------
    hits : array-like of bool
        ``(n,)`` exceptions, in time order.
    p : float
        Expected hit probability.

    Returns
    -------
    CoverageTest

    Examples
    --------
    >>> h = np.r_[np.ones(3), np.zeros(297)].astype(bool)
    >>> cc = conditional_coverage(h, 0.01)
    >>> bool(np.isclose(cc.statistic, kupiec_pof(h, 0.01).statistic + christoffersen_independence(h).statistic))
    True
    """
    pof, ind = kupiec_pof(hits, p), christoffersen_independence(hits)
    stat = pof.statistic + ind.statistic
    return CoverageTest("conditional_coverage", stat, float(chi2.sf(stat, 2)), 2, pof.n, pof.hits, pof.p)


def _z2(returns: np.ndarray, hits: np.ndarray, es: np.ndarray, p: float) -> np.ndarray:
    """:math:`Z_2` along the last axis (rows of ``returns``/``hits`` share ``es``)."""
    return (returns * hits / es).sum(axis=-1) / (returns.shape[-1] * p) + 1.0


def acerbi_szekely_z2(returns: Any, var: Any, es: Any, p: float, null_draws: Any) -> ESTest:
    """Acerbi–Székely's second ES test, with its p-value simulated from the forecast distributions.

    Parameters
    ----------
    returns : array-like
        ``(n,)`` realised returns.
    var, es : float or array-like
        VaR and ES forecasts (positive losses), one per day or one for all; ``es >= var``.
    p : float
        Tail probability.
    null_draws : array-like
        ``(m, n)`` returns drawn from each day's forecast distribution (row ``i`` is one simulated history under the
        null that the forecasts are right), e.g. from the model's samples; at least 100 rows.

    Returns
    -------
    ESTest

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> var, es = 2.326, 2.665  # N(0, 1) at p = 0.01
    >>> out = acerbi_szekely_z2(rng.standard_normal(2000), var, es, 0.01, rng.standard_normal((500, 2000)))
    >>> bool(abs(out.z2) < 0.3 and out.pvalue > 0.05)
    True
    """
    r = _series(returns, "returns")
    n = r.size
    v, e, p = _series(var, "var", n), _series(es, "es", n), _check_p(p)
    if (v <= 0).any() or (e < v).any():
        raise DataValidationError("var must be > 0 and es >= var (both positive losses, the ES beyond the VaR).")
    draws = np.asarray(null_draws, dtype=np.float64)
    if draws.ndim != 2 or draws.shape[1] != n or draws.shape[0] < 100:
        raise DataValidationError(f"null_draws must be shaped (m, {n}) with m >= 100 simulated histories, got "
                                  f"{draws.shape}.")
    if not np.isfinite(draws).all():
        raise DataValidationError("null_draws hold NaN or infinite values.")
    z2 = float(_z2(r, r < -v, e, p))
    null = _z2(draws, draws < -v, e, p)
    # the Monte Carlo p-value (1 + #{null <= observed}) / (m + 1): never 0, at least 1 / (m + 1)
    return ESTest(z2, float((1 + np.sum(null <= z2)) / (null.size + 1)), n, draws.shape[0], p)


def var_backtest(returns: Any, var: Any, *, p: float = 0.01, es: Any = None, null_draws: Any = None) -> VaRBacktest:
    """Every backtest of one VaR forecast series: Kupiec, Christoffersen independence and conditional coverage, and
    Acerbi–Székely's :math:`Z_2` when ``es`` and ``null_draws`` are given.

    Parameters
    ----------
    returns : array-like
        ``(n,)`` realised returns in time order.
    var : float or array-like
        VaR forecasts (positive losses) at tail probability ``p``.
    p : float
        Tail probability (0.01: the 99% VaR).
    es : float or array-like, optional
        ES forecasts (positive losses).
    null_draws : array-like, optional
        ``(m, n)`` returns drawn from the forecast distributions (see :func:`acerbi_szekely_z2`).

    Returns
    -------
    VaRBacktest

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> r = rng.standard_normal(500) * np.r_[np.ones(250), 3 * np.ones(250)]  # the volatility triples mid-way
    >>> bt = var_backtest(r, 2.326, p=0.01)  # a static N(0, 1) VaR
    >>> bt.hits > 5 * 0.01 * 500, bt.pof_pvalue < 0.01
    (True, True)
    """
    hits = var_hits(returns, var)
    pof, ind = kupiec_pof(hits, p), christoffersen_independence(hits)
    cc_stat = pof.statistic + ind.statistic
    z2 = z2_p = None
    if (es is None) != (null_draws is None):
        raise DataValidationError("the ES test needs both es= and null_draws=; pass both or neither.")
    if es is not None:
        test = acerbi_szekely_z2(returns, var, es, p, null_draws)
        z2, z2_p = test.z2, test.pvalue
    return VaRBacktest(p=pof.p or p, n=pof.n, hits=pof.hits, hit_rate=pof.hits / pof.n, pof_lr=pof.statistic,
                       pof_pvalue=pof.pvalue, ind_lr=ind.statistic, ind_pvalue=ind.pvalue, cc_lr=cc_stat,
                       cc_pvalue=float(chi2.sf(cc_stat, 2)), z2=z2, z2_pvalue=z2_p)


def sample_var_backtest(returns: Any, sample: Any, *, p: float = 0.01, n_null: int = 500,
                        seed: int | None = 0) -> VaRBacktest:
    """Backtest of the static VaR and ES of a sample (a generator's draws, a historical span) on later returns.

    The VaR and ES are the sample's (:func:`~latentquant.evaluation.var_es`), the same every day; the ES test's null
    draws resample the sample with replacement (``n_null`` histories as long as ``returns``). A static forecast
    ignores volatility clustering, so its hits cluster when the returns do: the independence test says so.

    Parameters
    ----------
    returns : array-like
        ``(n,)`` realised returns in time order.
    sample : array-like
        Draws of the one-period return distribution (any shape; flattened).
    p : float
        Tail probability.
    n_null : int
        Null histories for the ES test (at least 100).
    seed : int, optional
        Seed of the resampling.

    Returns
    -------
    VaRBacktest

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bt = sample_var_backtest(rng.standard_normal(1000), rng.standard_normal(20_000), p=0.05)
    >>> bool(bt.pof_pvalue > 0.05 and bt.z2_pvalue > 0.05)
    True
    """
    draws = _series(np.ravel(np.asarray(sample, dtype=np.float64)), "sample")
    r = _series(returns, "returns")
    check_arg("n_null", n_null, Interval(Real, 100, None))
    var, es = var_es(draws, _check_p(p, 0.5))
    _require_losses(var, p, "sample")
    null = np.random.default_rng(seed).choice(draws, size=(int(n_null), r.size), replace=True)
    return var_backtest(r, var, p=p, es=es, null_draws=null)


def var_es_by_day(draws: Any, p: float) -> tuple[np.ndarray, np.ndarray]:
    """VaR and ES (positive losses) of each day's forecast draws: :func:`~latentquant.evaluation.var_es` of every
    column.

    Parameters
    ----------
    draws : array-like
        ``(n_draws, n_days)``: column ``t`` holds draws of day ``t``'s forecast distribution.
    p : float
        Tail probability.

    Returns
    -------
    var, es : numpy.ndarray
        ``(n_days,)`` each.

    Examples
    --------
    >>> var, es = var_es_by_day(np.c_[np.arange(-50, 50), 2 * np.arange(-50, 50)] / 100.0, 0.05)
    >>> var.round(4).tolist(), es.round(4).tolist()
    ([0.4505, 0.901], [0.48, 0.96])
    """
    arr = np.asarray(draws, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2 or not np.isfinite(arr).all():
        raise DataValidationError(f"draws must be a finite (n_draws, n_days) array with n_draws >= 2, got shape "
                                  f"{arr.shape}.")
    p = _check_p(p, 0.5)
    tails = np.array([var_es(arr[:, t], p) for t in range(arr.shape[1])]).reshape(-1, 2)
    return tails[:, 0], tails[:, 1]


def draws_var_backtest(returns: Any, draws: Any, *, p: float = 0.01, n_null: int = 500,
                       seed: int | None = 0) -> tuple[VaRBacktest, np.ndarray, np.ndarray]:
    """Backtest of forecasts given as draws of each day's distribution (a generator conditioned on the past, a
    simulation): VaR and ES from the draws (:func:`var_es_by_day`), the ES test's null histories resampled from
    each day's draws.

    Parameters
    ----------
    returns : array-like
        ``(n,)`` realised returns in time order.
    draws : array-like
        ``(n_draws, n)`` draws of each day's forecast distribution, made with the days before it only.
    p : float
        Tail probability.
    n_null : int
        Null histories for the ES test (at least 100).
    seed : int, optional
        Seed of the resampling.

    Returns
    -------
    backtest : VaRBacktest
    var, es : numpy.ndarray
        The daily forecasts ``(n,)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scale = np.repeat([1.0, 3.0], 500)  # a volatility the forecasts know
    >>> bt, var, es = draws_var_backtest(rng.standard_normal(1000) * scale, rng.standard_normal((2000, 1000)) * scale,
    ...                                  p=0.05)
    >>> bool(bt.cc_pvalue > 0.05), bool(var[-1] > 2.5 * var[0])
    (True, True)
    """
    r = _series(returns, "returns")
    var, es = var_es_by_day(draws, p)
    _require_losses(var, p, "the draws")
    arr = np.asarray(draws, dtype=np.float64)
    if arr.shape[1] != r.size:
        raise DataValidationError(f"draws have {arr.shape[1]} days but returns {r.size}; pass one column per day.")
    check_arg("n_null", n_null, Interval(Real, 100, None))
    rows = np.random.default_rng(seed).integers(0, arr.shape[0], size=(int(n_null), r.size))
    null = np.take_along_axis(arr, rows, axis=0)
    return var_backtest(r, var, p=p, es=es, null_draws=null), var, es
