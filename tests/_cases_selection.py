"""Estimator-contract cases of the feature-selection family (``tests/test_estimator_contract.py``): a few hundred rows,
two or three epochs each."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from estimator_cases import Case

COLUMNS = ["rsi14", "rsi14_lag1", "macd", "vix", "term_spread"]


def _data(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(COLUMNS))), columns=COLUMNS,
                     index=pd.bdate_range("2015-01-01", periods=n))
    y = pd.Series(0.01 * (X["rsi14"] * (X["vix"] > 0) + 0.5 * rng.normal(size=n)), index=X.index, name="y")
    return X, y


def _regressor(estimator: object, bad_param: tuple[str, object], **fit_kw: object) -> Case:
    X, y = _data()
    tr, va, te = slice(0, 160), slice(160, 200), slice(200, None)
    extra = {"X_val": X.iloc[va], "y_val": y.iloc[va]} if fit_kw.pop("validation", False) else {}

    def fit(e: object) -> object:
        return e.fit(X.iloc[tr], y.iloc[tr], **extra)  # type: ignore[attr-defined]

    return Case(estimator, fit, lambda e: e.predict(X.iloc[te]), bad_param)


def mlp() -> Case:
    from latentquant.models.selection import MLPRegressor

    return _regressor(MLPRegressor(epochs=3, seed=1), ("dropout", 1.0), validation=True)


def self_attention() -> Case:
    from latentquant.models.selection import SelfAttentionSelector

    return _regressor(SelfAttentionSelector(d_model=8, n_heads=2, dim_feedforward=16, epochs=2, seed=1),
                      ("n_layers", 0), validation=True)


def cross_attention() -> Case:
    from latentquant.models.selection import CrossAttentionSelector

    case = _regressor(CrossAttentionSelector(d_model=8, n_heads=2, dim_feedforward=16, epochs=2, seed=1),
                      ("key_features", "vix"))
    X, _ = _data()
    # the importance table (dates × macro tokens) must survive a save/load round trip as well
    case.predict = lambda e: pd.concat([e.predict(X.iloc[200:]), e.importance(X.iloc[200:])], axis=1)
    return case


def vae_features() -> Case:
    from latentquant.models.selection import VAEFeatures

    case = _regressor(VAEFeatures(latent_dim=2, vae_hidden_dims=(8,), vae_epochs=2, epochs=2, seed=1), ("beta", -1.0),
                      validation=True)
    X, _ = _data()
    case.predict = lambda e: pd.concat([e.predict(X.iloc[200:]), e.transform(X.iloc[200:])], axis=1)
    return case


def ridge() -> Case:
    from latentquant.models.selection import RidgeBaseline

    return _regressor(RidgeBaseline(alpha=2.0), ("alpha", 0.0))


def lightgbm() -> Case:
    from latentquant.models.selection import LightGBMBaseline

    return _regressor(LightGBMBaseline(n_estimators=20, subsample=0.8, early_stopping_rounds=5, seed=3),
                      ("subsample", 1.5), validation=True)


def semi_supervised_vae() -> Case:
    from latentquant.models.selection import SemiSupervisedVAE

    X, y = _data()
    labels = (y > 0).to_numpy(dtype=float, copy=True)
    labels[np.arange(len(labels)) % 5 != 0] = np.nan  # one row in five labelled
    est = SemiSupervisedVAE(latent_dim=2, hidden_dims=(8,), epochs=2, batch_size=32, seed=1)
    return Case(est, lambda e: e.fit(X.iloc[:200], labels[:200]),
                lambda e: pd.concat([e.predict_proba(X.iloc[200:]), e.transform(X.iloc[200:])], axis=1),
                ("likelihood", "poisson"))


CASES: dict[str, Callable[[], Case]] = {
    "MLPRegressor": mlp,
    "SelfAttentionSelector": self_attention,
    "CrossAttentionSelector": cross_attention,
    "VAEFeatures": vae_features,
    "RidgeBaseline": ridge,
    "LightGBMBaseline": lightgbm,
    "SemiSupervisedVAE": semi_supervised_vae,
}
