r"""The networks of the normalizing flows (:mod:`latentquant.models.generative.flows`): coupling layers (NICE's
additive, RealNVP's affine), NICE's diagonal rescaling, MADE blocks and the flows built from them.

Every flow maps a flattened window :math:`x \in \mathbb R^D` (:math:`D = L \cdot F`, time-major: dimension
:math:`d = t F + f`) to :math:`z = f(x)` with :math:`z \sim \mathcal N(0, I)` and returns
:math:`\log|\det \partial f / \partial x|` alongside, so that

.. math::

    \log p(x \mid c) = \log \mathcal N(f(x; c); 0, I) + \log\left|\det \frac{\partial f(x; c)}{\partial x}\right|.

``forward`` is the density direction (data → noise), ``inverse`` the sampling direction. An optional context
:math:`c` (``n_context`` values per window) is concatenated to every conditioner / MADE input. No batch norm: the
last layer of every conditioner starts at zero, so each flow starts as the identity and log-scales are
soft-clamped by :math:`s = b \tanh(s_{raw} / b)` with a learned bound :math:`b = e^{\beta}` per dimension (the book's
:math:`\exp(s_f)\tanh(s / \exp(s_f))`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
from torch import nn

from latentquant.exceptions import ConfigError
from latentquant.training.checkpoint import register_model

__all__ = ["MADE", "CouplingFlowNet", "CouplingLayer", "FlowMaskedLinear", "MaskedAutoregressiveFlowNet",
           "coupling_masks", "made_degrees", "standard_normal_log_prob"]

_LOG_2PI = math.log(2.0 * math.pi)
MASKS = ("time", "feature", "checkerboard")


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """:math:`\\sum_d \\log \\mathcal N(z_d; 0, 1)` over the last axis."""
    return -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)


def coupling_masks(length: int, n_features: int, mask: str, n_layers: int) -> list[np.ndarray]:
    """Which flattened dimensions each coupling layer transforms (``True``), alternating between layers.

    ``"time"`` splits by the parity of the time step, ``"feature"`` by the parity of the feature, ``"checkerboard"``
    by the parity of their sum; layer ``k`` transforms the dimensions of parity ``k mod 2``, so every dimension is
    transformed by every other layer.

    Parameters
    ----------
    length : int
        Time steps ``L``.
    n_features : int
        Features ``F``.
    mask : {"time", "feature", "checkerboard"}
        The split.
    n_layers : int
        Coupling layers.

    Returns
    -------
    list of numpy.ndarray
        ``n_layers`` boolean vectors of length ``L * F``.

    Raises
    ------
    ConfigError
        A split that leaves a layer with nothing to transform or nothing to condition on.
    """
    t, f = np.meshgrid(np.arange(length), np.arange(n_features), indexing="ij")
    key = {"time": t, "feature": f, "checkerboard": t + f}[mask].ravel() % 2
    if key.min() == key.max():
        fix = {"time": "a window length of at least 2", "feature": "at least 2 features or mask='time'",
               "checkerboard": "windows of at least 2 values"}[mask]
        raise ConfigError(f"mask={mask!r} needs {fix} (windows are {length} x {n_features}); every coupling layer "
                          "must keep some values to condition on and transform the others.")
    return [key == (k % 2) for k in range(n_layers)]


def _mlp(n_in: int, hidden_dims: Sequence[int], n_out: int) -> nn.Sequential:
    """ReLU MLP whose last layer starts at zero (the coupling starts as the identity)."""
    layers: list[nn.Module] = []
    for h in hidden_dims:
        layers += [nn.Linear(n_in, h), nn.ReLU()]
        n_in = h
    last = nn.Linear(n_in, n_out)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


def _soft_clamp(raw: torch.Tensor, log_bound: torch.Tensor) -> torch.Tensor:
    bound = log_bound.exp()
    return bound * torch.tanh(raw / bound)


@register_model
class CouplingLayer(nn.Module):
    """One coupling layer on ``n_dims`` values: the ``transformed`` ones are shifted (additive) or scaled and shifted
    (affine), by a conditioner MLP of the others (and the context).

    Parameters
    ----------
    n_dims : int
        Values per window ``D``.
    transformed : list of int
        Indices of the transformed values (the rest condition).
    hidden_dims : list of int
        Hidden widths of the conditioner.
    n_context : int
        Context values per window (0: unconditional).
    affine : bool
        Affine (RealNVP: 2 outputs per transformed value, log-scale and shift) or additive (NICE: 1, the shift).
    """

    idx_a: torch.Tensor
    idx_b: torch.Tensor
    order: torch.Tensor

    def __init__(self, n_dims: int, transformed: Sequence[int], hidden_dims: Sequence[int] = (64, 64),
                 n_context: int = 0, affine: bool = True) -> None:
        super().__init__()
        b = torch.as_tensor(sorted(int(i) for i in transformed), dtype=torch.long)
        keep = torch.ones(n_dims, dtype=torch.bool)
        keep[b] = False
        a = torch.nonzero(keep).ravel()
        self.affine = bool(affine)
        self.register_buffer("idx_a", a, persistent=False)
        self.register_buffer("idx_b", b, persistent=False)
        self.register_buffer("order", torch.argsort(torch.cat([a, b])), persistent=False)
        n_b = len(b)
        self.conditioner = _mlp(len(a) + n_context, hidden_dims, n_b * (2 if affine else 1))
        if affine:
            self.log_bound = nn.Parameter(torch.zeros(n_b))

    def _params(self, x_a: torch.Tensor, context: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.conditioner(x_a if context is None else torch.cat([x_a, context], dim=-1))
        if not self.affine:
            return torch.zeros_like(h), h
        raw, shift = h.chunk(2, dim=-1)
        return _soft_clamp(raw, self.log_bound), shift

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x_a, x_b = x[:, self.idx_a], x[:, self.idx_b]
        log_s, shift = self._params(x_a, context)
        y_b = x_b * log_s.exp() + shift
        return torch.cat([x_a, y_b], dim=-1)[:, self.order], log_s.sum(-1)

    def inverse(self, y: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        y_a, y_b = y[:, self.idx_a], y[:, self.idx_b]
        log_s, shift = self._params(y_a, context)
        return torch.cat([y_a, (y_b - shift) * torch.exp(-log_s)], dim=-1)[:, self.order]


class _Flow(nn.Module):
    """``log_prob`` from ``forward``; subclasses define ``forward(x, context) -> (z, log_det)`` and ``inverse``."""

    def log_prob(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Log-density ``(b,)`` of flattened windows ``x`` ``(b, D)``."""
        z, log_det = self(x, context)
        return standard_normal_log_prob(z) + log_det


@register_model
class CouplingFlowNet(_Flow):
    """A stack of coupling layers with alternating masks: NICE (additive + a final diagonal rescaling) or RealNVP
    (affine).

    Parameters
    ----------
    length : int
        Window length ``L``.
    n_features : int
        Features ``F``.
    n_layers : int
        Coupling layers.
    hidden_dims : list of int
        Hidden widths of each conditioner.
    mask : {"time", "feature", "checkerboard"}
        How the window is split (:func:`coupling_masks`).
    affine : bool
        RealNVP's affine coupling (else NICE's additive one).
    rescale : bool
        NICE's diagonal rescaling layer :math:`z = e^{\\lambda} \\odot h` after the couplings (its log-det
        :math:`\\sum_d \\lambda_d` is what makes an additive flow able to change volume).
    n_context : int
        Context values per window.
    """

    def __init__(self, length: int, n_features: int, n_layers: int = 8, hidden_dims: Sequence[int] = (64, 64),
                 mask: str = "time", affine: bool = True, rescale: bool = False, n_context: int = 0) -> None:
        super().__init__()
        n_dims = length * n_features
        self.n_dims = n_dims
        self.layers = nn.ModuleList(
            CouplingLayer(n_dims, np.flatnonzero(m).tolist(), list(hidden_dims), n_context, affine)
            for m in coupling_masks(length, n_features, mask, n_layers))
        self.log_scale = nn.Parameter(torch.zeros(n_dims)) if rescale else None

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x, context)
            log_det = log_det + ld
        if self.log_scale is not None:
            x = x * self.log_scale.exp()
            log_det = log_det + self.log_scale.sum()
        return x, log_det

    def inverse(self, z: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        if self.log_scale is not None:
            z = z * torch.exp(-self.log_scale)
        for layer in reversed(self.layers):
            z = cast(CouplingLayer, layer).inverse(z, context)
        return z


def made_degrees(n_dims: int, hidden_dims: Sequence[int], reverse: bool) -> list[np.ndarray]:
    """MADE degrees (Germain et al. 2015): inputs ``1..D`` in the autoregressive order, hidden units cycling through
    ``1..D-1``; a unit sees an input of degree ``<=`` its own, an output of degree ``d`` sees units of degree ``< d``.

    Parameters
    ----------
    n_dims : int
        Values ``D``.
    hidden_dims : list of int
        Hidden widths.
    reverse : bool
        Reverse order (the last value first).

    Returns
    -------
    list of numpy.ndarray
        The degrees of the inputs, then of each hidden layer.
    """
    order = np.arange(n_dims)[::-1] if reverse else np.arange(n_dims)
    degrees = [np.argsort(order) + 1]
    for h in hidden_dims:
        degrees.append(np.arange(h) % max(1, n_dims - 1) + 1)
    return degrees


@register_model
class FlowMaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (MADE's connectivity).

    Parameters
    ----------
    n_in, n_out : int
        Sizes.
    mask : list of list of float
        ``(n_out, n_in)`` connectivity.
    """

    mask: torch.Tensor

    def __init__(self, n_in: int, n_out: int, mask: Sequence[Sequence[float]]) -> None:
        super().__init__(n_in, n_out)
        self.register_buffer("mask", torch.as_tensor(np.asarray(mask, dtype=np.float32)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


@register_model
class MADE(nn.Module):
    """Masked autoencoder for distribution estimation: ``(shift, log-scale)`` of every value from the values before it
    in the block's order (and the context, seen by every hidden unit).

    Parameters
    ----------
    n_dims : int
        Values ``D``.
    hidden_dims : list of int
        Hidden widths.
    n_context : int
        Context values.
    reverse : bool
        Reverse autoregressive order.
    """

    def __init__(self, n_dims: int, hidden_dims: Sequence[int] = (64, 64), n_context: int = 0,
                 reverse: bool = False) -> None:
        super().__init__()
        degrees = made_degrees(n_dims, hidden_dims, reverse)
        layers: list[nn.Module] = []
        for k, h in enumerate(hidden_dims):
            mask = (degrees[k + 1][:, None] >= degrees[k][None, :]).astype(np.float32)
            if k == 0 and n_context:
                mask = np.concatenate([mask, np.ones((h, n_context), np.float32)], axis=1)
            layers += [FlowMaskedLinear(mask.shape[1], h, mask.tolist()), nn.ReLU()]
        out_mask = (degrees[0][:, None] > degrees[-1][None, :]).astype(np.float32)
        if not hidden_dims and n_context:
            out_mask = np.concatenate([out_mask, np.ones((n_dims, n_context), np.float32)], axis=1)
        out_mask = np.concatenate([out_mask, out_mask])  # shift and raw log-scale of every value
        last = FlowMaskedLinear(out_mask.shape[1], 2 * n_dims, out_mask.tolist())
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)
        self.log_bound = nn.Parameter(torch.zeros(n_dims))
        self.n_dims = n_dims
        self._degrees = degrees

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x if context is None else torch.cat([x, context], dim=-1))
        shift, raw = h.chunk(2, dim=-1)
        return shift, _soft_clamp(raw, self.log_bound)

    def inverse(self, u: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """The ``x`` with ``u = (x - shift(x)) e^{-log_s(x)}``, in one pass through the network's weights.

        The naive inverse runs the whole MADE ``D`` times (pass ``k`` fixes value ``k`` of the order). Here the
        hidden units are sorted by degree, and step ``d`` computes only what value ``d`` makes computable: that
        value from the last layer's units of degree ``< d``, then every layer's units of degree ``d``. The work
        over the ``D`` steps adds up to one forward pass. Not differentiable (it fills buffers in place); used for
        sampling.

        Parameters
        ----------
        u : torch.Tensor
            ``(b, D)`` values in the noise direction.
        context : torch.Tensor, optional
            ``(b, n_context)``.

        Returns
        -------
        torch.Tensor
            ``(b, D)``.
        """
        linears = [cast(FlowMaskedLinear, m) for m in self.net if isinstance(m, FlowMaskedLinear)]
        n, d_in = u.shape[0], self.n_dims
        in_order = np.argsort(self._degrees[0], kind="stable")  # value index of degree 1, 2, ..., D
        sorted_units = [np.argsort(deg, kind="stable") for deg in self._degrees[1:]]
        sorted_deg = [np.sort(deg) for deg in self._degrees]
        # weights and biases with inputs and units in degree order (the mask applied)
        weights, biases = [], []
        prev = in_order
        for lin, units in zip(linears[:-1], sorted_units, strict=True):
            w = lin.weight * lin.mask
            weights.append(w[units][:, prev])
            biases.append(lin.bias[units])
            prev = units
        w_last = linears[-1].weight * linears[-1].mask
        rows = np.concatenate([in_order, in_order + d_in])  # (shift, raw) of the value of each degree
        w_out, b_out = w_last[rows][:, prev], linears[-1].bias[rows]
        ctx_first = None
        if context is not None:  # the context enters the first linear layer only
            w_ctx = (linears[0].weight * linears[0].mask)[:, self._degrees[0].size:]
            ctx_first = context @ w_ctx.T
            if len(linears) > 1:
                ctx_first = ctx_first[:, sorted_units[0]]
            else:
                ctx_first = ctx_first[:, rows]
        # feature-major buffers (values / units by rows) keep every prefix slice contiguous
        x = u.new_zeros(d_in, n)  # values in degree order
        hidden = [u.new_zeros(len(units), n) for units in sorted_units]
        ctx_t = None if ctx_first is None else ctx_first.T.contiguous()
        log_bound = self.log_bound[in_order]
        u_sorted = u[:, in_order].T.contiguous()
        for d in range(1, d_in + 1):
            last_in = hidden[-1] if hidden else x
            c = int(np.searchsorted(sorted_deg[-1] if hidden else sorted_deg[0], d, side="left"))
            j = d - 1
            pair = [j, j + d_in]
            out = (w_out[pair, :c] @ last_in[:c]) + b_out[pair, None]
            if ctx_t is not None and not hidden:
                out = out + ctx_t[pair]
            log_s = _soft_clamp(out[1], log_bound[j])
            x[j] = u_sorted[j] * log_s.exp() + out[0]
            src = x
            for k, h in enumerate(hidden):
                lo, hi = (int(i) for i in np.searchsorted(sorted_deg[k + 1], [d, d + 1], side="left"))
                if lo < hi:
                    c = int(np.searchsorted(sorted_deg[k], d, side="right"))
                    pre = weights[k][lo:hi, :c] @ src[:c] + biases[k][lo:hi, None]
                    if k == 0 and ctx_t is not None:
                        pre = pre + ctx_t[lo:hi]
                    h[lo:hi] = torch.relu(pre)
                src = h
        return x[np.argsort(in_order)].T


@register_model
class MaskedAutoregressiveFlowNet(_Flow):
    """MAF (Papamakarios et al. 2017): MADE blocks with alternating orders; density in one pass per block, sampling
    in ``D`` sequential steps per block whose work adds up to one pass (:meth:`MADE.inverse`).

    Parameters
    ----------
    n_dims : int
        Values per window ``D``.
    n_layers : int
        MADE blocks.
    hidden_dims : list of int
        Hidden widths of each MADE.
    n_context : int
        Context values per window.
    """

    def __init__(self, n_dims: int, n_layers: int = 5, hidden_dims: Sequence[int] = (64, 64),
                 n_context: int = 0) -> None:
        super().__init__()
        self.n_dims = n_dims
        self.layers = nn.ModuleList(MADE(n_dims, list(hidden_dims), n_context, reverse=bool(k % 2))
                                    for k in range(n_layers))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = x.new_zeros(x.shape[0])
        for made in self.layers:
            shift, log_s = made(x, context)
            x = (x - shift) * torch.exp(-log_s)  # u = (x - mu) exp(-alpha)
            log_det = log_det - log_s.sum(-1)
        return x, log_det

    def inverse(self, z: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        for made in reversed(self.layers):
            z = cast(MADE, made).inverse(z, context)
        return z
