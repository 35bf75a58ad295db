"""Tests of the semi-supervised VAE (Kingma et al. 2014, M2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError
from latentquant.models.selection import SemiSupervisedVAE
from latentquant.nn import mlp
from latentquant.training import Trainer

# Digits protocol (issue: >= 5 points over the same classifier on the labelled rows alone, mean over 5 seeds).
# Both arms' settings were chosen on an inner validation split of each seed's *training* rows (80/20, labels of
# 10 per class in the inner 80 %), never on the test rows: the SS-VAE's accuracy rose with epochs (80: 0.923,
# 200: 0.935, 500: 0.942, 1000: 0.937) and the baseline's with its epochs up to 5000 (200: 0.878, 1000: 0.886,
# 5000: 0.895, 10000: 0.890). A Gaussian likelihood on standardised pixels needs a larger classification weight
# than the paper's alpha=0.1 (Bernoulli likelihood on MNIST) for q(y|x) to be shaped by the labels.
SS_KW = dict(epochs=500, hidden_dims=(128,), latent_dim=16, alpha=3.0, verbose=False)
SS_FAST = dict(SS_KW, epochs=200)  # the default (fast) test: fewer epochs, two seeds
BASELINE_EPOCHS = 5000


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _digits_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 70/30 split; 10 labels per class among the training rows, the rest unlabelled (-1)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    rng = np.random.default_rng(seed)
    lab = np.concatenate([rng.choice(np.flatnonzero(ytr == c), 10, replace=False) for c in range(10)])
    y_semi = np.full(len(ytr), -1.0)
    y_semi[lab] = ytr[lab]
    return Xtr, y_semi, lab, Xte, yte


def _supervised_only_accuracy(Xl: np.ndarray, yl: np.ndarray, Xte: np.ndarray, yte: np.ndarray, seed: int,
                              epochs: int = BASELINE_EPOCHS) -> float:
    """The same q(y|x) architecture (64 → 128 → 10 MLP) trained with cross-entropy on the labelled rows only
    (standardised with their own statistics; Adam, batch 32, ``epochs`` chosen on the inner validation split)."""
    mean, sd = Xl.mean(0), Xl.std(0)
    sd[sd < 1e-8] = 1.0
    torch.manual_seed(seed)
    net = mlp([Xl.shape[1], 128, 10])

    def ce(m: torch.nn.Module, b: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        return {"loss": torch.nn.functional.cross_entropy(m(b[0]), b[1].long())}

    Trainer(epochs=epochs, batch_size=32, validation_split=0.0, early_stopping=False, seed=seed, verbose=False,
            device="cpu").fit(net, ce, ((Xl - mean) / sd, yl))
    with torch.no_grad():
        pred = net(torch.tensor((Xte - mean) / sd, dtype=torch.float32)).argmax(1).numpy()
    return float((pred == yte).mean())


def _compare(seeds: range, ss_kw: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    ss, sup = [], []
    for seed in seeds:
        Xtr, y_semi, lab, Xte, yte = _digits_split(seed)
        ss.append(SemiSupervisedVAE(seed=seed, device="cpu", **ss_kw).fit(Xtr, y_semi).score(Xte, yte))
        sup.append(_supervised_only_accuracy(Xtr[lab], y_semi[lab], Xte, yte, seed))
    return np.array(ss), np.array(sup)


def test_unlabelled_rows_help_on_digits() -> None:
    ss, sup = _compare(range(2), SS_FAST)
    print(f"SS-VAE {ss.mean():.3f}±{ss.std():.3f}  labelled-only MLP {sup.mean():.3f}±{sup.std():.3f}")
    # measured on seeds 0, 1 (200 epochs): SS-VAE 0.942±0.010, labelled-only 0.866±0.003, +7.6 points (these two
    # seeds have the largest gains; the five-seed test below is the requirement)
    assert ss.mean() - sup.mean() >= 0.05


@pytest.mark.slow
def test_unlabelled_rows_help_on_digits_five_seeds() -> None:
    ss, sup = _compare(range(5), SS_KW)
    print(f"SS-VAE {ss.mean():.3f}±{ss.std():.3f}  labelled-only MLP {sup.mean():.3f}±{sup.std():.3f}")
    # the requirement; measured: SS-VAE 0.951±0.011, labelled-only 0.888±0.019, +6.3 points (per seed
    # +8.0, +7.6, +4.4, +4.3, +7.0)
    assert ss.mean() - sup.mean() >= 0.05


def _toy(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[-3.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 3.0, -3.0]])
    labels = np.arange(n) % 3
    X = centers[labels] + rng.normal(size=(n, 3))
    y = np.full(n, -1.0)
    y[:9] = labels[:9]
    return X, y


SMALL = dict(latent_dim=2, hidden_dims=(16,), epochs=5, batch_size=32, verbose=False, device="cpu")


def test_proba_rows_sum_to_one_and_shapes() -> None:
    X, y = _toy()
    clf = SemiSupervisedVAE(seed=1, **SMALL).fit(X, y)
    p = clf.predict_proba(X)
    assert p.shape == (120, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert (p.to_numpy() >= 0).all() and list(p.columns) == [0, 1, 2] and p.index.equals(pd.RangeIndex(120))
    assert set(clf.predict(X)) <= {0, 1, 2}
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.transform(X).shape == (120, 2)
    truth = np.arange(120) % 3
    assert clf.score(X, truth) == pytest.approx(np.mean(clf.predict(X).to_numpy() == truth))
    assert "train_cross_entropy" in clf.history_


def test_same_seed_identical_and_nan_equals_minus_one() -> None:
    X, y = _toy()
    a = SemiSupervisedVAE(seed=3, **SMALL).fit(X, y)
    b = SemiSupervisedVAE(seed=3, **SMALL).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    y_nan = np.where(y == -1, np.nan, y)
    c = SemiSupervisedVAE(seed=3, **SMALL).fit(X, y_nan)
    np.testing.assert_array_equal(a.predict_proba(X), c.predict_proba(X))
    d = SemiSupervisedVAE(seed=4, **SMALL).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), d.predict_proba(X))


def test_class_labels_are_kept() -> None:
    X, y = _toy()
    y2 = np.where(y >= 0, y * 10 + 5, np.nan)  # classes 5, 15, 25
    clf = SemiSupervisedVAE(seed=0, **SMALL).fit(X, y2)
    np.testing.assert_array_equal(clf.classes_, [5, 15, 25])
    assert set(clf.predict(X)) <= {5, 15, 25}


def test_errors() -> None:
    X, y = _toy()
    with pytest.raises(DataValidationError, match="no labelled row"):
        SemiSupervisedVAE(**SMALL).fit(X, np.full(len(X), -1.0))
    y_missing = np.where(y == 2, -1.0, y)
    with pytest.raises(DataValidationError, match="class 2 has no labelled row"):
        SemiSupervisedVAE(n_classes=3, **SMALL).fit(X, y_missing)
    with pytest.raises(DataValidationError, match="X has 120 rows but y has 119"):
        SemiSupervisedVAE(**SMALL).fit(X, y[:-1])
    with pytest.raises(NotFittedError, match="not fitted"):
        SemiSupervisedVAE().predict(X)
    with pytest.raises(NotFittedError, match="not fitted"):
        SemiSupervisedVAE().transform(X)


def test_bernoulli_likelihood_takes_values_in_the_unit_interval() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(120, 6))
    y = np.where(np.arange(120) % 4 == 0, (X[:, 0] > 0.5).astype(float), -1.0)
    clf = SemiSupervisedVAE(likelihood="bernoulli", seed=0, **SMALL).fit(X, y)
    assert np.allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    with pytest.raises(DataValidationError, match=r"likelihood='bernoulli' needs X in \[0, 1\]"):
        SemiSupervisedVAE(likelihood="bernoulli", **SMALL).fit(X * 2 - 1, y)
    with pytest.raises(ConfigError, match=r"SemiSupervisedVAE: likelihood must be one of \['gaussian', 'bernoulli'\], "
                                          r"got 'poisson'"):
        SemiSupervisedVAE(likelihood="poisson", **SMALL).fit(X, y)


def test_new_option_errors() -> None:
    X, y = _toy()
    cases = [
        (dict(learn_variance=1), r"learn_variance must be a boolean \(True or False\), got 1"),
        (dict(m1_sample="yes"), r"m1_sample must be a boolean \(True or False\), got 'yes'"),
        (dict(m1_latent_dim=0), "m1_latent_dim must be a positive integer or None, got 0"),
        (dict(m1_latent_dim=2.5), "m1_latent_dim must be a positive integer or None, got 2.5"),
        (dict(m1_latent_dim=2, m1_hidden_dims=(0,)), r"m1_hidden_dims must be a list of positive integers, got \(0,\)"),
        (dict(m1_latent_dim=2, m1_epochs=0), "m1_epochs must be a positive integer or None, got 0"),
        (dict(consistency=-1.0), "consistency must be a number >= 0, got -1.0"),
        (dict(consistency=float("nan")), "consistency must be a number >= 0, got nan"),
        (dict(n_classes=1), "SemiSupervisedVAE: n_classes must be an integer >= 2 or None, got 1"),
        (dict(hidden_dims=[16, 0]), r"hidden_dims must be a list of positive integers, got \[16, 0\]"),
        (dict(alpha=-0.1), "alpha must be a number >= 0, got -0.1"),
        (dict(validation_split=1.0), r"validation_split must be a number in \[0, 1\), got 1.0"),
    ]
    for kw, msg in cases:
        with pytest.raises(ConfigError, match=msg):
            SemiSupervisedVAE(**{**SMALL, **kw}).fit(X, y)


def test_m1_m2_stacking_shapes_and_determinism() -> None:
    X, y = _toy()
    kw = dict(SMALL, m1_latent_dim=4, m1_hidden_dims=(8,), m1_epochs=3)
    a = SemiSupervisedVAE(seed=2, **kw).fit(X, y)
    assert a.m1_ is not None and a.m1_.latent_dim == 4
    assert a.model_.input_dim == 4  # M2 models the M1 latent
    assert a.transform(X).shape == (120, 2)
    p = a.predict_proba(X)
    assert p.shape == (120, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert "train_loss" in a.m1_history_ and len(a.m1_history_["train_loss"]) == 3
    b = SemiSupervisedVAE(seed=2, **kw).fit(X, y)
    np.testing.assert_array_equal(p, b.predict_proba(X))
    c = SemiSupervisedVAE(seed=2, **dict(kw, m1_sample=False)).fit(X, y)
    assert c.predict_proba(X).shape == (120, 3)
    with pytest.raises(DataValidationError, match=r"X must have shape \(n_samples, 3\) as in fit"):
        a.predict(X[:, :2])
    assert SemiSupervisedVAE(seed=2, **SMALL).fit(X, y).m1_ is None


def test_bernoulli_m1_then_gaussian_m2() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(120, 6))
    y = np.where(np.arange(120) % 4 == 0, (X[:, 0] > 0.5).astype(float), -1.0)
    clf = SemiSupervisedVAE(likelihood="bernoulli", m1_latent_dim=3, m1_hidden_dims=(8,), seed=0, **SMALL).fit(X, y)
    assert clf.m1_.bernoulli and not clf.model_.bernoulli
    assert clf.predict_proba(X).shape == (120, 2)


def test_learned_variance_and_consistency_options() -> None:
    X, y = _toy()
    fixed = SemiSupervisedVAE(seed=5, **SMALL).fit(X, y)
    assert fixed.model_.obs_log_var is None
    a = SemiSupervisedVAE(seed=5, learn_variance=True, consistency=1.0, **SMALL).fit(X, y)
    log_var = a.model_.obs_log_var
    assert log_var is not None and log_var.shape == (3,)
    assert not torch.allclose(log_var, torch.full((3,), float(np.log(0.5))))  # it was trained
    assert "train_consistency" in a.history_
    b = SemiSupervisedVAE(seed=5, learn_variance=True, consistency=1.0, **SMALL).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    # the Bernoulli likelihood has no variance: the option is ignored there
    Xb = (X - X.min()) / (X.max() - X.min())
    bern = SemiSupervisedVAE(seed=5, likelihood="bernoulli", learn_variance=True, **SMALL).fit(Xb, y)
    assert bern.model_.obs_log_var is None


def test_gaussian_nll_matches_squared_error_at_half_variance() -> None:
    from latentquant.models.selection.ssvae import _gaussian_nll

    g = torch.Generator().manual_seed(0)
    out, x = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    sq = (out - x).pow(2).sum(dim=1)
    torch.testing.assert_close(_gaussian_nll(out, x, None), sq)
    torch.testing.assert_close(_gaussian_nll(out, x, torch.full((4,), float(np.log(0.5)))), sq)
    # variance 2: 0.5 * sum(log 2 - log 0.5 + r^2 / 2)
    expected = 0.5 * (4 * np.log(4.0) + sq / 2)
    torch.testing.assert_close(_gaussian_nll(out, x, torch.full((4,), float(np.log(2.0)))), expected)


def test_fit_supervised_trains_the_classifier_on_labelled_rows_only() -> None:
    X, y = _toy()
    lab = y >= 0
    clf = SemiSupervisedVAE(seed=0, **dict(SMALL, epochs=50)).fit_supervised(X[lab], y[lab])
    assert clf.m1_ is None and "train_cross_entropy" not in clf.history_
    assert clf.history_["train_loss"][-1] < clf.history_["train_loss"][0]
    assert clf.predict_proba(X).shape == (120, 3)
    assert clf.score(X[lab], y[lab]) == 1.0  # 9 well-separated labelled rows are fitted
    again = SemiSupervisedVAE(seed=0, **dict(SMALL, epochs=50)).fit_supervised(X[lab], y[lab])
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))
    with pytest.raises(DataValidationError, match="fit_supervised needs every row labelled"):
        SemiSupervisedVAE(**SMALL).fit_supervised(X, y)


def test_pandas_in_pandas_out_and_save_load(tmp_path) -> None:
    X, y = _toy()
    frame = pd.DataFrame(X, columns=["a", "b", "c"], index=pd.bdate_range("2020-01-01", periods=120))
    clf = SemiSupervisedVAE(seed=1, **SMALL).fit(frame, y)
    proba, pred, z = clf.predict_proba(frame), clf.predict(frame), clf.transform(frame)
    assert proba.index.equals(frame.index) and pred.index.equals(frame.index) and z.index.equals(frame.index)
    assert list(z.columns) == ["z0", "z1"] and pred.name == "prediction"
    np.testing.assert_array_equal(pred.to_numpy(), clf.classes_[proba.to_numpy().argmax(axis=1)])
    loaded = SemiSupervisedVAE.load(clf.save(tmp_path / "ss"))
    pd.testing.assert_frame_equal(loaded.predict_proba(frame), proba)
    pd.testing.assert_frame_equal(loaded.transform(frame), z)
    assert loaded.history_["train_loss"] == clf.history_["train_loss"]


def test_init_stores_the_hyperparameters_as_given() -> None:
    clf = SemiSupervisedVAE(hidden_dims=[32], m1_hidden_dims=[16])
    assert clf.hidden_dims == [32] and clf.m1_hidden_dims == [16]  # no derived state in __init__ (a list stays a list)
    with pytest.raises(TypeError, match="positional argument"):
        SemiSupervisedVAE(3, 8)  # type: ignore[misc]
