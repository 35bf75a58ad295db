"""Loadings and diagnostics of :class:`~latentquant.models.VAEFactorModel` (a mixin of its methods: the decoder's
Jacobians and factor loadings, latent traversals, explained variance, the log-likelihood bound and anomaly scores)."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from latentquant._math import kl_standard_normal, uncentred_r2
from latentquant.data import Standardizer
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.factor._network import FactorVAE
from latentquant.models.factor.results import FactorEncoding
from latentquant.validation import Interval, check_arg

__all__ = ["AnalysisMethods"]


class _Decoder(torch.nn.Module):
    """The decoding map of a network as a module of its own (for Jacobians and Monte Carlo risk)."""

    def __init__(self, net: FactorVAE) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net.decode(z)


class AnalysisMethods:
    """The loading and diagnostic methods of the factor model; the fitted state they read is set by
    ``VAEFactorModel.fit``."""

    n_factors: int
    vae_: FactorVAE
    scaler_: Standardizer
    columns_: pd.Index
    train_factors_: FactorEncoding

    if TYPE_CHECKING:
        @property
        def factor_names_(self) -> list[str]: ...
        def _check_fitted(self, *attributes: str) -> None: ...
        def _standardised(self, X: Any, name: str = "X") -> pd.DataFrame: ...
        def _encode_standardised(self, z: pd.DataFrame) -> FactorEncoding: ...
        def _decode_standardised(self, latent: np.ndarray) -> np.ndarray: ...
        def _latent_array(self, z: Any, name: str = "z") -> np.ndarray: ...
        def encode(self, X: pd.DataFrame) -> FactorEncoding: ...
        def decode(self, z: Any) -> pd.DataFrame: ...

    # ------------------------------------------------------------------ diagnostics
    def score(self, X: pd.DataFrame, y: Any = None) -> float:
        """Explained variance of ``X`` (pooled R² over assets and dates) in standardised units, with the training
        mean as the benchmark: the share of each date's returns spanned by its K factors (each date is encoded from
        itself — a measure of the factor structure, not a forecast). On a later span it is out of sample in the sense
        that no parameter saw those dates; even pure noise scores about K/N."""
        self._check_fitted()
        z = self._standardised(X)
        recon = self._decode_standardised(self._encode_standardised(z).mean.to_numpy())
        return uncentred_r2(z.to_numpy(), recon, what="VAEFactorModel.score")

    def log_likelihood(self, X: pd.DataFrame, *, n_samples: int = 100, seed: int | None = 0) -> pd.Series:
        """Per date, an importance-weighted lower bound on the log-likelihood of the date's standardised log returns
        (nats; :meth:`FactorVAE.log_likelihood`, ``n_samples`` draws from the posterior). Comparable with the
        log-likelihood of probabilistic PCA or factor analysis fitted to the same standardised training rows
        (:func:`~latentquant.evaluation.likelihood_benchmark`); for ``likelihood='unit'`` it is the likelihood of
        the unit-variance model the loss implies. Higher is better; the mean over a later span is a held-out score.

        Parameters
        ----------
        X : pandas.DataFrame
            Dates × the model's assets, in the units of ``input``.
        n_samples : int, default 100
            Importance samples per date.
        seed : int or None, default 0
            Seed of the draws.

        Returns
        -------
        pandas.Series
            One value per date of ``X``.
        """
        self._check_fitted()
        z = self._standardised(X)
        x = torch.tensor(z.to_numpy(np.float32))
        ll = self.vae_.log_likelihood(x, n_samples=n_samples, seed=seed)
        return pd.Series(ll.double().numpy(), index=z.index, name="log_likelihood")

    def traverse(self, grid: Sequence[float] | np.ndarray | None = None) -> dict[str, pd.DataFrame]:
        """Latent traversals: each factor swept over ``grid`` with the others at 0, as the change of the decoded
        returns from the decoding of 0 (grid × assets, original units), one frame per factor.

        Parameters
        ----------
        grid : array-like, optional
            Factor values; default 25 points from −3 to 3.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``{'f1': frame, ...}``, each indexed by the grid.
        """
        self._check_fitted()
        values = np.linspace(-3, 3, 25) if grid is None else np.asarray(grid, dtype=np.float64)
        base = self.decode(np.zeros((1, self.n_factors))).to_numpy()
        out = {}
        for k, name in enumerate(self.factor_names_):
            z = np.zeros((len(values), self.n_factors))
            z[:, k] = values
            out[name] = pd.DataFrame(self.decode(z).to_numpy() - base, index=values, columns=self.columns_)
        return out

    # ------------------------------------------------------------------ loadings
    def _decoder64(self) -> torch.nn.Module:
        """A float64 copy of the whole decoder map z → x̂(z) (the network and, with ``linear_skip``, its linear path)."""
        net = copy.deepcopy(self.vae_).double().eval()
        for p in net.parameters():
            p.requires_grad_(False)
        return _Decoder(net)

    def _latent_points(self, at: Any, data: pd.DataFrame | None) -> np.ndarray:
        if at is None:
            return (self.encode(data).mean if data is not None else self.train_factors_.mean).to_numpy()
        if isinstance(at, (str, pd.Timestamp, np.datetime64)) or hasattr(at, "isoformat"):
            enc = self.encode(data).mean if data is not None else self.train_factors_.mean
            try:
                stamp = pd.Timestamp(at)
            except (ValueError, TypeError):
                raise DataValidationError(f"at={at!r} is not a date; pass e.g. '2020-03-16'.") from None
            if getattr(enc.index, "tz", None) is not None and stamp.tz is None:
                stamp = stamp.tz_localize("UTC")
            if stamp not in enc.index:
                raise DataValidationError(
                    f"at={at!r} is not a date of {'data' if data is not None else 'the training span'} "
                    f"({enc.index[0].date()} … {enc.index[-1].date()}); pass a date with returns, or data= that "
                    "covers it."
                )
            return enc.loc[[stamp]].to_numpy()
        return self._latent_array(at, "at")

    def factor_loadings(self, at: Any = None, *, method: str = "autograd", eps: float = 1e-5,
                        data: pd.DataFrame | None = None) -> pd.DataFrame:
        r"""Loadings :math:`B = \partial\hat x/\partial z` (assets × ``f1..fK``) in original units per unit of factor.

        Parameters
        ----------
        at : None, date or array-like
            ``None``: the Jacobian averaged over every date's posterior mean (training span, or ``data``);
            a date: the Jacobian at that date's posterior mean; a ``(K,)`` point or ``(n, K)`` points (averaged).
        method : {'autograd', 'finite_difference'}
            Exact Jacobian by automatic differentiation, or central differences with step ``eps`` (both in float64).
        eps : float
            Step of the finite differences.
        data : DataFrame, optional
            Returns/prices (units of ``input``) whose dates define ``at``; default: the training span.

        Returns
        -------
        pandas.DataFrame
            Assets × factors.

        Notes
        -----
        Loadings are in log-return units (for ``input='returns'`` too: :math:`\partial\log(1+r)/\partial z`).
        For a linear decoder the Jacobian is constant and equals the decoder weight times the asset scale.
        """
        self._check_fitted()
        if method not in ("autograd", "finite_difference"):
            raise ConfigError(f"method must be 'autograd' or 'finite_difference', got {method!r}.")
        check_arg("eps", eps, Interval(Real, 0, None, closed="neither"))
        points = torch.tensor(np.array(self._latent_points(at, data), dtype=np.float64))
        jac = self._jacobians(points, method=method, eps=float(eps)).mean(dim=0).numpy()
        jac = jac * self.scaler_.scale_.to_numpy()[:, None]
        return pd.DataFrame(jac, index=self.columns_, columns=self.factor_names_)

    def _jacobians(self, points: torch.Tensor, *, method: str = "autograd", eps: float = 1e-5) -> torch.Tensor:
        """Per-point Jacobians of the standardised decoder, shape ``(n, N, K)``, float64."""
        dec = self._decoder64()
        if method == "autograd":
            # forward mode: one pass per factor (K << N), far cheaper than reverse mode's one pass per asset
            with warnings.catch_warnings():  # torch scripts its forward-AD decompositions on first use
                warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
                return torch.func.vmap(torch.func.jacfwd(dec))(points)
        with torch.no_grad():
            cols = []
            for k in range(points.shape[1]):
                step = torch.zeros_like(points)
                step[:, k] = eps
                cols.append((dec(points + step) - dec(points - step)) / (2 * eps))
            return torch.stack(cols, dim=-1)

    # ------------------------------------------------------------------ anomalies
    @torch.no_grad()
    def _anomaly(self, z: pd.DataFrame, kl_weight: float = 0.1) -> pd.Series:
        x = torch.tensor(z.to_numpy(np.float32))
        recon, mu, log_var = self.vae_(x, sample=False)
        score = (x - recon).pow(2).mean(dim=1) + kl_weight * kl_standard_normal(mu, log_var).sum(dim=1)
        return pd.Series(score.double().numpy(), index=z.index, name="anomaly_score")

    def anomaly_scores(self, X: pd.DataFrame, kl_weight: float = 0.1) -> pd.Series:
        """Per-date anomaly score: mean squared standardised reconstruction error + ``kl_weight`` × KL.

        Compare with ``train_anomaly_scores_`` (e.g. its 99th percentile) to flag unusual later dates without using
        them to set the threshold.
        """
        self._check_fitted()
        check_arg("kl_weight", kl_weight, Interval(Real, 0, None))
        return self._anomaly(self._standardised(X), kl_weight)
