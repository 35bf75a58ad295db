r"""The networks of the feature-selection regressors (private module; public names for the sibling modules).

* :class:`MLPRegressorNet` — ``x → MLP → scalar`` (the MLP baseline and the head of VAE features);
* :class:`AttentionSelectorNet` — token embedding → pre-LayerNorm attention blocks (:class:`AttentionBlock`,
  :class:`MultiHeadAttention`) → mean over the query tokens → MLP head → scalar;
* :func:`attention_weights`, :func:`attention_importance` — the attention matrix and the per-sample importance read
  from it (see :mod:`latentquant.models.selection.attention` for the model and its maths).

The two top-level networks are registered with :func:`~latentquant.training.checkpoint.register_model`, so a fitted
estimator holding one saves and loads it as configuration + ``state_dict``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from latentquant.exceptions import ConfigError
from latentquant.nn import mlp
from latentquant.nn.layers import make_activation
from latentquant.training.checkpoint import register_model

__all__ = [
    "AttentionBlock",
    "AttentionSelectorNet",
    "MLPRegressorNet",
    "MultiHeadAttention",
    "attention_importance",
    "attention_weights",
]


# ---------------------------------------------------------------------------------------------- attention maths
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


# ---------------------------------------------------------------------------------------------- networks
@register_model
class MLPRegressorNet(nn.Module):
    """``x → mlp → scalar`` with the prediction squeezed to shape ``(n,)``.

    Parameters
    ----------
    n_in : int
        Number of inputs.
    hidden : sequence of int
        Hidden widths (``()``: a linear model).
    activation : str
        Hidden activation.
    dropout : float
        Dropout after each hidden layer.

    Examples
    --------
    >>> MLPRegressorNet(3, [2], "relu", 0.0)(torch.zeros(5, 3)).shape
    torch.Size([5])
    """

    def __init__(self, n_in: int, hidden: Sequence[int], activation: str, dropout: float) -> None:
        super().__init__()
        self.net = mlp([n_in, *hidden, 1], activation=activation, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class MultiHeadAttention(nn.Module):
    """Multi-head attention that also returns the per-head attention matrices.

    Examples
    --------
    >>> out, a = MultiHeadAttention(8, 2, 0.0)(torch.zeros(4, 3, 8), torch.zeros(4, 5, 8))
    >>> tuple(out.shape), tuple(a.shape)                      # (n, queries, d), (n, heads, queries, keys)
    ((4, 3, 8), (4, 2, 3, 5))
    """

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


class AttentionBlock(nn.Module):
    """Pre-LayerNorm attention block; ``cross=True`` normalises the key/value tokens with their own LayerNorm.

    Examples
    --------
    >>> h, w = AttentionBlock(8, 2, 16, 0.0, "relu", cross=False)(torch.zeros(4, 3, 8), None)
    >>> tuple(h.shape), tuple(w.shape)
    ((4, 3, 8), (4, 2, 3, 3))
    """

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int, dropout: float, activation: str,
                 cross: bool) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(d_model)
        self.norm_kv = nn.LayerNorm(d_model) if cross else None
        self.attn = MultiHeadAttention(d_model, n_heads, dropout)
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


@register_model
class AttentionSelectorNet(nn.Module):
    """Token embedding → attention blocks → mean over query tokens → MLP head → scalar.

    Parameters
    ----------
    base_idx, lag_idx : sequence of int
        Per column: index of its base feature and its lag (the token's identity embeddings).
    query_idx : sequence of int
        Columns used as query tokens.
    key_idx : sequence of int or None
        Columns used as key/value tokens (cross-attention); ``None``: self-attention over the query tokens.
    d_model, n_heads, n_layers, dim_feedforward, dropout, head_hidden, activation
        As :class:`~latentquant.models.selection.SelfAttentionSelector`.

    Examples
    --------
    >>> net = AttentionSelectorNet([0, 0, 1], [0, 1, 0], [0, 1], [2], d_model=8, n_heads=2, n_layers=1,
    ...                            dim_feedforward=16, dropout=0.0, head_hidden=[2], activation="relu")
    >>> pred, weights = net.forward_with_attention(torch.zeros(4, 3))
    >>> tuple(pred.shape), tuple(weights[0].shape)            # 2 query tokens attend to 1 key token
    ((4,), (4, 2, 2, 1))
    """

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
            AttentionBlock(d_model, n_heads, dim_feedforward, dropout, activation, cross=self.cross)
            for _ in range(n_layers)
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
