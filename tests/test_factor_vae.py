"""ConditionalVAE (FactorVAE): the prior never sees returns, posterior ≥ prior, learning, seeds, closed-form KL,
shapes and errors."""

import numpy as np
import pandas as pd
import pytest
import torch

from latentquant.data import Panel
from latentquant.data.simulate import simulate_panel
from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError
from latentquant.models.pricing.factor_vae import ConditionalVAE, gaussian_kl

SMALL = {"n_factors": 2, "hidden_dim": 16, "verbose": False}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # tiny networks: intra-op threads only add synchronisation, which stalls badly on a busy machine
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def sim():
    return simulate_panel(n_assets=50, n_periods=60, n_chars=5, n_factors=2, seed=0)


@pytest.fixture(scope="module")
def fitted_model(sim):
    return ConditionalVAE(epochs=20, seed=0, **SMALL).fit(sim.panel)


def with_month_returns_changed(panel, month):
    r = panel.returns.copy()
    in_month = r.index.get_level_values(0) == panel.dates[month]
    rng = np.random.default_rng(123)
    r[in_month] = rng.normal(0.0, 0.3, in_month.sum())  # very different returns in that month only
    return Panel(r, panel.characteristics)


def test_prior_path_never_uses_returns(sim, fitted_model):
    panel = sim.panel
    month = 17
    changed = with_month_returns_changed(panel, month)
    pd.testing.assert_frame_equal(fitted_model.factors(panel), fitted_model.factors(changed), check_exact=True)
    pd.testing.assert_series_equal(fitted_model.fitted(panel, "prior"), fitted_model.fitted(changed, "prior"),
                                   check_exact=True)
    pd.testing.assert_frame_equal(fitted_model.betas(panel), fitted_model.betas(changed))
    # the posterior (oracle) factors of that month do move, and only that month's
    post, post_changed = fitted_model.factors(panel, "posterior"), fitted_model.factors(changed, "posterior")
    diff = (post - post_changed).abs().max(axis=1)
    assert diff.iloc[month] > 1e-4
    assert (diff.drop(diff.index[month]) == 0).all()
    assert post.attrs["which"] == "posterior" and fitted_model.factors(panel).attrs["which"] == "prior"


def test_posterior_r2_at_least_prior_r2_in_sample(sim, fitted_model):
    prior = fitted_model.score(sim.panel)  # default is the prior
    posterior = fitted_model.score(sim.panel, which="posterior")
    assert prior == fitted_model.score(sim.panel, which="prior")
    assert posterior >= prior
    assert posterior > 0.02  # the oracle encoder has learned to read the factors from the month's returns
    assert posterior < sim.oracle_total_r2() + 0.1


def test_prior_score_positive_on_linear_dgp_with_priced_factors():
    # factors with a sizeable mean: the prior (characteristics only) can learn β_i'E[f] and the alphas
    sim = simulate_panel(n_assets=50, n_periods=60, n_chars=5, n_factors=2, factor_mean=0.03, seed=1)
    model = ConditionalVAE(epochs=20, seed=0, **SMALL).fit(sim.panel)
    assert model.score(sim.panel) > 0.04
    assert model.score(sim.panel, "posterior") > model.score(sim.panel)


def test_same_seed_identical_different_seed_different(sim):
    a = ConditionalVAE(epochs=2, seed=3, **SMALL).fit(sim.panel)
    b = ConditionalVAE(epochs=2, seed=3, **SMALL).fit(sim.panel)
    c = ConditionalVAE(epochs=2, seed=4, **SMALL).fit(sim.panel)
    pd.testing.assert_frame_equal(a.factors(sim.panel), b.factors(sim.panel), check_exact=True)
    pd.testing.assert_series_equal(a.fitted(sim.panel, "posterior"), b.fitted(sim.panel, "posterior"),
                                   check_exact=True)
    assert a.history_["train_loss"] == b.history_["train_loss"]
    assert not np.allclose(a.factors(sim.panel).to_numpy(), c.factors(sim.panel).to_numpy())


def test_kl_closed_form_matches_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    mu_q = torch.tensor([0.3, -1.0, 0.5], dtype=torch.float64)
    s_q = torch.tensor([0.5, 1.2, 0.8], dtype=torch.float64)
    mu_p = torch.tensor([0.0, -0.4, 1.5], dtype=torch.float64)
    s_p = torch.tensor([1.0, 0.7, 2.0], dtype=torch.float64)
    z = mu_q + s_q * torch.randn(200_000, 3, generator=gen, dtype=torch.float64)
    log_ratio = (torch.distributions.Normal(mu_q, s_q).log_prob(z)
                 - torch.distributions.Normal(mu_p, s_p).log_prob(z)).sum(dim=1)
    mc, se = float(log_ratio.mean()), float(log_ratio.std() / np.sqrt(len(log_ratio)))
    exact = float(gaussian_kl(mu_q, s_q, mu_p, s_p))
    assert abs(exact - mc) < 4 * se
    assert float(gaussian_kl(mu_q, s_q, mu_q, s_q)) == pytest.approx(0.0, abs=1e-12)
    # batched: one KL per row
    assert gaussian_kl(mu_q.expand(4, 3), s_q.expand(4, 3), mu_p.expand(4, 3), s_p.expand(4, 3)).shape == (4,)


def test_shapes_and_indexes(sim, fitted_model):
    panel = sim.panel
    betas = fitted_model.betas(panel)
    assert betas.shape == (len(panel.returns), 2)
    assert betas.index.equals(panel.returns.index) and list(betas.columns) == ["f1", "f2"]
    for which in ("prior", "posterior"):
        f = fitted_model.factors(panel, which)
        assert f.shape == (60, 2) and f.index.equals(panel.dates) and list(f.columns) == ["f1", "f2"]
        fit = fitted_model.fitted(panel, which)
        assert fit.index.equals(panel.returns.index) and np.isfinite(fit.to_numpy()).all()
        # fitted = α + β'μ_z, row by row
        per_row = f.reindex(panel.returns.index.get_level_values(0)).to_numpy()
        expected = fitted_model.alphas(panel).to_numpy() + (betas.to_numpy() * per_row).sum(axis=1)
        np.testing.assert_allclose(fit.to_numpy(), expected, rtol=1e-6, atol=1e-9)
    # an unbalanced panel (a stock missing in some months) predicts row by row as well
    sub = Panel(panel.returns.iloc[3:], panel.characteristics.iloc[3:])
    np.testing.assert_allclose(fitted_model.betas(sub).to_numpy(), betas.iloc[3:].to_numpy(), rtol=1e-5, atol=1e-6)


def test_default_portfolio_count_is_learned_in_fit_and_predicted_is_the_prior_fit(sim, fitted_model):
    assert fitted_model.n_portfolios is None and fitted_model.n_portfolios_ == 8  # max(2 K, 8) with K = 2
    assert fitted_model.net_.portfolio.out_features == 8
    train = Panel(sim.panel.returns.loc[: sim.panel.dates[39]], sim.panel.characteristics.loc[: sim.panel.dates[39]])
    test = Panel(sim.panel.returns.loc[sim.panel.dates[40]:], sim.panel.characteristics.loc[sim.panel.dates[40]:])
    pred = fitted_model.predicted(test, history=train)
    assert pred.name == "predicted"
    np.testing.assert_array_equal(pred.to_numpy(), fitted_model.fitted(test, "prior").to_numpy())


def test_explicit_validation_panel_and_history(sim):
    train = Panel(sim.panel.returns.loc[: sim.panel.dates[44]], sim.panel.characteristics.loc[: sim.panel.dates[44]])
    val = Panel(sim.panel.returns.loc[sim.panel.dates[45]:], sim.panel.characteristics.loc[sim.panel.dates[45]:])
    model = ConditionalVAE(epochs=2, seed=0, **SMALL).fit(train, val_panel=val)
    assert {"train_loss", "val_loss", "train_kl", "val_nll"} <= set(model.history_)
    assert len(model.history_["val_loss"]) == 2
    assert model.factors(val).shape == (15, 2)


def test_errors(sim, fitted_model):
    panel = sim.panel
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ConditionalVAE(**SMALL).factors(panel)
    with pytest.raises(ConfigError, match="which must be 'prior' or 'posterior'"):
        fitted_model.factors(panel, which="oracle")
    with pytest.raises(ConfigError, match="which must be 'prior' or 'posterior'"):
        fitted_model.score(panel, which="post")
    for bad in (0, -1, 2.5, True):
        model = ConditionalVAE(n_factors=bad)  # hyperparameters are checked in fit, not in __init__
        with pytest.raises(ConfigError, match=rf"ConditionalVAE: n_factors must be a positive integer, got {bad}"):
            model.fit(panel)
    with pytest.raises(ConfigError, match=r"ConditionalVAE: gamma must be a positive number, got 0\.0"):
        ConditionalVAE(gamma=0.0).fit(panel)
    with pytest.raises(ConfigError, match=r"ConditionalVAE: validation_split must be a number in \[0, 1\), got 1"):
        ConditionalVAE(validation_split=1).fit(panel)
    renamed = Panel(panel.returns, panel.characteristics.rename(columns={"c01": "other"}))
    with pytest.raises(DataValidationError, match="differ from those the model was fitted on"):
        fitted_model.fitted(renamed)
    reordered = Panel(panel.returns, panel.characteristics[panel.characteristics.columns[::-1]])
    with pytest.raises(DataValidationError, match="differ from those the model was fitted on"):
        fitted_model.betas(reordered)
    with pytest.raises(DataValidationError, match="panel must be a latentquant Panel, got Series"):
        ConditionalVAE(**SMALL).fit(panel.returns)
