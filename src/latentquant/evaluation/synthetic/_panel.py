"""Input handling and array kernels shared by the synthetic-data metrics: returns as a panel of paths, the
checks, the FFT autocorrelation and leverage kernels, bootstrap moments (the conventions are in
:mod:`latentquant.evaluation.synthetic._facts`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import fft as sp_fft

from latentquant._math import stationary_bootstrap_indices
from latentquant.exceptions import DataValidationError
from latentquant.validation import Interval, check_arg

DEFAULT_MAX_LAG = 250
DEFAULT_SHORT_LAGS = 20
DEFAULT_HORIZONS = (1, 5, 20, 60)
MIN_SUMS = 20  # fewest h-step sums a kurtosis is reported for
MIN_TAIL = 10  # fewest order statistics of a Hill estimate
MIN_POWER_LAW_LAGS = 3


# --------------------------------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Panel:
    """Returns as ``(n_paths, length, n_features)`` float64 with feature names."""

    values: np.ndarray
    features: tuple[str, ...]

    @property
    def n_paths(self) -> int:
        return int(self.values.shape[0])

    @property
    def length(self) -> int:
        return int(self.values.shape[1])

    @property
    def n_values(self) -> int:
        return self.n_paths * self.length


def as_panel(returns: Any, name: str = "returns") -> _Panel:
    """Validate 1-D ``(T,)``, 2-D ``(T, F)`` or windows ``(n, L, F)`` and return them as ``(n, L, F)``.

    Examples
    --------
    >>> p = as_panel(pd.Series([0.1, -0.2, 0.3], name="SPX"))
    >>> p.values.shape, p.features
    ((1, 3, 1), ('SPX',))
    """
    if isinstance(returns, pd.DataFrame):
        features: tuple[str, ...] | None = tuple(str(c) for c in returns.columns)
    elif isinstance(returns, pd.Series):
        features = (str(returns.name) if returns.name is not None else "r",)
    else:
        features = None
    try:
        x = np.asarray(returns, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"{name} must be numeric; convert it with np.asarray(..., dtype=float) or pd.to_numeric first ({exc})."
        ) from None
    if x.ndim not in (1, 2, 3) or x.size == 0:
        raise DataValidationError(
            f"{name} must be a 1-D series (T,), a 2-D table (T, n_features) or 3-D windows (n_windows, length, "
            f"n_features), got shape {x.shape}; reshape it, e.g. windows[..., None] for single-feature windows."
        )
    panel = x[None, :, None] if x.ndim == 1 else x[None] if x.ndim == 2 else x
    bad = ~np.isfinite(panel)
    if bad.any():
        w, t, f = (int(i) for i in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(panel[w, t, f]) else "an infinite value"
        where = f"step {t}, feature {f}" if x.ndim < 3 else f"window {w}, step {t}, feature {f}"
        raise DataValidationError(
            f"{name} has {what} at {where} ({int(bad.sum())} non-finite value(s) in total); drop or fill them "
            f"first, e.g. {name}.dropna() or windows[np.isfinite(windows).all(axis=(1, 2))]."
        )
    if features is None:
        features = ("r",) if panel.shape[2] == 1 else tuple(f"x{i}" for i in range(panel.shape[2]))
    return _Panel(panel, features)


def check_pair(real: _Panel, synthetic: _Panel) -> None:
    """Raise unless both sets have the same number of features."""
    if real.values.shape[2] != synthetic.values.shape[2]:
        raise DataValidationError(
            f"real has {real.values.shape[2]} feature(s) {list(real.features)} but synthetic has "
            f"{synthetic.values.shape[2]}; generate (or select) the same features in the same order."
        )


def _check_lags(panel: _Panel, max_lag: Any, arg: str, name: str = "returns") -> int:
    check_arg(arg, max_lag, Interval(Integral, 1, None))
    if panel.length <= max_lag:
        what = f"windows of length {panel.length}" if panel.n_paths > 1 else f"{panel.length} observations"
        raise DataValidationError(
            f"{name} has {what}, too short for {arg}={max_lag}; lags up to length − 1 = {panel.length - 1} are "
            f"possible: pass {arg}={max(1, panel.length - 1)} or less, or longer paths."
        )
    return int(max_lag)


def _check_level(level: Any) -> float:
    check_arg("level", level, Interval(Real, 0, 1, closed="neither"))
    return float(level)


def _names(panel: _Panel) -> pd.Index:
    return pd.Index(panel.features, name="feature")


def _lag_index(max_lag: int) -> pd.Index:
    return pd.RangeIndex(1, max_lag + 1, name="lag")


def _standardized(panel: _Panel, name: str) -> np.ndarray:
    """Values centred by the pooled mean and scaled by the pooled (population) std, per feature."""
    x = panel.values
    mean = x.mean(axis=(0, 1))
    sd = x.std(axis=(0, 1))
    flat = sd <= 1e-12 * np.maximum(np.abs(mean), 1e-300)
    if flat.any():
        f = int(np.argmax(flat))
        raise DataValidationError(
            f"{name} feature {panel.features[f]!r} is constant ({float(mean[f])!r}): its autocorrelation, moments "
            "and tail index are undefined; check that the series is not a placeholder or forward-filled."
        )
    return np.asarray((x - mean) / sd)


# --------------------------------------------------------------------------------------------------------------------
# kernels (arrays in, arrays out)
# --------------------------------------------------------------------------------------------------------------------
def _cross_sums(a: np.ndarray, b: np.ndarray, max_lag: int) -> np.ndarray:
    """``S[k, f] = Σ_paths Σ_t a[t, f] · b[t + k, f]`` for k = 0..max_lag, by FFT along the time axis."""
    length = a.shape[1]
    nfft = sp_fft.next_fast_len(length + max_lag, real=True)
    fa = sp_fft.rfft(a, n=nfft, axis=1)
    fb = fa if b is a else sp_fft.rfft(b, n=nfft, axis=1)
    out = sp_fft.irfft(np.conj(fa) * fb, n=nfft, axis=1)[:, : max_lag + 1]
    return np.asarray(out.sum(axis=0))


def _pairs(n_paths: int, length: int, max_lag: int) -> np.ndarray:
    return n_paths * (length - np.arange(max_lag + 1, dtype=np.float64))


def acf_kernel(z: np.ndarray, max_lag: int) -> np.ndarray:
    """Panel ACF ``(max_lag, F)`` of standardized values ``z`` ``(n, L, F)`` (pooled mean 0, pooled variance 1)."""
    sums = _cross_sums(z, z, max_lag)
    return np.asarray(sums[1:] / _pairs(z.shape[0], z.shape[1], max_lag)[1:, None])


def leverage_kernel(z: np.ndarray, max_lag: int) -> np.ndarray:
    """``corr(r_t, r²_{t+k})``, k = 1..max_lag, ``(max_lag, F)``, of standardized values ``z``."""
    sq = z**2
    sq_mean = sq.mean(axis=(0, 1))
    sq_sd = sq.std(axis=(0, 1))
    sq_z = (sq - sq_mean) / np.where(sq_sd > 0, sq_sd, 1.0)
    sums = _cross_sums(z, sq_z, max_lag)
    return np.asarray(sums[1:] / _pairs(z.shape[0], z.shape[1], max_lag)[1:, None])


def _transform_acf(panel: _Panel, max_lag: int, transform: Callable[[np.ndarray], np.ndarray], name: str
                   ) -> np.ndarray:
    return acf_kernel(_standardized(_Panel(transform(panel.values), panel.features), name), max_lag)


def _moments(sums: np.ndarray, n: float) -> tuple[np.ndarray, np.ndarray]:
    """Skewness and excess kurtosis (population moments) from the raw power sums ``sums[0..3]`` of ``n`` values."""
    s1, s2, s3, s4 = sums[0], sums[1], sums[2], sums[3]
    m1 = s1 / n
    m2 = s2 / n - m1**2
    m3 = s3 / n - 3 * m1 * s2 / n + 2 * m1**3
    m4 = s4 / n - 4 * m1 * s3 / n + 6 * m1**2 * s2 / n - 3 * m1**4
    with np.errstate(divide="ignore", invalid="ignore"):
        return m3 / m2**1.5, m4 / m2**2 - 3.0


def _bootstrap_moments(z: np.ndarray, n_boot: int, block: float | None, level: float, seed: int | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Percentile intervals ``(2, F)`` of skewness and excess kurtosis from the stationary block bootstrap, and the
    point estimates ``(F,)``."""
    n_paths, length, _ = z.shape
    rng = np.random.default_rng(seed)
    powers = np.stack([z, z**2, z**3, z**4])  # (4, n, L, F)
    skew_hat, kurt_hat = _moments(powers.sum(axis=(1, 2)), n=float(z.shape[0] * length))
    skews, kurts = [], []
    if n_paths == 1:  # resample time
        b = block if block is not None else max(1.0, length ** (1.0 / 3.0))
        for idx in stationary_bootstrap_indices(length, n_boot, b, rng):
            sums = powers[:, 0][:, idx].sum(axis=2)  # (4, m, F)
            s, k = _moments(sums, n=float(length))
            skews.append(s)
            kurts.append(k)
    else:  # resample whole paths
        per_path = powers.sum(axis=2)  # (4, n, F)
        b = block if block is not None else max(1.0, n_paths ** (1.0 / 3.0))
        for idx in stationary_bootstrap_indices(n_paths, n_boot, b, rng):
            sums = per_path[:, idx].sum(axis=2)
            s, k = _moments(sums, n=float(n_paths * length))
            skews.append(s)
            kurts.append(k)
    q = [0.5 - level / 2.0, 0.5 + level / 2.0]
    skew_ci = np.nanquantile(np.concatenate(skews), q, axis=0)
    kurt_ci = np.nanquantile(np.concatenate(kurts), q, axis=0)
    return skew_hat, kurt_hat, skew_ci, kurt_ci


def _check_bootstrap(n_boot: Any, block: Any) -> None:
    check_arg("n_boot", n_boot, Interval(Integral, 100, None))
    check_arg("block", block, Interval(Real, 1, None), None)


def _estimate_frame(index: pd.Index, estimate: np.ndarray, low: np.ndarray, high: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"estimate": estimate, "low": low, "high": high}, index=index)


def _hill(top: np.ndarray, k: int) -> np.ndarray:
    """Hill estimates ``(F,)`` from the ``k + 1`` largest values ``top`` ``(k + 1, F)``, sorted descending, with a
    positive threshold ``top[k]``."""
    return np.asarray(k / np.log(top[:k] / top[k]).sum(axis=0))


def _power_law(acf_abs: np.ndarray) -> tuple[float, float, float, int]:
    """Exponent β, intercept, R² and number of lags of ``log ρ(k) = c − β log k`` over the leading positive run of
    one ACF; raises when fewer than three lags are positive."""
    nonpos = np.flatnonzero(acf_abs <= 0)
    n = int(nonpos[0]) if nonpos.size else acf_abs.size
    if n < MIN_POWER_LAW_LAGS:
        raise DataValidationError(
            f"the ACF of |r| is positive at only {n} leading lag(s) (at least {MIN_POWER_LAW_LAGS} are needed), so "
            "it shows no power-law decay to fit: the series has no volatility clustering at these lags."
        )
    lx = np.log(np.arange(1, n + 1, dtype=np.float64))
    ly = np.log(acf_abs[:n])
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (intercept + slope * lx)
    tss = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / tss if tss > 0 else 1.0
    return -float(slope), float(intercept), r2, n


def _horizon_sums(panel: _Panel, h: int) -> np.ndarray:
    n_blocks = panel.length // h
    x = panel.values[:, : n_blocks * h]
    return np.asarray(x.reshape(panel.n_paths, n_blocks, h, -1).sum(axis=2).reshape(-1, x.shape[2]))


def _quantile_ratio(values: np.ndarray, quantile: float) -> np.ndarray:
    lo, med, hi = np.quantile(values, [quantile, 0.5, 1.0 - quantile], axis=0)
    spread = med - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((hi - med) / spread)
