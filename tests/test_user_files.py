"""The user's own data, end to end: long-layout files, missing values, late starters, and the feature-selection study
on a user file (issue "Hardening: the user's own data, end to end")."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from latentquant.datasets import load_prices_csv, load_returns, load_sp500_index, load_sp500_ohlcv
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.experiments._data import load_study_returns
from latentquant.experiments.feature_selection import SelectionStudyConfig, run, study_data


def _wide(n=6, assets=("AAA", "BBB", "CCC"), seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-01", periods=n, name="date")
    return pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, len(assets))), axis=0)), index=dates,
                        columns=list(assets))


def _long(wide: pd.DataFrame, names=("date", "ticker", "price")) -> pd.DataFrame:
    date, ticker, value = names
    out = wide.rename_axis(date).reset_index().melt(id_vars=date, var_name=ticker, value_name=value)
    return out.sort_values(date, ascending=False, kind="stable")  # latest dates first; assets in the wide order


# ------------------------------------------------------------------------------------------ 1. long-layout files
def test_a_long_file_pivots_to_exactly_the_wide_file_of_the_same_data(tmp_path):
    wide = _wide()
    wide.to_csv(tmp_path / "wide.csv")
    _long(wide).to_csv(tmp_path / "long.csv", index=False)
    expected = load_prices_csv(tmp_path / "wide.csv")
    with pytest.warns(DataWarning, match=re.escape(
            "'long.csv' is a long-layout file (one row per date and asset: date column 'date', asset column "
            "'ticker'): pivoted to wide, column 'price' for each of the 3 assets named in 'ticker', on 6 dates.")):
        got = load_prices_csv(tmp_path / "long.csv")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    returns = np.log(wide).diff().iloc[1:]
    returns.to_csv(tmp_path / "rw.csv")
    _long(returns, ("Date", "Symbol", "ret")).to_parquet(tmp_path / "rl.parquet", index=False)
    pd.testing.assert_frame_equal(load_returns(tmp_path / "rl.parquet", warn=False), load_returns(tmp_path / "rw.csv"),
                                  check_exact=True)


def test_a_long_file_with_several_value_columns_needs_value_column(tmp_path):
    wide = _wide()
    table = _long(wide, ("Date", "Symbol", "Close"))
    table["Open"] = table["Close"] * 0.99
    table["Volume"] = 1000.0
    path = tmp_path / "ohlc.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=re.escape(
            "'ohlc.csv' is a long-layout file (one row per date and asset: date column 'Date', asset column "
            "'Symbol') with several value columns ('Close', 'Open', 'Volume'); choose the one to load with "
            "value_column (one of 'Close', 'Open', 'Volume').")):
        load_prices_csv(path)
    with pytest.warns(DataWarning, match=r"column 'Close' .*; other value columns ignored: 'Open', 'Volume'\.$"):
        got = load_prices_csv(path, value_column="Close")
    pd.testing.assert_frame_equal(got, wide.rename_axis("date"), check_exact=True, check_freq=False)
    with pytest.raises(DataValidationError, match=re.escape(
            "value_column 'close' is not among the value columns of 'ohlc.csv' (long layout: date column 'Date', "
            "asset column 'Symbol'); value columns: 'Close', 'Open', 'Volume'.")):
        load_prices_csv(path, value_column="close")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: pd.concat([t, t[(t["ticker"] == "BBB") & (t["date"] == "2024-01-03")]]),
     "'bad.csv' is a long-layout file (one row per date and asset: date column 'date', asset column 'ticker') with "
     "1 repeated (date, ticker) row(s), first (2024-01-03, 'BBB'); keep one row per date and asset (e.g. the last "
     "quote of each day)."),
    (lambda t: t.assign(exchange="NYSE"),
     "'bad.csv' looks like a long-layout file (one row per date and asset; date column 'date') but has 2 text "
     "columns ('ticker', 'exchange'); keep exactly one column naming the asset (e.g. the ticker) and drop the "
     "others, or write a wide file (one column per asset)."),
    (lambda t: t.assign(ticker=t["ticker"].map({"AAA": 1, "BBB": 2, "CCC": 3})),
     "'bad.csv' has repeated dates (12 repeat(s), first 2024-01-08) but no text column naming the assets. A wide "
     "file needs one row per date (one column per asset); a long file (date, ticker, value) needs a ticker column "
     "holding text such as 'AAPL'. Fix the file, or keep one row per date."),
])
def test_long_file_errors(tmp_path, edit, message):
    table = _long(_wide())
    table["date"] = table["date"].dt.strftime("%Y-%m-%d")
    path = tmp_path / "bad.csv"
    edit(table).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=re.escape(message)):
        load_prices_csv(path)


def test_value_column_on_a_wide_file_is_an_error(tmp_path):
    _wide().to_csv(tmp_path / "w.csv")
    with pytest.raises(DataValidationError, match=re.escape(
            "value_column 'AAA' was given but 'w.csv' has no text column naming the assets; a long-layout file needs "
            "a date column, one asset column holding text (e.g. ticker 'AAPL') and the value column. For a wide file "
            "(one column per asset) leave value_column unset.")):
        load_prices_csv(tmp_path / "w.csv", value_column="AAA")


# -------------------------------------------------------------------------------- 2. missing values, each its own
def test_missing_value_message_names_each_columns_own_count(tmp_path):
    wide = _wide()
    wide.iloc[:2, 1] = np.nan  # BBB starts late: 2 missing
    wide.iloc[4, 2] = np.nan  # CCC: 1 missing
    wide.to_csv(tmp_path / "p.csv")
    with pytest.raises(DataValidationError, match=re.escape(
            "prices file 'p.csv' column 'BBB' has NaN (2 missing values, first at 2024-01-01); column 'CCC' has NaN "
            "(1 missing value, first at 2024-01-05); pass allow_nan=True to keep missing values (e.g. assets that "
            "start late), or drop or fill them in the file.")):
        load_prices_csv(tmp_path / "p.csv")
    # a long file whose asset starts late: the absent (date, asset) pairs are missing values, counted per column
    _long(_wide()).query("not (ticker == 'CCC' and date < '2024-01-04')").to_csv(tmp_path / "l.csv", index=False)
    with pytest.warns(DataWarning, match=r"\(3 \(date, asset\) pair\(s\) absent from the file are missing values\)"):
        with pytest.raises(DataValidationError, match=r"column 'CCC' has NaN \(3 missing values, first at 2024-01-01\)"
                                                      r"; pass allow_nan=True"):
            load_prices_csv(tmp_path / "l.csv")


# ------------------------------------------------------------------------- 3. the study loader: missing, late starters
def _late_file(tmp_path):
    wide = _wide(n=40, assets=("A", "B", "C", "D"))
    wide.iloc[:30, 3] = np.nan  # D starts 30 days late
    wide.iloc[10, 1] = np.nan  # one missing price of B
    path = tmp_path / "late.csv"
    wide.to_csv(path)
    return path, wide


def test_study_loader_missing_values_are_an_error_unless_dropped(tmp_path):
    path, wide = _late_file(tmp_path)
    with pytest.raises(DataValidationError, match=re.escape(
            f"user prices file {path} has missing values: column 'B' 1 of 40 (first 2024-01-15), column 'D' 30 of 40 "
            "(first 2024-01-01); set missing: drop (--missing drop) to keep only the dates on which every column has a "
            "value, or min_history: N (--min-history N) to drop the assets with fewer than N values; or fill them in the file.")):
        load_study_returns(None, str(path))
    with pytest.warns(DataWarning, match=re.escape(
            f"Dropped 30 of 39 return rows of user prices file {path} with a missing value in some column (missing "
            "returns per column: 'B' 2, 'D' 30).")):
        got, _ = load_study_returns(None, str(path), missing="drop", max_gap_days=None)
    expected = np.log(wide).diff().iloc[1:].dropna()
    pd.testing.assert_frame_equal(got, expected, check_freq=False, check_names=False)


def test_min_history_drops_the_late_starter_and_keeps_the_common_span_of_the_others(tmp_path):
    path, wide = _late_file(tmp_path)
    with pytest.warns(DataWarning) as record:
        got, _ = load_study_returns(None, str(path), missing="drop", min_history=20, max_gap_days=None)
    messages = [str(w.message) for w in record]
    assert messages[0] == (f"Dropped 1 of 4 columns of user prices file {path} with fewer than min_history=20 "
                           "values (values per dropped column: 'D' 10).")
    assert messages[1].startswith("Dropped 2 of 39 return rows")  # B's missing price breaks two returns
    expected = np.log(wide[["A", "B", "C"]]).diff().iloc[1:].dropna()
    pd.testing.assert_frame_equal(got, expected, check_freq=False, check_names=False)
    assert len(got) == 37 and list(got.columns) == ["A", "B", "C"]


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"missing": "fill"}, ConfigError, "missing must be 'error' (stop at a missing value) or 'drop' (keep the dates "
                                       "on which every column has a value), got 'fill'."),
    ({"min_history": 1}, ConfigError, "min_history must be an integer >= 2 (values an asset needs to be kept) or "
                                      "null, got 1."),
    ({"min_history": 100}, DataValidationError, "every column has fewer than min_history=100 values (most: 'A' with "
                                                "40); lower min_history or pass a longer history."),
])
def test_study_loader_option_errors(tmp_path, kwargs, error, message):
    path, _ = _late_file(tmp_path)
    with pytest.raises(error, match=re.escape(message)):
        load_study_returns(None, str(path), **kwargs)


def test_no_complete_date_names_each_columns_count_and_min_history(tmp_path):
    wide = _wide(n=10, assets=("A", "B"))
    wide.iloc[:5, 0] = np.nan
    wide.iloc[5:, 1] = np.nan
    wide.to_csv(tmp_path / "disjoint.csv")
    with pytest.raises(DataValidationError, match=re.escape(
            "has no date on which every column has a value (sparsest columns, values present: 'A' 4 of 9, 'B' 4 of "
            "9); set min_history: N (--min-history N) to drop the assets with fewer than N values, or select the "
            "columns you need and pass them as a file.")):
        load_study_returns(None, str(tmp_path / "disjoint.csv"), missing="drop")


def test_study_loader_reads_a_long_file_with_value_column(tmp_path):
    wide = _wide(n=20)
    table = _long(wide, ("Date", "Symbol", "Close"))
    table["Volume"] = 5.0
    table.to_csv(tmp_path / "long.csv", index=False)
    wide.to_csv(tmp_path / "wide.csv")
    with pytest.raises(DataValidationError, match=r"several value columns \('Close', 'Volume'\); choose the one to "
                                                  r"load with value_column"):
        load_study_returns(None, str(tmp_path / "long.csv"))
    with pytest.warns(DataWarning, match="pivoted to wide"):
        got, _ = load_study_returns(None, str(tmp_path / "long.csv"), value_column="Close")
    expected, _ = load_study_returns(None, str(tmp_path / "wide.csv"))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


# ---------------------------------------------------------------------- 4. the feature-selection study on a user file
SPANS = {"train": ["2015-01-01", "2015-12-31"], "validation": ["2016-01-01", "2016-06-30"],
         "test": ["2016-07-01", "2016-12-31"]}


def _config(tmp_path, **kw) -> SelectionStudyConfig:
    return SelectionStudyConfig(**{**SPANS, "out": str(tmp_path / "run"), **kw})


@pytest.fixture(scope="module")
def spx_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("spx") / "spx.csv"
    load_sp500_index()["SP500"].rename("close").to_frame().to_csv(path)  # all of it: EMAs depend on the start
    return path


def test_a_user_file_of_the_bundled_close_gives_exactly_the_bundled_study_frame(tmp_path, spx_file):
    bundled, info = study_data(_config(tmp_path))
    mine, my_info = study_data(_config(tmp_path, path=str(spx_file)))
    pd.testing.assert_frame_equal(mine, bundled, check_exact=True)
    assert my_info["source"] == f"user price file {spx_file} (close; columns 'close')"
    assert info["source"] == "S&P 500 index close (bundled sp500_index)"


def test_a_user_ohlcv_file_gives_exactly_the_bundled_ohlcv_frame(tmp_path):
    ohlcv = load_sp500_ohlcv()
    path = tmp_path / "ohlcv.parquet"
    ohlcv.rename(columns=str.title).to_parquet(path)  # Open, High, Low, Close, Volume: any case
    bundled, _ = study_data(_config(tmp_path, variant="ohlcv"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # nothing dropped, nothing pivoted
        mine, info = study_data(_config(tmp_path, variant="ohlcv", path=str(path)))
    pd.testing.assert_frame_equal(mine, bundled, check_exact=True)
    assert info["source"].startswith(f"user price file {path} (open/high/low/close/volume; columns 'Close', 'High'")


def _series_file(tmp_path, name="p.csv", *, index=None, columns=("close",), scale=1.0):
    index = index if index is not None else pd.bdate_range("2012-01-02", "2017-06-30", name="date")
    values = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, len(index))))
    factor = {"high": 1.01, "low": 0.99, "volume": 1e4}
    frame = pd.DataFrame({c: values * factor.get(c, 1 + 0.01 * i) * scale for i, c in enumerate(columns)}, index=index)
    path = tmp_path / name
    frame.to_csv(path)
    return path, frame


@pytest.mark.parametrize(("make", "kw", "message"), [
    (lambda p: _series_file(p, index=pd.date_range("2000-01-31", periods=200, freq="ME", name="date")), {},
     "path: 'p.csv' is not daily (median spacing between dates 31 days); the indicators and the next-day target "
     "need daily closes; pass a file of daily prices."),
    (lambda p: _series_file(p, columns=("open", "last")), {},
     "path: 'p.csv' has columns ['open', 'last'] but none named close; name the column of daily closing prices "
     "close (high, low and volume for variant: ohlcv), or keep a single price column."),
    (lambda p: _series_file(p, columns=("close", "high")), {"variant": "ohlcv"},
     "path: variant: ohlcv needs high, low and volume columns besides close, and 'p.csv' lacks ['low', 'volume']; "
     "add them to the file or set variant: close (indicators of the close only)."),
    (lambda p: _series_file(p, index=pd.bdate_range("2024-05-01", "2025-06-30", name="date")), {},
     "path: 'p.csv' covers 2024-05-01..2025-06-30 and shares 37 dates with the macro features (bundled VIX and "
     "Treasury yields, 1990-01-02..2024-06-20); the study needs at least 380 common daily dates (200 of indicator "
     "warm-up plus the three spans). Pass daily prices inside 1990-01-02..2024-06-20."),
    (lambda p: _series_file(p, scale=-1.0), {},
     "path: 'p.csv' column 'close' has a non-positive price"),
    (lambda p: _series_file(p, index=pd.bdate_range("2015-06-01", "2017-06-30", name="date")), {},
     "S&P 500"),  # replaced below: the train span starts before the file's warm-up ends
])
def test_user_file_errors_name_the_config_key_and_the_fix(tmp_path, make, kw, message):
    path, _ = make(tmp_path)
    if message == "S&P 500":
        message = (f"user price file {path} (close; columns 'close'): the train span 2015-01-01..2015-12-31 has 0 "
                   "usable rows (after dropping indicator warm-up rows and rows without macro data or target); need "
                   "at least 60 with lags=0. The file covers 2015-06-01..2017-06-30, the macro series "
                   "1990-01-02..2024-06-20, and the first 200 dates warm the indicators up. Move the split dates "
                   "(train, validation, test) inside the data's range or reduce lags.")
    with pytest.raises(DataValidationError, match=re.escape(message)):
        study_data(_config(tmp_path, path=str(path), **kw))


def test_missing_prices_in_a_user_file_are_an_error_or_dropped(tmp_path):
    path, frame = _series_file(tmp_path)
    frame.iloc[[300, 301, 700], 0] = np.nan
    frame.to_csv(path)
    with pytest.raises(DataValidationError, match=re.escape(
            "path: 'p.csv' has missing values: 'close' 3 (first 2013-02-25); set missing: drop to drop those dates "
            "(counted in a warning), or fill them in the file.")):
        study_data(_config(tmp_path, path=str(path)))
    with pytest.warns(DataWarning, match=re.escape("Dropped 3 of 1435 dates of 'p.csv' with a missing value "
                                                   "(missing: drop; missing values per column: 'close' 3")):
        got, _ = study_data(_config(tmp_path, path=str(path), missing="drop"))
    frame.dropna().to_csv(tmp_path / "clean.csv")
    expected, _ = study_data(_config(tmp_path, path=str(tmp_path / "clean.csv")))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_zero_volume_days_of_a_user_ohlcv_file_are_dropped_and_counted(tmp_path):
    path, frame = _series_file(tmp_path, columns=("close", "high", "low", "volume"))
    frame.iloc[[400, 900], 3] = 0.0
    frame.to_csv(path)
    with pytest.warns(DataWarning, match=re.escape("Dropped 2 of 1435 dates of 'p.csv' with zero volume (the volume "
                                                   "indicators need trading).")):
        got, _ = study_data(_config(tmp_path, path=str(path), variant="ohlcv"))
    frame[frame["volume"] > 0].to_csv(tmp_path / "traded.csv")
    expected, _ = study_data(_config(tmp_path, path=str(tmp_path / "traded.csv"), variant="ohlcv"))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize(("kw", "message"), [
    ({"missing": "ffill"}, "missing must be 'error' (stop at a missing price) or 'drop' (drop the dates with a "
                           "missing price), got 'ffill'."),
    ({"n_boot": 50}, "n_boot must be an integer >= 100 (bootstrap replicates of the Sharpe intervals and tests), "
                     "got 50; 2000 is a good default."),
    ({"path": 3}, "path must be the path of a CSV/Parquet file of daily prices (or null for the bundled S&P 500), "
                  "got 3."),
])
def test_config_errors_before_any_data_are_read(tmp_path, kw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        run(SelectionStudyConfig.from_dict({**SPANS, "out": str(tmp_path / "run"), **kw}))
    assert not (tmp_path / "run").exists()


def test_run_on_a_user_file_skips_pretraining_and_records_the_source(tmp_path, spx_file):
    config = SelectionStudyConfig.from_dict({
        **SPANS, "path": str(spx_file), "models": ["ridge"], "seeds": [0], "n_boot": 100, "executor": "serial",
        "semi_supervised": {"enabled": False}, "out": str(tmp_path / "run"), "verbose": False})
    with pytest.warns(DataWarning, match=re.escape(
            "pretraining: skipped with a user file (path): the experiment pre-trains on the bundled S&P 500 stocks and "
            "fine-tunes on one of them, which a single price file does not provide; set pretraining.enabled: false "
            "to silence this warning.")):
        result = run(config)
    source = f"user price file {spx_file} (close; columns 'close')"
    assert result.metrics["source"] == source
    assert "pretraining" not in result.tables and "pretraining_skipped" in result.metrics
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["data_source"] == source
    assert "spx.csv next-day timing" in (result.path / "report.html").read_text()
