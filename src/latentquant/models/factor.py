r"""A VAE factor model of asset returns — the nonlinear generalisation of :math:`x = Bf + e`.

The classical linear factor model explains a vector of returns :math:`x\in\mathbb R^N` by :math:`K \ll N` factors,
:math:`x = Bf + e`. :class:`VAEFactorModel` replaces both maps by networks:

* the **encoder** gives each date's factors *with uncertainty*, :math:`q_\phi(z\mid x)=\mathcal N(\mu_\phi(x),
  \operatorname{diag}\sigma^2_\phi(x))` (columns ``f1..fK``);
* the **decoder** :math:`\hat x = f_\theta(z)` is a nonlinear loading function; its Jacobian
  :math:`B(z)=\partial\hat x/\partial z` (``N × K``) is the local loading matrix;
* the **reconstruction error** :math:`x-\hat x` is the idiosyncratic part.

Returns are modelled as daily log returns standardised per asset with the mean and standard deviation of the
training span (kept, so every output is mapped back to the original units). With a linear encoder and decoder
(``hidden_dims=()``) and :math:`\beta\to0` the model spans the same subspace as PCA; the KL term of a VAE
(:math:`\beta>0`) in addition pushes the factors towards independent, unit-variance coordinates.

What the fitted model gives
---------------------------
* :meth:`~VAEFactorModel.encode` / :meth:`~VAEFactorModel.decode` / :meth:`~VAEFactorModel.reconstruct`;
* :meth:`~VAEFactorModel.factor_loadings` — the exact Jacobian by automatic differentiation, or central finite
  differences (``method='finite_difference'``), averaged over dates or at one latent point;
* :meth:`~VAEFactorModel.generate_scenarios` — prior, stressed (the latent distribution of a named period),
  conditional (some factors fixed) and interpolated (one date's state to another's) scenarios;
* :meth:`~VAEFactorModel.risk_decomposition` — portfolio variance split into factor and idiosyncratic parts with
  Euler contributions per factor and per asset (linearised through the Jacobian, or Monte Carlo through the decoder);
* :meth:`~VAEFactorModel.anomaly_scores` and :meth:`~VAEFactorModel.score` (out-of-sample explained variance).

References
----------
Kingma, D. P. & Welling, M. (2014). Auto-Encoding Variational Bayes. ICLR.
Higgins, I. et al. (2017). β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework. ICLR.
Tasche, D. (2008). Capital allocation to business units and sub-portfolios: the Euler principle. arXiv:0708.2542.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from latentquant.data import Standardizer
from latentquant.exceptions import (
    CheckpointError,
    ConfigError,
    DataValidationError,
    DataWarning,
    NotFittedError,
)
from latentquant.models.autoencoder import VAE, AETrainer, kl_divergence
from latentquant.training import History
from latentquant.validation import _fmt_date, check_frame

__all__ = ["FactorEncoding", "RiskDecomposition", "VAEFactorModel"]

INPUTS = ("prices", "log_returns", "returns")
SCENARIO_MODES = ("prior", "stressed", "conditional", "interpolate")
_STATE_FILE = "factor_model.json"
_FACTORS_FILE = "train_factors.parquet"
_RESID_FILE = "train_residuals.parquet"


class FactorEncoding(NamedTuple):
    """Posterior of the factors on each date: means and standard deviations (dates × ``f1..fK``)."""

    mean: pd.DataFrame
    std: pd.DataFrame


@dataclass(frozen=True)
class RiskDecomposition:
    r"""Portfolio variance split into factor and idiosyncratic parts (per-period variance, model units).

    Linearised model: :math:`x \approx m + Bz + e`, :math:`z\sim(\,\cdot\,,\Sigma_z)`, :math:`e\sim(0,D)`, so for
    weights :math:`w` the portfolio variance is :math:`w^\top B\Sigma_z B^\top w + w^\top D w`. With factor exposures
    :math:`b=B^\top w` the Euler contribution of factor :math:`k` is :math:`b_k(\Sigma_z b)_k`; these sum to the
    factor variance :math:`b^\top\Sigma_z b` exactly. Asset contributions :math:`w_i(\Sigma w)_i` sum to the total.

    Attributes
    ----------
    method : str
        ``'linear'`` or ``'monte_carlo'``.
    total_variance, factor_variance, idiosyncratic_variance : float
        Per-period variances of the portfolio's log return.
    factor_contributions : pandas.Series
        Euler contribution of each factor ``f1..fK``. For ``'monte_carlo'``: the covariance of the portfolio with
        the portfolio moved by that factor alone; these sum to the factor variance for a linear decoder, and the
        part a nonlinear decoder leaves over is reported as ``interaction``.
    asset_contributions : pandas.Series
        Euler contribution of each asset to the total variance (linear method only; empty for Monte Carlo).
    exposures : pandas.Series
        Portfolio exposure to each factor, :math:`b = B^\top w`.
    periods_per_year : int
        Used by :meth:`summary` to annualise volatilities (√periods convention).
    """

    method: str
    total_variance: float
    factor_variance: float
    idiosyncratic_variance: float
    factor_contributions: pd.Series
    asset_contributions: pd.Series
    exposures: pd.Series
    interaction: float = 0.0
    n_samples: int = 0
    periods_per_year: int = 252

    @property
    def factor_share(self) -> float:
        """Share of the portfolio variance explained by the factors."""
        return self.factor_variance / self.total_variance

    def table(self) -> pd.DataFrame:
        """One row per factor plus ``idiosyncratic`` (and ``interaction`` for Monte Carlo) and ``total``:
        variance, share of total variance, and annualised volatility equivalent of each variance."""
        rows = dict(self.factor_contributions.items())
        if self.method == "monte_carlo":
            rows["interaction"] = self.interaction
        rows["factor total"] = self.factor_variance
        rows["idiosyncratic"] = self.idiosyncratic_variance
        rows["total"] = self.total_variance
        var = pd.Series(rows, name="variance", dtype=np.float64)
        out = var.to_frame()
        out["share"] = var / self.total_variance
        out["ann_vol_equivalent"] = np.sign(var) * np.sqrt(np.abs(var) * self.periods_per_year)
        return out

    def summary(self) -> str:
        vol = np.sqrt(self.total_variance * self.periods_per_year)
        return (f"Portfolio volatility {vol:.2%} a year (√{self.periods_per_year}); factors {self.factor_share:.1%} "
                f"of variance, idiosyncratic {1 - self.factor_share:.1%} ({self.method}).")

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "total_variance": self.total_variance, "factor_variance": self.factor_variance,
            "idiosyncratic_variance": self.idiosyncratic_variance, "factor_share": self.factor_share,
            "interaction": self.interaction, "n_samples": self.n_samples,
            "factor_contributions": self.factor_contributions.to_dict(),
            "asset_contributions": {str(k): v for k, v in self.asset_contributions.items()},
            "exposures": self.exposures.to_dict(), "periods_per_year": self.periods_per_year,
        }


def _plain(value: Any) -> Any:
    """A JSON-ready version of a parameter or label: numpy scalars → Python scalars, tuples → lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


class VAEFactorModel(BaseEstimator):  # type: ignore[misc]
    """Nonlinear latent factor model of a cross-section of asset returns, fitted as a β-VAE.

    Parameters
    ----------
    n_factors : int
        Number of latent factors ``K`` (must be smaller than the number of assets).
    input : {'prices', 'log_returns', 'returns'}
        What :meth:`fit` and the other methods receive: prices (log returns are taken), log returns, or simple
        returns (converted with ``log1p``; outputs are converted back with ``expm1``).
    beta : float
        Weight of the KL term (β < 1 favours reconstruction, β ≥ 2 disentanglement; β → 0 with
        ``hidden_dims=()`` gives PCA's subspace).
    hidden_dims : sequence of int
        Hidden layer widths of the encoder (the decoder mirrors them). ``()`` gives a linear encoder and decoder.
    activation : str
        Hidden activation (``'relu'``, ``'tanh'``, ``'elu'`` …).
    epochs, batch_size, lr, patience : int, int, float, int
        Optimisation: maximum epochs, mini-batch size, Adam learning rate, early-stopping patience.
    validation_split : float
        Share of the training rows *at the end* used for early stopping (time order kept).
    early_stopping : bool
        Stop when the validation loss stalls and restore the best weights.
    seed : int
        Seed of the initial weights and of training: same seed, same data → identical factors on CPU.
    device : str
        ``'auto'`` (CUDA when available), ``'cpu'`` or ``'cuda'`` for training; the fitted model lives on the CPU.
    verbose : bool or None
        Progress bar on a terminal (``None``), always (``True``) or never (``False``).
    periods_per_year : int
        Annualisation used in summaries (252 for daily equity data, 365 for crypto).

    Attributes
    ----------
    vae_ : VAE
        The fitted network (standardised log returns in, standardised log returns out).
    scaler_ : Standardizer
        Training-span mean and standard deviation of each asset's log return.
    history_ : History
        Loss curves of the fit.
    train_factors_ : FactorEncoding
        Posterior means and standard deviations of the factors on the training dates.
    latent_mean_, latent_cov_ : numpy.ndarray
        Mean and covariance of the aggregate posterior on the training span,
        :math:`\\operatorname{Cov}(\\mu_t) + \\operatorname{mean}_t\\operatorname{diag}\\sigma_t^2`.
    residual_var_ : pandas.Series
        Variance of each asset's reconstruction error on the training rows (model units: log returns).
    kl_per_factor_ : pandas.Series
        Mean KL divergence of each factor from the prior on the training span (nats); < 0.01 = inactive.
    columns_ : pandas.Index
        Asset names.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(600, 2))
    >>> r = f @ rng.normal(size=(2, 6)) * 0.01 + 0.002 * rng.normal(size=(600, 6))
    >>> returns = pd.DataFrame(r, index=pd.bdate_range("2020-01-01", periods=600),
    ...                        columns=[f"A{i}" for i in range(6)])
    >>> model = VAEFactorModel(n_factors=2, input="log_returns", epochs=20, verbose=False).fit(returns)
    >>> means, stds = model.encode(returns)
    >>> list(means.columns)
    ['f1', 'f2']
    >>> model.factor_loadings().shape
    (6, 2)
    >>> model.generate_scenarios(1000, seed=0).shape
    (1000, 6)
    >>> rd = model.risk_decomposition(np.full(6, 1 / 6))
    >>> bool(abs(rd.factor_contributions.sum() - rd.factor_variance) < 1e-12)
    True
    """

    def __init__(self, n_factors: int = 3, *, input: str = "log_returns", beta: float = 1.0,
                 hidden_dims: Sequence[int] = (64, 32), activation: str = "relu", epochs: int = 300,
                 batch_size: int = 128, lr: float = 1e-3, validation_split: float = 0.2, patience: int = 20,
                 early_stopping: bool = True, seed: int = 0, device: str = "auto", verbose: bool | None = None,
                 periods_per_year: int = 252) -> None:
        self.n_factors = n_factors
        self.input = input
        self.beta = beta
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_split = validation_split
        self.patience = patience
        self.early_stopping = early_stopping
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.periods_per_year = periods_per_year

    # ------------------------------------------------------------------ validation and conversion
    def _check_params(self) -> None:
        if not _is_int(self.n_factors) or self.n_factors < 1:
            raise ConfigError(f"n_factors must be a positive integer, got {self.n_factors!r}.")
        if self.input not in INPUTS:
            raise ConfigError(f"input must be one of {list(INPUTS)}, got {self.input!r}.")
        if not _is_int(self.periods_per_year) or self.periods_per_year < 1:
            raise ConfigError(f"periods_per_year must be a positive integer, got {self.periods_per_year!r}.")
        AETrainer._check_beta(self.beta)

    def _check_fitted(self) -> None:
        if not hasattr(self, "vae_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(returns) or {type(self).__name__}.load(path)."
            )

    def _to_log_returns(self, X: Any, name: str) -> pd.DataFrame:
        """Validate ``X`` (in the units given by ``input``) and return complete rows of log returns."""
        if self.input == "prices":
            prices = check_frame(X, name=name, allow_nan=True, positive=True, min_rows=2)
            values = np.log(prices.to_numpy())
            lr = pd.DataFrame(np.diff(values, axis=0), index=prices.index[1:], columns=prices.columns)
        else:
            lr = check_frame(X, name=name, allow_nan=True)
            if self.input == "returns":
                low = lr.to_numpy() <= -1.0
                if np.any(low):
                    i, j = (int(a[0]) for a in np.nonzero(low))
                    raise DataValidationError(
                        f"{name} column {lr.columns[j]!r} has a simple return <= -1 on {_fmt_date(lr.index[i])} "
                        f"({float(lr.to_numpy()[i, j])!r}); a price cannot fall by 100% or more — check the data or "
                        "the units."
                    )
                lr = pd.DataFrame(np.log1p(lr.to_numpy()), index=lr.index, columns=lr.columns)
        empty = [c for c in lr.columns if lr[c].isna().all()]
        if empty:
            raise DataValidationError(
                f"{name} column {empty[0]!r} has no valid {'returns' if self.input != 'prices' else 'price pairs'} "
                "(all NaN); drop it before fitting."
            )
        complete = lr.dropna(axis=0, how="any")
        if len(complete) < len(lr):
            warnings.warn(
                f"{name}: dropped {len(lr) - len(complete)} of {len(lr)} rows with a missing value in some column "
                f"(the model needs every asset on every date).", DataWarning, stacklevel=3,
            )
        return complete

    def _standardised(self, X: Any, name: str = "X") -> pd.DataFrame:
        lr = self._to_log_returns(X, name)
        if list(lr.columns) != list(self.columns_):
            missing = [c for c in self.columns_ if c not in lr.columns]
            detail = f"missing {missing[:5]}" if missing else "different order or extra columns"
            raise DataValidationError(
                f"{name} has columns {list(lr.columns)[:5]}… that differ from the {len(self.columns_)} assets the "
                f"model was fitted on ({detail}); pass X[model.columns_]."
            )
        if lr.empty:
            raise DataValidationError(f"{name} has no complete rows to encode.")
        return self.scaler_.transform(lr)

    def _output_units(self, log_ret: np.ndarray) -> np.ndarray:
        return np.expm1(log_ret) if self.input == "returns" else log_ret

    @property
    def factor_names_(self) -> list[str]:
        return [f"f{k + 1}" for k in range(self.n_factors)]

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y: Any = None) -> VAEFactorModel:
        """Fit the model on a training span of returns or prices (dates × assets, in time order).

        The standardisation is fitted on these rows only; the last ``validation_split`` share of them is the
        early-stopping block. Rows with a missing value in some column are dropped (with a ``DataWarning``).
        """
        self._check_params()
        lr = self._to_log_returns(X, "X")
        n_rows, n_assets = lr.shape
        if n_assets < 2:
            raise DataValidationError(
                f"X has {n_assets} asset column ({list(lr.columns)}); a factor model explains co-movement across "
                "assets and needs at least 2 columns."
            )
        if self.n_factors >= n_assets:
            raise ConfigError(
                f"n_factors={self.n_factors} must be smaller than the number of assets ({n_assets}); "
                "a bottleneck as wide as the data explains nothing. Use fewer factors."
            )
        need = max(5 * self.n_factors, 10)
        if n_rows < need:
            raise DataValidationError(
                f"X has {n_rows} complete rows of returns but n_factors={self.n_factors} needs at least {need} "
                f"(5 per factor); pass a longer history or use fewer factors."
            )
        self.scaler_ = Standardizer().fit(lr)
        z = self.scaler_.transform(lr)
        vae = VAE(n_assets, self.n_factors, list(self.hidden_dims), activation=self.activation, seed=self.seed)
        trainer = AETrainer(beta=self.beta, batch_size=self.batch_size, lr=self.lr,
                            validation_split=self.validation_split, early_stopping=self.early_stopping,
                            patience=self.patience, seed=self.seed, verbose=self.verbose, device=self.device)
        self.history_: History = trainer.fit(vae, z.to_numpy(np.float32), epochs=self.epochs)
        vae.cpu().eval()
        self.vae_ = vae
        self.columns_ = lr.columns.copy()
        self.n_features_in_ = n_assets
        self._set_training_statistics(z)
        return self

    @torch.no_grad()
    def _set_training_statistics(self, z: pd.DataFrame) -> None:
        enc = self._encode_standardised(z)
        self.train_factors_ = enc
        mu, sd = enc.mean.to_numpy(), enc.std.to_numpy()
        self.latent_mean_ = mu.mean(axis=0)
        self.latent_cov_ = np.atleast_2d(np.cov(mu, rowvar=False)) + np.diag((sd**2).mean(axis=0))
        recon = self._decode_standardised(mu)
        resid = z.to_numpy() - recon
        # the idiosyncratic part in standardised units, kept per date so that a stress period's residual size is known
        self._train_residuals = pd.DataFrame(resid.astype(np.float32), index=z.index, columns=self.columns_)
        self.residual_var_ = pd.Series((resid**2).mean(axis=0) * self.scaler_.scale_.to_numpy() ** 2,
                                       index=self.columns_, name="residual_var")
        kl = -0.5 * (1 + np.log(sd**2) - mu**2 - sd**2)
        self.kl_per_factor_ = pd.Series(kl.mean(axis=0), index=self.factor_names_, name="kl_nats")
        self.train_anomaly_scores_ = self._anomaly(z)

    # ------------------------------------------------------------------ encode / decode
    @torch.no_grad()
    def _encode_standardised(self, z: pd.DataFrame) -> FactorEncoding:
        x = torch.tensor(z.to_numpy(np.float32))
        mus, sds = [], []
        for i in range(0, x.shape[0], 65536):
            mu, log_var = self.vae_.encode(x[i:i + 65536])
            mus.append(mu)
            sds.append(torch.exp(0.5 * log_var))
        names = self.factor_names_
        return FactorEncoding(
            pd.DataFrame(torch.cat(mus).double().numpy(), index=z.index, columns=names),
            pd.DataFrame(torch.cat(sds).double().numpy(), index=z.index, columns=names),
        )

    @torch.no_grad()
    def _decode_standardised(self, latent: np.ndarray) -> np.ndarray:
        z = torch.tensor(np.asarray(latent, dtype=np.float32))
        out = [self.vae_.decode(z[i:i + 65536]) for i in range(0, z.shape[0], 65536)]
        return torch.cat(out).double().numpy()

    def encode(self, X: pd.DataFrame) -> FactorEncoding:
        """Factor values with uncertainty: posterior means and standard deviations, dates × ``f1..fK``.

        ``X`` is in the units given by ``input`` (for prices, the first date is lost to the return).
        """
        self._check_fitted()
        return self._encode_standardised(self._standardised(X))

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Posterior mean of the factors (scikit-learn ``transform``)."""
        return self.encode(X).mean

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.fit(X).transform(X)

    def _latent_array(self, z: Any, name: str = "z") -> np.ndarray:
        if isinstance(z, pd.DataFrame):
            missing = [c for c in self.factor_names_ if c not in z.columns]
            if missing:
                raise DataValidationError(f"{name} lacks factor columns {missing}; expected {self.factor_names_}.")
            z = z[self.factor_names_]
        arr = np.asarray(z.detach().cpu() if isinstance(z, torch.Tensor) else z, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_factors:
            raise DataValidationError(
                f"{name} must have shape (n, {self.n_factors}) — one column per factor — got {arr.shape}."
            )
        if not np.isfinite(arr).all():
            raise DataValidationError(f"{name} contains NaN or infinite values.")
        return arr

    def decode(self, z: Any) -> pd.DataFrame:
        """Returns implied by factor values ``z`` (``(n, K)`` array, tensor or DataFrame with ``f1..fK``), in the
        original units: log returns (``input`` 'prices'/'log_returns') or simple returns (``input='returns'``).
        A DataFrame keeps its index."""
        self._check_fitted()
        arr = self._latent_array(z)
        out = self.scaler_.inverse_transform(self._decode_standardised(arr))
        index = z.index if isinstance(z, pd.DataFrame) else None
        return pd.DataFrame(self._output_units(np.asarray(out)), index=index, columns=self.columns_)

    def reconstruct(self, X: pd.DataFrame) -> pd.DataFrame:
        """Decode each date's posterior mean: the factor-explained part of the returns, original units."""
        return self.decode(self.encode(X).mean)

    def score(self, X: pd.DataFrame, y: Any = None) -> float:
        """Explained variance of ``X`` (pooled R² over assets and dates) in standardised units, with the training
        mean as the benchmark: the share of each date's returns spanned by its K factors (each date is encoded from
        itself — a measure of the factor structure, not a forecast). On a later span it is out of sample in the sense
        that no parameter saw those dates; even pure noise scores about K/N."""
        self._check_fitted()
        z = self._standardised(X)
        recon = self._decode_standardised(self._encode_standardised(z).mean.to_numpy())
        x = z.to_numpy()
        return float(1.0 - ((x - recon) ** 2).sum() / (x**2).sum())

    # ------------------------------------------------------------------ loadings
    def _decoder64(self) -> torch.nn.Module:
        dec = copy.deepcopy(self.vae_.decoder).double().eval()
        for p in dec.parameters():
            p.requires_grad_(False)
        return dec

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
        data : DataFrame, optional
            Returns/prices (units of ``input``) whose dates define ``at``; default: the training span.

        Notes
        -----
        Loadings are in log-return units (for ``input='returns'`` too: :math:`\partial\log(1+r)/\partial z`).
        For a linear decoder the Jacobian is constant and equals the decoder weight times the asset scale.
        """
        self._check_fitted()
        if method not in ("autograd", "finite_difference"):
            raise ConfigError(f"method must be 'autograd' or 'finite_difference', got {method!r}.")
        if not (isinstance(eps, float | int) and eps > 0):
            raise ConfigError(f"eps must be a positive number, got {eps!r}.")
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

    # ------------------------------------------------------------------ scenarios
    def _period(self, period: Any, data: pd.DataFrame | None) -> tuple[FactorEncoding, pd.DataFrame]:
        """Factor posteriors and standardised residuals of the dates in ``period``."""
        if not (isinstance(period, Sequence) and not isinstance(period, str) and len(period) == 2):
            raise ConfigError(
                f"stress_period must be a (start, end) pair of dates, got {period!r}; "
                "e.g. stress_period=('2008-09-01', '2009-03-31')."
            )
        if data is not None:
            z = self._standardised(data, "data")
            enc = self._encode_standardised(z)
            resid = z.to_numpy() - self._decode_standardised(enc.mean.to_numpy())
            resid_f = pd.DataFrame(resid, index=z.index, columns=self.columns_)
        else:
            enc, resid_f = self.train_factors_, self._train_residuals
        try:
            start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
        except (ValueError, TypeError):
            raise ConfigError(f"stress_period must hold two dates such as ('2008-09-01', '2009-03-31'), got "
                              f"{tuple(period)!r}.") from None
        if getattr(enc.mean.index, "tz", None) is not None:
            start = start.tz_localize("UTC") if start.tz is None else start
            end = end.tz_localize("UTC") if end.tz is None else end
        if start > end:
            raise ConfigError(f"stress_period starts after it ends: {period!r}.")
        mask = (enc.mean.index >= start) & (enc.mean.index <= end)
        if mask.sum() < 2:
            where = "data" if data is not None else "the training span"
            raise DataValidationError(
                f"stress_period {tuple(str(p) for p in period)} has {int(mask.sum())} dates in {where} "
                f"({enc.mean.index[0].date()} … {enc.mean.index[-1].date()}); at least 2 are needed. Choose a "
                "period inside it, or pass data covering the period (data=…; CLI: --data/--csv)."
            )
        return FactorEncoding(enc.mean[mask], enc.std[mask]), resid_f[mask]

    def stress_statistics(self, stress_period: tuple[Any, Any], *, data: pd.DataFrame | None = None
                          ) -> pd.DataFrame:
        r"""Latent distribution of a period: per factor, the mean of the posterior means and the standard deviation
        of the period's aggregate posterior, :math:`\sqrt{\operatorname{Var}_t\mu_t + \operatorname{mean}_t
        \sigma_t^2}`; the training span's values alongside for comparison."""
        self._check_fitted()
        enc, _ = self._period(stress_period, data)
        return pd.DataFrame({
            "mean": enc.mean.mean(), "std": np.sqrt(enc.mean.var(ddof=1) + (enc.std**2).mean()),
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
            Add idiosyncratic noise :math:`e\sim\mathcal N(0, D)` with the training residual variances (default
            ``True`` for sampled modes, ``False`` for ``'interpolate'``). Without it, scenarios carry only the
            factor-driven part of the variance.
        stress_period, start, end, data
            Dates are looked up in the training span, or in ``data`` (same units as ``input``) when given.
        """
        self._check_fitted()
        if mode not in SCENARIO_MODES:
            raise ConfigError(f"mode must be one of {list(SCENARIO_MODES)}, got {mode!r}.")
        if not _is_int(n) or n < 1:
            raise ConfigError(f"n must be a positive integer, got {n!r}.")
        rng = np.random.default_rng(seed)
        K = self.n_factors
        noise_std = np.sqrt(self._train_residuals.to_numpy(np.float64).__pow__(2).mean(axis=0))
        index: pd.Index = pd.RangeIndex(n, name="scenario")
        if mode == "interpolate":
            if start is None or end is None:
                raise ConfigError("mode='interpolate' needs start= and end= dates (e.g. a calm day and a crisis day).")
            z_a, z_b = self._latent_points(start, data)[0], self._latent_points(end, data)[0]
            alpha = np.linspace(0.0, 1.0, n)
            z = (1 - alpha)[:, None] * z_a + alpha[:, None] * z_b
            index = pd.Index(alpha, name="alpha")
            noise = False if noise is None else noise
        elif mode == "stressed":
            if stress_period is None:
                raise ConfigError("mode='stressed' needs stress_period=(start, end), "
                                  "e.g. ('2008-09-01', '2009-03-31').")
            enc, resid = self._period(stress_period, data)
            mu = enc.mean.mean().to_numpy()
            sd = np.sqrt(enc.mean.var(ddof=1).to_numpy() + (enc.std**2).mean().to_numpy())
            z = mu + sd * rng.standard_normal((n, K))
            noise_std = np.sqrt((resid.to_numpy(np.float64) ** 2).mean(axis=0))
        else:
            z = rng.standard_normal((n, K))
            if mode == "conditional":
                if not fixed:
                    raise ConfigError("mode='conditional' needs fixed={'f1': value, ...} — the factors to hold fixed.")
                for key, value in fixed.items():
                    k = self._factor_index(key)
                    if not np.isfinite(value):
                        raise ConfigError(f"fixed[{key!r}] must be a finite number, got {value!r}.")
                    z[:, k] = float(value)
        x = self._decode_standardised(z)
        if noise if noise is not None else True:
            x = x + noise_std * rng.standard_normal(x.shape)
        out = np.asarray(self.scaler_.inverse_transform(x))
        return pd.DataFrame(self._output_units(out), index=index, columns=self.columns_)

    def _factor_index(self, key: str | int) -> int:
        if _is_int(key) and 0 <= int(key) < self.n_factors:
            return int(key)
        if isinstance(key, str) and key in self.factor_names_:
            return self.factor_names_.index(key)
        raise ConfigError(
            f"Unknown factor {key!r}; use a name in {self.factor_names_} or an index 0..{self.n_factors - 1}."
        )

    # ------------------------------------------------------------------ risk
    def _weights(self, weights: Any) -> np.ndarray:
        if isinstance(weights, pd.Series):
            if weights.index.has_duplicates:
                dup = weights.index[weights.index.duplicated()].unique().tolist()
                raise DataValidationError(f"weights name assets more than once: {dup[:5]}; give one weight per asset.")
            if weights.isna().any():
                raise DataValidationError("weights must be finite numbers with a finite sum; found NaN or infinity.")
            unknown = [a for a in weights.index if a not in self.columns_]
            if unknown:
                raise DataValidationError(
                    f"weights name assets the model does not know: {unknown[:5]}; use names from model.columns_."
                )
            weights = weights.reindex(self.columns_).fillna(0.0)
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape[0] != len(self.columns_):
            raise DataValidationError(
                f"weights has {w.shape[0]} entries but the model has {len(self.columns_)} assets; pass one weight "
                "per asset in the order of model.columns_ (or a Series indexed by asset)."
            )
        if not np.isfinite(w).all() or not np.isfinite(w.sum()):
            raise DataValidationError("weights must be finite numbers with a finite sum; found NaN or infinity.")
        if not np.any(w):
            raise DataValidationError("weights are all zero; a portfolio needs at least one non-zero weight.")
        return w

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
            and :math:`D` = ``residual_var_``; Euler contributions per factor sum to the factor variance exactly.
            ``'monte_carlo'``: ``n_samples`` draws :math:`z\sim\mathcal N(\text{latent\_mean\_},
            \text{latent\_cov\_})` pushed through the nonlinear decoder; factor :math:`k`'s contribution is
            :math:`\operatorname{Cov}(w^\top\hat x(z), w^\top\hat x(z_k))` with :math:`z_k` = the mean with
            coordinate :math:`k` taken from the draw, and ``interaction`` is what the nonlinearity leaves over
            (exactly 0 for a linear decoder, where these are the Euler contributions).
        """
        self._check_fitted()
        w = self._weights(weights)
        if method not in ("linear", "monte_carlo"):
            raise ConfigError(f"method must be 'linear' or 'monte_carlo', got {method!r}.")
        names = self.factor_names_
        idio = float(w**2 @ self.residual_var_.to_numpy())
        if method == "linear":
            B = self.factor_loadings(at, data=data).to_numpy()
            cov_z = self.latent_cov_
            b = B.T @ w
            contrib = b * (cov_z @ b)
            factor_var = float(b @ cov_z @ b)
            sigma = B @ cov_z @ B.T + np.diag(self.residual_var_.to_numpy())
            asset = w * (sigma @ w)
            return RiskDecomposition(
                method="linear", total_variance=factor_var + idio, factor_variance=factor_var,
                idiosyncratic_variance=idio, factor_contributions=pd.Series(contrib, index=names),
                asset_contributions=pd.Series(asset, index=self.columns_), exposures=pd.Series(b, index=names),
                periods_per_year=self.periods_per_year,
            )
        if not _is_int(n_samples) or n_samples < 100:
            raise ConfigError(f"n_samples must be an integer >= 100, got {n_samples!r}.")
        rng = np.random.default_rng(seed)
        scale = self.scaler_.scale_.to_numpy()
        chol = np.linalg.cholesky(self.latent_cov_ + 1e-12 * np.eye(self.n_factors))
        z = self.latent_mean_ + rng.standard_normal((n_samples, self.n_factors)) @ chol.T
        port = (self._decode_standardised(z) * scale) @ w
        factor_var = float(port.var(ddof=1))
        centred = port - port.mean()
        contrib = []
        for k in range(self.n_factors):
            # the portfolio moved by factor k alone (others at their mean); its covariance with the full portfolio
            # is factor k's Euler contribution when the decoder is linear
            zk = np.tile(self.latent_mean_, (n_samples, 1))
            zk[:, k] = z[:, k]
            pk = (self._decode_standardised(zk) * scale) @ w
            contrib.append(float(centred @ (pk - pk.mean()) / (n_samples - 1)))
        exposures = self.factor_loadings(at, data=data).to_numpy().T @ w
        return RiskDecomposition(
            method="monte_carlo", total_variance=factor_var + idio, factor_variance=factor_var,
            idiosyncratic_variance=idio, factor_contributions=pd.Series(contrib, index=names),
            asset_contributions=pd.Series(dtype=np.float64), exposures=pd.Series(exposures, index=names),
            interaction=factor_var - sum(contrib), n_samples=int(n_samples), periods_per_year=self.periods_per_year,
        )

    # ------------------------------------------------------------------ anomalies
    @torch.no_grad()
    def _anomaly(self, z: pd.DataFrame, kl_weight: float = 0.1) -> pd.Series:
        x = torch.tensor(z.to_numpy(np.float32))
        recon, mu, log_var = self.vae_(x, sample=False)
        score = (x - recon).pow(2).mean(dim=1) + kl_weight * kl_divergence(mu, log_var)
        return pd.Series(score.double().numpy(), index=z.index, name="anomaly_score")

    def anomaly_scores(self, X: pd.DataFrame, kl_weight: float = 0.1) -> pd.Series:
        """Per-date anomaly score: mean squared standardised reconstruction error + ``kl_weight`` × KL.

        Compare with ``train_anomaly_scores_`` (e.g. its 99th percentile) to flag unusual later dates without using
        them to set the threshold.
        """
        self._check_fitted()
        if not kl_weight >= 0:
            raise ConfigError(f"kl_weight must be >= 0, got {kl_weight!r}.")
        return self._anomaly(self._standardised(X), kl_weight)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to directory ``path``: the network (config.json + weights.pt), the estimator's
        parameters and statistics (JSON) and the training factors and residuals (Parquet). Nothing is pickled."""
        self._check_fitted()
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        self.vae_.save(directory / "network")
        params = {k: _plain(v) for k, v in self.get_params().items()}
        state = {
            "params": params,
            "columns": [_plain(c) for c in self.columns_],
            "scaler_mean": self.scaler_.mean_.tolist(), "scaler_scale": self.scaler_.scale_.tolist(),
            "latent_mean": self.latent_mean_.tolist(), "latent_cov": self.latent_cov_.tolist(),
            "residual_var": self.residual_var_.tolist(), "history": self.history_.to_dict(),
        }
        (directory / _STATE_FILE).write_text(json.dumps(state, indent=2))
        f = pd.concat({"mean": self.train_factors_.mean, "std": self.train_factors_.std}, axis=1)
        f.columns = ["_".join(map(str, col)) for col in f.columns]
        f["anomaly_score"] = self.train_anomaly_scores_
        f.to_parquet(directory / _FACTORS_FILE)
        resid = self._train_residuals.copy()
        resid.columns = [str(c) for c in resid.columns]
        resid.to_parquet(directory / _RESID_FILE)
        return directory

    @classmethod
    def load(cls, path: str | Path) -> VAEFactorModel:
        """Rebuild a model written by :meth:`save`; raises ``CheckpointError`` on missing or corrupted files."""
        directory = Path(path)
        state_path = directory / _STATE_FILE
        if not state_path.is_file():
            raise CheckpointError(f"{state_path} is missing; pass the directory written by VAEFactorModel.save().")
        try:
            state = json.loads(state_path.read_text())
            params = dict(state["params"])
            params["hidden_dims"] = tuple(params["hidden_dims"])
            model = cls(**params)
            columns = pd.Index(state["columns"])
            factors = pd.read_parquet(directory / _FACTORS_FILE)
            resid = pd.read_parquet(directory / _RESID_FILE)
        except (json.JSONDecodeError, KeyError, TypeError, OSError, ValueError) as exc:
            raise CheckpointError(f"{directory} is not a readable VAEFactorModel ({type(exc).__name__}: {exc}).") \
                from exc
        model.vae_ = VAE.load(directory / "network")
        model.vae_.eval()
        model.columns_ = columns
        model.n_features_in_ = len(columns)
        scaler = Standardizer()
        scaler.mean_ = pd.Series(state["scaler_mean"], index=columns, dtype=np.float64)
        scaler.scale_ = pd.Series(state["scaler_scale"], index=columns, dtype=np.float64)
        scaler.n_features_in_ = len(columns)
        scaler.feature_names_in_ = np.asarray(columns, dtype=object)
        model.scaler_ = scaler
        model.latent_mean_ = np.asarray(state["latent_mean"], dtype=np.float64)
        model.latent_cov_ = np.asarray(state["latent_cov"], dtype=np.float64)
        model.residual_var_ = pd.Series(state["residual_var"], index=columns, name="residual_var")
        saved = state["history"]
        history = History(saved["history"])
        history.best_epoch, history.restored_best = saved["best_epoch"], saved["restored_best"]
        history.stopped_early, history.seconds = saved["stopped_early"], saved["seconds"]
        model.history_ = history
        names = model.factor_names_
        model.train_factors_ = FactorEncoding(
            factors[[f"mean_{k}" for k in names]].set_axis(names, axis=1),
            factors[[f"std_{k}" for k in names]].set_axis(names, axis=1),
        )
        model.train_anomaly_scores_ = factors["anomaly_score"].rename("anomaly_score")
        resid.columns = columns
        model._train_residuals = resid
        mu, sd = model.train_factors_.mean.to_numpy(), model.train_factors_.std.to_numpy()
        kl = -0.5 * (1 + np.log(sd**2) - mu**2 - sd**2)
        model.kl_per_factor_ = pd.Series(kl.mean(axis=0), index=names, name="kl_nats")
        return model
