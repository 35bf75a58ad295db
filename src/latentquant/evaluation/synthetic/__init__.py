"""Is synthetic market data any good? Stylized facts of returns and distances between real and synthetic sets.

Inputs are a 1-D return series ``(T,)``, a table ``(T, F)`` or windows ``(n, L, F)`` (NumPy arrays or pandas); see
the module docstring of ``latentquant.evaluation.synthetic._facts`` for how windows are pooled. Every function
returns a labelled result (a pandas object or a frozen result dataclass with ``summary()`` and ``to_dict()``).

* Stylized facts: :func:`stylized_facts` (all at once, :class:`StylizedFacts`) and each fact alone —
  :func:`acf`, :func:`excess_kurtosis`, :func:`hill_tail_index`, :func:`power_law_decay`, :func:`leverage_effect`,
  :func:`aggregational_gaussianity`, :func:`gain_loss_asymmetry`.
* Distances: :func:`wasserstein_returns`, :func:`quantgan_scores` (ACF and leverage scores of Wiese et al. 2020),
  :func:`ks_test`, :func:`mmd_test` (:class:`MMDTest`), :func:`correlation_distance` (:class:`CorrelationDistance`).
"""

from latentquant.evaluation.synthetic._distances import (
    CorrelationDistance,
    MMDTest,
    correlation_distance,
    ks_test,
    mmd_test,
    quantgan_scores,
    wasserstein_returns,
)
from latentquant.evaluation.synthetic._facts import (
    acf,
    aggregational_gaussianity,
    excess_kurtosis,
    gain_loss_asymmetry,
    hill_tail_index,
    leverage_effect,
    power_law_decay,
)
from latentquant.evaluation.synthetic._report import SyntheticReport, evaluate_synthetic, noise_calibration
from latentquant.evaluation.synthetic._scores import (
    DiscriminativeScore,
    PredictiveScore,
    RepeatedScores,
    discriminative_score,
    discriminative_scores,
    predictive_score,
    predictive_scores,
)
from latentquant.evaluation.synthetic._stylized import StylizedFacts, stylized_facts

__all__ = [
    "CorrelationDistance",
    "DiscriminativeScore",
    "MMDTest",
    "PredictiveScore",
    "RepeatedScores",
    "StylizedFacts",
    "SyntheticReport",
    "acf",
    "aggregational_gaussianity",
    "correlation_distance",
    "discriminative_score",
    "discriminative_scores",
    "evaluate_synthetic",
    "excess_kurtosis",
    "gain_loss_asymmetry",
    "hill_tail_index",
    "ks_test",
    "leverage_effect",
    "mmd_test",
    "noise_calibration",
    "power_law_decay",
    "predictive_score",
    "predictive_scores",
    "quantgan_scores",
    "stylized_facts",
    "wasserstein_returns",
]
