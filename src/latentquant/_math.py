r"""The formulas several layers need, each written once.

Models (which must not import :mod:`latentquant.evaluation`) and evaluation functions both call these; the public,
validated versions live in :mod:`latentquant.evaluation` and delegate here.

* :func:`uncentred_r2` — :math:`1-\sum(r-\hat r)^2/\sum r^2` over cells where both are finite;
* :func:`running_mean` — factor premia :math:`\hat\lambda_{t-1}`, the mean of the factors strictly before ``t``;
* :func:`kl_standard_normal`, :func:`kl_normal` — Gaussian KL divergences (NumPy or torch, elementwise);
* :func:`newey_west_lrv` — Newey–West (Bartlett) long-run covariance of a series of scores;
* :func:`standardize_stats` — column means and standard deviations of training rows (the array kernel of the
  scalers fitted on training data only; :class:`~latentquant.data.Standardizer` is the pandas estimator).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError

__all__ = [
    "kl_normal",
    "kl_standard_normal",
    "newey_west_lrv",
    "running_mean",
    "standardize_stats",
    "stationary_bootstrap_indices",
    "uncentred_r2",
]


def uncentred_r2(r: np.ndarray, r_hat: np.ndarray, what: str = "R²") -> float:
    """``1 − Σ (r − r̂)² / Σ r²`` over the cells where both are finite.

    Arrays of any (equal) shape; when every cell is finite the sums run over the arrays as given, so a 2-D table and
    its flattened copy may differ in the last bit (pairwise summation), never more.

    Examples
    --------
    >>> round(uncentred_r2(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 3.0])), 6)
    0.966667
    """
    r = np.asarray(r, dtype=np.float64)
    r_hat = np.asarray(r_hat, dtype=np.float64)
    if r.shape != r_hat.shape:
        raise DataValidationError(f"{what}: returns have shape {r.shape} but fitted values {r_hat.shape}; pass "
                                  "arrays of the same shape.")
    keep = np.isfinite(r) & np.isfinite(r_hat)
    if not keep.any():
        raise DataValidationError(
            f"{what}: no (date, asset) cell has both a return and a fitted value; check that the indexes overlap "
            "(same date type and asset labels) and that the inputs are not all NaN."
        )
    if not keep.all():
        r, r_hat = r[keep], r_hat[keep]
    denom = float(np.sum(r * r))
    if denom <= 0.0:
        raise DataValidationError(f"{what}: all returns are zero on the overlapping cells, R² is undefined.")
    return 1.0 - float(np.sum((r - r_hat) ** 2)) / denom


def running_mean(factors: pd.DataFrame) -> pd.DataFrame:
    """Row ``t`` = mean of the rows strictly before ``t`` (the first row is NaN): :math:`\\hat\\lambda_{t-1}`.

    Examples
    --------
    >>> running_mean(pd.DataFrame({"f1": [1.0, 3.0, 8.0]}))["f1"].tolist()
    [nan, 1.0, 2.0]
    """
    return factors.expanding().mean().shift(1)


def _backend(x: Any) -> Any:
    import torch

    return torch if isinstance(x, torch.Tensor) else np


def kl_standard_normal(mu: Any, log_var: Any, *, var: Any = None) -> Any:
    r"""Elementwise :math:`\mathrm{KL}(N(\mu,\sigma^2)\Vert N(0,1)) = -\tfrac12(1+\log\sigma^2-\mu^2-\sigma^2)`.

    Works on NumPy arrays and torch tensors (differentiable); sum over the latent axis for a vector KL. A caller that
    holds the variance :math:`\sigma^2` passes it as ``var`` (used instead of ``exp(log_var)``, which can differ from
    it in the last bit).

    Examples
    --------
    >>> float(kl_standard_normal(np.array(1.0), np.array(0.0)))
    0.5
    >>> float(kl_standard_normal(np.array(0.0), np.log(np.array(4.0)), var=np.array(4.0)))  # ½(4 − 1 − log 4)
    0.8068528194400546
    """
    xp = _backend(mu)
    return -0.5 * (1 + log_var - mu**2 - (xp.exp(log_var) if var is None else var))


def kl_normal(mu_q: Any, sigma_q: Any, mu_p: Any, sigma_p: Any) -> Any:
    r"""Elementwise :math:`\mathrm{KL}(N(\mu_q,\sigma_q^2)\Vert N(\mu_p,\sigma_p^2)) = \log\frac{\sigma_p}{\sigma_q}
    + \frac{\sigma_q^2+(\mu_q-\mu_p)^2}{2\sigma_p^2} - \frac12` (NumPy or torch).

    Examples
    --------
    >>> float(kl_normal(np.array(1.0), np.array(1.0), np.array(0.0), np.array(1.0)))
    0.5
    """
    xp = _backend(mu_q)
    return xp.log(sigma_p) - xp.log(sigma_q) + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2.0 * sigma_p**2) - 0.5


def newey_west_lrv(scores: np.ndarray, lags: int) -> np.ndarray:
    r"""Newey–West long-run covariance :math:`\sum_t s_t s_t^\top + \sum_{\ell=1}^{L}(1-\tfrac{\ell}{L+1})
    (\Gamma_\ell + \Gamma_\ell^\top)`, :math:`\Gamma_\ell = \sum_t s_t s_{t-\ell}^\top` (no division by ``T``,
    no small-sample correction). ``scores`` is ``(T,)`` or ``(T, k)``; lags beyond ``T − 1`` add nothing.

    Examples
    --------
    >>> float(newey_west_lrv(np.array([1.0, -1.0, 1.0, -1.0]), 1)[0, 0])  # 4 + 2·0.5·(−3)
    1.0
    """
    s = np.asarray(scores, dtype=np.float64)
    s = s[:, None] if s.ndim == 1 else s
    out = s.T @ s
    for lag in range(1, min(lags, s.shape[0] - 1) + 1):
        g = s[lag:].T @ s[:-lag]
        out += (1.0 - lag / (lags + 1.0)) * (g + g.T)
    return out


def standardize_stats(values: np.ndarray, *, ddof: int = 1,
                      dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (``ddof``, default 1) of a 2-D array of training rows, computed in
    ``dtype`` (``None``: the input's own precision, e.g. float32 statistics of float32 rows).

    Examples
    --------
    >>> m, s = standardize_stats(np.array([[1.0], [2.0], [3.0]]))
    >>> m.tolist(), s.tolist()
    ([2.0], [1.0])
    """
    x = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    return x.mean(axis=0), x.std(axis=0, ddof=ddof)


def stationary_bootstrap_indices(t: int, n_boot: int, block: float, rng: np.random.Generator,
                                 chunk_cells: int = 2_000_000, length: int | None = None) -> Iterator[np.ndarray]:
    """Index arrays ``(m, length)`` into a series of ``t`` rows, of stationary-bootstrap resamples (Politis & Romano
    1994), ``n_boot`` rows in all, yielded in chunks of about ``chunk_cells`` cells.

    Blocks start at uniform positions, have geometric lengths with mean ``block`` and wrap around the end (circular).
    Apply the same indices to several series to keep their cross-dependence (paired bootstrap). ``length`` (default
    ``t``) is the length of each resample, e.g. a simulation horizon shorter than the history.

    Examples
    --------
    >>> idx = next(stationary_bootstrap_indices(100, 3, 10, np.random.default_rng(0), length=5))
    >>> idx.shape, bool(((idx >= 0) & (idx < 100)).all())
    ((3, 5), True)
    """
    n = t if length is None else length
    p = 1.0 / block
    rows_per_chunk = max(1, chunk_cells // n)
    steps = np.arange(n)
    for lo in range(0, n_boot, rows_per_chunk):
        m = min(rows_per_chunk, n_boot - lo)
        new_block = rng.random((m, n)) < p
        new_block[:, 0] = True
        starts = rng.integers(0, t, size=(m, n))
        last = np.maximum.accumulate(np.where(new_block, steps, 0), axis=1)
        yield (np.take_along_axis(starts, last, axis=1) + steps - last) % t

