"""Stylized facts of returns (issue #13, §2) against closed forms and simulated truth."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.tsa.stattools import acf as sm_acf

from latentquant.evaluation.synthetic import (
    StylizedFacts,
    acf,
    aggregational_gaussianity,
    excess_kurtosis,
    gain_loss_asymmetry,
    hill_tail_index,
    leverage_effect,
    power_law_decay,
    stylized_facts,
)
from latentquant.exceptions import ConfigError, DataValidationError


def ar1(phi: float, n: int, seed: int = 0) -> np.ndarray:
    e = np.random.default_rng(seed).standard_normal(n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def garch(n: int, omega: float = 0.05, alpha: float = 0.1, beta: float = 0.85, seed: int = 0) -> np.ndarray:
    """GARCH(1, 1): r_t = σ_t ε_t, σ²_{t+1} = ω + α r_t² + β σ²_t."""
    eps = np.random.default_rng(seed).standard_normal(n)
    r = np.empty(n)
    var = omega / (1 - alpha - beta)
    for t in range(n):
        r[t] = np.sqrt(var) * eps[t]
        var = omega + alpha * r[t] ** 2 + beta * var
    return r


def asymmetric_vol(n: int, seed: int = 0) -> np.ndarray:
    """Volatility after a loss is 3× that after a gain: E[r_t r²_{t+1}] < 0 (leverage effect)."""
    eps = np.random.default_rng(seed).standard_normal(n)
    r = np.empty(n)
    r[0] = eps[0]
    for t in range(1, n):
        r[t] = (1.5 if r[t - 1] < 0 else 0.5) * eps[t]
    return r


# ------------------------------------------------------------------------------------------------------------------
# ACF
# ------------------------------------------------------------------------------------------------------------------
def test_acf_equals_the_adjusted_sample_acf_of_statsmodels():
    x = np.random.default_rng(1).standard_t(5, 800)
    ours = acf(x, max_lag=30)["r"].to_numpy()
    ref = sm_acf(x, nlags=30, adjusted=True, fft=False)[1:]
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_acf_of_ar1_is_phi_to_the_lag():
    rho = acf(ar1(0.5, 40_000), max_lag=3)["r"]
    assert rho[1] == pytest.approx(0.5, abs=0.02)
    assert rho[2] == pytest.approx(0.25, abs=0.02)
    assert rho[3] == pytest.approx(0.125, abs=0.02)


def test_acf_of_short_windows_is_pooled_without_the_window_mean_bias():
    # 2,000 windows of 20 steps cut from an AR(1): demeaning each window by its own mean would pull lag 1 down by
    # about (1 + φ)/(L(1 − φ)) ≈ 0.15; the pooled-mean panel estimator keeps φ.
    x = ar1(0.5, 40_000, seed=3)
    windows = x.reshape(2000, 20, 1)
    rho = acf(windows, max_lag=5)["r"]
    assert rho[1] == pytest.approx(0.5, abs=0.03)
    per_window = np.mean([sm_acf(w[:, 0], nlags=1, adjusted=True)[1] for w in windows[:300]])
    assert per_window < 0.42  # what the naive per-window convention would report


def test_acf_is_fast_for_250_lags_of_50_long_draws():
    x = np.random.default_rng(0).standard_normal((50, 5000, 1))
    start = time.perf_counter()
    out = acf(np.abs(x), max_lag=250)
    assert time.perf_counter() - start < 2.0
    assert out.shape == (250, 1)
    assert np.abs(out.to_numpy()).max() < 0.02  # iid: within a few /√250,000


def test_acf_of_a_frame_keeps_column_names_and_lag_index():
    df = pd.DataFrame({"SPX": ar1(0.5, 3000), "NDX": ar1(-0.3, 3000, seed=1)})
    out = acf(df, max_lag=2)
    assert list(out.columns) == ["SPX", "NDX"]
    assert out.index.name == "lag" and list(out.index) == [1, 2]
    assert out.loc[1, "NDX"] == pytest.approx(-0.3, abs=0.05)


def test_garch_shows_volatility_clustering_but_no_linear_autocorrelation():
    r = garch(20_000)
    assert abs(acf(r, max_lag=1)["r"][1]) < 0.03
    assert acf(r**2, max_lag=1)["r"][1] > 0.1
    assert acf(np.abs(r), max_lag=1)["r"][1] > 0.1
    fit = power_law_decay(r, max_lag=100)
    assert fit.loc["r", "exponent"] > 0 and fit.loc["r", "n_lags"] >= 10


def test_power_law_decay_recovers_a_known_exponent():
    # |r_t| = 1 + long-memory noise is awkward to simulate; instead feed the fitter an exact power law through a
    # series whose ACF of |r| is exactly c k^-β: check the kernel on ACF values directly.
    from latentquant.evaluation.synthetic._facts import _power_law

    k = np.arange(1, 101, dtype=float)
    beta, intercept, r2, n = _power_law(0.3 * k**-0.4)
    assert beta == pytest.approx(0.4) and intercept == pytest.approx(np.log(0.3)) and r2 == pytest.approx(1.0)
    assert n == 100
    beta, _, _, n = _power_law(np.r_[0.3 * k[:10] ** -0.4, -0.01, 0.2])
    assert n == 10 and beta == pytest.approx(0.4)  # the fit stops at the first non-positive value


def test_power_law_decay_of_white_noise_is_undefined():
    with pytest.raises(DataValidationError, match=r"feature 'r'.*positive at only \d leading lag"):
        power_law_decay(np.random.default_rng(0).standard_normal(5000), max_lag=50)


# ------------------------------------------------------------------------------------------------------------------
# leverage
# ------------------------------------------------------------------------------------------------------------------
def test_leverage_is_negative_when_losses_raise_volatility():
    lev = leverage_effect(asymmetric_vol(20_000), max_lag=3)["r"]
    assert lev[1] < -0.2
    assert abs(lev[2]) < 0.05  # the simulated asymmetry lasts one step


def test_leverage_of_a_symmetric_garch_is_about_zero():
    lev = leverage_effect(garch(20_000, seed=2), max_lag=5)["r"]
    assert np.abs(lev.to_numpy()).max() < 0.05


def test_leverage_matches_a_direct_correlation():
    r = asymmetric_vol(5000, seed=4)
    direct = np.corrcoef(r[:-2], r[2:] ** 2)[0, 1]
    assert leverage_effect(r, max_lag=2)["r"][2] == pytest.approx(direct, abs=0.01)


# ------------------------------------------------------------------------------------------------------------------
# heavy tails
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("nu, tol", [(3, 0.45), (5, 1.25)])
def test_hill_index_of_student_t_is_about_its_degrees_of_freedom(nu, tol):
    r = np.random.default_rng(nu).standard_t(nu, 100_000)
    out = hill_tail_index(r, tail_fraction=0.005)
    for tail in ("left", "right"):
        alpha = out.loc[("r", tail), "estimate"]
        assert abs(alpha - nu) < tol, (tail, alpha)
        k = out.loc[("r", tail), "k"]
        assert k == 500
        half = 1.959964 / np.sqrt(k)
        assert out.loc[("r", tail), "low"] == pytest.approx(alpha * (1 - half))
        assert out.loc[("r", tail), "high"] == pytest.approx(alpha * (1 + half))


def test_hill_index_orders_tails_and_sees_which_tail_is_heavy():
    rng = np.random.default_rng(7)
    heavier_left = np.where(rng.random(100_000) < 0.5, -np.abs(rng.standard_t(3, 100_000)),
                            np.abs(rng.standard_t(8, 100_000)))
    out = hill_tail_index(heavier_left, tail_fraction=0.01)
    assert out.loc[("r", "left"), "high"] < out.loc[("r", "right"), "low"]


def test_hill_index_equals_the_textbook_formula():
    x = np.random.default_rng(0).standard_t(4, 2000)
    k = 100
    top = np.sort(x)[::-1][: k + 1]
    expected = 1.0 / np.mean(np.log(top[:k] / top[k]))
    assert hill_tail_index(x, tail_fraction=0.05).loc[("r", "right"), "estimate"] == pytest.approx(expected)


def test_gaussian_kurtosis_interval_covers_zero_and_t_interval_does_not():
    g = excess_kurtosis(np.random.default_rng(0).standard_normal(5000), seed=0).loc["r"]
    assert g["low"] < 0 < g["high"]
    t = excess_kurtosis(np.random.default_rng(0).standard_t(5, 20_000), seed=0).loc["r"]
    assert t["low"] > 1


def test_kurtosis_and_skewness_are_the_pooled_population_moments():
    x = np.random.default_rng(0).standard_t(6, (40, 25, 2))
    pooled = x.reshape(-1, 2)
    kurt = excess_kurtosis(x, n_boot=100)
    np.testing.assert_allclose(kurt["estimate"], stats.kurtosis(pooled, axis=0), rtol=1e-10)
    asym = gain_loss_asymmetry(x, n_boot=100)
    skew = [asym.loc[(f, "skewness"), "estimate"] for f in ("x0", "x1")]
    np.testing.assert_allclose(skew, stats.skew(pooled, axis=0), rtol=1e-10)


def test_bootstrap_is_reproducible_and_resamples_windows_whole():
    x = np.random.default_rng(0).standard_t(5, (300, 20, 1))
    a = excess_kurtosis(x, n_boot=200, seed=3)
    b = excess_kurtosis(x, n_boot=200, seed=3)
    c = excess_kurtosis(x, n_boot=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert a.loc["r", "low"] < a.loc["r", "estimate"] < a.loc["r", "high"]


def test_gain_loss_asymmetry_of_a_left_skewed_law():
    r = -np.random.default_rng(0).lognormal(0.0, 0.5, 5000)
    out = gain_loss_asymmetry(r)
    assert out.loc[("r", "skewness"), "high"] < 0
    ratio = out.loc[("r", "quantile_ratio"), "estimate"]
    q05, q50, q95 = np.quantile(r, [0.05, 0.5, 0.95])
    assert ratio == pytest.approx((q95 - q50) / (q50 - q05)) and ratio < 1
    assert pd.isna(out.loc[("r", "quantile_ratio"), "low"])
    sym = gain_loss_asymmetry(np.random.default_rng(1).standard_normal(20_000))
    assert sym.loc[("r", "quantile_ratio"), "estimate"] == pytest.approx(1.0, abs=0.05)


def test_aggregational_gaussianity_kurtosis_falls_with_horizon_for_iid_t():
    # iid t(6): excess kurtosis 3 at one step and 3/h for h-step sums
    r = np.random.default_rng(0).standard_t(6, 300_000)
    k = aggregational_gaussianity(r)["r"]
    assert list(k.index) == [1, 5, 20, 60]
    assert k[1] > k[5] > k[20]
    assert k[5] == pytest.approx(k[1] / 5, abs=0.25)
    assert abs(k[60]) < 0.3


# ------------------------------------------------------------------------------------------------------------------
# the all-in-one result
# ------------------------------------------------------------------------------------------------------------------
def test_stylized_facts_of_a_series():
    r = pd.Series(garch(6000, seed=5), name="SPX")
    facts = stylized_facts(r, n_boot=200)
    assert isinstance(facts, StylizedFacts)
    assert facts.features == ("SPX",) and facts.n_paths == 1 and facts.length == 6000
    assert facts.acf_abs.shape == (250, 1) and facts.acf_r.shape == (20, 1) and facts.leverage.shape == (20, 1)
    assert facts.acf_band == pytest.approx(1.959964 / np.sqrt(6000))
    assert facts.notes == ()
    table = facts.to_frame()
    assert table.loc[("acf_sq_lag1", "SPX"), "estimate"] > 0.1
    assert table.loc[("excess_kurtosis", "SPX"), "low"] > 0
    assert list(facts.aggregational.index) == [1, 5, 20, 60]
    with pytest.raises(AttributeError):
        facts.level = 0.9  # type: ignore[misc]


def test_stylized_facts_of_windows_caps_defaults_and_says_so():
    rng = np.random.default_rng(0)
    windows = rng.standard_t(5, (400, 20, 2))
    facts = stylized_facts(windows, n_boot=100)
    assert facts.acf_abs.shape == (19, 2) and facts.acf_r.shape == (19, 2) and facts.leverage.shape == (19, 2)
    assert list(facts.aggregational.index) == [1, 5, 20]
    assert any("max_lag capped at 19" in n for n in facts.notes)
    assert any("horizons [60] dropped" in n for n in facts.notes)
    np.testing.assert_allclose(facts.correlation, np.corrcoef(windows.reshape(-1, 2), rowvar=False))
    assert "Notes:" in facts.summary()


def test_stylized_facts_outputs_are_nan_free():
    facts = stylized_facts(np.random.default_rng(0).standard_normal(3000), n_boot=100)
    text = facts.summary()
    assert "nan" not in text.lower() and "undefined" in text  # the power law of white noise is undefined
    json.dumps(facts.to_dict(), allow_nan=False)
    table = facts.to_frame()
    assert table["estimate"].notna().all()
    assert "power_law_exponent" not in table.index.get_level_values("fact")


def test_stylized_facts_records_an_undefined_tail_index():
    facts = stylized_facts(np.random.default_rng(0).standard_normal(100), n_boot=100)
    assert facts.tail_index is None
    assert any("Hill tail index undefined" in n for n in facts.notes)


# ------------------------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------------------------
def test_wrong_rank_is_rejected():
    with pytest.raises(DataValidationError, match=r"1-D series.*2-D table.*3-D windows.*got shape \(2, 3, 4, 5\)"):
        stylized_facts(np.zeros((2, 3, 4, 5)))
    with pytest.raises(DataValidationError, match=r"got shape \(0,\)"):
        acf([])


def test_non_finite_values_are_located():
    w = np.random.default_rng(0).standard_normal((10, 30, 2))
    w[3, 7, 1] = np.nan
    with pytest.raises(DataValidationError, match=r"NaN at window 3, step 7, feature 1"):
        acf(w, max_lag=2)
    x = np.ones(50)
    x[4] = np.inf
    with pytest.raises(DataValidationError, match=r"an infinite value at step 4"):
        excess_kurtosis(x)


def test_too_short_for_the_requested_lags_or_horizons():
    with pytest.raises(DataValidationError, match=r"windows of length 20, too short for max_lag=20.*max_lag=19"):
        acf(np.random.default_rng(0).standard_normal((5, 20, 1)), max_lag=20)
    with pytest.raises(DataValidationError, match=r"100 observations, too short for max_lag=250"):
        leverage_effect(np.random.default_rng(0).standard_normal(100), max_lag=250)
    with pytest.raises(DataValidationError, match=r"horizons contains 60.*fewer than 20"):
        aggregational_gaussianity(np.random.default_rng(0).standard_normal(500), horizons=(1, 60))
    with pytest.raises(DataValidationError, match=r"too short for acf_lags=30"):
        stylized_facts(np.random.default_rng(0).standard_normal((50, 20, 1)), acf_lags=30)
    with pytest.raises(DataValidationError, match=r"leaves k=2 tail observations, fewer than 10"):
        hill_tail_index(np.random.default_rng(0).standard_normal(50))


def test_constant_series_is_undefined_not_nan():
    with pytest.raises(DataValidationError, match=r"feature 'r' is constant \(0\.01\).*undefined"):
        stylized_facts(np.full(300, 0.01))
    with pytest.raises(DataValidationError, match=r"is constant"):
        acf(np.ones((3, 10, 1)), max_lag=2)


def test_bad_options_raise_config_errors():
    x = np.random.default_rng(0).standard_normal(500)
    with pytest.raises(ConfigError, match=r"n_boot must be an integer >= 100, got 10"):
        excess_kurtosis(x, n_boot=10)
    with pytest.raises(ConfigError, match=r"level must be a number in \(0, 1\), got 1\.5"):
        hill_tail_index(x, level=1.5)
    with pytest.raises(ConfigError, match=r"tail_fraction must be a number in \(0, 0\.5\)"):
        hill_tail_index(x, tail_fraction=0.7)
    with pytest.raises(ConfigError, match=r"max_lag must be a positive integer, got 0"):
        acf(x, max_lag=0)
    with pytest.raises(ConfigError, match=r"horizons must be a list of positive integers"):
        aggregational_gaussianity(x, horizons=(0, 5))
