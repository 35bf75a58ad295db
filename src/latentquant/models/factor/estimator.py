r"""The VAE factor model estimator: fit, encode/decode, loadings, scenarios, risk, anomalies, persistence.

The maths it delegates lives beside it: the scenario modes in :mod:`latentquant.models.factor.scenarios`, the
variance decompositions in :mod:`latentquant.models.factor.risk`, the result types in
:mod:`latentquant.models.factor.results`; the package docstring (:mod:`latentquant.models.factor`) describes the
model.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from latentquant.base import ESTIMATOR_FILE, BaseModel
from latentquant.data import Standardizer
from latentquant.data.returns import log_returns_from_simple
from latentquant.data.splits import tail_split
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.models.autoencoder import AETrainer
from latentquant.models.factor._analysis import (
    AnalysisMethods,
    _Decoder,  # noqa: F401  (re-exported: it lived here)
)
from latentquant.models.factor._generation import ScenarioMethods
from latentquant.models.factor._network import LIKELIHOODS, FactorVAE, as_factor_vae
from latentquant.models.factor._risk_methods import RiskMethods
from latentquant.models.factor.persistence import LEGACY_STATE_FILE, read_legacy
from latentquant.models.factor.results import FactorEncoding
from latentquant.nn import ACTIVATIONS
from latentquant.training import History
from latentquant.validation import Constraint, Interval, Options, SequenceOf, check_frame

__all__ = ["INPUTS", "VAEFactorModel"]

INPUTS = ("prices", "log_returns", "returns")
# encode/decode in blocks of this many rows: bounded memory on long histories
_BLOCK = 65536


class VAEFactorModel(ScenarioMethods, RiskMethods, AnalysisMethods, BaseModel):
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
