r"""GARCH(1,1)-t per feature with a constant-correlation Gaussian copula (CCC), fitted with the ``arch`` package.

.. math::

   x_{j,t} = \mu_j + \phi_j x_{j,t-1} + \sigma_{j,t} z_{j,t}, \qquad
   \sigma^2_{j,t} = \omega_j + \alpha_j \sigma^2_{j,t-1} z^2_{j,t-1} + \beta_j \sigma^2_{j,t-1},

:math:`z_{j,t} = \sqrt{(\nu_j-2)/\nu_j}\, F^{-1}_{\nu_j}(\Phi(g_{j,t}))` with :math:`g_t \sim \mathcal N(0, R)`
(Bollerslev 1986, 1990). One of the baselines of :mod:`latentquant.models.generative.baselines`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri, stdtr, stdtrit
from scipy.stats import t as student_t

from latentquant.exceptions import ConvergenceWarning, DataValidationError
from latentquant.models.generative._base import BaseGenerator
from latentquant.models.generative.baselines import _sqrt_psd
from latentquant.training.trainer import History
from latentquant.validation import Constraint, Interval, Options, check_arg

__all__ = ["GARCHGenerator"]


def _t_to_normal(z: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """Normal scores :math:`\\Phi^{-1}(F_\\nu(z\\sqrt{\\nu/(\\nu-2)}))` of standardised-t values, computed on the
    lower tail of each side so that extreme values stay finite."""
    u = stdtr(nu, -np.abs(z) * np.sqrt(nu / (nu - 2.0)))
    return -np.sign(z) * ndtri(np.clip(u, 1e-300, 0.5))  # type: ignore[no-any-return]


def _normal_to_t(g: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """Standardised Student-t (unit variance) values with the normal scores ``g`` (inverse of :func:`_t_to_normal`),
    on the lower tail of each side so that ``|g| > 8`` does not round to an infinite quantile."""
    u = np.clip(ndtr(-np.abs(g)), 1e-200, 0.5)  # ndtr(-38) underflows to 0 and stdtrit(nu < 5, 1e-250) to -inf
    return -np.sign(g) * stdtrit(nu, u) * np.sqrt((nu - 2.0) / nu)  # type: ignore[no-any-return]


#: normal scores where the copula's t quantiles are tabulated: a step of 0.001 keeps linear interpolation within
#: 1e-5 (relative) of the exact quantile for every nu > 2; scores outside (probability 1e-15) are computed exactly
_GRID = np.linspace(-8.0, 8.0, 16001)


def _normal_to_t_interpolated(g: np.ndarray, nu: np.ndarray, table: np.ndarray) -> np.ndarray:
    """:func:`_normal_to_t` of ``g`` ``(n, F)`` by linear interpolation in ``table = _normal_to_t(_GRID[:, None],
    nu)`` ``(len(_GRID), F)``: the grid is uniform, so the cell is found by arithmetic (about 25 ns a value, against
    0.5 µs for the exact quantile and 150 ns for ``np.interp``'s binary search)."""
    size = len(_GRID)
    flat = np.ascontiguousarray(table.T).ravel()
    pos = (g - _GRID[0]) * ((size - 1) / (_GRID[-1] - _GRID[0]))
    np.clip(pos, 0.0, size - 1.000001, out=pos)
    cell = pos.astype(np.intp)
    weight = pos - cell
    cell += np.arange(g.shape[1]) * size
    left, right = flat.take(cell), flat.take(cell + 1)
    out = left + weight * (right - left)
    rows, cols = np.nonzero(np.abs(g) > _GRID[-1])
    if rows.size:
        out[rows, cols] = _normal_to_t(g[rows, cols], nu[cols])
    return out  # type: ignore[no-any-return]


class GARCHGenerator(BaseGenerator):
    r"""GARCH(1,1)-t per feature with a constant conditional correlation (CCC) through a Gaussian copula.

    Each feature :math:`j` is fitted separately with :func:`arch.arch_model` (``mean="AR"`` with one lag, or
    ``"Constant"``; ``vol="GARCH"``, ``p=q=1``; ``dist="t"``, the standardised Student-t):

    .. math::

       x_{j,t} = \mu_j + \phi_j x_{j,t-1} + \varepsilon_{j,t}, \quad \varepsilon_{j,t} = \sigma_{j,t} z_{j,t}, \quad
       \sigma^2_{j,t} = \omega_j + \alpha_j \varepsilon^2_{j,t-1} + \beta_j \sigma^2_{j,t-1}.

    The series is rescaled to unit standard deviation for arch's optimiser and the estimates are mapped back
    (:math:`\mu/s`, :math:`\omega/s^2`), so ``params_`` is in the units of the data. The standardised residuals
    :math:`\hat z_{j,t}` are turned into normal scores :math:`\Phi^{-1}(F_{\nu_j}(\hat z_{j,t}))`; their correlation
    matrix :math:`R` (``correlation_``) joins the features (a Gaussian copula with Student-t marginals, each feature
    keeping its own :math:`\nu_j`; a multivariate t would force one :math:`\nu` on all). Segments are read one after
    the other.

    Sampling runs the recursion with NumPy for all ``n`` paths at once: it starts at the unconditional mean and
    variance (the sample values where the fit is not stationary), runs ``burn`` days that are thrown away, then
    ``length`` days that are kept.

    Parameters
    ----------
    mean : {"AR", "Constant"}, default "AR"
        The conditional mean: AR(1) (useful for persistent features such as a log variance) or a constant.
    burn : int, default 500
        Days simulated and dropped before each window, so that the variance state is drawn from its stationary
        distribution rather than fixed at its mean.
    length : int, optional
        Length of the sampled windows; ``None`` takes the fitted windows' length (the series length for a series).
    seed : int, optional
        Starts the stream ``sample(n)`` draws from when it gets no ``seed``.

    Attributes
    ----------
    params_ : pandas.DataFrame
        One row per feature, columns ``mu, phi, omega, alpha, beta, nu`` in the units of the data (``phi`` is 0 for
        ``mean="Constant"``).
    std_errors_ : pandas.DataFrame
        arch's robust standard errors of ``params_``, in the same units (NaN for ``phi`` with a constant mean).
    correlation_ : numpy.ndarray
        :math:`R`, ``(F, F)``.
    initial_mean_, initial_variance_ : numpy.ndarray
        Where each path starts, ``(F,)``.
    scale_ : numpy.ndarray
        The factors :math:`s_j` the features were multiplied by for the optimiser, ``(F,)``.
    history_ : History
        ``train_loss`` (mean negative log-likelihood per observation, over the features, in the units of the data)
        and ``train_nll_<feature>`` for each feature.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> omega, alpha, beta = 0.05, 0.1, 0.85
    >>> x, s2, e = np.zeros(2000), omega / (1 - alpha - beta), 0.0
    >>> for t in range(2000):
    ...     s2 = omega + alpha * e**2 + beta * s2
    ...     e = np.sqrt(s2) * rng.standard_t(8) * np.sqrt(6 / 8)
    ...     x[t] = e
    >>> model = GARCHGenerator(mean="Constant", length=100).fit(x.reshape(-1, 1))
    >>> list(model.params_.columns)
    ['mu', 'phi', 'omega', 'alpha', 'beta', 'nu']
    >>> model.sample(3, seed=0).shape
    (3, 100, 1)

    References
    ----------
    Bollerslev, T. (1986). Generalized autoregressive conditional heteroskedasticity. *J. Econometrics* 31, 307–327.
    Bollerslev, T. (1990). Modelling the coherence in short-run nominal exchange rates. *Rev. Econ. Stat.* 72,
    498–505.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "mean": [Options("AR", "Constant")],
        "burn": [Interval(Integral, 0, None)],
    }
    _min_rows: ClassVar[int] = 100

    def __init__(self, mean: str = "AR", *, burn: int = 500, length: int | None = None,
                 seed: int | None = None) -> None:
        self.mean = mean
        self.burn = burn
        self.length = length
        self.seed = seed

    def _fit(self, data: np.ndarray, bounds: np.ndarray) -> None:
        from arch import arch_model

        n_features = data.shape[1]
        rows, errors, scores, nlls = [], [], [], {}
        initial_mean, initial_variance, scales = np.empty(n_features), np.empty(n_features), np.empty(n_features)
        for j, name in enumerate(self.feature_names_):
            x = data[:, j]
            sd = float(x.std())
            if not sd > 0:
                raise DataValidationError(f"GARCHGenerator: feature {name!r} is constant ({float(x[0])!r}); a GARCH "
                                          "model needs a varying series: drop the feature.")
            scale = 1.0 / sd  # unit variance: the range arch's optimiser is tuned for
            lags = 1 if self.mean == "AR" else 0
            model = arch_model(x * scale, mean="AR" if lags else "Constant", lags=lags or None, vol="GARCH",
                               p=1, q=1, dist="t", rescale=False)
            result = model.fit(disp="off", show_warning=False)
            if result.convergence_flag != 0:
                warnings.warn(f"GARCHGenerator: the GARCH fit of feature {name!r} did not converge "
                              f"({result.optimization_result.message}); its parameters may be unreliable.",
                              ConvergenceWarning, stacklevel=3)
            p = result.params.to_numpy()
            mu, phi = (p[0], p[1]) if lags else (p[0], 0.0)
            omega, alpha, beta, nu = p[-4:]
            rows.append([mu / scale, phi, omega / scale**2, alpha, beta, nu])
            se = result.std_err.to_numpy()
            se_mu, se_phi = (se[0], se[1]) if lags else (se[0], np.nan)
            errors.append([se_mu / scale, se_phi, se[-4] / scale**2, *se[-3:]])
            z = np.asarray(result.std_resid, dtype=np.float64)
            scores.append(_t_to_normal(z, np.array([nu], dtype=np.float64)))
            resid = np.asarray(result.resid, dtype=np.float64) / scale
            initial_mean[j] = mu / scale / (1 - phi) if abs(phi) < 1 else x.mean()
            initial_variance[j] = (omega / scale**2 / (1 - alpha - beta) if alpha + beta < 1
                                   else np.nanvar(resid))
            scales[j] = scale
            # log-likelihood of x, not of x * scale: add the Jacobian log|s| per observation
            nlls[name] = -(float(result.loglikelihood) + result.nobs * np.log(scale)) / result.nobs
        index = pd.Index(self.feature_names_, name="feature")
        columns = ["mu", "phi", "omega", "alpha", "beta", "nu"]
        self.params_ = pd.DataFrame(rows, index=index, columns=columns)
        self.std_errors_ = pd.DataFrame(errors, index=index, columns=columns)
        normal_scores = np.column_stack(scores)
        normal_scores = normal_scores[np.isfinite(normal_scores).all(axis=1)]  # AR(1): the first day has no residual
        self.correlation_ = (np.corrcoef(normal_scores, rowvar=False).reshape(n_features, n_features)
                             if n_features > 1 else np.ones((1, 1)))
        self.initial_mean_ = initial_mean
        self.initial_variance_ = initial_variance
        self.scale_ = scales
        history = History({"train_loss": [float(np.mean(list(nlls.values())))]})
        for name, value in nlls.items():
            history[f"train_nll_{name}"] = [float(value)]
        self.history_ = history

    def _innovations(self, n: int, rng: np.random.Generator, root: np.ndarray, nu: np.ndarray,
                     table: np.ndarray) -> np.ndarray:
        """One day of standardised-t innovations ``(n, F)`` with the Gaussian copula ``R = root @ root.T``
        (``table``: the tabulated quantiles, see :func:`_normal_to_t_interpolated`)."""
        if self.n_features_in_ == 1:  # no copula to apply: draw the t directly
            return rng.standard_t(nu[0], size=(n, 1)) * np.sqrt((nu - 2.0) / nu)
        return _normal_to_t_interpolated(rng.standard_normal((n, self.n_features_in_)) @ root.T, nu, table)

    def _sample(self, n: int, length: int, rng: np.random.Generator, condition: Any) -> np.ndarray:
        p = {c: self.params_[c].to_numpy(dtype=np.float64) for c in self.params_.columns}
        root = _sqrt_psd(self.correlation_)
        table = _normal_to_t(_GRID[:, None], p["nu"])
        x = np.broadcast_to(self.initial_mean_, (n, self.n_features_in_)).copy()
        sigma2 = np.broadcast_to(self.initial_variance_, (n, self.n_features_in_)).copy()
        eps2 = sigma2.copy()
        out = np.empty((n, length, self.n_features_in_))
        for t in range(self.burn + length):
            sigma2 = p["omega"] + p["alpha"] * eps2 + p["beta"] * sigma2
            eps = np.sqrt(sigma2) * self._innovations(n, rng, root, p["nu"], table)
            x = p["mu"] + p["phi"] * x + eps
            eps2 = eps * eps
            if t >= self.burn:
                out[:, t - self.burn] = x
        return out

    # ------------------------------------------------------------------------------------------------ forecasts
    def forecast(self, data: Any, *, feature: int | str | None = None, p: float = 0.01) -> pd.DataFrame:
        r"""One-day-ahead forecasts of one feature along ``data`` with the fitted parameters: each row's conditional
        mean, volatility, VaR and ES use the rows before it only.

        The recursion starts at ``initial_mean_`` / ``initial_variance_`` and runs through ``data`` (pass the
        training span followed by the evaluation span, so that the variance state is warm where it is scored):
        :math:`m_t = \mu + \phi x_{t-1}`, :math:`\sigma^2_t = \omega + \alpha\varepsilon^2_{t-1} + \beta
        \sigma^2_{t-1}`, and with the standardised Student-t quantile :math:`q = s\,t_\nu^{-1}(p)`,
        :math:`s = \sqrt{(\nu-2)/\nu}`,

        .. math::

           \mathrm{VaR}_t = -(m_t + \sigma_t q), \qquad
           \mathrm{ES}_t = -m_t + \sigma_t\, s\, \frac{f_\nu(t_\nu^{-1}(p))}{p}\,
           \frac{\nu + t_\nu^{-1}(p)^2}{\nu - 1}

        (positive losses at tail probability ``p``, the conventions of :mod:`latentquant.evaluation.var_backtest`).

        Parameters
        ----------
        data : pandas.DataFrame, pandas.Series or array-like
            Rows in time order, in the units of the fit: a table with the fitted features, or one series.
        feature : int or str, optional
            The feature forecast (name or position; default: a Series' own name when it is a fitted feature, else
            the first feature). A table's column is found by the feature's name.
        p : float
            Tail probability of the VaR and ES.

        Returns
        -------
        pandas.DataFrame
            Columns ``mean``, ``vol``, ``var``, ``es``; the index of ``data``.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> model = GARCHGenerator(mean="Constant", length=20).fit(rng.standard_t(6, size=(1500, 1)) * 0.01)
        >>> f = model.forecast(rng.standard_t(6, size=300) * 0.01, p=0.05)
        >>> list(f.columns), bool((f["es"] > f["var"]).all())
        (['mean', 'vol', 'var', 'es'], True)
        """
        check_arg("p", p, Interval(Real, 0, 0.5, closed="neither"), owner="GARCHGenerator.forecast")
        x, index, j = self._forecast_series(data, feature, "GARCHGenerator.forecast")
        mu, phi, omega, alpha, beta, nu = self.params_.iloc[j].to_numpy(dtype=np.float64)
        n = x.size
        mean, var = np.empty(n), np.empty(n)
        prev_x, sigma2 = float(self.initial_mean_[j]), float(self.initial_variance_[j])
        eps2 = sigma2
        for t in range(n):
            sigma2 = omega + alpha * eps2 + beta * sigma2
            mean[t], var[t] = mu + phi * prev_x, sigma2
            eps2 = (x[t] - mean[t]) ** 2
            prev_x = x[t]
        vol = np.sqrt(var)
        s = np.sqrt((nu - 2.0) / nu)
        q = float(stdtrit(nu, p))
        tail_mean = float(student_t.pdf(q, nu)) / p * (nu + q * q) / (nu - 1.0)  # -E[T | T <= q]
        return pd.DataFrame({"mean": mean, "vol": vol, "var": -(mean + vol * s * q), "es": -mean + vol * s * tail_mean},
                            index=index)

    def forecast_draws(self, data: Any, n_draws: int, *, feature: int | str | None = None,
                       seed: int | np.random.Generator | None = None) -> np.ndarray:
        r"""Draws from each row's one-day-ahead forecast distribution :math:`m_t + \sigma_t z`, :math:`z` the
        standardised Student-t (the null distribution of a backtest, e.g. ``null_draws`` of
        :func:`~latentquant.evaluation.var_backtest.acerbi_szekely_z2`).

        Parameters
        ----------
        data : pandas.DataFrame, pandas.Series or array-like
            As for :meth:`forecast`.
        n_draws : int
            Simulated histories.
        feature : int or str, optional
            The feature, as for :meth:`forecast`.
        seed : int or numpy.random.Generator, optional
            Same seed, same draws.

        Returns
        -------
        numpy.ndarray
            ``(n_draws, len(data))``.
        """
        check_arg("n_draws", n_draws, Interval(Integral, 1, None), owner="GARCHGenerator.forecast_draws")
        f = self.forecast(data, feature=feature)
        nu = float(self.params_.iloc[self._forecast_series(data, feature, "GARCHGenerator.forecast")[2]]["nu"])
        rng = np.random.default_rng(seed)
        z = rng.standard_t(nu, size=(int(n_draws), len(f))) * np.sqrt((nu - 2.0) / nu)
        return f["mean"].to_numpy() + f["vol"].to_numpy() * z  # type: ignore[no-any-return]
