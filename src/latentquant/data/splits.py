"""Time-ordered splits: holdout (with optional gap), walk-forward, and the validation tail used by the Trainer.

Every splitter here keeps time order: training rows always come strictly before validation/test rows, with an
optional ``gap`` of discarded rows between them (to stop overlapping labels or autocorrelation leaking across the
boundary). Nothing is shuffled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from latentquant.exceptions import ConfigError, DataValidationError

__all__ = ["HoldoutSplit", "WalkForwardSplit", "YearlyWindow", "YearlyWindows", "split_by_date", "tail_split"]


def tail_split(n_rows: int, fraction: float, *, gap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a training block followed by a validation block made of the last ``fraction`` of rows.

    Parameters
    ----------
    n_rows : int
        Number of rows, in time order.
    fraction : float
        Share of rows in the validation block, in ``[0, 1)``. ``0`` gives no validation rows.
    gap : int
        Rows dropped between the training and the validation block.

    Returns
    -------
    train_idx, val_idx : numpy.ndarray
        ``train_idx`` = ``0 .. n_train-1``, ``val_idx`` = the final ``n_val`` rows.

    Examples
    --------
    >>> tr, va = tail_split(10, 0.2, gap=1)
    >>> tr.tolist(), va.tolist()
    ([0, 1, 2, 3, 4, 5, 6], [8, 9])
    """
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"validation_split must be in [0, 1), got {fraction!r}.")
    if gap < 0:
        raise ConfigError(f"gap must be a non-negative number of rows, got {gap!r}.")
    n_val = int(np.floor(n_rows * fraction))
    if fraction > 0 and n_val == 0:
        n_val = 1
    n_train = n_rows - n_val - (gap if n_val else 0)
    if n_train < 1:
        raise DataValidationError(
            f"{n_rows} rows are too few for validation_split={fraction} with gap={gap}: no training rows left; "
            "pass more rows, a smaller validation_split or a smaller gap."
        )
    return np.arange(n_train), np.arange(n_rows - n_val, n_rows)


def _to_timestamp(value: Any, name: str, tz: Any = None) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name}={value!r} is not a date; use an ISO date such as '2015-12-31'.") from exc
    if tz is not None and ts.tz is None:
        return ts.tz_localize(tz)  # naive bounds on a tz-aware index are read in the index's time zone
    if tz is None and ts.tz is not None:
        raise ConfigError(f"{name}={value!r} has a time zone but the data's dates do not; drop the time zone.")
    return ts


def split_by_date(
    data: pd.DataFrame,
    train_end: Any,
    test_start: Any | None = None,
    *,
    train_start: Any | None = None,
    test_end: Any | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a date-indexed table into a training span ``[train_start, train_end]`` and a test span.

    ``test_start`` defaults to the first date after ``train_end``. Bounds are inclusive.

    Parameters
    ----------
    data : pandas.DataFrame
        Table with a :class:`~pandas.DatetimeIndex`.
    train_end : date-like
        Last date of the training span.
    test_start : date-like, optional
        First date of the test span, after ``train_end`` (dates in between are dropped, e.g. a validation gap).
    train_start : date-like, optional
        First date of the training span (default: the first date of ``data``).
    test_end : date-like, optional
        Last date of the test span (default: the last date of ``data``).

    Returns
    -------
    train, test : pandas.DataFrame
        The two spans.

    Raises
    ------
    ConfigError
        ``test_start`` not after ``train_end``, or a bound that is not a date.
    DataValidationError
        A span without rows.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"A": range(6)}, index=pd.date_range("2020-01-01", periods=6), dtype=float)
    >>> tr, te = split_by_date(x, "2020-01-03")
    >>> len(tr), len(te)
    (3, 3)
    """
    if not isinstance(data.index, pd.DatetimeIndex):
        raise DataValidationError("data must have a DatetimeIndex to be split by date.")
    tz = data.index.tz
    t_end = _to_timestamp(train_end, "train_end", tz)
    t0 = _to_timestamp(train_start, "train_start", tz) if train_start is not None else data.index[0]
    s0 = _to_timestamp(test_start, "test_start", tz) if test_start is not None else None
    s1 = _to_timestamp(test_end, "test_end", tz) if test_end is not None else data.index[-1]
    if s0 is not None and s0 <= t_end:
        raise ConfigError(
            f"test_start={s0.date()} must be after train_end={t_end.date()} (time-ordered split)."
        )
    train = data.loc[(data.index >= t0) & (data.index <= t_end)]
    test_mask = (data.index > t_end) if s0 is None else (data.index >= s0)
    test = data.loc[test_mask & (data.index <= s1)]
    for label, part, lo, hi in (("training", train, t0, t_end), ("test", test, s0 or t_end, s1)):
        if part.empty:
            raise DataValidationError(
                f"The {label} span {pd.Timestamp(lo).date()}..{pd.Timestamp(hi).date()} contains no rows; the data "
                f"cover {data.index[0].date()}..{data.index[-1].date()}. Choose dates inside the data."
            )
    return train, test


@dataclass(frozen=True)
class HoldoutSplit:
    """One time-ordered train/test split: the last ``test_size`` rows (int) or share (float) are the test set.

    Parameters
    ----------
    test_size : int or float, default 0.2
        Number of test rows (int) or their share of the rows (float).
    gap : int, default 0
        Rows dropped between the training and the test rows.

    Examples
    --------
    >>> tr, te = next(HoldoutSplit(test_size=0.25, gap=1).split(np.zeros((8, 1))))
    >>> tr.tolist(), te.tolist()
    ([0, 1, 2, 3, 4], [6, 7])
    """

    test_size: float | int = 0.2
    gap: int = 0

    def split(self, X: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = len(X)
        n_test = self.test_size if isinstance(self.test_size, int) else int(np.floor(n * self.test_size))
        if n_test < 1 or n_test >= n:
            raise ConfigError(f"test_size={self.test_size!r} must leave test and training rows out of {n}.")
        n_train = n - n_test - self.gap
        if n_train < 1:
            raise DataValidationError(f"{n} rows are too few for {n_test} test rows with gap {self.gap}.")
        yield np.arange(n_train), np.arange(n - n_test, n)

    def get_n_splits(self) -> int:
        return 1


@dataclass(frozen=True)
class WalkForwardSplit:
    """Walk-forward splits: successive test blocks of ``test_size`` rows, each trained on the rows before it.

    Parameters
    ----------
    n_splits : int
        Number of test blocks (placed at the end of the data).
    test_size : int
        Rows per test block.
    train_size : int or None
        Rolling window length; ``None`` = expanding window from the first row.
    gap : int
        Rows dropped between the training window and the test block.

    Examples
    --------
    >>> for tr, te in WalkForwardSplit(n_splits=2, test_size=2, train_size=3).split(np.zeros(10)):
    ...     print(tr.tolist(), te.tolist())
    [3, 4, 5] [6, 7]
    [5, 6, 7] [8, 9]
    """

    n_splits: int = 5
    test_size: int = 1
    train_size: int | None = None
    gap: int = 0

    def split(self, X: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = len(X)
        if self.n_splits < 1 or self.test_size < 1 or self.gap < 0:
            raise ConfigError("n_splits and test_size must be >= 1 and gap >= 0.")
        first_test = n - self.n_splits * self.test_size
        min_train = self.train_size or 1
        if first_test - self.gap < min_train:
            raise DataValidationError(
                f"{n} rows are too few for {self.n_splits} test blocks of {self.test_size} rows with gap "
                f"{self.gap} and train_size {self.train_size}; pass more rows or fewer/smaller blocks."
            )
        for k in range(self.n_splits):
            start = first_test + k * self.test_size
            train_stop = start - self.gap
            train_start = 0 if self.train_size is None else train_stop - self.train_size
            yield np.arange(train_start, train_stop), np.arange(start, start + self.test_size)

    def get_n_splits(self) -> int:
        return self.n_splits


@dataclass(frozen=True)
class YearlyWindow:
    """One refit of a calendar-year protocol: inclusive year ranges of the training, validation and test spans.

    Parameters
    ----------
    train : tuple of int
        First and last training year.
    validation : tuple of int or None
        First and last validation year; ``None``: no validation span.
    test : tuple of int
        First and last test year.

    Examples
    --------
    >>> window = YearlyWindow(train=(2000, 2001), validation=None, test=(2002, 2002))
    >>> train, val, test = window.masks(pd.to_datetime(["2000-06-30", "2001-06-30", "2002-06-30"]))
    >>> train.tolist(), val.tolist(), test.tolist(), window.label
    ([True, True, False], [False, False, False], [False, False, True], 'test 2002')
    """

    train: tuple[int, int]
    validation: tuple[int, int] | None
    test: tuple[int, int]

    def masks(self, dates: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boolean masks of ``dates`` (any DatetimeIndex-like, e.g. a panel's date level) for the three spans."""
        years = pd.DatetimeIndex(dates).year.to_numpy()

        def between(span: tuple[int, int] | None) -> np.ndarray:
            return np.zeros(len(years), bool) if span is None else (years >= span[0]) & (years <= span[1])

        return between(self.train), between(self.validation), between(self.test)

    @property
    def label(self) -> str:
        return f"test {self.test[0]}" if self.test[0] == self.test[1] else f"test {self.test[0]}–{self.test[1]}"


@dataclass(frozen=True)
class YearlyWindows:
    """Train/validation/test windows by calendar year with periodic refits, as in Gu, Kelly & Xiu (2021).

    The first window trains on ``[start_year, first_test_year − val_years − 1]``, validates on the next
    ``val_years`` years and tests on ``refit_every`` years starting at ``first_test_year``; each following window
    moves everything forward by ``refit_every`` years. ``scheme='expanding'`` keeps ``start_year`` fixed (GKX);
    ``'rolling'`` moves the training start too, keeping its length.

    Parameters
    ----------
    start_year : int
        First training year.
    first_test_year, last_test_year : int
        First and last year tested.
    val_years : int, default 0
        Validation years between training and test (0: no validation span).
    refit_every : int, default 1
        Test years per window (the model is refitted this often).
    scheme : {"expanding", "rolling"}, default "expanding"
        Keep the training start fixed, or move it with the window.

    Raises
    ------
    ConfigError
        An unknown ``scheme``, ``refit_every < 1``, ``val_years < 0``, test years in the wrong order, or no
        training year left.

    Examples
    --------
    >>> w = YearlyWindows(start_year=1957, first_test_year=1987, last_test_year=1989, val_years=12)
    >>> [(x.train, x.validation, x.test) for x in w.windows()][:2]
    [((1957, 1974), (1975, 1986), (1987, 1987)), ((1957, 1975), (1976, 1987), (1988, 1988))]
    >>> YearlyWindows(1957, 1987, 1988, val_years=12, scheme="rolling").windows()[1].train
    (1958, 1975)
    """

    start_year: int
    first_test_year: int
    last_test_year: int
    val_years: int = 0
    refit_every: int = 1
    scheme: str = "expanding"

    def __post_init__(self) -> None:
        if self.scheme not in ("expanding", "rolling"):
            raise ConfigError(f"scheme must be 'expanding' or 'rolling', got {self.scheme!r}.")
        if self.refit_every < 1 or self.val_years < 0:
            raise ConfigError(f"refit_every must be >= 1 and val_years >= 0, got {self.refit_every!r} and "
                              f"{self.val_years!r}.")
        if self.last_test_year < self.first_test_year:
            raise ConfigError(f"last_test_year {self.last_test_year} is before first_test_year {self.first_test_year}.")
        if self.first_test_year - self.val_years - 1 < self.start_year:
            raise ConfigError(
                f"no training years left: start_year {self.start_year}, first_test_year {self.first_test_year} and "
                f"val_years {self.val_years} leave an empty training span; start earlier or validate on fewer years."
            )

    def windows(self) -> list[YearlyWindow]:
        out = []
        for test_start in range(self.first_test_year, self.last_test_year + 1, self.refit_every):
            shift = test_start - self.first_test_year
            train_end = test_start - self.val_years - 1
            train_start = self.start_year + (shift if self.scheme == "rolling" else 0)
            val = (train_end + 1, test_start - 1) if self.val_years else None
            out.append(YearlyWindow((train_start, train_end), val,
                                    (test_start, min(test_start + self.refit_every - 1, self.last_test_year))))
        return out

    def __len__(self) -> int:
        return len(self.windows())
