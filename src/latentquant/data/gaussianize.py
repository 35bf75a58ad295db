r"""Heavy-tailed Lambert W × Gaussian transform (Goerg 2011, 2015), fitted on a training span only: the inverse
Tukey-h transform that Gaussianizes returns before a model that expects light tails (QuantGAN's preprocessing).

A heavy-tailed Lambert W × Gaussian variable is :math:`Y = \mu + \sigma Z`, :math:`Z = U e^{\delta U^2 / 2}`,
:math:`U \sim \mathcal N(0, 1)`, :math:`\delta \ge 0`. Its inverse is closed form with the principal branch
:math:`W` of the Lambert W function,

.. math::

   W_\delta(z) = \operatorname{sign}(z) \sqrt{W(\delta z^2) / \delta},

so :math:`x = \mu + \sigma W_\delta((y - \mu)/\sigma)` is Gaussian when the model holds. :math:`(\mu, \sigma,
\delta)` are estimated by Goerg's iterative generalised method of moments (IGMM): standardise with the current
:math:`(\mu, \sigma)`, choose :math:`\delta` so that the back-transformed values have a kurtosis of 3, and update
:math:`(\mu, \sigma)` to the mean and standard deviation of the back-transformed data, until nothing moves.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import lambertw
from scipy.stats import kurtosis

from latentquant.base import BaseModel
from latentquant.exceptions import ConfigError, ConvergenceWarning, DataValidationError
from latentquant.validation import Constraint, Interval, check_frame

__all__ = ["LambertWGaussianizer", "lambert_w_tail"]

_MAX_DELTA = 5.0  # beyond it the variance is infinite (delta >= 1) many times over: a bound for the search


def lambert_w_tail(z: Any, delta: float) -> np.ndarray:
    r"""The inverse heavy-tail transform :math:`W_\delta(z) = \operatorname{sign}(z)\sqrt{W(\delta z^2)/\delta}`
    (the identity at :math:`\delta = 0`).

    Parameters
    ----------
    z : array-like
        Standardised values.
    delta : float
        Tail parameter :math:`\delta \ge 0`.

    Returns
    -------
    numpy.ndarray
        Values of :math:`u` with :math:`z = u e^{\delta u^2/2}`.

    Examples
    --------
    >>> u = np.array([-2.0, 0.5, 3.0])
    >>> np.allclose(lambert_w_tail(u * np.exp(0.3 * u**2 / 2), 0.3), u)
    True
    """
    arr = np.asarray(z, dtype=np.float64)
    if delta <= 0:
        return arr.copy()
    return np.sign(arr) * np.sqrt(np.real(lambertw(delta * arr**2)) / delta)  # type: ignore[no-any-return]


def _delta_for_kurtosis_3(z: np.ndarray) -> float:
    """The :math:`\\delta \\ge 0` whose :math:`W_\\delta(z)` has a kurtosis of 3 (0 when ``z`` has no excess)."""
    if kurtosis(z, fisher=True) <= 0:
        return 0.0

    def loss(log_delta: float) -> float:
        return float(kurtosis(lambert_w_tail(z, np.exp(log_delta)), fisher=True) ** 2)

    res = minimize_scalar(loss, bounds=(np.log(1e-6), np.log(_MAX_DELTA)), method="bounded",
                          options={"xatol": 1e-6})
    return float(np.exp(res.x))


class LambertWGaussianizer(BaseModel):
    """Per-column heavy-tailed Lambert W × Gaussian transform: ``transform`` Gaussianizes, ``inverse_transform``
    puts the heavy tails back (module docstring). Fit it on the training span only.

    Parameters
    ----------
    max_iter : int, default 100
        IGMM iterations at most.
    tol : float, default 1e-8
        Stop when :math:`(\\mu, \\sigma, \\delta)` move less than this (relative for :math:`\\sigma`).

    Attributes
    ----------
    mu_, sigma_, delta_ : pandas.Series
        The estimates per column: location, scale and tail parameter (0: no excess kurtosis).
    n_iter_ : int
        IGMM iterations of the slowest column.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> u = rng.standard_normal(20_000)
    >>> y = pd.DataFrame({"r": 0.0005 + 0.01 * u * np.exp(0.2 * u**2 / 2)})  # heavy-tailed, delta = 0.2
    >>> g = LambertWGaussianizer().fit(y)
    >>> round(float(g.delta_["r"]), 2), round(float(g.transform(y)["r"].kurt()), 1)
    (0.2, 0.0)
    >>> bool(np.allclose(g.inverse_transform(g.transform(y)), y))
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "max_iter": [Interval(Integral, 1, None)],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }
    _fit_hint = "call fit(train_data) first"

    def __init__(self, *, max_iter: int = 100, tol: float = 1e-8) -> None:
        self.max_iter = max_iter
        self.tol = tol

    def _fit_column(self, y: np.ndarray, name: Any) -> tuple[float, float, float, int]:
        mu, sigma, delta = float(np.median(y)), float(y.std(ddof=1)), 0.0
        for it in range(1, int(self.max_iter) + 1):
            delta_new = _delta_for_kurtosis_3((y - mu) / sigma)
            x = mu + sigma * lambert_w_tail((y - mu) / sigma, delta_new)
            mu_new, sigma_new = float(x.mean()), float(x.std(ddof=1))
            moved = max(abs(mu_new - mu) / sigma, abs(sigma_new / sigma - 1.0), abs(delta_new - delta))
            mu, sigma, delta = mu_new, sigma_new, delta_new
            if moved < self.tol:
                return mu, sigma, delta, it
        warnings.warn(f"LambertWGaussianizer: column {name!r} did not converge in {self.max_iter} IGMM iterations; "
                      "raise max_iter.", ConvergenceWarning, stacklevel=3)
        return mu, sigma, delta, int(self.max_iter)

    def fit(self, X: pd.DataFrame, y: Any = None) -> LambertWGaussianizer:
        """Estimate :math:`(\\mu, \\sigma, \\delta)` of every column of the training rows ``X`` by IGMM."""
        self._check_params()
        data = check_frame(X, name="X", min_rows=20, require_datetime_index=False)
        fits, iters = {}, []
        for col in data.columns:
            y_col = data[col].to_numpy(dtype=np.float64)
            if not y_col.std() > 0:
                raise DataValidationError(f"X column {col!r} is constant on the training span; drop it.")
            *fit, it = self._fit_column(y_col, col)
            fits[col] = fit
            iters.append(it)
        table = pd.DataFrame(fits, index=["mu", "sigma", "delta"]).T
        self.mu_, self.sigma_, self.delta_ = (table[c].astype(np.float64) for c in ("mu", "sigma", "delta"))
        self.n_iter_ = int(max(iters))
        self.n_features_in_ = data.shape[1]
        self.feature_names_in_ = np.asarray(data.columns, dtype=object)
        return self

    def _check(self, X: Any) -> pd.DataFrame:
        self._check_fitted()
        data = check_frame(X, name="X", require_datetime_index=False)
        if list(data.columns) != list(self.feature_names_in_):
            raise DataValidationError(f"X has columns {list(data.columns)[:5]} but the LambertWGaussianizer was "
                                      f"fitted on {list(self.feature_names_in_)[:5]}; pass the same columns in the "
                                      "same order.")
        return data

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Gaussianize: :math:`\\mu + \\sigma W_\\delta((y - \\mu)/\\sigma)` per column."""
        data = self._check(X)
        out = {c: self.mu_[c] + self.sigma_[c] * lambert_w_tail((data[c] - self.mu_[c]) / self.sigma_[c],
                                                                  float(self.delta_[c])) for c in data.columns}
        return pd.DataFrame(out, index=data.index)

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        """:meth:`fit` on ``X``, then :meth:`transform` it."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Put the heavy tails back: :math:`\\mu + \\sigma u e^{\\delta u^2/2}`, :math:`u = (x - \\mu)/\\sigma`."""
        data = self._check(X)
        out = {}
        for c in data.columns:
            u = (data[c].to_numpy(dtype=np.float64) - self.mu_[c]) / self.sigma_[c]
            with np.errstate(over="ignore"):
                z = u * np.exp(float(self.delta_[c]) * u * u / 2.0)
            if not np.isfinite(z).all():
                raise ConfigError(f"inverse_transform: column {c!r} has values too far in the tail for "
                                  f"delta = {float(self.delta_[c]):.3g} (the result overflows float64).")
            out[c] = self.mu_[c] + self.sigma_[c] * z
        return pd.DataFrame(out, index=data.index)
