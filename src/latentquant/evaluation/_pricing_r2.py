"""The R² family of the asset-pricing metrics (private module; re-exported by :mod:`latentquant.evaluation.pricing`,
whose module docstring states the conventions): uncentred pooled total R², the running-mean factor premia and the
predictive R², with the checks of long (date, asset) panels and of factor tables they share with the pricing errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from latentquant._math import running_mean, uncentred_r2
from latentquant.exceptions import DataValidationError

__all__ = ["_check_factors", "_to_long", "predictive_r2", "running_mean_lambda", "total_r2"]


# --------------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------------
def _to_long(obj: Any, name: str) -> pd.Series:
    """Long float Series indexed by (date, asset) from a long Series / 1-column frame or a wide DataFrame."""
    if isinstance(obj, pd.DataFrame) and isinstance(obj.index, pd.MultiIndex):
        if obj.shape[1] != 1:
            raise DataValidationError(
                f"{name} is a long DataFrame with {obj.shape[1]} columns; pass one column, e.g. {name}[col]."
            )
        obj = obj.iloc[:, 0]
    if isinstance(obj, pd.Series):
        if not isinstance(obj.index, pd.MultiIndex) or obj.index.nlevels != 2:
            raise DataValidationError(
                f"{name} must be indexed by a 2-level MultiIndex (date, asset), got a {type(obj.index).__name__}; "
                f"build one with {name}.set_index(['date', 'asset']) or pass a wide (dates × assets) DataFrame."
            )
        out: pd.Series = pd.to_numeric(obj, errors="coerce").astype(np.float64)
    elif isinstance(obj, pd.DataFrame):
        stacked = obj.astype(np.float64).stack(future_stack=True)
        out = stacked if isinstance(stacked, pd.Series) else stacked.iloc[:, 0]
    else:
        raise DataValidationError(
            f"{name} must be a pandas Series with a (date, asset) MultiIndex or a wide DataFrame, got "
            f"{type(obj).__name__}; numpy arrays are accepted only when both inputs are arrays."
        )
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()][0]
        raise DataValidationError(f"{name} has duplicated (date, asset) cell {dup!r}; drop duplicates first.")
    return out.replace([np.inf, -np.inf], np.nan)


def _check_factors(factors: Any, name: str = "factors") -> pd.DataFrame:
    if isinstance(factors, pd.Series):
        factors = factors.to_frame()
    if not isinstance(factors, pd.DataFrame):
        raise DataValidationError(f"{name} must be a DataFrame (dates × K factors), got {type(factors).__name__}.")
    if isinstance(factors.index, pd.MultiIndex):
        raise DataValidationError(
            f"{name} must be a wide table indexed by date (dates × K), got a MultiIndex; factors are common to all "
            "assets, so keep one row per date."
        )
    if factors.empty:
        raise DataValidationError(f"{name} is empty; pass at least one date and one factor column.")
    if not factors.index.is_unique or not factors.index.is_monotonic_increasing:
        raise DataValidationError(f"{name} index must be sorted ascending and unique; use {name}.sort_index().")
    out = factors.astype(np.float64)
    bad = ~np.isfinite(out.to_numpy())
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataValidationError(
            f"{name} has a non-finite value in column {out.columns[col]!r} at {out.index[row]!r}; drop or fill it."
        )
    return out


# --------------------------------------------------------------------------------------------------------------------
# R²
# --------------------------------------------------------------------------------------------------------------------
def total_r2(returns: Any, fitted: Any) -> float:
    """Uncentred pooled total R² ``1 − Σ (r − r̂)² / Σ r²`` over cells where both values are present.

    Parameters
    ----------
    returns, fitted : pandas.Series (long, (date, asset) MultiIndex), wide DataFrame (dates × assets) or numpy array
        Realised returns ``r_{i,t}`` and fitted values ``r̂_{i,t} = β̂_{i,t−1}ᵀ f̂_t``. Pandas inputs are aligned on
        their index (inner join, NaN cells dropped); arrays must have the same shape.

    Returns
    -------
    float
        The uncentred R² (a zero prediction scores 0; it can be negative).

    Raises
    ------
    DataValidationError
        Arrays of different shapes, a mix of array and pandas input, or no overlapping non-missing cell.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([[1, 2], ["a", "b"]], names=["date", "asset"])
    >>> r = pd.Series([1.0, 2.0, 3.0, 4.0], index=idx)
    >>> round(total_r2(r, pd.Series([1.0, 2.0, 3.0, 3.0], index=idx)), 6)  # 1 - 1/30
    0.966667
    """
    if isinstance(returns, pd.Series | pd.DataFrame) and isinstance(fitted, pd.Series | pd.DataFrame):
        r_long = _to_long(returns, "returns")
        f_long = _to_long(fitted, "fitted")
        r_al, f_al = r_long.align(f_long, join="inner")
        return uncentred_r2(r_al.to_numpy(), f_al.to_numpy(), "total_r2")
    if isinstance(returns, pd.Series | pd.DataFrame) or isinstance(fitted, pd.Series | pd.DataFrame):
        raise DataValidationError(
            "returns and fitted must both be pandas objects (aligned on their index) or both numpy arrays; "
            "convert the array one to a Series with the same (date, asset) index."
        )
    r = np.asarray(returns, dtype=np.float64)
    f = np.asarray(fitted, dtype=np.float64)
    if r.shape != f.shape:
        raise DataValidationError(
            f"returns has shape {r.shape} but fitted has shape {f.shape}; pass arrays of the same shape."
        )
    return uncentred_r2(r.ravel(), f.ravel(), "total_r2")


def running_mean_lambda(factors: pd.DataFrame) -> pd.DataFrame:
    """Factor premia ``λ̂`` as the running mean of past factors: row ``t`` is the mean of ``f̂_s`` over dates ``s < t``.

    The row labelled ``t`` is what the return at ``t`` may be predicted with (``λ̂_{t−1}`` in GKX notation); the first
    date has no past and is NaN. The factor at ``t`` itself never enters row ``t``, so changing the last factor changes
    no row.

    Parameters
    ----------
    factors : pandas.DataFrame
        ``f̂_t``, dates × K, sorted ascending, no missing values.

    Returns
    -------
    pandas.DataFrame
        Same index and columns as ``factors``.

    Examples
    --------
    >>> f = pd.DataFrame({"f1": [1.0, 3.0, 8.0]}, index=[1, 2, 3])
    >>> running_mean_lambda(f)["f1"].tolist()
    [nan, 1.0, 2.0]
    """
    return running_mean(_check_factors(factors))


def predictive_r2(returns: Any, betas: pd.DataFrame, factors: pd.DataFrame) -> float:
    """Uncentred pooled predictive R² with ``r̂_{i,t} = β̂_{i,t−1}ᵀ λ̂_{t−1}`` and ``λ̂`` the running factor mean.

    Parameters
    ----------
    returns : pandas.Series (long) or wide DataFrame (dates × assets)
        Realised returns ``r_{i,t}``.
    betas : pandas.DataFrame
        Long, (date, asset) × K. The row at date ``t`` holds ``β̂_{i,t−1}``, the loading used for the return at ``t``
        (built from characteristics known at ``t − 1``).
    factors : pandas.DataFrame
        ``f̂_t``, dates × K with the same column labels as ``betas``.

    Returns
    -------
    float
        ``1 − Σ (r − β̂ᵀλ̂)² / Σ r²`` over cells with a return, a beta and a λ̂ (the first factor date is excluded).

    Notes
    -----
    ``λ̂_{t−1}`` is computed here, from ``factors``, by :func:`running_mean_lambda` (mean of ``f̂_s`` for dates
    ``s < t``); there is deliberately no argument to pass premia directly. Using last month's factor ``f̂_{t−1}``
    instead is a known defect of a public replication: it turns the predictive R² into a momentum-in-factors forecast
    and is not what GKX report.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([[1, 2, 3], ["a"]], names=["date", "asset"])
    >>> f = pd.DataFrame({"f": [1.0, 3.0, 0.0]}, index=[1, 2, 3])
    >>> b = pd.DataFrame({"f": [1.0, 1.0, 1.0]}, index=idx)
    >>> r = pd.Series([0.0, 1.0, 2.0], index=idx)
    >>> predictive_r2(r, b, f)  # λ̂ = [nan, 1, 2] -> perfect fit on dates 2 and 3
    1.0
    """
    f = _check_factors(factors)
    if not isinstance(betas, pd.DataFrame) or not isinstance(betas.index, pd.MultiIndex) or betas.index.nlevels != 2:
        raise DataValidationError(
            "betas must be a long DataFrame indexed by a 2-level MultiIndex (date, asset) with one column per "
            f"factor, got {type(betas).__name__}"
            + (f" indexed by {type(betas.index).__name__}" if isinstance(betas, pd.DataFrame) else "")
            + "; build it with betas.set_index(['date', 'asset'])."
        )
    if list(betas.columns) != list(f.columns):
        raise DataValidationError(
            f"betas columns {list(betas.columns)} do not match factors columns {list(f.columns)}; "
            "reorder or rename them, e.g. betas[factors.columns]."
        )
    dates = betas.index.get_level_values(0)
    missing = ~dates.isin(f.index)
    if missing.any():
        raise DataValidationError(
            f"betas has date {dates[missing][0]!r} that is not in factors' index ({int(missing.sum())} row(s)); "
            "factors must cover every date of betas (same date type and frequency)."
        )
    lam = running_mean_lambda(f).reindex(dates).to_numpy()
    r_hat = pd.Series(np.sum(betas.to_numpy(dtype=np.float64) * lam, axis=1), index=betas.index)
    r_long = _to_long(returns, "returns")
    r_al, f_al = r_long.align(r_hat, join="inner")
    return uncentred_r2(r_al.to_numpy(), f_al.to_numpy(), "predictive_r2")
