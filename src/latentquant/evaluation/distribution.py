"""Summaries that compare a distribution of returns (historical or simulated) with another, and the Gaussian
benchmark scenario generator."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import Interval, check_arg

__all__ = [
    "HorizonComparison",
    "annualised_moments",
    "cumulative_paths",
    "distribution_summary",
    "gaussian_scenarios",
    "horizon_comparison",
    "mean_std",
    "scenario_quality",
    "var_es",
]


def var_es(returns: np.ndarray | pd.Series, level: float = 0.01) -> tuple[float, float]:
    """Historical Value-at-Risk and Expected Shortfall at tail probability ``level``, as positive losses.

    VaR is the ``level`` empirical quantile of returns with the sign flipped; ES is minus the mean of the returns at or
    below that quantile.

    Parameters
    ----------
    returns : numpy.ndarray or pandas.Series
        One-dimensional returns (per period or per draw).
    level : float, default 0.01
        Tail probability, in ``(0, 0.5)``.

    Returns
    -------
    var, es : float
        Value-at-Risk and Expected Shortfall, positive numbers for losses.

    Examples
    --------
    >>> var_es(np.arange(-50, 50) / 100.0, level=0.05)
    (0.4505, 0.48)
    """
    if not 0.0 < level < 0.5:
        raise ConfigError(f"level must be in (0, 0.5), got {level!r}.")
    r = np.asarray(returns, dtype=np.float64)
    q = float(np.quantile(r, level))
    tail = r[r <= q]
    return -q, float(-tail.mean())


def distribution_summary(returns: pd.DataFrame, *, weights: np.ndarray | None = None, level: float = 0.01,
                         periods_per_year: int = 252, reference_corr: pd.DataFrame | None = None) -> pd.Series:
    """One row of a scenario-quality table for a (dates-or-draws × assets) table of log returns.

    Returns the mean annualised return (× ``periods_per_year``) and volatility (× √``periods_per_year``) across
    assets, the mean pairwise correlation, the mean excess kurtosis and mean 1% quantile across assets, the VaR/ES
    of the ``weights`` portfolio (equal weights by default), and — when ``reference_corr`` is given — the distance
    of the correlation matrix to it (Frobenius norm of the difference divided by the number of assets).

    Parameters
    ----------
    returns : pandas.DataFrame
        Dates-or-draws × assets, log returns.
    weights : numpy.ndarray, optional
        Portfolio weights, one per asset (default: equal weights).
    level : float, default 0.01
        Tail probability of the portfolio VaR and ES (:func:`var_es`).
    periods_per_year : int, default 252
        Annualisation.
    reference_corr : pandas.DataFrame, optional
        Correlation matrix to measure ``corr_distance`` against.

    Returns
    -------
    pandas.Series
        ``ann_return_mean``, ``ann_vol_mean``, ``mean_corr``, ``excess_kurtosis_mean``, ``q01_mean``,
        ``portfolio_ann_vol``, ``portfolio_VaR_<level>``, ``portfolio_ES_<level>`` (and ``corr_distance``).

    Examples
    --------
    Two assets with 1% daily volatility and correlation 0.5: annual volatility :math:`0.01\\sqrt{252} = 0.159`, and
    the equal-weight portfolio's :math:`\\sqrt{0.75} \\times 0.159 = 0.137`:

    >>> rng = np.random.default_rng(0)
    >>> cov = np.array([[1.0, 0.5], [0.5, 1.0]]) * 1e-4
    >>> draws = pd.DataFrame(rng.multivariate_normal([0, 0], cov, 100_000), columns=["a", "b"])
    >>> s = distribution_summary(draws)
    >>> s[["mean_corr", "ann_vol_mean", "portfolio_ann_vol"]].round(2).tolist()
    [0.5, 0.16, 0.14]
    >>> s.index[-2:].tolist()
    ['portfolio_VaR_0.01', 'portfolio_ES_0.01']
    """
    x = returns.to_numpy(dtype=np.float64)
    n = x.shape[1]
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64)
    corr = np.corrcoef(x, rowvar=False)
    off = corr[~np.eye(n, dtype=bool)]
    port = x @ w
    var, es = var_es(port, level)
    out = {
        "ann_return_mean": float(x.mean(axis=0).mean() * periods_per_year),
        "ann_vol_mean": float(x.std(axis=0, ddof=1).mean() * np.sqrt(periods_per_year)),
        "mean_corr": float(off.mean()),
        "excess_kurtosis_mean": float(np.mean(stats.kurtosis(x, axis=0))),
        "q01_mean": float(np.quantile(x, 0.01, axis=0).mean()),
        "portfolio_ann_vol": float(port.std(ddof=1) * np.sqrt(periods_per_year)),
        f"portfolio_VaR_{level:g}": var,
        f"portfolio_ES_{level:g}": es,
    }
    if reference_corr is not None:
        out["corr_distance"] = float(np.linalg.norm(corr - reference_corr.to_numpy()) / n)
    return pd.Series(out)


def scenario_quality(samples: Mapping[str, pd.DataFrame], reference: pd.DataFrame, *,
                     periods_per_year: int = 252) -> pd.DataFrame:
    """One :func:`distribution_summary` row per named table of returns, with the correlation distance to
    ``reference`` (e.g. the held-out test span).

    Parameters
    ----------
    samples : mapping of str to pandas.DataFrame
        Name → dates-or-draws × assets (log returns), e.g. historical spans and scenario sets.
    reference : pandas.DataFrame
        The returns whose correlation matrix is the yardstick (``corr_distance`` 0 for itself).
    periods_per_year : int
        Annualisation.

    Returns
    -------
    pandas.DataFrame
        One row per name, in the mapping's order.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> test = pd.DataFrame(rng.normal(0, 0.01, (500, 3)))
    >>> table = scenario_quality({"test": test, "noise": pd.DataFrame(rng.normal(0, 0.02, (500, 3)))}, test)
    >>> round(float(table.loc["test", "corr_distance"]), 12), list(table.index)
    (0.0, ['test', 'noise'])
    """
    reference_corr = reference.corr()
    return pd.DataFrame({
        name: distribution_summary(values, reference_corr=reference_corr, periods_per_year=periods_per_year)
        for name, values in samples.items()
    }).T


def annualised_moments(returns: pd.DataFrame, *, periods_per_year: int = 252, level: float = 0.01) -> pd.DataFrame:
    """Per asset: the mean × ``periods_per_year``, the standard deviation (``ddof=1``) × √``periods_per_year`` and
    the ``level`` quantile of the per-period returns.

    Parameters
    ----------
    returns : pandas.DataFrame
        Dates × assets, per-period returns.
    periods_per_year : int, default 252
        Annualisation.
    level : float, default 0.01
        Probability of the reported quantile.

    Returns
    -------
    pandas.DataFrame
        Assets × ``ann_mean``, ``ann_vol``, ``quantile``.

    Examples
    --------
    >>> annualised_moments(pd.DataFrame({"A": [0.01, -0.01, 0.03]}), periods_per_year=100, level=0.5).round(6)
       ann_mean  ann_vol  quantile
    A       1.0      0.2      0.01
    """
    return pd.DataFrame({
        "ann_mean": returns.mean() * periods_per_year,
        "ann_vol": returns.std() * np.sqrt(periods_per_year),
        "quantile": returns.quantile(level),
    })


def gaussian_scenarios(returns: pd.DataFrame, n: int, *, seed: int | None = None) -> pd.DataFrame:
    """``n`` draws from the multivariate normal with the sample mean and covariance of ``returns`` — the benchmark
    a generative model's scenarios must beat.

    Parameters
    ----------
    returns : pandas.DataFrame
        Historical returns, dates × assets.
    n : int
        Number of draws.
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same draws.

    Returns
    -------
    pandas.DataFrame
        ``n`` × assets, the columns of ``returns``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> hist = pd.DataFrame(rng.normal(0, [0.01, 0.03], (2000, 2)), columns=["A", "B"])
    >>> draws = gaussian_scenarios(hist, 50_000, seed=0)
    >>> draws.shape, bool(abs(draws["B"].std() / hist["B"].std() - 1) < 0.02)
    ((50000, 2), True)
    """
    check_arg("n", n, Interval(Integral, 1, None))
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.multivariate_normal(returns.mean().to_numpy(), returns.cov().to_numpy(), n),
                        columns=returns.columns)


def cumulative_paths(daily: np.ndarray, horizon: int, n_paths: int) -> np.ndarray:
    """Cut i.i.d. per-period returns into ``n_paths`` consecutive blocks of ``horizon`` and cumulate each block:
    paths of cumulative log return, shape ``(n_paths, horizon)`` (no volatility clustering).

    Parameters
    ----------
    daily : numpy.ndarray
        One-period log returns (at least ``n_paths * horizon``; the rest is ignored).
    horizon : int
        Periods per path.
    n_paths : int
        Number of paths.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_paths, horizon)``.

    Examples
    --------
    >>> cumulative_paths(np.arange(6.0), horizon=3, n_paths=2).tolist()
    [[0.0, 1.0, 3.0], [3.0, 7.0, 12.0]]
    """
    values = np.asarray(daily)
    if values.shape[0] < n_paths * horizon:
        raise DataValidationError(f"daily has {values.shape[0]} draws; {n_paths} paths of {horizon} periods need "
                                  f"{n_paths * horizon}.")
    return values[: n_paths * horizon].reshape(n_paths, horizon).cumsum(axis=1)


class HorizonComparison(NamedTuple):
    """Simulated portfolios against a realised one over a horizon (see :func:`horizon_comparison`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per simulated name and ``realised``: ``ann_vol``, ``VaR``, ``ES``, ``horizon_median``,
        ``horizon_q05``.
    paths : dict of str to numpy.ndarray
        Simulated cumulative-return paths, ``(n_paths, horizon)`` per name.
    realised_path : numpy.ndarray
        The realised cumulative return over the horizon.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sims = {"calm": pd.DataFrame(rng.normal(0, 0.01, (1000, 2)))}
    >>> realised = pd.DataFrame(np.full((5, 2), 0.01))
    >>> out = horizon_comparison(sims, realised, np.array([0.5, 0.5]), horizon=5, n_paths=200)
    >>> out.realised_path.round(2).tolist(), round(float(out.table.loc["realised", "horizon_median"]), 2)
    ([0.01, 0.02, 0.03, 0.04, 0.05], 0.05)
    """

    table: pd.DataFrame
    paths: dict[str, np.ndarray]
    realised_path: np.ndarray


def horizon_comparison(simulated: Mapping[str, pd.DataFrame], realised: pd.DataFrame, weights: np.ndarray, *,
                       horizon: int, n_paths: int, periods_per_year: int = 252,
                       level: float = 0.01) -> HorizonComparison:
    """Portfolio risk of scenario sets and of a realised period, per period and over a horizon.

    Each table (draws × assets, log returns) becomes the portfolio ``weights``' returns; the simulated ones are cut
    into :func:`cumulative_paths` of ``horizon`` periods, the realised one cumulated over its first ``horizon``.

    Parameters
    ----------
    simulated : mapping of str to pandas.DataFrame
        Name → i.i.d. one-period scenarios (at least ``n_paths * horizon`` rows).
    realised : pandas.DataFrame
        The realised returns of the period (e.g. a crisis).
    weights : numpy.ndarray
        Portfolio weights, one per asset.
    horizon, n_paths : int
        Path length and number of simulated paths.
    periods_per_year : int
        Annualisation of the volatility (√ convention).
    level : float
        Tail probability of VaR and ES.

    Returns
    -------
    HorizonComparison
        ``table``: one row per simulated name and ``realised`` with ``ann_vol``, ``VaR``, ``ES`` (positive losses,
        :func:`var_es`), ``horizon_median`` and ``horizon_q05`` (median and 5% quantile of the cumulative return at
        the horizon; the realised row has its realised value and NaN); ``paths``: the simulated paths;
        ``realised_path``: the realised cumulative return.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sims = {"calm": pd.DataFrame(rng.normal(0, 0.01, (1000, 2)))}
    >>> out = horizon_comparison(sims, pd.DataFrame(rng.normal(0, 0.03, (20, 2))), np.array([0.5, 0.5]),
    ...                          horizon=10, n_paths=100)
    >>> list(out.table.index), out.paths["calm"].shape
    (['calm', 'realised'], (100, 10))
    """
    port = {k: v.to_numpy() @ weights for k, v in simulated.items()}
    port["realised"] = realised.to_numpy() @ weights
    paths = {k: cumulative_paths(port[k], horizon, n_paths) for k in simulated}
    realised_path = np.cumsum(port["realised"][:horizon])
    vols = {k: float(v.std(ddof=1) * np.sqrt(periods_per_year)) for k, v in port.items()}
    tails = {k: var_es(v, level) for k, v in port.items()}
    table = pd.DataFrame({
        "ann_vol": list(vols.values()),
        "VaR": [t[0] for t in tails.values()],
        "ES": [t[1] for t in tails.values()],
        "horizon_median": [float(np.median(paths[k][:, -1])) for k in paths] + [float(realised_path[-1])],
        "horizon_q05": [float(np.quantile(paths[k][:, -1], 0.05)) for k in paths] + [np.nan],
    }, index=list(port))
    return HorizonComparison(table, paths, realised_path)


def mean_std(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``) of repeated results, e.g. one number per seed; the standard
    deviation of a single result is not defined (NaN: an empty table cell, ``null`` in ``metrics.json``).

    Parameters
    ----------
    values : sequence of float or numpy.ndarray
        The results, at least one.

    Returns
    -------
    mean, std : float

    Examples
    --------
    >>> mean_std([1.0, 3.0]), mean_std([0.5])
    ((2.0, 1.4142135623730951), (0.5, nan))
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise DataValidationError("values is empty; pass at least one result.")
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else float("nan")
