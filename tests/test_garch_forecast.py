"""GARCH one-day-ahead forecasts: the same volatility as arch's filter, no look-ahead, VaR/ES equal to the forecast
distribution's, and a backtest that passes on the model's own data."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from latentquant.evaluation import var_es
from latentquant.evaluation.var_backtest import var_backtest
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.generative import GARCHGenerator
from test_generative_baselines import simulate_garch

TRUTH = {"mu": 2e-4, "phi": 0.05, "omega": 2e-6, "alpha": 0.09, "beta": 0.88, "nu": 6.0}


@pytest.fixture(scope="module")
def fitted() -> tuple[GARCHGenerator, pd.Series]:
    x = pd.Series(simulate_garch(6000, seed=4, **TRUTH), index=pd.bdate_range("2000-01-03", periods=6000), name="r")
    return GARCHGenerator().fit(x.iloc[:4000].to_frame()), x


def test_volatility_is_arch_s_filter_with_the_same_parameters(fitted):
    model, x = fitted
    mu, phi, omega, alpha, beta, nu = model.params_.loc["r"]
    reference = arch_model(x.to_numpy(), mean="AR", lags=1, vol="GARCH", p=1, q=1, dist="t", rescale=False)
    fixed = reference.fix([mu, phi, omega, alpha, beta, nu])
    ours = model.forecast(x)
    assert ours.index.equals(x.index)
    # arch starts from a backcast, we from the unconditional variance: the difference decays as beta^t
    np.testing.assert_allclose(ours["vol"].to_numpy()[300:], np.asarray(fixed.conditional_volatility)[300:],
                               rtol=1e-6)
    np.testing.assert_allclose(ours["mean"].to_numpy()[1:], mu + phi * x.to_numpy()[:-1], rtol=1e-12)


def test_no_look_ahead(fitted):
    model, x = fitted
    shocked = x.copy()
    shocked.iloc[5000:] *= -7.0
    a, b = model.forecast(x), model.forecast(shocked)
    pd.testing.assert_frame_equal(a.iloc[:5001], b.iloc[:5001])  # row 5000 is forecast from rows < 5000
    assert not np.allclose(a["vol"].iloc[5001:], b["vol"].iloc[5001:])


@pytest.mark.parametrize("p", [0.01, 0.05])
def test_var_and_es_are_those_of_the_forecast_distribution(fitted, p):
    model, x = fitted
    span = x.iloc[4450:4500]  # a short span: draws are (n_draws, days)
    f = model.forecast(span, p=p)
    draws = model.forecast_draws(span, 200_000, seed=0)[:, -1]
    var, es = var_es(draws, level=p)
    assert f["var"].iloc[-1] == pytest.approx(var, rel=0.02)
    assert f["es"].iloc[-1] == pytest.approx(es, rel=0.02)
    assert (f["es"] > f["var"]).all()


def test_backtests_hold_their_size_with_the_true_forecasts_and_reject_a_static_var(fitted):
    model, _ = fitted
    true = copy.deepcopy(model)  # the fitted model with the simulation's parameters: the forecasts are exact
    true.params_ = pd.DataFrame([TRUTH], index=model.params_.index)[list(model.params_.columns)]
    exact, static = [], []
    for seed in range(40):
        y = simulate_garch(1500, seed=100 + seed, **TRUTH)
        f = true.forecast(y, p=0.05).iloc[500:]  # the first 500 days warm the variance state
        null = true.forecast_draws(y, 200, seed=seed)[:, 500:]
        bt = var_backtest(y[500:], f["var"].to_numpy(), p=0.05, es=f["es"].to_numpy(), null_draws=null)
        exact.append([bt.pof_pvalue, bt.ind_pvalue, bt.cc_pvalue, bt.z2_pvalue, bt.hit_rate])
        hist = var_backtest(y[500:], var_es(y[:500], 0.05)[0], p=0.05)  # historical VaR of the first 500 days
        static.append([hist.pof_pvalue, hist.ind_pvalue, hist.cc_pvalue])
    exact_, static_ = np.array(exact), np.array(static)
    assert ((exact_[:, :4] < 0.05).mean(axis=0) <= 0.15).all()  # measured 0.05, 0.05, 0.025, 0.025
    assert 0.045 < exact_[:, 4].mean() < 0.055  # measured 0.0498
    assert (static_[:, 2] < 0.05).mean() >= 0.35  # measured 0.60: its hits cluster in the volatile spells


def test_the_feature_is_found_by_name_whatever_the_column_order():
    rng = np.random.default_rng(7)
    a = simulate_garch(1500, seed=8, **TRUTH)
    b = 3 * simulate_garch(1500, seed=9, **{**TRUTH, "alpha": 0.15, "beta": 0.8})
    both = pd.DataFrame({"a": a, "b": b}, index=pd.bdate_range("2001-01-01", periods=1500))
    model = GARCHGenerator(mean="Constant").fit(both)
    expected = model.forecast(both, feature="b")
    pd.testing.assert_frame_equal(model.forecast(both[["b", "a"]], feature="b"), expected)
    pd.testing.assert_frame_equal(model.forecast(both[["b"]], feature="b"), expected)
    pd.testing.assert_frame_equal(model.forecast(both["b"]), expected)  # a Series is known by its name
    pd.testing.assert_frame_equal(model.forecast(both.to_numpy(), feature=1).set_axis(both.index), expected)
    with pytest.raises(DataValidationError, match="the series is named 'b' but feature='a' was asked for"):
        model.forecast(both["b"], feature="a")
    with pytest.raises(DataValidationError, match="data has no column 'a'"):
        model.forecast(both[["b"]], feature="a")
    with pytest.raises(DataValidationError, match="a 2-D array must have the 2 fitted features as columns, got 3"):
        model.forecast(rng.normal(size=(10, 3)))


def test_same_seed_same_draws_and_errors(fitted):
    model, x = fitted
    np.testing.assert_array_equal(model.forecast_draws(x.iloc[:50], 3, seed=2),
                                  model.forecast_draws(x.iloc[:50], 3, seed=2))
    with pytest.raises(DataValidationError, match=re.escape("feature 'vol' is not one of the fitted features ['r']")):
        model.forecast(x, feature="vol")
    with pytest.raises(DataValidationError, match="without NaN or infinite values"):
        model.forecast(x.where(x.index != x.index[3]))
    with pytest.raises(ConfigError, match="p"):
        model.forecast(x, p=0.7)
    with pytest.raises(ConfigError, match="n_draws"):
        model.forecast_draws(x, 0)
