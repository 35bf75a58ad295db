"""Metrics returning labelled pandas objects: reconstruction, distribution comparison, portfolio performance,
latent-factor diagnostics, timing-strategy statistics."""

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
from latentquant.evaluation.strategy import (
    DeflatedSharpe,
    SharpeDifference,
    deflated_sharpe_ratio,
    hit_rate,
    long_cash_positions,
    probabilistic_sharpe_ratio,
    regime_importance_test,
    sharpe_difference_test,
    strategy_returns,
    timing_summary,
    turnover,
)

__all__ = [
    "DeflatedSharpe",
    "SharpeDifference",
    "SharpeEstimate",
    "active_units",
    "characteristic_importance",
    "count_significant",
    "deflated_sharpe_ratio",
    "distribution_summary",
    "grs_test",
    "hit_rate",
    "importance_table",
    "latent_correlation",
    "loading_sorted_weights",
    "long_cash_positions",
    "max_drawdown",
    "performance_summary",
    "portfolio_total_r2",
    "predictive_r2",
    "pricing_errors",
    "probabilistic_sharpe_ratio",
    "reconstruction_r2",
    "regime_importance_test",
    "running_mean_lambda",
    "sharpe_ci",
    "sharpe_difference_test",
    "sharpe_ratio",
    "strategy_returns",
    "timing_summary",
    "total_r2",
    "turnover",
    "var_es",
]
