"""Long-or-cash timing statistics: hand-computed returns, PSR/DSR closed forms and null calibration, HAC regime test
against statsmodels, pinned errors (REFERENCE §5)."""

import doctest
import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import latentquant.evaluation._series as series_module
import latentquant.evaluation.sharpe_inference as inference_module
import latentquant.evaluation.strategy as strategy_module
from latentquant.evaluation import (
    DeflatedSharpe,
    SharpeDifference,
    deflated_sharpe_ratio,
    hit_rate,
    long_cash_positions,
    newey_west_lags,
    probabilistic_sharpe_ratio,
    regime_importance_test,
    sharpe_difference_test,
    sharpe_ratio,
    strategy_returns,
    timing_returns,
    timing_statistics,
    timing_summary,
    turnover,
)
from latentquant.evaluation.sharpe_inference import _expected_max_sharpe, _hac_slope, _psr
from latentquant.exceptions import ConfigError, DataValidationError

DATES = pd.bdate_range("2021-03-01", periods=5)


@pytest.mark.parametrize("module", [strategy_module, inference_module, series_module], ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module, verbose=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("name", ["DeflatedSharpe", "SharpeDifference", "deflated_sharpe_ratio", "newey_west_lags",
                                  "regime_importance_test", "sharpe_difference_test"])
def test_names_moved_to_sharpe_inference_still_import_from_strategy_with_a_warning(name):
    with pytest.warns(FutureWarning, match=rf"strategy.{name} moved to latentquant.evaluation.sharpe_inference"):
        moved = getattr(strategy_module, name)
    assert moved is getattr(inference_module, name)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        strategy_module.nothing  # noqa: B018


# ------------------------------------------------------------------------------------------------------------------
# positions, strategy returns, turnover, hit rate
# ------------------------------------------------------------------------------------------------------------------
def test_long_cash_positions_threshold_is_strict_and_keeps_index():
    pred = pd.Series([0.002, -0.001, 0.0, 0.0005, 0.001], index=DATES)
    assert long_cash_positions(pred).tolist() == [1.0, 0.0, 0.0, 1.0, 1.0]
    pos = long_cash_positions(pred, threshold=0.001)
    assert pos.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert pos.index.equals(DATES) and pos.name == "position"


def test_strategy_returns_hand_computed_with_costs_and_rf_series():
    w = pd.Series([0.0, 1.0, 1.0, 0.0, 1.0], index=DATES)
    y = pd.Series([0.01, 0.02, -0.01, 0.03, -0.02], index=DATES)   # y_t = P[t+1]/P[t] - 1
    rf = pd.Series([0.0252, 0.0504, 0.0252, 0.0756, 0.0252], index=DATES)   # 1, 2, 1, 3, 1 bp a day
    r = strategy_returns(w, y, rf=rf, cost_bps=10)
    expected = [
        0.0001,                  # cash at 1 bp, no trade
        0.02 - 0.001,            # enter: asset return minus 10 bp
        -0.01,                   # hold
        0.0003 - 0.001,          # exit: cash at 3 bp minus 10 bp
        -0.02 - 0.001,           # re-enter
    ]
    np.testing.assert_allclose(r.to_numpy(), expected, rtol=0, atol=1e-15)
    assert r.index.equals(DATES) and r.name == "strategy"


def test_strategy_returns_first_entry_is_a_trade_and_no_shift_is_applied():
    y = np.array([0.01, 0.02, -0.01, 0.03, -0.02])
    r = strategy_returns(np.ones(5), y, cost_bps=25)
    np.testing.assert_allclose(r.to_numpy(), y - np.array([0.0025, 0, 0, 0, 0]), atol=1e-15)
    # buy-and-hold without costs is the asset itself, date by date (no shift)
    np.testing.assert_array_equal(strategy_returns(np.ones(5), y).to_numpy(), y)
    # fractional positions: cash weight is 1 - w
    r = strategy_returns([0.5] * 5, y, rf=0.252, periods_per_year=252)
    np.testing.assert_allclose(r.to_numpy(), 0.5 * y + 0.5 * 0.001, atol=1e-15)


def test_total_cost_equals_cost_times_turnover_times_periods():
    w = np.random.default_rng(0).random(50).round(1)
    r = strategy_returns(w, np.zeros(50), cost_bps=7)
    assert -r.sum() == pytest.approx(7e-4 * turnover(w) * 50, rel=1e-12)


def test_turnover_hand_computed():
    w = [0.5, 1.0, 0.0, 0.0, 1.0]   # |0.5| + 0.5 + 1 + 0 + 1 = 3 over 5 periods
    assert turnover(w) == pytest.approx(0.6)
    assert turnover(w, periods_per_year=252) == pytest.approx(0.6 * 252)
    assert turnover(np.zeros(10)) == 0.0


def test_hit_rate_drops_zero_realised_and_counts_zero_prediction_as_miss():
    pred = [0.1, -0.2, 0.3, 0.1, 0.0, -0.4]
    real = [0.01, -0.02, -0.03, 0.0, 0.01, -0.01]
    assert hit_rate(pred, real) == pytest.approx(3 / 5)   # day 4 dropped; day 5 (pred 0) a miss
    with pytest.raises(DataValidationError, match="all 3 realised returns are exactly 0"):
        hit_rate([0.1, 0.2, 0.3], [0.0, 0.0, 0.0])


def test_strategy_errors_are_pinned():
    w = pd.Series([1.0, 0.0, 1.0, 1.0, 0.0], index=DATES)
    y = pd.Series([0.01, 0.02, -0.01, 0.03, -0.02], index=DATES)
    with pytest.raises(DataValidationError, match="misaligned indexes.*positions.align"):
        strategy_returns(w, y.shift(1, freq="B"))
    with pytest.raises(DataValidationError, match="positions has 4 values but asset_returns has 5"):
        strategy_returns(w.to_numpy()[:4], y.to_numpy())
    with pytest.raises(DataValidationError, match=r"asset_returns has NaN at 2021-03-03 \(position 2\)"):
        strategy_returns(w, y.where(y > -0.005))
    with pytest.raises(DataValidationError, match="below -1"):
        strategy_returns(w, y - 1.5)
    with pytest.raises(ConfigError, match="cost_bps must be a number >= 0, got -1"):
        strategy_returns(w, y, cost_bps=-1)
    with pytest.raises(DataValidationError, match="misaligned indexes"):
        strategy_returns(w, y, rf=pd.Series(0.02, index=DATES[:4]))
    with pytest.raises(ConfigError, match="periods_per_year must be a positive finite number"):
        strategy_returns(w, y, periods_per_year=0)
    with pytest.raises(ConfigError, match="threshold must be a finite number"):
        long_cash_positions(y, threshold=float("nan"))
    with pytest.raises(ConfigError, match="periods_per_year"):
        turnover(w, periods_per_year=-1)


# ------------------------------------------------------------------------------------------------------------------
# probabilistic Sharpe ratio
# ------------------------------------------------------------------------------------------------------------------
def test_psr_is_one_half_at_own_sharpe_and_matches_closed_form():
    r = np.random.default_rng(1).standard_t(5, 600) * 0.01 + 0.0006
    assert probabilistic_sharpe_ratio(r, sharpe_ratio(r)) == pytest.approx(0.5, abs=1e-12)
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = stats.skew(r), stats.kurtosis(r, fisher=False)
    sr_star = 0.3 / math.sqrt(252)
    z = (sr - sr_star) * math.sqrt(599) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    assert probabilistic_sharpe_ratio(r, 0.3) == pytest.approx(stats.norm.cdf(z), rel=1e-12)
    # monotone in the benchmark, and rf enters through the excess returns
    assert probabilistic_sharpe_ratio(r, 1.0) < probabilistic_sharpe_ratio(r, 0.0)
    assert probabilistic_sharpe_ratio(r, rf=0.05) < probabilistic_sharpe_ratio(r)


def test_psr_with_benchmark_series_uses_its_sharpe():
    rng = np.random.default_rng(2)
    r = pd.Series(rng.normal(0.0008, 0.01, 500), index=pd.bdate_range("2010-01-01", periods=500))
    bench = pd.Series(rng.normal(0.0003, 0.012, 500), index=r.index)
    rf = pd.Series(np.linspace(0.0, 0.03, 500), index=r.index)
    assert probabilistic_sharpe_ratio(r, bench, rf=rf) == pytest.approx(
        probabilistic_sharpe_ratio(r, sharpe_ratio(bench, rf=rf), rf=rf), rel=1e-12)
    with pytest.raises(DataValidationError, match="misaligned"):
        probabilistic_sharpe_ratio(r, bench.iloc[1:])


def test_psr_is_calibrated_under_the_null():
    """iid normal returns with true Sharpe 0: PSR(0) ~ U(0, 1), so PSR > 0.95 in about 5% of samples."""
    rng = np.random.default_rng(3)
    psr = np.array([probabilistic_sharpe_ratio(rng.normal(0, 0.01, 250)) for _ in range(400)])
    rate = float(np.mean(psr > 0.95))
    assert 0.025 < rate < 0.085   # binomial(400, 0.05): sd 1.1%
    assert stats.kstest(psr, "uniform").pvalue > 0.01


def test_psr_penalises_negative_skew():
    rng = np.random.default_rng(4)
    base = rng.normal(0.001, 0.01, 1000)
    crashy = np.where(rng.random(1000) < 0.02, -0.06, 0.0022) + rng.normal(0, 0.003, 1000)
    crashy = (crashy - crashy.mean()) / crashy.std() * base.std() + base.mean()   # same mean and sd
    assert stats.skew(crashy) < -2
    assert probabilistic_sharpe_ratio(crashy) < probabilistic_sharpe_ratio(base)


def test_psr_errors_are_pinned():
    r = np.random.default_rng(0).normal(0, 0.01, 100)
    with pytest.raises(ConfigError, match="benchmark_sharpe must be finite"):
        probabilistic_sharpe_ratio(r, float("inf"))
    with pytest.raises(ConfigError, match="benchmark_sharpe must be an annualised Sharpe ratio"):
        probabilistic_sharpe_ratio(r, True)
    with pytest.raises(DataValidationError, match="returns has 2 observation"):
        probabilistic_sharpe_ratio(r[:2])
    with pytest.raises(DataValidationError, match="excess returns are constant"):
        probabilistic_sharpe_ratio(np.full(10, 0.001))
    with pytest.raises(DataValidationError, match="benchmark_sharpe has 50 values but returns has 100"):
        probabilistic_sharpe_ratio(r, r[:50])


# ------------------------------------------------------------------------------------------------------------------
# deflated Sharpe ratio
# ------------------------------------------------------------------------------------------------------------------
def test_dsr_reproduces_the_paper_example():
    """Bailey & López de Prado (2014), §3: SR 2.5 a year, T = 1250 days (250 a year), N = 100 trials with annualised
    variance 0.5, skew -3, kurtosis 10 → SR0 = 0.1132 per period, DSR = 0.9004."""
    sr0 = _expected_max_sharpe(0.5 / 250, 100)
    assert sr0 == pytest.approx(0.1132, abs=1e-4)
    assert _psr(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0) == pytest.approx(0.9004, abs=2e-4)


def test_expected_max_sharpe_matches_simulated_maximum():
    rng = np.random.default_rng(5)
    for n in (10, 100):
        simulated = rng.standard_normal((20000, n)).max(axis=1).mean()
        assert _expected_max_sharpe(1.0, n) == pytest.approx(simulated, rel=0.03)
    assert _expected_max_sharpe(4.0, 100) == pytest.approx(2 * _expected_max_sharpe(1.0, 100))


def test_dsr_deflates_and_rises_as_the_number_of_trials_falls():
    r = np.random.default_rng(0).normal(0.0008, 0.01, 1000)
    trials = np.linspace(-0.6, 0.6, 20)
    psr0 = probabilistic_sharpe_ratio(r, 0.0)
    dsrs = [deflated_sharpe_ratio(r, trials, n_trials=n).dsr for n in (20, 10, 5, 2)]
    assert all(d < psr0 for d in dsrs)
    assert all(a < b for a, b in itertools.pairwise(dsrs))
    out = deflated_sharpe_ratio(r, trials)
    assert isinstance(out, DeflatedSharpe)
    assert out.n_trials == 20 and out.n_obs == 1000 and out.sharpe == pytest.approx(sharpe_ratio(r))
    per_period = trials / math.sqrt(252)
    assert out.sr0 == pytest.approx(_expected_max_sharpe(np.var(per_period, ddof=1), 20) * math.sqrt(252))
    assert out.dsr == pytest.approx(probabilistic_sharpe_ratio(r, out.sr0))
    # more dispersion among trials, more deflation
    assert deflated_sharpe_ratio(r, 2 * trials).dsr < out.dsr


def test_dsr_with_one_trial_or_identical_trials_is_the_psr_against_zero():
    r = np.random.default_rng(0).normal(0.0008, 0.01, 1000)
    psr0 = probabilistic_sharpe_ratio(r, 0.0)
    one = deflated_sharpe_ratio(r, [0.52])
    assert one.sr0 == 0.0 and one.n_trials == 1 and one.dsr == pytest.approx(psr0)
    assert deflated_sharpe_ratio(r, [0.4, 0.4, 0.4]).sr0 == 0.0
    assert deflated_sharpe_ratio(r, [0.1, 0.5, 0.9], n_trials=1).dsr == pytest.approx(psr0)


def test_dsr_errors_are_pinned():
    r = np.random.default_rng(0).normal(0, 0.01, 100)
    with pytest.raises(ConfigError, match=r"n_trials must be an integer in \[1, 3\]"):
        deflated_sharpe_ratio(r, [0.1, 0.2, 0.3], n_trials=0)
    with pytest.raises(ConfigError, match=r"n_trials must be an integer in \[1, 3\]"):
        deflated_sharpe_ratio(r, [0.1, 0.2, 0.3], n_trials=4)
    with pytest.raises(DataValidationError, match="trial_sharpes has NaN at position 1"):
        deflated_sharpe_ratio(r, [0.1, float("nan")])
    with pytest.raises(DataValidationError, match="trial_sharpes has 0 observation"):
        deflated_sharpe_ratio(r, [])


# ------------------------------------------------------------------------------------------------------------------
# regime importance test
# ------------------------------------------------------------------------------------------------------------------
def _regime_data(seed: int, effect: float, t: int = 500) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-01", periods=t)
    high = pd.Series((np.arange(t) // 25) % 2 == 0, index=dates, name="high_vix")   # 25-day regimes
    noise = np.zeros((t, 2))
    for i in range(1, t):   # AR(1) noise: persistent importances
        noise[i] = 0.6 * noise[i - 1] + rng.normal(0, 0.1, 2)
    imp = pd.DataFrame({"vix": 0.3 + effect * high + noise[:, 0], "rsi": 0.3 + noise[:, 1]}, index=dates)
    return imp, high


def test_regime_test_matches_statsmodels_hac():
    imp, high = _regime_data(0, 0.05)
    for lags in (None, 0, 12):
        out = regime_importance_test(imp, high, lags=lags)
        maxlags = newey_west_lags(len(imp)) if lags is None else lags
        assert out.attrs["lags"] == maxlags
        for col in imp.columns:
            ref = sm.OLS(imp[col].to_numpy(), sm.add_constant(high.to_numpy(dtype=float))).fit(
                cov_type="HAC", cov_kwds={"maxlags": maxlags})
            assert out.loc[col, "diff"] == pytest.approx(ref.params[1], rel=1e-10)
            assert out.loc[col, "t_stat"] == pytest.approx(ref.tvalues[1], rel=1e-8)
            assert out.loc[col, "p_value"] == pytest.approx(ref.pvalues[1], rel=1e-8, abs=1e-300)
            assert out.loc[col, "diff"] == pytest.approx(imp[col][high].mean() - imp[col][~high].mean(), rel=1e-10)
    assert list(out.columns) == ["mean_high", "mean_low", "diff", "t_stat", "p_value"]
    assert out.attrs["n_high"] + out.attrs["n_low"] == len(imp)


def test_regime_test_detects_a_planted_difference_and_not_a_spurious_one():
    imp, high = _regime_data(1, 0.15)
    out = regime_importance_test(imp, high)
    assert out.loc["vix", "p_value"] < 0.01 and out.loc["vix", "diff"] == pytest.approx(0.15, abs=0.06)
    assert out.loc["rsi", "p_value"] > 0.05
    # under the null, rejections at 5% stay near 5% (HAC keeps persistent noise from looking significant)
    # (iid-style errors, lags=0, reject far more often: the point of HAC here)
    def rejection_rate(lags: int) -> float:
        pvals = [regime_importance_test(*_regime_data(s, 0.0, t=300), lags=lags).loc["vix", "p_value"]
                 for s in range(60)]
        return float(np.mean(np.array(pvals) < 0.05))

    hac, white = rejection_rate(10), rejection_rate(0)
    assert hac < 0.2 and white > hac + 0.1


def test_regime_test_accepts_zero_one_regime():
    imp, high = _regime_data(0, 0.1)
    a = regime_importance_test(imp, high)
    b = regime_importance_test(imp, high.astype(int))
    pd.testing.assert_frame_equal(a, b)


def test_regime_test_errors_are_pinned():
    imp, high = _regime_data(0, 0.1, t=60)
    with pytest.raises(DataValidationError, match="importance and regime have misaligned indexes"):
        regime_importance_test(imp, high.iloc[1:])
    bad = imp.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(DataValidationError, match=r"column 'rsi'.*NaN at 2015-01-06 \(position 3\)"):
        regime_importance_test(bad, high)
    with pytest.raises(DataValidationError, match="regime has 60 high and 0 low date"):
        regime_importance_test(imp, high | True)
    with pytest.raises(DataValidationError, match="regime must be boolean or 0/1"):
        regime_importance_test(imp, high * 2.0)
    with pytest.raises(DataValidationError, match=r"regime has missing values \(first at 2015-01-01"):
        regime_importance_test(imp, high.astype(object).where(high.index != high.index[0]))
    with pytest.raises(DataValidationError, match="importance dates must be unique and sorted ascending"):
        regime_importance_test(imp.iloc[::-1], high.iloc[::-1])
    with pytest.raises(ConfigError, match=r"lags must be an integer in \[0, 59\]"):
        regime_importance_test(imp, high, lags=60)
    with pytest.raises(DataValidationError, match="importance must be a pandas DataFrame"):
        regime_importance_test(imp["vix"], high)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="regime must be a boolean pandas Series"):
        regime_importance_test(imp, high.to_numpy())  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------------------
# timing summary
# ------------------------------------------------------------------------------------------------------------------
def test_timing_summary_rows_match_the_building_blocks():
    rng = np.random.default_rng(6)
    dates = pd.bdate_range("2019-01-01", periods=300)
    y = pd.Series(rng.normal(0.0004, 0.01, 300), index=dates)
    preds = pd.DataFrame({"noisy": y + rng.normal(0, 0.01, 300), "never": -np.ones(300)}, index=dates)
    rf = pd.Series(np.linspace(0.01, 0.03, 300), index=dates)
    table = timing_summary(preds, y, rf=rf, cost_bps=5)
    assert table.index.tolist() == ["noisy", "never", "buy_and_hold"]
    pos = long_cash_positions(preds["noisy"])
    r = strategy_returns(pos, y, rf=rf, cost_bps=5)
    row = table.loc["noisy"]
    assert row["sharpe_excess"] == pytest.approx(sharpe_ratio(r, rf=rf), rel=1e-12)
    assert row["sharpe_rf0"] == pytest.approx(sharpe_ratio(strategy_returns(pos, y, cost_bps=5)), rel=1e-12)
    assert row["hit_rate"] == pytest.approx(hit_rate(preds["noisy"], y))
    assert row["turnover"] == pytest.approx(turnover(pos) * 252)
    assert row["psr"] == pytest.approx(probabilistic_sharpe_ratio(r, rf=rf), rel=1e-10)
    assert table.loc["buy_and_hold", "time_in_market"] == 1.0
    assert table.loc["buy_and_hold", "turnover"] == pytest.approx(252 / 300)
    assert np.isnan(table.loc["never", "sharpe_excess"]) and table.loc["never", "max_drawdown"] == 0.0
    flat = timing_summary(preds[["noisy"]], y)
    assert flat.loc["noisy", "sharpe_rf0"] == pytest.approx(flat.loc["noisy", "sharpe_excess"], rel=1e-12)


def test_timing_summary_errors_are_pinned():
    dates = pd.bdate_range("2019-01-01", periods=20)
    y = pd.Series(np.linspace(-0.01, 0.01, 20), index=dates)
    with pytest.raises(DataValidationError, match="predictions must be a DataFrame"):
        timing_summary(y, y)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="already has a column 'buy_and_hold'"):
        timing_summary(pd.DataFrame({"buy_and_hold": y}), y)
    with pytest.raises(DataValidationError, match="predictions and asset_returns have misaligned indexes"):
        timing_summary(y.to_frame("a"), y.iloc[:-1])
    with pytest.raises(DataValidationError, match=r"strategy 'a': predictions has NaN"):
        timing_summary(y.where(y > -0.009).to_frame("a"), y)


# --------------------------------------------------------------------------------------------------------------------
# paired bootstrap test of a Sharpe-ratio difference
# --------------------------------------------------------------------------------------------------------------------
def test_sharpe_difference_is_the_difference_of_sharpe_ratios():
    from latentquant.evaluation import sharpe_difference_test, sharpe_ratio

    rng = np.random.default_rng(3)
    a, b = rng.normal(0.0006, 0.01, 800), rng.normal(0.0002, 0.01, 800)
    out = sharpe_difference_test(a, b, n_boot=300, seed=1)
    assert out.difference == pytest.approx(sharpe_ratio(a) - sharpe_ratio(b), rel=1e-12)
    assert out.low < out.difference < out.high and out.se > 0
    assert out == sharpe_difference_test(a, b, n_boot=300, seed=1)  # same seed, same numbers
    assert "paired stationary bootstrap" in str(out)


def test_sharpe_difference_pairing_detects_what_separate_intervals_miss():
    from latentquant.evaluation import sharpe_ci, sharpe_difference_test

    rng = np.random.default_rng(0)
    market = rng.normal(0.0003, 0.01, 2000)
    better = market + 0.0004 + rng.normal(0, 0.001, 2000)  # the market plus 10% a year, nearly the same risk
    out = sharpe_difference_test(better, market, n_boot=500, seed=0)
    assert out.p_value < 0.01 and out.low > 0
    ci_a, ci_b = sharpe_ci(better, method="bootstrap", n_boot=500), sharpe_ci(market, method="bootstrap", n_boot=500)
    assert ci_a.low < ci_b.high  # the two separate intervals overlap


def test_sharpe_difference_null_rejection_rate():
    from latentquant.evaluation import sharpe_difference_test

    rng = np.random.default_rng(7)
    rejections = 0
    for i in range(150):
        m = rng.normal(0.0004, 0.01, 750)
        noisy = m + rng.normal(0, 0.003, 750)  # same mean, slightly more risk: almost the same Sharpe ratio
        rejections += sharpe_difference_test(noisy, m, n_boot=200, seed=i).p_value < 0.05
    assert 0.0 < rejections / 150 < 0.12


def test_sharpe_difference_errors():
    from latentquant.evaluation import sharpe_difference_test

    x = np.random.default_rng(0).normal(0, 0.01, 50)
    with pytest.raises(ConfigError, match="n_boot must be an integer >= 100"):
        sharpe_difference_test(x, x, n_boot=10)
    with pytest.raises(ConfigError, match=r"level must be a number in \(0, 1\), got 95"):
        sharpe_difference_test(x, x, level=95)
    with pytest.raises(ConfigError, match=r"block must be an integer in \[1, 50\]"):
        sharpe_difference_test(x, x, block=0)
    with pytest.raises(DataValidationError, match="returns has 50 values but benchmark has 49"):
        sharpe_difference_test(x, x[:-1])
    with pytest.raises(DataValidationError, match="had defined Sharpe ratios for both series"):
        sharpe_difference_test(np.r_[0.01, np.zeros(49)], x, n_boot=200)


# --------------------------------------------------------------------------------------------------------------------
# one strategy's statistics, result objects, the shared Newey-West kernel
# --------------------------------------------------------------------------------------------------------------------
def test_timing_statistics_hand_computed():
    dates = pd.bdate_range("2021-03-01", periods=5)
    pred = pd.Series([0.2, -0.1, 0.3, 0.1, -0.2], index=dates)
    y = pd.Series([0.01, -0.02, 0.03, -0.01, 0.02], index=dates)
    stats = timing_statistics(pred, y, cost_bps=10)
    # long, cash, long, long, cash: three position changes (entry, exit, re-entry, exit = 4) over 5 days
    assert stats["time_in_market"] == pytest.approx(3 / 5)
    assert stats["turnover"] == pytest.approx(4 / 5)
    assert stats["hit_rate"] == pytest.approx(3 / 5)  # days 1, 2, 3 right; 4 and 5 wrong
    assert stats["mse"] == pytest.approx(np.mean((pred - y) ** 2))
    assert stats["r2_oos"] == pytest.approx(1 - ((y - pred) ** 2).sum() / (y**2).sum())
    r = [0.01 - 0.001, -0.001, 0.03 - 0.001, -0.01, -0.001]  # cost 10 bp on each change
    assert stats["sharpe_rf0"] == pytest.approx(np.mean(r) / np.std(r, ddof=1) * math.sqrt(252))
    assert stats["sharpe_excess"] == stats["sharpe_rf0"]
    assert stats["max_drawdown"] == pytest.approx(1 - (1.009 * 0.999 * 1.029 * 0.99 * 0.999) / (1.009 * 0.999 * 1.029))
    assert stats["n_obs"] == 5.0 and stats.name == "timing"
    pd.testing.assert_series_equal(timing_returns(pred, y, cost_bps=10), pd.Series(r, index=dates, name="strategy"))


def test_timing_statistics_with_a_cash_yield_and_a_dead_predictor():
    rng = np.random.default_rng(2)
    dates = pd.bdate_range("2019-01-01", periods=200)
    y = pd.Series(rng.normal(0.0004, 0.01, 200), index=dates)
    rf = pd.Series(0.02, index=dates)
    pred = y + rng.normal(0, 0.01, 200)
    stats = timing_statistics(pred, y, rf=rf)
    r = timing_returns(pred, y, rf=rf)
    assert stats["sharpe_excess"] == pytest.approx(sharpe_ratio(r, rf=rf), rel=1e-12)
    assert stats["ann_return"] == pytest.approx(r.mean() * 252)
    never = timing_statistics(-np.ones(200), y.to_numpy())
    assert np.isnan(never["sharpe_rf0"]) and never["time_in_market"] == 0.0 and never["max_drawdown"] == 0.0
    assert never["r2_oos"] < 0  # predicting -1 every day is far worse than predicting 0
    with pytest.raises(ConfigError, match="cost_bps must be a number >= 0, got -5"):
        timing_statistics(pred, y, cost_bps=-5)
    with pytest.raises(DataValidationError, match="predictions and asset_returns have misaligned indexes"):
        timing_statistics(pred, y.iloc[1:])


def test_timing_summary_is_built_on_timing_statistics():
    rng = np.random.default_rng(4)
    dates = pd.bdate_range("2019-01-01", periods=150)
    y = pd.Series(rng.normal(0.0004, 0.01, 150), index=dates)
    preds = pd.DataFrame({"a": y + rng.normal(0, 0.01, 150)}, index=dates)
    table = timing_summary(preds, y, rf=0.01, cost_bps=3, buy_and_hold=False)
    stats = timing_statistics(preds["a"], y, rf=0.01, cost_bps=3)
    for col in ("sharpe_rf0", "sharpe_excess", "ann_return", "ann_vol", "max_drawdown", "hit_rate", "time_in_market"):
        assert table.loc["a", col] == stats[col]
    assert table.loc["a", "turnover"] == stats["turnover"] * 252


def test_hac_slope_equals_the_newey_west_loop():
    """The regime test's standard error through the shared kernel equals the loop it replaced (to 1e-12)."""
    rng = np.random.default_rng(8)
    d = (np.arange(300) // 30 % 2).astype(float)
    y = 0.3 + 0.05 * d + rng.normal(0, 0.1, 300)
    for lags in (0, 1, 7, 299):
        x = np.column_stack([np.ones_like(d), d])
        xtx_inv = np.linalg.inv(x.T @ x)
        beta = xtx_inv @ (x.T @ y)
        scores = x * (y - x @ beta)[:, None]
        s = scores.T @ scores
        for lag in range(1, lags + 1):
            g = scores[lag:].T @ scores[:-lag]
            s += (1.0 - lag / (lags + 1.0)) * (g + g.T)
        se = math.sqrt((xtx_inv @ s @ xtx_inv)[1, 1])
        slope, hac_se = _hac_slope(y, d, lags)
        assert slope == pytest.approx(beta[1], rel=1e-12) and hac_se == pytest.approx(se, rel=1e-12)


def test_test_results_have_summary_and_to_dict():
    rng = np.random.default_rng(1)
    market = rng.normal(0.0004, 0.01, 600)
    timing = np.where(rng.random(600) < 0.7, market, 0.0)
    diff = sharpe_difference_test(timing, market, n_boot=200)
    assert isinstance(diff, SharpeDifference)
    d = diff.to_dict()
    assert d["difference"] == diff.difference and d["n_boot"] == 200 and list(d)[:2] == ["difference", "se"]
    text = diff.summary()
    assert text.splitlines()[0] == str(diff) and "p_value" in text
    assert "<table" in diff.summary("html") and "\\begin{tabular}" in diff.summary("latex")
    dsr = deflated_sharpe_ratio(timing, [0.5, 0.1, -0.2])
    assert isinstance(dsr, DeflatedSharpe) and dsr.to_dict()["n_trials"] == 3
    assert "deflated Sharpe ratio" in dsr.summary()
    with pytest.raises(ConfigError, match=r"fmt must be one of \['text', 'html', 'latex'\], got 'pdf'"):
        dsr.summary("pdf")  # type: ignore[arg-type]
