"""FamaFrench and PCAFactors: recovery of true betas, closed forms, predictive values, the registry, errors."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from latentquant.data import Panel
from latentquant.evaluation import total_r2
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning, NotFittedError
from latentquant.models.pricing import PRICING_MODELS, ConditionalAutoencoder, FamaFrench, PCAFactors

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
    model = FamaFrench().fit(panel, factor_returns=f)
    np.testing.assert_allclose(model.beta_.to_numpy(), beta, atol=0.03)
    assert np.abs(model.alpha_).max() < 0.01
    fitted = model.fitted(panel)
    assert total_r2(panel.returns, fitted) == pytest.approx(model.score(panel))


def test_fama_french_factor_subset_and_out_of_sample_dates():
    panel, f, _, _ = factor_panel()
    train = Panel(panel.returns.loc[DATES[:120]], panel.characteristics.loc[DATES[:120]])
    test = Panel(panel.returns.loc[DATES[120:]], panel.characteristics.loc[DATES[120:]])
    one = FamaFrench(factor_names=["F0"]).fit(train, factor_returns=f)
    full = FamaFrench().fit(train, factor_returns=f)
    first_two = FamaFrench(n_factors=2).fit(train, factor_returns=f)
    assert list(one.beta_.columns) == ["F0"] and list(first_two.beta_.columns) == ["F0", "F1"]
    assert full.score(test) > one.score(test)
    # the factor returns given to fit are kept: the model prices later dates without being given them again
    pd.testing.assert_frame_equal(full.factors(test), f.loc[DATES[120:]], check_names=False, check_freq=False)


def test_fama_french_old_call_still_works_with_a_future_warning_and_gives_the_same_fit():
    panel, f, _, _ = factor_panel()
    new = FamaFrench(factor_names=["F0", "F2"]).fit(panel, factor_returns=f)
    with pytest.warns(FutureWarning, match=r"FamaFrench\(factors=...\) is deprecated.*factor_names"):
        old = FamaFrench(f, factors=["F0", "F2"])
    assert old.get_params()["factor_names"] == ["F0", "F2"]
    with pytest.warns(FutureWarning, match=r"pass the factor returns to fit"):
        old.fit(panel)
    pd.testing.assert_frame_equal(old.beta_, new.beta_)
    pd.testing.assert_series_equal(old.fitted(panel), new.fitted(panel))
    assert clone(old).get_params()["factor_returns"] is not None  # the deprecated argument survives clone
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'factor'"):
        FamaFrench(factor=["F0"])


def test_predicted_is_beta_times_the_running_mean_of_history_and_earlier_test_factors():
    panel, f, _, _ = factor_panel(seed=3)
    train = Panel(panel.returns.loc[DATES[:200]], panel.characteristics.loc[DATES[:200]])
    test = Panel(panel.returns.loc[DATES[200:]], panel.characteristics.loc[DATES[200:]])
    for model in (FamaFrench().fit(train, factor_returns=f), PCAFactors(n_factors=2).fit(train)):
        pred = model.predicted(test, history=train)
        past, now = model.factors(train).to_numpy(), model.factors(test).to_numpy()
        t = 7  # the 8th test month: λ̂ = mean of the 200 training months and the first 7 test months
        lam = np.vstack([past, now[:t]]).mean(axis=0)
        rows = test.returns.index.get_level_values(0) == DATES[200 + t]
        np.testing.assert_allclose(pred[rows].to_numpy(), model.betas(test)[rows].to_numpy() @ lam, rtol=1e-12)
        # no look-ahead: the returns of a month never move that month's prediction
        bumped = test.returns.copy()
        bumped.loc[DATES[200 + t]] = 1.0
        again = model.predicted(Panel(bumped, test.characteristics), history=train)
        np.testing.assert_array_equal(again[rows].to_numpy(), pred[rows].to_numpy())
        # without history the first month has no premium estimate and predicts 0
        assert (model.predicted(test).loc[DATES[200]] == 0).all()
    with pytest.raises(DataValidationError, match="history must end before the panel starts"):
        model.predicted(train, history=test)


def test_registry_builds_every_pricing_model_by_name():
    assert PRICING_MODELS.names() == ["FF", "PCA", "IPCA", "CA0", "CA1", "CA2", "CA3", "CVAE"]
    ca2 = PRICING_MODELS.create("CA2", {"epochs": 3}, n_factors=4)
    assert isinstance(ca2, ConditionalAutoencoder) and (ca2.depth, ca2.epochs, ca2.n_factors) == (2, 3, 4)
    assert PRICING_MODELS.get("FF").needs_factor_returns and not PRICING_MODELS.get("PCA").needs_factor_returns
    assert [n for n in PRICING_MODELS if PRICING_MODELS.get(n).uses_validation] == ["CA0", "CA1", "CA2", "CA3",
                                                                                     "CVAE"]
    with pytest.raises(ConfigError, match=r"pricing model 'PCA' has no parameter\(s\) \['epochs'\]"):
        PRICING_MODELS.create("PCA", {"epochs": 3})


def test_pca_in_sample_r2_equals_the_eigenvalue_share_of_the_uncentred_second_moment():
    panel, _, _, R = factor_panel(noise=0.03, seed=1)
    eig = np.sort(np.linalg.eigvalsh(R.T @ R / len(R)))[::-1]
    for k in (1, 2, 3):
        model = PCAFactors(n_factors=k).fit(panel)
        assert model.score(panel) == pytest.approx(eig[:k].sum() / eig.sum(), rel=1e-10)
        B = model.beta_.to_numpy()
        np.testing.assert_allclose(B.T @ B / B.shape[0], np.eye(k), atol=1e-12)


def test_pca_with_more_assets_than_dates_takes_the_thin_svd_and_gives_the_eigenvector_loadings():
    panel, _, _, R = factor_panel(n_assets=300, noise=0.03, seed=2)  # N = 300 > T = 240
    T, N = R.shape
    eigval, eigvec = np.linalg.eigh(R.T @ R / T)
    for k in (1, 3):
        model = PCAFactors(n_factors=k).fit(panel)
        expected = eigvec[:, ::-1][:, :k]
        expected = expected * np.where(expected.sum(axis=0) < 0, -1.0, 1.0)
        in_r_order = model.beta_.loc[[f"p{i:02d}" for i in range(N)]].to_numpy()
        np.testing.assert_allclose(in_r_order, np.sqrt(N) * expected, atol=1e-9)
        assert model.score(panel) == pytest.approx(eigval[::-1][:k].sum() / eigval.sum(), rel=1e-10)


def test_pca_factors_are_cross_sectional_regressions_and_unseen_assets_get_zero_betas():
    panel, _, _, R = factor_panel(seed=2)
    model = PCAFactors(n_factors=2).fit(panel)
    B = model.beta_.to_numpy()
    np.testing.assert_allclose(model.factors_.to_numpy(), R @ B / B.shape[0], rtol=1e-10, atol=1e-14)
    idx = pd.MultiIndex.from_product([DATES[:2], ["new"]], names=["date", "asset"])
    other = Panel(pd.Series([0.01, 0.02], index=idx), pd.DataFrame(index=idx))
    with pytest.warns(DataWarning, match=r"^PCAFactors: 1 asset\(s\) of the panel \(2 of 2 rows; first 'new'\) have no "
                                         r"loadings \(not observed on every training date\): betas 0"):
        assert (model.betas(other).to_numpy() == 0).all()
    with pytest.raises(DataValidationError, match=r"^PCAFactors: no asset of the panel on 1990-01-31 has "
                                                  r"loadings \(the model was fitted on 30 assets, first 'p00'\)"):
        model.factors(other)


def test_errors_are_pinned():
    panel, f, _, _ = factor_panel(n_assets=4)
    with pytest.raises(ConfigError, match=r"FamaFrench: factor_names \['HML'\] are not columns of factor_returns"):
        FamaFrench(factor_names=["HML"]).fit(panel, factor_returns=f)
    with pytest.raises(ConfigError, match=r"FamaFrench: n_factors=4 exceeds the 3 factor\(s\)"):
        FamaFrench(n_factors=4).fit(panel, factor_returns=f)
    with pytest.raises(ConfigError, match=r"FamaFrench: n_factors must be a positive integer or None, got 0"):
        FamaFrench(n_factors=0).fit(panel, factor_returns=f)
    with pytest.raises(DataValidationError, match=r"factor_returns have no row for 120 date\(s\) of the panel"):
        FamaFrench().fit(panel, factor_returns=f.iloc[:120])
    with pytest.raises(DataValidationError, match=r"FamaFrench.fit needs the observable factor returns"):
        FamaFrench().fit(panel)
    with pytest.raises(DataValidationError, match=r"factor_returns must be a non-empty DataFrame.*got ndarray"):
        FamaFrench().fit(panel, factor_returns=f.to_numpy())
    with pytest.raises(NotFittedError, match=r"This FamaFrench is not fitted yet; call fit\(panel\) first"):
        FamaFrench().factors(panel)
    with pytest.raises(NotFittedError, match=r"This PCAFactors is not fitted yet; call fit\(panel\) first"):
        PCAFactors().betas(panel)
    with pytest.raises(ConfigError, match=r"n_factors=4 must be smaller than both the number of dates \(240\) and assets \(4\)"):
        PCAFactors(n_factors=4).fit(panel)
    unbalanced = Panel(panel.returns.iloc[1:], panel.characteristics.iloc[1:])
    with pytest.raises(DataValidationError, match=r"^PCAFactors: only 3 of 4 assets have a return on every one of "
                                                  r"the 240 training dates \(1 miss some, first 'p00'\); n_factors=3 "
                                                  r"needs at least 4\. Shorten the training window"):
        PCAFactors(n_factors=3).fit(unbalanced)


def test_registry_renamed_parameter_warning_points_at_the_callers_line():
    import warnings

    from latentquant.models.pricing import PRICING_MODELS

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PRICING_MODELS.create("FF", factors=["Mkt-RF"])  # the old name of factor_names
    assert [w.category for w in caught] == [FutureWarning]
    assert caught[0].filename == __file__  # not the registry module
