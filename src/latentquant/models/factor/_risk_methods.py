"""Risk methods of :class:`~latentquant.models.VAEFactorModel` (a mixin): the idiosyncratic variance of the
observation model, the model-implied covariance of the assets and the factor/idiosyncratic variance decomposition of a
portfolio. The decompositions themselves are in :mod:`latentquant.models.factor.risk`."""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from latentquant.data import Standardizer
from latentquant.exceptions import ConfigError
from latentquant.models.factor._network import FactorVAE
from latentquant.models.factor.results import RiskDecomposition
from latentquant.models.factor.risk import check_weights, linear_risk_decomposition, monte_carlo_risk_decomposition
from latentquant.validation import Interval, Options, check_arg

__all__ = ["RiskMethods"]


class RiskMethods:
    """The risk methods of the factor model; the fitted state they read is set by ``VAEFactorModel.fit``."""

    likelihood: str
    periods_per_year: int
    vae_: FactorVAE
    scaler_: Standardizer
    columns_: pd.Index
    latent_mean_: np.ndarray
    latent_cov_: np.ndarray
    residual_var_: pd.Series

    if TYPE_CHECKING:
        @property
        def factor_names_(self) -> list[str]: ...
        def _check_fitted(self, *attributes: str) -> None: ...
        def _decode_standardised(self, latent: np.ndarray) -> np.ndarray: ...
        def factor_loadings(self, at: Any = None, *, method: str = "autograd", eps: float = 1e-5,
                            data: pd.DataFrame | None = None) -> pd.DataFrame: ...

    @property
    def idiosyncratic_var_(self) -> pd.Series:
        """Per-asset idiosyncratic variance in model units (log returns): the learned observation noise
        (:math:`\\sigma_j^2`, or :math:`s_j^2\\nu_j/(\\nu_j-2)` for the Student-t) rescaled by the training standard
        deviations; for ``likelihood='unit'``, whose noise is not modelled, the training residuals' ``residual_var_``.
        """
        self._check_fitted()
        if self.likelihood == "unit":
            return self.residual_var_.rename("idiosyncratic_var")
        with torch.no_grad():
            var = self.vae_.noise_variance().detach().cpu().double().numpy()
        return pd.Series(var * self.scaler_.scale_.to_numpy() ** 2, index=self.columns_, name="idiosyncratic_var")

    def covariance(self, *, method: str = "monte_carlo", n_samples: int = 100_000, seed: int | None = 0
                   ) -> pd.DataFrame:
        r"""The model's covariance matrix of the assets' daily log returns, assets × assets.

        Parameters
        ----------
        method : {'monte_carlo', 'linear'}
            ``'monte_carlo'``: :math:`\operatorname{Cov}(\hat x(z)) + D` with ``n_samples`` draws
            :math:`z\sim\mathcal N(\text{latent\_mean\_}, \text{latent\_cov\_})` pushed through the nonlinear decoder
            (the covariance the model's own scenarios have). ``'linear'``: :math:`B\Sigma_zB^\top + D` with
            :math:`B` the training-averaged Jacobian (:meth:`factor_loadings`), which misses the decoder's curvature.
            :math:`D` = ``idiosyncratic_var_`` in both.
        n_samples : int
            Monte Carlo draws (at least 100).
        seed : int or None
            Seed of the draws.

        Returns
        -------
        pandas.DataFrame
            Symmetric, positive definite; feed it to
            :func:`~latentquant.evaluation.variance_calibration` to check it against realised variances.
        """
        self._check_fitted()
        check_arg("method", method, Options("monte_carlo", "linear"))
        check_arg("n_samples", n_samples, Interval(Integral, 100, None))
        d = self.idiosyncratic_var_.to_numpy()
        if method == "linear":
            b = self.factor_loadings().to_numpy()
            cov = b @ self.latent_cov_ @ b.T
        else:
            rng = np.random.default_rng(seed)
            z = rng.multivariate_normal(self.latent_mean_, self.latent_cov_, size=n_samples)
            scale = self.scaler_.scale_.to_numpy()
            cov = np.atleast_2d(np.cov(self._decode_standardised(z), rowvar=False)) * np.outer(scale, scale)
        cov = 0.5 * (cov + cov.T) + np.diag(d)
        return pd.DataFrame(cov, index=self.columns_, columns=self.columns_)

    def risk_decomposition(self, weights: Any, *, method: str = "linear", at: Any = None, n_samples: int = 100_000,
                           seed: int | None = 0, data: pd.DataFrame | None = None) -> RiskDecomposition:
        r"""Split the variance of the portfolio ``weights`` into factor and idiosyncratic parts.

        Parameters
        ----------
        weights : array-like or Series
            One weight per asset (a Series is aligned on asset names; missing assets get 0). Long-short books
            summing to 0 are fine. The portfolio return is :math:`w^\top x` with ``x`` the assets' log returns.
        method : {'linear', 'monte_carlo'}
            ``'linear'``: :math:`x\approx m+B z+e` with :math:`B` = :meth:`factor_loadings` (``at``),
            :math:`\operatorname{Cov}(z)` = the training span's aggregate posterior covariance (``latent_cov_``)
            and :math:`D` = ``idiosyncratic_var_``; Euler contributions per factor sum to the factor variance exactly
            (:func:`~latentquant.models.factor.risk.linear_risk_decomposition`).
            ``'monte_carlo'``: ``n_samples`` draws :math:`z\sim\mathcal N(\text{latent\_mean\_},
            \text{latent\_cov\_})` pushed through the nonlinear decoder; factor :math:`k`'s contribution is
            :math:`\operatorname{Cov}(w^\top\hat x(z), w^\top\hat x(z_k))` with :math:`z_k` = the mean with
            coordinate :math:`k` taken from the draw, and ``interaction`` is what the nonlinearity leaves over
            (exactly 0 for a linear decoder, where these are the Euler contributions;
            :func:`~latentquant.models.factor.risk.monte_carlo_risk_decomposition`).
        at : None, date or array-like
            Where the loadings are taken (see :meth:`factor_loadings`).
        n_samples : int
            Monte Carlo draws (at least 100).
        seed : int or None
            Monte Carlo seed.
        data : pandas.DataFrame, optional
            Returns/prices whose dates define ``at``.

        Returns
        -------
        RiskDecomposition
        """
        self._check_fitted()
        w = check_weights(weights, self.columns_)
        if method not in ("linear", "monte_carlo"):
            raise ConfigError(f"method must be 'linear' or 'monte_carlo', got {method!r}.")
        loadings = self.factor_loadings(at, data=data)
        if method == "linear":
            return linear_risk_decomposition(w, loadings, self.latent_cov_, self.idiosyncratic_var_,
                                             periods_per_year=self.periods_per_year)
        exposures = pd.Series(loadings.to_numpy().T @ w, index=self.factor_names_)
        return monte_carlo_risk_decomposition(
            w, self._decode_standardised, self.latent_mean_, self.latent_cov_, self.scaler_.scale_.to_numpy(),
            self.idiosyncratic_var_, exposures, n_samples=n_samples, seed=seed, periods_per_year=self.periods_per_year,
        )

