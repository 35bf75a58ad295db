r"""Distances between a real and a synthetic set of returns: Wasserstein-1 of multi-period returns, the ACF and
leverage scores of QuantGAN, Kolmogorov–Smirnov, the kernel two-sample (MMD) test, and the correlation distance.

Inputs are shaped as in :mod:`latentquant.evaluation.synthetic._facts`: ``(T,)``, ``(T, F)`` or windows
``(n, L, F)``; real and synthetic may differ in shape (a long real series against many synthetic windows) but must
have the same number of features. Time-series quantities are computed within paths and pooled.

References
----------
Wiese, M., Knobloch, R., Korn, R. & Kretschmer, P. (2020). Quant GANs: deep generation of financial time series.
Quantitative Finance 20(9), 1419–1440.
Gretton, A., Borgwardt, K., Rasch, M., Schölkopf, B. & Smola, A. (2012). A kernel two-sample test. JMLR 13.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

# the MMD test lives in _mmd.py; its names stay importable from here (the aliases mark the private ones re-exported)
from latentquant.evaluation.synthetic._mmd import MAX_MMD_SAMPLES as MAX_MMD_SAMPLES
from latentquant.evaluation.synthetic._mmd import MMDTest, mmd_test
from latentquant.evaluation.synthetic._mmd import _mmd_stats as _mmd_stats
from latentquant.evaluation.synthetic._mmd import _samples as _samples
from latentquant.evaluation.synthetic._mmd import _sq_dists as _sq_dists
from latentquant.evaluation.synthetic._panel import (
    DEFAULT_MAX_LAG,
    DEFAULT_SHORT_LAGS,
    _check_lags,
    _Panel,
    _standardized,
    acf_kernel,
    as_panel,
    check_pair,
    leverage_kernel,
)
from latentquant.exceptions import DataValidationError
from latentquant.validation import Interval, SequenceOf, check_arg

__all__ = [
    "CorrelationDistance",
    "MMDTest",
    "correlation_distance",
    "ks_test",
    "mmd_test",
    "quantgan_scores",
    "wasserstein_returns",
]

DEFAULT_HORIZONS = (1, 5, 20, 100)


def _pair(real: Any, synthetic: Any) -> tuple[_Panel, _Panel]:
    r = as_panel(real, "real")
    s = as_panel(synthetic, "synthetic")
    check_pair(r, s)
    return r, s


def _overlapping_sums(panel: _Panel, h: int) -> np.ndarray:
    """All ``h``-step sums inside each path (overlapping), pooled: ``(n (L − h + 1), F)``."""
    c = np.concatenate([np.zeros((panel.n_paths, 1, panel.values.shape[2])), panel.values.cumsum(axis=1)], axis=1)
    return np.asarray((c[:, h:] - c[:, :-h]).reshape(-1, panel.values.shape[2]))


def wasserstein_returns(real: Any, synthetic: Any, horizons: Sequence[int] | None = None) -> pd.DataFrame:
    r"""Wasserstein-1 (earth mover's) distance between the real and synthetic distributions of ``h``-period
    cumulative log returns, per horizon and feature (QuantGAN's EMD).

    The ``h``-period returns are all overlapping sums :math:`r_{t+1} + \dots + r_{t+h}` inside each path, pooled;
    :math:`W_1` is :func:`scipy.stats.wasserstein_distance` of the two samples, in the units of the returns (a
    synthetic set equal to the real one shifted by ``c`` per period is at distance ``h·|c|``).

    Parameters
    ----------
    real, synthetic : array-like, pandas.Series or pandas.DataFrame
        Log returns ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``, the same number of features.
    horizons : sequence of int, optional
        Horizons in periods, each at most the shorter path length. Default ``(1, 5, 20, 100)`` without the horizons
        longer than the shorter path length.

    Returns
    -------
    pandas.DataFrame
        Horizons (index ``horizon``) × features.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(0.0, 0.01, 5000)
    >>> wasserstein_returns(real, real + 0.001, horizons=(1, 5)).round(6).to_dict()
    {'r': {1: 0.001, 5: 0.005}}
    """
    r, s = _pair(real, synthetic)
    shortest = min(r.length, s.length)
    if horizons is None:
        hs = [h for h in DEFAULT_HORIZONS if h <= shortest]
    else:
        check_arg("horizons", horizons, SequenceOf(Interval(Integral, 1, None), min_len=1))
        hs = [int(h) for h in horizons]
        too_long = [h for h in hs if h > shortest]
        if too_long:
            raise DataValidationError(
                f"horizons {too_long} are longer than the paths (real length {r.length}, synthetic length "
                f"{s.length}); pass horizons up to {shortest}, or longer paths."
            )
    table = {}
    for h in hs:
        a, b = _overlapping_sums(r, h), _overlapping_sums(s, h)
        table[h] = [float(stats.wasserstein_distance(a[:, f], b[:, f])) for f in range(a.shape[1])]
    return pd.DataFrame.from_dict(table, orient="index", columns=list(r.features)).rename_axis(
        index="horizon", columns="feature")


def _lag_for_pair(r: _Panel, s: _Panel, value: int | None, default: int, arg: str) -> int:
    if value is None:
        return max(1, min(default, r.length - 1, s.length - 1))
    _check_lags(r, value, arg, "real")
    return _check_lags(s, value, arg, "synthetic")


def quantgan_scores(real: Any, synthetic: Any, *, max_lag: int | None = None,
                    leverage_lags: int | None = None) -> pd.DataFrame:
    r"""The ACF and leverage scores of QuantGAN (Wiese et al. 2020): Euclidean distances, over lags, between the
    real and the synthetic autocorrelation functions.

    .. math::

        \text{ACF}(f) = \big\lVert \hat\rho_{f(r)} - \hat\rho_{f(\tilde r)} \big\rVert_2, \quad
        f \in \{r, |r|, r^2\}, \qquad
        \text{leverage} = \big\lVert \hat L(r) - \hat L(\tilde r) \big\rVert_2,

    with :math:`\hat\rho(k)` the ACF at lags ``1..max_lag`` (:func:`~latentquant.evaluation.synthetic.acf`) and
    :math:`\hat L(k) = \operatorname{corr}(r_t, r^2_{t+k})` at lags ``1..leverage_lags``
    (:func:`~latentquant.evaluation.synthetic.leverage_effect`). QuantGAN averages the ACF over the synthetic paths;
    here the paths are pooled (the pair-weighted average of the per-path ACFs), the same for real windows.
    0 for identical sets; smaller is better. A long lag range adds many small, noisy differences, so compare scores
    only at equal lags and similar sample sizes.

    Parameters
    ----------
    real, synthetic : array-like, pandas.Series or pandas.DataFrame
        Log returns ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``, the same number of features.
    max_lag : int, optional
        Largest lag of the three ACF scores; default 250, capped at the shorter path length − 1.
    leverage_lags : int, optional
        Largest lag of the leverage score; default 20, capped the same way. Pass ``leverage_lags=max_lag`` for one
        common lag range.

    Returns
    -------
    pandas.DataFrame
        Scores ``acf_r``, ``acf_abs``, ``acf_sq``, ``leverage`` (index ``score``) × features.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_t(4, size=(100, 50, 1))
    >>> quantgan_scores(real, real).to_numpy().tolist()
    [[0.0], [0.0], [0.0], [0.0]]
    >>> scores = quantgan_scores(real, rng.normal(size=(100, 50, 1)), max_lag=10)
    >>> list(scores.index), bool((scores.to_numpy() > 0).all())
    (['acf_r', 'acf_abs', 'acf_sq', 'leverage'], True)
    """
    r, s = _pair(real, synthetic)
    long_lag = _lag_for_pair(r, s, max_lag, DEFAULT_MAX_LAG, "max_lag")
    lev_lag = _lag_for_pair(r, s, leverage_lags, DEFAULT_SHORT_LAGS, "leverage_lags")
    rows = {}
    for label, fn in (("acf_r", None), ("acf_abs", np.abs), ("acf_sq", np.square)):
        pr = r if fn is None else _Panel(fn(r.values), r.features)
        ps = s if fn is None else _Panel(fn(s.values), s.features)
        a = acf_kernel(_standardized(pr, "real" if fn is None else f"{fn.__name__}(real)"), long_lag)
        b = acf_kernel(_standardized(ps, "synthetic" if fn is None else f"{fn.__name__}(synthetic)"), long_lag)
        rows[label] = np.linalg.norm(a - b, axis=0)
    a = leverage_kernel(_standardized(r, "real"), lev_lag)
    b = leverage_kernel(_standardized(s, "synthetic"), lev_lag)
    rows["leverage"] = np.linalg.norm(a - b, axis=0)
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(r.features)).rename_axis(
        index="score", columns="feature")


def ks_test(real: Any, synthetic: Any) -> pd.DataFrame:
    """Two-sample Kolmogorov–Smirnov test of the one-period returns, per feature (all values pooled).

    The statistic is the largest gap between the two empirical distribution functions (0 for identical samples).
    The p-value (:func:`scipy.stats.ks_2samp`) assumes independent draws; with volatility clustering the effective
    sample is smaller and the p-value too small, so read the statistic as a distance.

    Parameters
    ----------
    real, synthetic : array-like, pandas.Series or pandas.DataFrame
        Returns ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``, the same number of features.

    Returns
    -------
    pandas.DataFrame
        Features × ``statistic``, ``pvalue``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> ks_test(x, x).to_dict("index")
    {'r': {'statistic': 0.0, 'pvalue': 1.0}}
    >>> bool(ks_test(x, x + 0.5).loc["r", "pvalue"] < 1e-6)
    True
    """
    r, s = _pair(real, synthetic)
    a = r.values.reshape(-1, r.values.shape[2])
    b = s.values.reshape(-1, s.values.shape[2])
    rows = {}
    for f, name in enumerate(r.features):
        res = stats.ks_2samp(a[:, f], b[:, f])
        rows[name] = {"statistic": float(res.statistic), "pvalue": float(res.pvalue)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "feature"
    return out


# --------------------------------------------------------------------------------------------------------------------
# correlation distance
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorrelationDistance:
    """The distance between the correlation matrices of a real and a synthetic set (see
    :func:`correlation_distance`).

    Attributes
    ----------
    distance : float
        Frobenius norm :math:`\\lVert C_{real} - C_{synthetic}\\rVert_F`.
    n_features : int
        Number of features (assets).
    real, synthetic : pandas.DataFrame
        The two correlation matrices (features × features).

    Examples
    --------
    >>> res = correlation_distance(np.eye(3)[[0, 1, 2, 0, 1, 2]], np.eye(3)[[0, 1, 2, 0, 1, 2]])
    >>> print(res.summary())
    Correlation distance (Frobenius) 0 over 3 features
    >>> res.to_dict()["distance"]
    0.0
    """

    distance: float
    n_features: int
    real: pd.DataFrame
    synthetic: pd.DataFrame

    def summary(self) -> str:
        """One line: the distance and the number of features.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(500, 2))
        >>> correlation_distance(x, x).summary()
        'Correlation distance (Frobenius) 0 over 2 features'
        """
        return f"Correlation distance (Frobenius) {self.distance:.4g} over {self.n_features} features"

    def to_dict(self) -> dict[str, Any]:
        """The distance and both matrices as nested lists (JSON-ready).

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(500, 2))
        >>> sorted(correlation_distance(x, x).to_dict())
        ['distance', 'features', 'n_features', 'real', 'synthetic']
        """
        return {"distance": self.distance, "n_features": self.n_features, "features": [str(c) for c in self.real],
                "real": self.real.to_numpy().tolist(), "synthetic": self.synthetic.to_numpy().tolist()}

    def __str__(self) -> str:
        return self.summary()


def correlation_distance(real: Any, synthetic: Any) -> CorrelationDistance:
    r"""Frobenius norm of the difference of the real and synthetic correlation matrices,
    :math:`\lVert C_{real} - C_{synthetic}\rVert_F = \big(\sum_{i,j}(c_{ij} - \tilde c_{ij})^2\big)^{1/2}`.

    Correlations are pooled over all values (all steps of all paths). The ``corr_distance`` of
    :func:`~latentquant.evaluation.distribution_summary` is this distance divided by the number of features.

    Parameters
    ----------
    real, synthetic : array-like or pandas.DataFrame
        Returns ``(T, F)`` or windows ``(n, L, F)`` with the same ``F >= 2``.

    Returns
    -------
    CorrelationDistance

    Examples
    --------
    Correlation 0.5 against independence: two off-diagonal cells differ by 0.5, so the distance is
    :math:`\sqrt{2 \cdot 0.5^2} = 0.71`.

    >>> rng = np.random.default_rng(0)
    >>> real = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], 100_000)
    >>> round(correlation_distance(real, rng.normal(size=(100_000, 2))).distance, 2)
    0.71
    """
    r, s = _pair(real, synthetic)
    n = r.values.shape[2]
    if n < 2:
        raise DataValidationError(
            "correlation_distance needs at least 2 features (assets), got 1; pass a (T, F) table or (n, L, F) "
            "windows with F >= 2."
        )
    mats = []
    for panel, name in ((r, "real"), (s, "synthetic")):
        _standardized(panel, name)
        mats.append(np.corrcoef(panel.values.reshape(-1, n), rowvar=False))
    index = pd.Index(r.features, name="feature")
    return CorrelationDistance(
        distance=float(np.linalg.norm(mats[0] - mats[1])), n_features=n,
        real=pd.DataFrame(mats[0], index=index, columns=index),
        synthetic=pd.DataFrame(mats[1], index=index, columns=index),
    )
