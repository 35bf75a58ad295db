"""Baseline generators (issue 13 §3): bootstrap, stationary block bootstrap, Gaussian, GARCH(1,1)-t with CCC.

Every statistical claim is checked against a simulated truth, a closed form or a reference implementation (arch's
Politis–White rule, scipy's normal log-density); every error message is pinned.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone

from latentquant.datasets import load_sp500_index
from latentquant.exceptions import CheckpointError, ConfigError, DataValidationError, NotFittedError
from latentquant.models.generative import (
    GENERATORS,
    BaseGenerator,
    BlockBootstrapGenerator,
    BootstrapGenerator,
    GARCHGenerator,
    GaussianGenerator,
    available,
    create,
    politis_white_block_length,
    stationary_segment_indices,
)
from latentquant.models.generative._base import as_segments
from latentquant.models.generative.garch import (
    _GRID,
    _normal_to_t,
    _normal_to_t_interpolated,
    _t_to_normal,
)


# ----------------------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------------------
def simulate_garch(n_obs: int, *, omega: float, alpha: float, beta: float, nu: float, mu: float = 0.0,
                   phi: float = 0.0, seed: int = 0, burn: int = 1000) -> np.ndarray:
    """One AR(1)-GARCH(1,1) path with standardised Student-t innovations (a plain loop: the reference)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(nu, size=n_obs + burn) * np.sqrt((nu - 2) / nu)
    x = np.empty(n_obs + burn)
    s2, eps, prev = omega / (1 - alpha - beta), 0.0, mu / (1 - phi)
    for t in range(n_obs + burn):
        s2 = omega + alpha * eps**2 + beta * s2
        eps = np.sqrt(s2) * z[t]
        prev = mu + phi * prev + eps
        x[t] = prev
    return x[burn:]


def acf1_of_squares(windows: np.ndarray) -> float:
    """Lag-1 autocorrelation of r², pooled over windows (one mean over all days, pairs only within a window)."""
    sq = windows[..., 0] ** 2
    c = sq - sq.mean()
    return float((c[:, 1:] * c[:, :-1]).sum() / (c**2).sum())


@pytest.fixture(scope="module")
def spx() -> pd.DataFrame:
    """S&P 500 daily log returns, 2000–2018 (4,779 days)."""
    close = load_sp500_index()["SP500"]
    return np.log(close).diff().dropna().loc["2000":"2018"].to_frame("SP500")


@pytest.fixture(scope="module")
def garch_series() -> np.ndarray:
    """5,000 days of GARCH-t with moderate tails (ν = 12): lag-1 ACF of r² = 0.19 in theory."""
    return simulate_garch(5000, omega=0.05, alpha=0.12, beta=0.8, nu=12, seed=0)


@pytest.fixture(scope="module")
def spx_garch(spx: pd.DataFrame) -> GARCHGenerator:
    return GARCHGenerator(length=250).fit(spx)


def sliding(series: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    return np.stack([series[i:i + length] for i in range(0, len(series) - length + 1, stride)])


# ----------------------------------------------------------------------------------------------------------------------
# registry and interface
# ----------------------------------------------------------------------------------------------------------------------
def test_registry_names_and_create():
    assert available() == ["bootstrap", "block_bootstrap", "gaussian", "garch", "timevae", "nice", "realnvp", "maf",
                           "ddpm"] == GENERATORS.names()
    assert isinstance(create("garch", burn=10), GARCHGenerator)
    assert create("block_bootstrap", block_length=4.0, length=7).get_params()["length"] == 7
    with pytest.raises(ConfigError, match=r"unknown generator 'timegan'; choose from \['bootstrap', "):
        create("timegan")
    with pytest.raises(ConfigError, match=r"generator 'gaussian' has no parameter\(s\) \['epochs'\]; its parameters "
                                          r"are \['length', 'seed'\]"):
        create("gaussian", epochs=3)


ALL = [BootstrapGenerator, BlockBootstrapGenerator, GaussianGenerator, GARCHGenerator]


@pytest.mark.parametrize("cls", ALL)
def test_clone_and_contract(cls, garch_series):
    est = cls(length=30, seed=3)
    assert isinstance(est, BaseGenerator)
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    fitted = est.fit(garch_series[:1000].reshape(-1, 1))
    assert fitted is est and est.get_params() == twin.get_params()  # fit changes no hyperparameter
    with pytest.raises(NotFittedError, match=rf"This {cls.__name__} is not fitted yet; call fit\(windows\) first"):
        clone(est).sample(2)
    out = est.sample(4, seed=11)
    assert out.shape == (4, 30, 1) and out.dtype == np.float64 and np.isfinite(out).all()
    np.testing.assert_array_equal(out, est.sample(4, seed=11))  # same seed, same windows
    assert not np.array_equal(out, est.sample(4, seed=12))
    np.testing.assert_array_equal(out, clone(est).fit(garch_series[:1000].reshape(-1, 1)).sample(4, seed=11))


def test_seed_none_draws_a_reproducible_stream(garch_series):
    x = garch_series[:500].reshape(-1, 1)
    a = BootstrapGenerator(length=10, seed=5).fit(x)
    first, second = a.sample(3), a.sample(3)
    assert not np.array_equal(first, second)  # successive draws differ ...
    b = BootstrapGenerator(length=10, seed=5).fit(x)
    np.testing.assert_array_equal(first, b.sample(3))  # ... and the sequence is fixed by `seed`
    np.testing.assert_array_equal(second, b.sample(3))
    gen = np.random.default_rng(1)
    np.testing.assert_array_equal(a.sample(2, seed=gen), BootstrapGenerator(length=10).fit(x).sample(
        2, seed=np.random.default_rng(1)))


@pytest.mark.parametrize("cls", ALL)
def test_save_load_round_trip_gives_identical_samples(cls, garch_series, tmp_path):
    est = cls(length=25, seed=1).fit(sliding(garch_series[:800], 25))
    path = est.save(tmp_path / "gen")
    assert sorted(p.name for p in path.iterdir()) == ["arrays.npz", "estimator.json", "weights.pt"]
    loaded = cls.load(path)
    assert type(loaded) is cls and loaded.get_params() == est.get_params()
    np.testing.assert_array_equal(est.sample(6, seed=4), loaded.sample(6, seed=4))
    np.testing.assert_array_equal(cls(length=25, seed=1).fit(sliding(garch_series[:800], 25)).sample(6),
                                  loaded.sample(6))  # the seed=None stream restarts from `seed` on load
    if cls is GARCHGenerator:
        pd.testing.assert_frame_equal(est.params_, loaded.params_)
        assert loaded.history_ == est.history_


def test_load_errors(garch_series, tmp_path):
    with pytest.raises(CheckpointError, match=r"estimator.json is missing; pass the directory written by "
                                              r"model.save\(path\)"):
        GARCHGenerator.load(tmp_path / "nothing")
    path = GaussianGenerator().fit(garch_series[:300].reshape(-1, 1)).save(tmp_path / "gauss")
    with pytest.raises(CheckpointError, match=r"holds a GaussianGenerator, not a GARCHGenerator; use "
                                              r"GaussianGenerator.load\(\)"):
        GARCHGenerator.load(path)
    doc = json.loads((path / "estimator.json").read_text())
    for pair in doc["state"]["__dict__"]:
        if pair[0] == "generator_format":
            pair[1] = 99
    (path / "estimator.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match=r"the saved GaussianGenerator has generator format 99, this "
                                              r"latentquant reads format 1; load it with the latentquant version"):
        GaussianGenerator.load(path)
    (path / "estimator.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="is corrupted or not a saved latentquant estimator"):
        GaussianGenerator.load(path)


# ----------------------------------------------------------------------------------------------------------------------
# input handling: series vs windows, typed errors
# ----------------------------------------------------------------------------------------------------------------------
def test_stride_one_windows_rebuild_the_series():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(120, 2))
    data, bounds, names, length = as_segments(sliding(series, 20))
    np.testing.assert_array_equal(data, series)
    assert bounds.tolist() == [0, 120] and names == ["x0", "x1"] and length == 20
    # two runs of stride-1 windows (two assets, two periods) → two segments; each day counted once
    other = rng.normal(size=(50, 2))
    data, bounds, _, _ = as_segments(np.concatenate([sliding(series, 20), sliding(other, 20)]))
    np.testing.assert_array_equal(data, np.concatenate([series, other]))
    assert bounds.tolist() == [0, 120, 170]
    # non-overlapping windows (stride = length): one segment each
    data, bounds, _, _ = as_segments(sliding(series, 20, stride=20))
    assert bounds.tolist() == list(range(0, 121, 20))
    # a fit on windows equals a fit on their series
    np.testing.assert_allclose(GaussianGenerator().fit(sliding(series, 20)).covariance_,
                               GaussianGenerator().fit(series).covariance_)
    frame = pd.DataFrame(series, columns=["ret", "logvar"], index=pd.bdate_range("2020-01-01", periods=120))
    model = GaussianGenerator().fit(frame)
    assert model.feature_names_ == ["ret", "logvar"] and model.length_ == 120 and model.window_length_ is None
    assert GaussianGenerator().fit(frame["ret"]).n_features_in_ == 1


def test_length_defaults_to_the_fitted_windows():
    windows = np.random.default_rng(0).normal(size=(40, 24, 3))
    assert BootstrapGenerator().fit(windows).sample(2, seed=0).shape == (2, 24, 3)
    assert BootstrapGenerator(length=7).fit(windows).sample(2, seed=0).shape == (2, 7, 3)


@pytest.mark.parametrize(("data", "message"), [
    (np.zeros(30), r"GaussianGenerator: data must be a series \(T, F\) or windows \(n, L, F\), got an array of "
                   r"shape \(30,\); use x.reshape\(-1, 1\) for a single series"),
    (np.zeros((2, 3, 4, 5)), r"got an array of shape \(2, 3, 4, 5\)\.$"),
    (np.zeros((0, 5, 2)), r"GaussianGenerator: data are empty \(shape \(0, 5, 2\)\); pass at least one row"),
    (np.array([["a", "b"]]), r"GaussianGenerator: data must be numeric, got values that cannot be read as numbers"),
    (np.where(np.arange(60).reshape(3, 10, 2) == 25, np.nan, 1.0),
     r"GaussianGenerator: data contain NaN \(1 non-finite value\(s\); first at window 1, step 2, feature 1\); drop "
     r"or fill missing values before fitting"),
    (np.array([[1.0], [np.inf], [2.0]]), r"data contain an infinite value \(1 non-finite value\(s\); first at row 1, "
                                         r"feature 0\)"),
    (pd.DataFrame({"ret": [0.1, np.nan, 0.2]}), r"GaussianGenerator: data column 'ret' has NaN"),
])
def test_bad_data_raise_typed_errors(data, message):
    with pytest.raises(DataValidationError, match=message):
        GaussianGenerator().fit(data)


def test_too_little_data_and_bad_arguments(garch_series):
    with pytest.raises(DataValidationError, match=r"GARCHGenerator needs at least 100 observations \(days\) to fit, "
                                                  r"got 60; pass a longer history"):
        GARCHGenerator().fit(garch_series[:60].reshape(-1, 1))
    with pytest.raises(DataValidationError, match=r"GaussianGenerator needs at least 6 observations \(days\) to fit, "
                                                  r"got 4 in 2 segment\(s\)"):
        GaussianGenerator().fit(np.random.default_rng(0).normal(size=(2, 2, 5)))  # two windows that do not chain
    with pytest.raises(DataValidationError, match=r"GARCHGenerator: feature 'x0' is constant \(1.0\); a GARCH model "
                                                  r"needs a varying series: drop the feature"):
        GARCHGenerator().fit(np.ones((200, 1)))
    model = GaussianGenerator(length=5).fit(garch_series[:100].reshape(-1, 1))
    with pytest.raises(ConfigError, match=r"GaussianGenerator samples unconditionally and takes no condition; pass "
                                          r"condition=None"):
        model.sample(3, condition=np.ones(4))
    with pytest.raises(ConfigError, match=r"GaussianGenerator: n must be a positive integer, got 0"):
        model.sample(0)
    with pytest.raises(ConfigError, match=r"GaussianGenerator: seed must be a non-negative integer or a Generator "
                                          r"or None, got -1"):
        model.sample(2, seed=-1)


@pytest.mark.parametrize(("est", "message"), [
    (BootstrapGenerator(length=0), r"BootstrapGenerator: length must be a positive integer or None, got 0"),
    (GaussianGenerator(seed=-3), r"GaussianGenerator: seed must be a non-negative integer or None, got -3"),
    (BlockBootstrapGenerator(block_length=0.5), r"BlockBootstrapGenerator: block_length must be a number >= 1 or "
                                                r"None, got 0.5"),
    (BlockBootstrapGenerator(block_rule="abs"), r"BlockBootstrapGenerator: block_rule must be one of \['levels', "
                                                r"'squares', 'max'\], got 'abs'"),
    (GARCHGenerator(mean="ARMA"), r"GARCHGenerator: mean must be one of \['AR', 'Constant'\], got 'ARMA'"),
    (GARCHGenerator(burn=-1), r"GARCHGenerator: burn must be a non-negative integer, got -1"),
])
def test_bad_hyperparameters_raise_in_fit(est, message, garch_series):
    with pytest.raises(ConfigError, match=message):
        est.fit(garch_series[:200].reshape(-1, 1))


# ----------------------------------------------------------------------------------------------------------------------
# bootstraps
# ----------------------------------------------------------------------------------------------------------------------
def test_bootstrap_samples_only_observed_days_with_their_cross_section():
    rng = np.random.default_rng(0)
    days = np.column_stack([np.arange(300.0), rng.normal(size=(300, 2))])  # column 0 names the day
    windows = BootstrapGenerator(length=40).fit(days).sample(50, seed=0)
    rows = windows[..., 0].astype(int)
    np.testing.assert_array_equal(windows, days[rows])  # every synthetic day is one observed day, all columns
    assert len(np.unique(rows)) > 250  # and the draw covers the history


def test_iid_bootstrap_destroys_and_garch_keeps_volatility_clustering(spx, spx_garch):
    real = acf1_of_squares(spx.to_numpy()[None])
    garch = acf1_of_squares(spx_garch.sample(200, seed=0))
    iid = acf1_of_squares(BootstrapGenerator(length=250).fit(spx).sample(200, seed=0))
    assert real > 0.15  # 0.21 on the data
    assert garch > 0.1  # measured 0.39 (seeds 0–4: 0.19–0.39; heavy tails make the estimate noisy)
    assert abs(iid) < 0.05  # measured -0.001
    params = spx_garch.params_.loc["SP500"]
    assert 0.05 < params["alpha"] < 0.2 and 0.8 < params["beta"] < 0.95 and 4 < params["nu"] < 10


def test_block_bootstrap_mean_block_length_is_the_chosen_one():
    days = np.column_stack([np.arange(2000.0), np.zeros(2000)])
    idx = BlockBootstrapGenerator(8.0, length=5000).fit(days).sample(40, seed=0)[..., 0]
    continues = np.diff(idx, axis=1) == 1  # the next day of the same block
    n_blocks = idx.shape[0] + (~continues).sum()
    mean_block = idx.size / n_blocks
    assert abs(mean_block - 8.0) < 0.4  # geometric(1/8) blocks; measured 7.98


def test_block_bootstrap_blocks_stay_inside_their_segment():
    days = np.arange(200.0).reshape(-1, 1)
    windows = sliding(days, 20, stride=20)  # 10 separate windows
    model = BlockBootstrapGenerator(1e9, length=45).fit(windows)  # one block per path
    assert model.segment_bounds_.tolist() == list(range(0, 201, 20))
    rows = model.sample(100, seed=0)[..., 0].astype(int)
    assert ((rows // 20) == (rows[:, :1] // 20)).all()  # a path never leaves the window it started in
    steps = np.diff(rows, axis=1)
    assert set(np.unique(steps)) == {1, -19}  # it wraps around inside its window


def test_segment_indices_with_one_segment_are_the_shared_stationary_bootstrap():
    from latentquant._math import stationary_bootstrap_indices

    ours = stationary_segment_indices(np.array([0, 500]), 30, 60, 7.0, np.random.default_rng(3))
    shared = next(stationary_bootstrap_indices(500, 30, 7.0, np.random.default_rng(3), length=60))
    np.testing.assert_array_equal(ours, shared)


def test_politis_white_block_length_is_arch_s_rule(garch_series):
    from arch.bootstrap import optimal_block_length

    x = np.column_stack([garch_series, np.random.default_rng(1).normal(size=len(garch_series))])
    levels = BlockBootstrapGenerator().fit(x)
    assert levels.block_length_ == pytest.approx(max(1.0, optimal_block_length(x)["stationary"].max()))
    squares = BlockBootstrapGenerator(block_rule="squares").fit(x)
    expected = optimal_block_length((x - x.mean(axis=0)) ** 2)["stationary"].max()
    assert squares.block_length_ == pytest.approx(expected)
    assert BlockBootstrapGenerator(block_rule="max").fit(x).block_length_ == pytest.approx(
        max(levels.block_length_, squares.block_length_))
    table = politis_white_block_length(x, "squares")
    assert list(table.columns) == ["levels", "squares", "chosen"] and (table >= 1).all().all()
    with pytest.raises(ConfigError, match=r"rule must be one of \['levels', 'squares', 'max'\], got 'abs'"):
        politis_white_block_length(x, "abs")


def test_block_bootstrap_keeps_volatility_clustering_better_than_iid(garch_series):
    x = garch_series.reshape(-1, 1)
    real = acf1_of_squares(x[None])
    block = BlockBootstrapGenerator(block_rule="squares", length=250).fit(x)
    assert 20 < block.block_length_ < 60  # measured 35.6 days
    acf_block = acf1_of_squares(block.sample(200, seed=0))
    acf_iid = acf1_of_squares(BootstrapGenerator(length=250).fit(x).sample(200, seed=0))
    assert abs(acf_iid) < 0.02 < 0.1 < acf_block  # measured 0.007 and 0.128, the real series 0.138
    assert abs(acf_block - real) < abs(acf_iid - real)


# ----------------------------------------------------------------------------------------------------------------------
# Gaussian
# ----------------------------------------------------------------------------------------------------------------------
def test_gaussian_fits_the_sample_moments_and_samples_them():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.6, -0.2], [0.6, 2.0, 0.3], [-0.2, 0.3, 0.5]])
    days = rng.multivariate_normal([0.1, -0.2, 0.3], cov, size=3000)
    model = GaussianGenerator(length=20).fit(days)
    np.testing.assert_allclose(model.mean_, days.mean(axis=0))
    np.testing.assert_allclose(model.covariance_, np.cov(days, rowvar=False))
    reference = -stats.multivariate_normal(model.mean_, model.covariance_).logpdf(days).mean()
    assert model.history_["train_loss"] == [pytest.approx(reference)]
    flat = model.sample(5000, seed=1).reshape(-1, 3)  # 100,000 days
    np.testing.assert_allclose(flat.mean(axis=0), model.mean_, atol=0.02)
    np.testing.assert_allclose(np.cov(flat, rowvar=False), model.covariance_, atol=0.03)


# ----------------------------------------------------------------------------------------------------------------------
# GARCH
# ----------------------------------------------------------------------------------------------------------------------
def test_garch_recovers_the_parameters_of_a_simulated_series():
    truth = {"mu": 3e-4, "phi": 0.1, "omega": 2e-6, "alpha": 0.1, "beta": 0.85, "nu": 7.0}
    x = simulate_garch(10_000, seed=1, **truth)  # daily-return units: the internal rescaling must be undone
    model = GARCHGenerator().fit(pd.DataFrame({"r": x}))
    est, se = model.params_.loc["r"], model.std_errors_.loc["r"]
    for name in ("omega", "alpha", "beta", "phi"):
        assert abs(est[name] - truth[name]) < 3 * se[name], (name, est[name], se[name])
    assert abs(est["alpha"] - 0.1) < 0.02 and abs(est["beta"] - 0.85) < 0.03  # measured 0.106, 0.844
    assert est["omega"] == pytest.approx(2e-6, rel=0.25)  # measured 2.02e-6
    assert 5.5 < est["nu"] < 9.0  # measured 6.96


def test_garch_simulation_matches_the_closed_form_moments(garch_series):
    model = GARCHGenerator(mean="Constant", burn=2000, length=1000).fit(garch_series.reshape(-1, 1))
    omega, alpha, beta = 0.1, 0.1, 0.8
    model.params_.loc["x0"] = [0.0, 0.0, omega, alpha, beta, 30.0]  # thin tails: the r² ACF estimate is unbiased
    paths = model.sample(400, seed=0)
    assert paths.var() == pytest.approx(omega / (1 - alpha - beta), rel=0.05)  # measured 0.998
    rho1 = alpha * (1 - alpha * beta - beta**2) / (1 - 2 * alpha * beta - beta**2)  # ARMA(1,1) form of r²: 0.14
    assert acf1_of_squares(paths) == pytest.approx(rho1, abs=0.02)  # measured 0.141


def test_garch_copula_recovers_the_constant_correlation():
    rng = np.random.default_rng(4)
    n_obs, rho, nus = 6000, 0.6, np.array([6.0, 10.0])
    g = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n_obs + 500)
    z = _normal_to_t(g, nus)  # Gaussian copula, standardised t marginals
    x = np.empty_like(z)
    s2 = np.array([1.0, 1.0])
    eps = np.zeros(2)
    for t in range(len(z)):
        s2 = np.array([0.05, 0.1]) + np.array([0.1, 0.05]) * eps**2 + np.array([0.85, 0.85]) * s2
        eps = np.sqrt(s2) * z[t]
        x[t] = eps
    model = GARCHGenerator(mean="Constant", length=200).fit(x[500:])
    assert model.correlation_[0, 1] == pytest.approx(rho, abs=0.03)  # measured 0.591
    nu = model.params_["nu"].to_numpy()
    innovations = model._innovations(200_000, np.random.default_rng(0), np.linalg.cholesky(model.correlation_), nu,
                                     _normal_to_t(_GRID[:, None], nu))
    np.testing.assert_allclose(innovations.var(axis=0), 1.0, atol=0.05)  # unit-variance t marginals
    scores = _t_to_normal(innovations, model.params_["nu"].to_numpy())
    assert np.corrcoef(scores, rowvar=False)[0, 1] == pytest.approx(model.correlation_[0, 1], abs=0.01)
    assert model.sample(3, seed=0).shape == (3, 200, 2)


def test_t_normal_scores_are_inverse_and_finite_in_the_tails():
    g = np.array([-40.0, -9.0, -1.0, 0.0, 0.5, 9.0, 40.0])
    nu = np.array([5.0])
    z = _normal_to_t(g, nu)
    assert np.isfinite(z).all() and (np.diff(z) > 0).all()
    np.testing.assert_allclose(_t_to_normal(z[1:-1], nu), g[1:-1], atol=1e-8)
    u = stats.norm.cdf(0.5)
    assert z[4] == pytest.approx(stats.t.ppf(u, 5) * np.sqrt(3 / 5))


def test_garch_warns_when_arch_does_not_converge(monkeypatch, garch_series):
    import arch.univariate.base as arch_base

    from latentquant.exceptions import ConvergenceWarning

    monkeypatch.setattr(arch_base.ARCHModelResult, "convergence_flag", property(lambda self: 4))
    with pytest.warns(ConvergenceWarning, match=r"GARCHGenerator: the GARCH fit of feature 'x0' did not converge "
                                                r"\(.*\); its parameters may be unreliable"):
        GARCHGenerator(mean="Constant").fit(garch_series[:500].reshape(-1, 1))


def test_tabulated_t_quantiles_are_the_exact_ones():
    nu = np.array([2.05, 4.0, 30.0])
    table = _normal_to_t(_GRID[:, None], nu)
    g = np.random.default_rng(0).uniform(-8.0, 8.0, size=(20_000, 3))
    g[:3, 0] = [-9.0, 8.5, 40.0]  # beyond the table: computed exactly
    exact = _normal_to_t(g, nu)
    np.testing.assert_allclose(_normal_to_t_interpolated(g, nu, table), exact, rtol=1e-5)
