"""Issue 11: data that enter wrong give a typed error naming what and where, never a wrong result or a hang.

Extreme but finite returns, non-finite or non-numeric panel returns, and the ways spreadsheets and pandas export
CSV files (duplicated headers, a saved row index, booleans, day-first dates).
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentquant.data import Panel
from latentquant.datasets import load_prices_csv, load_returns
from latentquant.exceptions import DataValidationError, DataWarning
from latentquant.validation import MAX_ABS_RETURN, check_frame

DATES = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])


# --------------------------------------------------------------------------------------------------------------------
# extreme but finite values
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [1e200, -1e308, 11.0])
def test_check_frame_max_abs_names_column_date_and_fix(value: float) -> None:
    frame = pd.DataFrame({"A": [0.01, 0.02, 0.0], "B": [0.01, value, 0.0]}, index=DATES)
    match = (rf"returns column 'B' has a value of magnitude above 10: first at 2024-01-03 \(value {value!r}\); "
             r"returns are expected as decimal fractions per period \(0\.01 = 1 %\): check the units \(percent "
             r"instead of decimals\? prices instead of returns\?\) and correct or drop the value\.")
    with pytest.raises(DataValidationError, match=match.replace("+", r"\+")):
        check_frame(frame, name="returns", max_abs=MAX_ABS_RETURN)
    # opt-in: without max_abs the same table passes unchanged
    pd.testing.assert_frame_equal(check_frame(frame, name="returns"), frame.astype(np.float64))


def test_check_frame_max_abs_keeps_nan_and_the_bound_itself() -> None:
    frame = pd.DataFrame({"A": [np.nan, 10.0, -10.0]}, index=DATES)
    out = check_frame(frame, allow_nan=True, max_abs=10.0)
    assert out["A"].tolist()[1:] == [10.0, -10.0] and np.isnan(out["A"].iloc[0])


def test_load_returns_rejects_an_absurd_return(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("date,A,B\n2024-01-31,0.01,0.02\n2024-02-29,1e308,0.01\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"returns file 'r\.csv' column 'A' has a value of magnitude "
                                                  r"above 10: first at 2024-02-29 \(value 1e\+308\); .*percent"):
        load_returns(path)
    assert load_returns(path, max_abs=None).loc["2024-02-29", "A"] == 1e308  # explicit opt-out


def test_load_returns_accepts_large_but_plausible_returns_and_prices_are_not_bounded(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("date,A\n2024-01-31,9.5\n2024-02-29,-0.99\n", encoding="utf-8")
    assert load_returns(path)["A"].tolist() == [9.5, -0.99]
    prices = tmp_path / "p.csv"
    prices.write_text("date,A\n2024-01-31,125000.0\n2024-02-29,130000.0\n", encoding="utf-8")
    assert load_prices_csv(prices)["A"].tolist() == [125000.0, 130000.0]


# --------------------------------------------------------------------------------------------------------------------
# Panel validates its returns
# --------------------------------------------------------------------------------------------------------------------
def _panel_parts(values: list[object]) -> tuple[pd.Series, pd.DataFrame]:
    idx = pd.MultiIndex.from_product([DATES[:2], ["a", "b"]], names=["date", "asset"])
    return pd.Series(values, index=idx), pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0]}, index=idx)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_panel_rejects_infinite_returns_naming_date_and_asset(bad: float) -> None:
    r, z = _panel_parts([0.01, 0.02, bad, 0.0])
    with pytest.raises(DataValidationError, match=rf"returns contain 1 infinite value\(s\), first {bad!r} at "
                                                  r"\(2024-01-03, 'a'\); replace them with NaN"):
        Panel(r, z)


def test_panel_rejects_non_numeric_returns_naming_date_and_asset() -> None:
    r, z = _panel_parts([0.01, "0.02", "n/a", 0.0])
    with pytest.raises(DataValidationError, match=r"returns are not numeric: 1 non-numeric value\(s\), first 'n/a' "
                                                  r"at \(2024-01-03, 'a'\); convert them with pd\.to_numeric"):
        Panel(r, z)


def test_panel_rejects_boolean_returns() -> None:
    r, z = _panel_parts([True, False, True, False])
    with pytest.raises(DataValidationError, match=r"returns are booleans \(True/False\), first at "
                                                  r"\(2024-01-02, 'a'\); pass numeric returns"):
        Panel(r, z)


def test_panel_rejects_absurd_returns_unless_disabled() -> None:
    r, z = _panel_parts([0.01, 1e200, 0.0, 0.0])
    with pytest.raises(DataValidationError, match=r"returns have 1 value\(s\) of magnitude above 10, first 1e\+200 "
                                                  r"at \(2024-01-02, 'b'\); .*max_abs_return=None"):
        Panel(r, z)
    panel = Panel(r, z, max_abs_return=None)
    assert panel.returns.iloc[1] == 1e200
    assert panel.select(np.ones(4, dtype=bool)).max_abs_return is None  # derived panels keep the setting


def test_panel_numeric_strings_and_nan_keep_their_behaviour() -> None:
    r, z = _panel_parts(["0.01", "0.02", np.nan, "-0.5"])
    with pytest.warns(DataWarning, match=r"Dropped 1 \(date, asset\) rows without a return"):
        panel = Panel(r, z)
    assert panel.returns.tolist() == [0.01, 0.02, -0.5]
    assert panel.returns.dtype == np.float64


# --------------------------------------------------------------------------------------------------------------------
# CSV files as spreadsheets and pandas write them
# --------------------------------------------------------------------------------------------------------------------
def test_duplicated_headers_are_named(tmp_path: Path) -> None:
    text = "date,A,B,A\n2024-01-02,1.0,2.0,3.0\n2024-01-03,1.5,2.5,3.5\n"
    path = tmp_path / "dup.csv"
    path.write_text(text, encoding="utf-8")
    match = r"'dup\.csv' has duplicated column header\(s\) 'A'; give every column a unique name"
    with pytest.raises(DataValidationError, match=match):
        load_prices_csv(path)
    gz = tmp_path / "dup.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataValidationError, match=r"'dup\.csv\.gz' has duplicated column header\(s\) 'A'"):
        load_returns(gz)


@pytest.mark.parametrize("reset", [True, False])
def test_a_saved_row_index_is_not_an_asset(tmp_path: Path, reset: bool) -> None:
    prices = pd.DataFrame({"A": [1.0, 1.1, 1.2]}, index=pd.Index(DATES, name="date"))
    path = tmp_path / "p.csv"
    if reset:  # date becomes a column, the RangeIndex is written as 'Unnamed: 0'
        prices.reset_index().to_csv(path)
        first = "Unnamed: 0"
    else:  # a RangeIndex table saved with reset_index() and index=False
        prices.reset_index().reset_index().to_csv(path, index=False)
        first = "index"
    with pytest.raises(DataValidationError, match=rf"'p\.csv' starts with a column '{first}' holding the row "
                                                  r"numbers 0\.\.2: a saved DataFrame index .* not an asset; "
                                                  r"drop that column or write the file with to_csv\(index=False\)"):
        load_prices_csv(path)
    prices.to_csv(path)  # the ordinary export still loads
    pd.testing.assert_frame_equal(load_prices_csv(path), prices)


def test_boolean_column_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("date,A,flag\n2024-01-02,0.01,True\n2024-01-03,0.02,False\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"column 'flag' of 'r\.csv' holds booleans \(True/False\), not "
                                                  r"prices or returns; drop it"):
        load_returns(path)


def test_day_first_dates_need_dayfirst(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("date,A\n01/02/2020,1.0\n13/02/2020,1.1\n", encoding="utf-8")
    match = (r"date column 'date' of 'p\.csv' has day-first dates such as '13/02/2020' \(row 1: 13 cannot be a "
             r"month\); pass dayfirst=True")
    with pytest.raises(DataValidationError, match=match):
        load_prices_csv(path)
    with pytest.raises(DataValidationError, match=match):
        load_returns(path)
    loaded = load_prices_csv(path, dayfirst=True)
    assert list(loaded.index) == list(pd.to_datetime(["2020-02-01", "2020-02-13"]))


def test_month_first_and_iso_dates_keep_their_reading(tmp_path: Path) -> None:
    us = tmp_path / "us.csv"
    us.write_text("date,A\n01/02/2020,1.0\n01/13/2020,1.1\n", encoding="utf-8")
    assert list(load_prices_csv(us).index) == list(pd.to_datetime(["2020-01-02", "2020-01-13"]))
    iso = tmp_path / "iso.csv"
    iso.write_text("date,A\n2020-01-02,1.0\n2020-01-13,1.1\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dayfirst does not apply to ISO dates and says nothing about them
        assert list(load_prices_csv(iso, dayfirst=True).index) == list(load_prices_csv(iso).index)
