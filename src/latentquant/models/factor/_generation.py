"""Scenario and path generation of :class:`~latentquant.models.VAEFactorModel` (a mixin of its methods: stress
statistics, one-period scenarios, multi-period paths, idiosyncratic noise)."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from latentquant._math import stationary_bootstrap_indices
from latentquant.data import Standardizer
from latentquant.exceptions import ConfigError
from latentquant.models.factor._network import FactorVAE
from latentquant.models.factor.results import FactorEncoding
from latentquant.models.factor.scenarios import (
    SCENARIO_MODES,
    aggregate_posterior,
    check_period,
    hold_fixed,
    interpolation_path,
    residual_rms,
    select_period,
)
from latentquant.validation import Interval, Options, check_arg

__all__ = ["ScenarioMethods"]


class ScenarioMethods:
    """The generative methods of the factor model; the fitted state they read is set by ``VAEFactorModel.fit``."""

    n_factors: int
    likelihood: str
    vae_: FactorVAE
    scaler_: Standardizer
    columns_: pd.Index
    train_factors_: FactorEncoding
    latent_mean_: np.ndarray
    latent_cov_: np.ndarray
    _train_residuals: pd.DataFrame

    if TYPE_CHECKING:
        @property
        def factor_names_(self) -> list[str]: ...
        def _check_fitted(self, *attributes: str) -> None: ...
        def _standardised(self, X: Any, name: str = "X") -> pd.DataFrame: ...
        def _encode_standardised(self, z: pd.DataFrame) -> FactorEncoding: ...
        def _decode_standardised(self, latent: np.ndarray) -> np.ndarray: ...
        def _output_units(self, log_ret: np.ndarray) -> np.ndarray: ...
        def _latent_points(self, at: Any, data: pd.DataFrame | None) -> np.ndarray: ...

    def _period(self, period: Any, data: pd.DataFrame | None) -> tuple[FactorEncoding, pd.DataFrame]:
        """Factor posteriors and standardised residuals of the dates in ``period``."""
        check_period(period)
        if data is None:
            return select_period(self.train_factors_, self._train_residuals, period, where="the training span")
        z = self._standardised(data, "data")
        enc = self._encode_standardised(z)
        resid = z.to_numpy() - self._decode_standardised(enc.mean.to_numpy())
        return select_period(enc, pd.DataFrame(resid, index=z.index, columns=self.columns_), period, where="data")

    def stress_statistics(self, stress_period: tuple[Any, Any], *, data: pd.DataFrame | None = None
                          ) -> pd.DataFrame:
        r"""Latent distribution of a period: per factor, the mean of the posterior means and the standard deviation
        of the period's aggregate posterior, :math:`\sqrt{\operatorname{Var}_t\mu_t + \operatorname{mean}_t
        \sigma_t^2}`; the training span's values alongside for comparison.

        Parameters
        ----------
        stress_period : (start, end)
            Dates of the period (inclusive), in the training span or in ``data``.
        data : pandas.DataFrame, optional
            Returns/prices (units of ``input``) covering the period when it lies outside the training span.

        Returns
        -------
        pandas.DataFrame
            Factors × ``mean``, ``std``, ``train_mean``, ``train_std``.
        """
        self._check_fitted()
        enc, _ = self._period(stress_period, data)
        mean, std = aggregate_posterior(enc)
        return pd.DataFrame({
            "mean": mean, "std": std,
            "train_mean": self.latent_mean_, "train_std": np.sqrt(np.diag(self.latent_cov_)),
        }, index=self.factor_names_)

    def generate_scenarios(self, n: int = 10_000, mode: str = "prior", *, seed: int | None = None,
                           noise: bool | None = None, stress_period: tuple[Any, Any] | None = None,
                           fixed: Mapping[str | int, float] | None = None, start: Any = None, end: Any = None,
                           data: pd.DataFrame | None = None) -> pd.DataFrame:
        r"""One-period return scenarios decoded from the latent space, in original units.

        Parameters
        ----------
        n : int
            Number of scenarios (for ``'interpolate'``: number of steps from ``start`` to ``end``).
        mode : {'prior', 'stressed', 'conditional', 'interpolate'}
            * ``'prior'`` — :math:`z\sim\mathcal N(0,I)`, the VAE's generative model. With a small β the fitted
              factors can depart from the prior (see ``latent_cov_``); then sample the fitted latent distribution
              with ``mode='stressed'`` and the whole training span as ``stress_period``.
            * ``'stressed'`` — :math:`z\sim\mathcal N(\mu_s,\operatorname{diag}\sigma_s^2)` with the latent statistics
              of ``stress_period`` (see :meth:`stress_statistics`); the idiosyncratic noise uses that period's
              residual standard deviations.
            * ``'conditional'`` — the factors in ``fixed`` (``{'f1': -3.0}`` or ``{0: -3.0}``) are held at the given
              values, the others drawn from the prior.
            * ``'interpolate'`` — the decoded path from ``start``'s posterior mean to ``end``'s, ``n`` steps,
              indexed by the interpolation weight ``alpha``.
        seed : int, optional
            Same seed → identical scenarios.
        noise : bool, optional
            Add idiosyncratic noise (default ``True`` for sampled modes, ``False`` for ``'interpolate'``): with
            ``likelihood='unit'``, :math:`e\sim\mathcal N(0, D)` with the training residual variances; with a learned
            observation model, its draws (Gaussian, or Student-t with the learned degrees of freedom). Without it,
            scenarios carry only the factor-driven part of the variance.
        stress_period, start, end, data
            Dates are looked up in the training span, or in ``data`` (same units as ``input``) when given.
        fixed : mapping, optional
            ``'conditional'`` mode: factor name or index → value.

        Returns
        -------
        pandas.DataFrame
            Scenarios × assets (index ``scenario``, or ``alpha`` for ``'interpolate'``).
        """
        self._check_fitted()
        check_arg("mode", mode, Options(*SCENARIO_MODES))
        check_arg("n", n, Interval(Integral, 1, None))
        rng = np.random.default_rng(seed)
        K = self.n_factors
        noise_std = residual_rms(self._train_residuals)
        index: pd.Index = pd.RangeIndex(n, name="scenario")
        if mode == "interpolate":
            if start is None or end is None:
                raise ConfigError("mode='interpolate' needs start= and end= dates (e.g. a calm day and a crisis day).")
            z_a, z_b = self._latent_points(start, data)[0], self._latent_points(end, data)[0]
            z, index = interpolation_path(z_a, z_b, n)
            noise = False if noise is None else noise
        elif mode == "stressed":
            if stress_period is None:
                raise ConfigError("mode='stressed' needs stress_period=(start, end), "
                                  "e.g. ('2008-09-01', '2009-03-31').")
            enc, resid = self._period(stress_period, data)
            mean, std = aggregate_posterior(enc)
            z = mean.to_numpy() + std.to_numpy() * rng.standard_normal((n, K))
            noise_std = residual_rms(resid)
        else:
            z = rng.standard_normal((n, K))
            if mode == "conditional":
                hold_fixed(z, fixed, self.factor_names_)
        x = self._decode_standardised(z)
        if noise if noise is not None else True:
            x = x + self._noise(rng, x.shape[0], noise_std)
        out = np.asarray(self.scaler_.inverse_transform(x))
        return pd.DataFrame(self._output_units(out), index=index, columns=self.columns_)

    def generate_paths(self, n_paths: int = 1000, horizon: int = 21, *, block: float = 20.0, seed: int | None = None,
                       noise: bool = True, stress_period: tuple[Any, Any] | None = None,
                       data: pd.DataFrame | None = None) -> pd.DataFrame:
        """Multi-period return paths whose factors follow the training span's (or a stress period's) own dynamics.

        The factors of each path are a stationary block bootstrap (Politis & Romano 1994; blocks of geometric length
        with mean ``block`` days) of the training dates' posterior draws :math:`\\mu_t + \\sigma_t \varepsilon`: calm
        and turbulent stretches are replayed as they came, so the paths keep the volatility clustering and the
        cross-factor dependence of the history, which i.i.d. draws from the prior lose. Each day is decoded and gets
        the idiosyncratic noise of :meth:`generate_scenarios`. With ``stress_period`` the bootstrap replays that
        period's dates instead (and its residual size), e.g. a crisis.

        Parameters
        ----------
        n_paths : int, default 1000
        horizon : int, default 21
            Periods per path.
        block : float, default 20
            Mean block length in periods (1: i.i.d. draws of the training days).
        seed : int, optional
            Same seed → identical paths.
        noise : bool, default True
            Add idiosyncratic noise.
        stress_period : tuple, optional
            ``(start, end)``: replay these dates (at least two) instead of the whole training span.
        data : pandas.DataFrame, optional
            Returns in the units of ``input`` holding ``stress_period`` when it lies outside the training span.

        Returns
        -------
        pandas.DataFrame
            (path, step) × assets, per-period returns in original units; cumulate within each path for horizon
            returns.
        """
        self._check_fitted()
        check_arg("n_paths", n_paths, Interval(Integral, 1, None))
        check_arg("horizon", horizon, Interval(Integral, 1, None))
        check_arg("block", block, Interval(Real, 1, None))
        if stress_period is None:
            enc, resid = self.train_factors_, self._train_residuals
        else:
            enc, resid = self._period(stress_period, data)
        rng = np.random.default_rng(seed)
        mu, sd = enc.mean.to_numpy(), enc.std.to_numpy()
        idx = np.concatenate(list(stationary_bootstrap_indices(len(mu), n_paths, block, rng, length=horizon)))
        flat = idx.ravel()
        z = mu[flat] + sd[flat] * rng.standard_normal((flat.size, self.n_factors))
        x = self._decode_standardised(z)
        if noise:
            x = x + self._noise(rng, x.shape[0], residual_rms(resid))
        out = self._output_units(np.asarray(self.scaler_.inverse_transform(x)))
        index = pd.MultiIndex.from_product([range(n_paths), range(horizon)], names=["path", "step"])
        return pd.DataFrame(out, index=index, columns=self.columns_)

    def _noise(self, rng: np.random.Generator, n: int, rms: np.ndarray) -> np.ndarray:
        """Idiosyncratic noise of ``n`` scenarios (standardised units) whose per-asset RMS is ``rms`` (the training
        residuals', or a stress period's): Gaussian for the ``"unit"`` likelihood; otherwise the learned observation
        model's draws (Student-t tails included), scaled by ``rms`` over the training residuals' RMS."""
        if self.likelihood == "unit":
            return rms * rng.standard_normal((n, len(rms)))
        ratio = rms / np.maximum(residual_rms(self._train_residuals), 1e-12)
        return ratio * self.vae_.sample_noise(n, rng)
