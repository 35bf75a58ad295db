"""Feature engineering: TA-Lib technical indicators, macro features and the next-day-return target.

See :mod:`latentquant.features.technical`. All features at date ``t`` use data up to ``t`` only.
"""

from __future__ import annotations

from latentquant.features.technical import (
    CLOSE_FEATURES,
    HIGH_LOW_FEATURES,
    MACRO_FEATURES,
    VOLUME_FEATURES,
    feature_matrix,
    macro_features,
    next_day_return,
    technical_features,
)

__all__ = [
    "CLOSE_FEATURES",
    "HIGH_LOW_FEATURES",
    "MACRO_FEATURES",
    "VOLUME_FEATURES",
    "feature_matrix",
    "macro_features",
    "next_day_return",
    "technical_features",
]
