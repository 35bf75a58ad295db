r"""The one interface of every synthetic-data generator: what it is fitted on, what it samples, how it is saved.

A generator is a :class:`~latentquant.base.BaseModel` (hyperparameters only in ``__init__``, checked in ``fit``,
``clone`` works) with

* ``fit(X)`` — ``X`` is either a **series**: a :class:`pandas.DataFrame` or a 2-D array ``(T, F)`` (rows are days,
  columns are features: returns, log variances, currencies, ...; a :class:`pandas.Series` is one feature), or
  **windows**: a 3-D array ``(n, L, F)`` as :func:`latentquant.data.sliding_windows` makes them;
* ``sample(n, *, seed=None, condition=None)`` — ``n`` windows, a float64 array ``(n, length, F)`` in the units of the
  data (a model that standardises internally undoes it);
* ``save(path)`` / ``load(path)`` — a directory of JSON + ``.npz`` arrays (+ torch weights for networks), never a
  pickle, written atomically (see :mod:`latentquant.base`), with a generator format version checked on load;
* ``history_`` — a :class:`~latentquant.training.History` of every loss term (one entry for the closed-form
  baselines, one per epoch for networks).

**Windows or series.** Windows cut from one series with stride 1 share all but one row with their neighbour
(``windows[i, 1:] == windows[i + 1, :-1]``); the generator then rebuilds the underlying series (``T = n + L - 1``
rows) instead of counting each day ``L`` times. The check runs pair by pair, so a stack of several stride-1 runs (two
assets, two periods) gives one *segment* per run; windows that do not chain (another stride, shuffled windows) are
one segment each. Resampling generators never let a block cross a segment boundary (it wraps around inside its
segment), so no synthetic window joins two unrelated days; models fitted by likelihood (GARCH) read the segments one
after the other, which is exact for consecutive non-overlapping windows and a negligible approximation otherwise.

**Length.** ``length=None`` samples windows as long as the fitted ones; a generator fitted on a series then samples
paths as long as the series (a bootstrap replicate of the whole history). Pass ``length`` to choose.

**Seeds.** ``sample(n, seed=k)`` always returns the same windows for the same ``k`` (and the same fitted model,
also after save/load). ``seed=None`` draws from the model's own stream, started in ``fit`` (and on ``load``) from the
``seed`` hyperparameter: successive calls differ, and the sequence of calls is reproducible when ``seed`` is set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from numbers import Integral
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from latentquant.base import BaseModel
from latentquant.exceptions import CheckpointError, ConfigError, DataValidationError
from latentquant.validation import Constraint, Interval, check_arg, check_frame

__all__ = ["GENERATOR_FORMAT", "BaseGenerator", "as_segments"]

#: Version of the fitted state a generator writes; ``load`` refuses a newer one with a clear message.
GENERATOR_FORMAT = 1

G = TypeVar("G", bound="BaseGenerator")


def as_segments(X: Any, *, owner: str = "generator") -> tuple[np.ndarray, np.ndarray, list[str], int | None]:
    """Validate what a generator is fitted on and return it as rows of contiguous segments.

    Parameters
    ----------
    X : pandas.DataFrame, pandas.Series or array-like
        A series (``(T, F)``; a Series is one feature) or windows ``(n, L, F)`` (see the module docstring).
    owner : str, default "generator"
        Who asks, put in front of error messages (a class name).

    Returns
    -------
    data : numpy.ndarray
        The segments one after the other, float64 ``(T, F)``.
    bounds : numpy.ndarray
        Segment boundaries, int64 ``(n_segments + 1,)``: segment ``k`` is ``data[bounds[k]:bounds[k + 1]]``.
    feature_names : list of str
        The DataFrame's column names, else ``x0, x1, ...``.
    window_length : int or None
        ``L`` for windows, ``None`` for a series.

    Raises
    ------
    DataValidationError
        Wrong rank, empty, non-numeric, NaN or infinite values.

    Examples
    --------
    >>> series = np.arange(6.0).reshape(-1, 1)
    >>> windows = np.stack([series[i:i + 3] for i in range(4)])  # stride 1: the series comes back
    >>> data, bounds, names, length = as_segments(windows)
    >>> data.ravel().tolist(), bounds.tolist(), names, length
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [0, 6], ['x0'], 3)
    >>> as_segments(windows[::3])[1].tolist()  # stride 3: two separate segments of 3 rows
    [0, 3, 6]
    >>> as_segments(np.zeros(5), owner="GaussianGenerator")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: GaussianGenerator: data must be a series (T, F) or windows (n, L, F), \
got an array of shape (5,); use x.reshape(-1, 1) for a single series.
    """
    if isinstance(X, pd.Series | pd.DataFrame):
        frame = check_frame(X, name=f"{owner}: data", require_datetime_index=isinstance(X.index, pd.DatetimeIndex))
        names = [str(c) for c in frame.columns]
        data = frame.to_numpy(dtype=np.float64)
        return data, np.array([0, data.shape[0]], dtype=np.int64), names, None
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{owner}: data must be numeric, got values that cannot be read as numbers "
                                  f"({exc}); convert them first.") from None
    if arr.ndim not in (2, 3):
        hint = "; use x.reshape(-1, 1) for a single series" if arr.ndim == 1 else ""
        raise DataValidationError(f"{owner}: data must be a series (T, F) or windows (n, L, F), got an array of "
                                  f"shape {arr.shape}{hint}.")
    if 0 in arr.shape:
        raise DataValidationError(f"{owner}: data are empty (shape {arr.shape}); pass at least one row and one "
                                  "feature.")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(arr[tuple(where)]) else "an infinite value"
        place = (f"window {where[0]}, step {where[1]}, feature {where[2]}" if arr.ndim == 3
                 else f"row {where[0]}, feature {where[1]}")
        raise DataValidationError(f"{owner}: data contain {kind} ({int(bad.sum())} non-finite value(s); first at "
                                  f"{place}); drop or fill missing values before fitting.")
    names = [f"x{j}" for j in range(arr.shape[-1])]
    if arr.ndim == 2:
        return arr.copy(), np.array([0, arr.shape[0]], dtype=np.int64), names, None
    n, length, _ = arr.shape
    chained = np.all(arr[:-1, 1:] == arr[1:, :-1], axis=(1, 2))  # window i+1 is window i moved on by one day
    starts = np.r_[0, np.flatnonzero(~chained) + 1]
    ends = np.r_[starts[1:], n]
    pieces = [np.concatenate([arr[a], arr[a + 1:b, -1]]) for a, b in zip(starts, ends, strict=True)]
    bounds = np.r_[0, np.cumsum([len(p) for p in pieces])].astype(np.int64)
    return np.concatenate(pieces), bounds, names, int(length)


class BaseGenerator(BaseModel, ABC):
    """Base of every synthetic-data generator (see the module docstring for the interface).

    A subclass implements ``_fit(data, bounds)`` (set its learned attributes and ``history_``) and
    ``_sample(n, length, rng, condition)``; it may raise ``_min_rows`` or override :meth:`_required_rows`, and set
    ``accepts_condition = True`` when it samples conditionally. Input checks, lengths, seeds and persistence are here.

    Parameters
    ----------
    length : int, optional
        Length of the sampled windows; ``None`` takes the fitted windows' length (the series length for a series).
    seed : int, optional
        Starts the stream ``sample(n)`` draws from when no ``seed`` is passed to it (and, for networks, training).

    Attributes
    ----------
    n_features_in_ : int
        Features ``F``.
    feature_names_ : list of str
        Their names (DataFrame columns, else ``x0, x1, ...``).
    window_length_ : int or None
        Length of the fitted windows (``None`` when fitted on a series).
    length_ : int
        Length of the sampled windows.
    segment_bounds_ : numpy.ndarray
        Boundaries of the contiguous segments of the fitted data (see :func:`as_segments`).
    n_observations_ : int
        Rows (days) the model was fitted on, segments together.
    history_ : History
        Every loss term of the fit.

    Examples
    --------
    >>> from latentquant.models.generative import BaseGenerator, GaussianGenerator
    >>> rng = np.random.default_rng(0)
    >>> windows = rng.normal(size=(50, 20, 2))
    >>> model = GaussianGenerator().fit(windows)
    >>> isinstance(model, BaseGenerator), model.sample(4, seed=1).shape, model.length_
    (True, (4, 20, 2), 20)
    >>> bool((model.sample(4, seed=1) == model.sample(4, seed=1)).all())
    True
    >>> model.sample(4, condition=np.ones(3))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: GaussianGenerator samples unconditionally and takes no condition; pass \
condition=None.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "length": [Interval(Integral, 1, None), None],
        "seed": [Interval(Integral, 0, None), None],
    }
    _fit_hint: ClassVar[str] = "call fit(windows) first"
    #: whether ``sample(..., condition=...)`` means something for this generator
    accepts_condition: ClassVar[bool] = False
    #: the fewest rows (days) a fit needs
    _min_rows: ClassVar[int] = 2

    def __init__(self, length: int | None = None, *, seed: int | None = None) -> None:
        self.length = length
        self.seed = seed

    # ------------------------------------------------------------------------------------------------ interface
    def fit(self: G, X: Any, y: None = None) -> G:
        """Fit the generator on a series ``(T, F)`` or on windows ``(n, L, F)``.

        Parameters
        ----------
        X : pandas.DataFrame, pandas.Series or array-like
            The data, in the units the samples should have (see the module docstring for series vs windows).
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        BaseGenerator
            ``self``, fitted.

        Raises
        ------
        ConfigError
            A hyperparameter is invalid.
        DataValidationError
            Wrong rank, NaN/inf, or fewer rows than the model needs.
        """
        self._check_params()
        name = type(self).__name__
        data, bounds, names, window_length = as_segments(X, owner=name)
        required = self._required_rows(data.shape[1])
        if data.shape[0] < required:
            raise DataValidationError(
                f"{name} needs at least {required} observations (days) to fit, got {data.shape[0]}"
                f"{f' in {len(bounds) - 1} segment(s)' if len(bounds) > 2 else ''}; pass a longer history.")
        self.n_features_in_ = data.shape[1]
        self.feature_names_ = names
        self.window_length_ = window_length
        self.length_ = int(self.length) if self.length is not None else int(window_length or data.shape[0])
        self.segment_bounds_ = bounds
        self.n_observations_ = int(data.shape[0])
        self._fit(data, bounds)
        self._sampling_rng = np.random.default_rng(self.seed)
        return self

    def sample(self, n: int, *, seed: int | np.random.Generator | None = None, condition: Any = None) -> np.ndarray:
        """Draw ``n`` synthetic windows in the units of the fitted data.

        Parameters
        ----------
        n : int
            Number of windows.
        seed : int or numpy.random.Generator, optional
            The same integer gives the same windows; ``None`` draws from the model's stream (see the module
            docstring); a Generator is used as is.
        condition : array-like, optional
            What to condition on, for generators with ``accepts_condition``; others take ``None`` only.

        Returns
        -------
        numpy.ndarray
            float64 ``(n, length_, n_features_in_)``.
        """
        self._check_fitted()
        name = type(self).__name__
        check_arg("n", n, Interval(Integral, 1, None), owner=name)
        check_arg("seed", seed, Interval(Integral, 0, None), np.random.Generator, None, owner=name)
        if condition is not None and not self.accepts_condition:
            raise ConfigError(f"{name} samples unconditionally and takes no condition; pass condition=None.")
        if isinstance(seed, np.random.Generator):
            rng = seed
        elif seed is None:
            rng = self._sampling_rng
        else:
            rng = np.random.default_rng(int(seed))
        out = self._sample(int(n), self.length_, rng, condition)
        return np.ascontiguousarray(out, dtype=np.float64)

    # ------------------------------------------------------------------------------------------------ forecasts
    def _forecast_series(self, data: Any, feature: int | str | None, owner: str) -> tuple[np.ndarray, pd.Index, int]:
        """The values, index and position of the feature a forecast reads from ``data``: a table's column is found
        by the fitted name, a Series by its name when it is a fitted feature (it must agree with ``feature``), a 2-D
        array must hold every fitted feature."""
        self._check_fitted()
        names = [str(n) for n in self.feature_names_]

        def position(value: Any) -> int:
            if isinstance(value, str) and value in names:
                return names.index(value)
            if isinstance(value, Integral) and not isinstance(value, bool) and 0 <= int(value) < len(names):
                return int(value)
            raise DataValidationError(f"{owner}: feature {value!r} is not one of the fitted features {names} (or "
                                      f"their positions 0..{len(names) - 1}).")

        if isinstance(data, pd.Series) and str(data.name) in names:
            j = names.index(str(data.name))
            if feature is not None and position(feature) != j:
                raise DataValidationError(f"{owner}: the series is named {data.name!r} but feature={feature!r} was "
                                          "asked for; pass that feature's series, or rename it.")
        else:
            j = position(0 if feature is None else feature)
        if isinstance(data, pd.DataFrame):
            if names[j] not in [str(c) for c in data.columns]:
                raise DataValidationError(f"{owner}: data has no column {names[j]!r} (the forecast feature); its "
                                          f"columns are {[str(c) for c in data.columns][:8]}.")
            column = data.loc[:, next(c for c in data.columns if str(c) == names[j])]
            x, index = column.to_numpy(dtype=np.float64), data.index
        elif isinstance(data, pd.Series):
            x, index = data.to_numpy(dtype=np.float64), data.index
        else:
            arr = np.asarray(data, dtype=np.float64)
            if arr.ndim == 2 and arr.shape[1] != len(names):
                raise DataValidationError(f"{owner}: a 2-D array must have the {len(names)} fitted features as "
                                          f"columns, got {arr.shape[1]}; pass the forecast feature's series.")
            x = arr[:, j] if arr.ndim == 2 else arr
            index = pd.RangeIndex(len(x))
        if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
            raise DataValidationError(f"{owner}: data must be a non-empty series (or a table with the fitted "
                                      "features) without NaN or infinite values.")
        return x, index, j

    # ------------------------------------------------------------------------------------------------ subclasses
    def _required_rows(self, n_features: int) -> int:
        """The fewest rows a fit on ``n_features`` features needs."""
        return self._min_rows

    @abstractmethod
    def _fit(self, data: np.ndarray, bounds: np.ndarray) -> None:
        """Learn from ``data`` ``(T, F)`` made of the segments ``bounds``; set ``history_``."""

    @abstractmethod
    def _sample(self, n: int, length: int, rng: np.random.Generator, condition: Any) -> np.ndarray:
        """``n`` windows ``(n, length, F)`` drawn with ``rng``."""

    # ------------------------------------------------------------------------------------------------ persistence
    def _persisted_state(self) -> dict[str, Any]:
        state = super()._persisted_state()
        state.pop("_sampling_rng", None)  # restarted from ``seed`` on load
        state["generator_format"] = GENERATOR_FORMAT
        return state

    def _restore_state(self, state: dict[str, Any]) -> None:
        state = dict(state)
        version = state.pop("generator_format", None)
        if version != GENERATOR_FORMAT:
            raise CheckpointError(
                f"the saved {type(self).__name__} has generator format {version!r}, this latentquant reads format "
                f"{GENERATOR_FORMAT}; load it with the latentquant version that saved it and fit it again.")
        super()._restore_state(state)
        self._sampling_rng = np.random.default_rng(self.seed)
