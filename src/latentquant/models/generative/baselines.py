r"""The baselines every synthetic-data generator must beat: bootstraps of days, a Gaussian and GARCH-t with CCC
(:class:`GARCHGenerator` lives in :mod:`latentquant.models.generative.garch`).

* :class:`BootstrapGenerator` — days drawn i.i.d. from the history, each day's whole cross-section (all features)
  together: keeps the marginal distribution and the contemporaneous dependence, destroys all serial dependence.
* :class:`BlockBootstrapGenerator` — the stationary bootstrap (Politis & Romano 1994): blocks of consecutive days with
  geometric lengths of mean :math:`b`, chosen by the Politis–White (2004) rule. Keeps serial dependence up to about
  :math:`b` days.
* :class:`GaussianGenerator` — days i.i.d. :math:`\mathcal N(\hat\mu, \hat\Sigma)`: the first two moments only.
* :class:`GARCHGenerator` — per feature an AR(1) (or constant) mean with GARCH(1,1) variance and standardised
  Student-t innovations, fitted with :func:`arch.arch_model`; the innovations of the features are joined by a
  Gaussian copula with a constant correlation (CCC, Bollerslev 1990):

  .. math::

     x_{j,t} = \mu_j + \phi_j x_{j,t-1} + \sigma_{j,t} z_{j,t}, \qquad
     \sigma^2_{j,t} = \omega_j + \alpha_j \sigma^2_{j,t-1} z^2_{j,t-1} + \beta_j \sigma^2_{j,t-1},

  :math:`z_{j,t} = \sqrt{(\nu_j-2)/\nu_j}\, F^{-1}_{\nu_j}(\Phi(g_{j,t}))` with :math:`g_t \sim \mathcal N(0, R)`.

All four follow :class:`~latentquant.models.generative.BaseGenerator`: ``fit`` on a series or on windows, ``sample(n,
seed=...)`` → float64 ``(n, length, F)`` in the units of the data, ``save``/``load``.

References
----------
Politis, D. N. & Romano, J. P. (1994). The stationary bootstrap. *JASA* 89(428), 1303–1313.
Politis, D. N. & White, H. (2004). Automatic block-length selection for the dependent bootstrap. *Econometric
Reviews* 23(1), 53–70 (and the 2009 correction by Patton, Politis & White).
Bollerslev, T. (1986). Generalized autoregressive conditional heteroskedasticity. *J. Econometrics* 31, 307–327.
Bollerslev, T. (1990). Modelling the coherence in short-run nominal exchange rates: a multivariate generalized ARCH
model. *Rev. Econ. Stat.* 72(3), 498–505.
"""

from __future__ import annotations

import warnings
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from latentquant._math import stationary_bootstrap_indices
from latentquant.models.generative._base import BaseGenerator
from latentquant.training.trainer import History
from latentquant.validation import Constraint, Interval, Options, check_arg

__all__ = [
    "BlockBootstrapGenerator",
    "BootstrapGenerator",
    "GaussianGenerator",
    "politis_white_block_length",
    "stationary_segment_indices",
]


# ----------------------------------------------------------------------------------------------------------------------
# small pure functions
# ----------------------------------------------------------------------------------------------------------------------
def stationary_segment_indices(bounds: np.ndarray, n: int, length: int, block: float,
                               rng: np.random.Generator) -> np.ndarray:
    """Row indices ``(n, length)`` of stationary-bootstrap paths whose blocks never cross a segment boundary.

    A block starts at a uniformly drawn row, has a geometric length of mean ``block`` and wraps around inside the
    segment it started in. With one segment this is :func:`latentquant._math.stationary_bootstrap_indices` (circular
    over the whole series), which it calls.

    Parameters
    ----------
    bounds : numpy.ndarray
        Segment boundaries ``(n_segments + 1,)``: segment ``k`` is rows ``bounds[k]:bounds[k + 1]``.
    n : int
        Number of paths.
    length : int
        Length of each path.
    block : float
        Mean block length (>= 1).
    rng : numpy.random.Generator
        The random stream.

    Returns
    -------
    numpy.ndarray
        int64 ``(n, length)`` row indices into the segments.

    Examples
    --------
    >>> bounds = np.array([0, 5, 10])  # two segments of 5 rows
    >>> idx = stationary_segment_indices(bounds, 200, 12, 1e9, np.random.default_rng(0))  # one block per path
    >>> idx.shape, bool(((idx >= 5) == (idx[:, :1] >= 5)).all())  # every path stays in its segment, wrapping
    ((200, 12), True)
    >>> idx[0].tolist()
    [5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 5, 6]
    """
    bounds = np.asarray(bounds, dtype=np.int64)
    total = int(bounds[-1])
    if len(bounds) == 2:
        chunks = stationary_bootstrap_indices(total, n, block, rng, chunk_cells=max(1, n * length), length=length)
        return np.concatenate(list(chunks)).astype(np.int64)
    # the same draws as stationary_bootstrap_indices (new-block flags, then starts), wrapped per segment
    steps = np.arange(length)
    new_block = rng.random((n, length)) < 1.0 / block
    new_block[:, 0] = True
    starts = rng.integers(0, total, size=(n, length))
    last = np.maximum.accumulate(np.where(new_block, steps, 0), axis=1)
    start = np.take_along_axis(starts, last, axis=1)
    segment = np.searchsorted(bounds, start, side="right") - 1
    lo, size = bounds[segment], np.diff(bounds)[segment]
    return (lo + (start - lo + steps - last) % size).astype(np.int64)


def politis_white_block_length(data: np.ndarray, rule: str = "levels") -> pd.DataFrame:
    """Politis–White optimal mean block lengths of the stationary bootstrap, per feature, from
    :func:`arch.bootstrap.optimal_block_length`.

    Parameters
    ----------
    data : numpy.ndarray
        A series ``(T, F)``.
    rule : {"levels", "squares", "max"}, default "levels"
        Which columns of the result the caller will use (all are computed); documented in
        :class:`BlockBootstrapGenerator`.

    Returns
    -------
    pandas.DataFrame
        One row per feature, columns ``levels`` (the rule on the series) and ``squares`` (on the squared demeaned
        series, i.e. on the volatility dependence), and ``chosen``: the column ``rule`` names, or the larger of the
        two for ``"max"``; every value at least 1.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ar = np.zeros(2000)
    >>> for t in range(1, 2000):
    ...     ar[t] = 0.8 * ar[t - 1] + rng.normal()
    >>> table = politis_white_block_length(np.c_[ar, rng.normal(size=2000)])
    >>> bool(table["levels"].iloc[0] > 5 * table["levels"].iloc[1]), list(table.columns)
    (True, ['levels', 'squares', 'chosen'])
    """
    from arch.bootstrap import optimal_block_length

    check_arg("rule", rule, Options("levels", "squares", "max"))
    x = np.asarray(data, dtype=np.float64)
    with warnings.catch_warnings():  # a constant column divides 0 by 0 inside arch: it gets block length 1
        warnings.simplefilter("ignore", RuntimeWarning)
        levels = optimal_block_length(x)["stationary"].to_numpy(dtype=np.float64)
        squares = optimal_block_length((x - x.mean(axis=0)) ** 2)["stationary"].to_numpy(dtype=np.float64)
    table = pd.DataFrame({"levels": levels, "squares": squares})
    table = table.fillna(1.0).clip(lower=1.0)
    table["chosen"] = table.max(axis=1) if rule == "max" else table[rule]
    return table


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """A square root ``A`` with ``A @ A.T == matrix`` of a symmetric positive semi-definite matrix (eigenvalues
    clipped at 0, so a singular covariance of collinear features still samples)."""
    w, v = np.linalg.eigh(matrix)
    return v * np.sqrt(np.clip(w, 0.0, None))  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------------------------------------------------
# bootstraps
# ----------------------------------------------------------------------------------------------------------------------
class BootstrapGenerator(BaseGenerator):
    """I.i.d. bootstrap of days: every synthetic day is a day of the history, all features of that day together.

    Keeps each day's cross-section (the correlation of the features) and the marginal distributions exactly; destroys
    all serial dependence (volatility clustering, autocorrelation). With windows fitted, every observed day counts
    once however many windows hold it.

    Parameters
    ----------
    length : int, optional
        Length of the sampled windows; ``None`` takes the fitted windows' length (the series length for a series).
    seed : int, optional
        Starts the stream ``sample(n)`` draws from when it gets no ``seed``.

    Attributes
    ----------
    data_ : numpy.ndarray
        The observed days ``(T, F)`` (segments one after the other).
    history_ : History
        Empty: nothing is estimated.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> days = rng.normal(size=(250, 3))
    >>> model = BootstrapGenerator(length=20).fit(days)
    >>> windows = model.sample(5, seed=0)
    >>> windows.shape, bool(np.isin(windows[0, 0], days).all())
    ((5, 20, 3), True)
    """

    def __init__(self, length: int | None = None, *, seed: int | None = None) -> None:
        self.length = length
        self.seed = seed

    def _fit(self, data: np.ndarray, bounds: np.ndarray) -> None:
        self.data_ = data
        self.history_ = History()

    def _sample(self, n: int, length: int, rng: np.random.Generator, condition: Any) -> np.ndarray:
        return self.data_[rng.integers(0, self.data_.shape[0], size=(n, length))]  # type: ignore[no-any-return]


class BlockBootstrapGenerator(BaseGenerator):
    """Stationary block bootstrap of days (Politis & Romano 1994) with the Politis–White block length.

    A synthetic window is made of blocks of consecutive observed days (all features together); each block starts at
    a uniformly drawn day and has a geometric length of mean ``block_length_``. A block wraps around inside its
    segment, so it never joins two unrelated windows (see :mod:`latentquant.models.generative._base`).

    **Block length.** ``block_length=None`` applies the Politis–White rule (:func:`arch.bootstrap.optimal_block_length`,
    its stationary-bootstrap column) to every feature and takes the **largest** value, so that the most persistent
    feature keeps its dependence (one block length for all: days are resampled together). ``block_rule`` says what
    the rule reads: ``"levels"`` the series as given (the textbook use; on daily returns, which are nearly
    uncorrelated, it gives short blocks, about 9 days on the S&P 500 2000–2018), ``"squares"`` the squared demeaned
    series, i.e. the volatility clustering (about 130 days on the same data), ``"max"`` the larger of the two. Segments
    are read one after the other for the rule.

    Parameters
    ----------
    block_length : float, optional
        Mean block length in days (>= 1); ``None`` chooses it with the Politis–White rule.
    block_rule : {"levels", "squares", "max"}, default "levels"
        What the rule is applied to when ``block_length`` is ``None``.
    length : int, optional
        Length of the sampled windows; ``None`` takes the fitted windows' length (the series length for a series).
    seed : int, optional
        Starts the stream ``sample(n)`` draws from when it gets no ``seed``.

    Attributes
    ----------
    block_length_ : float
        The mean block length used.
    block_lengths_ : pandas.DataFrame or None
        The rule's values per feature (see :func:`politis_white_block_length`); ``None`` when ``block_length`` was
        given.
    data_ : numpy.ndarray
        The observed days ``(T, F)``.
    history_ : History
        Empty: nothing is estimated by likelihood.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> days = rng.normal(size=(500, 2))
    >>> model = BlockBootstrapGenerator(block_length=10.0, length=50).fit(days)
    >>> model.sample(3, seed=0).shape, model.block_length_
    ((3, 50, 2), 10.0)
    >>> BlockBootstrapGenerator(block_rule="levels").fit(days).block_length_ >= 1.0
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "block_length": [Interval(Real, 1, None), None],
        "block_rule": [Options("levels", "squares", "max")],
    }

    def __init__(self, block_length: float | None = None, *, block_rule: str = "levels", length: int | None = None,
                 seed: int | None = None) -> None:
        self.block_length = block_length
        self.block_rule = block_rule
        self.length = length
        self.seed = seed

    def _required_rows(self, n_features: int) -> int:
        return 2 if self.block_length is not None else 10  # the Politis–White rule needs a few autocorrelations

    def _fit(self, data: np.ndarray, bounds: np.ndarray) -> None:
        self.data_ = data
        if self.block_length is None:
            table = politis_white_block_length(data, self.block_rule)
            table.index = pd.Index(self.feature_names_, name="feature")
            self.block_lengths_: pd.DataFrame | None = table
            self.block_length_ = float(table["chosen"].max())
        else:
            self.block_lengths_ = None
            self.block_length_ = float(self.block_length)
        self.history_ = History()

    def _sample(self, n: int, length: int, rng: np.random.Generator, condition: Any) -> np.ndarray:
        idx = stationary_segment_indices(self.segment_bounds_, n, length, self.block_length_, rng)
        return self.data_[idx]  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------------------------------------------------
# parametric
# ----------------------------------------------------------------------------------------------------------------------
class GaussianGenerator(BaseGenerator):
    r"""Days i.i.d. from a multivariate normal :math:`\mathcal N(\hat\mu, \hat\Sigma)` fitted to the observed days.

    :math:`\hat\mu` is the sample mean and :math:`\hat\Sigma` the sample covariance (``ddof=1``) of the days (each
    day once, see the module docstring of :mod:`latentquant.models.generative._base`). No fat tails, no serial
    dependence: the floor every model should clear.

    Parameters
    ----------
    length : int, optional
        Length of the sampled windows; ``None`` takes the fitted windows' length (the series length for a series).
    seed : int, optional
        Starts the stream ``sample(n)`` draws from when it gets no ``seed``.

    Attributes
    ----------
    mean_ : numpy.ndarray
        :math:`\hat\mu`, ``(F,)``.
    covariance_ : numpy.ndarray
        :math:`\hat\Sigma`, ``(F, F)``.
    history_ : History
        ``train_loss``: the mean negative log-likelihood per day.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> days = rng.multivariate_normal([0.0, 1.0], [[1.0, 0.5], [0.5, 2.0]], size=5000)
    >>> model = GaussianGenerator(length=10).fit(days)
    >>> np.round(model.covariance_, 1).tolist()
    [[1.0, 0.5], [0.5, 2.0]]
    >>> model.sample(2, seed=0).shape
    (2, 10, 2)
    """

    def __init__(self, length: int | None = None, *, seed: int | None = None) -> None:
        self.length = length
        self.seed = seed

    def _required_rows(self, n_features: int) -> int:
        return n_features + 1  # a covariance of full rank

    def _fit(self, data: np.ndarray, bounds: np.ndarray) -> None:
        self.mean_ = data.mean(axis=0)
        self.covariance_ = np.atleast_2d(np.cov(data, rowvar=False, ddof=1))
        w, v = np.linalg.eigh(self.covariance_)
        w = np.clip(w, max(float(w.max()), 1e-300) * 1e-12, None)
        centred = (data - self.mean_) @ v
        nll = 0.5 * (np.log(2 * np.pi * w).sum() + (centred**2 / w).sum(axis=1).mean())
        self.history_ = History({"train_loss": [float(nll)]})

    def _sample(self, n: int, length: int, rng: np.random.Generator, condition: Any) -> np.ndarray:
        z = rng.standard_normal((n, length, self.n_features_in_))
        return z @ _sqrt_psd(self.covariance_).T + self.mean_  # type: ignore[no-any-return]
