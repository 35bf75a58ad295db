"""Small fitting cases of the asset-pricing estimators for the estimator contract test (a second or two each)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from estimator_cases import Case


@cache
def _sim() -> Any:
    from latentquant.data import simulate_panel

    return simulate_panel(n_assets=30, n_periods=24, n_chars=4, n_factors=2, seed=0)


def _panel() -> Any:
    return _sim().panel


def fama_french() -> Case:
    from latentquant.models.pricing import FamaFrench

    panel, f = _panel(), _sim().factors  # the true factor returns as observable factors
    return Case(FamaFrench(n_factors=2), lambda e: e.fit(panel, factor_returns=f), lambda e: e.fitted(panel),
                ("n_factors", 0))


def pca_factors() -> Case:
    from latentquant.models.pricing import PCAFactors

    panel = _panel()
    return Case(PCAFactors(n_factors=2), lambda e: e.fit(panel), lambda e: e.fitted(panel), ("n_factors", 0))


def instrumented_pca() -> Case:
    from latentquant.models.pricing import InstrumentedPCA

    panel = _panel()
    return Case(InstrumentedPCA(n_factors=2), lambda e: e.fit(panel), lambda e: e.fitted(panel), ("tol", 0.0))


def conditional_autoencoder() -> Case:
    from latentquant.models.pricing import ConditionalAutoencoder

    panel = _panel()
    return Case(ConditionalAutoencoder(n_factors=2, depth=1, n_seeds=2, epochs=2, device="cpu"),
                lambda e: e.fit(panel), lambda e: e.fitted(panel), ("depth", 4))


def conditional_vae() -> Case:
    from latentquant.models.pricing import ConditionalVAE

    panel = _panel()
    return Case(ConditionalVAE(n_factors=2, hidden_dim=8, epochs=2, device="cpu", verbose=False),
                lambda e: e.fit(panel), lambda e: e.fitted(panel), ("gamma", 0.0))


CASES: dict[str, Callable[[], Case]] = {
    "FamaFrench": fama_french,
    "PCAFactors": pca_factors,
    "InstrumentedPCA": instrumented_pca,
    "ConditionalAutoencoder": conditional_autoencoder,
    "ConditionalVAE": conditional_vae,
}
