r"""The VAE factor model estimator: fit, encode/decode, loadings, scenarios, risk, anomalies, persistence.

The maths it delegates lives beside it: the scenario modes in :mod:`latentquant.models.factor.scenarios`, the
variance decompositions in :mod:`latentquant.models.factor.risk`, the result types in
:mod:`latentquant.models.factor.results`; the package docstring (:mod:`latentquant.models.factor`) describes the
model.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from latentquant._math import kl_standard_normal, uncentred_r2
from latentquant.base import ESTIMATOR_FILE, BaseModel
from latentquant.data import Standardizer
from latentquant.data.returns import log_returns_from_simple
from latentquant.data.splits import tail_split
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.models.autoencoder import AETrainer
from latentquant.models.factor._generation import ScenarioMethods
from latentquant.models.factor._network import LIKELIHOODS, FactorVAE, as_factor_vae
from latentquant.models.factor._risk_methods import RiskMethods
from latentquant.models.factor.persistence import LEGACY_STATE_FILE, read_legacy
from latentquant.models.factor.results import FactorEncoding
from latentquant.nn import ACTIVATIONS
from latentquant.training import History
from latentquant.validation import Constraint, Interval, Options, SequenceOf, check_arg, check_frame

__all__ = ["INPUTS", "VAEFactorModel"]

INPUTS = ("prices", "log_returns", "returns")
# encode/decode in blocks of this many rows: bounded memory on long histories
_BLOCK = 65536


class _Decoder(torch.nn.Module):
    """The decoding map of a network as a module of its own (for Jacobians and Monte Carlo risk)."""

    def __init__(self, net: FactorVAE) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net.decode(z)


class VAEFactorModel(ScenarioMethods, RiskMethods, BaseModel):
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
    seed : int or None
        Seed of the initial weights and of training: same seed, same data → identical factors on CPU.
    device : str
        ``'auto'`` (CUDA when available), ``'cpu'`` or ``'cuda'`` for training; the fitted model lives on the CPU.
    verbose : bool or None
        Progress bar on a terminal (``None``), always (``True``) or never (``False``).
    periods_per_year : int
        Annualisation used in summaries (252 for daily equity data, 365 for crypto).
    likelihood : {"unit", "isotropic", "diagonal", "student_t"}
        Observation model of the standardised returns given the factors (:class:`FactorVAE`): ``"unit"`` is the
        plain VAE's squared error; the others learn the idiosyncratic variance (one shared, one per asset, or a
        per-asset Student-t scale and degrees of freedom), which makes the loss a bound on the log-likelihood and
        ``beta=1`` a calibrated objective.
    linear_skip : bool
        Linear encoder and decoder paths beside the networks, whose last layers start at zero: the model starts
        linear and can nest PCA.
    init : {"auto", "fa", "pca", "random"}
        Start of the linear paths, fitted on the training rows before the validation block (needs
        ``linear_skip=True``): ``"fa"`` at factor analysis' maximum likelihood (per-asset noise; likelihood
        ``"diagonal"`` or ``"student_t"``), ``"pca"`` at probabilistic PCA's, each with the encoder at the exact
        posterior, so training starts from the best linear Gaussian model's log-likelihood. ``"auto"``: ``"fa"`` for
        a per-asset noise when factor analysis is identified (``n_factors`` within the Ledermann bound
        :math:`((2N+1)-\\sqrt{8N+1})/2`), ``"pca"`` otherwise, ``"random"`` without linear paths.
    free_bits : float
        Floor (nats per factor) on each factor's KL in the loss, against posterior collapse; 0 disables it.
    kl_warmup : int
        Epochs over which the KL weight rises linearly to ``beta`` on training batches (validation always uses
        ``beta``); 0 disables the warm-up.

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
    idiosyncratic_var_ : pandas.Series
        The idiosyncratic variance the risk methods use: the learned observation noise in model units
        (``residual_var_`` for ``likelihood='unit'``).
    kl_per_factor_ : pandas.Series
        Mean KL divergence of each factor from the prior on the training span (nats); < 0.01 = inactive.
    train_anomaly_scores_ : pandas.Series
        :meth:`anomaly_scores` of the training dates (a reference to set thresholds on).
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

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "n_factors": [Interval(Integral, 1, None)],
        "input": [Options(*INPUTS)],
        "beta": [Interval(Real, 0, None)],
        "hidden_dims": [SequenceOf(Interval(Integral, 1, None))],
        "activation": [Options(*ACTIVATIONS)],
        "epochs": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 1, None)],
        "early_stopping": ["boolean"],
        "seed": [Interval(Integral, 0, None), None],
        "device": [str],
        "verbose": ["boolean", None],
        "periods_per_year": [Interval(Integral, 1, None)],
        "likelihood": [Options(*LIKELIHOODS)],
        "linear_skip": ["boolean"],
        "init": [Options("auto", "random", "pca", "fa")],
        "free_bits": [Interval(Real, 0, None)],
        "kl_warmup": [Interval(Integral, 0, None)],
    }
    _fit_hint = "call fit(returns)"

    def __init__(self, n_factors: int = 3, *, input: str = "log_returns", beta: float = 1.0,
                 hidden_dims: Sequence[int] = (64, 32), activation: str = "relu", epochs: int = 300,
                 batch_size: int = 128, lr: float = 1e-3, validation_split: float = 0.2, patience: int = 20,
                 early_stopping: bool = True, seed: int | None = 0, device: str = "auto", verbose: bool | None = None,
                 periods_per_year: int = 252, likelihood: str = "student_t", linear_skip: bool = True,
                 init: str = "auto", free_bits: float = 0.0, kl_warmup: int = 0) -> None:
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
        self.likelihood = likelihood
        self.linear_skip = linear_skip
        self.init = init
        self.free_bits = free_bits
        self.kl_warmup = kl_warmup

    # ------------------------------------------------------------------ conversion
    def _to_log_returns(self, X: Any, name: str) -> pd.DataFrame:
        """Validate ``X`` (in the units given by ``input``) and return complete rows of log returns."""
        if self.input == "prices":
            prices = check_frame(X, name=name, allow_nan=True, positive=True, min_rows=2)
            values = np.log(prices.to_numpy())
            lr = pd.DataFrame(np.diff(values, axis=0), index=prices.index[1:], columns=prices.columns)
        else:
            lr = check_frame(X, name=name, allow_nan=True)
            if self.input == "returns":
                lr = log_returns_from_simple(lr, name=name)
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
                f"model was fitted on ({detail}); select and order the columns as the model's: "
                f"X[model.columns_]."
            )
        if lr.empty:
            raise DataValidationError(f"{name} has no complete rows to encode.")
        return self.scaler_.transform(lr)

    def _output_units(self, log_ret: np.ndarray) -> np.ndarray:
        return np.expm1(log_ret) if self.input == "returns" else log_ret

    @property
    def factor_names_(self) -> list[str]:
        """``['f1', ..., 'fK']``: the factor column names of every output."""
        return [f"f{k + 1}" for k in range(self.n_factors)]

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y: Any = None) -> VAEFactorModel:
        """Fit the model on a training span of returns or prices (dates × assets, in time order).

        The standardisation is fitted on these rows only; the last ``validation_split`` share of them is the
        early-stopping block. Rows with a missing value in some column are dropped (with a ``DataWarning``).

        Parameters
        ----------
        X : pandas.DataFrame
            Dates × assets in the units of ``input``.
        y : None
            Ignored.

        Returns
        -------
        VAEFactorModel
            ``self``, fitted.
        """
        self._check_params()
        if self.init in ("pca", "fa") and not self.linear_skip:
            raise ConfigError(f"init={self.init!r} needs linear_skip=True: the linear paths hold the "
                              f"{self.init.upper()} solution.")
        if self.init == "fa" and self.likelihood not in ("diagonal", "student_t"):
            raise ConfigError(f"init='fa' needs a per-asset noise (likelihood 'diagonal' or 'student_t'), got "
                              f"likelihood={self.likelihood!r}; use init='pca'.")
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
        init = self.init
        if init == "auto":
            # factor analysis is identified only up to the Ledermann bound (1 factor for 3 assets, 14 for 20)
            identified = self.n_factors <= (2 * n_assets + 1 - np.sqrt(8 * n_assets + 1)) / 2
            per_asset = self.likelihood in ("diagonal", "student_t") and identified
            init = ("fa" if per_asset else "pca") if self.linear_skip else "random"
        self.scaler_ = Standardizer().fit(lr)
        z = self.scaler_.transform(lr)
        vae = FactorVAE(n_assets, self.n_factors, list(self.hidden_dims), activation=self.activation, seed=self.seed,
                        likelihood=self.likelihood, linear_skip=self.linear_skip, free_bits=self.free_bits)
        if init in ("pca", "fa"):
            rows = z.to_numpy()
            if self.validation_split > 0:  # fitted on the training rows only, not on the early-stopping block
                rows = rows[tail_split(len(rows), self.validation_split)[0]]
            vae.init_from_pca(rows) if init == "pca" else vae.init_from_fa(rows)
        trainer = AETrainer(beta=self.beta, batch_size=self.batch_size, lr=self.lr,
                            validation_split=self.validation_split, early_stopping=self.early_stopping,
                            patience=self.patience, seed=self.seed, verbose=self.verbose, device=self.device,
                            kl_warmup=self.kl_warmup)
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
        self.kl_per_factor_ = enc.kl_per_factor()
        self.train_anomaly_scores_ = self._anomaly(z)

    # ------------------------------------------------------------------ encode / decode
    @torch.no_grad()
    def _encode_standardised(self, z: pd.DataFrame) -> FactorEncoding:
        x = torch.tensor(z.to_numpy(np.float32))
        mus, sds = [], []
        for i in range(0, x.shape[0], _BLOCK):
            mu, log_var = self.vae_.encode(x[i:i + _BLOCK])
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
        out = [self.vae_.decode(z[i:i + _BLOCK]) for i in range(0, z.shape[0], _BLOCK)]
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
        """:meth:`fit` on ``X``, then the posterior means of its dates."""
        return self.fit(X).transform(X)

    def _latent_array(self, z: Any, name: str = "z") -> np.ndarray:
        if isinstance(z, pd.DataFrame):
            missing = [c for c in self.factor_names_ if c not in z.columns]
            if missing:
                raise DataValidationError(f"{name} lacks factor columns {missing}; expected {self.factor_names_}.")
            if list(z.columns) != self.factor_names_:
                # columns picked or reordered: give the decoder the same C-ordered block an array of these values
                # would (a strided float32 input takes another matmul kernel and rounds differently)
                z = np.ascontiguousarray(z[self.factor_names_].to_numpy(np.float64))
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

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, path: str | Path) -> VAEFactorModel:
        """Rebuild a model written by :meth:`save` (raises ``CheckpointError`` on missing or corrupted files).

        A directory written by latentquant 0.1.0 (``factor_model.json``, ``network/``, Parquet files) still loads,
        with a ``FutureWarning``: save it again to move it to the current format.
        """
        directory = Path(path)
        if not (directory / ESTIMATOR_FILE).is_file() and (directory / LEGACY_STATE_FILE).is_file():
            warnings.warn(
                f"{directory} holds a VAEFactorModel in the 0.1.0 layout ({LEGACY_STATE_FILE}); reading it will stop "
                "working in the next release. Load it now and save it again (model.save(path)) to keep it.",
                FutureWarning, stacklevel=2,
            )
            params, state = read_legacy(directory)
            model = cls(**params)
            model._restore_state(state)
        else:
            model = super().load(directory)
        model.vae_ = as_factor_vae(model.vae_)  # models saved with the plain VAE network
        return model
