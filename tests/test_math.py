"""The shared formulas of ``latentquant._math`` against closed forms and independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from latentquant._math import (
    kl_normal,
    kl_standard_normal,
    newey_west_lrv,
    running_mean,
    standardize_stats,
    uncentred_r2,
)
from latentquant.exceptions import DataValidationError


def test_uncentred_r2_closed_form_and_missing_cells():
    r = np.array([[1.0, 2.0], [3.0, np.nan]])
    r_hat = np.array([[1.0, 1.0], [2.0, 5.0]])
    # finite cells: (1,1), (2,1), (3,2) → 1 − (0 + 1 + 1) / (1 + 4 + 9)
    assert uncentred_r2(r, r_hat) == pytest.approx(1 - 2 / 14, rel=1e-15)
    assert uncentred_r2(r_hat, r_hat) == 1.0
    assert uncentred_r2(np.ones(3), np.zeros(3)) == 0.0  # a zero forecast scores 0


def test_uncentred_r2_errors():
    with pytest.raises(DataValidationError, match=r"R²: returns have shape \(2,\) but fitted values \(3,\)"):
        uncentred_r2(np.ones(2), np.ones(3))
    with pytest.raises(DataValidationError, match="no \\(date, asset\\) cell has both"):
        uncentred_r2(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(DataValidationError, match="all returns are zero"):
        uncentred_r2(np.zeros(2), np.ones(2))


def test_running_mean_uses_only_the_past():
    f = pd.DataFrame({"f1": [1.0, 3.0, 8.0, -2.0]}, index=pd.date_range("2020-01-31", periods=4, freq="ME"))
    lam = running_mean(f)
    np.testing.assert_array_equal(lam["f1"].to_numpy(), [np.nan, 1.0, 2.0, 4.0])
    future = f.copy()
    future.iloc[-1] = 1e6  # perturb the last factor: no row of λ̂ moves
    pd.testing.assert_frame_equal(running_mean(future), lam)


def test_kl_standard_normal_matches_monte_carlo_and_torch():
    mu, log_var = np.array([0.7, -1.2]), np.array([0.3, -0.8])
    rng = np.random.default_rng(0)
    sd = np.exp(0.5 * log_var)
    z = mu + sd * rng.standard_normal((400_000, 2))
    log_q = -0.5 * (((z - mu) / sd) ** 2 + np.log(2 * np.pi) + log_var)
    log_p = -0.5 * (z**2 + np.log(2 * np.pi))
    np.testing.assert_allclose(kl_standard_normal(mu, log_var), (log_q - log_p).mean(axis=0), atol=5e-3)
    t = kl_standard_normal(torch.tensor(mu), torch.tensor(log_var))
    np.testing.assert_allclose(t.numpy(), kl_standard_normal(mu, log_var), rtol=1e-15)
    # the general two-Gaussian KL reduces to it against N(0, 1)
    np.testing.assert_allclose(kl_normal(mu, sd, 0.0, 1.0), kl_standard_normal(mu, log_var), rtol=1e-12)


def test_kl_normal_closed_form():
    # KL(N(1, 2²) || N(0, 1²)) = log(1/2) + (4 + 1)/2 − 1/2
    assert float(kl_normal(np.array(1.0), np.array(2.0), np.array(0.0), np.array(1.0))) == pytest.approx(
        np.log(0.5) + 2.5 - 0.5, rel=1e-15)


def test_newey_west_lrv_equals_statsmodels():
    from statsmodels.stats.sandwich_covariance import S_hac_simple

    rng = np.random.default_rng(3)
    u = rng.normal(size=(250, 2))
    u[1:] += 0.5 * u[:-1]
    for lags in (0, 1, 5):
        # statsmodels' S_hac_simple is the same Bartlett-weighted sum (not divided by T)
        np.testing.assert_allclose(newey_west_lrv(u, lags), S_hac_simple(u, nlags=lags), rtol=1e-12)
    np.testing.assert_allclose(newey_west_lrv(u[:, 0], 2), newey_west_lrv(u[:, :1], 2))


def test_standardize_stats_dtype():
    x = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 13.0]], dtype=np.float32)
    mean, std = standardize_stats(x)
    assert mean.dtype == np.float64 and std.dtype == np.float64
    np.testing.assert_allclose(mean, [2.0, 11.0])
    np.testing.assert_allclose(std, [1.0, np.sqrt(3.0)])
    mean32, std32 = standardize_stats(x, ddof=0, dtype=None)
    assert mean32.dtype == np.float32
    np.testing.assert_array_equal(mean32, x.mean(axis=0))
    np.testing.assert_array_equal(std32, x.std(axis=0))
