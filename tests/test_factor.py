"""Correctness of VAEFactorModel: closed forms, the PCA special case, scenarios, Euler risk, persistence and errors.

Data are simulated from a linear factor model with a clear spectral gap (``simulate_factor_data``), scaled to daily
log-return sizes; models are small and fitted once per module so that the whole file stays fast.
"""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.base import clone

from conftest import simulate_factor_data
from latentquant.datasets import load_sp500_stocks
from latentquant.exceptions import (
    CheckpointError,
    ConfigError,
    DataValidationError,
    DataWarning,
    NotFittedError,
)
from latentquant.models.factor import FactorEncoding, RiskDecomposition, VAEFactorModel

N_ROWS, N_ASSETS, K = 1000, 10, 3
N_TRAIN = 800
ASSETS = [f"A{i}" for i in range(N_ASSETS)]
DATES = pd.bdate_range("2015-01-01", periods=N_ROWS)
FACTORS = ["f1", "f2", "f3"]
STRESS = ("2015-06-01", "2015-12-31")  # inside the training span (2015-01-01 … 2018-01-24)


def rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def small_model(**kw) -> VAEFactorModel:
    """A quick model for tests where recovery is not the point."""
    params = dict(n_factors=2, hidden_dims=(8,), epochs=10, verbose=False, seed=0)
    params.update(kw)
    return VAEFactorModel(**params)


def recover_latent(model: VAEFactorModel, x: pd.DataFrame) -> np.ndarray:
    """Invert a *linear* decoder: the latent points whose decoding (log-return units) is ``x``."""
    s = (x - model.scaler_.mean_) / model.scaler_.scale_
    W = model.vae_.decoder[0].weight.detach().double().numpy()
    b = model.vae_.decoder[0].bias.detach().double().numpy()
    return np.linalg.lstsq(W, (s.to_numpy() - b).T, rcond=None)[0].T


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """These networks are tiny: one thread avoids the threading overhead that dominates on a busy machine.
    The thread count of the session (conftest: 2) is restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def log_returns() -> pd.DataFrame:
    X, _, _ = simulate_factor_data(n_rows=N_ROWS, n_assets=N_ASSETS, n_factors=K, seed=0)
    return pd.DataFrame(0.005 * X, index=DATES, columns=ASSETS)


@pytest.fixture(scope="module")
def train(log_returns) -> pd.DataFrame:
    return log_returns.iloc[:N_TRAIN]


@pytest.fixture(scope="module")
def holdout(log_returns) -> pd.DataFrame:
    return log_returns.iloc[N_TRAIN:]


@pytest.fixture(scope="module")
def model(train) -> VAEFactorModel:
    """Nonlinear β-VAE factor model (one ReLU hidden layer)."""
    # the plain β-VAE (unit-variance likelihood, no linear path): the closed forms below use its residual noise
    return VAEFactorModel(n_factors=K, hidden_dims=(32,), lr=3e-3, epochs=60, verbose=False, seed=0,
                          likelihood="unit", linear_skip=False).fit(train)


@pytest.fixture(scope="module")
def linear_model(train) -> VAEFactorModel:
    """Linear encoder/decoder with β → 0: the PCA special case (no early stopping, every row trained on)."""
    return VAEFactorModel(n_factors=K, hidden_dims=(), likelihood="unit", linear_skip=False, beta=1e-3, lr=1e-2,
                          epochs=200, validation_split=0.0, early_stopping=False, verbose=False, seed=0).fit(train)


# ---------------------------------------------------------------------------------------------- encode / decode
def test_encode_gives_factor_means_and_stds_indexed_by_date(model, train, holdout):
    enc = model.encode(holdout)
    assert isinstance(enc, FactorEncoding)
    for frame in enc:
        assert list(frame.columns) == FACTORS
        assert frame.index.equals(holdout.index)
        assert np.isfinite(frame.to_numpy()).all()
    assert (enc.std.to_numpy() > 0).all()
    # encoding the training span again reproduces the stored training factors exactly
    pd.testing.assert_frame_equal(model.encode(train).mean, model.train_factors_.mean)
    pd.testing.assert_frame_equal(model.encode(train).std, model.train_factors_.std)
    pd.testing.assert_frame_equal(model.transform(holdout), enc.mean)
    # the posterior standard deviation is exp(log_var / 2) of the network's encoder
    with torch.no_grad():
        mu, log_var = model.vae_.encode(torch.tensor(model.scaler_.transform(holdout).to_numpy(np.float32)))
    np.testing.assert_allclose(enc.mean.to_numpy(), mu.double().numpy(), rtol=1e-12)
    np.testing.assert_allclose(enc.std.to_numpy(), torch.exp(0.5 * log_var).double().numpy(), rtol=1e-12)


def test_decode_undoes_the_standardisation(model):
    z = np.random.default_rng(0).normal(size=(6, K))
    with torch.no_grad():
        standardised = model.vae_.decode(torch.tensor(z, dtype=torch.float32)).double().numpy()
    expected = model.scaler_.mean_.to_numpy() + model.scaler_.scale_.to_numpy() * standardised
    out = model.decode(z)
    assert list(out.columns) == ASSETS
    np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-12, atol=1e-15)
    # a DataFrame keeps its index and is aligned on factor names (column order does not matter); tensors work too
    frame = pd.DataFrame(z, index=pd.Index(list("abcdef"), name="case"), columns=FACTORS)[["f3", "f1", "f2"]]
    decoded = model.decode(frame)
    assert decoded.index.equals(frame.index)
    np.testing.assert_allclose(decoded.to_numpy(), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.decode(torch.tensor(z)).to_numpy(), expected, rtol=1e-12, atol=1e-15)


def test_reconstruct_is_decode_of_posterior_mean_and_residuals_match_residual_var(model, train, holdout):
    pd.testing.assert_frame_equal(model.reconstruct(holdout), model.decode(model.encode(holdout).mean))
    # residual_var_ is the mean squared reconstruction error of each asset on the training rows, in log-return units
    resid = train - model.reconstruct(train)
    np.testing.assert_allclose((resid**2).mean().to_numpy(), model.residual_var_.to_numpy(), rtol=1e-4)
    assert list(model.residual_var_.index) == ASSETS


def test_training_statistics_match_their_definitions(model, train):
    mu, sd = model.train_factors_.mean.to_numpy(), model.train_factors_.std.to_numpy()
    np.testing.assert_allclose(model.latent_mean_, mu.mean(0), rtol=1e-12)
    np.testing.assert_allclose(model.latent_cov_, np.cov(mu, rowvar=False) + np.diag((sd**2).mean(0)), rtol=1e-12)
    kl = (-0.5 * (1 + np.log(sd**2) - mu**2 - sd**2)).mean(0)
    np.testing.assert_allclose(model.kl_per_factor_.to_numpy(), kl, rtol=1e-10)
    # the latent statistics of a "stress period" equal to the whole training span are the training statistics
    stats = model.stress_statistics((train.index[0], train.index[-1]))
    assert list(stats.columns) == ["mean", "std", "train_mean", "train_std"] and list(stats.index) == FACTORS
    np.testing.assert_allclose(stats["mean"], stats["train_mean"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats["std"], stats["train_std"], rtol=1e-10)
    pd.testing.assert_series_equal(model.anomaly_scores(train), model.train_anomaly_scores_)


# ---------------------------------------------------------------------------------------------- loadings
def test_autograd_loadings_agree_with_finite_differences(model, train):
    date = train.index[123]
    point = np.array([0.3, -1.2, 0.8])
    points = np.random.default_rng(1).normal(size=(5, K))
    for at in (None, date, str(date.date()), point, points):
        auto = model.factor_loadings(at)
        fd = model.factor_loadings(at, method="finite_difference")
        assert list(auto.index) == ASSETS and list(auto.columns) == FACTORS
        assert rel_err(fd, auto) < 1e-3
    # a date means that date's posterior mean; the default averages the Jacobian over all training dates
    z_date = model.train_factors_.mean.loc[[date]].to_numpy()
    pd.testing.assert_frame_equal(model.factor_loadings(date), model.factor_loadings(z_date))
    per_date = [model.factor_loadings(d).to_numpy() for d in train.index[:40]]
    avg = model.factor_loadings(model.train_factors_.mean.iloc[:40])
    np.testing.assert_allclose(avg.to_numpy(), np.mean(per_date, axis=0), rtol=1e-10)
    # the decoder is nonlinear: loadings depend on where they are taken
    assert rel_err(model.factor_loadings(point), model.factor_loadings(-point)) > 1e-3
    # loadings are per unit of factor in log-return units: a small latent step moves decode by B · step
    step = np.array([1e-4, 0.0, 0.0])
    moved = (model.decode(point + step) - model.decode(point - step)).to_numpy()[0] / 2e-4
    np.testing.assert_allclose(moved, model.factor_loadings(point)["f1"], rtol=2e-2, atol=1e-5)


def test_linear_decoder_loadings_are_weight_times_scale_everywhere(linear_model, train):
    W = linear_model.vae_.decoder[0].weight.detach().double().numpy()
    closed = W * linear_model.scaler_.scale_.to_numpy()[:, None]
    for at in (None, train.index[0], train.index[500], np.array([5.0, -7.0, 2.0])):
        np.testing.assert_allclose(linear_model.factor_loadings(at).to_numpy(), closed, rtol=1e-12)
        np.testing.assert_allclose(linear_model.factor_loadings(at, method="finite_difference").to_numpy(),
                                   closed, rtol=1e-6)


# ---------------------------------------------------------------------------------------------- PCA special case
def test_linear_vae_with_beta_to_zero_spans_pca_subspace(linear_model, train):
    Z = linear_model.scaler_.transform(train).to_numpy()
    V = np.linalg.svd(Z - Z.mean(0), full_matrices=False)[2]
    decoder_span = linear_model.vae_.decoder[0].weight.detach().double().numpy()
    assert np.max(subspace_angles(decoder_span, V[:K].T)) < 0.05
    # control: the same decoder is far from the *bottom* principal components
    assert np.max(subspace_angles(decoder_span, V[-K:].T)) > 1.0


# ---------------------------------------------------------------------------------------------- scenarios
def test_prior_scenarios_decode_standard_normal_factors_plus_residual_noise(linear_model):
    clean = linear_model.generate_scenarios(20_000, seed=0, noise=False)
    assert clean.shape == (20_000, N_ASSETS) and list(clean.columns) == ASSETS
    assert clean.index.name == "scenario"
    z = recover_latent(linear_model, clean)
    assert np.abs(z.mean(0)).max() < 0.05
    assert np.abs(np.cov(z, rowvar=False) - np.eye(K)).max() < 0.05
    # noise (default for sampled modes) adds e ~ N(0, residual_var_) to the same factor draws
    noisy = linear_model.generate_scenarios(20_000, seed=0)
    np.testing.assert_allclose((noisy - clean).std().to_numpy(), np.sqrt(linear_model.residual_var_), rtol=0.03)
    assert np.abs((noisy - clean).mean().to_numpy()).max() < 4 * np.sqrt(linear_model.residual_var_.max() / 20_000)


def test_stressed_scenarios_use_the_latent_statistics_of_the_period(linear_model, train):
    stats = linear_model.stress_statistics(STRESS)
    clean = linear_model.generate_scenarios(20_000, "stressed", stress_period=STRESS, seed=1, noise=False)
    z = recover_latent(linear_model, clean)
    assert np.all(np.abs(z.mean(0) - stats["mean"].to_numpy()) < 0.05 * stats["std"].to_numpy())
    np.testing.assert_allclose(z.std(0), stats["std"].to_numpy(), rtol=0.03)
    # the period's std is the aggregate posterior: variance of the means + mean posterior variance
    enc = linear_model.train_factors_
    period = enc.mean.loc[STRESS[0]:STRESS[1]]
    expected_sd = np.sqrt(period.var(ddof=1) + (enc.std.loc[STRESS[0]:STRESS[1]] ** 2).mean())
    np.testing.assert_allclose(stats["std"], expected_sd, rtol=1e-12)
    np.testing.assert_allclose(stats["mean"], period.mean(), rtol=1e-12)
    # idiosyncratic noise has the size of the period's own reconstruction residuals
    noisy = linear_model.generate_scenarios(20_000, "stressed", stress_period=STRESS, seed=1)
    window = train.loc[STRESS[0]:STRESS[1]]
    resid_rms = np.sqrt(((window - linear_model.reconstruct(window)) ** 2).mean())
    np.testing.assert_allclose((noisy - clean).std().to_numpy(), resid_rms.to_numpy(), rtol=0.03)


def test_conditional_scenarios_hold_the_fixed_factors(linear_model, model):
    by_name = linear_model.generate_scenarios(20_000, "conditional", fixed={"f2": -2.5}, seed=3, noise=False)
    z = recover_latent(linear_model, by_name)
    np.testing.assert_allclose(z[:, 1], -2.5, atol=1e-4)
    free = z[:, [0, 2]]
    assert np.abs(free.mean(0)).max() < 0.05 and np.abs(free.std(0) - 1).max() < 0.03
    by_index = linear_model.generate_scenarios(20_000, "conditional", fixed={1: -2.5}, seed=3, noise=False)
    pd.testing.assert_frame_equal(by_name, by_index)
    # every factor fixed and no noise: every scenario is the decoding of that one point
    fixed = {"f1": 1.0, "f2": -2.0, "f3": 0.5}
    all_fixed = model.generate_scenarios(50, "conditional", fixed=fixed, seed=0, noise=False)
    expected = model.decode(np.array([[1.0, -2.0, 0.5]])).to_numpy()
    assert (all_fixed.to_numpy() == all_fixed.to_numpy()[0]).all()
    # (float32 batches of different sizes round differently, hence the tolerance)
    np.testing.assert_allclose(all_fixed.to_numpy(), np.repeat(expected, 50, axis=0), rtol=1e-5, atol=1e-9)


def test_interpolation_runs_from_start_posterior_mean_to_end(model, linear_model, train):
    start, end = train.index[10], train.index[700]
    path = model.generate_scenarios(7, "interpolate", start=start, end=end, seed=0)
    assert path.index.name == "alpha"
    np.testing.assert_allclose(path.index.to_numpy(), np.linspace(0, 1, 7))
    ends = model.decode(model.train_factors_.mean.loc[[start, end]]).to_numpy()
    np.testing.assert_allclose(path.to_numpy()[[0, -1]], ends, rtol=1e-5, atol=1e-9)  # float32 decoder
    # no noise by default, so the seed does not matter; dates may be strings
    pd.testing.assert_frame_equal(
        path, model.generate_scenarios(7, "interpolate", start=str(start.date()), end=str(end.date()), seed=99))
    assert np.abs(np.diff(path.to_numpy(), axis=0)).max() > 0
    # through a linear decoder the path is a straight line in return space
    line = linear_model.generate_scenarios(5, "interpolate", start=start, end=end).to_numpy()
    np.testing.assert_allclose(line[2], (line[0] + line[-1]) / 2, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("mode, kw", [
    ("prior", {}),
    ("stressed", {"stress_period": STRESS}),
    ("conditional", {"fixed": {"f1": 2.0}}),
])
def test_scenarios_same_seed_identical_other_seed_different(model, mode, kw):
    a = model.generate_scenarios(300, mode, seed=5, **kw)
    pd.testing.assert_frame_equal(a, model.generate_scenarios(300, mode, seed=5, **kw))
    assert not a.equals(model.generate_scenarios(300, mode, seed=6, **kw))


def test_stressed_scenarios_are_more_volatile_than_prior_on_bundled_stocks():
    prices = load_sp500_stocks().loc["2000":"2012"]
    m = VAEFactorModel(n_factors=3, input="prices", epochs=20, verbose=False, seed=0).fit(prices)
    w = np.full(prices.shape[1], 1 / prices.shape[1])
    prior = m.generate_scenarios(5000, "prior", seed=0)
    stressed = m.generate_scenarios(5000, "stressed", stress_period=("2008-09-01", "2009-03-31"), seed=0)
    assert list(stressed.columns) == list(prices.columns)
    assert (stressed @ w).std() > 1.5 * (prior @ w).std()
    # and of the order of the crisis's realised equal-weight volatility
    realised_crisis = np.log(prices).diff().loc["2008-09-01":"2009-03-31"] @ w
    assert (stressed @ w).std() == pytest.approx(realised_crisis.std(), rel=0.5)


def test_data_argument_looks_up_dates_outside_the_training_span(model, holdout):
    period = (holdout.index[20], holdout.index[120])
    with pytest.raises(DataValidationError, match="has 0 dates in the training span"):
        model.stress_statistics(period)
    stats = model.stress_statistics(period, data=holdout)
    enc = model.encode(holdout).mean.loc[period[0]:period[1]]
    np.testing.assert_allclose(stats["mean"], enc.mean(), rtol=1e-12)
    s = model.generate_scenarios(100, "stressed", stress_period=period, data=holdout, seed=0)
    assert s.shape == (100, N_ASSETS)
    pd.testing.assert_frame_equal(model.factor_loadings(holdout.index[50], data=holdout),
                                  model.factor_loadings(model.encode(holdout).mean.iloc[[50]]))


# ---------------------------------------------------------------------------------------------- input units
def test_prices_and_log_returns_inputs_give_identical_factors(train):
    prices = pd.DataFrame(100 * np.exp(np.vstack([np.zeros((1, N_ASSETS)), train.cumsum().to_numpy()])),
                          index=pd.bdate_range("2014-12-31", periods=N_TRAIN + 1), columns=ASSETS)
    log_ret = pd.DataFrame(np.diff(np.log(prices.to_numpy()), axis=0), index=prices.index[1:], columns=ASSETS)
    a = small_model(input="prices").fit(prices)
    b = small_model(input="log_returns").fit(log_ret)
    pd.testing.assert_frame_equal(a.train_factors_.mean, b.train_factors_.mean)
    pd.testing.assert_frame_equal(a.encode(prices).std, b.encode(log_ret).std)
    assert a.encode(prices).mean.index[0] == prices.index[1]  # the first price date has no return
    pd.testing.assert_frame_equal(a.generate_scenarios(50, seed=0), b.generate_scenarios(50, seed=0))
    # the scaler is the training log returns' mean and sample standard deviation
    np.testing.assert_allclose(a.scaler_.mean_, log_ret.mean(), rtol=1e-10)
    np.testing.assert_allclose(a.scaler_.scale_, log_ret.std(ddof=1), rtol=1e-10)


def test_simple_returns_input_outputs_simple_returns(train):
    simple = np.expm1(train)
    r = small_model(input="returns").fit(simple)
    lg = small_model(input="log_returns").fit(np.log1p(simple))
    pd.testing.assert_frame_equal(r.encode(simple).mean, lg.encode(np.log1p(simple)).mean)
    z = np.random.default_rng(0).normal(size=(4, 2))
    pd.testing.assert_frame_equal(r.decode(z), np.expm1(lg.decode(z)))
    with torch.no_grad():
        standardised = r.vae_.decode(torch.tensor(z, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(r.decode(z).to_numpy(),
                               np.expm1(r.scaler_.mean_.to_numpy() + r.scaler_.scale_.to_numpy() * standardised),
                               rtol=1e-12)
    pd.testing.assert_frame_equal(r.generate_scenarios(200, seed=1), np.expm1(lg.generate_scenarios(200, seed=1)))
    pd.testing.assert_frame_equal(r.reconstruct(simple), np.expm1(lg.reconstruct(np.log1p(simple))))
    # loadings stay in log-return units
    pd.testing.assert_frame_equal(r.factor_loadings(), lg.factor_loadings())
    assert (r.generate_scenarios(2000, seed=0) > -1).all().all()


# ---------------------------------------------------------------------------------------------- risk
def test_linear_risk_decomposition_is_an_exact_euler_split(model):
    w = np.random.default_rng(2).normal(size=N_ASSETS)  # a long-short book
    rd = model.risk_decomposition(w)
    assert isinstance(rd, RiskDecomposition) and rd.method == "linear"
    assert rd.factor_contributions.sum() == pytest.approx(rd.factor_variance, rel=1e-8)
    assert rd.asset_contributions.sum() == pytest.approx(rd.total_variance, rel=1e-8)
    assert rd.total_variance == pytest.approx(rd.factor_variance + rd.idiosyncratic_variance, rel=1e-12)
    B = model.factor_loadings().to_numpy()
    np.testing.assert_allclose(rd.exposures.to_numpy(), B.T @ w, rtol=1e-12)
    assert rd.factor_variance == pytest.approx(w @ B @ model.latent_cov_ @ B.T @ w, rel=1e-10)
    assert rd.idiosyncratic_variance == pytest.approx(w**2 @ model.residual_var_.to_numpy(), rel=1e-12)
    assert list(rd.factor_contributions.index) == FACTORS and list(rd.asset_contributions.index) == ASSETS
    # variances are quadratic in the weights; a Series is aligned on names, missing assets weigh 0
    assert model.risk_decomposition(2 * w).total_variance == pytest.approx(4 * rd.total_variance, rel=1e-10)
    partial = pd.Series({"A3": 0.5, "A0": -0.2})
    dense = np.zeros(N_ASSETS)
    dense[[3, 0]] = [0.5, -0.2]
    assert model.risk_decomposition(partial).total_variance == pytest.approx(
        model.risk_decomposition(dense).total_variance, rel=1e-12)
    # loadings at a date give a different (local) decomposition of the same form
    local = model.risk_decomposition(w, at=model.train_factors_.mean.index[7])
    assert local.factor_contributions.sum() == pytest.approx(local.factor_variance, rel=1e-8)
    # presentation
    table = rd.table()
    assert list(table.index) == [*FACTORS, "factor total", "idiosyncratic", "total"]
    assert table.loc["total", "share"] == pytest.approx(1.0)
    assert table.loc[[*FACTORS, "idiosyncratic"], "share"].sum() == pytest.approx(1.0, rel=1e-8)
    assert table.loc["total", "ann_vol_equivalent"] == pytest.approx(np.sqrt(252 * rd.total_variance))
    assert rd.factor_share == pytest.approx(rd.factor_variance / rd.total_variance)
    assert "Portfolio volatility" in rd.summary()
    assert json.loads(json.dumps(rd.to_dict()))["total_variance"] == pytest.approx(rd.total_variance)


def test_linear_risk_total_is_close_to_realised_variance(linear_model, train):
    w = np.full(N_ASSETS, 1 / N_ASSETS)
    rd = linear_model.risk_decomposition(w)
    realised = float((train @ w).var(ddof=1))
    assert rd.total_variance == pytest.approx(realised, rel=0.15)
    assert rd.factor_share > 0.9  # strong simulated factors


def test_monte_carlo_risk_on_linear_decoder_matches_linear_factor_variance(linear_model):
    w = np.full(N_ASSETS, 1 / N_ASSETS)
    lin = linear_model.risk_decomposition(w)
    mc = linear_model.risk_decomposition(w, method="monte_carlo", n_samples=20_000, seed=0)
    assert mc.method == "monte_carlo" and mc.n_samples == 20_000
    assert mc.factor_variance == pytest.approx(lin.factor_variance, rel=0.05)  # sampling error ≈ 1 %
    assert mc.idiosyncratic_variance == pytest.approx(lin.idiosyncratic_variance, rel=1e-12)
    assert mc.total_variance == pytest.approx(mc.factor_variance + mc.idiosyncratic_variance, rel=1e-12)
    assert mc.asset_contributions.empty
    np.testing.assert_allclose(mc.exposures.to_numpy(), lin.exposures.to_numpy(), rtol=1e-12)
    # through a linear decoder the Monte Carlo contributions are the Euler contributions b_k (Σ b)_k
    np.testing.assert_allclose(mc.factor_contributions.to_numpy(), lin.factor_contributions.to_numpy(),
                               rtol=0.05, atol=0.02 * lin.factor_variance)
    assert abs(mc.interaction) < 1e-9 * mc.factor_variance
    assert "interaction" in mc.table().index
    same = linear_model.risk_decomposition(w, method="monte_carlo", n_samples=20_000, seed=0)
    assert same.to_dict() == mc.to_dict()


def test_monte_carlo_interaction_vanishes_for_a_linear_decoder(linear_model):
    m = copy.deepcopy(linear_model)
    # a fitted linear decoder whose aggregate posterior has correlated factors (corr(f1, f2) = 0.6)
    m.latent_cov_ = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.0], [0.0, 0.0, 1.0]])
    B = m.factor_loadings().to_numpy()
    w = B @ np.linalg.solve(B.T @ B, np.array([1.0, 1.0, 0.0]))  # exposures b = (1, 1, 0)
    mc = m.risk_decomposition(w, method="monte_carlo", n_samples=100_000, seed=0)
    assert mc.factor_variance == pytest.approx(3.2, rel=0.03)  # b'Σb = 1 + 1 + 2·0.6
    assert abs(mc.interaction) < 0.02 * mc.factor_variance


# ---------------------------------------------------------------------------------------------- anomalies and score
def test_injected_outlier_date_scores_above_training_99th_percentile(model, holdout):
    shocked = holdout.copy()
    scale = model.scaler_.scale_
    date = shocked.index[50]
    for asset, sign in (("A1", 6.0), ("A4", -6.0), ("A7", 6.0)):  # idiosyncratic moves that break the factor structure
        shocked.loc[date, asset] += sign * scale[asset]
    threshold = np.quantile(model.train_anomaly_scores_, 0.99)
    scores = model.anomaly_scores(shocked)
    assert scores.name == "anomaly_score" and scores.index.equals(holdout.index)
    assert scores[date] > threshold
    assert scores[date] > 5 * model.anomaly_scores(holdout)[date]
    assert (model.anomaly_scores(holdout) > threshold).mean() < 0.05  # clean later dates are rarely flagged


def test_score_is_high_on_factor_data_and_low_on_noise(model, holdout, log_returns):
    r2 = model.score(holdout)
    assert r2 > 0.85
    # the definition: pooled R² of the reconstruction in standardised units against the training mean
    z = model.scaler_.transform(holdout).to_numpy()
    z_hat = ((model.reconstruct(holdout) - model.scaler_.mean_) / model.scaler_.scale_).to_numpy()
    assert r2 == pytest.approx(1 - ((z - z_hat) ** 2).sum() / (z**2).sum(), rel=1e-10)
    noise = pd.DataFrame(np.random.default_rng(7).normal(scale=0.01, size=log_returns.shape),
                         index=DATES, columns=ASSETS)
    m = VAEFactorModel(n_factors=K, hidden_dims=(32,), lr=3e-3, epochs=40, verbose=False, seed=0)
    noise_r2 = m.fit(noise.iloc[:N_TRAIN]).score(noise.iloc[N_TRAIN:])
    # a K-dim bottleneck reconstructs at most ≈ K/N of isotropic noise; the β-VAE keeps far less
    assert noise_r2 < 0.3 < r2 - 0.5


# ---------------------------------------------------------------------------------------------- persistence
def test_save_load_round_trip(model, train, holdout, tmp_path):
    path = model.save(tmp_path / "fm")
    loaded = VAEFactorModel.load(path)
    for a, b in zip(model.encode(holdout), loaded.encode(holdout), strict=True):
        pd.testing.assert_frame_equal(a, b)
    z = np.random.default_rng(0).normal(size=(5, K))
    pd.testing.assert_frame_equal(model.decode(z), loaded.decode(z))
    for mode, kw in (("prior", {}), ("stressed", {"stress_period": STRESS}), ("conditional", {"fixed": {"f1": 1}})):
        pd.testing.assert_frame_equal(model.generate_scenarios(200, mode, seed=4, **kw),
                                      loaded.generate_scenarios(200, mode, seed=4, **kw))
    pd.testing.assert_frame_equal(model.factor_loadings(), loaded.factor_loadings())
    pd.testing.assert_frame_equal(model.factor_loadings(train.index[3]), loaded.factor_loadings(train.index[3]))
    w = np.linspace(-1, 1, N_ASSETS)
    assert model.risk_decomposition(w).to_dict() == loaded.risk_decomposition(w).to_dict()
    mc_kw = dict(method="monte_carlo", n_samples=1000, seed=1)
    assert model.risk_decomposition(w, **mc_kw).to_dict() == loaded.risk_decomposition(w, **mc_kw).to_dict()
    assert loaded.history_.to_dict() == model.history_.to_dict()
    pd.testing.assert_series_equal(model.train_anomaly_scores_, loaded.train_anomaly_scores_, check_freq=False)
    for a, b in zip(model.train_factors_, loaded.train_factors_, strict=True):
        pd.testing.assert_frame_equal(a, b, check_freq=False)
    pd.testing.assert_series_equal(model.anomaly_scores(holdout), loaded.anomaly_scores(holdout))
    pd.testing.assert_frame_equal(model.stress_statistics(STRESS), loaded.stress_statistics(STRESS))
    pd.testing.assert_series_equal(model.kl_per_factor_, loaded.kl_per_factor_)
    assert loaded.score(holdout) == model.score(holdout)
    assert list(loaded.columns_) == ASSETS
    # the one estimator format: JSON + arrays + weights, nothing pickled
    assert sorted(p.name for p in path.iterdir()) == ["arrays.npz", "estimator.json", "weights.pt"]
    # missing or corrupted files raise CheckpointError with a message that says what to pass
    with pytest.raises(CheckpointError, match=r"estimator.json is missing; pass the directory written by "
                                              r"model.save\(path\)"):
        VAEFactorModel.load(tmp_path / "nothing")
    (path / "arrays.npz").unlink()
    with pytest.raises(CheckpointError, match="could not be loaded as a VAEFactorModel"):
        VAEFactorModel.load(path)
    (path / "estimator.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="is corrupted or not a saved latentquant estimator"):
        VAEFactorModel.load(path)


def _save_in_the_0_1_0_layout(model: VAEFactorModel, directory) -> None:
    """What VAEFactorModel.save wrote in latentquant 0.1.0 (factor_model.json, network/, two Parquet files)."""
    directory.mkdir(parents=True)
    model.vae_.save(directory / "network")
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.get_params().items()}
    state = {
        "params": params, "columns": list(model.columns_),
        "scaler_mean": model.scaler_.mean_.tolist(), "scaler_scale": model.scaler_.scale_.tolist(),
        "latent_mean": model.latent_mean_.tolist(), "latent_cov": model.latent_cov_.tolist(),
        "residual_var": model.residual_var_.tolist(), "history": model.history_.to_dict(),
    }
    (directory / "factor_model.json").write_text(json.dumps(state, indent=2))
    f = pd.concat({"mean": model.train_factors_.mean, "std": model.train_factors_.std}, axis=1)
    f.columns = ["_".join(map(str, col)) for col in f.columns]
    f["anomaly_score"] = model.train_anomaly_scores_
    f.to_parquet(directory / "train_factors.parquet")
    model._train_residuals.to_parquet(directory / "train_residuals.parquet")


def test_models_saved_by_0_1_0_still_load_with_a_future_warning(model, train, holdout, tmp_path):
    _save_in_the_0_1_0_layout(model, tmp_path / "old")
    with pytest.warns(FutureWarning, match=r"holds a VAEFactorModel in the 0.1.0 layout \(factor_model.json\); "
                                           r"reading it will stop working in the next release"):
        loaded = VAEFactorModel.load(tmp_path / "old")
    assert loaded.get_params() == model.get_params()
    pd.testing.assert_frame_equal(loaded.encode(holdout).mean, model.encode(holdout).mean)
    pd.testing.assert_frame_equal(loaded.generate_scenarios(100, "stressed", stress_period=STRESS, seed=1),
                                  model.generate_scenarios(100, "stressed", stress_period=STRESS, seed=1))
    pd.testing.assert_series_equal(loaded.kl_per_factor_, model.kl_per_factor_)
    assert loaded.history_.to_dict() == model.history_.to_dict()
    # saving again moves it to the current format, which loads without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        again = VAEFactorModel.load(loaded.save(tmp_path / "new"))
    pd.testing.assert_frame_equal(again.decode(np.eye(K)), model.decode(np.eye(K)))
    (tmp_path / "old" / "train_factors.parquet").unlink()
    with pytest.warns(FutureWarning), pytest.raises(CheckpointError, match="is not a readable VAEFactorModel"):
        VAEFactorModel.load(tmp_path / "old")


def test_save_load_keeps_non_string_asset_names(train, tmp_path):
    numbered = train.set_axis(range(N_ASSETS), axis=1)
    m = small_model(epochs=2).fit(numbered)
    loaded = VAEFactorModel.load(m.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.encode(numbered).mean, m.encode(numbered).mean)


def test_save_load_keeps_params(model, tmp_path):
    assert VAEFactorModel.load(model.save(tmp_path / "m")).get_params() == model.get_params()


def test_save_accepts_numpy_integer_params(train, tmp_path):
    m = small_model(n_factors=np.int64(2), epochs=2).fit(train)
    assert VAEFactorModel.load(m.save(tmp_path / "m")).n_factors == 2


# ---------------------------------------------------------------------------------------------- no look-ahead, NaN
def test_encoding_is_row_wise_and_scaler_uses_fit_rows_only(model, log_returns, train):
    perturbed = log_returns.copy()
    perturbed.iloc[N_TRAIN:] = perturbed.iloc[N_TRAIN:] * 3 + 0.02  # change everything after the fit span
    a, b = model.encode(log_returns).mean, model.encode(perturbed).mean
    pd.testing.assert_frame_equal(a.iloc[:N_TRAIN], b.iloc[:N_TRAIN])
    pd.testing.assert_frame_equal(a.iloc[:N_TRAIN], model.train_factors_.mean)
    assert not a.iloc[N_TRAIN:].equals(b.iloc[N_TRAIN:])
    np.testing.assert_allclose(model.scaler_.mean_, train.mean(), rtol=1e-10)
    np.testing.assert_allclose(model.scaler_.scale_, train.std(ddof=1), rtol=1e-10)
    assert model.train_factors_.mean.index.equals(train.index)


def test_rows_with_missing_values_are_dropped_with_a_warning(train):
    data = train.iloc[:300].copy()
    data.iloc[:5, 2] = np.nan  # an asset that starts trading later
    with pytest.warns(DataWarning, match="X: dropped 5 of 300 rows with a missing value in some column"):
        m = small_model().fit(data)
    ref = small_model().fit(train.iloc[5:300])
    pd.testing.assert_frame_equal(m.train_factors_.mean, ref.train_factors_.mean)
    pd.testing.assert_series_equal(m.scaler_.mean_, ref.scaler_.mean_)
    # prices: a missing price removes the returns on both sides of it
    prices = np.exp(data.fillna(0).cumsum()) * 50
    prices.iloc[100, 4] = np.nan
    with pytest.warns(DataWarning, match="dropped 2 of 299 rows"):
        small_model(input="prices", epochs=1).fit(prices)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        small_model(epochs=1).fit(train.iloc[:100])  # complete data: no warning


# ---------------------------------------------------------------------------------------------- sklearn, seeds
def test_sklearn_clone_and_params_round_trip(model, holdout):
    fresh = clone(model)
    assert fresh.get_params() == model.get_params()
    assert not hasattr(fresh, "vae_")
    with pytest.raises(NotFittedError, match=r"This VAEFactorModel is not fitted yet; call fit\(returns\)"):
        fresh.encode(holdout)
    assert VAEFactorModel(**model.get_params()).get_params() == model.get_params()
    assert fresh.set_params(n_factors=2, beta=4.0).get_params()["n_factors"] == 2 and fresh.beta == 4.0
    assert model.n_factors == K  # the original is untouched


def test_same_seed_reproduces_factors_scenarios_and_risk(train):
    data = train.iloc[:400]
    w = np.linspace(1, 2, N_ASSETS)
    fits = [small_model(seed=3).fit(data) for _ in range(2)]
    a, b = fits
    pd.testing.assert_frame_equal(a.train_factors_.mean, b.train_factors_.mean)
    pd.testing.assert_frame_equal(a.train_factors_.std, b.train_factors_.std)
    assert a.history_["train_loss"] == b.history_["train_loss"]
    pd.testing.assert_frame_equal(a.generate_scenarios(100, seed=0), b.generate_scenarios(100, seed=0))
    assert a.risk_decomposition(w).to_dict() == b.risk_decomposition(w).to_dict()
    other = small_model(seed=4).fit(data)
    assert not np.allclose(other.train_factors_.mean.to_numpy(), a.train_factors_.mean.to_numpy())


# ---------------------------------------------------------------------------------------------- errors
def _prices(train) -> pd.DataFrame:
    return np.exp(train.iloc[:100].cumsum()) * 50


@pytest.mark.parametrize("case, params, exc, match", [
    ("single column", {}, DataValidationError,
     r"X has 1 asset column \(\['A0'\]\); a factor model explains co-movement across assets and needs at least 2"),
    ("few rows", {"n_factors": 3}, DataValidationError,
     r"X has 14 complete rows of returns but n_factors=3 needs at least 15 \(5 per factor\)"),
    ("nan column", {}, DataValidationError, r"X column 'A3' has no valid returns \(all NaN\); drop it before fitting"),
    ("nan price column", {"input": "prices"}, DataValidationError,
     r"X column 'A3' has no valid price pairs \(all NaN\)"),
    ("non-positive price", {"input": "prices"}, DataValidationError,
     r"X column 'A2' has a non-positive value: first at 2015-01-08 .*log returns need strictly positive prices"),
    ("too many factors", {"n_factors": 10}, ConfigError,
     r"n_factors=10 must be smaller than the number of assets \(10\)"),
    ("return <= -1", {"input": "returns"}, DataValidationError,
     r"X column 'A4' has a simple return <= -1 on 2015-01-12.*a price cannot fall by 100% or more"),
    ("bad input", {"input": "logret"}, ConfigError,
     r"input must be one of \['prices', 'log_returns', 'returns'\], got 'logret'"),
    ("bad n_factors", {"n_factors": 0}, ConfigError, "n_factors must be a positive integer, got 0"),
    ("bad beta", {"beta": -1.0}, ConfigError, r"^VAEFactorModel: beta must be a number >= 0, got -1.0\.$"),
    ("bad hidden_dims", {"hidden_dims": (8, 0)}, ConfigError,
     r"^VAEFactorModel: hidden_dims must be a list of positive integers, got \(8, 0\)\.$"),
    ("bad activation", {"activation": "sigmoidal"}, ConfigError,
     r"^VAEFactorModel: activation must be one of \[.*'relu'.*\], got 'sigmoidal'\.$"),
    ("bad validation_split", {"validation_split": 1.0}, ConfigError,
     r"^VAEFactorModel: validation_split must be a number in \[0, 1\), got 1.0\.$"),
    ("bad periods", {"periods_per_year": 0}, ConfigError, "periods_per_year must be a positive integer, got 0"),
])
def test_fit_rejects_bad_input_with_typed_errors(train, case, params, exc, match):
    data = train.iloc[:100].copy()
    if case == "single column":
        data = data[["A0"]]
    elif case == "few rows":
        data = data.iloc[:14]
    elif case == "nan column":
        data["A3"] = np.nan
    elif case == "nan price column":
        data = _prices(train)
        data.iloc[1:, 3] = np.nan  # one price: no price pair
    elif case == "non-positive price":
        data = _prices(train)
        data.iloc[5, 2] = -1.0
    elif case == "return <= -1":
        data = np.expm1(data)
        data.iloc[7, 4] = -1.0
    with pytest.raises(exc, match=match):
        small_model(epochs=1, **params).fit(data)


def test_methods_reject_bad_arguments_with_typed_errors(model, train, holdout):
    ew = np.full(N_ASSETS, 0.1)
    cases = [
        (lambda: model.risk_decomposition(np.ones(7)), DataValidationError,
         "weights has 7 entries but the model has 10 assets \\('A0', 'A1', .*'A9'\\); pass one weight per asset "
         "in that order"),
        (lambda: model.risk_decomposition(np.r_[np.ones(9), np.nan]), DataValidationError,
         "weights must be finite numbers with a finite sum; found NaN or infinity"),
        (lambda: model.risk_decomposition(np.r_[np.ones(9), np.inf]), DataValidationError,
         "weights must be finite numbers with a finite sum"),
        (lambda: model.risk_decomposition(np.zeros(N_ASSETS)), DataValidationError,
         "weights are all zero; a portfolio needs at least one non-zero weight"),
        (lambda: model.risk_decomposition(pd.Series({"A1": 0.5, "ZZZ": 0.5})), DataValidationError,
         r"weights name assets the model does not know: \['ZZZ'\]"),
        (lambda: model.risk_decomposition(ew, method="variance"), ConfigError,
         "method must be 'linear' or 'monte_carlo', got 'variance'"),
        (lambda: model.risk_decomposition(ew, method="monte_carlo", n_samples=10), ConfigError,
         "n_samples must be an integer >= 100, got 10"),
        (lambda: model.generate_scenarios(10, "stressed", stress_period=("1990-01-01", "1990-06-30")),
         DataValidationError, r"stress_period \('1990-01-01', '1990-06-30'\) has 0 dates in the training span "
                              r"\(2015-01-01 … 2018-01-24\); at least 2 are needed"),
        (lambda: model.generate_scenarios(10, "stressed", stress_period="2015-06-01"), ConfigError,
         r"stress_period must be a \(start, end\) pair of dates, got '2015-06-01'"),
        (lambda: model.stress_statistics(("2015-01-01", "2015-02-01", "2015-03-01")), ConfigError,
         r"stress_period must be a \(start, end\) pair of dates"),
        (lambda: model.generate_scenarios(10, "stressed", stress_period=("2015-12-31", "2015-06-01")), ConfigError,
         r"stress_period starts after it ends: \('2015-12-31', '2015-06-01'\)"),
        (lambda: model.generate_scenarios(10, "stressed"), ConfigError,
         r"mode='stressed' needs stress_period=\(start, end\)"),
        (lambda: model.generate_scenarios(10, "historical"), ConfigError,
         r"mode must be one of \['prior', 'stressed', 'conditional', 'interpolate'\], got 'historical'"),
        (lambda: model.generate_scenarios(10, "conditional"), ConfigError,
         r"mode='conditional' needs fixed=\{'f1': value, ...\}"),
        (lambda: model.generate_scenarios(10, "conditional", fixed={"f4": 1.0}), ConfigError,
         r"Unknown factor 'f4'; use a name in \['f1', 'f2', 'f3'\] or an index 0..2"),
        (lambda: model.generate_scenarios(10, "conditional", fixed={3: 1.0}), ConfigError, "Unknown factor 3"),
        (lambda: model.generate_scenarios(10, "conditional", fixed={"f1": np.nan}), ConfigError,
         r"fixed\['f1'\] must be a finite number, got nan"),
        (lambda: model.generate_scenarios(10, "interpolate", start=train.index[0]), ConfigError,
         "mode='interpolate' needs start= and end= dates"),
        (lambda: model.generate_scenarios(0), ConfigError, "n must be a positive integer, got 0"),
        (lambda: model.factor_loadings(method="numerical"), ConfigError,
         "method must be 'autograd' or 'finite_difference', got 'numerical'"),
        (lambda: model.factor_loadings(eps=0.0), ConfigError, "eps must be a positive number, got 0.0"),
        (lambda: model.factor_loadings(at="1999-01-04"), DataValidationError,
         r"at='1999-01-04' is not a date of the training span \(2015-01-01 … 2018-01-24\)"),
        (lambda: model.factor_loadings(at=np.zeros(2)), DataValidationError,
         r"at must have shape \(n, 3\) — one column per factor — got \(1, 2\)"),
        (lambda: model.encode(holdout[ASSETS[::-1]]), DataValidationError,
         r"X has columns \['A9', 'A8', .* that differ from the 10 assets the model was fitted on \(different order"),
        (lambda: model.encode(holdout.drop(columns="A5")), DataValidationError,
         r"differ from the 10 assets the model was fitted on \(missing \['A5'\]\); select and order the columns as "
         r"the model's: X\[model.columns_\]"),
        (lambda: model.decode(np.zeros((2, 4))), DataValidationError,
         r"z must have shape \(n, 3\) — one column per factor — got \(2, 4\)"),
        (lambda: model.decode(np.full((1, 3), np.inf)), DataValidationError, "z contains NaN or infinite values"),
        (lambda: model.decode(pd.DataFrame({"f1": [0.0]})), DataValidationError,
         r"z lacks factor columns \['f2', 'f3'\]"),
        (lambda: model.anomaly_scores(holdout, kl_weight=-1), ConfigError, r"^kl_weight must be a number >= 0, got -1\.$"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()


def test_weights_series_with_nan_is_rejected(model):
    w = pd.Series(0.1, index=ASSETS)
    w["A3"] = np.nan
    with pytest.raises(DataValidationError, match="weights must be finite numbers"):
        model.risk_decomposition(w)


@pytest.mark.parametrize("method, args", [
    ("encode", ("X",)), ("transform", ("X",)), ("reconstruct", ("X",)), ("score", ("X",)),
    ("anomaly_scores", ("X",)), ("decode", (np.zeros((1, 2)),)), ("factor_loadings", ()),
    ("generate_scenarios", (10,)), ("stress_statistics", (STRESS,)), ("risk_decomposition", (np.ones(4),)),
    ("save", ("unused",)),
])
def test_methods_before_fit_raise_not_fitted(train, method, args, tmp_path):
    args = tuple({"X": train.iloc[:50, :4], "unused": tmp_path / "m"}.get(a, a) if isinstance(a, str) else a
                 for a in args)
    with pytest.raises(NotFittedError, match=r"This VAEFactorModel is not fitted yet; call fit\(returns\) or "
                                             r"VAEFactorModel.load\(path\)"):
        getattr(VAEFactorModel(n_factors=2), method)(*args)
    assert issubclass(NotFittedError, AttributeError)
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------------------------------------- results are immutable
def test_risk_decomposition_is_immutable(model):
    import dataclasses

    w = np.linspace(-1, 1, N_ASSETS)
    rd = model.risk_decomposition(w)
    before = rd.to_dict()
    table = rd.table()
    for series in (rd.factor_contributions, rd.asset_contributions, rd.exposures):
        series.iloc[0] = 1e9  # changes a copy only
    contributions = rd.factor_contributions
    contributions["f1"] = -5.0
    assert rd.to_dict() == before
    pd.testing.assert_frame_equal(rd.table(), table)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rd.total_variance = 0.0  # type: ignore[misc]
    assert "factor_variance" in repr(rd) and "Portfolio volatility" in rd.summary()


# ---------------------------------------------------------------------------------------------- the split-out maths
def test_linear_risk_decomposition_closed_form():
    from latentquant.models.factor.risk import linear_risk_decomposition

    # two assets, two factors: B = [[1, 1], [1, -1]], Σz = diag(1, 4), D = diag(0.5, 0.5), w = (1, 0)
    B = pd.DataFrame([[1.0, 1.0], [1.0, -1.0]], index=["A", "B"], columns=["f1", "f2"])
    rd = linear_risk_decomposition(np.array([1.0, 0.0]), B, np.diag([1.0, 4.0]), pd.Series([0.5, 0.5], index=["A", "B"]),
                                   periods_per_year=12)
    # b = Bᵀw = (1, 1): factor contributions b_k (Σ b)_k = (1, 4); idiosyncratic 0.5; asset A carries everything
    assert rd.factor_contributions.tolist() == [1.0, 4.0] and rd.exposures.tolist() == [1.0, 1.0]
    assert (rd.factor_variance, rd.idiosyncratic_variance, rd.total_variance) == (5.0, 0.5, 5.5)
    assert rd.asset_contributions.to_dict() == {"A": 5.5, "B": 0.0}
    assert rd.periods_per_year == 12 and rd.table().loc["total", "ann_vol_equivalent"] == pytest.approx(np.sqrt(66))


def test_monte_carlo_risk_decomposition_through_a_linear_decoder_is_euler():
    from latentquant.models.factor.risk import monte_carlo_risk_decomposition

    W = np.array([[1.0, 0.5], [0.0, 2.0], [1.0, -1.0]])  # 3 assets × 2 factors
    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    w = np.array([0.2, 0.3, 0.5])
    scale = np.array([0.01, 0.02, 0.03])
    b = (W * scale[:, None]).T @ w
    rd = monte_carlo_risk_decomposition(w, lambda z: z @ W.T, np.array([0.5, -0.5]), cov, scale,
                                        pd.Series([1e-4, 2e-4, 3e-4]), pd.Series(b, index=["f1", "f2"]),
                                        n_samples=50_000, seed=3)
    assert rd.method == "monte_carlo" and rd.n_samples == 50_000 and rd.asset_contributions.empty
    assert rd.factor_variance == pytest.approx(b @ cov @ b, rel=0.03)
    np.testing.assert_allclose(rd.factor_contributions.to_numpy(), b * (cov @ b), rtol=0.05, atol=0.01 * (b @ cov @ b))
    assert abs(rd.interaction) < 1e-12 * rd.factor_variance  # linear: the parts add up exactly
    assert rd.idiosyncratic_variance == pytest.approx(w**2 @ np.array([1e-4, 2e-4, 3e-4]), rel=1e-12)
    with pytest.raises(ConfigError, match=r"^n_samples must be an integer >= 100, got 99\.$"):
        monte_carlo_risk_decomposition(w, lambda z: z @ W.T, np.zeros(2), cov, scale, pd.Series([0.0] * 3),
                                       pd.Series(b), n_samples=99)


def test_check_weights_aligns_a_series_on_asset_names():
    from latentquant.models.factor.risk import check_weights

    cols = pd.Index(["A", "B", "C"])
    assert check_weights(pd.Series({"C": 2.0, "A": 1.0}), cols).tolist() == [1.0, 0.0, 2.0]
    with pytest.raises(DataValidationError, match=r"^weights name assets more than once: \['A'\]"):
        check_weights(pd.Series([1.0, 2.0], index=["A", "A"]), cols)


def test_aggregate_posterior_and_kl_per_factor_closed_forms():
    from latentquant.models.factor.scenarios import aggregate_posterior

    means = pd.DataFrame({"f1": [-1.0, 0.0, 1.0], "f2": [2.0, 2.0, 2.0]})
    stds = pd.DataFrame({"f1": [1.0, 1.0, 1.0], "f2": [0.5, 0.5, 0.5]})
    mean, std = aggregate_posterior(FactorEncoding(means, stds))
    assert mean.tolist() == [0.0, 2.0]
    np.testing.assert_allclose(std.to_numpy(), [np.sqrt(1.0 + 1.0), 0.5], rtol=1e-15)  # Var(μ) + mean σ²
    # KL(N(μ, σ²) ‖ N(0, 1)) = ½(σ² + μ² − 1) − log σ, averaged over dates
    kl = FactorEncoding(means, stds).kl_per_factor()
    expected = (0.5 * (stds**2 + means**2 - 1) - np.log(stds)).mean()
    np.testing.assert_allclose(kl.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert kl.name == "kl_nats" and list(kl.index) == ["f1", "f2"]


def test_scenario_helpers():
    from latentquant.models.factor.scenarios import factor_position, hold_fixed, interpolation_path, residual_rms

    z, alpha = interpolation_path(np.array([1.0, -1.0]), np.array([3.0, 1.0]), 5)
    np.testing.assert_allclose(z[:, 0], [1.0, 1.5, 2.0, 2.5, 3.0])
    assert alpha.name == "alpha" and alpha.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert residual_rms(pd.DataFrame({"A": [1.0, -1.0, 1.0, -1.0], "B": [0.0, 0.0, 0.0, 2.0]})).tolist() == [1.0, 1.0]
    assert factor_position(np.int64(1), ["f1", "f2"]) == 1
    with pytest.raises(ConfigError, match=r"^Unknown factor True; use a name in \['f1', 'f2'\] or an index 0..1\.$"):
        factor_position(True, ["f1", "f2"])
    with pytest.raises(ConfigError, match=r"^fixed\['f1'\] must be a finite number, got inf\.$"):
        hold_fixed(np.zeros((2, 2)), {"f1": np.inf}, ["f1", "f2"])


def test_traverse_of_a_linear_decoder_is_a_straight_line(linear_model):
    grid = np.array([-2.0, 0.0, 1.0, 3.0])
    paths = linear_model.traverse(grid)
    assert list(paths) == FACTORS
    B = linear_model.factor_loadings().to_numpy()  # constant Jacobian, original units
    for k, name in enumerate(FACTORS):
        frame = paths[name]
        assert list(frame.columns) == ASSETS and frame.index.tolist() == grid.tolist()
        np.testing.assert_allclose(frame.to_numpy(), np.outer(grid, B[:, k]), rtol=2e-5, atol=1e-9)
    assert linear_model.traverse()["f1"].shape == (25, N_ASSETS)


# ---------------------------------------------------------------------------------------------- evaluation it uses
def test_pca_benchmark_matches_the_projection_on_training_components():
    from latentquant.evaluation import pca_benchmark

    X, _, _ = simulate_factor_data(n_rows=600, n_assets=8, n_factors=2, seed=4)
    train, test = X[:400], X[400:]
    bench = pca_benchmark(train, test, 2)
    centre = train.mean(axis=0)
    v = np.linalg.svd(train - centre, full_matrices=False)[2][:2].T
    for rows, r2 in ((train, bench.train_r2), (test, bench.test_r2)):
        recon = centre + (rows - centre) @ v @ v.T
        assert r2 == pytest.approx(1 - ((rows - recon) ** 2).sum() / (rows**2).sum(), rel=1e-10)
    cols = 1 - ((test - (centre + (test - centre) @ v @ v.T)) ** 2).sum(0) / (test**2).sum(0)
    np.testing.assert_allclose(bench.test_r2_per_column, cols, rtol=1e-10)
    with pytest.raises(ConfigError, match=r"^n_components must be a positive integer, got 0\.$"):
        pca_benchmark(train, test, 0)


def test_linear_autoencoder_benchmark_approaches_pca():
    from latentquant.evaluation import linear_autoencoder_benchmark, pca_benchmark

    X, _, _ = simulate_factor_data(n_rows=800, n_assets=8, n_factors=2, seed=5)
    X = (X - X[:600].mean(0)) / X[:600].std(0, ddof=1)
    pca = pca_benchmark(X[:600], X[600:], 2)
    ae = linear_autoencoder_benchmark(X[:600], X[600:], 2, epochs=150, lr=1e-2, validation_split=0.0)
    assert pca.test_r2 - 0.02 < ae.test_r2 <= pca.test_r2 + 0.01
    one = linear_autoencoder_benchmark(X[:600], X[600:], 1, epochs=150, lr=1e-2, validation_split=0.0)
    assert one.test_r2 < ae.test_r2 - 0.05  # a narrower bottleneck explains clearly less
    again = linear_autoencoder_benchmark(X[:600], X[600:], 2, epochs=150, lr=1e-2, validation_split=0.0)
    assert again.test_r2 == ae.test_r2  # seeded


def test_scenario_quality_moments_and_gaussian_benchmark():
    from latentquant.evaluation import annualised_moments, distribution_summary, gaussian_scenarios, scenario_quality

    rng = np.random.default_rng(6)
    hist = pd.DataFrame(rng.multivariate_normal([0.001, 0.0], [[1e-4, 5e-5], [5e-5, 4e-4]], 4000),
                        columns=["A", "B"])
    gauss = gaussian_scenarios(hist, 100_000, seed=1)
    assert list(gauss.columns) == ["A", "B"] and gauss.index.equals(pd.RangeIndex(100_000))
    np.testing.assert_allclose(gauss.cov().to_numpy(), hist.cov().to_numpy(), rtol=0.03)
    pd.testing.assert_frame_equal(gauss, gaussian_scenarios(hist, 100_000, seed=1))
    table = scenario_quality({"hist": hist, "gauss": gauss}, hist, periods_per_year=12)
    pd.testing.assert_series_equal(table.loc["gauss"], distribution_summary(
        gauss, reference_corr=hist.corr(), periods_per_year=12), check_names=False)
    assert table.loc["hist", "corr_distance"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["gauss", "excess_kurtosis_mean"] == pytest.approx(0.0, abs=0.1)
    m = annualised_moments(hist, periods_per_year=12, level=0.05)
    np.testing.assert_allclose(m["ann_mean"], hist.mean() * 12, rtol=1e-15)
    np.testing.assert_allclose(m["ann_vol"], hist.std(ddof=1) * np.sqrt(12), rtol=1e-15)
    np.testing.assert_allclose(m["quantile"], hist.quantile(0.05), rtol=1e-15)


def test_horizon_comparison_and_cumulative_paths():
    from latentquant.evaluation import cumulative_paths, horizon_comparison, var_es

    paths = cumulative_paths(np.arange(1.0, 7.0), horizon=2, n_paths=3)
    assert paths.tolist() == [[1.0, 3.0], [3.0, 7.0], [5.0, 11.0]]
    with pytest.raises(DataValidationError, match=r"^daily has 6 draws; 4 paths of 2 periods need 8\.$"):
        cumulative_paths(np.arange(6.0), horizon=2, n_paths=4)
    rng = np.random.default_rng(7)
    sims = {"calm": pd.DataFrame(rng.normal(0, 0.01, (4000, 2))), "wild": pd.DataFrame(rng.normal(0, 0.03, (4000, 2)))}
    realised = pd.DataFrame([[0.01, 0.03], [-0.02, 0.0], [0.05, 0.01]])
    w = np.array([0.5, 0.5])
    out = horizon_comparison(sims, realised, w, horizon=20, n_paths=200, periods_per_year=252)
    assert list(out.table.index) == ["calm", "wild", "realised"]
    assert list(out.table.columns) == ["ann_vol", "VaR", "ES", "horizon_median", "horizon_q05"]
    np.testing.assert_allclose(out.realised_path, [0.02, 0.01, 0.04])  # the realised EW path, all 3 days
    assert out.table.loc["realised", "horizon_median"] == pytest.approx(0.04) and np.isnan(
        out.table.loc["realised", "horizon_q05"])
    port = sims["wild"].to_numpy() @ w
    assert out.table.loc["wild", "ann_vol"] == pytest.approx(port.std(ddof=1) * np.sqrt(252), rel=1e-15)
    assert tuple(out.table.loc["wild", ["VaR", "ES"]]) == var_es(port)
    np.testing.assert_array_equal(out.paths["wild"], cumulative_paths(port, 20, 200))
    assert out.table.loc["wild", "ann_vol"] > 2.5 * out.table.loc["calm", "ann_vol"]


def test_loading_sorted_books_and_loading_discrepancy():
    from latentquant.evaluation import loading_discrepancy, loading_sorted_books

    B = pd.DataFrame({"f1": [0.9, 0.1, -0.5, 0.0], "f2": [0.0, 1.0, 0.2, -1.0]}, index=list("ABCD"))
    log_r = pd.DataFrame(np.log1p([[0.02, -0.01, 0.01, 0.00], [0.00, 0.03, -0.02, 0.01],
                                   [-0.01, 0.02, 0.00, -0.03], [0.01, 0.00, 0.01, 0.02]]), columns=list("ABCD"))
    books = loading_sorted_books(B, log_r, fraction=0.25, periods_per_year=12)
    # f1: long A, short C; f2: long B, short D — on simple returns
    np.testing.assert_allclose(books.returns["f1"], [0.01, 0.02, -0.01, 0.0], atol=1e-15)
    np.testing.assert_allclose(books.returns["f2"], [-0.01, 0.02, 0.05, -0.02], atol=1e-15)
    ew = np.expm1(log_r).mean(axis=1)
    assert books.performance.loc["f1", "corr_with_EW"] == pytest.approx(np.corrcoef(books.returns["f1"], ew)[0, 1])
    assert books.performance.loc["f2", "ann_return"] == pytest.approx(0.04 / 4 * 12)
    assert loading_discrepancy(B, B) == 0.0
    assert loading_discrepancy(B, B * 1.1) == pytest.approx(0.1)
    with pytest.raises(DataValidationError, match=r"^loadings has shape \(4, 2\) but reference has shape \(4, 1\)"):
        loading_discrepancy(B, B[["f1"]])


def test_mean_std_over_seeds():
    from latentquant.evaluation import mean_std

    assert mean_std([0.2, 0.4, 0.9]) == (pytest.approx(0.5), pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1)))
    mean, std = mean_std(np.array([0.3]))
    assert mean == 0.3 and np.isnan(std)  # one seed: the spread is not defined
    with pytest.raises(DataValidationError, match=r"^values is empty; pass at least one result\.$"):
        mean_std([])
