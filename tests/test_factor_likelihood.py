"""VAEFactorModel with a learned observation model: starts at PCA, beats PPCA/FA on fat tails, saves and loads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latentquant.evaluation import likelihood_benchmark, pca_benchmark
from latentquant.exceptions import ConfigError
from latentquant.models.autoencoder import VAE
from latentquant.models.factor import VAEFactorModel
from latentquant.models.factor._network import FactorVAE

N_ASSETS, K = 10, 2


def _returns(n: int = 1500, df: float | None = 3.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(K, N_ASSETS)) * [[1.0], [0.5]]
    noise = rng.standard_t(df, size=(n, N_ASSETS)) if df else rng.normal(size=(n, N_ASSETS))
    r = 0.01 * (rng.normal(size=(n, K)) @ loadings) + 0.006 * noise
    return pd.DataFrame(r, index=pd.bdate_range("2010-01-01", periods=n), columns=[f"A{i}" for i in range(N_ASSETS)])


def test_pca_initialisation_starts_at_pca():
    data = _returns(df=None)
    train, test = data.iloc[:1000], data.iloc[1000:]
    model = VAEFactorModel(n_factors=K, linear_skip=True, init="pca", likelihood="isotropic", epochs=1, lr=1e-12,
                           validation_split=0.0, early_stopping=False, verbose=False).fit(train)
    z_train, z_test = model.scaler_.transform(train), model.scaler_.transform(test)
    # before any training the model is probabilistic PCA at its maximum likelihood with the encoder at the exact
    # posterior: the importance-weighted bound is exact and equals pPCA's held-out log-likelihood
    ppca = likelihood_benchmark(z_train, z_test, K)
    assert -model.log_likelihood(test, n_samples=5).mean() == pytest.approx(-ppca.ppca_test, abs=2e-3)
    assert model.score(test) < pca_benchmark(z_train, z_test, K).test_r2  # posterior means are shrunk
    fa_model = VAEFactorModel(n_factors=K, linear_skip=True, init="fa", likelihood="diagonal", epochs=1, lr=1e-12,
                              validation_split=0.0, early_stopping=False, verbose=False).fit(train)
    assert -fa_model.log_likelihood(test, n_samples=5).mean() == pytest.approx(-ppca.fa_test, abs=2e-3)
    assert np.allclose(np.diag(fa_model.latent_cov_), 1.0, atol=0.1)  # the aggregate posterior starts at the prior
    with pytest.raises(ConfigError, match=r"init='fa' needs a per-asset noise \(likelihood 'diagonal' or "
                                          r"'student_t'\), got likelihood='isotropic'; use init='pca'\."):
        VAEFactorModel(n_factors=K, init="fa", likelihood="isotropic", verbose=False).fit(train)


def test_student_t_model_beats_ppca_and_factor_analysis_on_fat_tailed_returns():
    data = _returns(df=3.0)
    train, test = data.iloc[:1000], data.iloc[1000:]
    model = VAEFactorModel(n_factors=K, likelihood="student_t", linear_skip=True, init="pca", hidden_dims=(16,),
                           epochs=200, verbose=False, seed=0).fit(train)
    held_out = model.log_likelihood(test, n_samples=50).mean()
    bench = likelihood_benchmark(model.scaler_.transform(train), model.scaler_.transform(test), K)
    assert held_out > bench.fa_test + 0.5 and held_out > bench.ppca_test + 0.5  # nats per day
    # the learned degrees of freedom are lower on fat-tailed noise (t with 3) than on Gaussian noise
    gaussian = VAEFactorModel(n_factors=K, likelihood="student_t", linear_skip=True, init="pca", hidden_dims=(16,),
                              epochs=200, verbose=False, seed=0).fit(_returns(df=None).iloc[:1000])
    nu_t, nu_gauss = (np.median(m.vae_.degrees_of_freedom.detach().numpy()) for m in (model, gaussian))
    assert nu_t < 10 < nu_gauss  # both start at 10


def test_init_pca_needs_the_linear_path():
    with pytest.raises(ConfigError, match=r"init='pca' needs linear_skip=True: the linear paths hold the PCA "
                                          r"solution\."):
        VAEFactorModel(n_factors=K, init="pca", linear_skip=False, verbose=False).fit(_returns(n=200))
    with pytest.raises(ConfigError, match="VAEFactorModel: likelihood must be one of"):
        VAEFactorModel(n_factors=K, likelihood="cauchy", verbose=False).fit(_returns(n=200))


def test_save_load_round_trip_with_learned_noise(tmp_path):
    data = _returns(n=400)
    model = VAEFactorModel(n_factors=K, likelihood="student_t", linear_skip=True, init="pca", free_bits=0.05,
                           hidden_dims=(8,), epochs=5, verbose=False).fit(data)
    model.save(tmp_path / "m")
    back = VAEFactorModel.load(tmp_path / "m")
    assert back.get_params() == model.get_params()
    pd.testing.assert_series_equal(back.log_likelihood(data, n_samples=10), model.log_likelihood(data, n_samples=10))
    pd.testing.assert_frame_equal(back.transform(data), model.transform(data))


def test_models_saved_with_the_plain_vae_load_with_the_same_numbers(tmp_path):
    data = _returns(n=400)
    model = VAEFactorModel(n_factors=K, hidden_dims=(8,), epochs=5, verbose=False, likelihood="unit",
                           linear_skip=False).fit(data)
    plain = VAE(**{k: v for k, v in model.vae_.get_config().items()
                   if k in ("input_dim", "latent_dim", "hidden_dims", "activation", "dropout", "seed")})
    plain.load_state_dict(model.vae_.state_dict())
    model.vae_ = plain.eval()  # what a model saved before FactorVAE holds
    model.save(tmp_path / "old")
    back = VAEFactorModel.load(tmp_path / "old")
    assert type(back.vae_) is FactorVAE
    pd.testing.assert_frame_equal(back.transform(data), model.transform(data))
    assert np.isfinite(back.log_likelihood(data, n_samples=5)).all()


def test_student_t_scenarios_have_fat_tails_and_gaussian_ones_do_not():
    from scipy.stats import kurtosis

    data = _returns(df=3.0, seed=5).iloc[:1000]
    fat = VAEFactorModel(n_factors=K, likelihood="student_t", linear_skip=True, init="pca", hidden_dims=(16,),
                         epochs=200, verbose=False, seed=0).fit(data)
    thin = VAEFactorModel(n_factors=K, likelihood="diagonal", linear_skip=True, init="pca", hidden_dims=(16,),
                          epochs=200, verbose=False, seed=0).fit(data)
    kurt_fat = np.median(kurtosis(fat.generate_scenarios(40_000, seed=0), axis=0))
    kurt_thin = np.median(kurtosis(thin.generate_scenarios(40_000, seed=0), axis=0))
    kurt_data = np.median(kurtosis(data, axis=0))
    # excess kurtosis of each asset's scenarios: the Student-t model's come with fat tails, the Gaussian's do not
    assert kurt_fat > 0.3 and kurt_fat > kurt_thin + 0.3 and abs(kurt_thin) < 0.2 and kurt_data > 0.3
    pd.testing.assert_frame_equal(fat.generate_scenarios(100, seed=3), fat.generate_scenarios(100, seed=3))
    # the noise keeps the training residuals' size: total variance of the scenarios near the data's
    ratio = fat.generate_scenarios(40_000, seed=1).var() / data.var()
    assert 0.6 < float(ratio.median()) < 1.6


def test_study_config_checks_the_model_options():
    from latentquant.experiments.factor_model import FactorStudyConfig

    with pytest.raises(ConfigError, match=r"init: pca needs linear_skip: true \(the linear paths hold the PCA "
                                          r"solution\)\."):
        FactorStudyConfig.from_dict({"init": "pca", "linear_skip": False}).validate()
    with pytest.raises(ConfigError, match=r"likelihood must be one of \['unit', 'isotropic', 'diagonal', "
                                          r"'student_t'\], got 't'"):
        FactorStudyConfig.from_dict({"likelihood": "t"}).validate()
    FactorStudyConfig.from_dict({"likelihood": "student_t", "linear_skip": True, "init": "pca"}).validate()


def _clustered(n: int = 1500, seed: int = 7) -> pd.DataFrame:
    """One market factor whose volatility switches between calm and turbulent 60-day regimes."""
    rng = np.random.default_rng(seed)
    vol = np.repeat(rng.choice([0.5, 2.5], size=n // 60 + 1), 60)[:n]
    f = 0.01 * vol * rng.normal(size=n)
    r = np.outer(f, rng.uniform(0.5, 1.5, N_ASSETS)) + 0.004 * rng.normal(size=(n, N_ASSETS))
    return pd.DataFrame(r, index=pd.bdate_range("2010-01-01", periods=n), columns=[f"A{i}" for i in range(N_ASSETS)])


def _lag1_acf_of_squares(paths: pd.DataFrame) -> float:
    ew = paths.mean(axis=1).to_numpy().reshape(-1, paths.index.get_level_values("step").max() + 1) ** 2
    a, b = ew[:, :-1].ravel(), ew[:, 1:].ravel()
    return float(np.corrcoef(a, b)[0, 1])


def test_paths_keep_volatility_clustering_and_iid_days_do_not():
    data = _clustered()
    model = VAEFactorModel(n_factors=1, hidden_dims=(8,), epochs=30, verbose=False, seed=0).fit(data)
    paths = model.generate_paths(3000, 21, block=20, seed=0)
    assert paths.shape == (3000 * 21, N_ASSETS) and paths.index.names == ["path", "step"]
    realised = float(np.corrcoef(data.mean(axis=1).to_numpy()[:-1] ** 2, data.mean(axis=1).to_numpy()[1:] ** 2)[0, 1])
    clustered = _lag1_acf_of_squares(paths)
    iid = _lag1_acf_of_squares(model.generate_paths(3000, 21, block=1, seed=0))
    assert realised > 0.1 and clustered > 0.5 * realised and abs(iid) < 0.03
    pd.testing.assert_frame_equal(model.generate_paths(5, 3, seed=1), model.generate_paths(5, 3, seed=1))
    with pytest.raises(ConfigError, match="block"):
        model.generate_paths(5, 3, block=0.5)


def test_loadings_are_the_slope_of_the_whole_decoder_linear_path_included():
    data = _returns(n=600, df=None)
    model = VAEFactorModel(n_factors=K, likelihood="diagonal", linear_skip=True, init="pca", hidden_dims=(8,),
                           epochs=5, verbose=False).fit(data)
    at = np.array([[0.3, -0.7]])
    loadings = model.factor_loadings(at=at).to_numpy()  # assets × K, log-return units
    eps = 1e-3
    for k in range(K):
        up, down = at.copy(), at.copy()
        up[0, k] += eps
        down[0, k] -= eps
        slope = (model.decode(up).to_numpy() - model.decode(down).to_numpy())[0] / (2 * eps)
        np.testing.assert_allclose(loadings[:, k], slope, rtol=2e-3, atol=1e-7)


def test_stressed_paths_replay_the_stress_period():
    data = _clustered()
    model = VAEFactorModel(n_factors=1, hidden_dims=(8,), epochs=30, verbose=False, seed=0).fit(data)
    ew = data.mean(axis=1)
    window = ew.rolling(60).std()
    end = window.idxmax()
    period = (ew.index[ew.index.get_loc(end) - 59], end)  # the most turbulent 60 days
    stressed = model.generate_paths(2000, 21, stress_period=period, seed=0).mean(axis=1).std()
    calm = model.generate_paths(2000, 21, seed=0).mean(axis=1).std()
    realised = ew.loc[period[0]:period[1]].std()
    assert stressed == pytest.approx(realised, rel=0.25) and stressed > 1.3 * calm
    with pytest.raises(Exception, match="stress|period|date"):
        model.generate_paths(10, 5, stress_period=("1990-01-01", "1990-01-05"))


def test_kl_warmup_weights_the_training_kl_linearly_and_validation_with_beta():
    data = _returns(n=400)
    beta, warmup = 2.0, 4
    model = VAEFactorModel(n_factors=K, hidden_dims=(8,), beta=beta, kl_warmup=warmup, epochs=6,
                           early_stopping=False, verbose=False, seed=0).fit(data)
    h = model.history_
    for epoch in range(6):
        weight = beta * min(1.0, (epoch + 1) / warmup)  # 0.5, 1.0, 1.5, 2.0, 2.0, 2.0
        assert h["train_loss"][epoch] == pytest.approx(h["train_recon_loss"][epoch]
                                                       + weight * h["train_kl_loss"][epoch], rel=1e-5)
        assert h["val_loss"][epoch] == pytest.approx(h["val_recon_loss"][epoch] + beta * h["val_kl_loss"][epoch],
                                                     rel=1e-5)
    plain = VAEFactorModel(n_factors=K, hidden_dims=(8,), beta=beta, epochs=6, early_stopping=False, verbose=False,
                           seed=0).fit(data)
    assert plain.history_["train_loss"][0] == pytest.approx(
        plain.history_["train_recon_loss"][0] + beta * plain.history_["train_kl_loss"][0], rel=1e-5)
    with pytest.raises(ConfigError, match="kl_warmup must be"):
        VAEFactorModel(n_factors=K, kl_warmup=-1).fit(data)


def test_auto_init_is_factor_analysis_within_the_ledermann_bound_and_pca_beyond():
    def start(data: pd.DataFrame, k: int) -> np.ndarray:
        model = VAEFactorModel(n_factors=k, epochs=1, lr=1e-12, validation_split=0.0, early_stopping=False,
                               verbose=False).fit(data)
        return model.vae_.log_noise.detach().numpy()

    wide = _returns(n=600)  # 10 assets: factor analysis identified up to K = 6
    assert np.ptp(start(wide, K)) > 0.05  # per-asset noise: factor analysis' start
    narrow = wide.iloc[:, :3]  # 3 assets: the Ledermann bound allows 1 factor, so K = 2 starts at pPCA
    assert np.ptp(start(narrow, 2)) == 0.0 and np.ptp(start(narrow, 1)) > 0.0
