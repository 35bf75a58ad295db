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
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

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
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import Interval, Options, SequenceOf, check_arg

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
MAX_MMD_SAMPLES = 20_000  # the kernel matrix is (n_x + n_y)² floats


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


# --------------------------------------------------------------------------------------------------------------------
# MMD test
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MMDTest:
    """A kernel two-sample test (see :func:`mmd_test`).

    Attributes
    ----------
    statistic : float
        Unbiased estimate of :math:`\\mathrm{MMD}^2` (may be slightly negative when the laws are equal).
    mmd2_biased : float
        The biased (V-statistic) estimate, >= 0 and exactly 0 for identical samples.
    pvalue : float
        Permutation p-value :math:`(1 + \\#\\{\\text{permuted} \\ge \\text{observed}\\}) / (1 + P)`.
    kernel : str
        ``"rbf"`` or ``"laplacian"``.
    bandwidth : float
        The kernel bandwidth used.
    n_x, n_y : int
        Sample sizes.
    n_permutations : int
        Number of permutations ``P``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> res = mmd_test(rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 1.0, n_permutations=200)
    >>> print(res)
    MMD² 0.1621 (p = 0.00498, rbf kernel, bandwidth 1.783, 100 vs 100 samples, 200 permutations)
    >>> res.to_dict()["pvalue"]
    0.004975124378109453
    """

    statistic: float
    mmd2_biased: float
    pvalue: float
    kernel: str
    bandwidth: float
    n_x: int
    n_y: int
    n_permutations: int

    def summary(self) -> str:
        """The test in one line.

        Examples
        --------
        >>> x = np.arange(20.0)
        >>> mmd_test(x, x, n_permutations=100).summary()[:8]
        'MMD² -0.'
        """
        return (f"MMD² {self.statistic:.4g} (p = {self.pvalue:.3g}, {self.kernel} kernel, bandwidth "
                f"{self.bandwidth:.4g}, {self.n_x} vs {self.n_y} samples, {self.n_permutations} permutations)")

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain Python value (JSON-ready).

        Examples
        --------
        >>> x = np.arange(20.0)
        >>> mmd_test(x, x, n_permutations=100).to_dict()["mmd2_biased"]
        0.0
        """
        return asdict(self)

    def __str__(self) -> str:
        return self.summary()


def _samples(x: Any, name: str) -> np.ndarray:
    """Rows of ``x`` as ``(n, d)``: 1-D values, 2-D samples × dimensions, windows flattened to ``L·F``."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{name} must be numeric ({exc}).") from None
    if a.ndim not in (1, 2, 3) or a.size == 0:
        raise DataValidationError(
            f"{name} must be 1-D samples (n,), 2-D (n_samples, n_dims) or windows (n_windows, length, n_features), "
            f"got shape {a.shape}."
        )
    a = a[:, None] if a.ndim == 1 else a.reshape(a.shape[0], -1)
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise DataValidationError(
            f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf), the first in sample {i}; drop those "
            "samples first."
        )
    if a.shape[0] < 2:
        raise DataValidationError(f"{name} has {a.shape[0]} sample(s); the MMD test needs at least 2 per set.")
    return a


def _sq_dists(z: np.ndarray) -> np.ndarray:
    sq = (z**2).sum(axis=1)
    return np.asarray(np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0))


def _mmd_stats(k0: np.ndarray, member: np.ndarray, m: int, n: int, total: float) -> np.ndarray:
    """Unbiased MMD² for each row of ``member`` (``(P, N)`` 0/1 indicators of the first sample) given the kernel
    matrix ``k0`` with a zero diagonal and its total ``total``."""
    ks = member @ k0
    sxx = (ks * member).sum(axis=1)
    across = ks.sum(axis=1)
    sxy = across - sxx
    syy = total - 2.0 * across + sxx
    return np.asarray(sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2.0 * sxy / (m * n))


def mmd_test(x: Any, y: Any, *, kernel: Literal["rbf", "laplacian"] = "rbf",
             bandwidth: float | Literal["median"] = "median", n_permutations: int = 500,
             seed: int | None = 0) -> MMDTest:
    r"""Kernel two-sample test of Gretton et al. (2012): the unbiased :math:`\mathrm{MMD}^2` between the laws of
    ``x`` and ``y`` and its permutation p-value.

    .. math::

        \widehat{\mathrm{MMD}}^2_u = \frac{\sum_{i \ne j} k(x_i, x_j)}{m(m-1)} + \frac{\sum_{i \ne j} k(y_i, y_j)}
        {n(n-1)} - \frac{2}{mn}\sum_{i,j} k(x_i, y_j),

    with :math:`k(a, b) = \exp(-\lVert a-b\rVert^2 / (2\sigma^2))` (``"rbf"``) or
    :math:`\exp(-\lVert a-b\rVert/\sigma)` (``"laplacian"``). The median heuristic sets :math:`\sigma` to the median
    Euclidean distance between distinct pooled samples. The p-value compares the statistic with ``n_permutations``
    random relabellings of the pooled samples (exact level under exchangeability: samples must be independent draws,
    e.g. non-overlapping windows). Memory and time grow as :math:`(m + n)^2`; at most 20,000 samples in all.

    Parameters
    ----------
    x, y : array-like
        Samples: 1-D ``(n,)`` values, 2-D ``(n, d)`` rows, or windows ``(n, L, F)`` (each window one sample of
        dimension ``L·F``); the same dimension in both.
    kernel : {"rbf", "laplacian"}, default "rbf"
        Kernel (both characteristic: the population MMD is 0 only for equal laws).
    bandwidth : float or "median", default "median"
        Kernel bandwidth :math:`\sigma > 0`, or the median heuristic.
    n_permutations : int, default 500
        Permutations of the test (at least 20).
    seed : int, optional
        Seed of the permutations.

    Returns
    -------
    MMDTest

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> same = mmd_test(rng.normal(size=200), rng.normal(size=200), n_permutations=200, seed=1)
    >>> shifted = mmd_test(rng.normal(size=200), rng.normal(size=200) + 1.0, n_permutations=200, seed=1)
    >>> bool(same.pvalue > 0.05), bool(shifted.pvalue < 0.01)
    (True, True)
    """
    a = _samples(x, "x")
    b = _samples(y, "y")
    if a.shape[1] != b.shape[1]:
        raise DataValidationError(
            f"x has samples of dimension {a.shape[1]} but y of dimension {b.shape[1]}; windows must have the same "
            "length and number of features."
        )
    check_arg("kernel", kernel, Options("rbf", "laplacian"))
    check_arg("bandwidth", bandwidth, Options("median"), Interval(Real, 0, None, closed="neither"))
    check_arg("n_permutations", n_permutations, Interval(Integral, 20, None))
    m, n = a.shape[0], b.shape[0]
    if m + n > MAX_MMD_SAMPLES:
        raise ConfigError(
            f"x and y have {m + n} samples in all, more than {MAX_MMD_SAMPLES}: the kernel matrix would not fit in "
            "memory; pass a random subsample of each set, e.g. x[rng.choice(len(x), 2000, replace=False)]."
        )
    z = np.concatenate([a, b])
    d2 = _sq_dists(z)
    if bandwidth == "median":
        iu = np.triu_indices(m + n, k=1)
        dists = np.sqrt(d2[iu])
        dists = dists[dists > 0]
        if dists.size == 0:
            raise DataValidationError(
                "x and y are all one point (every pairwise distance is 0), so the median bandwidth is undefined and "
                "the two sets are trivially equal; pass varied samples or a numeric bandwidth."
            )
        sigma = float(np.median(dists))
    else:
        sigma = float(bandwidth)
    k = np.exp(-d2 / (2.0 * sigma**2)) if kernel == "rbf" else np.exp(-np.sqrt(d2) / sigma)
    biased = (k[:m, :m].sum() / m**2 + k[m:, m:].sum() / n**2 - 2.0 * k[:m, m:].sum() / (m * n))
    np.fill_diagonal(k, 0.0)
    total = float(k.sum())
    observed_member = np.zeros((1, m + n))
    observed_member[0, :m] = 1.0
    observed = float(_mmd_stats(k, observed_member, m, n, total)[0])
    rng = np.random.default_rng(seed)
    chunk = max(1, 4_000_000 // (m + n))
    exceed = 0
    for lo in range(0, int(n_permutations), chunk):
        p = min(chunk, int(n_permutations) - lo)
        order = np.argsort(rng.random((p, m + n)), axis=1)
        member = np.zeros((p, m + n))
        np.put_along_axis(member, order[:, :m], 1.0, axis=1)
        exceed += int((_mmd_stats(k, member, m, n, total) >= observed - 1e-12).sum())
    return MMDTest(statistic=observed, mmd2_biased=0.0 if abs(biased) < 1e-12 else float(biased),
                   pvalue=(1 + exceed) / (1 + int(n_permutations)), kernel=str(kernel), bandwidth=sigma, n_x=m, n_y=n,
                   n_permutations=int(n_permutations))
