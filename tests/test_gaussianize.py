"""The heavy-tailed Lambert W × Gaussian transform: the inverse against an independent root finder, recovery of a
simulated delta by IGMM, Gaussianized S&P 500 returns, round trips and error messages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import kurtosis

from latentquant.data import LambertWGaussianizer, lambert_w_tail
from latentquant.datasets import load_sp500_index
from latentquant.exceptions import ConfigError, DataValidationError


def _simulate(delta: float, n: int = 20_000, mu: float = 5e-4, sigma: float = 0.01, seed: int = 0) -> pd.DataFrame:
    u = np.random.default_rng(seed).standard_normal(n)
    return pd.DataFrame({"r": mu + sigma * u * np.exp(delta * u**2 / 2)})


@pytest.mark.parametrize("delta", [0.05, 0.4, 1.5])
def test_the_inverse_is_the_root_of_the_forward_map(delta):
    z = np.array([-30.0, -2.5, -0.1, 0.0, 0.7, 4.0])
    expected = [brentq(lambda u, v=v: u * np.exp(delta * u * u / 2) - v, -20, 20, xtol=1e-14) for v in z]
    np.testing.assert_allclose(lambert_w_tail(z, delta), expected, atol=1e-10)
    np.testing.assert_array_equal(lambert_w_tail(z, 0.0), z)


@pytest.mark.parametrize("delta", [0.1, 0.3])
def test_igmm_recovers_the_simulated_parameters(delta):
    g = LambertWGaussianizer().fit(_simulate(delta))
    assert g.delta_["r"] == pytest.approx(delta, abs=0.02)  # measured within 0.005
    assert g.mu_["r"] == pytest.approx(5e-4, abs=2e-4) and g.sigma_["r"] == pytest.approx(0.01, rel=0.03)
    assert abs(kurtosis(g.transform(_simulate(delta))["r"])) < 0.05
    assert g.n_iter_ < 100


def test_gaussian_data_are_left_alone():
    x = pd.DataFrame({"g": np.random.default_rng(1).normal(0.0, 2.0, 20_000)})
    g = LambertWGaussianizer().fit(x)
    assert g.delta_["g"] < 0.01
    np.testing.assert_allclose(g.transform(x)["g"], x["g"], atol=0.05)


def test_sp500_returns_are_gaussianized_with_training_parameters():
    r = np.log(load_sp500_index()["SP500"]).diff().dropna().loc["2000":"2018"].to_frame("r")
    train, test = r.loc[:"2014"], r.loc["2015":]
    g = LambertWGaussianizer().fit(train)
    assert kurtosis(train["r"]) > 5 and abs(kurtosis(g.transform(train)["r"])) < 0.1
    assert 0.05 < g.delta_["r"] < 0.5
    # pointwise with the training estimates: later rows never change earlier outputs
    shocked = test.copy()
    shocked.iloc[-10:] *= 5
    pd.testing.assert_frame_equal(g.transform(test).iloc[:-10], g.transform(shocked).iloc[:-10])
    pd.testing.assert_frame_equal(g.inverse_transform(g.transform(test)), test, rtol=1e-10)


def test_save_load_round_trip(tmp_path):
    g = LambertWGaussianizer().fit(_simulate(0.2, n=2000))
    g.save(tmp_path / "lw")
    loaded = LambertWGaussianizer.load(tmp_path / "lw")
    pd.testing.assert_frame_equal(loaded.transform(_simulate(0.2, n=50, seed=3)), g.transform(_simulate(0.2, n=50,
                                                                                                         seed=3)))


def test_error_messages():
    g = LambertWGaussianizer().fit(_simulate(0.2, n=500))
    with pytest.raises(DataValidationError, match=re.escape("X has columns ['x'] but the LambertWGaussianizer was "
                                                            "fitted on ['r']")):
        g.transform(pd.DataFrame({"x": [0.0]}))
    with pytest.raises(DataValidationError, match="X column 'c' is constant on the training span"):
        LambertWGaussianizer().fit(pd.DataFrame({"c": np.ones(50)}))
    with pytest.raises(ConfigError, match="too far in the tail"):
        g.inverse_transform(pd.DataFrame({"r": [1e3]}))
    with pytest.raises(ConfigError, match="max_iter"):
        LambertWGaussianizer(max_iter=0).fit(_simulate(0.2, n=500))
