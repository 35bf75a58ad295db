"""Metrics returning labelled pandas objects: reconstruction, distribution comparison, portfolio performance,
latent-factor diagnostics."""

from latentquant.evaluation.distribution import distribution_summary, var_es
from latentquant.evaluation.factors import active_units, latent_correlation, loading_sorted_weights
from latentquant.evaluation.importance import characteristic_importance, importance_table, portfolio_total_r2
from latentquant.evaluation.portfolio import (
    SharpeEstimate,
    max_drawdown,
    performance_summary,
    sharpe_ci,
    sharpe_ratio,
)
from latentquant.evaluation.pricing import (
    count_significant,
    grs_test,
    predictive_r2,
    pricing_errors,
    running_mean_lambda,
    total_r2,
)
from latentquant.evaluation.reconstruction import reconstruction_r2

__all__ = [
    "SharpeEstimate",
    "active_units",
    "characteristic_importance",
    "count_significant",
    "distribution_summary",
    "grs_test",
    "importance_table",
    "latent_correlation",
    "loading_sorted_weights",
    "max_drawdown",
    "performance_summary",
    "portfolio_total_r2",
    "predictive_r2",
    "pricing_errors",
    "reconstruction_r2",
    "running_mean_lambda",
    "sharpe_ci",
    "sharpe_ratio",
    "total_r2",
    "var_es",
]
