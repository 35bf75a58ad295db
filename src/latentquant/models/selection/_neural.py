"""The base of the neural feature-selection regressors (private module; public names for the sibling modules).

:class:`NeuralRegressor` holds what :class:`~latentquant.models.selection.MLPRegressor`, the attention selectors and
:class:`~latentquant.models.selection.VAEFeatures` share: the training hyperparameters and their constraints, input
checks (:mod:`latentquant.models.selection._inputs`), the standardisation of features and target fitted on the
training rows only, one call of the shared :class:`~latentquant.training.Trainer`, warm start, batched prediction
(a Series on ``X``'s index) and persistence (the networks through their registered configuration).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import torch
from sklearn.base import RegressorMixin
from torch import nn

from latentquant._math import standardize_stats
from latentquant.base import BaseModel
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.selection._inputs import check_columns, feature_values, target_values
from latentquant.nn.layers import ACTIVATIONS
from latentquant.training import History, Trainer
from latentquant.training.trainer import resolve_device
from latentquant.validation import Constraint, Interval, Options, SequenceOf

__all__ = ["ACTIVATION", "EVAL_ROWS", "MIN_ROWS", "WIDTHS", "NeuralRegressor"]

#: Fewest training rows accepted by ``fit``.
MIN_ROWS = 10
#: Rows per forward pass in prediction and importance (bounds the memory of the attention matrices).
EVAL_ROWS = 1024
#: Constraints shared by the estimators: hidden widths (``()`` for none) and the activation names.
WIDTHS: list[Constraint] = [SequenceOf(Interval(Integral, 1, None))]
ACTIVATION: list[Constraint] = [Options(*sorted(ACTIVATIONS))]


class NeuralRegressor(RegressorMixin, BaseModel, metaclass=ABCMeta):  # type: ignore[misc]
    """Validation, standardisation, training and prediction shared by the neural selectors.

    Subclasses declare their own hyperparameters (``__init__`` and ``_parameter_constraints``) and implement
    :meth:`_build_network`; :class:`~latentquant.models.selection.VAEFeatures` also overrides ``fit`` and
    :meth:`_forward`.

    Examples
    --------
    >>> from latentquant.models.selection import MLPRegressor
    >>> issubclass(MLPRegressor, NeuralRegressor), sorted(NeuralRegressor._parameter_constraints)[:3]
    (True, ['batch_size', 'device', 'epochs'])
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "epochs": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None)],
        "patience": [Interval(Integral, 1, None)],
        "seed": [Interval(Integral, None, None), None],
        "device": [str, torch.device],
        "verbose": ["boolean", None],
        "warm_start": ["boolean"],
    }
    _fit_hint = "call fit(X, y) first"

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    patience: int
    seed: int | None
    device: str
    verbose: bool | None
    warm_start: bool
    model_: nn.Module

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _build_network(self, n_features: int) -> nn.Module:
        """A freshly initialised network (called under the estimator's seed)."""

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised rows → standardised predictions ``(n,)``."""
        return self.model_(x)

    def _prepare_tokens(self) -> None:
        """Record the token layout from the columns seen in ``fit`` (attention models)."""

    def _check_param_relations(self) -> None:
        """Checks that involve several hyperparameters (after each one met its constraints)."""

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        super()._check_params()
        self._check_param_relations()
        resolve_device(self.device)  # 'cuda' without CUDA is a ConfigError here, not in the middle of training

    def _is_fitted(self) -> bool:
        return hasattr(self, "model_")

    def _validate_X(self, X: Any, *, name: str = "X", reset: bool) -> tuple[np.ndarray, pd.Index | None]:
        """Float32 values and row index of ``X``; with ``reset`` record the columns, else check them against the
        recorded ones."""
        arr, index, columns = feature_values(X, name=name, dtype=np.float32)
        names = None if columns is None else [str(c) for c in columns]
        if reset:
            self.n_features_in_ = int(arr.shape[1])
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            check_columns(type(self).__name__, getattr(self, "feature_names_in_", None), self.n_features_in_, arr,
                          names, name=name)
        return arr, index

    def _validate_fit_data(self, X: Any, y: Any, X_val: Any, y_val: Any, *, reset: bool
                           ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        x, _ = self._validate_X(X, reset=reset)
        if x.shape[0] < MIN_ROWS:
            raise DataValidationError(f"X has {x.shape[0]} rows; {type(self).__name__} needs at least {MIN_ROWS} "
                                      "training rows.")
        target = target_values(y, x.shape[0], X=X)
        if (X_val is None) != (y_val is None):
            raise ConfigError("X_val and y_val must be given together (validation rows for early stopping), "
                              f"got only {'X_val' if X_val is not None else 'y_val'}.")
        val = None
        if X_val is not None:
            xv, _ = self._validate_X(X_val, name="X_val", reset=False)
            val = (xv, target_values(y_val, xv.shape[0], X=X_val, name="y_val", x_name="X_val"))
        return x, target, val

    # ------------------------------------------------------------------ scaling
    def _set_scalers(self, x: np.ndarray, y: np.ndarray) -> None:
        self._set_x_scaler(x)
        self._set_y_scaler(y)

    def _set_x_scaler(self, x: np.ndarray) -> None:
        mean, std = standardize_stats(x, ddof=0)  # float64 statistics of the float32 rows
        self.mean_ = mean.astype(np.float32)
        self.scale_ = np.where(std > 1e-12, std, 1.0).astype(np.float32)  # constant features: scale 1

    def _set_y_scaler(self, y: np.ndarray) -> None:
        self.y_mean_ = float(y.mean())
        std = float(y.std())
        self.y_scale_ = std if std > 0 else 1.0

    def _scale_x(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray((x - self.mean_) / self.scale_, dtype=np.float32))

    def _scale_y(self, y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((y - self.y_mean_) / self.y_scale_).astype(np.float32))

    # ------------------------------------------------------------------ training
    def _trainer(self, has_val: bool) -> Trainer:
        return Trainer(epochs=int(self.epochs), batch_size=int(self.batch_size), lr=float(self.lr),
                       weight_decay=float(self.weight_decay), validation_split=0.0, early_stopping=has_val,
                       patience=int(self.patience), seed=None if self.seed is None else int(self.seed),
                       device=self.device, verbose=self.verbose, eval_batch_size=EVAL_ROWS)

    def _new_network(self, n_features: int) -> nn.Module:
        with torch.random.fork_rng(enabled=self.seed is not None):
            if self.seed is not None:
                torch.manual_seed(int(self.seed))
            return self._build_network(n_features)

    def _train_network(self, net: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
                       val: tuple[torch.Tensor, torch.Tensor] | None) -> None:
        def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            return {"loss": (m(batch[0]) - batch[1]).pow(2).mean()}

        history = self._trainer(val is not None).fit(net, loss_fn, train, val)
        net.eval()
        self.history_: History = history
        self.best_epoch_: int | None = history.best_epoch if val is not None else None
        self.device_ = resolve_device(self.device)

    # ------------------------------------------------------------------ public API
    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None) -> Self:
        """Fit on training rows ``X`` and next-day returns ``y``; returns ``self``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like, shape (n_samples, n_features)
            Training rows (finite). The standardisation statistics come from these rows only.
        y : array-like, shape (n_samples,)
            Targets (next-day returns), standardised by their training mean and standard deviation; predictions
            are returned in the original units. A Series must share a DataFrame ``X``'s index.
        X_val, y_val : optional
            Validation rows for early stopping (the best epoch's weights are restored). Without them every epoch
            runs.

        Notes
        -----
        With ``warm_start=True`` and a fitted estimator, training continues from the current weights and keeps the
        fitted scalers (``mean_``, ``scale_``, ``y_mean_``, ``y_scale_``): fine-tuning after pre-training on
        other assets.
        """
        self._check_params()
        continuing = bool(self.warm_start) and self._is_fitted()
        x, target, val = self._validate_fit_data(X, y, X_val, y_val, reset=not continuing)
        if not continuing:
            self._set_scalers(x, target)
            self._prepare_tokens()
            self.model_ = self._new_network(x.shape[1])
        val_t = None if val is None else (self._scale_x(val[0]), self._scale_y(val[1]))
        self._train_network(self.model_, (self._scale_x(x), self._scale_y(target)), val_t)
        return self

    def _batches(self, X: Any) -> tuple[Iterator[torch.Tensor], pd.Index]:
        """Standardised rows of ``X`` in chunks of :data:`EVAL_ROWS` on the model's device, and the output index
        (``X``'s, a RangeIndex for arrays)."""
        self._check_fitted("model_")
        arr, index = self._validate_X(X, reset=False)
        x = self._scale_x(arr)

        def chunks() -> Iterator[torch.Tensor]:
            for start in range(0, x.shape[0], EVAL_ROWS):
                yield x[start:start + EVAL_ROWS].to(self.device_)

        return chunks(), index if index is not None else pd.RangeIndex(arr.shape[0])

    @torch.no_grad()
    def predict(self, X: Any) -> pd.Series:
        """Predicted next-day returns in the units of ``y``, a Series named ``"prediction"`` on ``X``'s index (a
        RangeIndex for arrays)."""
        batches, index = self._batches(X)
        out = torch.cat([self._forward(xb).cpu() for xb in batches]).numpy().astype(np.float64)
        return pd.Series(self.y_mean_ + self.y_scale_ * out, index=index, name="prediction")

    # ------------------------------------------------------------------ persistence
