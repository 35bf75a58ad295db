"""Attention selectors benchmark: training time per epoch and per-sample importance extraction, vs plain PyTorch.

For each attention model of ``latentquant.models.selection`` — ``SelfAttentionSelector`` and
``CrossAttentionSelector`` with their defaults (d_model 64, 4 heads, 1 layer, feed-forward 128, dropout 0.1, MLP head
of 2 units, batch 64, Adam lr 1e-3, MSE on the standardised target) — and a peer built from stock PyTorch modules,
measured side by side in the same process on the same simulated data:

* **ours** — ``Selector(epochs=E, seed=s, device='cpu', verbose=False).fit(X, y)`` (no validation data, so every
  epoch runs) and ``importance(X)`` (per-sample attention importance of the key tokens, a DataFrame);
* **peer** — the same network written with ``torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward,
  dropout, batch_first=True, norm_first=True)`` (self-attention) or ``torch.nn.MultiheadAttention`` in a pre-LN block
  (cross-attention: technical tokens are the queries, macro tokens the keys/values), the same token embedding (value ×
  per-feature weight + feature embedding + lag embedding), LayerNorm + mean over the query tokens and the same
  2-unit MLP head; trained by a bare loop (random permutation, tensor indexing, ``zero_grad``/``backward``/``step``)
  with torch's default Adam; importance from a forward pass that asks ``nn.MultiheadAttention`` for its weights
  (``need_weights=True, average_attn_weights=True``), then column sums averaged over layers and normalised per row.
  The stock ``TransformerEncoderLayer`` does not return attention weights, so for importance the peer runs the
  layer's own sub-modules (``norm1``, ``self_attn``, ``norm2``, ``linear1``/``linear2``) itself.

Two token layouts (the study's ``lags: 0`` and ``lags: 4``): 14 technical columns + 5 macro columns (19 tokens; cross:
14 queries × 5 keys), and the technical columns with ``_lag1`` … ``_lag4`` copies + the 5 macro columns (75 tokens;
cross: 70 queries × 5 keys).

Measured per model, layout and method: seconds per training epoch (fit wall time / epochs, median over repeats; also
the training loop alone), training rows/s, seconds to extract the per-sample importance of all rows and rows/s; the
ratios ours / peer. A check that the two really are the same network: the peer is loaded with ours' fitted weights
and both predictions and importances are compared.

Usage::

    python benchmarks/bench_selection.py            # full run (10,000 rows, 2 epochs, 3 repeats), appends RESULTS.md
    python benchmarks/bench_selection.py --quick    # 2,000 rows, 1 epoch, 1 repeat; no RESULTS.md unless --write
    python benchmarks/bench_selection.py --threads 2 --repeats 5 --no-write   # any knob; see --help

See ``benchmarks/README.md`` for the fairness rules. There are no assertions on timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (
    RESULTS_FILE,
    append_results,
    fmt_range,
    load_average,
    machine_info,
    machine_markdown,
    maxrss_kib,
    timed,
)

from latentquant.features.technical import CLOSE_FEATURES, MACRO_FEATURES
from latentquant.models.selection.attention import CrossAttentionSelector, SelfAttentionSelector, split_lag

TECHNICAL = CLOSE_FEATURES  # 14 close-only indicator names; only the names matter here
D_MODEL, N_HEADS, N_LAYERS, DIM_FF, DROPOUT, HEAD_HIDDEN = 64, 4, 1, 128, 0.1, 2
LR = 1e-3
EVAL_ROWS = 1024  # rows per forward pass in importance — the same chunk size as ours
NOISY_SPREAD = 1.25  # slowest / fastest repeat above this: flag the timings as disturbed
SELECTORS: dict[str, type[SelfAttentionSelector] | type[CrossAttentionSelector]] = {
    "self": SelfAttentionSelector, "cross": CrossAttentionSelector,
}


# ------------------------------------------------------------------------------------------------------------ data
def make_data(n: int, lags: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Simulated feature matrix and next-day returns on ``n`` business days.

    Each technical and macro series is a standardised AR(1) (φ uniform in 0.5–0.95) with its own location and scale;
    with ``lags`` the technical columns get ``<name>_lag1`` … ``<name>_lag<lags>`` copies (the actual lagged values,
    the warm-up rows dropped). Target: a noisy linear function of the current technical values whose slope moves with
    the VIX column, ``y = 0.002 · (z · b) · (1 + 0.5 tanh(vix_z)) + 0.01 ε``; float32 features, float64 target.
    """
    rng = np.random.default_rng(seed)
    names = [*TECHNICAL, *MACRO_FEATURES]
    total = n + lags
    phi = rng.uniform(0.5, 0.95, len(names))
    z = np.empty((total, len(names)))
    z[0] = rng.standard_normal(len(names))
    shocks = rng.standard_normal((total, len(names))) * np.sqrt(1.0 - phi**2)
    for t in range(1, total):
        z[t] = phi * z[t - 1] + shocks[t]
    loc = rng.normal(0.0, 5.0, len(names))
    scale = rng.uniform(0.1, 20.0, len(names))
    raw = pd.DataFrame(loc + scale * z, index=pd.bdate_range("1990-01-02", periods=total, name="date"),
                       columns=names)
    cols: dict[str, pd.Series] = {}
    for name in TECHNICAL:
        cols[name] = raw[name]
        for k in range(1, lags + 1):
            cols[f"{name}_lag{k}"] = raw[name].shift(k)
    for name in MACRO_FEATURES:
        cols[name] = raw[name]
    X = pd.DataFrame(cols).iloc[lags:].astype(np.float32)
    b = rng.normal(0.0, 1.0, len(TECHNICAL)) / np.sqrt(len(TECHNICAL))
    tech_z = z[lags:, :len(TECHNICAL)]
    vix_z = z[lags:, len(TECHNICAL) + list(MACRO_FEATURES).index("vix")]
    y = 0.002 * (tech_z @ b) * (1.0 + 0.5 * np.tanh(vix_z)) + 0.01 * rng.standard_normal(n)
    return X, pd.Series(y, index=X.index, name="ret_next")


def token_layout(columns: list[str], kind: str) -> tuple[list[int], list[int], list[int], list[int] | None]:
    """``(base_idx, lag_idx, query_idx, key_idx)`` — the same layout rules as ours (key_idx None: self-attention)."""
    parsed = [split_lag(c) for c in columns]
    bases = list(dict.fromkeys(b for b, _ in parsed))
    base_idx = [bases.index(b) for b, _ in parsed]
    lag_idx = [k for _, k in parsed]
    if kind == "self":
        return base_idx, lag_idx, list(range(len(columns))), None
    keys = [j for j, (b, _) in enumerate(parsed) if b in MACRO_FEATURES]
    return base_idx, lag_idx, [j for j in range(len(columns)) if j not in set(keys)], keys


# ------------------------------------------------------------------------------------------------------- the peer
class PeerEmbedding(nn.Module):
    """Token ``j`` of a row: ``x_j · w_{f(j)} + u_{f(j)} + ℓ_{k(j)}`` (per-feature value weight, feature and lag
    embeddings)."""

    base_idx: torch.Tensor
    lag_idx: torch.Tensor

    def __init__(self, base_idx: list[int], lag_idx: list[int]) -> None:
        super().__init__()
        self.register_buffer("base_idx", torch.tensor(base_idx))
        self.register_buffer("lag_idx", torch.tensor(lag_idx))
        self.value_weight = nn.Parameter(torch.randn(max(base_idx) + 1, D_MODEL))
        self.feature_embedding = nn.Embedding(max(base_idx) + 1, D_MODEL)
        self.lag_embedding = nn.Embedding(max(lag_idx) + 1, D_MODEL)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.unsqueeze(-1) * self.value_weight[self.base_idx] + self.feature_embedding(self.base_idx)
                + self.lag_embedding(self.lag_idx))


def peer_head() -> nn.Sequential:
    return nn.Sequential(nn.Linear(D_MODEL, HEAD_HIDDEN), nn.ReLU(), nn.Dropout(DROPOUT), nn.Linear(HEAD_HIDDEN, 1))


def column_share(weights: list[torch.Tensor]) -> torch.Tensor:
    """Column sums of head-averaged ``(n, t_q, t_k)`` attention matrices, averaged over layers, rows summing to 1."""
    col = torch.stack([w.sum(dim=-2) for w in weights]).mean(dim=0)
    return col / col.sum(dim=-1, keepdim=True)


class PeerSelf(nn.Module):
    """Embedding → ``nn.TransformerEncoderLayer`` (pre-LN, batch first) × layers → LayerNorm, mean → MLP head."""

    def __init__(self, base_idx: list[int], lag_idx: list[int]) -> None:
        super().__init__()
        self.embed = PeerEmbedding(base_idx, lag_idx)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(D_MODEL, N_HEADS, DIM_FF, DROPOUT, batch_first=True, norm_first=True)
            for _ in range(N_LAYERS)
        )
        self.norm = nn.LayerNorm(D_MODEL)
        self.head = peer_head()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        for layer in self.layers:
            h = layer(h)
        return self.head(self.norm(h).mean(dim=1)).squeeze(-1)

    def forward_with_importance(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same computation as ``TransformerEncoderLayer.forward(norm_first=True)``, but through the layer's own
        sub-modules so that ``self_attn`` can be asked for its (head-averaged) weights."""
        h = self.embed(x)
        weights = []
        layer: nn.TransformerEncoderLayer
        for layer in self.layers:  # type: ignore[assignment]
            q = layer.norm1(h)
            a, w = layer.self_attn(q, q, q, need_weights=True, average_attn_weights=True)
            h = h + layer.dropout1(a)
            h = h + layer.dropout2(layer.linear2(layer.dropout(layer.activation(layer.linear1(layer.norm2(h))))))
            weights.append(w)
        return self.head(self.norm(h).mean(dim=1)).squeeze(-1), column_share(weights)


class PeerCrossBlock(nn.Module):
    """Pre-LN cross-attention block around ``nn.MultiheadAttention`` (queries and keys/values with their own
    LayerNorm), then a pre-LN feed-forward sub-layer; only the query tokens are updated."""

    def __init__(self) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(D_MODEL)
        self.norm_kv = nn.LayerNorm(D_MODEL)
        self.attn = nn.MultiheadAttention(D_MODEL, N_HEADS, dropout=DROPOUT, batch_first=True)
        self.norm_ff = nn.LayerNorm(D_MODEL)
        self.ff = nn.Sequential(nn.Linear(D_MODEL, DIM_FF), nn.ReLU(), nn.Dropout(DROPOUT), nn.Linear(DIM_FF, D_MODEL))
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, h: torch.Tensor, kv: torch.Tensor, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        kv = self.norm_kv(kv)
        a, w = self.attn(self.norm_q(h), kv, kv, need_weights=need_weights, average_attn_weights=True)
        h = h + self.drop(a)
        return h + self.drop(self.ff(self.norm_ff(h))), w


class PeerCross(nn.Module):
    """Embedding → split into query (technical) and key/value (macro) tokens → cross blocks → LayerNorm, mean over
    the query tokens → MLP head."""

    query_idx: torch.Tensor
    key_idx: torch.Tensor

    def __init__(self, base_idx: list[int], lag_idx: list[int], query_idx: list[int], key_idx: list[int]) -> None:
        super().__init__()
        self.embed = PeerEmbedding(base_idx, lag_idx)
        self.register_buffer("query_idx", torch.tensor(query_idx))
        self.register_buffer("key_idx", torch.tensor(key_idx))
        self.blocks = nn.ModuleList(PeerCrossBlock() for _ in range(N_LAYERS))
        self.norm = nn.LayerNorm(D_MODEL)
        self.head = peer_head()

    def _run(self, x: torch.Tensor, need_weights: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        tokens = self.embed(x)
        h, kv = tokens[:, self.query_idx], tokens[:, self.key_idx]
        weights = []
        for block in self.blocks:
            h, w = block(h, kv, need_weights)
            if w is not None:
                weights.append(w)
        return self.head(self.norm(h).mean(dim=1)).squeeze(-1), weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, need_weights=False)[0]

    def forward_with_importance(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pred, weights = self._run(x, need_weights=True)
        return pred, column_share(weights)


def build_peer(kind: str, columns: list[str], seed: int) -> PeerSelf | PeerCross:
    base_idx, lag_idx, query_idx, key_idx = token_layout(columns, kind)
    torch.manual_seed(seed)
    if key_idx is None:
        return PeerSelf(base_idx, lag_idx)
    return PeerCross(base_idx, lag_idx, query_idx, key_idx)


@dataclass
class PeerFit:
    model: PeerSelf | PeerCross
    mean: np.ndarray
    scale: np.ndarray
    keys: list[str]
    loop_seconds: float
    last_loss: float


def fit_peer(kind: str, X: pd.DataFrame, y: pd.Series, epochs: int, batch_size: int, seed: int) -> PeerFit:
    """Everything ours' ``fit`` does for a DataFrame, the plain way: float32 array, per-column standardisation
    (training mean and std, float64 statistics), standardised target, a seeded model, then the bare training loop."""
    columns = [str(c) for c in X.columns]
    x = X.to_numpy(dtype=np.float32)
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    std = x.std(axis=0, dtype=np.float64)
    scale = np.where(std > 1e-12, std, 1.0).astype(np.float32)
    xt = torch.from_numpy((x - mean) / scale)
    yv = y.to_numpy(dtype=np.float64)
    yt = torch.from_numpy(((yv - yv.mean()) / (yv.std() or 1.0)).astype(np.float32))
    model = build_peer(kind, columns, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    n = xt.shape[0]
    last = float("nan")
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        total = torch.zeros(())
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = xt[idx], yt[idx]
            loss = (model(xb) - yb).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * idx.shape[0]
        last = float(total) / n
    loop = time.perf_counter() - t0
    model.eval()
    _, _, query_idx, key_idx = token_layout(columns, kind)
    keys = [columns[j] for j in (query_idx if key_idx is None else key_idx)]
    return PeerFit(model, mean, scale, keys, loop, last)


@torch.no_grad()
def peer_importance(fit: PeerFit, X: pd.DataFrame) -> pd.DataFrame:
    """Per-sample importance: standardise, forward in chunks of ``EVAL_ROWS`` rows with the attention weights, column
    shares; a DataFrame indexed like ``X`` with the key tokens as columns (the same output as ours)."""
    x = torch.from_numpy((X.to_numpy(dtype=np.float32) - fit.mean) / fit.scale)
    parts = [fit.model.forward_with_importance(x[s:s + EVAL_ROWS])[1] for s in range(0, x.shape[0], EVAL_ROWS)]
    return pd.DataFrame(torch.cat(parts).numpy().astype(np.float64), index=X.index,
                        columns=pd.Index(fit.keys, name="feature"))


# ------------------------------------------------------------------------------------------------------- ours
@dataclass
class OursFit:
    model: SelfAttentionSelector | CrossAttentionSelector
    loop_seconds: float
    last_loss: float


def fit_ours(kind: str, X: pd.DataFrame, y: pd.Series, epochs: int, batch_size: int, seed: int) -> OursFit:
    est = SELECTORS[kind](d_model=D_MODEL, n_heads=N_HEADS, n_layers=N_LAYERS, dim_feedforward=DIM_FF,
                          dropout=DROPOUT, head_hidden_dims=(HEAD_HIDDEN,), epochs=epochs, batch_size=batch_size, lr=LR,
                          seed=seed, device="cpu", verbose=False)
    est.fit(X, y)
    return OursFit(est, float(est.history_.seconds), float(est.history_["train_loss"][-1]))


# ------------------------------------------------------------------------------------------------ agreement check
@torch.no_grad()
def load_ours_into_peer(ours: Any, peer: PeerSelf | PeerCross) -> None:
    """Copy ours' fitted weights into the peer (w_q, w_k, w_v stacked into ``in_proj``)."""
    net = ours.model_
    peer.embed.value_weight.copy_(net.value_weight)
    peer.embed.feature_embedding.weight.copy_(net.feature_embedding.weight)
    peer.embed.lag_embedding.weight.copy_(net.lag_embedding.weight)
    peer.norm.load_state_dict(net.norm.state_dict())
    peer.head.load_state_dict(net.head.state_dict())
    targets: list[Any] = list(peer.layers if isinstance(peer, PeerSelf) else peer.blocks)
    src: Any
    for src, dst in zip(net.blocks, targets, strict=True):
        attn: Any = dst.self_attn if isinstance(peer, PeerSelf) else dst.attn
        attn.in_proj_weight.copy_(torch.cat([src.attn.w_q.weight, src.attn.w_k.weight, src.attn.w_v.weight]))
        attn.in_proj_bias.copy_(torch.cat([src.attn.w_q.bias, src.attn.w_k.bias, src.attn.w_v.bias]))
        attn.out_proj.load_state_dict(src.attn.w_o.state_dict())
        if isinstance(peer, PeerSelf):
            dst.norm1.load_state_dict(src.norm_q.state_dict())
            dst.norm2.load_state_dict(src.norm_ff.state_dict())
            dst.linear1.load_state_dict(src.ff[0].state_dict())
            dst.linear2.load_state_dict(src.ff[3].state_dict())
        else:
            dst.norm_q.load_state_dict(src.norm_q.state_dict())
            dst.norm_kv.load_state_dict(src.norm_kv.state_dict())
            dst.norm_ff.load_state_dict(src.norm_ff.state_dict())
            dst.ff.load_state_dict(src.ff.state_dict())


@torch.no_grad()
def agreement(kind: str, ours: Any, X: pd.DataFrame) -> tuple[float, float]:
    """Max |Δ| of the standardised predictions and of the importances between ours and the peer loaded with ours'
    weights, on the first ``EVAL_ROWS`` rows in eval mode."""
    rows = X.iloc[:EVAL_ROWS]
    columns = [str(c) for c in X.columns]
    peer = build_peer(kind, columns, 0)
    load_ours_into_peer(ours, peer)
    peer.eval()
    _, _, query_idx, key_idx = token_layout(columns, kind)
    keys = [columns[j] for j in (query_idx if key_idx is None else key_idx)]
    fit = PeerFit(peer, ours.mean_, ours.scale_, keys, 0.0, float("nan"))
    x = torch.from_numpy((rows.to_numpy(dtype=np.float32) - ours.mean_) / ours.scale_)
    pred_peer = peer.forward_with_importance(x)[0].numpy()
    pred_ours = ours.model_(x).numpy()
    imp_diff = np.abs(peer_importance(fit, rows).to_numpy() - ours.importance(rows).to_numpy()).max()
    return float(np.abs(pred_peer - pred_ours).max()), float(imp_diff)


# ------------------------------------------------------------------------------------------------------- running
@dataclass
class Timings:
    fit: list[float] = field(default_factory=list)  # whole fit (incl. validation, scaling, model construction)
    loop: list[float] = field(default_factory=list)  # training loop alone
    importance: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)


@dataclass
class Case:
    kind: str  # "self" | "cross"
    lags: int
    n_tokens: int
    n_queries: int
    n_keys: int
    ours: Timings = field(default_factory=Timings)
    peer: Timings = field(default_factory=Timings)
    pred_diff: float = float("nan")
    imp_diff: float = float("nan")


def run_case(kind: str, lags: int, X: pd.DataFrame, y: pd.Series, args: argparse.Namespace) -> Case:
    columns = [str(c) for c in X.columns]
    _, _, query_idx, key_idx = token_layout(columns, kind)
    case = Case(kind, lags, len(columns), len(query_idx), len(query_idx if key_idx is None else key_idx))
    runners: list[tuple[Timings, Callable[..., Any], Callable[..., Any]]] = [
        (case.ours, fit_ours, lambda f, data: f.model.importance(data)),
        (case.peer, fit_peer, peer_importance),
    ]
    # untimed warm-up of both: first-call costs (allocator, kernel selection, lazy imports) hit no measured run
    warm_X, warm_y = X.iloc[:1024], y.iloc[:1024]
    for _, fitter, importer in runners:
        importer(fitter(kind, warm_X, warm_y, 1, args.batch_size, args.seed), warm_X)
    ours_fit: OursFit | None = None
    for r in range(args.repeats):
        seed = args.seed + 100 + r  # same seed for both methods in a repeat
        line = []
        for name, (timings, fitter, importer) in zip(("ours", "peer"), runners, strict=True):  # interleaved
            seconds, fit = timed(functools.partial(fitter, kind, X, y, args.epochs, args.batch_size, seed))
            imp_seconds, imp = timed(functools.partial(importer, fit, X))
            assert imp.shape == (len(X), case.n_keys)
            timings.fit.append(seconds)
            timings.loop.append(fit.loop_seconds)
            timings.importance.append(imp_seconds)
            timings.loss.append(fit.last_loss)
            if name == "ours":
                ours_fit = fit
            line.append(f"{name} {seconds / args.epochs:6.3f} s/epoch, importance {imp_seconds:6.3f} s")
        print(f"    repeat {r + 1}/{args.repeats}  " + "   ".join(line), flush=True)
    assert ours_fit is not None
    case.pred_diff, case.imp_diff = agreement(kind, ours_fit.model, X)
    return case


# --------------------------------------------------------------------------------------------------------- report
def label(case: Case) -> str:
    model = "SelfAttentionSelector" if case.kind == "self" else "CrossAttentionSelector"
    layout = "no lags" if case.lags == 0 else f"lags {case.lags}"
    tokens = (f"{case.n_tokens} tokens" if case.kind == "self"
              else f"{case.n_queries} query × {case.n_keys} key tokens")
    return f"{model}, {layout} ({tokens})"


def build_report(cases: list[Case], args: argparse.Namespace) -> tuple[str, list[str]]:
    n, e = args.samples, args.epochs
    lines = [
        f"| model, layout | method | s/epoch, median (min–max) of {args.repeats} | s/epoch, training loop "
        f"| training rows/s | importance s ({n:,} rows) | importance rows/s | last-epoch train loss |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    noisy: list[str] = []
    for case in cases:
        for name, t in (("ours", case.ours), ("peer", case.peer)):
            method = ("latentquant `fit` / `importance`" if name == "ours"
                      else "PyTorch " + ("`TransformerEncoderLayer`" if case.kind == "self"
                                         else "`MultiheadAttention`") + " + bare loop")
            per_epoch = [s / e for s in t.fit]
            lines.append(
                f"| {label(case)} | {method} | {fmt_range(per_epoch)} | {statistics.median(t.loop) / e:.3f} "
                f"| {n * e / statistics.median(t.fit):,.0f} | {fmt_range(t.importance)} "
                f"| {n / statistics.median(t.importance):,.0f} | {statistics.median(t.loss):.4f} |"
            )
            for what, values in (("fit", t.fit), ("importance", t.importance)):
                if len(values) > 1 and max(values) / min(values) > NOISY_SPREAD:
                    noisy.append(f"{label(case)} {name} {what} {max(values) / min(values):.1f}×")
        med = {f"{who}_{k}": statistics.median(getattr(getattr(case, who), k))
               for who in ("ours", "peer") for k in ("fit", "loop", "importance")}
        epoch, loop = med["ours_fit"] / med["peer_fit"], med["ours_loop"] / med["peer_loop"]
        importance = med["ours_importance"] / med["peer_importance"]
        notes.append(
            f"- {label(case)} — time ours / peer (< 1: ours faster): epoch **{epoch:.2f}×** (training loop alone "
            f"{loop:.2f}×), importance **{importance:.2f}×**; same-network check with ours' fitted weights loaded into "
            "the peer: max |Δ prediction| "
            f"{case.pred_diff:.1e}, max |Δ importance| {case.imp_diff:.1e}"
        )
    table = "\n".join(lines)
    notes.append("- the stock `TransformerEncoderLayer` does not expose its attention weights; for importance the "
                 "self-attention peer calls the layer's `self_attn` (`need_weights=True, average_attn_weights=True`) "
                 "and its other sub-modules itself; the cross-attention peer asks its `MultiheadAttention` for the "
                 "weights only in importance; both peers train with `need_weights=False` (torch's "
                 "`scaled_dot_product_attention`), ours always computes the attention matrices")
    notes.append(f"- peak RSS of the benchmark process: {maxrss_kib() / 1024:,.0f} MiB")
    if noisy:
        notes.append(f"- ⚠ unstable timings (slowest/fastest repeat: {', '.join(noisy)}); another process was "
                     "probably competing for the cores — rerun on a quiet machine"
                     + (" or with --threads 1" if args.threads > 1 else ""))
    return table, notes


# ----------------------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2,000 rows, 1 epoch, 1 repeat; RESULTS.md only with --write")
    p.add_argument("--samples", type=int, help="rows of simulated data (default 10,000; --quick 2,000)")
    p.add_argument("--epochs", type=int, help="epochs per timed fit (default 2; --quick 1)")
    p.add_argument("--repeats", type=int, help="timed fits per method, median reported (default 3; --quick 1)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size for both (default 64, the selectors')")
    p.add_argument("--lags", type=int, default=4,
                   help="lags of the technical columns in the second layout (default 4; 0 runs the no-lag layout only)")
    p.add_argument("--models", default="self,cross", help="comma-separated subset of self,cross (default both)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads for both (default 1: stable numbers on a small or shared machine)")
    p.add_argument("--seed", type=int, default=0, help="base seed (data, initial weights, training)")
    p.add_argument("--write", action="store_true", help="append to RESULTS.md even with --quick")
    p.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--results", type=Path, default=RESULTS_FILE, help="results file (default benchmarks/RESULTS.md)")
    args = p.parse_args(argv)
    args.samples = args.samples or (2_000 if args.quick else 10_000)
    args.epochs = args.epochs or (1 if args.quick else 2)
    args.repeats = args.repeats or (1 if args.quick else 3)
    for name in ("samples", "epochs", "repeats", "batch_size", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.samples < 1024:
        p.error("--samples must be >= 1024 (the warm-up and the agreement check use 1,024 rows)")
    if args.lags < 0:
        p.error("--lags must be >= 0")
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not args.models or any(m not in SELECTORS for m in args.models):
        p.error("--models must be a comma-separated subset of self,cross")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    load_at_start = load_average()
    layouts = [0] + ([args.lags] if args.lags > 0 else [])
    print(f"{args.samples:,} rows, batch {args.batch_size}, {args.epochs} epoch(s) per fit, {args.repeats} repeat(s), "
          f"torch threads {args.threads}; d_model {D_MODEL}, {N_HEADS} heads, {N_LAYERS} layer(s), feed-forward "
          f"{DIM_FF}, dropout {DROPOUT}, head ({HEAD_HIDDEN},)", flush=True)
    cases = []
    t_start = time.perf_counter()
    for lags in layouts:
        X, y = make_data(args.samples, lags, args.seed)
        for kind in args.models:
            print(f"  {kind}-attention, {X.shape[1]} columns ({'no lags' if lags == 0 else f'lags {lags}'})",
                  flush=True)
            cases.append(run_case(kind, lags, X, y, args))
    print(f"  total {time.perf_counter() - t_start:.1f} s", flush=True)

    table, notes = build_report(cases, args)
    print()
    print(table)
    print()
    print("\n".join(notes))

    write = (args.write or not args.quick) and not args.no_write
    if write:
        info = machine_info(("torch", "numpy", "pandas"), torch_threads=args.threads, load_avg=load_at_start)
        cmd = " ".join(["python", "benchmarks/bench_selection.py", *map(shlex.quote, sys.argv[1:])]) \
            if argv is None else "main(" + repr(argv) + ")"
        stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        section = "\n".join([
            f"## Attention selectors: epoch and importance time vs plain PyTorch — {stamp}",
            "",
            machine_markdown(info),
            "",
            f"Command: `{cmd}`",
            "",
            f"Simulated data: {args.samples:,} business days; 14 technical columns ({', '.join(TECHNICAL[:3])}, …) "
            f"and the 5 macro columns ({', '.join(MACRO_FEATURES)}), each a standardised AR(1) with its own location "
            "and scale; target a noisy linear function of the technical values with a VIX-dependent slope; seed "
            f"{args.seed}. Layouts: no lags (19 tokens) and, with lags {args.lags}, each technical column plus its "
            f"lag copies (the study's `lags: {args.lags}`). Both methods: d_model {D_MODEL}, {N_HEADS} heads, "
            f"{N_LAYERS} layer, feed-forward {DIM_FF}, dropout {DROPOUT}, head ({HEAD_HIDDEN},), batch "
            f"{args.batch_size}, Adam lr {LR} (ours: the Trainer's fused Adam kernel; peer: torch's default Adam), "
            "MSE on the standardised target, no validation. Ours: `SelfAttentionSelector` / `CrossAttentionSelector` "
            "`.fit(X, y)` and `.importance(X)` on the DataFrame. Peer: the same network from "
            "`nn.TransformerEncoderLayer(norm_first=True, batch_first=True)` / `nn.MultiheadAttention`, a bare "
            "permutation + tensor-indexing loop, importance from `need_weights=True, average_attn_weights=True` — "
            "timed from the DataFrame too (array conversion, standardisation, model construction; importance returns "
            f"a DataFrame). s/epoch = fit wall time / {args.epochs} epoch(s), median (min–max) of interleaved repeats "
            "after an untimed 1-epoch warm-up of each on 1,024 rows; importance = one call on all rows after each "
            f"fit. torch threads: {args.threads}; CPU only.",
            "",
            table,
            "",
            *notes,
            "",
        ])
        append_results(section, args.results)
        print(f"\nappended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
