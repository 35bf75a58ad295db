"""Diagnostics of latent factors: correlation (disentanglement), active units, loading-sorted long-short books,
agreement of two loading estimates."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from latentquant.evaluation.portfolio import performance_summary
from latentquant.exceptions import ConfigError, DataValidationError

__all__ = [
    "LongShortBooks",
    "active_units",
    "latent_correlation",
    "loading_discrepancy",
    "loading_sorted_books",
    "loading_sorted_weights",
]


def latent_correlation(factors: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Correlation matrix of factor values over dates and the mean absolute off-diagonal correlation.

    Disentangled factors have off-diagonal correlations near 0 (the mean is 0 for a single factor).

    Parameters
    ----------
    factors : pandas.DataFrame
        Dates × factors, at least 3 rows.

    Returns
    -------
    corr : pandas.DataFrame
        Factors × factors.
    mean_abs : float
        Mean absolute off-diagonal correlation.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> z = pd.DataFrame(np.random.default_rng(0).normal(size=(5000, 3)), columns=["f1", "f2", "f3"])
    >>> corr, mean_abs = latent_correlation(z)
    >>> bool(mean_abs < 0.05)
    True
    """
    if factors.shape[0] < 3:
        raise DataValidationError(f"factors has {factors.shape[0]} rows; at least 3 are needed for a correlation.")
    corr = factors.corr()
    k = corr.shape[0]
    off = corr.to_numpy()[~np.eye(k, dtype=bool)]
    return corr, float(np.abs(off).mean()) if off.size else 0.0


def active_units(kl_per_factor: pd.Series | np.ndarray, threshold: float = 0.01) -> int:
    """Number of latent dimensions whose mean KL from the prior exceeds ``threshold`` nats (the others have
    collapsed to the prior and carry no information).

    Parameters
    ----------
    kl_per_factor : pandas.Series or numpy.ndarray
        Mean KL divergence of each latent dimension, in nats.
    threshold : float, default 0.01
        KL above which a dimension counts as active; positive.

    Returns
    -------
    int

    Examples
    --------
    >>> active_units(np.array([0.8, 0.002, 0.3, 0.0]))
    2
    >>> active_units(np.array([0.8, 0.002, 0.3, 0.0]), threshold=0.5)
    1
    """
    if not threshold > 0:
        raise ConfigError(f"threshold must be > 0, got {threshold!r}.")
    return int((np.asarray(kl_per_factor, dtype=np.float64) > threshold).sum())


def loading_sorted_weights(loadings: pd.DataFrame, fraction: float = 1 / 3) -> pd.DataFrame:
    """Dollar-neutral long-short weights per factor: long the ``fraction`` of assets with the highest loading,
    short the ``fraction`` with the lowest, equal weights summing to +1 and −1 (assets × factors).

    The sign of a latent factor is arbitrary, so is the sign of the book's return.

    Parameters
    ----------
    loadings : pandas.DataFrame
        Assets × factors.
    fraction : float, default 1/3
        Share of assets in each leg, in ``(0, 0.5]`` (at least one asset per leg).

    Returns
    -------
    pandas.DataFrame
        Assets × factors weights; each column sums to 0.

    Examples
    --------
    >>> import pandas as pd
    >>> B = pd.DataFrame({"f1": [0.3, -0.1, 0.2, -0.4, 0.0, 0.1]}, index=list("ABCDEF"))
    >>> loading_sorted_weights(B, fraction=1 / 3)["f1"].tolist()
    [0.5, -0.5, 0.5, -0.5, 0.0, 0.0]
    """
    if not 0 < fraction <= 0.5:
        raise ConfigError(f"fraction must be in (0, 0.5], got {fraction!r}.")
    n = loadings.shape[0]
    m = max(1, int(np.floor(fraction * n)))
    if 2 * m > n:
        raise DataValidationError(f"{n} assets are too few for long and short legs of {m} assets each.")
    values = loadings.to_numpy(dtype=np.float64)
    out = np.zeros_like(values)
    for j in range(values.shape[1]):
        order = np.argsort(values[:, j], kind="stable")
        out[order[-m:], j] = 1.0 / m
        out[order[:m], j] = -1.0 / m
    return pd.DataFrame(out, index=loadings.index, columns=loadings.columns)


class LongShortBooks(NamedTuple):
    """Loading-sorted long-short books: their performance (one row per factor) and their per-period returns.

    Attributes
    ----------
    performance : pandas.DataFrame
        Factors × :func:`~latentquant.evaluation.performance_summary` columns plus ``corr_with_EW``.
    returns : pandas.DataFrame
        Dates × factors, the books' simple returns.

    Examples
    --------
    >>> B = pd.DataFrame({"f1": [1.0, -1.0]}, index=["A", "B"])
    >>> r = pd.DataFrame(np.log1p([[0.02, 0.01], [-0.01, 0.0], [0.03, -0.01]]), columns=["A", "B"])
    >>> books = loading_sorted_books(B, r, fraction=0.5)
    >>> int(books.performance.loc["f1", "n_obs"]), books.returns.shape
    (3, (3, 1))
    """

    performance: pd.DataFrame
    returns: pd.DataFrame


def loading_sorted_books(loadings: pd.DataFrame, log_returns: pd.DataFrame, fraction: float = 1 / 3, *,
                         periods_per_year: float = 252) -> LongShortBooks:
    """Performance of the :func:`loading_sorted_weights` books held over a span of returns.

    The weights come from ``loadings`` (fitted on earlier data) and are held fixed; the books earn the assets'
    simple returns (``expm1`` of the log returns), with no risk-free rate since they are dollar-neutral.

    Parameters
    ----------
    loadings : pandas.DataFrame
        Assets × factors.
    log_returns : pandas.DataFrame
        Dates × assets (same assets as ``loadings``' index, in that order).
    fraction : float
        Share of assets in each leg.
    periods_per_year : float
        Annualisation of :func:`~latentquant.evaluation.performance_summary`.

    Returns
    -------
    LongShortBooks
        ``performance``: :func:`~latentquant.evaluation.performance_summary` of each book plus ``corr_with_EW``, its
        correlation with the equal-weight portfolio; ``returns``: dates × factors.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> B = pd.DataFrame({"f1": [1.0, -1.0]}, index=["A", "B"])
    >>> r = pd.DataFrame(np.log1p([[0.02, 0.01], [-0.01, 0.0], [0.03, -0.01]]), columns=["A", "B"])
    >>> books = loading_sorted_books(B, r, fraction=0.5)
    >>> np.round(books.returns["f1"].to_numpy(), 6).tolist()  # long A, short B
    [0.01, -0.01, 0.04]
    """
    weights = loading_sorted_weights(loadings, fraction)
    simple = pd.DataFrame(np.expm1(log_returns.to_numpy()), index=log_returns.index, columns=log_returns.columns)
    books = pd.DataFrame(simple.to_numpy() @ weights.to_numpy(), index=log_returns.index, columns=weights.columns)
    perf = performance_summary(books, periods_per_year=periods_per_year)
    assert isinstance(perf, pd.DataFrame)
    perf["corr_with_EW"] = books.corrwith(simple.mean(axis=1))
    return LongShortBooks(perf, books)


def loading_discrepancy(loadings: pd.DataFrame | np.ndarray, reference: pd.DataFrame | np.ndarray) -> float:
    """Largest absolute difference between two loading matrices relative to the largest absolute ``loadings``
    entry (e.g. a finite-difference Jacobian against the autograd one).

    Parameters
    ----------
    loadings : pandas.DataFrame or numpy.ndarray
        The loadings under test; their largest absolute entry is the scale.
    reference : pandas.DataFrame or numpy.ndarray
        The reference loadings, same shape.

    Returns
    -------
    float

    Examples
    --------
    >>> loading_discrepancy(np.array([[2.0, -4.0]]), np.array([[2.0, -3.5]]))
    0.125
    """
    a = np.asarray(loadings, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        raise DataValidationError(f"loadings has shape {a.shape} but reference has shape {b.shape}; they must match.")
    return float(np.abs(a - b).max() / np.abs(a).max())
