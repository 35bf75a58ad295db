"""Summaries that compare a distribution of returns (historical or simulated) with another."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from latentquant.exceptions import ConfigError

__all__ = ["distribution_summary", "var_es"]


def var_es(returns: np.ndarray | pd.Series, level: float = 0.01) -> tuple[float, float]:
    """Historical Value-at-Risk and Expected Shortfall at tail probability ``level``, as positive losses.

    VaR is the ``level`` empirical quantile of returns with the sign flipped; ES is minus the mean of the returns at or
    below that quantile.

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
