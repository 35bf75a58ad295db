"""Discriminative and predictive scores of synthetic windows (issue #13, §2, §5, §6).

Simulated truths: identical sets are indistinguishable (AUC 0.5 exactly, TSTR = TRTR), added noise makes the sets
monotonically easier to tell apart, a predictable AR(1) series teaches a regressor more than white noise does; the
batched networks equal the single ones; the hand-written GRU backward pass equals autograd through torch.nn.GRU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentquant.evaluation.synthetic import (
    DiscriminativeScore,
    PredictiveScore,
    RepeatedScores,
    discriminative_score,
    discriminative_scores,
    predictive_score,
    predictive_scores,
)
from latentquant.evaluation.synthetic._posthoc import _epochs_for, _setup
from latentquant.evaluation.synthetic._recurrent import StackedRNN, rnn_sequence
from latentquant.exceptions import ConfigError, DataValidationError

FAST = {"hidden": 8, "epochs": 8, "batch_size": 32, "lr": 1e-2}


def _windows(series: np.ndarray, length: int) -> np.ndarray:
    """Overlapping stride-1 windows (n, length, F) of a (T, F) series."""
    starts = np.arange(series.shape[0] - length + 1)
    return series[starts[:, None] + np.arange(length)]


def _ar_garch(n_rows: int, seed: int) -> np.ndarray:
    """Two standardised features: a persistent AR(1) (φ = 0.9) and GARCH(1,1) returns."""
    rng = np.random.default_rng(seed)
    ar = np.zeros(n_rows)
    r = np.zeros(n_rows)
    var = 1.0
    for t in range(1, n_rows):
        ar[t] = 0.9 * ar[t - 1] + rng.normal()
        var = 0.05 + 0.1 * r[t - 1] ** 2 + 0.85 * var
        r[t] = np.sqrt(var) * rng.normal()
    x = np.column_stack([ar, r])
    return (x - x.mean(0)) / x.std(0)


@pytest.fixture(scope="module")
def real() -> np.ndarray:
    return _windows(_ar_garch(500, seed=1), 12).astype(np.float32)  # (489, 12, 2)


# --------------------------------------------------------------------------------------------------------------------
# the recurrent core
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_forward_and_gradients_equal_torch_rnn(cell):
    torch.manual_seed(0)
    ref = (torch.nn.GRU if cell == "gru" else torch.nn.LSTM)(3, 5).double()
    x = torch.randn(7, 4, 3, dtype=torch.float64)  # (L, B, F)
    out_ref, _ = ref(x)
    (out_ref[-1].sin().sum() + out_ref.cos().sum()).backward()
    params = [ref.weight_ih_l0.T.detach()[None], ref.weight_hh_l0.T.detach()[None],
              ref.bias_ih_l0.detach().view(1, 1, -1), ref.bias_hh_l0.detach().view(1, 1, -1)]
    params = [p.clone().requires_grad_() for p in params]
    out = rnn_sequence(x[:, None], *params, cell=cell)[:, 0]
    (out[-1].sin().sum() + out.cos().sum()).backward()
    assert torch.allclose(out, out_ref, atol=1e-12)
    expected = [ref.weight_ih_l0.grad.T[None], ref.weight_hh_l0.grad.T[None], ref.bias_ih_l0.grad.view(1, 1, -1),
                ref.bias_hh_l0.grad.view(1, 1, -1)]
    for got, want in zip((p.grad for p in params), expected, strict=True):
        assert torch.allclose(got, want, atol=1e-10)


@pytest.mark.parametrize(("cell", "gates"), [("gru", 3), ("lstm", 4)])
@pytest.mark.parametrize("last_only", [False, True])
def test_backward_passes_gradcheck(cell, gates, last_only):
    gen = torch.Generator().manual_seed(0)
    shapes = [(5, 2, 3, 2), (2, 2, 3 * gates), (2, 3, 3 * gates), (2, 1, 3 * gates), (2, 1, 3 * gates)]
    args = [torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True) for shape in shapes]
    assert torch.autograd.gradcheck(lambda *a: rnn_sequence(*a, cell=cell, last_only=last_only), args)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_stacked_networks_start_identical_and_equal_a_single_one(cell):
    stack = StackedRNN(4, 2, 6, 2, torch.Generator().manual_seed(3), cell)
    single = StackedRNN(1, 2, 6, 2, torch.Generator().manual_seed(3), cell)
    for a, b in zip(stack.parameters(), single.parameters(), strict=True):
        assert torch.equal(a, b.expand_as(a))


# --------------------------------------------------------------------------------------------------------------------
# discriminative score
# --------------------------------------------------------------------------------------------------------------------
def test_identical_sets_are_indistinguishable(real):
    res = discriminative_score(real, real, **FAST)
    assert isinstance(res, DiscriminativeScore)
    assert res.auc == pytest.approx(0.5, abs=0.01)
    assert res.score < 0.02
    assert res.n_real_train == res.n_synthetic_train == 381  # 489 windows: 97 test, a gap of 11, 381 train
    assert (res.n_real_test, res.hidden, res.layers, res.convention) == (97, 8, 1, "latentquant")


def test_calibration_noise_makes_the_sets_monotonically_easier_to_separate(real):
    noise = np.random.default_rng(7).normal(size=real.shape).astype(np.float32)
    draws = [real + alpha * noise for alpha in (0.0, 0.3, 1.0)]
    rep = discriminative_scores(real, draws, **FAST)
    aucs = rep.to_frame()["auc"].to_numpy()
    assert aucs[0] == pytest.approx(0.5, abs=0.01)
    assert aucs[0] < aucs[1] < aucs[2]
    assert aucs[2] > 0.8


def test_clearly_different_sets_are_separated(real):
    white = np.random.default_rng(3).normal(size=real.shape).astype(np.float32)  # no AR(1) persistence
    res = discriminative_score(real, white, **FAST)
    assert res.auc > 0.9
    assert res.accuracy > 0.8
    assert res.score == pytest.approx(abs(res.accuracy - 0.5))


def test_batched_draws_equal_single_networks(real):
    rng = np.random.default_rng(5)
    draws = np.stack([real + a * rng.normal(size=real.shape) for a in (0.2, 0.5, 1.0)]).astype(np.float32)
    rep = discriminative_scores(real, draws, **FAST)
    for j in range(3):
        single = discriminative_score(real, draws[j], **FAST)
        assert rep.draws[j].auc == pytest.approx(single.auc, abs=1e-6)
        assert rep.draws[j].accuracy == pytest.approx(single.accuracy, abs=1e-6)


def test_lstm_classifier_batched_equals_single(real):
    draws = [real, real + 0.5 * np.random.default_rng(8).normal(size=real.shape)]
    rep = discriminative_scores(real, draws, cell="lstm", **FAST)
    assert rep.draws[0].auc == pytest.approx(0.5, abs=0.01)
    single = discriminative_score(real, draws[1], cell="lstm", **FAST)
    assert rep.draws[1].auc == pytest.approx(single.auc, abs=1e-6)
    assert rep.draws[1].auc > 0.5
    assert single.cell == "lstm"


def test_same_seed_same_numbers_other_seed_other_numbers(real):
    noisy = real + 0.5 * np.random.default_rng(2).normal(size=real.shape)
    a = discriminative_score(real, noisy, seed=4, **FAST)
    b = discriminative_score(real, noisy, seed=4, **FAST)
    c = discriminative_score(real, noisy, seed=5, **FAST)
    assert a == b
    assert a.auc != c.auc


def test_timegan_convention_uses_the_reference_network_and_a_random_split(real):
    res = discriminative_score(real, real + 1.0, convention="timegan", epochs=3)
    assert (res.hidden, res.layers, res.batch_size, res.epochs) == (1, 1, 256, 3)  # hidden int(F / 2)
    assert res.n_real_train + res.n_real_test == real.shape[0]  # no gap windows dropped
    assert res.auc > 0.5
    setup = _setup(convention="timegan", cell="gru", hidden=None, layers=1, epochs=None, batch_size=None, lr=1e-3,
                   train_fraction=0.8, gap=None, standardize=None, seed=0, n_features=6, length=24,
                   timegan_batch=256)
    assert (setup.hidden, setup.gap, setup.standardize) == (3, 0, False)
    assert _epochs_for(setup, 5858, 2000) == 87  # TimeGAN Stocks: 2 × 2,929 training windows, 23 steps per epoch


# --------------------------------------------------------------------------------------------------------------------
# predictive score
# --------------------------------------------------------------------------------------------------------------------
def test_real_data_teach_more_than_noise(real):
    white = np.random.default_rng(3).normal(size=real.shape).astype(np.float32)
    res = predictive_score(real, white, **FAST)
    assert isinstance(res, PredictiveScore)
    assert res.ratio > 1.0
    assert res.tstr_mae > res.trtr_mae and res.tstr_mse > res.trtr_mse
    assert res.ratio == pytest.approx(res.tstr_mae / res.trtr_mae)


def test_tstr_equals_trtr_when_synthetic_is_real(real):
    res = predictive_score(real, real, **FAST)
    assert res.tstr_mae == pytest.approx(res.trtr_mae, abs=1e-6)
    assert res.tstr_mse == pytest.approx(res.trtr_mse, abs=1e-6)


def test_batched_predictive_equals_single(real):
    rng = np.random.default_rng(6)
    draws = [real + a * rng.normal(size=real.shape) for a in (0.1, 1.0)]
    rep = predictive_scores(real, draws, **FAST)
    frame = rep.to_frame()
    for j in range(2):
        single = predictive_score(real, draws[j], **FAST)
        assert frame.loc[j, "tstr_mae"] == pytest.approx(single.tstr_mae, abs=1e-6)
        assert frame.loc[j, "trtr_mae"] == pytest.approx(single.trtr_mae, abs=1e-6)
    assert frame.loc[0, "tstr_mae"] < frame.loc[1, "tstr_mae"]  # more noise, worse lessons


def test_two_layer_networks_batched_equal_single(real):
    draws = [real + a * np.random.default_rng(9).normal(size=real.shape) for a in (0.0, 1.0)]
    rep = predictive_scores(real, draws, layers=2, **FAST)
    assert rep.draws[0].tstr_mae == pytest.approx(rep.draws[0].trtr_mae, abs=1e-6)
    single = predictive_score(real, draws[1], layers=2, **FAST)
    assert rep.draws[1].tstr_mae == pytest.approx(single.tstr_mae, abs=1e-6)
    assert single.layers == 2


def test_timegan_predictive_is_next_step_of_the_last_feature(real):
    scaled = (real - real.min()) / (real.max() - real.min())  # TimeGAN min-max scales beforehand
    res = predictive_score(scaled, scaled, convention="timegan", epochs=2)
    assert res.tstr_mae == pytest.approx(res.trtr_mae, abs=1e-6)
    assert res.n_test == res.n_real_train == real.shape[0]  # trained and tested on all windows, as published
    assert res.hidden == 1
    with pytest.raises(DataValidationError, match="at least 2 features"):
        predictive_score(scaled[..., :1], scaled[..., :1], convention="timegan", epochs=1)


# --------------------------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------------------------
def test_repeated_scores_summarise_the_draws(real):
    rep = discriminative_scores(real, [real, real + 2.0], **FAST)
    assert isinstance(rep, RepeatedScores)
    table = rep.describe()
    assert list(table.index) == ["auc", "accuracy", "score"]
    aucs = rep.to_frame()["auc"]
    assert table.loc["auc", "mean"] == pytest.approx(aucs.mean())
    assert table.loc["auc", "std"] == pytest.approx(aucs.std(ddof=1))
    assert table.loc["auc", "50%"] == pytest.approx(aucs.median())
    assert "over 2 synthetic draws" in rep.summary()
    assert rep.to_dict()["draws"][1]["auc"] == rep.draws[1].auc
    assert "AUC" in rep.draws[0].summary() and "<table" in rep.draws[0].summary("html")


# --------------------------------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------------------------------
def test_errors_name_the_problem_and_the_fix(real):
    with pytest.raises(DataValidationError, match=r"real must be windows shaped \(n_windows, length, n_features\)"):
        discriminative_score(real[:, :, 0], real)
    bad = real.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(DataValidationError, match="synthetic has a NaN or infinite value at window 3, step 4, "
                                                  "feature 1"):
        discriminative_score(real, bad)
    with pytest.raises(DataValidationError, match="synthetic windows have length 12 and 1 feature"):
        discriminative_score(real, real[..., :1])
    with pytest.raises(DataValidationError, match="synthetic windows have length 10 and 2 feature"):
        predictive_score(real, real[:, :10])
    with pytest.raises(DataValidationError, match="real has 30 windows but the discriminative score's classifier "
                                                  "needs at least 33"):
        discriminative_score(real[:30], real[:30])
    with pytest.raises(DataValidationError, match=r"synthetic_draws\[1\] has shape"):
        discriminative_scores(real, [real, real[:100]])
    with pytest.raises(DataValidationError, match=r"n_draws, n_windows, length, n_features"):
        predictive_scores(real, real)
    with pytest.raises(DataValidationError, match="windows of at least 2 steps"):
        predictive_score(real[:, :1], real[:, :1])
    with pytest.raises(ConfigError, match="convention"):
        discriminative_score(real, real, convention="book")
    with pytest.raises(ConfigError, match="hidden"):
        predictive_score(real, real, hidden=0)
