"""Tests of the feature-selection regressors: MLP baseline, self-/cross-attention selectors, VAE features (REFERENCE §5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

import latentquant.models.selection as selection
from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError
from latentquant.features.technical import MACRO_FEATURES
from latentquant.models.selection import (
    CrossAttentionSelector,
    MLPRegressor,
    SelfAttentionSelector,
    VAEFeatures,
)
from latentquant.models.selection.attention import attention_importance, attention_weights, split_lag

SMALL_ATT = dict(d_model=8, n_heads=2, dim_feedforward=16, dropout=0.0, epochs=3)
SMALL = {
    MLPRegressor: dict(epochs=3),
    SelfAttentionSelector: SMALL_ATT,
    CrossAttentionSelector: SMALL_ATT,
    VAEFeatures: dict(latent_dim=3, vae_hidden_dims=(8, 4), vae_epochs=2, epochs=3),
}
ALL = list(SMALL)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _frame(n: int, seed: int = 0, columns: tuple[str, ...] = ("rsi14", "rsi14_lag1", "macd", "vix", "term_spread")
           ) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(columns))), columns=list(columns),
                     index=pd.bdate_range("2005-01-03", periods=n))
    y = 0.01 * (X.iloc[:, 0].to_numpy() + 0.5 * rng.normal(size=n))
    return X, y


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    return float(1.0 - np.mean((y - pred) ** 2) / np.var(y))


# ---------------------------------------------------------------------------------------------- pure maths
def test_attention_weights_match_softmax_closed_form_and_rows_sum_to_one() -> None:
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 3, 5, 4, generator=gen), torch.randn(2, 3, 6, 4, generator=gen)
    a = attention_weights(q, k)
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / 2.0  # sqrt(d_h) = 2
    expected = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)
    assert a.shape == (2, 3, 5, 6)
    torch.testing.assert_close(a, expected)
    torch.testing.assert_close(a.sum(dim=-1), torch.ones(2, 3, 5))


def test_attention_importance_is_normalised_column_sum_averaged_over_heads_and_layers() -> None:
    # one sample, two heads, two queries, three keys; two layers
    l1 = torch.tensor([[[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]]])
    l2 = torch.tensor([[[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]], [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]]])
    # column sums: l1 h1 (2,0,0) h2 (0,2,0) -> mean (1,1,0); l2 h1 (0,0,2) h2 (0.5,1,0.5) -> (0.25,0.5,1.25)
    # mean over layers (0.625, 0.75, 0.625), total 2 -> (0.3125, 0.375, 0.3125)
    imp = attention_importance([l1, l2])
    torch.testing.assert_close(imp, torch.tensor([[0.3125, 0.375, 0.3125]]))
    with pytest.raises(ConfigError, match="weights is empty"):
        attention_importance([])


def test_split_lag() -> None:
    assert split_lag("rsi14_lag3") == ("rsi14", 3)
    assert split_lag("vix_change") == ("vix_change", 0)
    assert split_lag("x_lag0") == ("x_lag0", 0)


# ---------------------------------------------------------------------------------------------- learning
def test_mlp_learns_linear_signal_out_of_sample() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1500, 4))
    y = 0.01 * (X @ np.array([1.0, -0.5, 0.0, 0.0])) + 0.004 * rng.normal(size=1500)
    model = MLPRegressor(epochs=40, lr=3e-3).fit(X[:1000], y[:1000])
    assert _r2(y[1000:], model.predict(X[1000:])) > 0.5
    assert model.score(X[1000:], y[1000:]) > 0.5  # sklearn's RegressorMixin R²


def _regime_data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """y = a when the regime variable is high, b otherwise; n1, n2 are noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=["a", "b", "regime", "n1", "n2"])
    high = X["regime"].to_numpy() > 0
    return X, np.where(high, X["a"], X["b"]) + 0.2 * rng.normal(size=n), high


def test_self_attention_importance_follows_the_planted_regime() -> None:
    X, y, _ = _regime_data(1500, 0)
    Xt, yt, high = _regime_data(1000, 1)
    model = SelfAttentionSelector(d_model=16, n_heads=2, dim_feedforward=32, head_hidden_dims=(8,), dropout=0.0,
                                  epochs=30, lr=3e-3, seed=0).fit(X, y)
    assert _r2(yt, model.predict(Xt)) > 0.8  # the mean predictor has R² = 0
    imp = model.importance(Xt)
    contrast = imp["a"] - imp["b"]
    # a gains attention relative to b exactly where it drives y (seed 0: +0.04 vs -0.27)
    assert contrast[high].mean() - contrast[~high].mean() > 0.1


def test_cross_attention_ranks_the_informative_macro_feature_first() -> None:
    def sim(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
        rng = np.random.default_rng(seed)
        X = pd.DataFrame(rng.normal(size=(n, 5)), columns=["rsi14", "macd", "vix", "yield_3m", "term_spread"])
        return X, (X["rsi14"] * (X["vix"] > 0)).to_numpy() + 0.2 * rng.normal(size=n)

    X, y = sim(1500, 0)
    Xt, yt = sim(1000, 1)
    model = CrossAttentionSelector(d_model=16, n_heads=2, dim_feedforward=32, head_hidden_dims=(8,), dropout=0.0,
                                   epochs=30, lr=3e-3, seed=0).fit(X, y)
    assert _r2(yt, model.predict(Xt)) > 0.7
    mean_imp = model.importance(Xt).mean()
    assert list(mean_imp.index) == ["vix", "yield_3m", "term_spread"]
    assert mean_imp.idxmax() == "vix" and mean_imp["vix"] > 0.4  # seed 0: 0.63


# ---------------------------------------------------------------------------------------------- importance layout
def test_self_attention_importance_shape_index_and_rows_sum_to_one() -> None:
    X, y = _frame(120)
    model = SelfAttentionSelector(**SMALL_ATT, n_layers=2).fit(X, y)
    imp = model.importance(X.iloc[:50])
    assert imp.shape == (50, 5)
    assert list(imp.columns) == list(X.columns) == model.key_tokens_ == model.query_tokens_
    assert imp.index.equals(X.index[:50])
    np.testing.assert_allclose(imp.sum(axis=1), 1.0, rtol=1e-5)
    assert (imp.to_numpy() > 0).all()
    # lag token: its own embedding row is the feature's identity plus a lag embedding
    net = model.model_
    assert net.base_idx.tolist() == [0, 0, 1, 2, 3] and net.lag_idx.tolist() == [0, 1, 0, 0, 0]
    # arrays: RangeIndex and x0.. token names
    arr_model = SelfAttentionSelector(**SMALL_ATT).fit(X.to_numpy(), y)
    arr_imp = arr_model.importance(X.to_numpy()[:7])
    assert list(arr_imp.columns) == ["x0", "x1", "x2", "x3", "x4"]
    assert arr_imp.index.equals(pd.RangeIndex(7))


def test_importance_is_batched_over_many_rows() -> None:
    X, y = _frame(10_000)
    model = CrossAttentionSelector(**SMALL_ATT).fit(X.iloc[:200], y[:200])
    imp = model.importance(X)  # 10 chunks of 1024 rows
    assert imp.shape == (10_000, 2)
    np.testing.assert_allclose(imp.sum(axis=1), 1.0, rtol=1e-5)
    one = model.importance(X.iloc[[5000]])
    np.testing.assert_allclose(one.to_numpy(), imp.iloc[[5000]].to_numpy(), rtol=1e-5)


def test_cross_attention_default_split_uses_macro_features_and_their_lags() -> None:
    cols = ("rsi14", "macd", "vix", "vix_lag1", "term_spread", "yield_10y")
    X, y = _frame(100, columns=cols)
    model = CrossAttentionSelector(**SMALL_ATT).fit(X, y)
    assert model.key_tokens_ == ["vix", "vix_lag1", "term_spread", "yield_10y"]
    assert all(split_lag(c)[0] in MACRO_FEATURES for c in model.key_tokens_)
    assert model.query_tokens_ == ["rsi14", "macd"]
    imp = model.importance(X)
    assert list(imp.columns) == model.key_tokens_
    np.testing.assert_allclose(imp.sum(axis=1), 1.0, rtol=1e-5)


def test_cross_attention_explicit_groups() -> None:
    X, y = _frame(100)
    keyed = CrossAttentionSelector(key_features=["rsi14"], **SMALL_ATT).fit(X, y)  # base name selects its lags
    assert keyed.key_tokens_ == ["rsi14", "rsi14_lag1"]
    assert keyed.query_tokens_ == ["macd", "vix", "term_spread"]
    queried = CrossAttentionSelector(query_features=["macd"], **SMALL_ATT).fit(X, y)
    assert queried.key_tokens_ == ["rsi14", "rsi14_lag1", "vix", "term_spread"]
    both = CrossAttentionSelector(query_features=["macd"], key_features=["vix"], **SMALL_ATT).fit(X, y)
    assert (both.query_tokens_, both.key_tokens_) == (["macd"], ["vix"])


def test_cross_attention_group_errors() -> None:
    X, y = _frame(100)
    with pytest.raises(DataValidationError, match=r"key/value \(time-series\) token group is empty.*include macro"):
        CrossAttentionSelector(**SMALL_ATT).fit(X[["rsi14", "macd"]], y)
    with pytest.raises(DataValidationError, match=r"query \(technical\) token group is empty"):
        CrossAttentionSelector(**SMALL_ATT).fit(X[["vix", "term_spread"]], y)
    with pytest.raises(DataValidationError, match=r"key_features \['yield_3m'\] not among the columns"):
        CrossAttentionSelector(key_features=["yield_3m"], **SMALL_ATT).fit(X, y)
    with pytest.raises(DataValidationError, match=r"query_features \['nope'\] not among"):
        CrossAttentionSelector(query_features=["nope"], **SMALL_ATT).fit(X, y)
    with pytest.raises(DataValidationError, match=r"\['vix'\] are in both query_features and key_features"):
        CrossAttentionSelector(query_features=["vix", "macd"], key_features=["vix"], **SMALL_ATT).fit(X, y)
    with pytest.raises(DataValidationError, match="token group is empty"):  # arrays have no macro names
        CrossAttentionSelector(**SMALL_ATT).fit(X.to_numpy(), y)
    with pytest.raises(ConfigError, match="CrossAttentionSelector: key_features must be a list of strings or None, "
                                          "got 'vix'"):
        CrossAttentionSelector(key_features="vix", **SMALL_ATT).fit(X, y)


# ---------------------------------------------------------------------------------------------- contract
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_seeded_reproducibility(cls: Any) -> None:
    X, y = _frame(150)
    kw = SMALL[cls]
    p1 = cls(**kw, seed=3).fit(X, y).predict(X)
    p2 = cls(**kw, seed=3).fit(X, y).predict(X)
    p3 = cls(**kw, seed=4).fit(X, y).predict(X)
    assert p1.shape == (150,) and p1.dtype == np.float64
    np.testing.assert_array_equal(p1, p2)
    assert not np.allclose(p1, p3)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_scalers_come_from_training_rows_only(cls: Any) -> None:
    X, y = _frame(300)
    Xtr, ytr, Xva, yva = X.iloc[:200], y[:200], X.iloc[200:] + 5.0, y[200:] + 1.0  # shifted validation span
    model = cls(**SMALL[cls]).fit(Xtr, ytr, X_val=Xva, y_val=yva)
    np.testing.assert_allclose(model.mean_, Xtr.mean().to_numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.scale_, Xtr.std(ddof=0).to_numpy(), rtol=1e-5)
    assert model.y_mean_ == pytest.approx(ytr.mean())
    assert model.y_scale_ == pytest.approx(ytr.std())
    assert "val_loss" in model.history_ and model.best_epoch_ is not None
    assert list(model.feature_names_in_) == list(X.columns) and model.n_features_in_ == 5


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_predictions_are_in_original_units(cls: Any) -> None:
    X, y = _frame(150)
    model = cls(**SMALL[cls]).fit(X, y)
    big = cls(**SMALL[cls]).fit(X, 100.0 * y + 3.0)
    np.testing.assert_allclose(big.predict(X), 100.0 * model.predict(X) + 3.0, rtol=1e-4, atol=1e-4)


def test_early_stopping_only_with_explicit_validation() -> None:
    X, y = _frame(300)
    no_val = MLPRegressor(epochs=7).fit(X, y)
    assert len(no_val.history_["train_loss"]) == 7 and no_val.best_epoch_ is None and "val_loss" not in no_val.history_
    # pure-noise validation targets: the validation loss stops improving early and the best epoch is restored
    rng = np.random.default_rng(5)
    val = MLPRegressor(epochs=200, patience=3, lr=1e-2).fit(X.iloc[:200], rng.normal(size=200),
                                                            X_val=X.iloc[200:], y_val=rng.normal(size=100))
    assert len(val.history_["train_loss"]) < 200
    assert val.best_epoch_ == int(np.argmin(val.history_["val_loss"]))


@pytest.mark.parametrize("cls", [MLPRegressor, SelfAttentionSelector], ids=lambda c: c.__name__)
def test_warm_start_fine_tunes_from_pretrained_weights(cls: Any) -> None:
    X_other, y_other = _frame(600, seed=1)
    X, y = _frame(200, seed=2)
    kw = {**SMALL[cls], "epochs": 15, "lr": 3e-3}
    pre = cls(**kw, warm_start=True).fit(X_other, y_other)
    stats = (pre.mean_.copy(), pre.scale_.copy(), pre.y_mean_, pre.y_scale_)
    before = pre.predict(X)
    weights = {k: v.clone() for k, v in pre.model_.state_dict().items()}
    tuned = pre.fit(X, y)
    assert tuned is pre
    # the scalers of the pre-training rows are kept
    np.testing.assert_array_equal(pre.mean_, stats[0])
    np.testing.assert_array_equal(pre.scale_, stats[1])
    assert (pre.y_mean_, pre.y_scale_) == stats[2:]
    # the weights moved on from the pre-trained ones ...
    assert any(not torch.equal(weights[k], v) for k, v in pre.model_.state_dict().items())
    assert not np.allclose(before, pre.predict(X))
    # ... and training started from them: the first fine-tuning epoch already has the loss of a trained model
    fresh = cls(**kw).fit(X, y)
    assert pre.history_["train_loss"][0] < 0.9 * fresh.history_["train_loss"][0]
    assert not np.allclose(fresh.predict(X), pre.predict(X))
    # warm_start=False refits from scratch: identical to a fresh model
    cold = clone(pre).set_params(warm_start=False)
    cold.fit(X_other, y_other)
    np.testing.assert_array_equal(cold.fit(X, y).predict(X), fresh.predict(X))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_clone_and_get_params(cls: Any) -> None:
    est = cls(**SMALL[cls], seed=7)
    copy = clone(est)
    assert type(copy) is cls and copy.get_params() == est.get_params()
    assert copy.get_params()["seed"] == 7
    X, y = _frame(60)
    fitted = est.fit(X, y)
    assert not hasattr(clone(fitted), "model_")


def test_public_exports() -> None:
    assert selection.__all__ == sorted(selection.__all__, key=lambda n: (not n.isupper(), n))  # constants first
    assert {"CrossAttentionSelector", "MLPRegressor", "SelfAttentionSelector", "VAEFeatures"} <= set(selection.__all__)


# ---------------------------------------------------------------------------------------------- VAE features
def test_vae_features_latent_dim_and_head() -> None:
    X, y = _frame(200)
    model = VAEFeatures(latent_dim=4, vae_hidden_dims=(8, 6), vae_epochs=3, epochs=3).fit(X, y)
    z = model.transform(X)
    assert z.shape == (200, 4)
    assert model.vae_.latent_dim == 4 and model.vae_.hidden_dims == [8, 6]
    assert len(model.vae_history_["train_loss"]) == 3 and len(model.history_["train_loss"]) == 3
    # the head sees the latent means: predict == head(transform)
    assert list(z.columns) == ["z0", "z1", "z2", "z3"] and z.index.equals(X.index)
    with torch.no_grad():
        head = model.model_(torch.tensor(z.to_numpy(np.float32))).numpy()
    np.testing.assert_allclose(model.predict(X), model.y_mean_ + model.y_scale_ * head, rtol=1e-5, atol=1e-8)
    # a VAE fitted by fit (not pretrain_vae) is refitted by the next fit on the new rows
    assert not model.vae_pretrained_
    X2, y2 = _frame(200, seed=9)
    model.fit(X2 + 1.0, y2)
    np.testing.assert_allclose(model.mean_, (X2 + 1.0).mean().to_numpy(), rtol=1e-5, atol=1e-6)


def test_vae_features_pretrain_then_head_only_keeps_vae_weights() -> None:
    X_other, _ = _frame(400, seed=1)
    X, y = _frame(150, seed=2)
    model = VAEFeatures(**SMALL[VAEFeatures]).pretrain_vae(X_other)
    assert not hasattr(model, "model_")
    vae_state = {k: v.clone() for k, v in model.vae_.state_dict().items()}
    mean = model.mean_.copy()
    with pytest.raises(NotFittedError, match=r"VAEFeatures is not fitted yet; call fit\(X, y\) first"):
        model.predict(X)
    z_before = model.transform(X)
    model.fit(X, y)  # refit_vae=None: a pre-trained VAE is kept, only the head is trained
    assert model.vae_pretrained_
    assert all(torch.equal(vae_state[k], v) for k, v in model.vae_.state_dict().items())
    np.testing.assert_array_equal(model.mean_, mean)  # the VAE's scaler (pre-training rows) is kept
    np.testing.assert_array_equal(model.transform(X), z_before)
    assert model.y_mean_ == pytest.approx(y.mean())  # the head's target scaler is the target asset's
    model.fit(X, y, refit_vae=False)  # explicit: same
    assert all(torch.equal(vae_state[k], v) for k, v in model.vae_.state_dict().items())
    # refit_vae=True refits scaler and VAE on X
    model.fit(X, y, refit_vae=True)
    assert not model.vae_pretrained_
    np.testing.assert_allclose(model.mean_, X.mean().to_numpy(), rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(vae_state[k], v) for k, v in model.vae_.state_dict().items())


def test_vae_features_warm_start_fine_tunes_the_vae() -> None:
    X_other, _ = _frame(400, seed=1)
    X, y = _frame(150, seed=2)
    model = VAEFeatures(**SMALL[VAEFeatures], warm_start=True).pretrain_vae(X_other)
    state = {k: v.clone() for k, v in model.vae_.state_dict().items()}
    mean = model.mean_.copy()
    model.fit(X, y, refit_vae=True)  # continues the VAE from the pre-trained weights on X, with its scaler
    np.testing.assert_array_equal(model.mean_, mean)
    assert any(not torch.equal(state[k], v) for k, v in model.vae_.state_dict().items())
    fresh = VAEFeatures(**SMALL[VAEFeatures]).fit(X, y)
    assert model.vae_history_["train_loss"][0] < fresh.vae_history_["train_loss"][0]


def test_vae_features_errors() -> None:
    X, y = _frame(60)
    with pytest.raises(NotFittedError, match=r"refit_vae=False needs a fitted VAE; call pretrain_vae"):
        VAEFeatures(**SMALL[VAEFeatures]).fit(X, y, refit_vae=False)
    with pytest.raises(NotFittedError, match="no fitted VAE yet"):
        VAEFeatures().transform(X)
    with pytest.raises(ConfigError, match="VAEFeatures: beta must be a number >= 0, got -1"):
        VAEFeatures(beta=-1).fit(X, y)
    with pytest.raises(ConfigError, match="latent_dim must be a positive integer, got 0"):
        VAEFeatures(latent_dim=0).fit(X, y)
    with pytest.raises(ConfigError, match=r"VAEFeatures: refit_vae must be a boolean \(True or False\) or None, "
                                          r"got 'no'"):
        VAEFeatures().fit(X, y, refit_vae="no")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="VAEFeatures needs at least 10 rows"):
        VAEFeatures().pretrain_vae(X.iloc[:5])
    model = VAEFeatures(**SMALL[VAEFeatures]).pretrain_vae(X)
    with pytest.raises(DataValidationError, match=r"columns differ from those seen in fit \(missing \['vix'\]"):
        model.fit(X.drop(columns="vix"), y, refit_vae=False)


# ---------------------------------------------------------------------------------------------- errors
def test_nan_and_inf_errors_name_the_place_and_the_fix() -> None:
    X, y = _frame(50)
    Xn = X.copy()
    Xn.iloc[3, 2] = np.nan
    with pytest.raises(DataValidationError,
                       match=r"X has a NaN or infinite value in column 'macd' at 2005-01-06 \(row 3\) \(1 "
                             r"non-finite value\(s\) in total\); drop the indicator warm-up rows.*feature_matrix"):
        MLPRegressor(epochs=1).fit(Xn, y)
    yn = pd.Series(y, index=X.index)
    yn.iloc[-1] = np.inf
    with pytest.raises(DataValidationError, match=r"y has 1 NaN or infinite value\(s\), first at 2005-03-11 "
                                                  r"\(row 49\).*feature_matrix"):
        MLPRegressor(epochs=1).fit(X, yn)
    model = MLPRegressor(epochs=1).fit(X, y)
    arr = X.to_numpy().copy()
    arr[7, 0] = np.inf
    with pytest.raises(DataValidationError, match="X has a NaN or infinite value in column 0 at row 7"):
        model.predict(arr)


def test_shape_and_column_errors() -> None:
    X, y = _frame(50)
    with pytest.raises(DataValidationError, match=r"X has 50 rows but y has 49; pass row-aligned data"):
        MLPRegressor(epochs=1).fit(X, y[:-1])
    with pytest.raises(DataValidationError, match=r"y must be 1-D \(one target per row\)"):
        MLPRegressor(epochs=1).fit(X, np.c_[y, y])
    with pytest.raises(DataValidationError, match=r"X has 5 rows; MLPRegressor needs at least 10 training rows"):
        MLPRegressor(epochs=1).fit(X.iloc[:5], y[:5])
    with pytest.raises(DataValidationError, match="X must be 2-D"):
        MLPRegressor(epochs=1).fit(y, y)
    with pytest.raises(DataValidationError, match="X column 'rsi14' is not numeric; convert it with pd.to_numeric"):
        MLPRegressor(epochs=1).fit(X.assign(rsi14="high"), y)
    with pytest.raises(ConfigError, match="X_val and y_val must be given together.*got only X_val"):
        MLPRegressor(epochs=1).fit(X, y, X_val=X)
    with pytest.raises(DataValidationError, match=r"X_val has 4 column\(s\) but MLPRegressor was fitted on 5"):
        MLPRegressor(epochs=1).fit(X.to_numpy(), y, X_val=X.to_numpy()[:, :4], y_val=y)
    with pytest.raises(DataValidationError, match="X_val has 50 rows but y_val has 3"):
        MLPRegressor(epochs=1).fit(X, y, X_val=X, y_val=y[:3])
    model = SelfAttentionSelector(**SMALL_ATT).fit(X, y)
    with pytest.raises(DataValidationError, match=r"missing \['vix'\], unexpected \['yield_3m'\].*"
                                                  r"X\[model.feature_names_in_\]"):
        model.predict(X.rename(columns={"vix": "yield_3m"}))
    with pytest.raises(DataValidationError, match="same columns, other order"):
        model.importance(X[X.columns[::-1]])
    with pytest.raises(DataValidationError, match=r"X has 4 column\(s\) but SelfAttentionSelector was fitted on 5"):
        model.predict(X.to_numpy()[:, :4])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_not_fitted(cls: Any) -> None:
    X, _ = _frame(20)
    with pytest.raises(NotFittedError, match=rf"This {cls.__name__} is not fitted yet; call fit\(X, y\) first"):
        cls().predict(X)
    if hasattr(cls, "importance"):
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            cls().importance(X)


@pytest.mark.parametrize(("cls", "params", "match"), [
    (SelfAttentionSelector, dict(d_model=10, n_heads=4),
     r"SelfAttentionSelector: d_model=10 is not divisible by n_heads=4; pick d_model a multiple of n_heads"),
    (CrossAttentionSelector, dict(d_model=10, n_heads=3), "not divisible by n_heads=3"),
    (SelfAttentionSelector, dict(dropout=-0.1), r"SelfAttentionSelector: dropout must be a number in \[0, 1\), got -0.1"),
    (MLPRegressor, dict(dropout=1.0), r"MLPRegressor: dropout must be a number in \[0, 1\), got 1.0"),
    (MLPRegressor, dict(hidden_dims=(2, 0)), r"hidden_dims must be a list of positive integers, got \(2, 0\)"),
    (MLPRegressor, dict(hidden_dims=3), r"hidden_dims must be a list of positive integers, got 3"),
    (SelfAttentionSelector, dict(head_hidden_dims=(-1,)), "head_hidden_dims must be a list of positive integers"),
    (MLPRegressor, dict(activation="softplus"), r"activation must be one of \[.*'relu'.*\], got 'softplus'"),
    (MLPRegressor, dict(lr=0.0), "lr must be a positive number, got 0.0"),
    (MLPRegressor, dict(weight_decay=-1e-3), "weight_decay must be a number >= 0, got -0.001"),
    (MLPRegressor, dict(epochs=0), "epochs must be a positive integer, got 0"),
    (MLPRegressor, dict(batch_size=2.5), "batch_size must be a positive integer, got 2.5"),
    (MLPRegressor, dict(patience=0), "patience must be a positive integer, got 0"),
    (MLPRegressor, dict(seed=1.5), "seed must be an integer or None, got 1.5"),
    (MLPRegressor, dict(warm_start="yes"), r"warm_start must be a boolean \(True or False\), got 'yes'"),
    (MLPRegressor, dict(verbose=2), r"verbose must be a boolean \(True or False\) or None, got 2"),
    (SelfAttentionSelector, dict(n_layers=0), "n_layers must be a positive integer, got 0"),
    (SelfAttentionSelector, dict(dim_feedforward=0), "dim_feedforward must be a positive integer, got 0"),
    (VAEFeatures, dict(vae_lr=0), "VAEFeatures: vae_lr must be a positive number, got 0"),
    (VAEFeatures, dict(vae_hidden_dims=[8, "8"]), "vae_hidden_dims must be a list of positive integers"),
    (MLPRegressor, dict(device="tpu:0"), "device='tpu:0' is not a torch device"),
])
def test_bad_params_raise_config_error_at_fit(cls: Any, params: dict[str, Any], match: str) -> None:
    X, y = _frame(30)
    est = cls(**params)  # constructors only store parameters
    with pytest.raises(ConfigError, match=match):
        est.fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_cuda_request_without_cuda_is_a_config_error() -> None:
    X, y = _frame(30)
    with pytest.raises(ConfigError, match="device='cuda' was requested but CUDA is not available"):
        MLPRegressor(device="cuda", epochs=1).fit(X, y)
    assert MLPRegressor(device="auto", epochs=1).fit(X, y).predict(X).shape == (30,)


# ---------------------------------------------------------------------------------------------- API of the family
@pytest.mark.parametrize("module", ["mlp", "attention", "vae_features", "ssvae", "_inputs", "_networks", "_neural"])
def test_doctests(module: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(f"latentquant.models.selection.{module}")
    result = doctest.testmod(mod, verbose=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_pandas_in_pandas_out(cls: Any) -> None:
    X, y = _frame(120)
    model = cls(**SMALL[cls]).fit(X, y)
    pred = model.predict(X.iloc[100:])
    assert isinstance(pred, pd.Series) and pred.index.equals(X.index[100:]) and pred.name == "prediction"
    arr = model.predict(X.to_numpy()[100:])  # arrays: a RangeIndex, the same numbers
    assert arr.index.equals(pd.RangeIndex(20))
    np.testing.assert_array_equal(arr.to_numpy(), pred.to_numpy())


def test_target_series_must_share_the_index_of_x() -> None:
    X, y = _frame(60)
    shifted = pd.Series(y, index=X.index + pd.offsets.BDay(1))
    with pytest.raises(DataValidationError, match=r"X and y have misaligned indexes \(1 date\(s\) only in X, first "
                                                  r"2005-01-03\)"):
        MLPRegressor(epochs=1).fit(X, shifted)
    with pytest.raises(DataValidationError, match=r"y must be one target column, got a DataFrame with 2 columns"):
        MLPRegressor(epochs=1).fit(X, pd.DataFrame({"a": y, "b": y}, index=X.index))


def test_registry_builds_every_model_of_the_family() -> None:
    from latentquant.models.selection import SELECTION_MODELS

    assert SELECTION_MODELS.names() == ["ridge", "lightgbm", "mlp", "self_attention", "cross_attention",
                                        "vae_features", "semi_supervised_vae"]
    model = SELECTION_MODELS.create("self_attention", {"d_model": 8}, n_heads=2)
    assert isinstance(model, SelfAttentionSelector) and (model.d_model, model.n_heads) == (8, 2)
    with pytest.raises(ConfigError, match=r"selection model 'mlp' has no parameter\(s\) \['n_layers'\]"):
        SELECTION_MODELS.create("mlp", {"n_layers": 2})
    with pytest.raises(ConfigError, match=r"unknown selection model 'gru'; choose from \['ridge'"):
        SELECTION_MODELS.get("gru")


def test_mlp_regressor_old_import_path_warns() -> None:
    import latentquant.models.selection.attention as attention_module

    with pytest.warns(FutureWarning, match=r"attention.MLPRegressor moved to latentquant.models.selection.mlp"):
        old = attention_module.MLPRegressor
    assert old is MLPRegressor
    with pytest.raises(AttributeError, match="has no attribute 'GRUSelector'"):
        attention_module.GRUSelector  # noqa: B018


def test_hyperparameters_after_the_first_are_keyword_only() -> None:
    with pytest.raises(TypeError, match="positional argument"):
        MLPRegressor((4,), "tanh")  # type: ignore[misc]
    assert MLPRegressor((4,), activation="tanh").get_params()["hidden_dims"] == (4,)


@pytest.mark.parametrize("cls", [SelfAttentionSelector, VAEFeatures], ids=lambda c: c.__name__)
def test_save_load_keeps_the_fitted_state(cls: Any, tmp_path: Any) -> None:
    X, y = _frame(150)
    model = cls(**SMALL[cls]).fit(X.iloc[:100], y[:100], X_val=X.iloc[100:], y_val=y[100:])
    loaded = cls.load(model.save(tmp_path / "m"))
    pd.testing.assert_series_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.mean_, model.mean_)
    assert loaded.history_ == model.history_ and loaded.best_epoch_ == model.best_epoch_
    assert loaded.history_.best_epoch == model.history_.best_epoch
    assert not any(p.suffix in (".pkl", ".pickle") for p in (tmp_path / "m").iterdir())
