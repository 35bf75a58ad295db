"""Overlapping windows of a multivariate time series, and their time-ordered train/test split.

Generative models of market data (TimeVAE, TimeGAN, flows …) train on fixed-length windows cut from one long
series: ``frame`` of shape ``(T, F)`` becomes an array ``(n, length, F)``. With stride 1 neighbouring windows share
``length − 1`` rows, so splitting the *windows* at random — as the book and several public repositories do — puts
almost every test row inside some training window as well, and any score computed on the "test" windows is
optimistic. :func:`window_split` splits the *rows* in time instead: training windows lie in the training span,
test windows in the test span, and the ``length − 1`` windows that would straddle the boundary are dropped, so no
row is shared (:attr:`WindowSplit.overlap` is 0). Standardisation is fitted on the training span only, with the
project's :class:`~latentquant.data.Standardizer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from latentquant.data.scaling import Standardizer
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import format_date

__all__ = ["WindowSplit", "Windows", "sliding_windows", "window_split"]


@dataclass(frozen=True, eq=False)
class Windows:
    """Overlapping windows cut from one time series: ``values[i] = frame.iloc[starts[i] : starts[i] + length]``.

    ``np.asarray(windows)`` gives :attr:`values` (read-only; ``np.array(windows)`` gives a writable copy), so a
    ``Windows`` can be passed wherever an array ``(n, length, n_features)`` is expected.

    Attributes
    ----------
    values : numpy.ndarray
        Read-only float64 array ``(n_windows, length, n_features)``.
    end_dates : pandas.Index
        Index label of each window's last row (a :class:`~pandas.DatetimeIndex` for a date-indexed frame, row
        numbers for an array), length ``n_windows``.
    columns : pandas.Index
        Feature names, length ``n_features`` (``0 .. F-1`` for an array).
    starts : numpy.ndarray
        Row position (in the frame the windows were cut from) of each window's first row, int64.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentquant.data import sliding_windows
    >>> frame = pd.DataFrame({"r": np.arange(5.0)}, index=pd.date_range("2024-01-01", periods=5, name="date"))
    >>> w = sliding_windows(frame, 3)
    >>> w.shape, w.starts.tolist()
    ((3, 3, 1), [0, 1, 2])
    >>> np.asarray(w)[:, :, 0].tolist()
    [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    """

    values: np.ndarray
    end_dates: pd.Index
    columns: pd.Index
    starts: np.ndarray

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self.values if dtype is None else self.values.astype(dtype, copy=False)
        return out.copy() if copy else out

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __repr__(self) -> str:
        n, length, n_features = self.shape
        span = f", ends {format_date(self.end_dates[0])}..{format_date(self.end_dates[-1])}" if n else ""
        return f"Windows(n_windows={n}, length={length}, n_features={n_features}{span})"

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_windows, length, n_features)``."""
        n, length, n_features = self.values.shape
        return int(n), int(length), int(n_features)

    @property
    def length(self) -> int:
        """Rows per window."""
        return int(self.values.shape[1])

    @property
    def n_features(self) -> int:
        """Features (columns) per row."""
        return int(self.values.shape[2])

    def rows(self) -> np.ndarray:
        """Sorted row positions covered by at least one window (for overlap checks).

        Examples
        --------
        >>> import numpy as np
        >>> from latentquant.data import sliding_windows
        >>> sliding_windows(np.zeros((10, 1)), 3, stride=4).rows().tolist()
        [0, 1, 2, 4, 5, 6]
        """
        offsets = np.arange(self.length, dtype=np.int64)
        return np.unique((self.starts[:, None] + offsets[None, :]).ravel())

    def take(self, indices: Any) -> Windows:
        """The windows at ``indices`` (positions, e.g. a random subset), as a new :class:`Windows`.

        Parameters
        ----------
        indices : array-like of int
            Window positions ``0 .. n_windows-1``.

        Examples
        --------
        >>> import numpy as np
        >>> from latentquant.data import sliding_windows
        >>> w = sliding_windows(np.arange(6.0), 2)
        >>> w.take([4, 0]).starts.tolist()
        [4, 0]
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        return _make_windows(self.values[idx], self.end_dates[idx], self.columns, self.starts[idx])


@dataclass(frozen=True, eq=False)
class WindowSplit:
    """Time-ordered train/test windows of one series, standardised with training-span statistics.

    The rows are cut at one boundary: training windows lie entirely in the rows before it, test windows in the rows
    from it on. The ``length − 1`` windows that would straddle the boundary are dropped (:attr:`gap`), so the last
    training window ends ``length`` rows before the first test window ends and no row belongs to both sets
    (:attr:`overlap` is 0).

    Attributes
    ----------
    train, test : Windows
        Training and test windows, standardised when :attr:`scaler` is set. ``starts`` count rows of the whole
        frame.
    scaler : Standardizer or None
        Fitted on the training-span rows only (mean and sample standard deviation, ``ddof=1``); ``None`` when
        ``standardize=False``.
    length : int
        Rows per window.
    stride : int
        Rows between the starts of consecutive windows within each span.
    test_start : object
        Index label of the first row of the test span (a :class:`pandas.Timestamp` for a date-indexed frame).
    n_train_rows, n_test_rows : int
        Rows in the training and test spans.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentquant.data import window_split
    >>> dates = pd.bdate_range("2024-01-01", periods=100, name="date")
    >>> frame = pd.DataFrame({"r": np.random.default_rng(0).normal(size=100)}, index=dates)
    >>> split = window_split(frame, 10, test_size=0.2)
    >>> len(split.train), len(split.test), split.gap, split.overlap
    (71, 11, 9, 0)
    """

    train: Windows
    test: Windows
    scaler: Standardizer | None
    length: int
    stride: int
    test_start: Any
    n_train_rows: int
    n_test_rows: int

    @property
    def gap(self) -> int:
        """Windows dropped at the boundary per unit stride: ``length − 1`` (the rows between the last training
        window's end and the first test window's end, exclusive, where no window ends)."""
        return self.length - 1

    @property
    def overlap(self) -> int:
        """Rows that belong to both a training and a test window (0 by construction)."""
        return int(np.intersect1d(self.train.rows(), self.test.rows(), assume_unique=True).size)

    def inverse_transform(self, windows: Any) -> np.ndarray:
        """Map standardised windows (e.g. synthetic ones) back to original units.

        Parameters
        ----------
        windows : Windows or array-like
            Values ``(..., n_features)`` in standardised units, usually ``(n, length, n_features)``.

        Returns
        -------
        numpy.ndarray
            Same shape, in the units of the frame (a copy; unchanged values when ``standardize=False``).

        Raises
        ------
        DataValidationError
            If the last axis is not ``n_features`` long.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from latentquant.data import window_split
        >>> frame = pd.DataFrame({"r": np.arange(40.0)}, index=pd.bdate_range("2024-01-01", periods=40))
        >>> split = window_split(frame, 5, test_size=10)
        >>> split.inverse_transform(split.test)[0, :, 0].tolist()
        [30.0, 31.0, 32.0, 33.0, 34.0]
        """
        arr = np.array(windows, dtype=np.float64)
        n_features = self.train.n_features
        if arr.ndim < 1 or arr.shape[-1] != n_features:
            raise DataValidationError(
                f"windows have shape {arr.shape} but the split has {n_features} feature(s); pass values shaped "
                f"(n, length, {n_features})."
            )
        if self.scaler is None:
            return arr
        flat = arr.reshape(-1, n_features)
        back = self.scaler.inverse_transform(flat)
        return np.asarray(back, dtype=np.float64).reshape(arr.shape)


def _make_windows(values: np.ndarray, end_dates: pd.Index, columns: pd.Index, starts: np.ndarray) -> Windows:
    values = np.ascontiguousarray(values, dtype=np.float64)
    values.flags.writeable = False
    starts = np.asarray(starts, dtype=np.int64).copy()
    starts.flags.writeable = False
    return Windows(values=values, end_dates=end_dates, columns=columns, starts=starts)


def _as_frame(frame: Any) -> pd.DataFrame:
    """The input as a float64 DataFrame after the checks every window function shares."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if isinstance(frame, np.ndarray):
        if frame.ndim == 1:
            frame = frame[:, None]
        if frame.ndim != 2:
            raise DataValidationError(
                f"frame must be 1-D (one series) or 2-D (rows = time, columns = features), got an array with "
                f"{frame.ndim} dimensions (shape {frame.shape}); reshape it to (n_rows, n_features)."
            )
        if not np.issubdtype(frame.dtype, np.number) or np.issubdtype(frame.dtype, np.complexfloating):
            raise DataValidationError(
                f"frame must hold real numbers, got an array of dtype {frame.dtype}; convert it with "
                "frame.astype(float)."
            )
        frame = pd.DataFrame(frame)
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"frame must be a pandas DataFrame (rows = dates, columns = features) or a NumPy array, got "
            f"{type(frame).__name__}; wrap it with pd.DataFrame(values, index=dates, columns=names)."
        )
    if frame.shape[1] == 0:
        raise DataValidationError("frame has no columns; pass at least one feature.")
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise DataValidationError(
            f"frame column {non_numeric[0]!r} is not numeric; convert it with pd.to_numeric or drop it."
        )
    if isinstance(frame.index, pd.DatetimeIndex) and not frame.index.is_monotonic_increasing:
        raise DataValidationError(
            "frame dates are not sorted ascending; windows follow row order, so call frame.sort_index() first."
        )
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(values[i, j]) else "an infinite value"
        raise DataValidationError(
            f"frame column {frame.columns[j]!r} has {what} at {format_date(frame.index[i])} "
            f"({int(bad.sum())} non-finite value(s) in total); windows must be complete: drop or fill the rows "
            "first (e.g. frame.dropna()), or replace infinite values."
        )
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def _check_length_stride(length: Any, stride: Any) -> tuple[int, int]:
    if isinstance(length, bool) or not isinstance(length, Integral) or length < 2:
        raise ConfigError(
            f"length must be an integer >= 2 (rows per window), got {length!r}; a window of one row has no time "
            "dimension, pass length=2 or more."
        )
    if isinstance(stride, bool) or not isinstance(stride, Integral) or stride < 1:
        raise ConfigError(f"stride must be an integer >= 1 (rows between window starts), got {stride!r}.")
    return int(length), int(stride)


def _cut(data: pd.DataFrame, length: int, stride: int, offset: int) -> Windows:
    """Windows of ``data`` (already checked, ``len(data) >= length``); ``offset`` = row position of ``data[0]``."""
    arr = data.to_numpy(dtype=np.float64)
    view = np.lib.stride_tricks.sliding_window_view(arr, length, axis=0)[::stride]  # (n, F, length)
    local = np.arange(0, len(data) - length + 1, stride, dtype=np.int64)
    return _make_windows(view.transpose(0, 2, 1), data.index[local + length - 1], data.columns.copy(),
                         local + offset)


def sliding_windows(frame: Any, length: int, stride: int = 1) -> Windows:
    """Overlapping windows of ``length`` consecutive rows, starting every ``stride`` rows from the first row.

    Window ``i`` holds rows ``i·stride … i·stride + length − 1``; there are ``⌊(T − length) / stride⌋ + 1`` windows
    for ``T`` rows (rows after the last full window are not used when ``stride > 1``).

    Parameters
    ----------
    frame : pandas.DataFrame, pandas.Series or numpy.ndarray
        The series, rows in time order (oldest first), columns = features; a 1-D array or a Series is one feature.
        Must be finite (no NaN/inf).
    length : int
        Rows per window, at least 2 and at most the number of rows.
    stride : int, default 1
        Rows between the first rows of consecutive windows.

    Returns
    -------
    Windows
        ``values`` ``(n_windows, length, n_features)`` float64, the ``end_dates`` of the windows, the ``columns``
        and the ``starts`` (row positions). ``np.asarray(result)`` is the values array.

    Raises
    ------
    ConfigError
        ``length < 2`` or ``stride < 1`` (or not integers).
    DataValidationError
        Input that is not a DataFrame/Series/array, non-numeric or non-finite values, unsorted dates, or fewer rows
        than ``length``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentquant.data import sliding_windows
    >>> dates = pd.date_range("2024-01-01", periods=6, name="date")
    >>> frame = pd.DataFrame({"r": np.arange(6.0), "v": -np.arange(6.0)}, index=dates)
    >>> w = sliding_windows(frame, 3, stride=2)
    >>> w.shape
    (2, 3, 2)
    >>> w.values[1].tolist()
    [[2.0, -2.0], [3.0, -3.0], [4.0, -4.0]]
    >>> [d.strftime("%Y-%m-%d") for d in w.end_dates]
    ['2024-01-03', '2024-01-05']
    """
    length, stride = _check_length_stride(length, stride)
    data = _as_frame(frame)
    if len(data) < length:
        raise DataValidationError(
            f"length={length} is longer than the data ({len(data)} rows): not one window fits; pass a shorter "
            "length or a longer series."
        )
    return _cut(data, length, stride, 0)


def _boundary(data: pd.DataFrame, test_size: Any, test_start: Any) -> int:
    """Row position of the first test row."""
    n = len(data)
    if test_start is not None:
        if test_size is not None:
            raise ConfigError("give test_size or test_start, not both; test_start fixes the split date itself.")
        if not isinstance(data.index, pd.DatetimeIndex):
            raise ConfigError(
                f"test_start needs a frame with a DatetimeIndex, got {type(data.index).__name__}; pass test_size "
                "(a share or a number of rows) instead."
            )
        try:
            ts = pd.Timestamp(test_start)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"test_start={test_start!r} is not a date; use an ISO date such as '2015-01-02'.") \
                from exc
        if data.index.tz is not None and ts.tz is None:
            ts = ts.tz_localize(data.index.tz)
        elif data.index.tz is None and ts.tz is not None:
            raise ConfigError(f"test_start={test_start!r} has a time zone but the frame's dates do not; drop it.")
        return int(data.index.searchsorted(ts, side="left"))
    size = 0.2 if test_size is None else test_size
    if isinstance(size, bool) or not isinstance(size, Real):
        raise ConfigError(f"test_size must be a share in (0, 1) or a number of rows, got {size!r}.")
    if isinstance(size, Integral):
        rows = int(size)
        if not 0 < rows < n:
            raise ConfigError(f"test_size={rows} rows must be between 1 and {n - 1} (the frame has {n} rows).")
        return n - rows
    if not 0.0 < float(size) < 1.0:
        raise ConfigError(f"test_size={size!r} must be a share in (0, 1) of the rows, or an integer number of rows.")
    return n - int(np.floor(n * float(size)))


def window_split(
    frame: Any,
    length: int,
    *,
    test_size: float | int | None = None,
    test_start: Any = None,
    stride: int = 1,
    standardize: bool = True,
) -> WindowSplit:
    """Split a series into training and test windows in time, with no row shared between the two sets.

    The rows are cut at one boundary (the last ``test_size`` rows, or the rows from ``test_start`` on, form the
    test span). Training windows are cut from the training span and test windows from the test span, each with
    :func:`sliding_windows` starting at the span's first row; the ``length − 1`` windows that would straddle the
    boundary are dropped. With ``standardize=True`` a :class:`~latentquant.data.Standardizer` is fitted on the
    training-span rows only and applied to both sets; :meth:`WindowSplit.inverse_transform` maps values back.

    Parameters
    ----------
    frame : pandas.DataFrame, pandas.Series or numpy.ndarray
        The series, rows in time order (oldest first), columns = features. Must be finite (no NaN/inf).
    length : int
        Rows per window (at least 2).
    test_size : float or int, optional
        Share of the rows in the test span (float in (0, 1), rounded down) or their number (int). Default 0.2
        when ``test_start`` is not given.
    test_start : date-like, optional
        First date of the test span (the first row on or after it); needs a DatetimeIndex. Exclusive with
        ``test_size``.
    stride : int, default 1
        Rows between the starts of consecutive windows within each span.
    standardize : bool, default True
        Z-score every feature with the training span's mean and standard deviation.

    Returns
    -------
    WindowSplit
        ``train`` and ``test`` :class:`Windows`, the fitted ``scaler``, ``overlap`` (always 0) and ``gap``.

    Raises
    ------
    ConfigError
        Bad ``length``, ``stride``, ``test_size`` or ``test_start``, or both split options given.
    DataValidationError
        Bad input (see :func:`sliding_windows`), or a span too short for one window (no training or no test
        window), or a feature constant on the training span (when standardising).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from latentquant.data import window_split
    >>> dates = pd.bdate_range("2020-01-01", periods=300, name="date")
    >>> frame = pd.DataFrame({"r": np.random.default_rng(1).normal(0.0, 0.01, 300)}, index=dates)
    >>> split = window_split(frame, 20, test_start="2020-10-01")
    >>> split.train.shape, split.test.shape, split.overlap
    ((177, 20, 1), (85, 20, 1), 0)
    >>> split.test.end_dates[0] > split.train.end_dates[-1]
    True
    """
    length, stride = _check_length_stride(length, stride)
    if not isinstance(standardize, (bool, np.bool_)):
        raise ConfigError(f"standardize must be True or False, got {standardize!r}.")
    data = _as_frame(frame)
    if len(data) < length:
        raise DataValidationError(
            f"length={length} is longer than the data ({len(data)} rows): not one window fits; pass a shorter "
            "length or a longer series."
        )
    b = _boundary(data, test_size, test_start)
    n_train, n_test = b, len(data) - b
    if n_train < length:
        raise DataValidationError(
            f"the training span has {n_train} row(s), fewer than length={length}: no training window; move the "
            "split later (a smaller test_size or a later test_start) or use a shorter length."
        )
    if n_test < length:
        raise DataValidationError(
            f"the test span has {n_test} row(s), fewer than length={length}: no test window; move the split "
            "earlier (a larger test_size or an earlier test_start) or use a shorter length."
        )
    train_rows, test_rows = data.iloc[:b], data.iloc[b:]
    scaler: Standardizer | None = None
    if standardize:
        scaler = Standardizer().fit(train_rows)
        train_rows, test_rows = scaler.transform(train_rows), scaler.transform(test_rows)
    return WindowSplit(
        train=_cut(train_rows, length, stride, 0),
        test=_cut(test_rows, length, stride, b),
        scaler=scaler,
        length=length,
        stride=stride,
        test_start=data.index[b],
        n_train_rows=n_train,
        n_test_rows=n_test,
    )
