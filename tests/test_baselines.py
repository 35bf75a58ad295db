"""Global feature-importance baselines: ridge recovers planted coefficients, MDA and SHAP rank the informative feature
first, TreeSHAP is additive, LightGBM is deterministic, errors pinned (REFERENCE §5)."""

import doctest

import numpy as np
import pandas as pd
import pytest

import latentquant.models.selection.baselines as baselines_module
from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError
from latentquant.models.selection.baselines import (
    LightGBMBaseline,
    RidgeBaseline,
    global_shap_ranking,
    permutation_importance_mda,
    shap_importance,
)

FEATURES = ["mom", "rsi", "vix", "spread"]


def _data(n: int = 800, seed: int = 0, nonlinear: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """y depends on mom (strongly) and vix (weakly); rsi and spread are noise. Features on different scales."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-01", periods=n)
    X = pd.DataFrame(rng.normal(size=(n, 4)) * [10.0, 1.0, 0.1, 3.0], index=dates, columns=FEATURES)
    z = X / [10.0, 1.0, 0.1, 3.0]
    signal = np.sin(1.5 * z["mom"]) if nonlinear else 0.6 * z["mom"]
    y = signal - 0.25 * z["vix"] + rng.normal(0, 0.2, n)
    return X, y.rename("y")


def test_doctests():
    result = doctest.testmod(baselines_module, verbose=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# ------------------------------------------------------------------------------------------------------------------
# ridge
# ------------------------------------------------------------------------------------------------------------------
def test_ridge_recovers_planted_standardised_coefficients():
    X, y = _data()
    model = RidgeBaseline(alpha=1.0).fit(X, y)
    coef = model.coef_
    assert coef.index.tolist() == FEATURES
    # standardised units: the planted betas per one standard deviation, whatever the raw scale
    assert coef["mom"] == pytest.approx(0.6, abs=0.03) and coef["vix"] == pytest.approx(-0.25, abs=0.03)
    assert coef.abs().sort_values(ascending=False).index[:2].tolist() == ["mom", "vix"]
    assert abs(coef["rsi"]) < 0.03 and abs(coef["spread"]) < 0.03
    # closed form: (Z'Z + αI)⁻¹ Z'(y - ȳ) on z-scored features (population sd)
    Z = ((X - X.mean()) / X.std(ddof=0)).to_numpy()
    beta = np.linalg.solve(Z.T @ Z + 1.0 * np.eye(4), Z.T @ (y - y.mean()).to_numpy())
    np.testing.assert_allclose(coef.to_numpy(), beta, rtol=1e-10)
    assert model.intercept_ == pytest.approx(y.mean())
    pred = model.predict(X)
    assert pred.index.equals(X.index)
    np.testing.assert_allclose(pred.to_numpy(), Z @ beta + y.mean(), rtol=1e-10)
    # arrays work and get generic names
    assert RidgeBaseline().fit(X.to_numpy(), y.to_numpy()).coef_.index.tolist() == ["x0", "x1", "x2", "x3"]


# ------------------------------------------------------------------------------------------------------------------
# LightGBM
# ------------------------------------------------------------------------------------------------------------------
def test_lightgbm_same_seed_same_predictions_and_seed_matters_with_subsampling():
    X, y = _data(nonlinear=True)
    a = LightGBMBaseline(n_estimators=40, subsample=0.7, seed=3).fit(X, y).predict(X)
    b = LightGBMBaseline(n_estimators=40, subsample=0.7, seed=3).fit(X, y).predict(X)
    c = LightGBMBaseline(n_estimators=40, subsample=0.7, seed=4).fit(X, y).predict(X)
    pd.testing.assert_series_equal(a, b, check_exact=True)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_lightgbm_learns_the_nonlinear_signal_out_of_sample():
    X, y = _data(n=1200, nonlinear=True)
    model = LightGBMBaseline(n_estimators=150).fit(X[:800], y[:800])
    pred = model.predict(X[800:])
    r2 = 1 - np.mean((y[800:] - pred) ** 2) / np.var(y[800:])
    assert r2 > 0.6
    assert model.best_iteration_ == 150
    assert model.gain_importance_.idxmax() == "mom"


def test_lightgbm_early_stopping_on_the_validation_block():
    X, _ = _data(n=900, seed=1)
    noise = pd.Series(np.random.default_rng(9).normal(size=900), index=X.index)   # nothing to learn
    model = LightGBMBaseline(n_estimators=300, learning_rate=0.1, early_stopping_rounds=10)
    model.fit(X[:600], noise[:600], X_val=X[600:], y_val=noise[600:])
    assert model.best_iteration_ < 50
    full = model.booster_.predict(X[600:].to_numpy(), num_iteration=model.best_iteration_)
    np.testing.assert_array_equal(model.predict(X[600:]).to_numpy(), full)


# ------------------------------------------------------------------------------------------------------------------
# importances
# ------------------------------------------------------------------------------------------------------------------
def test_mda_ranks_the_informative_feature_first():
    X, y = _data(n=1000, nonlinear=True)
    model = LightGBMBaseline(n_estimators=100).fit(X[:700], y[:700])
    mda = permutation_importance_mda(model, X[700:], y[700:], n_repeats=5, seed=0)
    assert list(mda.columns) == ["importance", "std"]
    assert mda.index.tolist()[:2] == ["mom", "vix"]
    assert mda.loc["mom", "importance"] > 10 * abs(mda.loc["rsi", "importance"])
    assert abs(mda.loc["spread", "importance"]) < 0.02 and (mda["std"] >= 0).all()
    again = permutation_importance_mda(model, X[700:], y[700:], n_repeats=5, seed=0)
    pd.testing.assert_frame_equal(mda, again)


def test_mda_closed_form_for_a_linear_model():
    """Permuting x_j in a linear model adds β_j²·2·Var(x_j) to the MSE in expectation (two independent copies)."""
    X, y = _data(n=4000, seed=2)
    model = RidgeBaseline(alpha=1e-6).fit(X, y)
    mda = permutation_importance_mda(model, X, y, n_repeats=3)
    assert mda.loc["mom", "importance"] == pytest.approx(2 * 0.6**2, rel=0.08)
    assert mda.loc["vix", "importance"] == pytest.approx(2 * 0.25**2, rel=0.15)
    mae = permutation_importance_mda(model, X.to_numpy(), y.to_numpy(), n_repeats=3, scoring="mae")
    assert mae.index[0] == "x0" and mae.attrs["scoring"] == "mae"


def test_shap_contributions_add_up_to_the_prediction():
    X, y = _data(n=700, nonlinear=True)
    for kwargs, fit_kw in (({}, {}),
                           ({"early_stopping_rounds": 5, "n_estimators": 400},
                            {"X_val": X[500:], "y_val": y[500:]})):
        model = LightGBMBaseline(**kwargs).fit(X[:500], y[:500], **fit_kw)
        phi = shap_importance(model, X[500:])
        assert phi.shape == (200, 4) and phi.columns.tolist() == FEATURES and phi.index.equals(X.index[500:])
        np.testing.assert_allclose(phi.sum(axis=1) + phi.attrs["bias"], model.predict(X[500:]), rtol=0, atol=1e-6)
    ranking = global_shap_ranking(phi)
    assert ranking.name == "mean_abs_shap" and ranking.index[:2].tolist() == ["mom", "vix"]
    assert ranking["mom"] == pytest.approx(phi["mom"].abs().mean())


# ------------------------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------------------------
def test_not_fitted_errors():
    X, _ = _data(n=50)
    for model in (RidgeBaseline(), LightGBMBaseline()):
        with pytest.raises(NotFittedError, match=rf"This {type(model).__name__} is not fitted yet; call fit\(X, y\)"):
            model.predict(X)
    with pytest.raises(NotFittedError, match="LightGBMBaseline is not fitted"):
        shap_importance(LightGBMBaseline(), X)


def test_input_errors_are_pinned():
    X, y = _data(n=200)
    model = RidgeBaseline().fit(X, y)
    bad = X.copy()
    bad.iloc[5, 2] = np.nan
    with pytest.raises(DataValidationError, match=r"X has a NaN or infinite value in column 'vix' at 2010-01-08 \(row 5\)"):
        RidgeBaseline().fit(bad, y)
    with pytest.raises(DataValidationError, match="y has 1 NaN or infinite value"):
        RidgeBaseline().fit(X, y.where(y.index != y.index[3]))
    with pytest.raises(DataValidationError, match="X and y have misaligned indexes"):
        RidgeBaseline().fit(X, y.shift(1, freq="B"))
    with pytest.raises(DataValidationError, match=r"X has 200 rows but y has 150; pass row-aligned data"):
        RidgeBaseline().fit(X, y.to_numpy()[:150])
    with pytest.raises(DataValidationError, match=r"same columns, other order\); pass X\[model.feature_names_in_\]"):
        model.predict(X[FEATURES[::-1]])
    with pytest.raises(DataValidationError, match=r"columns differ.*missing \['spread'\]"):
        model.predict(X.rename(columns={"spread": "term"}))
    with pytest.raises(DataValidationError, match=r"X has 3 column\(s\) but RidgeBaseline was fitted on 4"):
        model.predict(X.to_numpy()[:, :3])
    with pytest.raises(DataValidationError, match="must be 2-D"):
        model.predict(X["mom"].to_numpy())
    with pytest.raises(DataValidationError, match="column 'mom' is not numeric"):
        model.predict(X.assign(mom="a"))
    with pytest.raises(DataValidationError, match=r"X_val columns differ from those seen in fit \(missing \['spread'\]\)"):
        LightGBMBaseline(early_stopping_rounds=5).fit(X, y, X_val=X.iloc[:, :3], y_val=y)


def test_hyperparameter_errors_are_pinned_and_raised_in_fit():
    X, y = _data(n=100)
    cases = [
        (RidgeBaseline(alpha=0.0), "alpha must be a positive number, got 0.0"),
        (LightGBMBaseline(learning_rate=1.5), r"learning_rate must be a number in \(0, 1\], got 1.5"),
        (LightGBMBaseline(num_leaves=1), "num_leaves must be an integer >= 2, got 1"),
        (LightGBMBaseline(n_estimators=0), "n_estimators must be a positive integer, got 0"),
        (LightGBMBaseline(subsample=0.0), r"subsample must be a number in \(0, 1\]"),
        (LightGBMBaseline(seed=-1), "seed must be a non-negative integer, got -1"),
        (LightGBMBaseline(reg_lambda=-1.0), "LightGBMBaseline: reg_lambda must be a number >= 0, got -1.0"),
        (LightGBMBaseline(early_stopping_rounds=0), "early_stopping_rounds must be a positive integer"),
    ]
    for model, message in cases:
        with pytest.raises(ConfigError, match=message):
            model.fit(X, y)
    with pytest.raises(ConfigError, match="early_stopping_rounds=5 needs a validation set"):
        LightGBMBaseline(early_stopping_rounds=5).fit(X, y)
    with pytest.raises(ConfigError, match="X_val/y_val are only used for early stopping"):
        LightGBMBaseline().fit(X, y, X_val=X, y_val=y)
    with pytest.raises(ConfigError, match="pass X_val and y_val together"):
        LightGBMBaseline(early_stopping_rounds=5).fit(X, y, X_val=X)


def test_importance_errors_are_pinned():
    X, y = _data(n=100)
    ridge = RidgeBaseline().fit(X, y)
    with pytest.raises(ConfigError, match="n_repeats must be a positive integer, got 0"):
        permutation_importance_mda(ridge, X, y, n_repeats=0)
    with pytest.raises(ConfigError, match=r"scoring must be one of \['mse', 'mae'\], got 'r2'"):
        permutation_importance_mda(ridge, X, y, scoring="r2")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="model must have a predict"):
        permutation_importance_mda(object(), X, y)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="shap_importance needs a fitted LightGBMBaseline, got RidgeBaseline"):
        shap_importance(ridge, X)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="contributions must be the DataFrame"):
        global_shap_ranking(X.to_numpy())  # type: ignore[arg-type]


def test_inputs_doctests():
    import latentquant.models.selection._inputs as inputs_module

    result = doctest.testmod(inputs_module, verbose=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_lightgbm_model_attribute_is_deprecated_for_booster():
    X, y = _data(n=300)
    model = LightGBMBaseline(n_estimators=10).fit(X, y)
    with pytest.warns(FutureWarning, match="LightGBMBaseline.model_ is deprecated.*use booster_"):
        booster = model.model_
    assert booster is model.booster_
    np.testing.assert_array_equal(booster.predict(X.to_numpy(), num_iteration=10), model.predict(X).to_numpy())


@pytest.mark.parametrize("make", [lambda: RidgeBaseline(alpha=0.5),
                                  lambda: LightGBMBaseline(n_estimators=30, subsample=0.7, seed=2)],
                         ids=["ridge", "lightgbm"])
def test_save_load_round_trip_without_pickle(make, tmp_path):
    X, y = _data(n=400, nonlinear=True)
    model = make().fit(X[:300], y[:300])
    path = model.save(tmp_path / "m")
    loaded = type(model).load(path)
    pd.testing.assert_series_equal(loaded.predict(X[300:]), model.predict(X[300:]), check_exact=True)
    assert loaded.feature_names_in_ == FEATURES
    if isinstance(model, LightGBMBaseline):
        pd.testing.assert_frame_equal(shap_importance(loaded, X[300:]), shap_importance(model, X[300:]))
        pd.testing.assert_series_equal(loaded.gain_importance_, model.gain_importance_)
    else:
        pd.testing.assert_series_equal(loaded.coef_, model.coef_)
    assert {p.name for p in path.iterdir()} == {"estimator.json", "arrays.npz", "weights.pt"}
