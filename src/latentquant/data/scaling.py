"""Standardisation fitted on a training span only."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from latentquant.base import BaseModel
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import Constraint, Interval, check_frame

__all__ = ["Standardizer"]


class Standardizer(BaseModel):
    """Per-column z-scoring whose mean and standard deviation come from the training rows only.

    Fit it on the training span and apply the same transform to validation and test spans, so that no statistic of the
    future leaks into the past.

    Parameters
    ----------
    with_mean, with_std : bool
        Centre and/or scale.
    ddof : int
        Degrees of freedom of the standard deviation (1: sample standard deviation).

    Attributes
    ----------
    mean_, scale_ : pandas.Series
        Training-span statistics, indexed by column.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"A": [1.0, 2.0, 3.0, 10.0]}, index=pd.date_range("2020-01-01", periods=4))
    >>> s = Standardizer().fit(x.iloc[:3])
    >>> s.transform(x)["A"].tolist()
    [-1.0, 0.0, 1.0, 8.0]
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "with_mean": ["boolean"], "with_std": ["boolean"], "ddof": [Interval(Integral, 0, None)],
    }
    _fit_hint = "call fit(train_data) first"

    def __init__(self, *, with_mean: bool = True, with_std: bool = True, ddof: int = 1) -> None:
        self.with_mean = with_mean
        self.with_std = with_std
        self.ddof = ddof

    def fit(self, X: pd.DataFrame, y: Any = None) -> Standardizer:
        """Learn each column's mean and standard deviation from the training rows ``X``."""
        self._check_params()
        data = check_frame(X, name="X", min_rows=self.ddof + 1, require_datetime_index=False)
        mean = data.mean() if self.with_mean else pd.Series(0.0, index=data.columns)
        if self.with_std:
            scale = data.std(ddof=self.ddof)
            flat = scale.index[~(scale > 0)]
            if len(flat):
                raise DataValidationError(
                    f"X column {flat[0]!r} is constant on the training span (standard deviation 0); "
                    "drop it or lengthen the training span."
                )
        else:
            scale = pd.Series(1.0, index=data.columns)
        huge = mean.index[~(np.isfinite(mean) & np.isfinite(scale))]
        if len(huge):
            raise DataValidationError(
                f"X column {huge[0]!r} has values too large to standardise (its mean or standard deviation overflows "
                "float64); check the units of the data (returns should be decimal fractions)."
            )
        self.mean_ = mean.astype(np.float64)
        self.scale_ = scale.astype(np.float64)
        self.n_features_in_ = data.shape[1]
        self.feature_names_in_ = np.asarray(data.columns, dtype=object)
        return self

    def _check(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check_fitted()
        data = check_frame(X, name="X", allow_nan=True, require_datetime_index=False)
        if list(data.columns) != list(self.feature_names_in_):
            raise DataValidationError(
                f"X has columns {list(data.columns)[:5]}... but the Standardizer was fitted on "
                f"{list(self.feature_names_in_)[:5]}...; pass the same columns in the same order."
            )
        return data

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Standardise ``X`` (same columns as at fit) with the training-span statistics."""
        data = self._check(X)
        return (data - self.mean_) / self.scale_

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        """:meth:`fit` on ``X``, then :meth:`transform` it."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
        """Map standardised values back to original units (arrays keep their type)."""
        self._check_fitted()
        if isinstance(X, pd.DataFrame):
            return self._check(X) * self.scale_ + self.mean_
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features_in_:
            raise ConfigError(
                f"X must have shape (n, {self.n_features_in_}), got {arr.shape}."
            )
        return arr * self.scale_.to_numpy() + self.mean_.to_numpy()
