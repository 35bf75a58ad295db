r"""Next-day-return regressors that select features per sample with attention (REFERENCE §5).

Three scikit-learn–style estimators share one private base (:class:`_NeuralRegressor`: validation, scaling,
training through the shared :class:`~latentquant.training.Trainer`, warm start, prediction):

* :class:`MLPRegressor` — the baseline of the study: the standardised features through an MLP with one hidden layer
  of 2 units.
* :class:`SelfAttentionSelector` — every column is a token; multi-head self-attention over all tokens, then the same
  MLP head on the mean of the token representations.
* :class:`CrossAttentionSelector` — technical-feature tokens (queries) attend to time-series (macro) tokens
  (keys/values).

Token embedding (both attention models). Column :math:`j` with base feature :math:`f(j)` and lag :math:`k(j)` (a
column ``rsi14_lag3`` has base ``rsi14`` and lag 3; a column without ``_lag<k>`` suffix has lag 0) and standardised
value :math:`x_j` becomes

.. math::

   e_j = x_j\,w_{f(j)} + u_{f(j)} + \ell_{k(j)} \in \mathbb R^{d},

a *per-feature* linear map of the scalar value (:math:`w_f`, shared by the lags of a feature so that ``rsi14`` and
``rsi14_lag3`` are read on the same axis) plus a learned feature-identity embedding :math:`u_f` and a learned lag
embedding :math:`\ell_k` (the identity of a lagged token is :math:`u_f+\ell_k`). A per-feature map rather than one
shared ``Linear(1, d)`` lets features with different meanings write into different directions of the embedding
space; the per-feature bias is :math:`u_f` itself.

Attention. Pre-LayerNorm blocks :math:`h\leftarrow h+\mathrm{MHA}(\mathrm{LN}(h))`,
:math:`h\leftarrow h+\mathrm{FFN}(\mathrm{LN}(h))` with, per head,

.. math::

   A = \operatorname{softmax}\!\big(QK^\top/\sqrt{d_h}\big),\qquad Z = AV,

rows of :math:`A` indexed by query tokens and columns by key tokens (:func:`attention_weights`). The context vector is
the mean over the (query) tokens of the final, layer-normalised representations; it goes through the MLP head to the
prediction.

Feature importance (:meth:`~_AttentionSelector.importance`, :func:`attention_importance`): for each sample, the column
sums of :math:`A` — the attention each key token receives, summed over query tokens — averaged over heads and layers
and normalised so the row sums to 1. As every row of :math:`A` sums to 1, the normalisation divides by the number of
query tokens, so the importance of a key token is the average share of attention it gets from a query token.

References
----------
Vaswani, A. et al. (2017). Attention Is All You Need. NeurIPS.
Xiong, R. et al. (2020). On Layer Normalization in the Transformer Architecture. ICML (pre-LN blocks).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from torch import nn

from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError
from latentquant.features.technical import MACRO_FEATURES
from latentquant.nn import mlp
from latentquant.nn.layers import ACTIVATIONS, make_activation
from latentquant.training import History, Trainer
from latentquant.training.trainer import resolve_device

__all__ = [
    "CrossAttentionSelector",
    "MLPRegressor",
    "SelfAttentionSelector",
    "attention_importance",
    "attention_weights",
    "split_lag",
]

#: Fewest training rows accepted by ``fit``.
MIN_ROWS = 10
#: Rows per forward pass in prediction and importance (bounds the memory of the attention matrices).
_EVAL_ROWS = 1024
_LAG_RE = re.compile(r"^(?P<base>.+)_lag(?P<k>[1-9][0-9]*)$")


# ---------------------------------------------------------------------------------------------- pure functions
def split_lag(name: str) -> tuple[str, int]:
    """Base feature and lag of a column name: ``'rsi14_lag3' -> ('rsi14', 3)``, ``'rsi14' -> ('rsi14', 0)``.

    Examples
    --------
    >>> split_lag("vix_change_lag2"), split_lag("vix")
    (('vix_change', 2), ('vix', 0))
    """
    m = _LAG_RE.match(name)
    return (m.group("base"), int(m.group("k"))) if m else (name, 0)


def attention_weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r"""Scaled dot-product attention matrix :math:`\operatorname{softmax}(QK^\top/\sqrt{d_h})`.

    Parameters
    ----------
    q : torch.Tensor, shape (..., n_queries, d_h)
    k : torch.Tensor, shape (..., n_keys, d_h)

    Returns
    -------
    torch.Tensor, shape (..., n_queries, n_keys)
        Each row (query) sums to 1.

    Examples
    --------
    >>> a = attention_weights(torch.zeros(1, 3, 4), torch.zeros(1, 2, 4))
    >>> a.tolist()
    [[[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]]
    """
    scores = (q * (1.0 / math.sqrt(q.shape[-1]))) @ k.transpose(-2, -1)  # scaling q is cheaper than the scores
    return torch.softmax(scores, dim=-1)


def attention_importance(weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-sample key-token importance from the attention matrices of every layer.

    Column sums of each attention matrix (for each key token, the attention summed over query tokens), averaged over
    heads and layers, then normalised so that each row sums to 1.

    Parameters
    ----------
    weights : sequence of torch.Tensor, each of shape (n_samples, n_heads, n_queries, n_keys)
        One attention tensor per layer, rows summing to 1.

    Returns
    -------
    torch.Tensor, shape (n_samples, n_keys)

    Examples
    --------
    >>> a = torch.tensor([[[[0.9, 0.1], [0.7, 0.3]]]])  # 1 sample, 1 head, 2 queries, 2 keys
    >>> attention_importance([a]).double().round(decimals=3).tolist()
    [[0.8, 0.2]]
    """
    if not weights:
        raise ConfigError("weights is empty; pass the attention matrices of at least one layer.")
    col = torch.stack([w.sum(dim=-2).mean(dim=1) for w in weights]).mean(dim=0)
    return col / col.sum(dim=-1, keepdim=True)


# ---------------------------------------------------------------------------------------------- parameter checks
def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _check_int(name: str, value: Any, minimum: int) -> None:
    if not _is_int(value) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def _check_widths(name: str, value: Any) -> None:
    try:
        ok = all(_is_int(h) and h >= 1 for h in value)
    except TypeError:
        ok = False
    if not ok:
        raise ConfigError(f"{name} must be a sequence of positive integers (e.g. (2,) or () for none), got {value!r}.")


def _check_dropout(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ConfigError(f"dropout must be a float in [0, 1), got {value!r}.")


def _check_activation(value: Any) -> None:
    if value not in ACTIVATIONS:
        raise ConfigError(f"activation={value!r} is not supported; choose one of {sorted(ACTIVATIONS)}.")


# ---------------------------------------------------------------------------------------------- networks
class _MLPNet(nn.Module):
    """``x → mlp → scalar`` with the prediction squeezed to shape ``(n,)``."""

    def __init__(self, n_in: int, hidden: Sequence[int], activation: str, dropout: float) -> None:
        super().__init__()
        self.net = mlp([n_in, *hidden, 1], activation=activation, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class _MultiHeadAttention(nn.Module):
    """Multi-head attention that also returns the per-head attention matrices."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, key_value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, t_q, d = query.shape
        t_k = key_value.shape[1]
        h, d_h = self.n_heads, d // self.n_heads
        q = self.w_q(query).view(n, t_q, h, d_h).transpose(1, 2)
        k = self.w_k(key_value).view(n, t_k, h, d_h).transpose(1, 2)
        v = self.w_v(key_value).view(n, t_k, h, d_h).transpose(1, 2)
        a = attention_weights(q, k)  # (n, h, t_q, t_k)
        z = (self.drop(a) @ v).transpose(1, 2).reshape(n, t_q, d)
        return self.w_o(z), a


class _Block(nn.Module):
    """Pre-LayerNorm attention block; ``cross=True`` normalises the key/value tokens with their own LayerNorm."""

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int, dropout: float, activation: str,
                 cross: bool) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(d_model)
        self.norm_kv = nn.LayerNorm(d_model) if cross else None
        self.attn = _MultiHeadAttention(d_model, n_heads, dropout)
        self.norm_ff = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, dim_feedforward), make_activation(activation), nn.Dropout(dropout),
                                nn.Linear(dim_feedforward, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, kv: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        q = self.norm_q(h)
        keys = q if self.norm_kv is None or kv is None else self.norm_kv(kv)
        a, w = self.attn(q, keys)
        h = h + self.drop(a)
        h = h + self.drop(self.ff(self.norm_ff(h)))
        return h, w


class _AttentionNet(nn.Module):
    """Token embedding → attention blocks → mean over query tokens → MLP head → scalar."""

    base_idx: torch.Tensor
    lag_idx: torch.Tensor
    query_idx: torch.Tensor
    key_idx: torch.Tensor

    def __init__(self, base_idx: Sequence[int], lag_idx: Sequence[int], query_idx: Sequence[int],
                 key_idx: Sequence[int] | None, *, d_model: int, n_heads: int, n_layers: int, dim_feedforward: int,
                 dropout: float, head_hidden: Sequence[int], activation: str) -> None:
        super().__init__()
        n_base, n_lag = max(base_idx) + 1, max(lag_idx) + 1
        self.register_buffer("base_idx", torch.as_tensor(list(base_idx), dtype=torch.long))
        self.register_buffer("lag_idx", torch.as_tensor(list(lag_idx), dtype=torch.long))
        self.register_buffer("query_idx", torch.as_tensor(list(query_idx), dtype=torch.long))
        self.cross = key_idx is not None
        self.register_buffer("key_idx", torch.as_tensor(list(key_idx or []), dtype=torch.long))
        self.value_weight = nn.Parameter(torch.randn(n_base, d_model))
        self.feature_embedding = nn.Embedding(n_base, d_model)
        self.lag_embedding = nn.Embedding(n_lag, d_model)
        self.blocks = nn.ModuleList(
            _Block(d_model, n_heads, dim_feedforward, dropout, activation, cross=self.cross) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = mlp([d_model, *head_hidden, 1], activation=activation, dropout=dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens ``(n, n_columns, d_model)`` of the standardised rows ``x`` ``(n, n_columns)``."""
        return (x.unsqueeze(-1) * self.value_weight[self.base_idx] + self.feature_embedding(self.base_idx)
                + self.lag_embedding(self.lag_idx))

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        tokens = self.embed(x)
        h = tokens[:, self.query_idx] if self.cross else tokens
        kv = tokens[:, self.key_idx] if self.cross else None
        weights = []
        for block in self.blocks:
            h, w = block(h, kv)
            weights.append(w)
        context = self.norm(h).mean(dim=1)
        return self.head(context).squeeze(-1), weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_attention(x)[0]


# ---------------------------------------------------------------------------------------------- shared base
def _first_bad(arr: np.ndarray) -> tuple[int, int]:
    bad = ~np.isfinite(arr.reshape(arr.shape[0], -1))
    row = int(np.flatnonzero(bad.any(axis=1))[0])
    return row, int(np.flatnonzero(bad[row])[0])


def _where(index: Any, row: int) -> str:
    if isinstance(index, pd.DatetimeIndex):
        return f"date {index[row].date() if index[row] == index[row].normalize() else index[row]}"
    return f"row {index[row]!r}" if index is not None else f"row {row}"


class _NeuralRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Validation, standardisation, training and prediction shared by the selectors (private).

    Subclasses implement ``_check_model_params`` and ``_build_network``; :class:`VAEFeatures` also overrides ``fit``
    and ``_forward``.
    """

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
    def _check_model_params(self) -> None:
        raise NotImplementedError

    def _build_network(self, n_features: int) -> nn.Module:
        raise NotImplementedError

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised rows → standardised predictions ``(n,)``."""
        return self.model_(x)

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        _check_int("epochs", self.epochs, 1)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("patience", self.patience, 1)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not (
                math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive finite float, got {self.lr!r}.")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) or not (
                math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"weight_decay must be a finite float >= 0, got {self.weight_decay!r}.")
        if self.seed is not None and not _is_int(self.seed):
            raise ConfigError(f"seed must be an integer or None, got {self.seed!r}.")
        if not isinstance(self.warm_start, bool):
            raise ConfigError(f"warm_start must be True or False, got {self.warm_start!r}.")
        self._check_model_params()
        resolve_device(self.device)

    def _is_fitted(self) -> bool:
        return hasattr(self, "model_")

    def _check_fitted(self) -> None:
        if not self._is_fitted():
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(X, y) first.")

    def _validate_X(self, X: Any, *, name: str = "X", reset: bool) -> np.ndarray:
        """Float32 2-D array of ``X``; with ``reset`` record the columns, else check them against the recorded ones."""
        is_frame = isinstance(X, pd.DataFrame)
        values = X.to_numpy() if is_frame else X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X
        try:
            arr = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"{name} could not be converted to a float array ({exc}); pass numeric "
                                      "columns only.") from exc
        if arr.ndim != 2:
            raise DataValidationError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}; "
                                      "reshape a single feature with X.reshape(-1, 1).")
        names = [str(c) for c in X.columns] if is_frame else None
        if reset:
            if arr.shape[1] < 1:
                raise DataValidationError(f"{name} has no column; pass at least one feature.")
            self.n_features_in_ = int(arr.shape[1])
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            expected = getattr(self, "feature_names_in_", None)
            if names is not None and expected is not None and names != list(expected):
                missing = [c for c in expected if c not in names]
                extra = [c for c in names if c not in set(expected)]
                detail = (f"missing {missing}" if missing else "") + (", " if missing and extra else "") + (
                    f"unexpected {extra}" if extra else "")
                raise DataValidationError(
                    f"{name} columns differ from those seen in fit ({detail or 'same columns, other order'}); "
                    f"pass {name}[model.feature_names_in_]."
                )
            if arr.shape[1] != self.n_features_in_:
                raise DataValidationError(
                    f"{name} has {arr.shape[1]} columns but {type(self).__name__} was fitted with "
                    f"{self.n_features_in_}; pass the same feature columns as in fit."
                )
        if not np.isfinite(arr).all():
            row, col = _first_bad(arr)
            where_col = f"column {names[col]!r}" if names is not None else f"column {col}"
            raise DataValidationError(
                f"{name} has a NaN or infinite value at {_where(X.index if is_frame else None, row)}, {where_col}; "
                "drop the indicator warm-up rows and other incomplete rows first (latentquant.features."
                "feature_matrix returns X, y without them) or fill the gaps."
            )
        return arr

    @staticmethod
    def _validate_y(y: Any, n: int, *, name: str = "y", x_name: str = "X") -> np.ndarray:
        values = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"{name} must be numeric next-day returns ({exc}).") from exc
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise DataValidationError(f"{name} must be 1-D (one target per row), got shape {arr.shape}.")
        if arr.shape[0] != n:
            raise DataValidationError(
                f"{x_name} has {n} rows but {name} has {arr.shape[0]}; pass row-aligned data "
                f"(e.g. {name} = next_day_return(close).loc[{x_name}.index])."
            )
        if not np.isfinite(arr).all():
            row = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise DataValidationError(
                f"{name} has a NaN or infinite value at {_where(getattr(y, 'index', None), row)}; the last date has "
                "no next-day return — drop incomplete rows (latentquant.features.feature_matrix does) first."
            )
        return arr

    def _validate_fit_data(self, X: Any, y: Any, X_val: Any, y_val: Any, *, reset: bool
                           ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        x = self._validate_X(X, reset=reset)
        if x.shape[0] < MIN_ROWS:
            raise DataValidationError(f"X has {x.shape[0]} rows; {type(self).__name__} needs at least {MIN_ROWS} "
                                      "training rows.")
        target = self._validate_y(y, x.shape[0])
        if (X_val is None) != (y_val is None):
            raise ConfigError("X_val and y_val must be given together (validation rows for early stopping), "
                              f"got only {'X_val' if X_val is not None else 'y_val'}.")
        val = None
        if X_val is not None:
            xv = self._validate_X(X_val, name="X_val", reset=False)
            val = (xv, self._validate_y(y_val, xv.shape[0], name="y_val", x_name="X_val"))
        return x, target, val

    # ------------------------------------------------------------------ scaling
    def _set_scalers(self, x: np.ndarray, y: np.ndarray) -> None:
        self._set_x_scaler(x)
        self._set_y_scaler(y)

    def _set_x_scaler(self, x: np.ndarray) -> None:
        self.mean_ = x.astype(np.float64).mean(axis=0).astype(np.float32)
        std = x.astype(np.float64).std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0).astype(np.float32)

    def _set_y_scaler(self, y: np.ndarray) -> None:
        self.y_mean_ = float(y.mean())
        std = float(y.std())
        self.y_scale_ = std if std > 0 else 1.0

    def _scale_x(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray((x - self.mean_) / self.scale_, dtype=np.float32))

    def _scale_y(self, y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((y - self.y_mean_) / self.y_scale_).astype(np.float32))

    # ------------------------------------------------------------------ training
    def _trainer(self, has_val: bool, *, epochs: int | None = None, lr: float | None = None) -> Trainer:
        return Trainer(epochs=int(self.epochs if epochs is None else epochs), batch_size=int(self.batch_size),
                       lr=float(self.lr if lr is None else lr), weight_decay=float(self.weight_decay),
                       validation_split=0.0, early_stopping=has_val, patience=int(self.patience),
                       seed=None if self.seed is None else int(self.seed), device=self.device, verbose=self.verbose,
                       eval_batch_size=_EVAL_ROWS)

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
            are returned in the original units.
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

    def _prepare_tokens(self) -> None:
        """Record the token layout from the columns seen in ``fit`` (attention models)."""

    def _iter_batches(self, X: Any) -> Iterator[torch.Tensor]:
        self._check_fitted()
        x = self._scale_x(self._validate_X(X, reset=False))
        for start in range(0, x.shape[0], _EVAL_ROWS):
            yield x[start:start + _EVAL_ROWS].to(self.device_)

    @torch.no_grad()
    def predict(self, X: Any) -> np.ndarray:
        """Predicted next-day returns, shape ``(n_samples,)``, in the units of ``y``."""
        parts = [self._forward(xb).cpu() for xb in self._iter_batches(X)]
        out = torch.cat(parts).numpy().astype(np.float64)
        return self.y_mean_ + self.y_scale_ * out


# ---------------------------------------------------------------------------------------------- estimators
class MLPRegressor(_NeuralRegressor):
    """Multilayer-perceptron regressor of next-day returns: the baseline of the feature-selection study.

    Parameters
    ----------
    hidden : sequence of int
        Hidden widths; the default ``(2,)`` is the study's one hidden layer of 2 units (``()`` gives a linear model).
    activation : str
        Hidden activation (``'relu'``, ``'tanh'``, …).
    dropout : float
        Dropout after each hidden layer, in [0, 1).
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam optimisation by the shared :class:`~latentquant.training.Trainer`.
    patience : int
        Early-stopping patience (only with ``X_val``/``y_val`` in :meth:`fit`).
    seed : int or None
        Seeds the initial weights and training: same seed → identical predictions on CPU.
    device : str
        ``'cpu'``, ``'cuda'`` or ``'auto'``; outputs are numpy arrays.
    verbose : bool or None
        Progress output of the trainer.
    warm_start : bool
        Continue from the fitted weights and scalers in the next :meth:`fit` (fine-tuning).

    Attributes
    ----------
    model_ : torch.nn.Module
        The network (standardised inputs, standardised output).
    mean_, scale_ : numpy.ndarray
        Per-feature standardisation statistics of the training rows (constant features get scale 1).
    y_mean_, y_scale_ : float
        Mean and standard deviation of the training targets.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray
        Column names, when ``X`` was a DataFrame.
    history_ : History
        Per-epoch losses of the last fit (``train_loss``, ``val_loss`` with validation data).
    best_epoch_ : int or None
        Epoch whose weights were kept (``None`` without validation data: the last epoch's weights).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = 0.01 * X[:, 0]
    >>> model = MLPRegressor(epochs=5).fit(X, y)
    >>> model.predict(X[:4]).shape
    (4,)
    """

    def __init__(self, hidden: Sequence[int] = (2,), activation: str = "relu", dropout: float = 0.0, *,
                 epochs: int = 200, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
                 patience: int = 20, seed: int | None = 0, device: str = "cpu", verbose: bool | None = False,
                 warm_start: bool = False) -> None:
        self.hidden = hidden
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

    def _check_model_params(self) -> None:
        _check_widths("hidden", self.hidden)
        _check_activation(self.activation)
        _check_dropout(self.dropout)

    def _build_network(self, n_features: int) -> nn.Module:
        return _MLPNet(n_features, [int(h) for h in self.hidden], self.activation, float(self.dropout))


class _AttentionSelector(_NeuralRegressor):
    """Attention parameters, token layout and :meth:`importance` (private)."""

    d_model: int
    n_heads: int
    n_layers: int
    dim_feedforward: int
    dropout: float
    head_hidden: Sequence[int]
    activation: str
    model_: _AttentionNet
    query_tokens_: list[str]
    key_tokens_: list[str]

    def _check_model_params(self) -> None:
        _check_int("d_model", self.d_model, 1)
        _check_int("n_heads", self.n_heads, 1)
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}; pick d_model a "
                              "multiple of n_heads (e.g. d_model=64, n_heads=4).")
        _check_int("n_layers", self.n_layers, 1)
        _check_int("dim_feedforward", self.dim_feedforward, 1)
        _check_dropout(self.dropout)
        _check_widths("head_hidden", self.head_hidden)
        _check_activation(self.activation)

    def _column_names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        return list(names) if names is not None else [f"x{j}" for j in range(self.n_features_in_)]

    def _query_key(self, names: list[str]) -> tuple[list[int], list[int] | None]:
        raise NotImplementedError

    def _prepare_tokens(self) -> None:
        names = self._column_names()
        q, k = self._query_key(names)
        self.query_tokens_ = [names[i] for i in q]
        self.key_tokens_ = [names[i] for i in (q if k is None else k)]
        self._layout = (q, k)

    def _build_network(self, n_features: int) -> nn.Module:
        names = self._column_names()
        parsed = [split_lag(c) for c in names]
        bases = list(dict.fromkeys(b for b, _ in parsed))
        q, k = self._layout
        return _AttentionNet([bases.index(b) for b, _ in parsed], [lag for _, lag in parsed], q, k,
                             d_model=int(self.d_model), n_heads=int(self.n_heads), n_layers=int(self.n_layers),
                             dim_feedforward=int(self.dim_feedforward), dropout=float(self.dropout),
                             head_hidden=[int(h) for h in self.head_hidden], activation=self.activation)

    @torch.no_grad()
    def importance(self, X: Any) -> pd.DataFrame:
        """Per-sample feature importance from the attention matrices.

        For every row: the column sums of each attention matrix (for each key token, the attention it receives summed
        over the query tokens), averaged over heads and layers and normalised so that the row sums to 1 (see
        :func:`attention_importance`). Computed in batches of rows, in eval mode.

        Parameters
        ----------
        X : pandas.DataFrame or array-like, shape (n_samples, n_features)
            Rows with the columns seen in :meth:`fit`.

        Returns
        -------
        pandas.DataFrame, shape (n_samples, n_key_tokens)
            Index: ``X``'s index (a RangeIndex for arrays); columns: :attr:`key_tokens_`.
        """
        parts = [attention_importance(self.model_.forward_with_attention(xb)[1]).cpu()
                 for xb in self._iter_batches(X)]
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(sum(p.shape[0] for p in parts))
        values = torch.cat(parts).numpy().astype(np.float64)
        return pd.DataFrame(values, index=index, columns=pd.Index(self.key_tokens_, name="feature"))


class SelfAttentionSelector(_AttentionSelector):
    """Self-attention Transformer over feature tokens, then an MLP head: per-sample feature selection.

    Every input column is a token (a lagged column ``<f>_lag<k>`` is an extra token whose identity is the embedding
    of ``f`` plus a lag embedding of ``k``); see the module docstring for the embedding, the blocks and the context
    vector (mean over all tokens).

    Parameters
    ----------
    d_model : int
        Embedding size of each token (divisible by ``n_heads``).
    n_heads, n_layers : int
        Attention heads per block and number of blocks.
    dim_feedforward : int
        Hidden width of the feed-forward sub-layer of each block.
    dropout : float
        Dropout on the attention weights, the residual branches and the head, in [0, 1).
    head_hidden : sequence of int
        Hidden widths of the MLP head (default ``(2,)``, as :class:`MLPRegressor`).
    activation : str
        Activation of the feed-forward sub-layers and of the head.
    epochs, batch_size, lr, weight_decay, patience, seed, device, verbose, warm_start
        As :class:`MLPRegressor`.

    Attributes
    ----------
    key_tokens_, query_tokens_ : list of str
        Column names (``x0``, ``x1``, … for arrays); both are all tokens.
    model_, mean_, scale_, y_mean_, y_scale_, n_features_in_, feature_names_in_, history_, best_epoch_
        As :class:`MLPRegressor`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(100, 3)), columns=["rsi14", "rsi14_lag1", "vix"])
    >>> y = 0.01 * X["rsi14"].to_numpy()
    >>> model = SelfAttentionSelector(d_model=8, n_heads=2, epochs=2).fit(X, y)
    >>> imp = model.importance(X)
    >>> imp.shape, bool(np.allclose(imp.sum(axis=1), 1.0))
    ((100, 3), True)
    """

    def __init__(self, d_model: int = 64, n_heads: int = 4, n_layers: int = 1, dim_feedforward: int = 128,
                 dropout: float = 0.1, head_hidden: Sequence[int] = (2,), activation: str = "relu", *,
                 epochs: int = 200, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
                 patience: int = 20, seed: int | None = 0, device: str = "cpu", verbose: bool | None = False,
                 warm_start: bool = False) -> None:
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.head_hidden = head_hidden
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    def _query_key(self, names: list[str]) -> tuple[list[int], list[int] | None]:
        return list(range(len(names))), None


class CrossAttentionSelector(_AttentionSelector):
    """Cross-attention: technical-feature tokens (queries) attend to time-series (macro) tokens (keys/values).

    Columns are split by their base name (``vix_lag2`` → ``vix``). Default: base names in
    :data:`~latentquant.features.technical.MACRO_FEATURES` are keys/values, every other column is a query. With
    ``key_features`` only, the other columns are queries; with ``query_features`` only, the other columns are keys;
    with both, columns named in neither are not used. Only the query tokens are updated by the blocks; the context
    vector is their mean. :meth:`importance` ranks the key (macro) tokens per sample.

    Parameters
    ----------
    query_features, key_features : sequence of str, optional
        Base feature names (or full column names) of the query and key/value groups.
    d_model : int
        Embedding size of each token (divisible by ``n_heads``).
    n_heads, n_layers : int
        Attention heads per block and number of blocks.
    dim_feedforward : int
        Hidden width of the feed-forward sub-layer of each block.
    dropout : float
        Dropout on the attention weights, the residual branches and the head, in [0, 1).
    head_hidden : sequence of int
        Hidden widths of the MLP head (default ``(2,)``, as :class:`MLPRegressor`).
    activation : str
        Activation of the feed-forward sub-layers and of the head.
    epochs, batch_size, lr, weight_decay, patience, seed, device, verbose, warm_start
        As :class:`MLPRegressor`.

    Attributes
    ----------
    query_tokens_, key_tokens_ : list of str
        Columns used as queries and as keys/values (the columns of :meth:`importance`).
    model_, mean_, scale_, y_mean_, y_scale_, n_features_in_, feature_names_in_, history_, best_epoch_
        As :class:`MLPRegressor`.

    Raises
    ------
    DataValidationError
        In :meth:`fit`, when a group is empty, a named feature is not among the columns, or a column is in both
        groups.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(100, 4)), columns=["rsi14", "macd", "vix", "term_spread"])
    >>> y = 0.01 * X["rsi14"].to_numpy() * (X["vix"].to_numpy() > 0)
    >>> model = CrossAttentionSelector(d_model=8, n_heads=2, epochs=2).fit(X, y)
    >>> model.importance(X).columns.tolist()
    ['vix', 'term_spread']
    """

    def __init__(self, query_features: Sequence[str] | None = None, key_features: Sequence[str] | None = None,
                 d_model: int = 64, n_heads: int = 4, n_layers: int = 1, dim_feedforward: int = 128,
                 dropout: float = 0.1, head_hidden: Sequence[int] = (2,), activation: str = "relu", *,
                 epochs: int = 200, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
                 patience: int = 20, seed: int | None = 0, device: str = "cpu", verbose: bool | None = False,
                 warm_start: bool = False) -> None:
        self.query_features = query_features
        self.key_features = key_features
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.head_hidden = head_hidden
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    def _check_model_params(self) -> None:
        super()._check_model_params()
        for name in ("query_features", "key_features"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, str) or not all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{name} must be None or a list of feature names, got {value!r}.")

    @staticmethod
    def _members(names: list[str], wanted: Sequence[str], group: str) -> list[int]:
        bases = [split_lag(c)[0] for c in names]
        missing = [w for w in wanted if w not in names and w not in bases]
        if missing:
            raise DataValidationError(f"{group} {missing} not among the columns of X {names}; name existing "
                                      "features (base names such as 'vix' also select their lags).")
        chosen = set(wanted)
        return [j for j, (c, b) in enumerate(zip(names, bases, strict=True)) if c in chosen or b in chosen]

    def _query_key(self, names: list[str]) -> tuple[list[int], list[int] | None]:
        if self.key_features is None and self.query_features is None:
            keys = [j for j, c in enumerate(names) if split_lag(c)[0] in MACRO_FEATURES]
            queries = [j for j in range(len(names)) if j not in set(keys)]
        else:
            keys = self._members(names, self.key_features, "key_features") if self.key_features is not None else []
            queries = (self._members(names, self.query_features, "query_features")
                       if self.query_features is not None else [j for j in range(len(names)) if j not in set(keys)])
            if self.key_features is None:
                keys = [j for j in range(len(names)) if j not in set(queries)]
            both = sorted(set(queries) & set(keys))
            if both:
                raise DataValidationError(f"columns {[names[j] for j in both]} are in both query_features and "
                                          "key_features; put each feature in one group.")
        for group, members, fix in (
            ("key/value (time-series)", keys, f"include macro columns {list(MACRO_FEATURES)} or set key_features"),
            ("query (technical)", queries, "include technical columns or set query_features"),
        ):
            if not members:
                raise DataValidationError(f"the {group} token group is empty for columns {names}; {fix}.")
        return queries, keys
