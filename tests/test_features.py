"""Tests of latentquant.features: no look-ahead, closed forms, errors, lags, drop report, bundled data."""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import pandas as pd
import pytest

from latentquant.datasets import load_sp500_index, load_treasury_yields, load_vix
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.features import (
    CLOSE_FEATURES,
    HIGH_LOW_FEATURES,
    MACRO_FEATURES,
    VOLUME_FEATURES,
    feature_matrix,
    macro_features,
    next_day_return,
    technical_features,
)
from latentquant.features import technical as technical_module


def _random_walk(n: int = 400, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2010-01-01", periods=n)
    return pd.Series(100.0 * np.exp(np.cumsum(0.01 * rng.standard_normal(n))), index=idx, name="px")


def _ohlcv(close: pd.Series, seed: int = 1) -> tuple[pd.Series, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    spread = close * 0.01 * (1.0 + rng.random(len(close)))
    high = close + spread
    low = close - spread
    volume = pd.Series(1e6 * (1.0 + rng.random(len(close))), index=close.index)
    return high, low, volume


def _macro(index: pd.DatetimeIndex, seed: int = 2) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    vix = pd.Series(20.0 + np.abs(np.cumsum(rng.standard_normal(len(index)))), index=index)
    # yields observed on every other day only, first observation after the 3rd date: exercises the forward fill
    yidx = index[3::2]
    yields = pd.DataFrame(
        {"3M": 1.0 + 0.1 * rng.standard_normal(len(yidx)), "10Y": 2.5 + 0.1 * rng.standard_normal(len(yidx))},
        index=yidx,
    )
    return vix, yields


def test_doctests() -> None:
    result = doctest.testmod(technical_module, verbose=False)
    assert result.attempted >= 4 and result.failed == 0


# ---------------------------------------------------------------- no look-ahead


def test_technical_features_have_no_look_ahead() -> None:
    close = _random_walk(400)
    high, low, volume = _ohlcv(close)
    base = technical_features(close, high=high, low=low, volume=volume, lags=2)
    cut = 300  # date D = close.index[cut]
    rng = np.random.default_rng(5)
    bump = pd.Series(1.0, index=close.index)
    bump.iloc[cut + 1 :] = np.exp(0.2 * rng.standard_normal(len(close) - cut - 1))
    pert = technical_features(close * bump, high=high * bump, low=low * bump, volume=volume * bump, lags=2)
    pd.testing.assert_frame_equal(base.iloc[: cut + 1], pert.iloc[: cut + 1])
    # and the perturbation does reach the features after D (the test is not vacuous)
    assert not np.allclose(base.iloc[cut + 1 :].to_numpy(), pert.iloc[cut + 1 :].to_numpy(), equal_nan=True)


def test_macro_features_have_no_look_ahead() -> None:
    idx = _random_walk(120).index
    vix, yields = _macro(idx)
    base = macro_features(vix, yields)
    d = idx[60]
    vix2 = vix.copy()
    vix2[vix2.index > d] *= 3.0
    yields2 = yields.copy()
    yields2[yields2.index > d] += 5.0
    # also insert a brand-new yield observation right after D: must not be back-filled onto D
    extra = pd.DataFrame({"3M": [9.0], "10Y": [9.0]}, index=[d + pd.Timedelta(hours=12)])
    yields2 = pd.concat([yields2, extra]).sort_index()
    pert = macro_features(vix2, yields2)
    pd.testing.assert_frame_equal(base.loc[:d], pert.loc[:d])
    assert not np.allclose(base.loc[base.index > d].to_numpy(), pert.loc[pert.index > d].to_numpy())


def test_target_uses_only_the_next_close() -> None:
    close = _random_walk(50)
    base = next_day_return(close)
    k = 30  # D = index[k]
    later = close.copy()
    later.iloc[k + 1 :] *= 1.7  # perturb strictly after D
    pd.testing.assert_series_equal(base.iloc[: k + 1 - 1], next_day_return(later).iloc[: k])
    # target at D-1 uses close_D: unchanged when only dates > D move, changed when close_D moves
    assert next_day_return(later).iloc[k - 1] == base.iloc[k - 1]
    at_d = close.copy()
    at_d.iloc[k] *= 1.1
    moved = next_day_return(at_d)
    assert moved.iloc[k - 1] != base.iloc[k - 1]
    pd.testing.assert_series_equal(moved.iloc[: k - 1], base.iloc[: k - 1])


def test_feature_matrix_rows_have_no_look_ahead() -> None:
    close = _random_walk(400)
    vix, yields = _macro(close.index)
    X, y, _ = feature_matrix(close, vix, yields, lags=1, warn=False)
    d = close.index[320]
    close2 = close.copy()
    close2[close2.index > d] *= 1.3
    vix2 = vix.copy()
    vix2[vix2.index > d] += 4.0
    yields2 = yields.copy()
    yields2[yields2.index > d] -= 0.5
    X2, y2, _ = feature_matrix(close2, vix2, yields2, lags=1, warn=False)
    pd.testing.assert_frame_equal(X.loc[:d], X2.loc[:d])
    before = y.index < close.index[319]  # targets strictly before D-1
    pd.testing.assert_series_equal(y[before], y2[y2.index < close.index[319]])


# ---------------------------------------------------------------- closed forms


def test_rsi_of_strictly_rising_series_is_100() -> None:
    close = pd.Series(np.linspace(10.0, 50.0, 60), index=pd.bdate_range("2020-01-01", periods=60))
    rsi = technical_features(close, features=["rsi14"])["rsi14"]
    assert rsi.iloc[:14].isna().all()
    np.testing.assert_array_equal(rsi.iloc[14:].to_numpy(), 100.0)


def test_constant_series_closed_forms() -> None:
    close = pd.Series(42.0, index=pd.bdate_range("2020-01-01", periods=250))
    feats = technical_features(close)
    assert feats["price_sma10"].iloc[:9].isna().all()
    np.testing.assert_array_equal(feats["price_sma10"].iloc[9:].to_numpy(), 1.0)
    np.testing.assert_array_equal(feats["price_sma200"].iloc[199:].to_numpy(), 1.0)
    # documented: a zero-width Bollinger band gives %B = 0.5 (price on the middle band), not NaN/inf
    assert feats["bb_pctb20"].iloc[:19].isna().all()
    np.testing.assert_array_equal(feats["bb_pctb20"].iloc[19:].to_numpy(), 0.5)
    np.testing.assert_allclose(feats["roc10"].iloc[10:].to_numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(feats["stddev20"].iloc[19:].to_numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(feats["macd"].dropna().to_numpy(), 0.0, atol=1e-12)


def test_bollinger_pctb_matches_definition() -> None:
    close = _random_walk(80)
    pctb = technical_features(close, features=["bb_pctb20"])["bb_pctb20"]
    mean = close.rolling(20).mean()
    std = close.rolling(20).std(ddof=0)
    expected = (close - (mean - 2 * std)) / (4 * std)
    np.testing.assert_allclose(pctb.iloc[19:].to_numpy(), expected.iloc[19:].to_numpy(), rtol=1e-8)


def test_next_day_return_exact_values() -> None:
    close = pd.Series([100.0, 110.0, 99.0, 99.0], index=pd.bdate_range("2021-01-04", periods=4))
    r = next_day_return(close)
    assert r.name == "next_day_return"
    np.testing.assert_allclose(r.iloc[:3].to_numpy(), [0.1, -0.1, 0.0], rtol=0, atol=1e-15)
    assert np.isnan(r.iloc[3])


def test_macro_term_spread_and_forward_fill() -> None:
    idx = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"])
    vix = pd.Series([20.0, 22.0, 21.0, 25.0], index=idx)
    yields = pd.DataFrame(
        {"3M": [1.5, np.nan, 1.7], "10Y": [1.9, 2.0, 2.3], "30Y": [3.0, 3.0, 3.0]},
        index=pd.to_datetime(["2020-01-03", "2020-01-04", "2020-01-07"]),
    )
    m = macro_features(vix, yields)
    assert list(m.columns) == list(MACRO_FEATURES)
    assert m.index.equals(idx)
    assert m.iloc[0].drop("vix").isna().all()  # nothing known before the first observation: no back-fill
    assert m["vix"].iloc[0] == 20.0
    np.testing.assert_array_equal(m["vix_change"].iloc[1:].to_numpy(), [2.0, -1.0, 4.0])
    np.testing.assert_array_equal(m["yield_3m"].iloc[1:].to_numpy(), [1.5, 1.5, 1.7])  # NaN on 01-04 ffilled
    np.testing.assert_array_equal(m["yield_10y"].iloc[1:].to_numpy(), [1.9, 2.0, 2.3])
    np.testing.assert_array_equal(m["term_spread"].to_numpy(), (m["yield_10y"] - m["yield_3m"]).to_numpy())
    with pytest.raises(DataValidationError, match=r"no column\(s\) \['10Y'\].*short=/long="):
        macro_features(vix, yields.drop(columns="10Y"))


# ---------------------------------------------------------------- errors, lags, default selection


def test_ohlcv_feature_without_high_low_raises() -> None:
    close = _random_walk(60)
    with pytest.raises(ConfigError, match=r"feature 'atr14' needs high, low but it was not given; pass high=\.\.\., low=\.\.\."):
        technical_features(close, features=["rsi14", "atr14"])
    high, low, _ = _ohlcv(close)
    with pytest.raises(ConfigError, match=r"feature 'mfi14' needs volume"):
        technical_features(close, high=high, low=low, features=["mfi14"])
    with pytest.raises(ConfigError, match="high and low must be given together"):
        technical_features(close, high=high)
    with pytest.raises(ConfigError, match="unknown feature"):
        technical_features(close, features=["rsi"])
    with pytest.raises(ConfigError, match="lags must be a non-negative integer"):
        technical_features(close, lags=-1)
    with pytest.raises(DataValidationError, match="high must have exactly the dates of close"):
        technical_features(close, high=high.iloc[1:], low=low.iloc[1:])
    with pytest.raises(DataValidationError, match="high is below low"):
        technical_features(close, high=low, low=high)
    with pytest.raises(DataValidationError, match="strictly positive|positive"):
        technical_features(-close)
    with pytest.raises(ConfigError, match="vix and yields must be given together"):
        feature_matrix(close, vix=close)


def test_default_feature_sets() -> None:
    close = _random_walk(300)
    high, low, volume = _ohlcv(close)
    assert list(technical_features(close).columns) == list(CLOSE_FEATURES)
    assert len(CLOSE_FEATURES) == 14
    assert list(technical_features(close, high=high, low=low).columns) == [*CLOSE_FEATURES, *HIGH_LOW_FEATURES]
    full = technical_features(close, high=high, low=low, volume=volume)
    assert list(full.columns) == [*CLOSE_FEATURES, *HIGH_LOW_FEATURES, *VOLUME_FEATURES]
    tail = full.iloc[250:]
    assert np.isfinite(tail.to_numpy()).all()
    assert ((tail["stoch_k"] >= 0) & (tail["stoch_k"] <= 100)).all()
    assert ((tail["obv_change10"] >= -1) & (tail["obv_change10"] <= 1)).all()
    assert ((tail["willr14"] >= -100) & (tail["willr14"] <= 0)).all()


def test_lags_are_exact_shifted_copies() -> None:
    close = _random_walk(260)
    base = technical_features(close)
    lagged = technical_features(close, lags=3)
    assert lagged.shape == (260, 14 * 4)
    assert list(lagged.columns[:4]) == ["price_sma10", "price_sma10_lag1", "price_sma10_lag2", "price_sma10_lag3"]
    for col in CLOSE_FEATURES:
        pd.testing.assert_series_equal(lagged[col], base[col])
        for k in (1, 2, 3):
            shifted = lagged[f"{col}_lag{k}"]
            np.testing.assert_array_equal(shifted.iloc[k:].to_numpy(), base[col].iloc[:-k].to_numpy())
            assert shifted.iloc[:k].isna().all()


# ---------------------------------------------------------------- feature_matrix


def test_feature_matrix_drops_warmup_and_reports_counts() -> None:
    close = _random_walk(400)
    with pytest.warns(DataWarning, match=r"dropped 200 of 400 rows \(date_mismatch=0, warmup=199"):
        X, y, report = feature_matrix(close)
    assert report == {
        "n_input": 400,
        "n_date_mismatch": 0,
        "n_warmup": 199,  # price_sma200 needs 200 closes: rows 0..198
        "n_technical_nan": 0,
        "n_missing_macro": 0,
        "n_no_target": 1,
        "n_dropped": 200,
        "n_rows": 200,
    }
    assert X.index[0] == close.index[199] and X.index[-1] == close.index[-2]
    assert y.index.equals(X.index)
    pd.testing.assert_series_equal(y, next_day_return(close).iloc[199:-1])
    _, _, rep_lag = feature_matrix(close, lags=2, warn=False)
    assert rep_lag["n_warmup"] == 201 and rep_lag["n_rows"] == 198


def test_feature_matrix_with_macro_counts_each_reason() -> None:
    close = _random_walk(400)
    vix, yields = _macro(close.index)
    vix = vix.drop(close.index[[250, 251, 390]])  # three close dates without VIX
    # a yield gap cannot create NaN (ffill), so create missing macro through the start instead: yields start late
    yields = yields[yields.index >= close.index[210]]  # yields are on odd rows: first one left is row 211
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y, report = feature_matrix(close, vix, yields, warn=False)
    assert report["n_date_mismatch"] == 3
    assert report["n_warmup"] == 199
    assert report["n_missing_macro"] == 12  # rows 199..210 have features but no yield observed yet
    assert report["n_no_target"] == 1
    assert report["n_rows"] == 400 - 3 - 199 - 12 - 1
    assert report["n_input"] == report["n_dropped"] + report["n_rows"]
    assert list(X.columns) == [*CLOSE_FEATURES, *MACRO_FEATURES]
    assert X.index[0] == close.index[211]
    assert not X.isna().any().any() and not y.isna().any()


def test_feature_matrix_on_bundled_data() -> None:
    spx = load_sp500_index()["SP500"]
    vix = load_vix()["close"]
    yields = load_treasury_yields()
    with pytest.warns(DataWarning, match="feature_matrix dropped"):
        X, y, report = feature_matrix(spx, vix, yields)
    assert X.shape[1] >= 14 + 5
    assert not X.isna().any().any() and not y.isna().any()
    assert X.index.equals(y.index)
    assert X.index.min() >= pd.Timestamp("1990-01-01") and X.index.max() <= pd.Timestamp("2022-12-31")
    assert report["n_warmup"] == 199 and report["n_no_target"] == 1
    assert len(X) > 7500
    np.testing.assert_allclose(X["term_spread"], X["yield_10y"] - X["yield_3m"], rtol=0, atol=1e-12)
