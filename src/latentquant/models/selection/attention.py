r"""Next-day-return regressors that select features per sample with attention (REFERENCE §5).

Two scikit-learn estimators on the neural-regressor base of :mod:`latentquant.models.selection._neural`
(validation, scaling, training through the shared :class:`~latentquant.training.Trainer`, warm start, prediction),
the base the study's baseline :class:`~latentquant.models.selection.MLPRegressor` also stands on; the networks are
in :mod:`latentquant.models.selection._networks`:

* :class:`SelfAttentionSelector` — every column is a token; multi-head self-attention over all tokens, then the same
  MLP head as the MLP baseline on the mean of the token representations.
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

Feature importance (:meth:`SelfAttentionSelector.importance`, :func:`attention_importance`): for each sample, the column
sums of :math:`A` — the attention each key token receives, summed over query tokens — averaged over heads and layers
and normalised so the row sums to 1. As every row of :math:`A` sums to 1, the normalisation divides by the number of
query tokens, so the importance of a key token is the average share of attention it gets from a query token.

References
----------
Vaswani, A. et al. (2017). Attention Is All You Need. NeurIPS.
Xiong, R. et al. (2020). On Layer Normalization in the Transformer Architecture. ICML (pre-LN blocks).
"""

from __future__ import annotations

import re
import warnings
from abc import abstractmethod
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.features.technical import MACRO_FEATURES
from latentquant.models.selection._networks import AttentionSelectorNet, attention_importance, attention_weights
from latentquant.models.selection._neural import ACTIVATION, WIDTHS, NeuralRegressor
from latentquant.validation import Constraint, Interval, SequenceOf

__all__ = [
    "CrossAttentionSelector",
    "SelfAttentionSelector",
    "attention_importance",
    "attention_weights",
    "split_lag",
]

_LAG_RE = re.compile(r"^(?P<base>.+)_lag(?P<k>[1-9][0-9]*)$")


def split_lag(name: str) -> tuple[str, int]:
    """Base feature and lag of a column name: ``'rsi14_lag3' -> ('rsi14', 3)``, ``'rsi14' -> ('rsi14', 0)``.

    Parameters
    ----------
    name : str
        A feature column name, lagged copies ending in ``_lag<k>``.

    Examples
    --------
    >>> split_lag("vix_change_lag2"), split_lag("vix")
    (('vix_change', 2), ('vix', 0))
    """
    m = _LAG_RE.match(name)
    return (m.group("base"), int(m.group("k"))) if m else (name, 0)


class _AttentionSelector(NeuralRegressor):
    """Attention parameters, token layout and :meth:`importance` shared by the two selectors."""

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "d_model": [Interval(Integral, 1, None)],
        "n_heads": [Interval(Integral, 1, None)],
        "n_layers": [Interval(Integral, 1, None)],
        "dim_feedforward": [Interval(Integral, 1, None)],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "head_hidden_dims": WIDTHS,
        "activation": ACTIVATION,
    }

    d_model: int
    n_heads: int
    n_layers: int
    dim_feedforward: int
    dropout: float
    head_hidden_dims: Sequence[int]
    activation: str
    model_: AttentionSelectorNet
    query_tokens_: list[str]
    key_tokens_: list[str]

    def _check_param_relations(self) -> None:
        if self.d_model % self.n_heads:
            raise ConfigError(f"{type(self).__name__}: d_model={self.d_model} is not divisible by "
                              f"n_heads={self.n_heads}; pick d_model a multiple of n_heads (e.g. d_model=64, "
                              "n_heads=4).")

    def _column_names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        return list(names) if names is not None else [f"x{j}" for j in range(self.n_features_in_)]

    @abstractmethod
    def _query_key(self, names: list[str]) -> tuple[list[int], list[int] | None]:
        """Column positions of the query tokens and of the key/value tokens (``None``: the queries)."""

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
        return AttentionSelectorNet([bases.index(b) for b, _ in parsed], [lag for _, lag in parsed], q, k,
                                    d_model=int(self.d_model), n_heads=int(self.n_heads),
                                    n_layers=int(self.n_layers), dim_feedforward=int(self.dim_feedforward),
                                    dropout=float(self.dropout), head_hidden=[int(h) for h in self.head_hidden_dims],
                                    activation=self.activation)

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
        batches, index = self._batches(X)
        parts = [attention_importance(self.model_.forward_with_attention(xb)[1]).cpu() for xb in batches]
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
    head_hidden_dims : sequence of int
        Hidden widths of the MLP head (default ``(2,)``, as :class:`~latentquant.models.selection.MLPRegressor`).
    activation : str
        Activation of the feed-forward sub-layers and of the head.
    epochs, batch_size, lr, weight_decay, patience, seed, device, verbose, warm_start
        As :class:`~latentquant.models.selection.MLPRegressor`.

    Attributes
    ----------
    key_tokens_, query_tokens_ : list of str
        Column names (``x0``, ``x1``, … for arrays); both are all tokens.
    model_, mean_, scale_, y_mean_, y_scale_, n_features_in_, feature_names_in_, history_, best_epoch_
        As :class:`~latentquant.models.selection.MLPRegressor`.

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

    _renamed_params: ClassVar[dict[str, str]] = {"head_hidden": "head_hidden_dims"}

    def __init__(self, d_model: int = 64, *, n_heads: int = 4, n_layers: int = 1, dim_feedforward: int = 128,
                 dropout: float = 0.1, head_hidden_dims: Sequence[int] = (2,), activation: str = "relu",
                 epochs: int = 200, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
                 patience: int = 20, seed: int | None = 0, device: str = "auto", verbose: bool | None = False,
                 warm_start: bool = False) -> None:
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.head_hidden_dims = head_hidden_dims
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
    head_hidden_dims : sequence of int
        Hidden widths of the MLP head (default ``(2,)``, as :class:`~latentquant.models.selection.MLPRegressor`).
    activation : str
        Activation of the feed-forward sub-layers and of the head.
    epochs, batch_size, lr, weight_decay, patience, seed, device, verbose, warm_start
        As :class:`~latentquant.models.selection.MLPRegressor`.

    Attributes
    ----------
    query_tokens_, key_tokens_ : list of str
        Columns used as queries and as keys/values (the columns of :meth:`importance`).
    model_, mean_, scale_, y_mean_, y_scale_, n_features_in_, feature_names_in_, history_, best_epoch_
        As :class:`~latentquant.models.selection.MLPRegressor`.

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

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "query_features": [SequenceOf(str), None], "key_features": [SequenceOf(str), None],
    }

    _renamed_params: ClassVar[dict[str, str]] = {"head_hidden": "head_hidden_dims"}

    def __init__(self, query_features: Sequence[str] | None = None, *, key_features: Sequence[str] | None = None,
                 d_model: int = 64, n_heads: int = 4, n_layers: int = 1, dim_feedforward: int = 128,
                 dropout: float = 0.1, head_hidden_dims: Sequence[int] = (2,), activation: str = "relu",
                 epochs: int = 200, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
                 patience: int = 20, seed: int | None = 0, device: str = "auto", verbose: bool | None = False,
                 warm_start: bool = False) -> None:
        self.query_features = query_features
        self.key_features = key_features
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.head_hidden_dims = head_hidden_dims
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


def __getattr__(name: str) -> Any:
    if name == "MLPRegressor":  # moved to its own module when this one was split (kept for one release)
        from latentquant.models.selection.mlp import MLPRegressor

        warnings.warn("latentquant.models.selection.attention.MLPRegressor moved to latentquant.models.selection.mlp; "
                      "import it from latentquant.models.selection (this alias goes in the next release).",
                      FutureWarning, stacklevel=2)
        return MLPRegressor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
