r"""The kernel two-sample (MMD) test of Gretton et al. (2012): the unbiased :math:`\mathrm{MMD}^2` between two
samples with an RBF or Laplacian kernel and its permutation p-value (:func:`mmd_test`, :class:`MMDTest`).

Re-exported by :mod:`latentquant.evaluation.synthetic._distances` and public as
:func:`latentquant.evaluation.synthetic.mmd_test`.

References
----------
Gretton, A., Borgwardt, K., Rasch, M., Schölkopf, B. & Smola, A. (2012). A kernel two-sample test. JMLR 13.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import Interval, Options, check_arg

__all__ = ["MMDTest", "mmd_test"]

MAX_MMD_SAMPLES = 20_000  # the kernel matrix is (n_x + n_y)² floats


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
