"""Distances between real and synthetic returns (issue #13, §2) against closed forms and simulated truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from latentquant.evaluation.synthetic import (
    CorrelationDistance,
    MMDTest,
    correlation_distance,
    ks_test,
    mmd_test,
    quantgan_scores,
    wasserstein_returns,
)
from latentquant.exceptions import ConfigError, DataValidationError


def garch(n: int, seed: int = 0, alpha: float = 0.1, beta: float = 0.85) -> np.ndarray:
    eps = np.random.default_rng(seed).standard_normal(n)
    r = np.empty(n)
    var = 0.05 / (1 - alpha - beta)
    for t in range(n):
        r[t] = np.sqrt(var) * eps[t]
        var = 0.05 + alpha * r[t] ** 2 + beta * var
    return r


def asymmetric_vol(n: int, seed: int = 0) -> np.ndarray:
    eps = np.random.default_rng(seed).standard_normal(n)
    r = np.empty(n)
    r[0] = eps[0]
    for t in range(1, n):
        r[t] = (1.5 if r[t - 1] < 0 else 0.5) * eps[t]
    return r


# ------------------------------------------------------------------------------------------------------------------
# identical sets
# ------------------------------------------------------------------------------------------------------------------
def test_identical_sets_are_at_distance_zero_everywhere():
    rng = np.random.default_rng(0)
    windows = rng.standard_t(4, (200, 30, 2))
    assert (wasserstein_returns(windows, windows).to_numpy() == 0).all()
    assert np.allclose(quantgan_scores(windows, windows).to_numpy(), 0.0, atol=1e-12)
    ks = ks_test(windows, windows)
    assert (ks["statistic"] == 0).all() and (ks["pvalue"] == 1).all()
    assert correlation_distance(windows, windows).distance == 0.0
    mmd = mmd_test(windows[:100], windows[:100], n_permutations=100)
    assert mmd.mmd2_biased == 0.0 and mmd.pvalue > 0.5


# ------------------------------------------------------------------------------------------------------------------
# Wasserstein
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shift", [0.002, -0.01])
def test_wasserstein_of_a_shift_is_horizon_times_shift(shift):
    real = np.random.default_rng(1).normal(0, 0.01, (3000, 2))
    out = wasserstein_returns(real, real + shift)
    assert list(out.index) == [1, 5, 20, 100] and list(out.columns) == ["x0", "x1"]
    expected = np.abs(shift) * np.array([1, 5, 20, 100])[:, None]
    np.testing.assert_allclose(out.to_numpy(), np.broadcast_to(expected, out.shape), rtol=1e-8)


def test_wasserstein_of_two_gaussians_matches_the_closed_form():
    # W1(N(0, 1), N(0, s²)) = |1 − s| E|Z| = |1 − s| √(2/π)
    rng = np.random.default_rng(2)
    w = wasserstein_returns(rng.standard_normal(200_000), 2.0 * rng.standard_normal(200_000), horizons=[1])
    assert w.loc[1, "r"] == pytest.approx(np.sqrt(2 / np.pi), abs=0.01)


def test_wasserstein_uses_overlapping_sums_within_windows():
    rng = np.random.default_rng(3)
    real, synth = rng.standard_normal((50, 10, 1)), rng.standard_normal((80, 10, 1)) * 1.2
    h = 4
    sums = lambda w: np.concatenate([w[:, i:i + h, 0].sum(axis=1) for i in range(10 - h + 1)])  # noqa: E731
    expected = stats.wasserstein_distance(sums(real), sums(synth))
    assert wasserstein_returns(real, synth, horizons=[h]).loc[h, "r"] == pytest.approx(expected)
    # default horizons keep only those within the windows
    assert list(wasserstein_returns(real, synth).index) == [1, 5]


# ------------------------------------------------------------------------------------------------------------------
# QuantGAN scores
# ------------------------------------------------------------------------------------------------------------------
def test_quantgan_acf_score_is_the_norm_of_the_acf_difference():
    from latentquant.evaluation.synthetic import acf

    real, synth = garch(5000), np.random.default_rng(9).standard_normal(5000)
    scores = quantgan_scores(real, synth, max_lag=50, leverage_lags=10)
    diff = acf(real**2, max_lag=50)["r"] - acf(synth**2, max_lag=50)["r"]
    assert scores.loc["acf_sq", "r"] == pytest.approx(float(np.linalg.norm(diff)))
    assert list(scores.index) == ["acf_r", "acf_abs", "acf_sq", "leverage"]


def test_quantgan_scores_see_missing_volatility_clustering_and_leverage():
    real = garch(20_000, seed=1)
    same_model = garch(20_000, seed=2)
    iid = np.random.default_rng(3).permutation(real)  # same marginal law, clustering destroyed
    good = quantgan_scores(real, same_model, max_lag=50)
    bad = quantgan_scores(real, iid, max_lag=50)
    assert bad.loc["acf_sq", "r"] > 2 * good.loc["acf_sq", "r"]
    assert bad.loc["acf_abs", "r"] > 2 * good.loc["acf_abs", "r"]
    lev_real = asymmetric_vol(20_000, seed=1)
    lev_good = quantgan_scores(lev_real, asymmetric_vol(20_000, seed=2), max_lag=20)
    lev_bad = quantgan_scores(lev_real, np.random.default_rng(4).permutation(lev_real), max_lag=20)
    assert lev_bad.loc["leverage", "r"] > 3 * lev_good.loc["leverage", "r"]


def test_quantgan_default_lags_are_capped_at_the_shorter_paths():
    rng = np.random.default_rng(0)
    capped = quantgan_scores(rng.standard_normal(3000), rng.standard_normal((100, 20, 1)))
    explicit = quantgan_scores(rng.standard_normal(3000), rng.standard_normal((100, 20, 1)), max_lag=19)
    assert capped.shape == explicit.shape == (4, 1)
    with pytest.raises(DataValidationError, match=r"synthetic has windows of length 20, too short for max_lag=30"):
        quantgan_scores(rng.standard_normal(3000), rng.standard_normal((100, 20, 1)), max_lag=30)


# ------------------------------------------------------------------------------------------------------------------
# KS
# ------------------------------------------------------------------------------------------------------------------
def test_ks_matches_scipy_per_feature():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((1000, 2)), rng.standard_t(3, (40, 25, 2))
    out = ks_test(pd.DataFrame(a, columns=["SPX", "VIX"]), b)
    ref = stats.ks_2samp(a[:, 1], b.reshape(-1, 2)[:, 1])
    assert out.loc["VIX", "statistic"] == pytest.approx(ref.statistic)
    assert out.loc["VIX", "pvalue"] == pytest.approx(ref.pvalue)
    shifted = ks_test(a[:, 0], a[:, 0] + 0.5)
    assert shifted.loc["r", "pvalue"] < 1e-10


# ------------------------------------------------------------------------------------------------------------------
# MMD
# ------------------------------------------------------------------------------------------------------------------
def naive_mmd2(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    k = lambda a, b: np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def test_mmd_statistic_and_median_bandwidth_match_the_definitions():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((40, 3)) + 0.3
    res = mmd_test(x, y, n_permutations=50)
    z = np.concatenate([x, y])
    d = np.sqrt(((z[:, None] - z[None]) ** 2).sum(-1))[np.triu_indices(70, 1)]
    assert res.bandwidth == pytest.approx(np.median(d))
    assert res.statistic == pytest.approx(naive_mmd2(x, y, res.bandwidth))
    fixed = mmd_test(x, y, bandwidth=0.7, n_permutations=50)
    assert fixed.bandwidth == 0.7 and fixed.statistic == pytest.approx(naive_mmd2(x, y, 0.7))
    assert (res.n_x, res.n_y, res.kernel) == (30, 40, "rbf")


def test_mmd_rejects_rarely_under_the_null():
    rejections = 0
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        res = mmd_test(rng.standard_t(4, (40, 5)), rng.standard_t(4, (40, 5)), n_permutations=100, seed=seed)
        rejections += res.pvalue < 0.05
    assert rejections / 40 <= 0.15


def test_mmd_detects_a_clear_difference_with_either_kernel():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((100, 20, 1)), 1.5 * rng.standard_normal((100, 20, 1))
    for kernel in ("rbf", "laplacian"):
        res = mmd_test(x, y, kernel=kernel, n_permutations=200)
        assert res.pvalue < 0.01 and res.statistic > 0
        assert res.pvalue == pytest.approx(1 / 201)


def test_mmd_result_is_labelled_and_json_ready():
    rng = np.random.default_rng(0)
    res = mmd_test(rng.standard_normal(50), rng.standard_normal(50), n_permutations=100)
    assert isinstance(res, MMDTest)
    assert json.loads(json.dumps(res.to_dict(), allow_nan=False))["n_permutations"] == 100
    assert res.summary().startswith("MMD² ") and "100 permutations" in str(res)


# ------------------------------------------------------------------------------------------------------------------
# correlation distance
# ------------------------------------------------------------------------------------------------------------------
def test_correlation_distance_is_the_frobenius_norm_of_the_difference():
    rng = np.random.default_rng(0)
    cov = [[1, 0.6, 0.0], [0.6, 1, -0.3], [0.0, -0.3, 1]]
    real = rng.multivariate_normal([0, 0, 0], cov, 200_000)
    res = correlation_distance(pd.DataFrame(real, columns=["a", "b", "c"]), rng.standard_normal((2000, 50, 3)))
    assert isinstance(res, CorrelationDistance)
    assert res.distance == pytest.approx(np.sqrt(2 * 0.6**2 + 2 * 0.3**2), abs=0.02)
    assert list(res.real.columns) == ["a", "b", "c"]
    assert res.distance == pytest.approx(float(np.linalg.norm(res.real.to_numpy() - res.synthetic.to_numpy())))
    json.dumps(res.to_dict(), allow_nan=False)


# ------------------------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------------------------
def test_feature_count_mismatch_is_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(DataValidationError, match=r"real has 2 feature\(s\) \['x0', 'x1'\] but synthetic has 3"):
        wasserstein_returns(rng.standard_normal((500, 2)), rng.standard_normal((10, 50, 3)))
    for fn in (quantgan_scores, ks_test, correlation_distance):
        with pytest.raises(DataValidationError, match=r"same features"):
            fn(rng.standard_normal((500, 2)), rng.standard_normal((500, 3)))
    with pytest.raises(DataValidationError, match=r"x has samples of dimension 40 but y of dimension 60"):
        mmd_test(rng.standard_normal((10, 20, 2)), rng.standard_normal((10, 20, 3)))


def test_horizons_longer_than_the_paths_are_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(DataValidationError, match=r"horizons \[100\] are longer than the paths .*synthetic length 24"):
        wasserstein_returns(rng.standard_normal(3000), rng.standard_normal((50, 24, 1)), horizons=(1, 5, 20, 100))
    with pytest.raises(ConfigError, match=r"horizons must be a list of positive integers"):
        wasserstein_returns(rng.standard_normal(300), rng.standard_normal(300), horizons=[])


def test_bad_samples_and_options_for_mmd():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 2))
    bad = x.copy()
    bad[5, 1] = np.nan
    with pytest.raises(DataValidationError, match=r"y has 1 non-finite value\(s\).*sample 5"):
        mmd_test(x, bad)
    with pytest.raises(DataValidationError, match=r"y has 1 sample\(s\); the MMD test needs at least 2"):
        mmd_test(x, x[:1])
    with pytest.raises(DataValidationError, match=r"all one point.*median bandwidth is undefined"):
        mmd_test(np.zeros(5), np.zeros(5))
    with pytest.raises(ConfigError, match=r"kernel must be one of \['rbf', 'laplacian'\], got 'linear'"):
        mmd_test(x, x, kernel="linear")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"bandwidth must be one of \['median'\] or a positive number, got -1"):
        mmd_test(x, x, bandwidth=-1.0)
    with pytest.raises(DataValidationError, match=r"4-D|got shape \(2, 2, 2, 2\)"):
        mmd_test(np.zeros((2, 2, 2, 2)), x)


def test_correlation_distance_needs_two_features_and_variation():
    rng = np.random.default_rng(0)
    with pytest.raises(DataValidationError, match=r"needs at least 2 features"):
        correlation_distance(rng.standard_normal(100), rng.standard_normal(100))
    flat = np.c_[rng.standard_normal(100), np.ones(100)]
    with pytest.raises(DataValidationError, match=r"synthetic feature 'x1' is constant"):
        correlation_distance(rng.standard_normal((100, 2)), flat)
