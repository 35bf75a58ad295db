r"""Portfolio variance of a factor model split into factor and idiosyncratic parts, with per-factor and per-asset
contributions.

* :func:`linear_risk_decomposition` — :math:`x\approx m+Bz+e`: Euler contributions through the loadings :math:`B`;
* :func:`monte_carlo_risk_decomposition` — latent draws pushed through a (nonlinear) decoder;
* :func:`check_weights` — one weight per asset, validated and aligned on asset names.

They take the model's arrays (loadings, latent moments, residual variances, a decoder function), so they are tested
directly against closed forms; :meth:`VAEFactorModel.risk_decomposition
<latentquant.models.factor.VAEFactorModel.risk_decomposition>` calls them.

References
----------
Tasche, D. (2008). Capital allocation to business units and sub-portfolios: the Euler principle. arXiv:0708.2542.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError
from latentquant.models.factor.results import RiskDecomposition
from latentquant.validation import Interval, check_arg

__all__ = ["check_weights", "linear_risk_decomposition", "monte_carlo_risk_decomposition"]


def _names(columns: pd.Index, limit: int = 10) -> str:
    """``'A', 'B', … (n in all)``: the model's asset names for a message."""
    shown = ", ".join(repr(c) for c in list(columns)[:limit])
    return shown if len(columns) <= limit else f"{shown}, … ({len(columns)} in all)"


def check_weights(weights: Any, columns: pd.Index) -> np.ndarray:
    """Portfolio weights as a float64 vector in the order of ``columns``.

    Parameters
    ----------
    weights : array-like or pandas.Series
        One weight per asset; a Series is aligned on asset names (missing assets weigh 0).
    columns : pandas.Index
        The model's assets.

    Returns
    -------
    numpy.ndarray, shape (n_assets,)

    Raises
    ------
    DataValidationError
        Wrong length, unknown or repeated asset names, NaN or infinite weights, all weights zero.

    Examples
    --------
    >>> check_weights(pd.Series({"B": 0.5}), pd.Index(["A", "B"])).tolist()
    [0.0, 0.5]
    """
    if isinstance(weights, pd.Series):
        if weights.index.has_duplicates:
            dup = weights.index[weights.index.duplicated()].unique().tolist()
            raise DataValidationError(f"weights name assets more than once: {dup[:5]}; give one weight per asset.")
        if weights.isna().any():
            raise DataValidationError("weights must be finite numbers with a finite sum; found NaN or infinity.")
        unknown = [a for a in weights.index if a not in columns]
        if unknown:
            raise DataValidationError(
                f"weights name assets the model does not know: {unknown[:5]}; its assets are {_names(columns)}."
            )
        weights = weights.reindex(columns).fillna(0.0)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape[0] != len(columns):
        raise DataValidationError(
            f"weights has {w.shape[0]} entries but the model has {len(columns)} assets ({_names(columns)}); pass "
            "one weight per asset in that order (or name the assets: a Series indexed by asset, ASSET=W pairs)."
        )
    if not np.isfinite(w).all() or not np.isfinite(w.sum()):
        raise DataValidationError("weights must be finite numbers with a finite sum; found NaN or infinity.")
    if not np.any(w):
        raise DataValidationError("weights are all zero; a portfolio needs at least one non-zero weight.")
    return w


def linear_risk_decomposition(w: np.ndarray, loadings: pd.DataFrame, latent_cov: np.ndarray,
                              residual_var: pd.Series, *, periods_per_year: int = 252) -> RiskDecomposition:
    r"""Euler decomposition of :math:`w^\top(B\Sigma_zB^\top + D)w` (linearised factor model).

    Parameters
    ----------
    w : numpy.ndarray, shape (N,)
        Portfolio weights (see :func:`check_weights`).
    loadings : pandas.DataFrame, shape (N, K)
        :math:`B`, assets × factors.
    latent_cov : numpy.ndarray, shape (K, K)
        :math:`\Sigma_z`, the covariance of the factors.
    residual_var : pandas.Series, shape (N,)
        :math:`\operatorname{diag} D`, the idiosyncratic variances.
    periods_per_year : int
        Annualisation used by the result's summary.

    Returns
    -------
    RiskDecomposition
        ``method='linear'``; factor contributions :math:`b_k(\Sigma_z b)_k` with :math:`b=B^\top w` sum to the factor
        variance, asset contributions :math:`w_i(\Sigma w)_i` to the total.

    Examples
    --------
    >>> B = pd.DataFrame({"f1": [1.0, 1.0], "f2": [1.0, -1.0]}, index=["A", "B"])
    >>> rd = linear_risk_decomposition(np.array([0.5, 0.5]), B, np.eye(2), pd.Series([0.5, 0.5], index=["A", "B"]))
    >>> rd.factor_contributions.tolist(), rd.idiosyncratic_variance, rd.total_variance
    ([1.0, 0.0], 0.25, 1.25)
    """
    idio = float(w**2 @ residual_var.to_numpy())
    B = loadings.to_numpy()
    cov_z = latent_cov
    b = B.T @ w
    contrib = b * (cov_z @ b)
    factor_var = float(b @ cov_z @ b)
    sigma = B @ cov_z @ B.T + np.diag(residual_var.to_numpy())
    asset = w * (sigma @ w)
    names = list(loadings.columns)
    return RiskDecomposition(
        method="linear", total_variance=factor_var + idio, factor_variance=factor_var,
        idiosyncratic_variance=idio, factor_contributions=pd.Series(contrib, index=names),
        asset_contributions=pd.Series(asset, index=loadings.index), exposures=pd.Series(b, index=names),
        periods_per_year=periods_per_year,
    )


def monte_carlo_risk_decomposition(w: np.ndarray, decode: Callable[[np.ndarray], np.ndarray],
                                   latent_mean: np.ndarray, latent_cov: np.ndarray, scale: np.ndarray,
                                   residual_var: pd.Series, exposures: pd.Series, *, n_samples: int = 100_000,
                                   seed: int | None = 0, periods_per_year: int = 252) -> RiskDecomposition:
    r"""Factor variance of :math:`w^\top\hat x(z)` by simulation through a (nonlinear) decoder.

    :math:`z\sim\mathcal N(\text{latent\_mean}, \text{latent\_cov})`; factor :math:`k`'s contribution is
    :math:`\operatorname{Cov}(w^\top\hat x(z), w^\top\hat x(z_k))` with :math:`z_k` the mean with coordinate
    :math:`k` taken from the draw. For a linear decoder these are the Euler contributions and ``interaction`` (the
    factor variance they leave over) is 0 up to rounding.

    Parameters
    ----------
    w : numpy.ndarray, shape (N,)
        Portfolio weights.
    decode : callable
        ``decode(z)`` maps ``(n, K)`` latent points to ``(n, N)`` standardised returns.
    latent_mean, latent_cov : numpy.ndarray
        Moments of the latent distribution to sample.
    scale : numpy.ndarray, shape (N,)
        Per-asset scale that maps standardised returns back to returns.
    residual_var : pandas.Series, shape (N,)
        Idiosyncratic variances (returns units).
    exposures : pandas.Series, shape (K,)
        :math:`B^\top w` for the result (indexed by factor name).
    n_samples : int
        Number of draws (at least 100).
    seed : int or None
        Seed of the draws: same seed, same numbers.
    periods_per_year : int
        Annualisation used by the result's summary.

    Returns
    -------
    RiskDecomposition
        ``method='monte_carlo'`` (no asset contributions).

    Examples
    --------
    >>> W = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> rd = monte_carlo_risk_decomposition(np.array([1.0, 1.0]), lambda z: z @ W.T, np.zeros(2), np.eye(2),
    ...                                     np.ones(2), pd.Series([0.0, 0.0]), pd.Series({"f1": 1.0, "f2": 2.0}),
    ...                                     n_samples=200_000, seed=0)
    >>> round(rd.factor_variance, 1), round(abs(rd.interaction), 6)  # 1² + 2²
    (5.0, 0.0)
    """
    check_arg("n_samples", n_samples, Interval(Integral, 100, None))
    idio = float(w**2 @ residual_var.to_numpy())
    n_factors = len(latent_mean)
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(latent_cov + 1e-12 * np.eye(n_factors))
    z = latent_mean + rng.standard_normal((n_samples, n_factors)) @ chol.T
    port = (decode(z) * scale) @ w
    factor_var = float(port.var(ddof=1))
    centred = port - port.mean()
    contrib = []
    for k in range(n_factors):
        # the portfolio moved by factor k alone (others at their mean); its covariance with the full portfolio
        # is factor k's Euler contribution when the decoder is linear
        zk = np.tile(latent_mean, (n_samples, 1))
        zk[:, k] = z[:, k]
        pk = (decode(zk) * scale) @ w
        contrib.append(float(centred @ (pk - pk.mean()) / (n_samples - 1)))
    names = list(exposures.index)
    return RiskDecomposition(
        method="monte_carlo", total_variance=factor_var + idio, factor_variance=factor_var,
        idiosyncratic_variance=idio, factor_contributions=pd.Series(contrib, index=names),
        asset_contributions=pd.Series(dtype=np.float64), exposures=exposures,
        interaction=factor_var - sum(contrib), n_samples=int(n_samples), periods_per_year=periods_per_year,
    )
