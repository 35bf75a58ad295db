"""Tests of latentquant.data.windows: sliding windows and the time-ordered window split (issue 13, §1)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from latentquant.data import Standardizer, Windows, WindowSplit, sliding_windows, window_split
from latentquant.exceptions import ConfigError, DataValidationError


def _frame(n: int = 12, n_features: int = 2) -> pd.DataFrame:
    """Row i, column j holds 10·i + j, so every value names its own row and column."""
    values = 10.0 * np.arange(n)[:, None] + np.arange(n_features)[None, :]
    index = pd.bdate_range("2024-01-01", periods=n, name="date")
    return pd.DataFrame(values, index=index, columns=[f"x{j}" for j in range(n_features)])


# --------------------------------------------------------------------------------------------------
# sliding_windows
# --------------------------------------------------------------------------------------------------


def test_window_values_are_the_frame_rows() -> None:
    frame = _frame(12)
    w = sliding_windows(frame, 4, stride=3)
    # starts 0, 3, 6 (a window starting at 9 would need rows 9..12, but the last row is 11)
    assert w.shape == (3, 4, 2) and len(w) == 3 and w.length == 4 and w.n_features == 2
    assert w.starts.tolist() == [0, 3, 6]
    assert w.values[0, :, 0].tolist() == [0.0, 10.0, 20.0, 30.0]
    assert w.values[2, :, 1].tolist() == [61.0, 71.0, 81.0, 91.0]  # rows 6..9, column x1
    assert w.values[1].tolist() == [[30.0, 31.0], [40.0, 41.0], [50.0, 51.0], [60.0, 61.0]]
    assert list(w.end_dates) == [frame.index[3], frame.index[6], frame.index[9]]
    assert w.end_dates[0] == pd.Timestamp("2024-01-04")  # 4th business day of 2024
    assert w.columns.tolist() == ["x0", "x1"]
    assert w.values.dtype == np.float64


def test_stride_one_gives_every_window() -> None:
    frame = _frame(10, 1)
    w = sliding_windows(frame, 3)
    assert w.shape == (8, 3, 1)  # T - L + 1
    assert w.starts.tolist() == list(range(8))
    assert w.values[:, 0, 0].tolist() == [10.0 * i for i in range(8)]
    assert w.values[:, -1, 0].tolist() == [10.0 * (i + 2) for i in range(8)]
    assert w.end_dates.equals(frame.index[2:])
    # the whole frame as one window
    whole = sliding_windows(frame, 10)
    assert whole.shape == (1, 10, 1) and whole.end_dates[0] == frame.index[-1]


def test_arrays_and_series_are_accepted() -> None:
    w = sliding_windows(np.arange(6.0), 2, stride=2)  # 1-D: one feature
    assert w.shape == (3, 2, 1)
    assert w.values[:, :, 0].tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert w.end_dates.tolist() == [1, 3, 5]  # row numbers
    assert w.columns.tolist() == [0]
    w2 = sliding_windows(np.arange(12).reshape(6, 2), 3)  # integers are cast to float64
    assert w2.values.dtype == np.float64 and w2.values[3, 2].tolist() == [10.0, 11.0]
    series = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2024-01-01", periods=3), name="r")
    w3 = sliding_windows(series, 2)
    assert w3.columns.tolist() == ["r"] and w3.values[1, :, 0].tolist() == [2.0, 3.0]


def test_windows_behave_as_an_immutable_array() -> None:
    w = sliding_windows(_frame(6), 3)
    arr = np.asarray(w)
    assert arr is w.values and arr.shape == (4, 3, 2)
    with pytest.raises(ValueError, match="read-only"):
        arr[0, 0, 0] = 1.0
    copy = np.array(w)
    copy[0, 0, 0] = -1.0  # a writable copy; the windows are unchanged
    assert w.values[0, 0, 0] == 0.0
    assert np.asarray(w, dtype=np.float32).dtype == np.float32
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.values = np.zeros(1)  # type: ignore[misc]
    assert "Windows(n_windows=4, length=3, n_features=2, ends 2024-01-03..2024-01-08)" == repr(w)


def test_take_and_rows() -> None:
    w = sliding_windows(np.arange(10.0), 3, stride=4)  # starts 0, 4
    assert w.rows().tolist() == [0, 1, 2, 4, 5, 6]
    sub = w.take([1])
    assert isinstance(sub, Windows)
    assert sub.starts.tolist() == [4] and sub.values[0, :, 0].tolist() == [4.0, 5.0, 6.0]
    assert sub.end_dates.tolist() == [6]


# --------------------------------------------------------------------------------------------------
# window_split
# --------------------------------------------------------------------------------------------------


def _trending(n: int = 200) -> pd.DataFrame:
    """A drifting, noisy two-feature series: the full-span mean and std differ clearly from the train span's."""
    rng = np.random.default_rng(7)
    t = np.arange(n, dtype=float)
    values = np.column_stack([0.05 * t + rng.normal(0, 1, n), np.exp(0.01 * t) * rng.normal(1, 0.2, n)])
    return pd.DataFrame(values, index=pd.bdate_range("2015-01-01", periods=n, name="date"), columns=["r", "v"])


def test_split_is_time_ordered_with_no_shared_rows() -> None:
    frame = _trending(200)
    length = 20
    split = window_split(frame, length, test_size=0.2)
    assert isinstance(split, WindowSplit)
    b = 160  # the last 40 rows form the test span
    assert (split.n_train_rows, split.n_test_rows) == (160, 40)
    assert split.test_start == frame.index[b]
    assert len(split.train) == 160 - length + 1 and len(split.test) == 40 - length + 1
    # the last training window ends on the last training row, the first test window starts on the boundary
    assert split.train.starts[-1] + length - 1 == b - 1 and split.test.starts[0] == b
    assert split.train.end_dates[-1] == frame.index[b - 1]
    assert split.test.end_dates[0] == frame.index[b + length - 1]
    # the gap: length - 1 rows (b .. b+length-2) end no window at all
    ends = np.concatenate([split.train.starts, split.test.starts]) + length - 1
    assert split.gap == length - 1 == 19
    assert not np.isin(np.arange(b, b + length - 1), ends).any()
    assert split.overlap == 0
    assert np.intersect1d(split.train.rows(), split.test.rows()).size == 0


def test_random_window_split_shares_rows_but_ours_does_not() -> None:
    # the book's protocol: cut all windows, then shuffle them into 80 % train / 20 % test
    frame = _trending(200)
    windows = sliding_windows(frame, 20)
    perm = np.random.default_rng(2024).permutation(len(windows))
    n_train = int(0.8 * len(windows))
    train, test = windows.take(perm[:n_train]), windows.take(perm[n_train:])
    shared = np.intersect1d(train.rows(), test.rows()).size
    assert shared > 0.8 * test.rows().size  # nearly every test row also sits in a training window
    assert window_split(frame, 20, test_size=0.2).overlap == 0


def test_scaler_is_fitted_on_the_train_rows_only() -> None:
    frame = _trending(200)
    split = window_split(frame, 20, test_size=50)
    train_rows = frame.iloc[:150]
    assert isinstance(split.scaler, Standardizer)
    np.testing.assert_allclose(split.scaler.mean_.to_numpy(), train_rows.mean().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(split.scaler.scale_.to_numpy(), train_rows.std(ddof=1).to_numpy(), rtol=1e-12)
    # and not on the full span (the drift makes them differ by far more than rounding)
    assert abs(split.scaler.mean_["r"] - frame["r"].mean()) > 0.5
    # the windows hold the standardised rows: training mean 0 / std 1 over the training rows
    mu, sd = train_rows.mean().to_numpy(), train_rows.std(ddof=1).to_numpy()
    np.testing.assert_allclose(split.train.values[0], (frame.iloc[0:20].to_numpy() - mu) / sd, rtol=1e-12)
    np.testing.assert_allclose(split.test.values[-1], (frame.iloc[180:200].to_numpy() - mu) / sd, rtol=1e-12)
    # test values are scaled with the training statistics, so their mean is far from 0 on a drifting series
    assert split.test.values[:, :, 0].mean() > 1.0


def test_inverse_transform_round_trip() -> None:
    frame = _trending(120)
    split = window_split(frame, 10, test_size=0.25)
    back = split.inverse_transform(split.test)
    np.testing.assert_allclose(back[0], frame.iloc[90:100].to_numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(split.inverse_transform(split.train.values)[-1], frame.iloc[80:90].to_numpy(),
                               rtol=1e-12, atol=1e-12)
    # synthetic windows (any n) in standardised units come back in original units
    z = np.random.default_rng(0).normal(size=(7, 10, 2))
    x = split.inverse_transform(z)
    assert x.shape == (7, 10, 2)
    assert split.scaler is not None
    np.testing.assert_allclose(x, z * split.scaler.scale_.to_numpy() + split.scaler.mean_.to_numpy())
    with pytest.raises(DataValidationError, match=r"windows have shape \(7, 10, 3\) but the split has 2 feature"):
        split.inverse_transform(np.zeros((7, 10, 3)))


def test_split_without_standardisation_and_with_stride() -> None:
    frame = _frame(30, 1)
    split = window_split(frame, 4, test_size=10, stride=3, standardize=False)
    assert split.scaler is None and split.stride == 3
    assert split.train.starts.tolist() == [0, 3, 6, 9, 12, 15]  # within rows 0..19
    assert split.test.starts.tolist() == [20, 23, 26]  # re-anchored at the boundary, within rows 20..29
    assert split.test.values[1, :, 0].tolist() == [230.0, 240.0, 250.0, 260.0]  # raw values
    assert split.overlap == 0
    np.testing.assert_array_equal(split.inverse_transform(split.test), split.test.values)


def test_split_at_a_date() -> None:
    frame = _frame(40, 1)  # business days from Monday 2024-01-01
    split = window_split(frame, 5, test_start="2024-01-27")  # a Saturday: the test span starts on Monday 29th
    assert split.test_start == pd.Timestamp("2024-01-29")
    assert split.n_train_rows == 20 and split.test.starts[0] == 20
    assert split.test.values[0, 0, 0] == pytest.approx((200.0 - frame.iloc[:20, 0].mean()) / frame.iloc[:20, 0].std())


def test_split_of_the_spx_generation_set() -> None:
    from latentquant.datasets import load_spx_generation

    spx = load_spx_generation()
    split = window_split(spx, 20)
    n_test = int(np.floor(len(spx) * 0.2))
    assert split.train.shape == (len(spx) - n_test - 19, 20, 2)
    assert split.test.shape == (n_test - 19, 20, 2)
    assert split.overlap == 0
    assert split.train.end_dates[-1] < split.test_start <= split.test.end_dates[0]


# --------------------------------------------------------------------------------------------------
# bad input: every message names the problem and the fix
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 0, -3, 2.5, True, "20"])
def test_bad_length(length: object) -> None:
    match = re.escape(f"length must be an integer >= 2 (rows per window), got {length!r}; a window of one row "
                      "has no time dimension, pass length=2 or more.")
    with pytest.raises(ConfigError, match=match):
        sliding_windows(_frame(), length)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=match):
        window_split(_frame(), length)  # type: ignore[arg-type]


def test_bad_stride() -> None:
    with pytest.raises(ConfigError, match=r"stride must be an integer >= 1 \(rows between window starts\), got 0\."):
        sliding_windows(_frame(), 3, stride=0)


def test_length_longer_than_the_data() -> None:
    match = (r"length=13 is longer than the data \(12 rows\): not one window fits; pass a shorter length or a "
             r"longer series\.")
    with pytest.raises(DataValidationError, match=match):
        sliding_windows(_frame(12), 13)
    with pytest.raises(DataValidationError, match=match):
        window_split(_frame(12), 13)


def test_non_finite_values() -> None:
    frame = _frame(12)
    frame.iloc[5, 1] = np.nan
    with pytest.raises(DataValidationError, match=r"frame column 'x1' has NaN at 2024-01-08 \(1 non-finite value\(s\) "
                                                  r"in total\); windows must be complete: drop or fill the rows first"):
        sliding_windows(frame, 3)
    frame.iloc[2, 0] = np.inf
    with pytest.raises(DataValidationError, match=r"frame column 'x0' has an infinite value at 2024-01-03 \(2 "):
        window_split(frame, 3)
    with pytest.raises(DataValidationError, match=r"frame column 0 has NaN at 1 "):
        sliding_windows(np.array([0.0, np.nan, 1.0]), 2)


@pytest.mark.parametrize("bad", [[1.0, 2.0, 3.0], {"a": [1.0, 2.0]}, "prices.csv", None])
def test_wrong_input_type(bad: object) -> None:
    match = (rf"frame must be a pandas DataFrame \(rows = dates, columns = features\) or a NumPy array, got "
             rf"{type(bad).__name__}; wrap it with pd\.DataFrame\(values, index=dates, columns=names\)\.")
    with pytest.raises(DataValidationError, match=match):
        sliding_windows(bad, 2)
    with pytest.raises(DataValidationError, match=match):
        window_split(bad, 2)


def test_wrong_array_rank_dtype_and_order() -> None:
    with pytest.raises(DataValidationError, match=r"got an array with 3 dimensions \(shape \(2, 3, 4\)\); reshape "
                                                  r"it to \(n_rows, n_features\)"):
        sliding_windows(np.zeros((2, 3, 4)), 2)
    with pytest.raises(DataValidationError, match=r"frame must hold real numbers, got an array of dtype <U1"):
        sliding_windows(np.array(["a", "b", "c"]), 2)
    text = _frame(5).assign(name="a")
    with pytest.raises(DataValidationError, match=r"frame column 'name' is not numeric; convert it with pd\.to_numeric"):
        sliding_windows(text, 2)
    with pytest.raises(DataValidationError, match=r"frame dates are not sorted ascending; .* frame\.sort_index\(\)"):
        sliding_windows(_frame(5).iloc[::-1], 2)


def test_split_leaving_no_train_or_no_test_window() -> None:
    frame = _frame(30, 1)
    with pytest.raises(DataValidationError, match=r"the training span has 6 row\(s\), fewer than length=10: no "
                                                  r"training window; move the split later \(a smaller test_size or "
                                                  r"a later test_start\) or use a shorter length\."):
        window_split(frame, 10, test_size=0.8)
    with pytest.raises(DataValidationError, match=r"the test span has 6 row\(s\), fewer than length=10: no test "
                                                  r"window; move the split earlier \(a larger test_size or an "
                                                  r"earlier test_start\) or use a shorter length\."):
        window_split(frame, 10, test_size=0.2)
    with pytest.raises(DataValidationError, match=r"the test span has 0 row\(s\)"):
        window_split(frame, 10, test_start="2030-01-01")
    with pytest.raises(DataValidationError, match=r"the training span has 0 row\(s\)"):
        window_split(frame, 10, test_start="2020-01-01")


def test_bad_split_options() -> None:
    frame = _frame(30, 1)
    with pytest.raises(ConfigError, match=r"give test_size or test_start, not both"):
        window_split(frame, 5, test_size=0.2, test_start="2024-01-15")
    with pytest.raises(ConfigError, match=r"test_start needs a frame with a DatetimeIndex, got RangeIndex; pass "
                                          r"test_size"):
        window_split(np.zeros((30, 1)), 5, test_start="2024-01-15")
    with pytest.raises(ConfigError, match=r"test_start='soon' is not a date; use an ISO date"):
        window_split(frame, 5, test_start="soon")
    with pytest.raises(ConfigError, match=r"test_size=1\.5 must be a share in \(0, 1\) of the rows, or an integer"):
        window_split(frame, 5, test_size=1.5)
    with pytest.raises(ConfigError, match=r"test_size=30 rows must be between 1 and 29 \(the frame has 30 rows\)"):
        window_split(frame, 5, test_size=30)
    with pytest.raises(ConfigError, match=r"test_size must be a share in \(0, 1\) or a number of rows, got '20%'"):
        window_split(frame, 5, test_size="20%")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"standardize must be True or False, got 'yes'"):
        window_split(frame, 5, standardize="yes")  # type: ignore[arg-type]


def test_constant_feature_on_the_train_span() -> None:
    frame = _frame(30, 2)
    frame.iloc[:24, 1] = 1.0  # constant on the training span only
    with pytest.raises(DataValidationError, match=r"X column 'x1' is constant on the training span"):
        window_split(frame, 3, test_size=6)
    assert window_split(frame, 3, test_size=6, standardize=False).overlap == 0
