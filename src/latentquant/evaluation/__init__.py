"""Metrics returning labelled pandas objects: reconstruction, distribution comparison, portfolio performance,
latent-factor diagnostics."""

from latentquant.evaluation.distribution import distribution_summary, var_es
from latentquant.evaluation.factors import active_units, latent_correlation, loading_sorted_weights
from latentquant.evaluation.portfolio import (
    SharpeEstimate,
    max_drawdown,
    performance_summary,
    sharpe_ci,
    sharpe_ratio,
)
from latentquant.evaluation.reconstruction import reconstruction_r2

__all__ = [
    "SharpeEstimate",
    "active_units",
    "distribution_summary",
    "latent_correlation",
    "loading_sorted_weights",
    "max_drawdown",
    "performance_summary",
    "reconstruction_r2",
    "sharpe_ci",
    "sharpe_ratio",
    "var_es",
]
