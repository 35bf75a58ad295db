"""FamaFrench and PCAFactors: recovery of true betas, closed forms, errors."""

import numpy as np
import pandas as pd
import pytest

from latentquant.data import Panel
from latentquant.evaluation import total_r2
from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError
from latentquant.models.pricing import FamaFrench, PCAFactors

DATES = pd.date_range("1990-01-31", periods=240, freq="ME")


def factor_panel(n_assets=30, k=3, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    f = pd.DataFrame(rng.normal(0.005, 0.04, (len(DATES), k)), index=DATES, columns=[f"F{j}" for j in range(k)])
    beta = rng.normal(1.0, 0.5, (n_assets, k))
    R = f.to_numpy() @ beta.T + noise * rng.normal(size=(len(DATES), n_assets))
    idx = pd.MultiIndex.from_product([DATES, [f"p{i:02d}" for i in range(n_assets)]], names=["date", "asset"])
    panel = Panel(pd.Series(R.ravel(), index=idx), pd.DataFrame(index=idx))
    return panel, f, beta, R


def test_fama_french_with_the_true_factors_recovers_the_true_betas():
    panel, f, beta, _ = factor_panel(noise=0.005)  # OLS standard error of a beta ≈ 0.005 / (0.04 √240) ≈ 0.008
    model = FamaFrench(f).fit(panel)
    np.testing.assert_allclose(model.beta_.to_numpy(), beta, atol=0.03)
    assert np.abs(model.alpha_).max() < 0.01
    fitted = model.fitted(panel)
    assert total_r2(panel.returns, fitted) == pytest.approx(model.score(panel))


def test_fama_french_factor_subset_and_out_of_sample_dates():
    panel, f, _, _ = factor_panel()
    train = Panel(panel.returns.loc[DATES[:120]], panel.characteristics.loc[DATES[:120]])
    test = Panel(panel.returns.loc[DATES[120:]], panel.characteristics.loc[DATES[120:]])
    one = FamaFrench(f, factors=["F0"]).fit(train)
    full = FamaFrench(f).fit(train)
    assert list(one.beta_.columns) == ["F0"]
    assert full.score(test) > one.score(test)
    pd.testing.assert_frame_equal(full.factors(test), f.loc[DATES[120:]], check_names=False, check_freq=False)


def test_pca_in_sample_r2_equals_the_eigenvalue_share_of_the_uncentred_second_moment():
    panel, _, _, R = factor_panel(noise=0.03, seed=1)
    eig = np.sort(np.linalg.eigvalsh(R.T @ R / len(R)))[::-1]
    for k in (1, 2, 3):
        model = PCAFactors(n_factors=k).fit(panel)
        assert model.score(panel) == pytest.approx(eig[:k].sum() / eig.sum(), rel=1e-10)
        B = model.beta_.to_numpy()
        np.testing.assert_allclose(B.T @ B / B.shape[0], np.eye(k), atol=1e-12)


def test_pca_factors_are_cross_sectional_regressions_and_unseen_assets_are_refused():
    panel, _, _, R = factor_panel(seed=2)
    model = PCAFactors(n_factors=2).fit(panel)
    B = model.beta_.to_numpy()
    np.testing.assert_allclose(model.factors_.to_numpy(), R @ B / B.shape[0], rtol=1e-10, atol=1e-14)
    idx = pd.MultiIndex.from_product([DATES[:2], ["new"]], names=["date", "asset"])
    other = Panel(pd.Series([0.01, 0.02], index=idx), pd.DataFrame(index=idx))
    with pytest.raises(DataValidationError, match=r"1 asset\(s\) of the panel were not in the training panel \(first 'new'\)"):
        model.betas(other)


def test_errors_are_pinned():
    panel, f, _, _ = factor_panel(n_assets=4)
    with pytest.raises(ConfigError, match=r"factors \['HML'\] are not columns of factor_returns"):
        FamaFrench(f, factors=["HML"]).fit(panel)
    with pytest.raises(DataValidationError, match=r"factor_returns have no row for 120 date\(s\) of the panel"):
        FamaFrench(f.iloc[:120]).fit(panel)
    with pytest.raises(NotFittedError, match=r"This PCAFactors is not fitted yet; call fit\(panel\) first"):
        PCAFactors().betas(panel)
    with pytest.raises(ConfigError, match=r"n_factors=4 must be smaller than both the number of dates \(240\) and assets \(4\)"):
        PCAFactors(n_factors=4).fit(panel)
    unbalanced = Panel(panel.returns.iloc[1:], panel.characteristics.iloc[1:])
    with pytest.raises(DataValidationError, match=r"PCA needs a balanced training panel; 1 asset\(s\) have missing returns"):
        PCAFactors(n_factors=1).fit(unbalanced)
