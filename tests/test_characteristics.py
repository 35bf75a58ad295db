"""Monthly price-based characteristics from daily prices: timing (no look-ahead), hand values, returns, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest

from latentquant.data import CHARACTERISTICS, Panel, bundled_price_panel, price_characteristics
from latentquant.exceptions import ConfigError, DataValidationError

DATES = pd.bdate_range("2016-01-01", "2019-12-31")  # 48 complete months (2019-12-31 is a business day)


def month_end_positions(index):
    """Row positions of the last trading day of each calendar month."""
    return pd.Series(np.arange(len(index)), index=index.to_period("M")).groupby(level=0).max()


def random_prices(seed=0, n_assets=4, dates=DATES):
    rng = np.random.default_rng(seed)
    mkt_ret = rng.normal(0.0003, 0.01, len(dates))
    market = pd.Series(100 * np.cumprod(1 + mkt_ret), index=dates)
    noise = rng.normal(0, 0.015, (len(dates), n_assets))
    rets = 0.0002 + rng.uniform(0.5, 1.5, n_assets) * mkt_ret[:, None] + noise
    prices = pd.DataFrame(50 * np.cumprod(1 + rets, axis=0), index=dates, columns=[f"s{i}" for i in range(n_assets)])
    return prices, market


def test_constant_growth_path_gives_known_momentum_reversal_vol_and_return():
    c = 0.001
    prices = pd.DataFrame({"g": 10 * np.exp(c * np.arange(len(DATES)))}, index=DATES)
    _, market = random_prices()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        panel = price_characteristics(prices, market, min_days=20)
    z = panel.characteristics.xs("g", level=1)
    r = panel.returns.xs("g", level=1)
    pos = month_end_positions(DATES).to_numpy()  # pos[m] for months m = 0..47; rows are months 1..47
    assert len(z) == 47 and z.index[0] == pd.Timestamp("2016-02-29") and z.index[-1] == pd.Timestamp("2019-12-31")
    assert list(z.columns) == list(CHARACTERISTICS)
    t = np.arange(1, 48)
    np.testing.assert_allclose(r.to_numpy(), np.exp(c * (pos[t] - pos[t - 1])) - 1, rtol=1e-12)
    np.testing.assert_allclose(z["rev1"].to_numpy()[1:], np.exp(c * (pos[t[1:] - 1] - pos[t[1:] - 2])) - 1, rtol=1e-10)
    assert np.isnan(z["rev1"].iloc[0])  # month 1: needs P_{-1}
    # mom12_2 = P_{t-2}/P_{t-13} - 1: NaN until t = 13, then exactly known
    assert z["mom12_2"].iloc[:12].isna().all()
    tt = t[12:]
    np.testing.assert_allclose(z["mom12_2"].to_numpy()[12:], np.exp(c * (pos[tt - 2] - pos[tt - 13])) - 1, rtol=1e-10)
    tt = t[6:]
    assert z["mom6"].iloc[:6].isna().all()
    np.testing.assert_allclose(z["mom6"].to_numpy()[6:], np.exp(c * (pos[tt - 2] - pos[tt - 7])) - 1, rtol=1e-10)
    tt = t[36:]
    assert z["mom36"].iloc[:36].isna().all()
    np.testing.assert_allclose(z["mom36"].to_numpy()[36:], np.exp(c * (pos[tt - 13] - pos[tt - 37])) - 1, rtol=1e-10)
    # constant daily return: zero volatility, every day is a new high, max daily return = e^c - 1
    later = z.iloc[3:]
    np.testing.assert_allclose(later["vol"], 0.0, atol=1e-12)
    np.testing.assert_allclose(later["dist_high"], 0.0, atol=1e-12)
    np.testing.assert_allclose(z["max_ret"], np.exp(c) - 1, rtol=1e-9)
    np.testing.assert_allclose(z["log_price"], np.log(10) + c * pos[t - 1], rtol=1e-12)
    assert later["skew"].isna().all()  # undefined without dispersion, not a numerical artefact


def test_stock_twice_the_market_has_beta_two_and_no_idiosyncratic_vol_and_rolling_stats_match_numpy():
    prices, market = random_prices(seed=1, n_assets=1)
    mret = market.pct_change()
    prices["double"] = 50 * np.cumprod(1 + 2 * mret.fillna(0.0))
    panel = price_characteristics(prices, market, min_days=60)
    z = panel.characteristics
    dbl = z.xs("double", level=1).dropna(subset=["beta"])
    assert len(dbl) >= 40
    np.testing.assert_allclose(dbl["beta"], 2.0, rtol=1e-8)
    np.testing.assert_allclose(dbl["idio_vol"], 0.0, atol=1e-8)
    # one row checked against numpy: month t = 2018-07, data through the last trading day of 2018-06
    end = DATES[month_end_positions(DATES)[pd.Period("2018-06")]]
    row = z.loc[(pd.Timestamp("2018-07-31"), "s0")]
    daily = prices["s0"].pct_change().loc[:end]
    y, x = daily.iloc[-252:].to_numpy(), mret.loc[:end].iloc[-252:].to_numpy()
    b, a = np.polyfit(x, y, 1)
    assert row["beta"] == pytest.approx(b, rel=1e-9)
    assert row["idio_vol"] == pytest.approx(np.sqrt(np.sum((y - a - b * x) ** 2) / (252 - 2)), rel=1e-9)
    assert row["vol"] == pytest.approx(np.std(daily.iloc[-63:].to_numpy(), ddof=1), rel=1e-9)
    assert row["skew"] == pytest.approx(daily.iloc[-252:].skew(), rel=1e-7)
    assert row["max_ret"] == pytest.approx(daily.loc["2018-06"].max(), rel=1e-12)
    p = prices["s0"].loc[:end]
    assert row["dist_high"] == pytest.approx(p.iloc[-1] / p.iloc[-252:].max() - 1, rel=1e-12)
    # the first months lack 60 daily returns: NaN there, not a short-window estimate
    assert z.xs("s0", level=1)["beta"].iloc[:2].isna().all()


@pytest.mark.parametrize("cut", ["2017-06-14", "2017-06-30", "2018-02-28", "2019-03-01"])
def test_no_look_ahead_perturbing_prices_after_a_date(cut):
    prices, market = random_prices(seed=2)
    rng = np.random.default_rng(5)
    cut = pd.Timestamp(cut)
    after = prices.index > cut
    bumped_p = prices.copy()
    bumped_p.loc[after] *= rng.uniform(0.5, 2.0, (int(after.sum()), prices.shape[1]))
    bumped_m = market.copy()
    bumped_m.loc[after] *= rng.uniform(0.5, 2.0, int(after.sum()))
    base = price_characteristics(prices, market, min_days=20)
    pert = price_characteristics(bumped_p, bumped_m, min_days=20)
    pos = month_end_positions(DATES)
    end_of = {(p + 1).to_timestamp() + pd.offsets.MonthEnd(0): DATES[i] for p, i in pos.items()}  # row t -> end(t-1)
    row_dates = base.characteristics.index.get_level_values(0)
    known = np.array([end_of[d] <= cut for d in row_dates])
    pd.testing.assert_frame_equal(pert.characteristics[known], base.characteristics[known])
    # returns of months ending on or before the cut are unchanged
    month_end_day = {(p.to_timestamp() + pd.offsets.MonthEnd(0)): DATES[i] for p, i in pos.items()}
    ended = np.array([month_end_day[d] <= cut for d in base.returns.index.get_level_values(0)])
    pd.testing.assert_series_equal(pert.returns[ended], base.returns[ended])
    # and the test has teeth: the first row whose month t-1 contains the cut does change
    first_after = row_dates[~known][0]
    assert not np.allclose(pert.characteristics.loc[first_after, "rev1"], base.characteristics.loc[first_after, "rev1"])


def test_monthly_return_is_month_end_price_ratio_minus_rf_over_1200():
    prices, market = random_prices(seed=3, n_assets=2)
    prices.iloc[month_end_positions(DATES)[pd.Period("2017-03")], 1] = np.nan  # s1 has no March 2017 month-end price
    rf = pd.Series(np.linspace(1.0, 5.0, len(DATES)), index=DATES)  # percent per year, changes every day
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the stock-months without a return are dropped quietly, as documented
        raw = price_characteristics(prices, market)
        ex = price_characteristics(prices, market, rf=rf)
    month_p = prices.iloc[month_end_positions(DATES).to_numpy()]
    ratio = (month_p / month_p.shift(1) - 1).iloc[1:]
    ends = month_p.index[:-1]
    expect = ratio.sub(rf.loc[ends].to_numpy() / 1200.0, axis=0)
    expect.index = ratio.index.to_period("M").to_timestamp() + pd.offsets.MonthEnd(0)
    long = expect.stack().dropna()
    assert ("2017-03-31", "s1") not in ex.returns.index and ("2017-04-30", "s1") not in ex.returns.index
    assert ("2017-03-31", "s0") in ex.returns.index
    np.testing.assert_allclose(ex.returns.to_numpy(), long.to_numpy(), rtol=1e-12)
    rate = pd.Series(rf.loc[ends].to_numpy() / 1200.0, index=expect.index)
    gap = raw.returns - ex.returns
    np.testing.assert_allclose(gap.to_numpy(), rate.reindex(gap.index.get_level_values(0)).to_numpy(), rtol=1e-9)
    pd.testing.assert_frame_equal(raw.characteristics, ex.characteristics)  # rf only changes the returns


def test_volume_adds_amihud_illiquidity():
    c = 0.002
    prices = pd.DataFrame({"g": 10 * np.exp(c * np.arange(len(DATES)))}, index=DATES)
    volume = pd.DataFrame({"g": np.full(len(DATES), 1000.0)}, index=DATES)
    _, market = random_prices()
    panel = price_characteristics(prices, market, volume=volume)
    z = panel.characteristics.xs("g", level=1)
    assert "illiq" in z.columns and "illiq" not in price_characteristics(prices, market).characteristics
    june = prices["g"].loc["2018-06"]
    expect = np.mean(1e6 * (np.exp(c) - 1) / (june.to_numpy() * 1000.0))
    assert z.loc["2018-07-31", "illiq"] == pytest.approx(expect, rel=1e-9)


@pytest.fixture(scope="module")
def bundled():
    return bundled_price_panel()


def test_bundled_price_panel_shape_columns_and_values(bundled):
    assert isinstance(bundled, Panel)
    assert bundled.n_assets == 20 and 370 <= bundled.n_periods <= 400
    dates = bundled.dates
    assert dates[0] == pd.Timestamp("1990-02-28") and dates[-1] == pd.Timestamp("2022-11-30")  # Dec 2022 incomplete
    z = bundled.characteristics
    assert z.shape[1] >= 10 and list(z.columns) == list(CHARACTERISTICS)
    values = z.to_numpy()
    assert not np.isinf(values).any()
    assert np.isnan(values).mean() < 0.05  # NaN only where history is short
    assert (z["dist_high"].dropna() <= 0).all() and (z["vol"].dropna() >= 0).all()
    assert 0.5 < z["beta"].median() < 1.5
    assert bundled.rank().characteristics.abs().max().max() == 1.0


def test_bundled_price_panel_window_and_risk_free(bundled):
    year = bundled_price_panel(start="2000", end="2000", rf=False)
    assert year.n_periods == 12 and year.dates[0] == pd.Timestamp("2000-01-31")
    pd.testing.assert_frame_equal(year.characteristics, bundled.characteristics.loc["2000-01-31":"2000-12-31"])
    gap = year.returns - bundled.returns.loc["2000-01-31":"2000-12-31"]
    # 3-month T-bill yields were ≈ 5–6.5 % in 2000: 0.4–0.55 % a month, the same for every stock in a month
    per_month = gap.groupby(level=0)
    assert (per_month.std() < 1e-12).all() and gap.between(0.004, 0.0055).all()
    with pytest.raises(ConfigError, match=r"end \(1999-12-31\) is before start"):
        bundled_price_panel(start="2000-01", end="1999")


def test_errors_are_pinned():
    prices, market = random_prices(seed=4, n_assets=2)
    with pytest.raises(DataValidationError, match="prices must have a daily DatetimeIndex, got RangeIndex"):
        price_characteristics(prices.reset_index(drop=True), market)
    monthly = prices.iloc[month_end_positions(DATES).to_numpy()]
    with pytest.raises(DataValidationError, match=r"prices must be daily .* median spacing of its dates is 3\d\.\d"):
        price_characteristics(monthly, market)
    with pytest.raises(DataValidationError, match="market has no value on 2016-01-05 "):
        price_characteristics(prices, market.drop(DATES[2]))
    with pytest.raises(DataValidationError, match="market has no value on 2016-01-01 "):
        price_characteristics(prices, market.shift(1, freq="D"))  # misaligned calendar
    with pytest.raises(DataValidationError, match=r"prices span 1 complete month\(s\).*too short a history"):
        price_characteristics(prices.loc[:"2016-02-15"], market)
    with pytest.raises(DataValidationError, match=r"prices must be positive; 's1' is -1\.0 on 2016-03-01"):
        price_characteristics(prices.assign(s1=prices["s1"].where(prices.index != "2016-03-01", -1.0)), market)
    late_rf = pd.Series(2.0, index=DATES[DATES >= "2017-01-01"])
    with pytest.raises(DataValidationError, match="rf has no value on or before 2016-01-31"):
        price_characteristics(prices, market, rf=late_rf)
    with pytest.raises(ConfigError, match="min_days must be an integer >= 3, got 2"):
        price_characteristics(prices, market, min_days=2)
    with pytest.raises(DataValidationError, match="volume must be a DataFrame on the same dates as prices"):
        price_characteristics(prices, market, volume=prices.iloc[:-1])
