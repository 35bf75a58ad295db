"""The one check of features and targets for every feature-selection estimator (private module; its public names
are for the sibling modules).

* :func:`feature_values` — a finite 2-D table (DataFrame, array or tensor) as an array of the requested dtype, with
  its row index and column names;
* :func:`target_values` — one finite target per row, aligned with the features;
* :func:`check_columns` — the columns seen at prediction time are those seen in ``fit``.

Every message names the input, the first offending column and date (or row) and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError
from latentquant.validation import check_aligned

__all__ = ["check_columns", "feature_values", "target_values", "where"]

_FIX_ROWS = ("drop the indicator warm-up rows and other incomplete rows first (latentquant.features.feature_matrix "
             "returns X, y without them), e.g. X.dropna(), or fill the gaps")


def where(index: pd.Index | None, row: int) -> str:
    """``'2005-01-06 (row 3)'`` for a date index, ``"'a' (row 3)"`` for other labels, ``'row 3'`` for arrays.

    Examples
    --------
    >>> where(pd.bdate_range("2005-01-03", periods=5), 3), where(None, 7)
    ('2005-01-06 (row 3)', 'row 7')
    """
    if index is None:
        return f"row {row}"
    label = index[row]
    if isinstance(label, pd.Timestamp) and label.tz is None and label == label.normalize():
        return f"{label:%Y-%m-%d} (row {row})"
    return f"{label!r} (row {row})"


def feature_values(X: Any, *, name: str = "X", dtype: Any = np.float64
                   ) -> tuple[np.ndarray, pd.Index | None, list[Any] | None]:
    """Values (``dtype``) of a finite 2-D table of features, its row index and its column names.

    Parameters
    ----------
    X : pandas.DataFrame, array-like or torch.Tensor, shape (n_samples, n_features)
        Numeric (or boolean) columns, no NaN or infinite value.
    name : str
        What the table is called in messages (``"X"``, ``"X_val"``).
    dtype : numpy dtype
        Type of the returned values (the neural models compute in float32).

    Returns
    -------
    values : numpy.ndarray
    index : pandas.Index or None
        ``X.index`` for a DataFrame, ``None`` otherwise.
    names : list or None
        ``list(X.columns)`` for a DataFrame, ``None`` otherwise.

    Raises
    ------
    DataValidationError
        Duplicated or non-numeric columns, not 2-D, empty, or a NaN/infinite value (first column and date named).

    Examples
    --------
    >>> x = pd.DataFrame({"rsi": [1.0, np.nan]}, index=pd.bdate_range("2005-01-03", periods=2))
    >>> feature_values(x.iloc[:1])[2]
    ['rsi']
    >>> feature_values(x)
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: X has a NaN or infinite value in column 'rsi' at 2005-01-04 (row 1) ...
    """
    index: pd.Index | None = None
    names: list[Any] | None = None
    if isinstance(X, pd.DataFrame):
        index, names = X.index, list(X.columns)
        if X.columns.has_duplicates:
            dup = X.columns[X.columns.duplicated()].unique().tolist()
            raise DataValidationError(f"{name} has duplicated column names {dup[:5]}; give every feature a unique "
                                      "name.")
        bad_cols = [c for c in X.columns
                    if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))]
        if bad_cols:
            raise DataValidationError(
                f"{name} column {bad_cols[0]!r} is not numeric; convert it with pd.to_numeric or drop it "
                f"({len(bad_cols)} non-numeric column(s))."
            )
        values = X.to_numpy(dtype=dtype, na_value=np.nan)
    else:
        raw = X.detach().cpu().numpy() if hasattr(X, "detach") else X  # a torch tensor
        try:
            values = np.asarray(raw, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"{name} must be a numeric DataFrame or 2-D array ({exc}).") from None
    if values.ndim != 2:
        raise DataValidationError(
            f"{name} must be 2-D (n_samples, n_features), got shape {values.shape}; reshape a single feature with "
            "x.reshape(-1, 1) or pass a DataFrame."
        )
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise DataValidationError(f"{name} is empty (shape {values.shape}); pass at least one row and one feature.")
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        column = repr(names[j]) if names is not None else str(j)
        raise DataValidationError(
            f"{name} has a NaN or infinite value in column {column} at {where(index, i)} ({int(bad.sum())} "
            f"non-finite value(s) in total); {_FIX_ROWS}."
        )
    return values, index, names


def target_values(y: Any, n_rows: int, *, X: Any = None, name: str = "y", x_name: str = "X") -> np.ndarray:
    """One finite float64 target per row of ``X`` (a Series must share a DataFrame ``X``'s index).

    Examples
    --------
    >>> target_values(pd.Series([0.01, -0.02]), 2).tolist()
    [0.01, -0.02]
    >>> target_values([0.01, np.nan], 2)
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: y has 1 NaN or infinite value(s), first at row 1; ...
    """
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataValidationError(f"{name} must be one target column, got a DataFrame with {y.shape[1]} columns.")
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series) and isinstance(X, pd.DataFrame):
        check_aligned(X, y, names=(x_name, name))
    index = y.index if isinstance(y, pd.Series) else None
    try:
        v = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{name} must be numeric next-day returns ({exc}).") from None
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise DataValidationError(f"{name} must be 1-D (one target per row), got shape {v.shape}.")
    if v.shape[0] != n_rows:
        raise DataValidationError(
            f"{x_name} has {n_rows} rows but {name} has {v.shape[0]}; pass row-aligned data "
            f"(e.g. {name} = next_day_return(close).loc[{x_name}.index])."
        )
    bad = ~np.isfinite(v)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataValidationError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s), first at {where(index, i)}; the last date has no "
            f"next-day return — drop those rows from {x_name} and {name} together (latentquant.features."
            "feature_matrix does) first."
        )
    return v


def check_columns(owner: str, seen: Sequence[Any] | None, n_seen: int, values: np.ndarray, names: list[Any] | None,
                  *, name: str = "X") -> None:
    """Raise unless the columns of a table passed after ``fit`` are those seen in ``fit`` (names when both have
    them, else the count).

    Examples
    --------
    >>> check_columns("RidgeBaseline", ["a", "b"], 2, np.zeros((1, 2)), ["b", "a"])
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: X columns differ from those seen in fit (same columns, other order); ...
    """
    if names is not None and seen is not None and list(names) != list(seen):
        missing = [c for c in seen if c not in names]
        extra = [c for c in names if c not in set(seen)]
        detail = ", ".join(part for part in (f"missing {missing[:5]}" if missing else "",
                                             f"unexpected {extra[:5]}" if extra else "") if part)
        raise DataValidationError(
            f"{name} columns differ from those seen in fit ({detail or 'same columns, other order'}); "
            f"pass {name}[model.feature_names_in_]."
        )
    if values.shape[1] != n_seen:
        raise DataValidationError(
            f"{name} has {values.shape[1]} column(s) but {owner} was fitted on {n_seen}; pass the same feature "
            "columns as in fit."
        )
