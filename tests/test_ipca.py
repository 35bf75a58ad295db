"""InstrumentedPCA: closed forms, recovery of simulated truth, identification, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import subspace_angles

from latentquant.data import Panel
from latentquant.exceptions import ConfigError, ConvergenceWarning, DataValidationError, NotFittedError
from latentquant.models.pricing import InstrumentedPCA

DATES = pd.date_range("2000-01-31", periods=120, freq="ME")


def linear_panel(n_assets=80, n_chars=6, n_factors=2, noise=0.02, alpha=None, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([DATES, [f"a{i}" for i in range(n_assets)]], names=["date", "asset"])
    Z = rng.uniform(-1, 1, (len(idx), n_chars))
    gamma = np.linalg.qr(rng.normal(size=(n_chars, n_factors)))[0]
    f = rng.normal(0.01, 0.05, (len(DATES), n_factors))
    per_row = np.repeat(f, n_assets, axis=0)
    r = (Z @ gamma * per_row).sum(axis=1) + noise * rng.normal(size=len(idx))
    if alpha is not None:
        r = r + Z @ alpha
    chars = pd.DataFrame(Z, index=idx, columns=[f"c{j}" for j in range(n_chars)])
    return Panel(pd.Series(r, index=idx), chars), gamma, f


def test_recovers_the_true_gamma_subspace_and_oracle_fit():
    panel, gamma, _f = linear_panel()
    model = InstrumentedPCA(n_factors=2).fit(panel)
    assert model.converged_
    assert np.max(subspace_angles(model.gamma_.to_numpy(), gamma)) < 0.02
    oracle = 1 - 0.02**2 * len(panel.returns) / (panel.returns**2).sum()
    assert model.score(panel) == pytest.approx(oracle, abs=0.01)


def test_identification_gamma_orthonormal_factors_orthogonal_ordered_nonnegative_means():
    panel, _, _ = linear_panel(n_factors=3, n_chars=8, seed=1)
    model = InstrumentedPCA(n_factors=3).fit(panel)
    G, F = model.gamma_.to_numpy(), model.factors_.to_numpy()
    np.testing.assert_allclose(G.T @ G, np.eye(3), atol=1e-10)
    second = F.T @ F
    np.testing.assert_allclose(second - np.diag(np.diag(second)), 0, atol=1e-8 * np.abs(second).max())
    assert np.all(np.diff(np.diag(second)) <= 0)
    assert np.all(F.mean(axis=0) >= 0)


def test_with_asset_dummies_as_characteristics_ipca_is_uncentred_pca():
    # Z_t = I (one dummy per asset, balanced panel): IPCA's Γ spans the top eigenvectors of Σ_t r_t r_t'
    rng = np.random.default_rng(3)
    N, T = 8, 100
    R = rng.normal(size=(T, 2)) @ rng.normal(size=(2, N)) + 0.3 * rng.normal(size=(T, N))
    idx = pd.MultiIndex.from_product([DATES[:T], [f"a{i}" for i in range(N)]], names=["date", "asset"])
    Z = pd.DataFrame(np.tile(np.eye(N), (T, 1)), index=idx, columns=[f"d{i}" for i in range(N)])
    model = InstrumentedPCA(n_factors=2, tol=1e-10).fit(Panel(pd.Series(R.ravel(), index=idx), Z))
    _eigval, eigvec = np.linalg.eigh(R.T @ R)
    assert np.max(subspace_angles(model.gamma_.to_numpy(), eigvec[:, -2:])) < 1e-6


def test_als_fixed_point_each_step_is_a_least_squares_solution():
    panel, _, _ = linear_panel(seed=2)
    model = InstrumentedPCA(n_factors=2, tol=1e-10).fit(panel)
    # given Γ, the factors are the cross-sectional OLS coefficients of r_t on β_t = Z_t Γ
    t = DATES[5]
    beta = panel.characteristics.loc[t].to_numpy() @ model.gamma_.to_numpy()
    ols = np.linalg.lstsq(beta, panel.returns.loc[t].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(model.factors_.loc[t].to_numpy(), ols, rtol=1e-6)
    np.testing.assert_allclose(model.factors(panel).to_numpy(), model.factors_.to_numpy(), rtol=1e-6, atol=1e-9)


def test_intercept_captures_characteristic_alphas_orthogonal_to_gamma():
    rng = np.random.default_rng(4)
    alpha = 0.01 * rng.normal(size=6)
    panel, _, _ = linear_panel(alpha=alpha, seed=4)
    restricted = InstrumentedPCA(n_factors=2).fit(panel)
    free = InstrumentedPCA(n_factors=2, intercept=True).fit(panel)
    G, ga = free.gamma_.to_numpy(), free.gamma_alpha_.to_numpy()
    np.testing.assert_allclose(G.T @ ga, 0, atol=1e-10)
    assert free.score(panel) > restricted.score(panel)


def test_out_of_sample_betas_use_only_the_rows_characteristics():
    panel, _, _ = linear_panel(seed=5)
    model = InstrumentedPCA(n_factors=2).fit(panel)
    b = model.betas(panel)
    np.testing.assert_allclose(b.to_numpy(), panel.characteristics.to_numpy() @ model.gamma_.to_numpy())
    fitted = model.fitted(panel)
    assert fitted.index.equals(panel.returns.index)


def test_warm_start_converges_in_fewer_iterations():
    panel, _, _ = linear_panel(seed=6)
    model = InstrumentedPCA(n_factors=2, tol=1e-8).fit(panel)
    cold = model.n_iter_
    model.warm_start = True
    model.fit(panel)
    assert model.n_iter_ < cold


def test_errors_are_pinned():
    panel, _, _ = linear_panel(n_chars=3)
    with pytest.raises(ConfigError, match="InstrumentedPCA: n_factors must be a positive integer, got 0"):
        InstrumentedPCA(n_factors=0).fit(panel)
    with pytest.raises(ConfigError, match=r"InstrumentedPCA: tol must be a positive number, got -1\.0"):
        InstrumentedPCA(tol=-1.0).fit(panel)
    with pytest.raises(ConfigError, match=r"n_factors=4 exceeds the number of characteristics \(3\)"):
        InstrumentedPCA(n_factors=4).fit(panel)
    with pytest.raises(NotFittedError, match=r"This InstrumentedPCA is not fitted yet; call fit\(panel\) first"):
        InstrumentedPCA().betas(panel)
    with pytest.raises(DataValidationError, match="panel must be a latentquant Panel, got DataFrame"):
        InstrumentedPCA().fit(panel.characteristics)
    other = Panel(panel.returns, panel.characteristics.rename(columns={"c0": "x"}))
    with pytest.raises(DataValidationError, match="panel characteristics .* differ from those the model was fitted on"):
        InstrumentedPCA(n_factors=1).fit(panel).betas(other)


def test_periods_where_a_characteristic_is_missing_everywhere_do_not_break_the_fit():
    # e.g. 36-month momentum before 36 months of history: ranked to 0 for every asset in those months
    panel, _, _ = linear_panel(n_chars=6, n_factors=2, seed=7)
    chars = panel.characteristics.copy()
    early = chars.index.get_level_values(0) < DATES[12]
    chars.loc[early, ["c4", "c5"]] = 0.0
    model = InstrumentedPCA(n_factors=5).fit(Panel(panel.returns, chars))
    assert np.isfinite(model.factors_.to_numpy()).all() and np.isfinite(model.gamma_.to_numpy()).all()
    assert model.score(Panel(panel.returns, chars)) > 0.5



def test_stopping_at_max_iter_warns_and_keeps_the_last_iterate():
    panel, _, _ = linear_panel(seed=8)
    with pytest.warns(ConvergenceWarning, match=r"InstrumentedPCA: ALS stopped at max_iter=2 with a change of .* > "
                                                r"tol=1e-12; raise max_iter or tol"):
        model = InstrumentedPCA(n_factors=2, max_iter=2, tol=1e-12).fit(panel)
    assert model.n_iter_ == 2 and not model.converged_
    assert np.isfinite(model.gamma_.to_numpy()).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a converged fit does not warn
        assert InstrumentedPCA(n_factors=2).fit(panel).converged_


def test_predicted_adds_the_characteristic_alphas_of_the_unrestricted_model():
    rng = np.random.default_rng(9)
    panel, _, _ = linear_panel(alpha=0.01 * rng.normal(size=6), seed=9)
    train = Panel(panel.returns.loc[DATES[:100]], panel.characteristics.loc[DATES[:100]])
    test = Panel(panel.returns.loc[DATES[100:]], panel.characteristics.loc[DATES[100:]])
    model = InstrumentedPCA(n_factors=2, intercept=True).fit(train)
    lam = np.vstack([model.factors(train).to_numpy(), model.factors(test).to_numpy()[:3]]).mean(axis=0)
    rows = test.returns.index.get_level_values(0) == DATES[103]
    expected = model.betas(test)[rows].to_numpy() @ lam + model.alphas(test)[rows].to_numpy()
    np.testing.assert_allclose(model.predicted(test, history=train)[rows].to_numpy(), expected, rtol=1e-12)
