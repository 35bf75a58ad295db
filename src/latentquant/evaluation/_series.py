"""Checks and kernels of return series shared by the portfolio, strategy and Sharpe-inference modules (private;
public names for those modules): 1-D inputs, the rf convention, per-period Sharpe ratios, stationary bootstrap."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from latentquant._math import stationary_bootstrap_indices
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import check_aligned

__all__ = [
    "MIN_OBS",
    "as_1d",
    "check_ppy",
    "check_simple",
    "describe_position",
    "drawdown_of",
    "excess_returns",
    "paired_arrays",
    "resampled_sharpes",
    "sharpe_per_period",
    "stationary_bootstrap_indices",
]

MIN_OBS = 3


def paired_arrays(a: Any, b: Any, names: tuple[str, str], min_obs: int = 1
                  ) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    """Two finite 1-D float64 arrays of equal length (same index when both are Series) and the common index.

    Examples
    --------
    >>> x, y, index = paired_arrays([1, 2], [3.0, 4.0], ("a", "b"))
    >>> x.tolist(), y.tolist(), index is None
    ([1.0, 2.0], [3.0, 4.0], True)
    """
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        check_aligned(a, b, names=names)
    x, ix = as_1d(a, name=names[0], min_obs=min_obs)
    y, iy = as_1d(b, name=names[1], min_obs=min_obs)
    if x.size != y.size:
        raise DataValidationError(
            f"{names[0]} has {x.size} values but {names[1]} has {y.size}; pass one value per date for both, "
            f"e.g. as Series aligned with {names[0]}, {names[1]} = {names[0]}.align({names[1]}, join='inner')."
        )
    return x, y, ix if ix is not None else iy


def describe_position(index: pd.Index | None, i: int) -> str:
    if index is None:
        return f"position {i}"
    label = index[i]
    if isinstance(label, pd.Timestamp):
        text = label.strftime("%Y-%m-%d") if label.tz is None and label == label.normalize() else label.isoformat()
        return f"{text} (position {i})"
    return f"{label!r} (position {i})"


def check_ppy(periods_per_year: Any) -> float:
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, Real) \
            or not math.isfinite(float(periods_per_year)) or float(periods_per_year) <= 0:
        raise ConfigError(
            f"periods_per_year must be a positive finite number, got {periods_per_year!r}; "
            "use 252 for daily, 52 for weekly, 12 for monthly returns."
        )
    return float(periods_per_year)


def as_1d(returns: Any, name: str = "returns", min_obs: int = MIN_OBS) -> tuple[np.ndarray, pd.Index | None]:
    """Float64 copy of a 1-D series plus its index (None for arrays); raises on NaN/inf/too short."""
    if isinstance(returns, pd.DataFrame):
        raise DataValidationError(
            f"{name} must be 1-D (one series), got a DataFrame with {returns.shape[1]} column(s); "
            f"pass one column, e.g. {name}[col], or use performance_summary(DataFrame) for a table."
        )
    index = returns.index if isinstance(returns, pd.Series) else None
    try:
        x = np.asarray(returns, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"{name} must be numeric; convert it with pd.to_numeric(..., errors='coerce') and drop what fails "
            f"({exc})."
        ) from None
    if x.ndim != 1:
        raise DataValidationError(
            f"{name} must be 1-D (one value per period), got shape {x.shape}; pass one column, "
            "or use performance_summary(DataFrame) for a table of series."
        )
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.argmax(bad))
        what = "NaN" if np.isnan(x[i]) else "an infinite value"
        raise DataValidationError(
            f"{name} has {what} at {describe_position(index, i)} ({int(bad.sum())} non-finite value(s) in total); "
            f"drop or fill them first, e.g. {name}.dropna()."
        )
    if x.size < min_obs:
        raise DataValidationError(
            f"{name} has {x.size} observation(s) but at least {min_obs} are needed; pass a longer history."
        )
    return x, index


def check_simple(x: np.ndarray, index: pd.Index | None, name: str = "returns") -> None:
    below = x < -1.0
    if below.any():
        i = int(np.argmax(below))
        raise DataValidationError(
            f"{name} has a simple return below -1 ({float(x[i])!r} at {describe_position(index, i)}), which would "
            "make wealth negative; pass simple returns (if these are log returns convert them with np.expm1)."
        )


def excess_returns(x: np.ndarray, index: pd.Index | None, returns: Any, rf: Any, ppy: float) -> tuple[np.ndarray, str]:
    """Per-period excess returns and a description of the rf convention."""
    if isinstance(rf, np.ndarray) and rf.ndim == 0:
        rf = rf.item()
    if isinstance(rf, bool):
        raise ConfigError(f"rf must be an annualised yield (number) or a series aligned with returns, got {rf!r}.")
    if isinstance(rf, Real):
        r = float(rf)
        if not math.isfinite(r):
            raise ConfigError(f"rf must be a finite annualised yield, got {rf!r}; pass e.g. 0.05 for 5% a year.")
        return x - r / ppy, f"rf={r:g}" + (" p.a." if r != 0 else "")
    if isinstance(rf, pd.Series) and isinstance(returns, pd.Series):
        check_aligned(returns, rf, names=("returns", "rf"))
    rf_arr, _ = as_1d(rf, name="rf", min_obs=0)
    if rf_arr.shape != x.shape:
        raise DataValidationError(
            f"rf has {rf_arr.size} values but returns has {x.size}; pass a scalar annualised yield or one annualised "
            "yield per period, e.g. returns, rf = returns.align(rf, join='inner')."
        )
    label = rf.name if isinstance(rf, pd.Series) and rf.name is not None else "series"
    return x - rf_arr / ppy, f"rf={label} (annualised, /{ppy:g} per period)"


def sharpe_per_period(e: np.ndarray) -> float:
    sd = float(e.std(ddof=1))
    mean = float(e.mean())
    if not sd > 1e-12 * max(abs(mean), 1e-300):
        raise DataValidationError(
            f"excess returns are constant ({mean!r} in all {e.size} periods): the Sharpe ratio is undefined; "
            "check that the series is not a placeholder or forward-filled, or report the mean return instead."
        )
    return mean / sd


def resampled_sharpes(sample: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(sample.mean(axis=1) / sample.std(axis=1, ddof=1))


def drawdown_of(x: np.ndarray) -> float:
    wealth = np.cumprod(1.0 + x)
    peak = np.maximum.accumulate(np.concatenate(([1.0], wealth)))[1:]
    return float(np.max(1.0 - wealth / peak))
