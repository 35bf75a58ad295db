"""Property-based tests (hypothesis): hostile inputs give a typed latentquant error or a finite, correct result.

Every property runs a fixed set of examples (``derandomize=True``: the same examples on every run and machine, no
example database), so CI is deterministic; the whole file takes a few seconds.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from latentquant.cli import app
from latentquant.data import Panel, Standardizer, log_returns
from latentquant.datasets import load_prices_csv, load_returns
from latentquant.exceptions import DataValidationError, LatentQuantError

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Numbers a spreadsheet or a units error can put in a file: ordinary, zero, negative, huge, tiny, non-finite.
NUMBERS = st.one_of(
    st.floats(-0.5, 0.5, allow_nan=False),
    st.floats(0.5, 500.0),
    st.sampled_from([0.0, -0.0, -1.0, 1e-300, 5e-324, 11.0, 1e200, -1e200, 1e308, math.inf, -math.inf, math.nan]),
)
# Mostly plausible numbers, sometimes hostile ones, so that both outcomes are exercised.
MOSTLY_RETURNS = st.one_of(st.floats(-0.5, 0.5, allow_nan=False), st.floats(-0.5, 0.5, allow_nan=False), NUMBERS)
MOSTLY_PRICES = st.one_of(st.floats(0.5, 500.0), st.floats(1e-6, 1e6), NUMBERS)
# Cells as written in a CSV: a number, or text a spreadsheet or a person may leave behind.
CELLS = st.one_of(NUMBERS.map(repr),
                  st.sampled_from(["", "abc", "TRUE", "False", "1e309", "-1e309", "1,5", "NaN", "#N/A", "0x10",
                                   "1_000", " 0.5", "1e-400"]))
DATES = st.sampled_from(["2020-01-02", "2020-01-03", "2020-01-06", "2020-13-01", "", "02/01/2020", "13/01/2020",
                         "20200131", "202001", "abc", "1500-01-01"])


def _expected(cell: str) -> float | None:
    """What a correct loader returns for a written cell: its number, or None when it is not one."""
    try:
        return float(cell)
    except ValueError:
        return None


@st.composite
def wide_csv(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    n_rows = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 3))
    good_dates = draw(st.booleans())
    if good_dates:
        dates = [str(d.date()) for d in pd.bdate_range("2020-01-01", periods=n_rows)]
    else:
        dates = [draw(DATES) for _ in range(n_rows)]
    cells = [[draw(CELLS) for _ in range(n_cols)] for _ in range(n_rows)]
    header = ",".join(["date", *[f"A{j}" for j in range(n_cols)]])
    lines = [header] + [",".join([d, *row]) for d, row in zip(dates, cells, strict=True)]
    return "\n".join(lines) + "\n", cells


def _check_loaded(frame: pd.DataFrame, cells: list[list[str]]) -> None:
    values = frame.to_numpy()
    assert frame.shape == (len(cells), len(cells[0]))
    assert values.dtype == np.float64 and np.isfinite(values).all()
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            expected = _expected(cell)
            assert expected is not None, f"cell {cell!r} was accepted as a number"
            assert values[i, j] == expected, (cell, values[i, j])


@SETTINGS
@given(case=wide_csv())
@example(case=("date,A0,A1\n2020-01-02,10.5,0.1\n2020-01-03,11.0,1e-300\n", [["10.5", "0.1"], ["11.0", "1e-300"]]))
def test_load_prices_csv_is_an_error_or_the_written_numbers(tmp_path, case):
    text, cells = case
    path = tmp_path / "prices.csv"
    path.write_text(text)
    try:
        frame = load_prices_csv(path)
    except LatentQuantError:
        return
    _check_loaded(frame, cells)
    assert (frame.to_numpy() > 0).all()


@SETTINGS
@given(case=wide_csv())
@example(case=("date,A0\n2020-01-02,0.01\n2020-01-03,-0.0\n2020-01-06,-9.5\n", [["0.01"], ["-0.0"], ["-9.5"]]))
def test_load_returns_is_an_error_or_the_written_numbers(tmp_path, case):
    text, cells = case
    path = tmp_path / "returns.csv"
    path.write_text(text)
    try:
        frame = load_returns(path)
    except LatentQuantError:
        return
    _check_loaded(frame, cells)
    assert (np.abs(frame.to_numpy()) <= 10).all()


@st.composite
def long_panel(draw: st.DrawFn) -> tuple[pd.Series, pd.DataFrame]:
    dates = pd.to_datetime(["2020-01-31", "2020-02-29", "2020-03-31"])
    cells = [(d, a) for d in dates for a in ["a", "b", "c"]]
    if draw(st.booleans()):
        rows = sorted(draw(st.lists(st.sampled_from(cells), min_size=1, max_size=8, unique=True)))
    else:  # possibly a (date, asset) pair twice, dates in any order
        rows = draw(st.lists(st.sampled_from(cells), min_size=1, max_size=8))
    n = len(rows)
    index = pd.MultiIndex.from_tuples(rows, names=["date", "asset"])
    kind = draw(st.sampled_from(["float", "float", "object", "bool"]))
    if kind == "float":
        values: list = [draw(MOSTLY_RETURNS) for _ in range(n)]
        returns = pd.Series(values, index=index, dtype=float)
    elif kind == "object":
        returns = pd.Series([draw(st.one_of(NUMBERS, st.sampled_from(["x", None, True]))) for _ in range(n)],
                            index=index, dtype=object)
    else:
        returns = pd.Series([draw(st.booleans()) for _ in range(n)], index=index)
    chars = pd.DataFrame({"size": [draw(st.one_of(st.floats(-3, 3), st.just(math.nan))) for _ in range(n)]},
                         index=index)
    return returns, chars


@SETTINGS
@given(case=long_panel())
def test_panel_is_an_error_or_has_finite_returns(case):
    returns, chars = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            panel = Panel(returns, chars)
        except LatentQuantError:
            return
    r = panel.returns.to_numpy()
    assert r.dtype == np.float64 and len(r) > 0
    assert np.isfinite(r).all() and (np.abs(r) <= 10).all()
    assert not panel.returns.index.has_duplicates
    kept = returns.dropna()
    assert np.array_equal(r, kept.to_numpy(dtype=float))  # the rows with a return, values unchanged


@SETTINGS
@given(values=st.lists(st.lists(MOSTLY_PRICES, min_size=2, max_size=2), min_size=1, max_size=6))
def test_log_returns_is_an_error_or_finite_and_exact(values):
    prices = pd.DataFrame(values, columns=["A", "B"], index=pd.bdate_range("2020-01-01", periods=len(values)))
    try:
        out = log_returns(prices)
    except LatentQuantError:
        return
    assert np.isfinite(out.to_numpy()).all()
    expected = np.diff(np.log(np.asarray(values)), axis=0)
    np.testing.assert_array_equal(out.to_numpy(), expected)
    assert out.index.equals(prices.index[1:])


@SETTINGS
@given(values=st.lists(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3), min_size=1, max_size=8))
def test_standardizer_round_trip(values):
    x = pd.DataFrame(values, columns=["A", "B", "C"], index=pd.bdate_range("2020-01-01", periods=len(values)))
    try:
        scaler = Standardizer().fit(x)
    except DataValidationError:  # a constant column or a single row
        return
    z = scaler.transform(x)
    assert np.isfinite(z.to_numpy()).all()
    back = scaler.inverse_transform(z)
    tol = 1e-9 * (np.abs(x.to_numpy()).max() + scaler.scale_.max())
    np.testing.assert_allclose(back.to_numpy(), x.to_numpy(), rtol=0, atol=tol)
    assert back.index.equals(x.index) and list(back.columns) == list(x.columns)


def test_standardizer_refuses_values_whose_spread_overflows():
    x = pd.DataFrame({"A": [1e300, -1e300, 0.0]}, index=pd.bdate_range("2020-01-01", periods=3))
    with pytest.raises(DataValidationError, match=r"X column 'A' has values too large to standardise"):
        Standardizer().fit(x)


# --------------------------------------------------------------------------------------------- the CLI's file options
runner = CliRunner()


def _one_error_line(res) -> None:
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.output


# A prices file that is bad in at least one way: random bytes, or CSV text with one poisoned cell.
POISON = st.sampled_from(["abc", "-5", "0", "inf", "", "TRUE", "1e309"])


@st.composite
def bad_prices_file(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return b"\x00" + draw(st.binary(max_size=64))  # a NUL byte: never a text CSV
    n_rows = draw(st.integers(0, 30))
    header = "date,A,B\n"
    dates = pd.bdate_range("2020-01-01", periods=max(n_rows, 1))
    rows = [f"{d.date()},{100 + i},{50 + i}" for i, d in enumerate(dates[:n_rows])]
    if rows:
        i = draw(st.integers(0, len(rows) - 1))
        date, a, _ = rows[i].split(",")
        rows[i] = f"{date},{a},{draw(POISON)}"
    return (header + "\n".join(rows) + ("\n" if rows else "")).encode()


@SETTINGS
@given(content=bad_prices_file())
def test_cli_csv_option_bad_file_is_one_error_line(tmp_path, content):
    path = tmp_path / "prices.csv"
    path.write_bytes(content)
    out = tmp_path / "fit"
    res = runner.invoke(app, ["factors", "fit", "--csv", str(path), "--factors", "1", "--epochs", "1",
                                 "--out", str(out), "--quiet"])
    _one_error_line(res)
    assert not (out / "model").exists()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("props")
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2018-01-01", periods=120)
    rets = rng.normal(0, 0.01, size=(120, 3))
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rets, axis=0)), index=dates, columns=["A", "B", "C"])
    csv = root / "prices.csv"
    prices.rename_axis("date").to_csv(csv)
    out = root / "fit"
    res = runner.invoke(app, ["factors", "fit", "--csv", str(csv), "--factors", "1", "--epochs", "1",
                                 "--out", str(out), "--quiet"])
    assert res.exit_code == 0, (res.output, res.exception)
    return out


# A weights file that is bad in at least one way.
BAD_WEIGHT = st.sampled_from([("ZZZ", "0.5"), ("A", "half"), ("A", "nan"), ("A", "inf"), ("A", "0.5"),
                              ("A", "0,extra")])  # unknown asset, not a number, repeated asset, a ragged row


@SETTINGS
@given(good=st.lists(st.sampled_from(["B", "C"]), max_size=2, unique=True), bad=BAD_WEIGHT,
       header=st.sampled_from(["asset,weight", "asset,w", "name,weight"]))
def test_cli_weights_option_bad_file_is_one_error_line(tmp_path, tiny_model, good, bad, header):
    rows = [*[f"{a},0.25" for a in good], "A,0.5", ",".join(bad)]  # ('A', '0.5') repeats A
    path = tmp_path / "weights.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    _one_error_line(runner.invoke(app, ["factors", "risk", "--model", str(tiny_model), "--weights", str(path)]))
