"""Is a risk model's covariance calibrated? Predicted against realised variance of many portfolios, with a CI.

A covariance forecast :math:`\\hat\\Sigma` (from a factor model fitted on a training span) predicts the variance of
every portfolio :math:`w` as :math:`w^\\top\\hat\\Sigma w`. On a later span the realised variance is the sample variance
of :math:`w^\\top x_t`. The ratio realised / predicted is 1 for a calibrated model, above 1 when the model understates
risk. :func:`variance_calibration` computes it for an equal-weight book and random long-only portfolios, with
confidence intervals from a stationary block bootstrap of the evaluation days (the same resampled days for every
portfolio, so that the interval of the mean ratio keeps their cross-dependence).

Conventions: returns are per-period log returns as the model sees them (no annualisation: the ratio is unit-free);
variances use ``ddof=1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from latentquant.evaluation._series import stationary_bootstrap_indices
from latentquant.exceptions import DataValidationError
from latentquant.validation import Interval, check_arg, check_frame

__all__ = ["VarianceCalibration", "random_long_only_weights", "variance_calibration"]


def random_long_only_weights(n_portfolios: int, assets: Any, *, seed: int | None = 0) -> pd.DataFrame:
    """Random fully invested long-only portfolios, uniform on the simplex (Dirichlet(1, …, 1) weights).

    Parameters
    ----------
    n_portfolios : int
        Number of portfolios.
    assets : int or sequence of str
        Number of assets, or their names (the columns of the result).
    seed : int or None
        Same seed → same weights.

    Returns
    -------
    pandas.DataFrame
        ``n_portfolios`` × assets, rows non-negative and summing to 1; index ``portfolio`` (``p1``, ``p2`` …).

    Examples
    --------
    >>> w = random_long_only_weights(3, ["A", "B", "C", "D"], seed=0)
    >>> w.shape, bool((w >= 0).all().all()), w.sum(axis=1).round(12).tolist()
    ((3, 4), True, [1.0, 1.0, 1.0])
    """
    check_arg("n_portfolios", n_portfolios, Interval(Integral, 1, None))
    names = [f"a{i + 1}" for i in range(assets)] if isinstance(assets, Integral) else list(assets)
    if len(names) < 2:
        raise DataValidationError(f"random portfolios need at least 2 assets, got {len(names)}.")
    weights = np.random.default_rng(seed).dirichlet(np.ones(len(names)), size=n_portfolios)
    index = pd.Index([f"p{i + 1}" for i in range(n_portfolios)], name="portfolio")
    return pd.DataFrame(weights, index=index, columns=names)


@dataclass(frozen=True)
class VarianceCalibration:
    """Predicted against realised portfolio variances on an evaluation span (see :func:`variance_calibration`).

    Attributes
    ----------
    portfolios : pandas.DataFrame
        One row per portfolio: ``predicted``, ``realised`` (variances per period), ``ratio`` (realised / predicted)
        and its bootstrap interval ``ratio_low``, ``ratio_high``.
    mean_ratio, mean_ratio_low, mean_ratio_high : float
        Mean ratio over the portfolios and its bootstrap interval.
    median_ratio : float
        Median ratio over the portfolios.
    coverage : float
        Share of portfolios whose interval contains 1 (a calibrated model: close to ``level``).
    level : float
        Confidence level of the intervals.
    n_days : int
        Evaluation days.
    block : float
        Mean block length (days) of the stationary bootstrap.
    n_boot : int
        Bootstrap resamples.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame(np.random.default_rng(0).normal(size=(500, 3)), columns=list("ABC"))
    >>> cal = variance_calibration(np.eye(3), x, random_long_only_weights(20, list("ABC")), n_boot=200)
    >>> 0.8 < cal.mean_ratio < 1.2
    True
    """

    portfolios: pd.DataFrame
    mean_ratio: float
    mean_ratio_low: float
    mean_ratio_high: float
    median_ratio: float
    coverage: float
    level: float
    n_days: int
    block: float
    n_boot: int

    def summary(self) -> str:
        """One line: mean ratio with its interval, median, coverage."""
        return (f"realised / predicted variance over {len(self.portfolios)} portfolio(s), {self.n_days} days: mean "
                f"{self.mean_ratio:.3f} [{self.mean_ratio_low:.3f}, {self.mean_ratio_high:.3f}] ({self.level:.0%} "
                f"stationary-bootstrap CI, mean block {self.block:g} days), median {self.median_ratio:.3f}; "
                f"{self.coverage:.0%} of the portfolios' intervals contain 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the scalars and the per-portfolio table (records)."""
        return {"mean_ratio": self.mean_ratio, "mean_ratio_low": self.mean_ratio_low,
                "mean_ratio_high": self.mean_ratio_high, "median_ratio": self.median_ratio, "coverage": self.coverage,
                "level": self.level, "n_days": self.n_days, "block": self.block, "n_boot": self.n_boot,
                "portfolios": self.portfolios.reset_index().to_dict(orient="records")}


def variance_calibration(covariance: Any, returns: Any, weights: Any, *, n_boot: int = 1000, block: float = 20.0,
                         level: float = 0.95, seed: int | None = 0) -> VarianceCalibration:
    """Realised / predicted variance of portfolios on an evaluation span, with stationary-bootstrap intervals.

    Parameters
    ----------
    covariance : array-like or pandas.DataFrame, shape (N, N)
        The predicted covariance of the assets' per-period returns (e.g.
        :meth:`VAEFactorModel.covariance <latentquant.models.VAEFactorModel.covariance>`), fitted without the
        evaluation span. A DataFrame is aligned on the asset names of ``returns``.
    returns : pandas.DataFrame or array-like, shape (T, N)
        Per-period returns of the evaluation span, in the units of ``covariance``; no missing values.
    weights : array-like or pandas.DataFrame, shape (P, N) or (N,)
        One portfolio per row (a DataFrame is aligned on the asset names).
    n_boot : int
        Bootstrap resamples of the evaluation days.
    block : float
        Mean block length in days (volatility clusters, so days are not resampled one by one).
    level : float
        Confidence level of the intervals.
    seed : int or None
        Bootstrap seed.

    Returns
    -------
    VarianceCalibration

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame(np.random.default_rng(1).normal(size=(1000, 2)) * [1.0, 2.0], columns=["A", "B"])
    >>> cal = variance_calibration(np.diag([1.0, 1.0]), x, np.array([[0.0, 1.0]]), n_boot=200)
    >>> round(cal.portfolios["ratio"].iloc[0])  # the model understates B's variance four-fold
    4
    """
    frame = check_frame(returns, name="returns", min_rows=3, require_datetime_index=False)
    x = frame.to_numpy(dtype=np.float64)
    n_assets = x.shape[1]
    check_arg("n_boot", n_boot, Interval(Integral, 10, None))
    check_arg("block", block, Interval(Real, 1, None))
    check_arg("level", level, Interval(Real, 0, 1, closed="neither"))
    if isinstance(covariance, pd.DataFrame):
        missing = [c for c in frame.columns if c not in covariance.index or c not in covariance.columns]
        if missing:
            raise DataValidationError(f"covariance has no row/column for asset(s) {missing[:5]} of returns; pass "
                                      "the covariance of the same assets.")
        covariance = covariance.loc[frame.columns, frame.columns]
    cov = np.asarray(covariance, dtype=np.float64)
    if cov.shape != (n_assets, n_assets) or not np.isfinite(cov).all():
        raise DataValidationError(f"covariance must be a finite {n_assets} × {n_assets} matrix (one row and column "
                                  f"per asset of returns), got shape {cov.shape}.")
    if isinstance(weights, pd.DataFrame):
        w = weights.reindex(columns=frame.columns).fillna(0.0).to_numpy(np.float64)
        names = [str(i) for i in weights.index]
    else:
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        names = [f"p{i + 1}" for i in range(w.shape[0])]
    if w.shape[1] != n_assets or not np.isfinite(w).all():
        raise DataValidationError(f"weights must be finite, one column per asset ({n_assets}), got shape {w.shape}.")
    predicted = np.einsum("pi,ij,pj->p", w, cov, w)
    if not (predicted > 0).all():
        bad = [names[i] for i in np.flatnonzero(predicted <= 0)][:5]
        raise DataValidationError(f"the covariance predicts a variance <= 0 for portfolio(s) {bad}; it must be "
                                  "positive definite on these weights.")
    books = x @ w.T  # (T, P)
    realised = books.var(axis=0, ddof=1)
    ratio = realised / predicted
    rng = np.random.default_rng(seed)
    cells = max(len(x), 4_000_000 // books.shape[1])  # bounded memory: one chunk holds ~4e6 resampled values
    boot = np.concatenate([books[idx].var(axis=1, ddof=1) for idx in
                           stationary_bootstrap_indices(len(x), n_boot, block, rng, chunk_cells=cells)])
    boot /= predicted  # (n_boot, P)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(boot, [tail, 1.0 - tail], axis=0)
    mean_low, mean_high = np.quantile(boot.mean(axis=1), [tail, 1.0 - tail])
    table = pd.DataFrame({"predicted": predicted, "realised": realised, "ratio": ratio, "ratio_low": low,
                          "ratio_high": high}, index=pd.Index(names, name="portfolio"))
    return VarianceCalibration(
        portfolios=table, mean_ratio=float(ratio.mean()), mean_ratio_low=float(mean_low),
        mean_ratio_high=float(mean_high), median_ratio=float(np.median(ratio)),
        coverage=float(((low <= 1.0) & (high >= 1.0)).mean()), level=float(level), n_days=len(x),
        block=float(block), n_boot=int(n_boot),
    )
