"""Fitting cases of the factor-model family for the estimator contract test (``test_estimator_contract.py``)."""

from __future__ import annotations

from collections.abc import Callable

from estimator_cases import Case, returns_frame


def vae_factor_model() -> Case:
    from latentquant.models.factor import VAEFactorModel

    x = returns_frame(n=300, k=2, n_assets=6)
    model = VAEFactorModel(n_factors=2, hidden_dims=(8,), epochs=5, batch_size=64, verbose=False)
    return Case(model, lambda e: e.fit(x.iloc[:240]), lambda e: e.encode(x.iloc[240:]).mean, ("n_factors", 0))


CASES: dict[str, Callable[[], Case]] = {
    "VAEFactorModel": vae_factor_model,
}
