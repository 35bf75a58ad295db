"""Conditional autoencoders CA0–CA3 and the ground-truth checks of the asset-pricing suite on simulated panels."""

import itertools

import numpy as np
import pandas as pd
import pytest

from latentquant.data import Panel, simulate_panel
from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError
from latentquant.models.pricing import ConditionalAutoencoder, InstrumentedPCA, PCAFactors


def split(panel, *bounds):
    """Consecutive sub-panels by month positions, e.g. split(p, 0, 60, 80, 120)."""
    dates = panel.dates
    level = panel.returns.index.get_level_values(0)
    out = []
    for a, b in itertools.pairwise(bounds):
        m = (level >= dates[a]) & (level <= dates[b - 1])
        out.append(Panel(panel.returns[m], panel.characteristics[m]))
    return out


def oracle_r2(sim, panel):
    return 1 - (sim.noise.loc[panel.returns.index] ** 2).sum() / (panel.returns**2).sum()


@pytest.fixture(scope="module")
def nonlinear():
    sim = simulate_panel(n_assets=300, n_periods=120, n_chars=6, n_factors=3, beta="nonlinear", seed=0)
    return sim, split(sim.panel.with_constant(), 0, 60, 80, 120)


def test_ca1_beats_ipca_by_five_points_out_of_sample_on_the_nonlinear_dgp(nonlinear):
    sim, (train, val, test) = nonlinear
    ipca = InstrumentedPCA(3).fit(train).score(test)
    ca = ConditionalAutoencoder(3, depth=1, n_seeds=1, epochs=200, patience=10, lr=1e-2, batch_size=1024,
                                dropout=0.0).fit(train, val)
    assert ca.score(test) >= ipca + 0.05, (ca.score(test), ipca)
    assert ca.score(test) < oracle_r2(sim, test)


def test_ipca_is_within_two_points_of_the_oracle_on_the_linear_dgp():
    sim = simulate_panel(n_assets=300, n_periods=120, n_chars=10, n_factors=3, beta="linear", seed=1)
    train, test = split(sim.panel, 0, 80, 120)
    score = InstrumentedPCA(3).fit(train).score(test)
    assert abs(score - oracle_r2(sim, test)) < 0.02


def test_pca_matches_ipca_when_betas_are_constant():
    rng = np.random.default_rng(2)
    N, T, L, K = 100, 160, 5, 2
    dates = pd.date_range("2000-01-31", periods=T, freq="ME")
    idx = pd.MultiIndex.from_product([dates, [f"a{i:03d}" for i in range(N)]], names=["date", "asset"])
    z = rng.uniform(-1, 1, (N, L))  # time-invariant characteristics → constant betas z_i'Γ
    gamma = np.linalg.qr(rng.normal(size=(L, K)))[0]
    f = rng.normal(0.01, 0.05, (T, K))
    r = (f @ (z @ gamma).T + 0.03 * rng.standard_t(5, (T, N))).ravel()
    panel = Panel(pd.Series(r, index=idx), pd.DataFrame(np.tile(z, (T, 1)), index=idx))
    train, test = split(panel, 0, 100, 160)
    ipca, pca = InstrumentedPCA(K).fit(train).score(test), PCAFactors(K).fit(train).score(test)
    assert pca == pytest.approx(ipca, abs=0.01)


def test_same_seed_same_numbers_and_no_look_ahead_in_predictions(nonlinear):
    _, (train, val, test) = nonlinear
    small = dict(depth=2, n_seeds=2, epochs=3, batch_size=2048, patience=2)
    a = ConditionalAutoencoder(2, **small).fit(train, val)
    b = ConditionalAutoencoder(2, **small).fit(train, val)
    pd.testing.assert_series_equal(a.fitted(test), b.fitted(test))
    pred = a.predicted(test, history=train)
    month = test.dates[10]
    bumped = test.returns.copy()
    bumped.loc[month] = bumped.loc[month].to_numpy() + 0.5
    pred2 = a.predicted(Panel(bumped, test.characteristics), history=train)
    level = test.returns.index.get_level_values(0)
    np.testing.assert_array_equal(pred2[level <= month].to_numpy(), pred[level <= month].to_numpy())
    assert not np.allclose(pred2[level > month].to_numpy(), pred[level > month].to_numpy())


def test_ca0_betas_are_linear_in_the_characteristics(nonlinear):
    _, (train, val, _) = nonlinear
    ca0 = ConditionalAutoencoder(2, depth=0, n_seeds=1, epochs=2).fit(train, val)
    Z = train.characteristics.to_numpy()
    B = ca0.betas(train).to_numpy()
    coef, *_ = np.linalg.lstsq(np.column_stack([Z, np.ones(len(Z))]), B, rcond=None)
    np.testing.assert_allclose(np.column_stack([Z, np.ones(len(Z))]) @ coef, B, atol=1e-5)


def test_errors_are_pinned(nonlinear):
    _, (train, val, _) = nonlinear
    with pytest.raises(ConfigError, match=r"ConditionalAutoencoder: depth must be one of \[0, 1, 2, 3\], got 4"):
        ConditionalAutoencoder(2, depth=4).fit(train)
    with pytest.raises(ConfigError, match="ConditionalAutoencoder: n_factors must be a positive integer, got 0"):
        ConditionalAutoencoder(0).fit(train)
    with pytest.raises(ConfigError, match=r"ConditionalAutoencoder: dropout must be a number in \[0, 1\), got 1\.5"):
        ConditionalAutoencoder(2, dropout=1.5).fit(train)
    with pytest.raises(NotFittedError, match=r"This ConditionalAutoencoder is not fitted yet; call fit\(panel\) first"):
        ConditionalAutoencoder(2).fitted(train)
    model = ConditionalAutoencoder(2, n_seeds=1, epochs=1).fit(train, val)
    other = Panel(train.returns, train.characteristics.rename(columns={"const": "one"}))
    with pytest.raises(DataValidationError, match="panel characteristics .* differ from those the model was fitted on"):
        model.fitted(other)
