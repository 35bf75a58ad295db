"""Performance metrics of return series: closed forms, CI coverage by simulation, errors (REFERENCE §1)."""

import math

import numpy as np
import pandas as pd
import pytest

from latentquant.evaluation import SharpeEstimate, max_drawdown, performance_summary, sharpe_ci, sharpe_ratio
from latentquant.exceptions import ConfigError, DataValidationError

DATES = pd.bdate_range("2020-01-01", periods=6)


# ------------------------------------------------------------------------------------------------------------------
# book check
# ------------------------------------------------------------------------------------------------------------------
def test_book_sharpe_spy_with_bil_rf():
    """Book Appendix A.4: SPY 2023-08-28..2023-12-11, rf = BIL → daily 0.06826677, annualised 1.0837.

    Runs only if SPY and BIL daily prices for that span are bundled; they are not (etf_prices ends 2016-07-01, no BIL,
    and DATA.md lists no offline source of US prices after 2022), so the check is skipped rather than faked.
    """
    from latentquant.datasets import load_etf_prices

    prices = load_etf_prices()
    span_ok = prices.index.min() <= pd.Timestamp("2023-08-25") and prices.index.max() >= pd.Timestamp("2023-12-11")
    if not ({"SPY", "BIL"} <= set(prices.columns) and span_ok):
        pytest.skip("SPY/BIL daily prices for 2023-08-28..2023-12-11 are not available offline (etf_prices: "
                    f"{prices.index.min():%Y-%m-%d}..{prices.index.max():%Y-%m-%d}, no BIL)")
    rets = prices[["SPY", "BIL"]].pct_change()
    rf = (rets["BIL"] * 252).rolling(20).mean()  # book A.3: 20-day MA of annualised BIL returns
    span = slice("2023-08-28", "2023-12-11")
    spy, rf = rets["SPY"][span].align(rf[span], join="inner")
    assert sharpe_ratio(spy, rf=rf) / math.sqrt(252) == pytest.approx(0.06826677, abs=1e-6)
    assert sharpe_ratio(spy, rf=rf) == pytest.approx(1.0837, abs=1e-4)


# ------------------------------------------------------------------------------------------------------------------
# closed forms
# ------------------------------------------------------------------------------------------------------------------
def test_sharpe_of_alternating_series_matches_closed_form():
    m, s, t = 0.001, 0.01, 100
    r = np.where(np.arange(t) % 2 == 0, m + s, m - s)  # mean m, population sd s
    sd = s * math.sqrt(t / (t - 1))  # ddof=1
    assert sharpe_ratio(r) == pytest.approx(m / sd * math.sqrt(252), rel=1e-12)
    assert sharpe_ratio(r, periods_per_year=12) == pytest.approx(m / sd * math.sqrt(12), rel=1e-12)
    assert sharpe_ratio(pd.Series(r)) == sharpe_ratio(list(r))


def test_sharpe_is_scale_invariant_and_sign_flips():
    r = np.random.default_rng(3).normal(0.0005, 0.01, 300)
    base = sharpe_ratio(r)
    assert sharpe_ratio(7.5 * r) == pytest.approx(base, rel=1e-12)
    assert sharpe_ratio(-r) == pytest.approx(-base, rel=1e-12)
    # …but not invariant to a shift: rf changes the value
    assert sharpe_ratio(r, rf=0.05) < base


def test_rf_scalar_annual_equals_per_period_series_and_manual_excess():
    rng = np.random.default_rng(4)
    r = pd.Series(rng.normal(0.0006, 0.01, 250), index=pd.bdate_range("2021-01-01", periods=250))
    flat = pd.Series(0.05, index=r.index)
    assert sharpe_ratio(r, rf=0.05) == pytest.approx(sharpe_ratio(r, rf=flat), rel=1e-12)
    assert sharpe_ratio(r, rf=0.05) == pytest.approx(sharpe_ratio(r, rf=flat.to_numpy()), rel=1e-12)
    assert sharpe_ratio(r, rf=0.05) == sharpe_ratio(r, rf=np.float64(0.05)) == sharpe_ratio(r, rf=np.array(0.05))
    # a time-varying annualised yield: rf/252 is subtracted period by period
    yld = pd.Series(np.linspace(0.0, 0.06, 250), index=r.index, name="BIL")
    e = r - yld / 252
    assert sharpe_ratio(r, rf=yld) == pytest.approx(e.mean() / e.std(ddof=1) * math.sqrt(252), rel=1e-12)
    assert sharpe_ratio(r, rf=yld) == pytest.approx(sharpe_ratio(e), rel=1e-12)
    # the other conventions would give different numbers
    assert sharpe_ratio(r, rf=0.05) != pytest.approx(sharpe_ratio(r - 0.05), rel=1e-3)
    est = sharpe_ci(r, rf=yld)
    assert est.rf == "rf=BIL (annualised, /252 per period)"
    assert sharpe_ci(r, rf=0.05).rf == "rf=0.05 p.a."


def test_max_drawdown_of_known_paths():
    assert max_drawdown([0.5, -0.2, -0.25, 1.0]) == pytest.approx(0.4)  # 1.5 → 0.9
    assert max_drawdown([0.1, -0.5, 0.2, 0.5]) == pytest.approx(0.5)  # 1.1 → 0.55, never recovered past 1.1
    assert max_drawdown([-0.2, 0.1]) == pytest.approx(0.2)  # initial wealth 1 is a peak
    assert max_drawdown([0.1, -0.1, -0.1, 0.5, -0.3]) == pytest.approx(0.3)  # second drawdown is deeper
    assert max_drawdown([0.01, 0.02, 0.0]) == 0.0
    assert max_drawdown([0.2, -1.0]) == pytest.approx(1.0)
    # compounding, not summing: two -10% days give 19%, not 20%
    assert max_drawdown(pd.Series([-0.1, -0.1])) == pytest.approx(0.19)


def test_cagr_vol_sortino_calmar_hit_rate_of_known_paths():
    c = 2.0 ** (1 / 504) - 1  # wealth doubles over two years of daily returns
    r = np.full(504, c)
    r[::2] += 1e-4
    r[1::2] -= 1e-4
    wealth = np.prod(1 + r)
    s = performance_summary(r)
    assert s["cagr"] == pytest.approx(wealth ** 0.5 - 1, rel=1e-12)
    assert s["cagr"] == pytest.approx(math.sqrt(2) - 1, rel=1e-5)  # ±1e-4 wiggle costs only d² of drag
    assert s["ann_return"] == pytest.approx(c * 252, rel=1e-12)  # arithmetic, not compounded
    assert s["ann_vol"] == pytest.approx(1e-4 * math.sqrt(504 / 503) * math.sqrt(252), rel=1e-9)
    assert s["n_obs"] == 504 and s["hit_rate"] == 1.0
    assert math.isnan(s["sortino"]) and math.isnan(s["calmar"])  # no negative period, no drawdown

    q = pd.Series([0.02, -0.01, 0.03, -0.02], name="q")
    s = performance_summary(q, periods_per_year=1)
    assert s.name == "q"
    assert s["sortino"] == pytest.approx(0.005 / math.sqrt((0.01**2 + 0.02**2) / 4), rel=1e-12)
    assert s["hit_rate"] == 0.5
    wealth = np.cumprod(1 + q.to_numpy())
    mdd = 1 - wealth[3] / wealth[2]
    assert s["max_drawdown"] == pytest.approx(mdd, rel=1e-12)
    assert s["calmar"] == pytest.approx((wealth[-1] ** 0.25 - 1) / mdd, rel=1e-12)
    assert s["sharpe"] == pytest.approx(sharpe_ratio(q, periods_per_year=1), rel=1e-12)
    assert s["sharpe_low"] < s["sharpe"] < s["sharpe_high"]


def test_performance_summary_rf_affects_only_excess_metrics_and_states_conventions():
    r = pd.Series(np.random.default_rng(5).normal(0.0005, 0.01, 500))
    s0, s5 = performance_summary(r), performance_summary(r, rf=0.05)
    for k in ("ann_return", "cagr", "ann_vol", "max_drawdown", "hit_rate", "calmar"):
        assert s0[k] == s5[k]
    assert s5["sharpe"] == pytest.approx(sharpe_ratio(r, rf=0.05)) and s5["sharpe"] < s0["sharpe"]
    assert s5["sortino"] < s0["sortino"]
    assert s5.attrs["rf"] == "rf=0.05 p.a." and s5.attrs["periods_per_year"] == 252.0 and s5.attrs["level"] == 0.95


def test_performance_summary_of_a_dataframe_has_one_row_per_column():
    rng = np.random.default_rng(6)
    idx = pd.bdate_range("2020-01-01", periods=300)
    df = pd.DataFrame(rng.normal(0.0004, 0.01, (300, 3)), index=idx, columns=["f1", "f2", "f3"])
    rf = pd.Series(0.02, index=idx)
    table = performance_summary(df, rf=rf, periods_per_year=252, level=0.9)
    assert list(table.index) == ["f1", "f2", "f3"]
    for col in df.columns:
        pd.testing.assert_series_equal(table.loc[col], performance_summary(df[col], rf=rf, level=0.9),
                                       check_names=False)
    assert table.attrs["rf"].startswith("rf=series") and table.attrs["level"] == 0.9


# ------------------------------------------------------------------------------------------------------------------
# confidence intervals
# ------------------------------------------------------------------------------------------------------------------
def test_asymptotic_se_is_mertens_formula():
    from scipy import stats

    r = np.random.default_rng(7).standard_t(4, 500) * 0.01 + 0.002
    est = sharpe_ci(r, periods_per_year=12, level=0.9)
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = stats.skew(r), stats.kurtosis(r, fisher=False)
    se = math.sqrt((1 - g3 * sr + (g4 - 1) / 4 * sr**2) / r.size) * math.sqrt(12)
    assert isinstance(est, SharpeEstimate)
    assert est.sharpe == pytest.approx(sr * math.sqrt(12), rel=1e-12)
    assert est.se == pytest.approx(se, rel=1e-12)
    z = stats.norm.ppf(0.95)
    assert (est.low, est.high) == pytest.approx((est.sharpe - z * se, est.sharpe + z * se), rel=1e-12)
    assert est.n_obs == 500 and est.level == 0.9 and est.method == "asymptotic" and est.periods_per_year == 12
    assert str(est) == f"Sharpe {est.sharpe:.2f} [{est.low:.2f}, {est.high:.2f}] (90% CI, asymptotic; rf=0, ×√12)"
    with pytest.raises(AttributeError):
        est.sharpe = 0.0  # frozen


def test_asymptotic_ci_covers_true_sharpe_in_simulation():
    rng = np.random.default_rng(12345)
    mu, sig, t, n = 0.001, 0.01, 252, 400
    true = mu / sig * math.sqrt(252)
    ests = [sharpe_ci(rng.normal(mu, sig, t)) for _ in range(n)]
    coverage = np.mean([e.low <= true <= e.high for e in ests])
    assert 0.91 <= coverage <= 0.98
    sr_hat = np.array([e.sharpe for e in ests])
    se = np.mean([e.se for e in ests])
    assert se == pytest.approx(sr_hat.std(ddof=1), rel=0.15)


def test_mertens_skewness_term_matters_for_skewed_returns():
    # per-period SR 0.5, skewness -2, kurtosis 9: Var = (1 + 1 + 0.5)/T, vs (1 + 0.125)/T under normality
    rng = np.random.default_rng(99)
    t, n, sr = 240, 400, 0.5
    ests = [sharpe_ci(sr - (rng.chisquare(2, t) - 2) / 2, periods_per_year=12) for _ in range(n)]
    empirical = np.std([e.sharpe for e in ests], ddof=1)
    assert np.mean([e.se for e in ests]) == pytest.approx(empirical, rel=0.15)
    normal_formula = math.sqrt((1 + sr**2 / 2) / t * 12)
    assert normal_formula < 0.75 * empirical  # the iid-normal (Lo) SE would be far too small here


def test_bootstrap_is_reproducible_and_contains_the_estimate():
    r = np.random.default_rng(8).normal(0.0006, 0.01, 750)
    a = sharpe_ci(r, method="bootstrap", seed=3)
    b = sharpe_ci(r, method="bootstrap", seed=3)
    c = sharpe_ci(r, method="bootstrap", seed=4)
    assert a == b and (a.low, a.high) != (c.low, c.high)
    assert a.low < a.sharpe < a.high and a.sharpe == pytest.approx(sharpe_ratio(r), rel=1e-12)
    assert a.method == "bootstrap" and "bootstrap" in str(a)
    # iid data: bootstrap and asymptotic standard errors agree
    assert a.se == pytest.approx(sharpe_ci(r).se, rel=0.15)
    wide = sharpe_ci(r, method="bootstrap", level=0.99, seed=3)
    assert wide.low < a.low and wide.high > a.high


def test_block_bootstrap_widens_the_interval_for_autocorrelated_returns():
    rng = np.random.default_rng(9)
    t, phi = 1000, 0.6
    eps = rng.normal(0, 0.01, t)
    r = np.empty(t)
    r[0] = eps[0]
    for i in range(1, t):
        r[i] = phi * r[i - 1] + eps[i]
    r += 0.0005
    iid = sharpe_ci(r, method="bootstrap", block=1, n_boot=1000)
    blocks = sharpe_ci(r, method="bootstrap", block=40, n_boot=1000)
    # positive autocorrelation inflates the variance of the mean by about (1+phi)/(1-phi) = 4 → se about ×2
    assert blocks.se > 1.5 * iid.se
    assert iid.se == pytest.approx(sharpe_ci(r).se, rel=0.15)


# ------------------------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------------------------
def test_data_errors_name_the_problem_and_the_fix():
    s = pd.Series([0.01, np.nan, 0.02, np.inf, 0.0, 0.01], index=DATES)
    with pytest.raises(DataValidationError, match=r"returns has NaN at 2020-01-02 \(position 1\) \(2 non-finite value\(s\) in total\); drop or fill them first, e\.g\. returns\.dropna\(\)"):
        sharpe_ratio(s)
    with pytest.raises(DataValidationError, match=r"returns has an infinite value at position 1"):
        sharpe_ratio(np.array([0.01, np.inf, 0.02]))
    with pytest.raises(DataValidationError, match=r"returns has 2 observation\(s\) but at least 3 are needed; pass a longer history"):
        sharpe_ci([0.01, 0.02])
    with pytest.raises(DataValidationError, match=r"returns has 0 observation\(s\) but at least 1 are needed"):
        max_drawdown([])
    with pytest.raises(DataValidationError, match=r"excess returns are constant \(0\.01 in all 4 periods\): the Sharpe ratio is undefined"):
        sharpe_ratio([0.01] * 4)
    with pytest.raises(DataValidationError, match=r"excess returns are constant"):
        sharpe_ratio(np.full(5, 0.05 / 12), rf=0.05, periods_per_year=12)
    with pytest.raises(DataValidationError, match=r"returns must be 1-D \(one value per period\), got shape \(3, 2\)"):
        sharpe_ratio(np.zeros((3, 2)))
    with pytest.raises(DataValidationError, match=r"returns must be 1-D \(one series\), got a DataFrame with 2 column\(s\)"):
        sharpe_ratio(pd.DataFrame({"a": [0.1, 0.2, 0.0], "b": [0.1, 0.2, 0.0]}))
    with pytest.raises(DataValidationError, match=r"returns must be numeric; convert it with pd\.to_numeric"):
        sharpe_ratio(["0.1", "x", "0.2"])
    with pytest.raises(DataValidationError, match=r"returns has a simple return below -1 \(-1\.5 at 2020-01-02 \(position 1\)\).*np\.expm1"):
        max_drawdown(pd.Series([0.1, -1.5, 0.2], index=DATES[:3]))
    with pytest.raises(DataValidationError, match=r"simple return below -1"):
        performance_summary([0.1, -1.5, 0.2])
    with pytest.raises(DataValidationError, match=r"column 'b': returns has NaN at 2020-01-03"):
        performance_summary(pd.DataFrame({"a": [0.01, -0.01, 0.02], "b": [0.01, -0.01, np.nan]}, index=DATES[:3]))
    with pytest.raises(DataValidationError, match=r"only \d+ of 200 bootstrap resamples had a defined Sharpe ratio \(too few distinct values among 3 observations.*use method='asymptotic' or a longer history"):
        sharpe_ci([0.0, 0.0, 0.01], method="bootstrap", n_boot=200, block=1)
    with pytest.raises(DataValidationError, match=r"returns is a DataFrame with no columns"):
        performance_summary(pd.DataFrame(index=DATES))


def test_rf_errors():
    r = pd.Series([0.01, -0.01, 0.02, 0.0, 0.01, -0.02], index=DATES)
    with pytest.raises(DataValidationError, match=r"rf has 5 values but returns has 6; pass a scalar annualised yield or one annualised yield per period"):
        sharpe_ratio(r, rf=np.zeros(5))
    with pytest.raises(DataValidationError, match=r"returns and rf have misaligned indexes \(1 date\(s\) only in returns, first 2020-01-08\); align them first"):
        sharpe_ratio(r, rf=pd.Series(0.0, index=DATES[:-1].append(pd.DatetimeIndex(["2021-01-01"]))))
    with pytest.raises(DataValidationError, match=r"misaligned indexes"):
        performance_summary(r.to_frame("a"), rf=pd.Series(0.0, index=DATES[1:]))
    with pytest.raises(DataValidationError, match=r"rf has NaN at position 2"):
        sharpe_ratio(r, rf=np.array([0.0, 0.0, np.nan, 0.0, 0.0, 0.0]))
    with pytest.raises(ConfigError, match=r"rf must be a finite annualised yield, got nan; pass e\.g\. 0\.05 for 5% a year"):
        sharpe_ratio(r, rf=float("nan"))
    with pytest.raises(ConfigError, match=r"rf must be an annualised yield \(number\) or a series aligned with returns, got True"):
        sharpe_ratio(r, rf=True)


def test_config_errors():
    r = np.random.default_rng(0).normal(0.001, 0.01, 50)
    for bad in (0, -252, float("inf"), "252", True):
        with pytest.raises(ConfigError, match=r"periods_per_year must be a positive finite number, got .*; use 252 for daily, 52 for weekly, 12 for monthly returns"):
            sharpe_ratio(r, periods_per_year=bad)
    for bad in (0.0, 1.0, 95, -0.5):
        with pytest.raises(ConfigError, match=r"level must be in \(0, 1\), got .*; pass e\.g\. 0\.95 for a 95% interval"):
            sharpe_ci(r, level=bad)
    with pytest.raises(ConfigError, match=r"level must be in \(0, 1\), got 95"):
        performance_summary(r, level=95)
    with pytest.raises(ConfigError, match=r"method must be 'asymptotic' or 'bootstrap', got 'bayes'"):
        sharpe_ci(r, method="bayes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"n_boot must be an integer >= 100, got 10; 2000 is a good default"):
        sharpe_ci(r, method="bootstrap", n_boot=10)
    for bad in (0, 51, 2.5):
        with pytest.raises(ConfigError, match=r"block must be an integer in \[1, 50\] \(the number of observations\), got "):
            sharpe_ci(r, method="bootstrap", block=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"block is only used by method='bootstrap'; drop it or pass method='bootstrap'"):
        sharpe_ci(r, block=5)
    with pytest.raises(ConfigError, match=r"periods_per_year must be a positive finite number"):
        performance_summary(r, periods_per_year=0)
