import numpy as np
import pandas as pd
import pytest

from latentquant.exceptions import DataValidationError
from latentquant.validation import check_aligned, check_frame, check_min_rows


def frame(values, columns=("A", "B"), start="2020-01-01"):
    return pd.DataFrame(values, index=pd.date_range(start, periods=len(values), name="date"), columns=list(columns))


def test_valid_frame_is_returned_as_float64_copy():
    df = frame([[1, 2], [3, 4]])
    out = check_frame(df)
    assert out.dtypes.tolist() == [np.float64, np.float64]
    out.iloc[0, 0] = 99
    assert df.iloc[0, 0] == 1


def test_nan_names_column_and_first_date():
    df = frame([[1.0, 2.0], [3.0, np.nan], [np.nan, 1.0]])
    with pytest.raises(DataValidationError, match=r"column 'B' has NaN .*first at 2020-01-02"):
        check_frame(df, name="prices")


def test_all_nan_column():
    df = frame([[1.0, np.nan], [3.0, np.nan]])
    with pytest.raises(DataValidationError, match="column 'B' is entirely NaN; drop it"):
        check_frame(df)


def test_inf_is_rejected_even_when_nan_allowed():
    df = frame([[1.0, 2.0], [np.inf, 1.0]])
    with pytest.raises(DataValidationError, match=r"column 'A' has an infinite value: first at 2020-01-02"):
        check_frame(df, allow_nan=True)


def test_duplicated_dates():
    df = frame([[1.0, 2.0], [3.0, 4.0]])
    df.index = pd.DatetimeIndex(["2020-01-01", "2020-01-01"])
    with pytest.raises(DataValidationError, match=r"duplicated dates \(1 duplicate\(s\), first 2020-01-01\)"):
        check_frame(df)


def test_unsorted_dates():
    df = frame([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    df.index = pd.DatetimeIndex(["2020-01-01", "2020-01-03", "2020-01-02"])
    with pytest.raises(DataValidationError, match=r"not sorted ascending \(first out-of-order date 2020-01-02"):
        check_frame(df)


def test_non_numeric_column():
    df = frame([[1.0, "x"], [3.0, "4"]])
    with pytest.raises(DataValidationError, match=r"column 'B' is not numeric \(first non-numeric value 'x' on 2020-01-01"):
        check_frame(df)


def test_empty_and_wrong_type():
    with pytest.raises(DataValidationError, match="is empty"):
        check_frame(pd.DataFrame())
    with pytest.raises(DataValidationError, match="must be a pandas DataFrame"):
        check_frame(np.zeros((3, 2)))
    with pytest.raises(DataValidationError, match="must have a DatetimeIndex"):
        check_frame(pd.DataFrame({"A": [1.0]}))


def test_non_positive_prices():
    df = frame([[1.0, 2.0], [0.0, 4.0]])
    with pytest.raises(DataValidationError, match=r"column 'A' has a non-positive value: first at 2020-01-02"):
        check_frame(df, positive=True)


def test_min_rows():
    with pytest.raises(DataValidationError, match="has 2 rows but at least 5 are needed"):
        check_frame(frame([[1.0, 2.0], [3.0, 4.0]]), min_rows=5)
    with pytest.raises(DataValidationError, match="a 3-factor model needs at least 15"):
        check_min_rows(10, 15, what="a 3-factor model")


def test_misaligned_indexes():
    a = frame([[1.0, 2.0], [3.0, 4.0]])
    b = frame([[1.0, 2.0], [3.0, 4.0]], start="2020-01-02")
    check_aligned(a, a)
    with pytest.raises(DataValidationError, match=r"misaligned indexes \(1 date\(s\) only in returns, first 2020-01-01"):
        check_aligned(a, b, names=("returns", "weights"))


def test_duplicated_column_names():
    df = frame([[1.0, 2.0], [3.0, 4.0]], columns=("A", "A"))
    with pytest.raises(DataValidationError, match=r"duplicated column names \['A'\]; give every asset a unique"):
        check_frame(df)
