"""variance_calibration: realised / predicted portfolio variance with bootstrap intervals; the factor model's
covariance and its learned idiosyncratic variance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latentquant.evaluation import random_long_only_weights, variance_calibration
from latentquant.exceptions import DataValidationError


def _gaussian(cov: np.ndarray, n: int, seed: int = 0) -> pd.DataFrame:
    x = np.random.default_rng(seed).multivariate_normal(np.zeros(len(cov)), cov, size=n)
    return pd.DataFrame(x, index=pd.bdate_range("2020-01-01", periods=n), columns=[f"A{i}" for i in range(len(cov))])


def _cov(n: int = 6, seed: int = 3) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(n, n))
    return a @ a.T / n + np.eye(n)


def test_the_true_covariance_is_calibrated_and_a_halved_one_is_not():
    cov = _cov()
    x = _gaussian(cov, 4000)
    w = random_long_only_weights(50, x.columns, seed=1)
    true = variance_calibration(cov, x, w, n_boot=300, block=5, seed=0)
    assert abs(true.mean_ratio - 1) < 0.05 and true.mean_ratio_low < 1 < true.mean_ratio_high
    assert true.coverage > 0.7
    half = variance_calibration(cov / 2, x, w, n_boot=300, block=5, seed=0)
    # realised / predicted doubles exactly when the prediction halves; the intervals exclude 1
    np.testing.assert_allclose(half.portfolios["ratio"], 2 * true.portfolios["ratio"], rtol=1e-12)
    assert half.mean_ratio_low > 1.8 and half.coverage == 0.0


def test_ratios_are_the_closed_form_sample_variance_over_the_quadratic_form():
    cov = _cov(3)
    x = _gaussian(cov, 300, seed=2)
    w = np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    cal = variance_calibration(pd.DataFrame(cov, index=x.columns, columns=x.columns).iloc[::-1, ::-1], x, w,
                               n_boot=50)
    realised = (x.to_numpy() @ w.T).var(axis=0, ddof=1)
    np.testing.assert_allclose(cal.portfolios["ratio"], realised / np.einsum("pi,ij,pj->p", w, cov, w), rtol=1e-12)
    assert cal.to_dict()["n_days"] == 300 and "median" in cal.summary()
    a, b = variance_calibration(cov, x, w, n_boot=50, seed=4), variance_calibration(cov, x, w, n_boot=50, seed=4)
    pd.testing.assert_frame_equal(a.portfolios, b.portfolios)  # same seed, same intervals


def test_random_long_only_weights_are_on_the_simplex_and_seeded():
    w = random_long_only_weights(200, 5, seed=7)
    assert (w.to_numpy() >= 0).all() and np.allclose(w.sum(axis=1), 1.0)
    assert abs(w.to_numpy().mean() - 0.2) < 0.01  # Dirichlet(1): each weight has mean 1/N
    pd.testing.assert_frame_equal(w, random_long_only_weights(200, 5, seed=7))


def test_bad_inputs_are_named():
    x = _gaussian(np.eye(3), 100)
    with pytest.raises(DataValidationError, match=r"covariance must be a finite 3 × 3 matrix"):
        variance_calibration(np.eye(2), x, np.ones((1, 3)) / 3)
    with pytest.raises(DataValidationError, match=r"weights must be finite, one column per asset \(3\)"):
        variance_calibration(np.eye(3), x, np.ones((1, 2)))
    with pytest.raises(DataValidationError, match=r"predicts a variance <= 0 for portfolio\(s\) \['p1'\]"):
        variance_calibration(np.zeros((3, 3)), x, np.ones((1, 3)) / 3)
    with pytest.raises(DataValidationError, match=r"covariance has no row/column for asset\(s\) \['A2'\]"):
        variance_calibration(pd.DataFrame(np.eye(2), index=["A0", "A1"], columns=["A0", "A1"]), x,
                             np.ones((1, 3)) / 3)
    with pytest.raises(DataValidationError, match="at least 2 assets"):
        random_long_only_weights(3, ["A"])


def test_factor_model_covariance_uses_the_learned_noise_and_matches_the_decomposition():
    from latentquant.models.factor import VAEFactorModel

    rng = np.random.default_rng(0)
    f = rng.normal(size=(800, 2))
    r = 0.01 * f @ rng.normal(size=(2, 6)) + 0.005 * rng.standard_t(4, size=(800, 6))
    x = pd.DataFrame(r, index=pd.bdate_range("2015-01-01", periods=800), columns=[f"A{i}" for i in range(6)])
    model = VAEFactorModel(n_factors=2, hidden_dims=(8,), epochs=40, verbose=False, seed=0).fit(x)
    nu = model.vae_.degrees_of_freedom.detach().double().numpy()
    s2 = np.exp(model.vae_.log_noise.detach().double().numpy())
    np.testing.assert_allclose(model.idiosyncratic_var_, s2 * nu / (nu - 2) * model.scaler_.scale_ ** 2, rtol=1e-6)
    w = np.full(6, 1 / 6)
    linear = model.covariance(method="linear").to_numpy()
    assert linear == pytest.approx(linear.T) and np.linalg.eigvalsh(linear).min() > 0
    assert w @ linear @ w == pytest.approx(model.risk_decomposition(w).total_variance, rel=1e-9)
    mc = model.covariance(n_samples=20_000, seed=1).to_numpy()
    assert w @ mc @ w == pytest.approx(model.risk_decomposition(w, method="monte_carlo", n_samples=20_000,
                                                                seed=1).total_variance, rel=0.05)
    cal = variance_calibration(model.covariance(), x, random_long_only_weights(30, x.columns), n_boot=100)
    assert 0.7 < cal.mean_ratio < 1.3  # in-sample: the learned model reproduces the data's variances
