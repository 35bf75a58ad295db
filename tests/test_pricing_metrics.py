"""Asset-pricing metrics (REFERENCE §4.3): uncentred total / predictive R², pricing errors, GRS."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import r2_score

from latentquant.evaluation import (
    GRSTestResult,
    count_significant,
    grs_test,
    predictive_r2,
    pricing_errors,
    running_mean_lambda,
    total_r2,
)
from latentquant.exceptions import ConfigError, DataValidationError


def _idx(dates, assets):
    return pd.MultiIndex.from_product([dates, assets], names=["date", "asset"])


# ---------------------------------------------------------------------------------------------------------------- R²
def test_total_r2_hand_computed_long_wide_and_array():
    idx = _idx([1, 2], ["a", "b"])
    r = pd.Series([0.02, -0.01, 0.03, 0.01], index=idx)
    fit = pd.Series([0.01, 0.00, 0.02, 0.02], index=idx)
    # Σ r² = (4 + 1 + 9 + 1)e-4 = 15e-4 ; Σ (r − r̂)² = 4 × 1e-4  ->  R² = 1 − 4/15 = 11/15
    assert total_r2(r, fit) == pytest.approx(11 / 15, rel=1e-12)
    assert total_r2(r.unstack("asset"), fit.unstack("asset")) == pytest.approx(11 / 15, rel=1e-12)
    assert total_r2(r.to_numpy(), fit.to_numpy()) == pytest.approx(11 / 15, rel=1e-12)
    # order does not matter (aligned on index); cells missing in either input are dropped
    assert total_r2(r.iloc[::-1], fit) == pytest.approx(11 / 15, rel=1e-12)
    fit_nan = fit.copy()
    fit_nan.iloc[3] = np.nan  # drop (2, b): Σ r² = 14e-4, SSE = 3e-4
    assert total_r2(r, fit_nan) == pytest.approx(1 - 3 / 14, rel=1e-12)


def test_total_r2_is_uncentred_unlike_sklearn():
    idx = _idx([1, 2], ["a", "b"])
    r = pd.Series([0.11, 0.09, 0.12, 0.08], index=idx)
    fit = pd.Series(0.10, index=idx)  # the common mean
    # Σ r² = 0.0121 + 0.0081 + 0.0144 + 0.0064 = 0.041 ; SSE = 0.001  ->  R² = 40/41
    ours = total_r2(r, fit)
    assert ours == pytest.approx(40 / 41, rel=1e-12)
    centred = r2_score(r.to_numpy(), fit.to_numpy())
    assert centred == pytest.approx(0.0, abs=1e-12)
    assert abs(ours - centred) > 0.9


def _pred_panel():
    idx = _idx([1, 2, 3], ["a", "b"])
    factors = pd.DataFrame({"f": [0.02, 0.04, 0.00]}, index=pd.Index([1, 2, 3], name="date"))
    betas = pd.DataFrame({"f": [1.0, 2.0] * 3}, index=idx)
    returns = pd.Series([0.05, 0.05, 0.01, 0.05, 0.03, 0.05], index=idx)
    return returns, betas, factors


def test_predictive_r2_uses_running_mean_not_last_factor():
    returns, betas, factors = _pred_panel()
    # λ̂ (running mean of f over dates < t) = [nan, 0.02, 0.03]; date 1 is excluded.
    # r̂: date 2 -> (0.02, 0.04), date 3 -> (0.03, 0.06); errors (-0.01, 0.01, 0, -0.01) -> SSE = 3e-4
    # Σ r² over dates 2, 3 = (1 + 25 + 9 + 25)e-4 = 60e-4  ->  R² = 1 − 3/60 = 0.95
    assert predictive_r2(returns, betas, factors) == pytest.approx(0.95, rel=1e-12)
    assert predictive_r2(returns.unstack("asset"), betas, factors) == pytest.approx(0.95, rel=1e-12)
    # last month's factor (0.02, 0.04) would give date-3 fits (0.04, 0.08): SSE = 12e-4 -> 0.8
    lam_last = factors["f"].shift(1).reindex(betas.index.get_level_values(0)).to_numpy()
    wrong = pd.Series(betas["f"].to_numpy() * lam_last, index=betas.index)
    assert total_r2(returns, wrong) == pytest.approx(0.8, rel=1e-12)
    assert predictive_r2(returns, betas, factors) != pytest.approx(0.8)


def test_running_mean_lambda_exact_and_no_look_ahead():
    f = pd.DataFrame({"f1": [1.0, 2.0, 6.0, 3.0], "f2": [0.0, 4.0, -4.0, 8.0]}, index=[10, 20, 30, 40])
    lam = running_mean_lambda(f)
    assert lam.index.equals(f.index) and list(lam.columns) == ["f1", "f2"]
    assert lam.iloc[0].isna().all()
    np.testing.assert_allclose(lam.iloc[1:].to_numpy(), [[1.0, 0.0], [1.5, 2.0], [3.0, 0.0]], rtol=0, atol=1e-15)
    g = f.copy()
    g.iloc[-1] = [1e6, -1e6]
    pd.testing.assert_frame_equal(running_mean_lambda(g), lam)
    # changing the factor at date 20 changes only rows strictly after it
    h = f.copy()
    h.loc[20, "f1"] = 100.0
    lam_h = running_mean_lambda(h)
    pd.testing.assert_frame_equal(lam_h.loc[[10, 20]], lam.loc[[10, 20]])
    assert (lam_h.loc[[30, 40], "f1"] != lam.loc[[30, 40], "f1"]).all()
    # and the predictive R² does not see the last factor
    returns, betas, factors = _pred_panel()
    bumped = factors.copy()
    bumped.iloc[-1] = 5.0
    assert predictive_r2(returns, betas, bumped) == predictive_r2(returns, betas, factors)


# --------------------------------------------------------------------------------------------------- pricing errors
def test_pricing_errors_lag0_equals_iid_and_long_equals_wide():
    rng = np.random.default_rng(1)
    u = pd.DataFrame(rng.normal(0.01, 0.05, size=(300, 4)), columns=list("abcd"))
    tab = pricing_errors(u, nw_lags=0)
    t_iid = u.mean() / (u.std(ddof=0) / np.sqrt(len(u)))
    np.testing.assert_allclose(tab["t_stat"], t_iid, rtol=1e-12)
    np.testing.assert_allclose(tab["alpha"], u.mean(), rtol=1e-12)
    assert (tab["n_obs"] == 300).all() and (tab["nw_lags"] == 0).all()
    long = u.stack()
    long.index.names = ["date", "asset"]
    pd.testing.assert_frame_equal(pricing_errors(long, nw_lags=0), tab, check_names=False)
    # default lags floor(4 (T/100)^(2/9)): T=300 -> 5 ; T=100 -> 4
    assert (pricing_errors(u)["nw_lags"] == 5).all()
    assert (pricing_errors(u.iloc[:100])["nw_lags"] == 4).all()


def test_pricing_errors_nw_vs_iid():
    rng = np.random.default_rng(2)
    t, n = 2000, 6
    iid = pd.DataFrame(rng.normal(0, 1, size=(t, n)))
    ratio = pricing_errors(iid)["se"] / pricing_errors(iid, nw_lags=0)["se"]
    assert ratio.between(0.85, 1.15).all()
    eps = rng.normal(0, 1, size=(t, n))
    ar = np.zeros_like(eps)
    for s in range(1, t):
        ar[s] = 0.6 * ar[s - 1] + eps[s]
    ar_df = pd.DataFrame(ar)
    nw, plain = pricing_errors(ar_df)["se"], pricing_errors(ar_df, nw_lags=0)["se"]
    assert (nw > 1.3 * plain).all()


def test_pricing_errors_newey_west_matches_the_bartlett_sum_written_out():
    # an independent loop over the autocovariances (divisor T each): the t-statistics agree to 1e-12
    rng = np.random.default_rng(6)
    e = rng.normal(0, 1, size=(250, 3))
    u = pd.DataFrame(0.01 + 0.01 * np.cumsum(e, axis=0))  # strongly autocorrelated: every lag matters
    for lags in (0, 1, 5, 300):
        tab = pricing_errors(u, nw_lags=lags)
        for j, col in enumerate(u.columns):
            x = u[col].to_numpy()
            d, t = x - x.mean(), len(x)
            var = sum((1.0 if h == 0 else 2.0 * (1 - h / (lags + 1))) * float(d[h:] @ d[: t - h]) / t
                      for h in range(min(lags, t - 1) + 1))
            assert tab["t_stat"].iloc[j] == pytest.approx(x.mean() / np.sqrt(var / t), rel=1e-12, abs=0)


def test_count_significant():
    tab = pd.DataFrame({"t_stat": [0.5, -3.5, 4.0, 3.0, np.nan]})
    assert count_significant(tab) == 2
    assert count_significant(tab, threshold=0.4) == 4


# ----------------------------------------------------------------------------------------------------------------- GRS
def _simulate(rng, t, n, k, alpha):
    f = rng.normal(0.005, 0.04, size=(t, k))
    beta = rng.normal(1.0, 0.3, size=(k, n))
    r = alpha + f @ beta + rng.normal(0.0, 0.02, size=(t, n))
    return r, f


def test_grs_matches_direct_computation_with_statsmodels_alphas():
    rng = np.random.default_rng(3)
    t, n, k = 120, 5, 2
    r, f = _simulate(rng, t, n, k, alpha=0.002)
    x = sm.add_constant(f)
    fits = [sm.OLS(r[:, i], x).fit() for i in range(n)]
    alpha = np.array([fit.params[0] for fit in fits])
    resid = np.column_stack([fit.resid for fit in fits])
    sigma = resid.T @ resid / (t - k - 1)
    mu = f.mean(0)
    omega = np.cov(f, rowvar=False, ddof=0)
    # the Ω convention (divisor T) makes the denominator the OLS variance factor of the intercept
    xtx_inv00 = fits[0].cov_params()[0, 0] / fits[0].scale
    assert 1 + mu @ np.linalg.solve(omega, mu) == pytest.approx(t * xtx_inv00, rel=1e-10)
    expected = (t / n) * ((t - n - k) / (t - k - 1)) * (alpha @ np.linalg.solve(sigma, alpha)) \
        / (1 + mu @ np.linalg.solve(omega, mu))
    res = grs_test(r, f)
    assert isinstance(res, GRSTestResult)
    assert res.statistic == pytest.approx(expected, rel=1e-10)
    assert res.pvalue == pytest.approx(stats.f.sf(expected, n, t - n - k), rel=1e-10)
    assert (res.df_num, res.df_denom, res.n_periods, res.n_assets, res.n_factors) == (5, 113, 120, 5, 2)
    dates = pd.date_range("2000-01-31", periods=t, freq="ME")
    r_df = pd.DataFrame(r, index=dates, columns=[f"p{i}" for i in range(n)])
    f_df = pd.DataFrame(f, index=dates, columns=["mkt", "smb"])
    again = grs_test(r_df, f_df.iloc[::-1])
    assert (again.statistic, again.pvalue) == pytest.approx((res.statistic, res.pvalue), rel=1e-12)


def test_grs_result_summary_to_dict_and_the_deprecated_tuple():
    res = GRSTestResult(statistic=2.5, pvalue=0.0123456, df_num=5, df_denom=113, n_periods=120, n_assets=5,
                        n_factors=2)
    text = res.summary()
    assert text.splitlines()[0] == "GRS test of zero alphas"
    assert "statistic  2.5000" in text and "p-value    0.0123" in text and "F df       (5, 113)" in text
    assert str(res) == text
    assert "| p-value | 0.0123 |" in res.summary("markdown")
    assert "<caption>GRS test of zero alphas</caption>" in res.summary("html")
    assert "<tr><th>F df</th><td>(5, 113)</td></tr>" in res.summary("html")
    assert r"\begin{tabular}" in res.summary("latex") and r"p-value & 0.0123 \\" in res.summary("latex")
    assert res.to_dict() == {"statistic": 2.5, "pvalue": 0.0123456, "df_num": 5, "df_denom": 113, "n_periods": 120,
                             "n_assets": 5, "n_factors": 2}
    with pytest.raises(ConfigError, match=r"fmt must be one of \['text', 'markdown', 'html', 'latex'\], got 'pdf'"):
        res.summary("pdf")
    with pytest.raises(AttributeError):
        res.statistic = 1.0  # type: ignore[misc]
    with pytest.warns(FutureWarning, match=r"unpacking or indexing it as \(statistic, pvalue\) is deprecated"):
        stat, p = res
    assert (stat, p) == (2.5, 0.0123456)
    with pytest.warns(FutureWarning, match="use result.statistic and result.pvalue"):
        assert res[1] == 0.0123456


def test_grs_size_under_null_and_power():
    rng = np.random.default_rng(4)
    pvals = np.array([grs_test(*_simulate(rng, 600, 10, 2, alpha=0.0)).pvalue for _ in range(200)])
    assert 0.02 <= float(np.mean(pvals < 0.05)) <= 0.09
    res = grs_test(*_simulate(rng, 600, 10, 2, alpha=0.01))
    assert res.pvalue < 1e-10 and res.statistic > 10


# -------------------------------------------------------------------------------------------------------------- errors
def test_errors_are_typed_and_explain_the_fix():
    idx = _idx([1, 2], ["a", "b"])
    r = pd.Series([0.1, 0.2, 0.3, 0.4], index=idx)
    other = pd.Series([0.1, 0.2], index=_idx([3], ["a", "b"]))
    with pytest.raises(DataValidationError, match="no \\(date, asset\\) cell has both"):
        total_r2(r, other)
    with pytest.raises(DataValidationError, match=r"returns has shape \(4,\) but fitted has shape \(3,\)"):
        total_r2(np.ones(4), np.ones(3))
    with pytest.raises(DataValidationError, match="both be pandas objects"):
        total_r2(r, np.ones(4))
    with pytest.raises(DataValidationError, match="2-level MultiIndex \\(date, asset\\)"):
        total_r2(pd.Series([1.0, 2.0]), pd.Series([1.0, 2.0]))
    with pytest.raises(DataValidationError, match="all returns are zero"):
        total_r2(r * 0, r)

    returns, betas, factors = _pred_panel()
    with pytest.raises(DataValidationError, match="betas must be a long DataFrame"):
        predictive_r2(returns, betas.reset_index(drop=True), factors)
    with pytest.raises(DataValidationError, match="do not match factors columns"):
        predictive_r2(returns, betas.rename(columns={"f": "g"}), factors)
    with pytest.raises(DataValidationError, match="not in factors' index"):
        predictive_r2(returns, betas, factors.iloc[:2])
    with pytest.raises(DataValidationError, match="sorted ascending and unique"):
        running_mean_lambda(factors.iloc[::-1])
    with pytest.raises(DataValidationError, match="must be a wide table indexed by date"):
        running_mean_lambda(betas)

    with pytest.raises(DataValidationError, match="residuals Series must be indexed by a 2-level MultiIndex"):
        pricing_errors(pd.Series([1.0, 2.0, 3.0]))
    with pytest.raises(ConfigError, match="nw_lags must be a non-negative integer"):
        pricing_errors(pd.DataFrame({"a": [1.0, 2.0]}), nw_lags=-1)
    with pytest.raises(DataValidationError, match="'t_stat' column"):
        count_significant(pd.DataFrame({"alpha": [1.0]}))

    rng = np.random.default_rng(5)
    with pytest.raises(DataValidationError, match="GRS needs T > N \\+ K, got T=12 dates for N=10 assets and K=2"):
        grs_test(rng.normal(size=(12, 10)), rng.normal(size=(12, 2)))
    dates = pd.date_range("2000-01-31", periods=30, freq="ME")
    r_df = pd.DataFrame(rng.normal(size=(30, 3)), index=dates)
    f_df = pd.DataFrame(rng.normal(size=(30, 1)), index=dates + pd.offsets.MonthEnd(1))
    with pytest.raises(DataValidationError, match="different dates"):
        grs_test(r_df, f_df)
    with pytest.raises(DataValidationError, match="must be wide \\(dates × assets\\)"):
        grs_test(r_df.stack(), f_df)
