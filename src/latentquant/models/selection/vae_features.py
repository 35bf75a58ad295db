r"""VAE features → MLP head: an unsupervised compression of the features as the regressor's input (REFERENCE §5).

A :class:`~latentquant.models.autoencoder.VAE` (ReLU encoder and mirrored decoder, two hidden layers by default) is
trained on the standardised training features alone (no target); the posterior means :math:`\mu(x)` of the
``latent_dim`` latent variables are the inputs of an MLP head trained on next-day returns.

Pre-training and fine-tuning
----------------------------
* ``pretrain_vae(X_other)`` fits the feature scaler and the VAE on other data (e.g. the pooled rows of 19 other
  stocks) and discards any fitted head; a following ``fit(X, y)`` keeps the VAE weights *and* its scaler (the VAE
  was trained on that scale) and trains only the head on the target asset. A VAE set by :meth:`pretrain_vae` is never
  silently replaced: ``fit`` refits it only when asked to (``refit_vae=True``).
* ``fit(X, y)`` without pre-training fits scaler and VAE on ``X`` from scratch, then the head.
* ``refit_vae=True`` forces the VAE to be trained on ``X``; with ``warm_start=True`` and a fitted VAE it is
  fine-tuned from its current weights (scaler kept) — pre-train then fine-tune — and the head is continued when
  already fitted. ``refit_vae=False`` trains the head only and needs a fitted VAE.

References
----------
Kingma, D. P. & Welling, M. (2014). Auto-Encoding Variational Bayes. ICLR.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentquant.exceptions import DataValidationError, NotFittedError
from latentquant.models.autoencoder import VAE, AETrainer
from latentquant.models.selection._networks import MLPRegressorNet
from latentquant.models.selection._neural import ACTIVATION, EVAL_ROWS, MIN_ROWS, WIDTHS, NeuralRegressor
from latentquant.training import History
from latentquant.training.trainer import resolve_device
from latentquant.validation import Constraint, Interval, check_arg

__all__ = ["VAEFeatures"]


class VAEFeatures(NeuralRegressor):
    """Regressor on VAE latent means: ``x → μ(x) → MLP head → next-day return``.

    Parameters
    ----------
    latent_dim : int
        Number of latent variables (8 in the study: 14 technical features → 8).
    vae_hidden_dims : sequence of int
        Encoder hidden widths with ReLU (the decoder mirrors them); default two layers ``(32, 16)``.
    beta : float
        Weight of the KL term of the VAE loss (1: standard VAE).
    vae_epochs, vae_lr : int, float
        Epochs and Adam learning rate of the unsupervised VAE training (``batch_size``, ``patience``, ``seed``,
        ``device`` and ``verbose`` are shared with the head).
    head_hidden_dims : sequence of int
        Hidden widths of the MLP head (default ``(2,)``, as :class:`~latentquant.models.selection.MLPRegressor`).
    activation : str
        Activation of the head.
    dropout : float
        Dropout in the head, in [0, 1).
    epochs, batch_size, lr, weight_decay, patience, seed, device, verbose, warm_start
        As :class:`~latentquant.models.selection.MLPRegressor` (for the head; ``warm_start`` also continues the VAE).

    Attributes
    ----------
    vae_ : VAE
        The fitted VAE (standardised features in).
    vae_pretrained_ : bool
        Whether ``vae_`` was set by :meth:`pretrain_vae` (then ``fit`` keeps it unless ``refit_vae=True``).
    model_ : torch.nn.Module
        The head (latent means in, standardised return out).
    mean_, scale_ : numpy.ndarray
        Feature standardisation of the rows the VAE was trained on (``fit`` with ``refit_vae=True`` or
        :meth:`pretrain_vae`).
    y_mean_, y_scale_ : float
        Target standardisation of the rows the head was trained on.
    vae_history_, history_ : History
        Per-epoch losses of the last VAE and head trainings.
    best_epoch_ : int or None
        Epoch whose head weights were kept (``None`` without validation data).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6)); y = 0.01 * X[:, 0]
    >>> model = VAEFeatures(latent_dim=3, vae_epochs=2, epochs=2).fit(X, y)
    >>> model.transform(X).shape, model.predict(X).shape
    ((200, 3), (200,))
    >>> other = rng.normal(size=(300, 6))
    >>> model = VAEFeatures(latent_dim=3, vae_epochs=2, epochs=2).pretrain_vae(other)
    >>> model.fit(X, y).predict(X[:2]).shape  # head only: the pre-trained VAE is kept
    (2,)
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "latent_dim": [Interval(Integral, 1, None)],
        "vae_hidden_dims": WIDTHS,
        "beta": [Interval(Real, 0, None)],
        "vae_epochs": [Interval(Integral, 1, None)],
        "vae_lr": [Interval(Real, 0, None, closed="neither")],
        "head_hidden_dims": WIDTHS,
        "activation": ACTIVATION,
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    vae_: VAE

    _renamed_params: ClassVar[dict[str, str]] = {"vae_hidden": "vae_hidden_dims", "head_hidden": "head_hidden_dims"}

    def __init__(self, latent_dim: int = 8, *, vae_hidden_dims: Sequence[int] = (32, 16), beta: float = 1.0,
                 vae_epochs: int = 100, vae_lr: float = 1e-3, head_hidden_dims: Sequence[int] = (2,),
                 activation: str = "relu", dropout: float = 0.0, epochs: int = 200, batch_size: int = 64,
                 lr: float = 1e-3, weight_decay: float = 0.0, patience: int = 20, seed: int | None = 0,
                 device: str = "auto", verbose: bool | None = False, warm_start: bool = False) -> None:
        self.latent_dim = latent_dim
        self.vae_hidden_dims = vae_hidden_dims
        self.beta = beta
        self.vae_epochs = vae_epochs
        self.vae_lr = vae_lr
        self.head_hidden_dims = head_hidden_dims
        self.activation = activation
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------------ hooks
    def _build_network(self, n_features: int) -> nn.Module:
        widths = [int(h) for h in self.head_hidden_dims]
        return MLPRegressorNet(n_features, widths, self.activation, float(self.dropout))

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model_(self.vae_.latent_mean(x))

    # ------------------------------------------------------------------ internals
    def _fit_vae(self, x: np.ndarray, x_val: np.ndarray | None, *, continuing: bool) -> None:
        if not continuing:
            self._set_x_scaler(x)
            self.vae_ = VAE(input_dim=x.shape[1], latent_dim=int(self.latent_dim),
                            hidden_dims=[int(h) for h in self.vae_hidden_dims], activation="relu",
                            seed=None if self.seed is None else int(self.seed))
        self.vae_.to("cpu")
        trainer = AETrainer(beta=float(self.beta), batch_size=int(self.batch_size), lr=float(self.vae_lr),
                            validation_split=0.0, early_stopping=x_val is not None, patience=int(self.patience),
                            seed=None if self.seed is None else int(self.seed), verbose=self.verbose,
                            device=self.device)
        self.vae_history_: History = trainer.fit(self.vae_, self._scale_x(x), epochs=int(self.vae_epochs),
                                                 X_val=None if x_val is None else self._scale_x(x_val))
        self.device_ = resolve_device(self.device)
        self.vae_.to(self.device_).eval()

    @torch.no_grad()
    def _latent(self, xs: torch.Tensor) -> torch.Tensor:
        self.vae_.eval()
        parts = [self.vae_.latent_mean(xs[i:i + EVAL_ROWS].to(self.device_)).cpu()
                 for i in range(0, xs.shape[0], EVAL_ROWS)]
        return torch.cat(parts)

    # ------------------------------------------------------------------ public API
    def pretrain_vae(self, X: Any, *, X_val: Any = None) -> Self:
        """Fit the feature scaler and the VAE on ``X`` only (e.g. other assets' rows) and drop any fitted head.

        Follow with ``fit(X_target, y_target)`` to train the head on the target with this VAE (``refit_vae=True``
        with ``warm_start=True`` fine-tunes the VAE on the target first). With ``warm_start=True`` and a fitted VAE,
        pre-training continues from its weights and scaler.

        Parameters
        ----------
        X : pandas.DataFrame or array-like, shape (n_samples, n_features)
            Unlabelled training rows.
        X_val : optional
            Validation rows for early stopping of the VAE.
        """
        self._check_params()
        continuing = bool(self.warm_start) and hasattr(self, "vae_")
        x, _ = self._validate_X(X, reset=not continuing)
        if x.shape[0] < MIN_ROWS:
            raise DataValidationError(f"X has {x.shape[0]} rows; VAEFeatures needs at least {MIN_ROWS} rows.")
        x_val = None if X_val is None else self._validate_X(X_val, name="X_val", reset=False)[0]
        self._fit_vae(x, x_val, continuing=continuing)
        self.vae_pretrained_ = True
        if hasattr(self, "model_"):
            del self.model_  # a head fitted on the old latent space no longer applies
        return self

    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None, refit_vae: bool | None = None) -> Self:
        """Fit the VAE on ``X`` alone (see ``refit_vae``), then the head on ``(μ(X), y)``; returns ``self``.

        Parameters
        ----------
        X, y, X_val, y_val
            As :meth:`MLPRegressor.fit <latentquant.models.selection.MLPRegressor.fit>`; ``X_val`` also early-stops
            the VAE.
        refit_vae : bool or None
            ``None`` (default): keep a VAE set by :meth:`pretrain_vae` (as ``False``), otherwise as ``True``.
            ``True``: fit the scaler and the VAE on ``X`` (continue the fitted VAE when ``warm_start``). ``False``:
            keep the fitted VAE and its scaler (after :meth:`pretrain_vae` or an earlier fit) and train the head only.

        Raises
        ------
        NotFittedError
            ``refit_vae=False`` without a fitted VAE.
        """
        self._check_params()
        check_arg("refit_vae", refit_vae, "boolean", None, owner="VAEFeatures")
        vae_fitted = hasattr(self, "vae_")
        if refit_vae is None:
            refit_vae = not (vae_fitted and getattr(self, "vae_pretrained_", False))
        if not refit_vae and not vae_fitted:
            raise NotFittedError("refit_vae=False needs a fitted VAE; call pretrain_vae(X_other) first or pass "
                                 "refit_vae=True.")
        head_continues = bool(self.warm_start) and self._is_fitted()
        keep_columns = vae_fitted and (not refit_vae or bool(self.warm_start))
        x, target, val = self._validate_fit_data(X, y, X_val, y_val, reset=not keep_columns)
        if refit_vae:
            self._fit_vae(x, None if val is None else val[0], continuing=vae_fitted and bool(self.warm_start))
            self.vae_pretrained_ = False
        if not head_continues:
            self._set_y_scaler(target)
            self.model_ = self._new_network(int(self.latent_dim))
        z = self._latent(self._scale_x(x))
        val_t = None if val is None else (self._latent(self._scale_x(val[0])), self._scale_y(val[1]))
        self._train_network(self.model_, (z, self._scale_y(target)), val_t)
        return self

    @torch.no_grad()
    def transform(self, X: Any) -> pd.DataFrame:
        """Latent means :math:`\\mu(x)` of the VAE: a DataFrame ``(n_samples, latent_dim)`` with columns ``z0``,
        ``z1``, … on ``X``'s index (a RangeIndex for arrays)."""
        if not hasattr(self, "vae_"):
            raise NotFittedError("This VAEFeatures has no fitted VAE yet; call fit(X, y) or pretrain_vae(X) first.")
        arr, index = self._validate_X(X, reset=False)
        z = self._latent(self._scale_x(arr)).numpy().astype(np.float64)
        return pd.DataFrame(z, index=index if index is not None else pd.RangeIndex(arr.shape[0]),
                            columns=[f"z{j}" for j in range(z.shape[1])])
