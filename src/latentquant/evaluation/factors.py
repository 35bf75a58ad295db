"""Diagnostics of latent factors: correlation (disentanglement), active units, loading-sorted long-short books."""

from __future__ import annotations

import numpy as np
import pandas as pd

from latentquant.exceptions import ConfigError, DataValidationError

__all__ = ["active_units", "latent_correlation", "loading_sorted_weights"]


def latent_correlation(factors: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Correlation matrix of factor values over dates and the mean absolute off-diagonal correlation.

    Disentangled factors have off-diagonal correlations near 0 (the mean is 0 for a single factor).

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
    collapsed to the prior and carry no information)."""
    if not threshold > 0:
        raise ConfigError(f"threshold must be > 0, got {threshold!r}.")
    return int((np.asarray(kl_per_factor, dtype=np.float64) > threshold).sum())


def loading_sorted_weights(loadings: pd.DataFrame, fraction: float = 1 / 3) -> pd.DataFrame:
    """Dollar-neutral long-short weights per factor: long the ``fraction`` of assets with the highest loading,
    short the ``fraction`` with the lowest, equal weights summing to +1 and −1 (assets × factors).

    The sign of a latent factor is arbitrary, so is the sign of the book's return.

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
