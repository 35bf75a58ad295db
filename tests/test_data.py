import numpy as np
import pandas as pd
import pytest

from latentquant.data import (
    HoldoutSplit,
    Standardizer,
    WalkForwardSplit,
    log_returns,
    simple_returns,
    split_by_date,
    tail_split,
)
from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError


@pytest.fixture
def prices():
    idx = pd.date_range("2020-01-01", periods=5, name="date")
    return pd.DataFrame({"A": [100.0, 110.0, 99.0, 99.0, 120.0], "B": [1.0, 2.0, 1.0, 4.0, 2.0]}, index=idx)


def test_returns_closed_form(prices):
    s = simple_returns(prices)
    lr = log_returns(prices)
    assert s.index.equals(prices.index[1:])
    np.testing.assert_allclose(s["B"], [1.0, -0.5, 3.0, -0.5])
    np.testing.assert_allclose(lr, np.log1p(s))
    # log returns add up over time
    np.testing.assert_allclose(lr.sum(), np.log(prices.iloc[-1] / prices.iloc[0]))


def test_log_returns_reject_non_positive_prices(prices):
    prices.iloc[3, 1] = -1.0
    with pytest.raises(DataValidationError, match=r"column 'B' has a non-positive value: first at 2020-01-04"):
        log_returns(prices)


def test_standardizer_uses_training_rows_only(prices):
    train, test = prices.iloc[:3], prices.iloc[3:]
    sc = Standardizer().fit(train)
    np.testing.assert_allclose(sc.mean_, train.mean())
    z = sc.transform(prices)
    # perturbing the future does not move the transform of the past
    future = prices.copy()
    future.iloc[3:] *= 50
    z2 = Standardizer().fit(future.iloc[:3]).transform(future)
    pd.testing.assert_frame_equal(z.iloc[:3], z2.iloc[:3])
    back = sc.inverse_transform(sc.transform(test))
    pd.testing.assert_frame_equal(back, test)
    np.testing.assert_allclose(sc.inverse_transform(z.to_numpy()), prices.to_numpy())


def test_standardizer_errors(prices):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        Standardizer().transform(prices)
    const = prices.assign(C=1.0)
    with pytest.raises(DataValidationError, match="column 'C' is constant on the training span"):
        Standardizer().fit(const)
    sc = Standardizer().fit(prices)
    with pytest.raises(DataValidationError, match="pass the same columns in the same order"):
        sc.transform(prices[["B", "A"]])


def test_tail_split_is_final_block_with_gap():
    tr, va = tail_split(100, 0.2, gap=5)
    assert va.tolist() == list(range(80, 100))
    assert tr.tolist() == list(range(75))
    tr, va = tail_split(10, 0.0)
    assert len(va) == 0 and len(tr) == 10
    with pytest.raises(ConfigError, match=r"validation_split must be in \[0, 1\)"):
        tail_split(10, 1.0)
    with pytest.raises(DataValidationError, match="no training rows left"):
        tail_split(3, 0.5, gap=2)


def test_holdout_and_walk_forward_are_time_ordered():
    tr, te = next(HoldoutSplit(test_size=30, gap=2).split(np.zeros(100)))
    assert tr.max() + 2 < te.min() and te.tolist() == list(range(70, 100))
    splits = list(WalkForwardSplit(n_splits=3, test_size=10, gap=1).split(np.zeros(100)))
    assert [te[0] for _, te in splits] == [70, 80, 90]
    for tr, te in splits:
        assert tr[0] == 0 and tr[-1] == te[0] - 2  # expanding window, gap of 1 row
    rolling = list(WalkForwardSplit(n_splits=2, test_size=5, train_size=20).split(np.zeros(50)))
    assert all(len(tr) == 20 and tr[-1] + 1 == te[0] for tr, te in rolling)
    with pytest.raises(DataValidationError, match="too few for 5 test blocks"):
        list(WalkForwardSplit(n_splits=5, test_size=10, train_size=60).split(np.zeros(100)))


def test_split_by_date(prices):
    tr, te = split_by_date(prices, "2020-01-02")
    assert tr.index[-1] == pd.Timestamp("2020-01-02") and te.index[0] == pd.Timestamp("2020-01-03")
    with pytest.raises(ConfigError, match="must be after train_end"):
        split_by_date(prices, "2020-01-03", "2020-01-02")
    with pytest.raises(DataValidationError, match=r"The test span .* contains no rows; the data cover 2020-01-01..2020-01-05"):
        split_by_date(prices, "2020-01-05")
    with pytest.raises(ConfigError, match="is not a date"):
        split_by_date(prices, "not-a-date")


def test_holdout_with_integer_test_size_is_exact():
    for n in range(16, 60):
        tr, te = next(HoldoutSplit(test_size=15).split(np.zeros(n)))
        assert len(te) == 15 and tr[-1] + 1 == te[0]


def test_split_by_date_on_utc_index():
    idx = pd.date_range("2020-01-01", periods=6, tz="UTC")
    x = pd.DataFrame({"A": np.arange(6.0)}, index=idx)
    tr, te = split_by_date(x, "2020-01-03")
    assert len(tr) == 3 and len(te) == 3


def test_yearly_windows_expanding_and_rolling_follow_the_gkx_protocol():
    from latentquant.data import YearlyWindows

    w = YearlyWindows(start_year=1957, first_test_year=1987, last_test_year=2016, val_years=12).windows()
    assert len(w) == 30
    assert (w[0].train, w[0].validation, w[0].test) == ((1957, 1974), (1975, 1986), (1987, 1987))
    assert (w[-1].train, w[-1].validation, w[-1].test) == ((1957, 2003), (2004, 2015), (2016, 2016))
    rolling = YearlyWindows(1957, 1987, 2016, val_years=12, scheme="rolling").windows()
    assert rolling[-1].train == (1986, 2003) and all(x.train[1] - x.train[0] == 17 for x in rolling)
    every3 = YearlyWindows(2000, 2010, 2016, val_years=0, refit_every=3).windows()
    assert [x.test for x in every3] == [(2010, 2012), (2013, 2015), (2016, 2016)] and every3[0].validation is None


def test_yearly_window_masks_never_overlap_and_keep_time_order():
    from latentquant.data import YearlyWindows

    dates = pd.date_range("2000-01-31", "2019-12-31", freq="ME")
    for w in YearlyWindows(2000, 2012, 2019, val_years=3, refit_every=2).windows():
        tr, va, te = w.masks(dates)
        assert not (tr & va).any() and not (tr & te).any() and not (va & te).any()
        assert dates[tr].max() < dates[va].min() < dates[te].min()


def test_yearly_windows_errors_are_pinned():
    from latentquant.data import YearlyWindows

    with pytest.raises(ConfigError, match="scheme must be 'expanding' or 'rolling', got 'sliding'"):
        YearlyWindows(2000, 2010, 2012, scheme="sliding")
    with pytest.raises(ConfigError, match="no training years left"):
        YearlyWindows(2000, 2003, 2005, val_years=3)
    with pytest.raises(ConfigError, match="last_test_year 2009 is before first_test_year 2010"):
        YearlyWindows(2000, 2010, 2009)
