"""Many small GRU or LSTM networks trained as one module: the post-hoc networks of the synthetic-data scores.

The discriminative and predictive scores train one small recurrent network per synthetic draw (the book repeats
them over 50 draws). Trained one after the other, each network spends much of its time in per-operation overhead:
its matrices (a batch of 64 windows × 24 hidden units) are far too small to keep a CPU core busy. Here ``k``
networks with identical architecture are held as stacked weights (``w_hh`` of shape ``(k, H, 3H)``, ...) and run with
batched matrix products, so one operation advances all of them; network ``j`` only ever sees slice ``j`` of the data
tensor, and its gradients depend on nothing else (the loss is a sum of per-network means, Adam is element-wise and
no global gradient-norm clipping is used), so the ``k`` networks train independently and exactly as each would alone.

The GRU and LSTM recursions over time have hand-written backward passes (:class:`_GRUSequence`,
:class:`_LSTMSequence`): autograd through a Python loop over time steps would record ~30 small operations per step
and zero-fill a full-size gradient for every indexed step. The hand-written passes use fused ATen kernels
(``baddbmm``, ``lerp``, ``sigmoid_backward``, ``tanh_backward``) writing into preallocated buffers, one ``(k, B, H)``
block per gate and step so that every operand is contiguous and stays in cache. Their gradients equal autograd's
(``gradcheck`` in the tests) and their outputs and gradients equal :class:`torch.nn.GRU`'s and
:class:`torch.nn.LSTM`'s with the same weights.

Layout is time-major: sequences are ``(L, k, B, F)`` (time, network, batch, feature), so each time step is one
contiguous block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__: list[str] = []

_tanh_backward = torch.ops.aten.tanh_backward
_sigmoid_backward = torch.ops.aten.sigmoid_backward


def _input_grad(grads: Sequence[torch.Tensor], w_ih: torch.Tensor, gates: Sequence[slice]) -> torch.Tensor:
    """d loss / d x ``(L, k, B, F)`` from the per-gate pre-activation gradients ``(L, k, B, H)``."""
    dx = torch.matmul(grads[0], w_ih[..., gates[0]].transpose(1, 2))
    for d, g in zip(grads[1:], gates[1:], strict=True):
        dx += torch.matmul(d, w_ih[..., g].transpose(1, 2))
    return dx


class _GRUSequence(torch.autograd.Function):
    """One GRU layer of ``k`` stacked networks over a whole sequence, zero initial state (PyTorch's gate order r, z, n).

    ``x (L, k, B, F)``, ``w_ih (k, F, 3H)``, ``w_hh (k, H, 3H)``, ``b_ih`` and ``b_hh (k, 1, 3H)`` → hidden states
    ``(L, k, B, H)``:

    .. math::

        r, z = \\sigma(x W_{ir} + b_{ir} + h W_{hr} + b_{hr}),\\ \\sigma(\\cdot)\\quad
        n = \\tanh(x W_{in} + b_{in} + r \\odot (h W_{hn} + b_{hn})),\\quad h' = (1 - z) \\odot n + z \\odot h

    Every per-step tensor is kept gate by gate (``(k, B, H)`` blocks, one matrix product per gate) so that every
    element-wise kernel reads and writes contiguous memory: a strided output (a gate's slice of a ``(k, B, 3H)``
    block) makes those kernels several times slower.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor,
                b_hh: torch.Tensor, last_only: bool) -> torch.Tensor:
        steps, k, batch, _ = x.shape
        hidden = w_hh.shape[1]
        gates = [slice(g * hidden, (g + 1) * hidden) for g in range(3)]
        w_r, w_z, w_n = (w_hh[..., g] for g in gates)
        w_ir, w_iz, w_in = (w_ih[..., g] for g in gates)
        # the recurrent biases of r and z are folded into the input biases; b_hn stays apart (it is multiplied by r)
        b_r, b_z, b_in, b_hn = (b_ih[..., gates[0]] + b_hh[..., gates[0]], b_ih[..., gates[1]] + b_hh[..., gates[1]],
                                b_ih[..., gates[2]], b_hh[..., gates[2]])
        hs = x.new_empty(steps + 1, k, batch, hidden)
        hs[0].zero_()
        r, z, n, ghn = (x.new_empty(steps, k, batch, hidden) for _ in range(4))
        # one step at a time, so that every operand is a (k, B, H) block that stays in cache (precomputing the input
        # projections of all steps at once costs passes over (L, k, B, H) arrays in main memory)
        for t in range(steps):
            h, xt = hs[t], x[t]
            torch.baddbmm(b_r, xt, w_ir, out=r[t]).baddbmm_(h, w_r).sigmoid_()
            torch.baddbmm(b_z, xt, w_iz, out=z[t]).baddbmm_(h, w_z).sigmoid_()
            torch.baddbmm(b_hn, h, w_n, out=ghn[t])  # h W_hn + b_hn, kept for the backward pass
            torch.baddbmm(b_in, xt, w_in, out=n[t]).addcmul_(r[t], ghn[t]).tanh_()
            torch.lerp(n[t], h, z[t], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs, r, z, n, ghn)
        ctx.last_only = last_only
        return hs[steps] if last_only else hs[1:]

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        dout = grads[0]
        x, w_ih, w_hh, hs, r, z, n, ghn = ctx.saved_tensors
        steps = x.shape[0]
        hidden = w_hh.shape[1]
        gates = [slice(g * hidden, (g + 1) * hidden) for g in range(3)]
        wt_r, wt_z, wt_n = (w_hh[..., g].transpose(1, 2) for g in gates)
        # per step: d loss / d pre-activation of r, z and n (= of x W_i + b_i), and / d (h W_hn + b_hn)
        d_r, d_z, d_n, d_hn = (torch.empty_like(r) for _ in range(4))
        dw_r, dw_z, dw_n = (torch.zeros_like(w_hh[..., g]) for g in gates)
        dwi_r, dwi_z, dwi_n = (torch.zeros_like(w_ih[..., g]) for g in gates)
        diff = torch.empty_like(hs[0])
        last_only = ctx.last_only
        dh = dout if last_only else dout[steps - 1]
        for t in range(steps - 1, -1, -1):
            if t < steps - 1 and not last_only:
                dh = dh + dout[t]
            zt, nt, rt = z[t], n[t], r[t]
            torch.sub(hs[t], nt, out=diff)
            _sigmoid_backward.grad_input(dh * diff, zt, grad_input=d_z[t])  # d/dz of (1 - z) n + z h
            _tanh_backward.grad_input(torch.addcmul(dh, dh, zt, value=-1.0), nt, grad_input=d_n[t])
            _sigmoid_backward.grad_input(d_n[t] * ghn[t], rt, grad_input=d_r[t])
            torch.mul(d_n[t], rt, out=d_hn[t])
            h_t = hs[t].transpose(1, 2)
            dw_r.baddbmm_(h_t, d_r[t])
            dw_z.baddbmm_(h_t, d_z[t])
            dw_n.baddbmm_(h_t, d_hn[t])
            x_t = x[t].transpose(1, 2)
            dwi_r.baddbmm_(x_t, d_r[t])
            dwi_z.baddbmm_(x_t, d_z[t])
            dwi_n.baddbmm_(x_t, d_n[t])
            dh = (dh * zt).baddbmm_(d_r[t], wt_r).baddbmm_(d_z[t], wt_z).baddbmm_(d_hn[t], wt_n)
        dw_hh = torch.cat([dw_r, dw_z, dw_n], dim=-1)
        dw_ih = torch.cat([dwi_r, dwi_z, dwi_n], dim=-1)
        sums = [d.sum(0).sum(1, keepdim=True) for d in (d_r, d_z, d_n, d_hn)]
        db_ih = torch.cat(sums[:3], dim=-1)
        db_hh = torch.cat([sums[0], sums[1], sums[3]], dim=-1)
        dx = _input_grad((d_r, d_z, d_n), w_ih, gates) if ctx.needs_input_grad[0] else None
        return dx, dw_ih, dw_hh, db_ih, db_hh, None


class _LSTMSequence(torch.autograd.Function):
    """One LSTM layer of ``k`` stacked networks over a whole sequence, zero initial states (PyTorch's gate order i, f,
    g, o): ``x (L, k, B, F)``, ``w_ih (k, F, 4H)``, ``w_hh (k, H, 4H)``, ``b_ih`` and ``b_hh (k, 1, 4H)`` → hidden
    states ``(L, k, B, H)``.

    .. math::

        i, f, o = \\sigma(\\cdot),\\quad g = \\tanh(x W_{ig} + b_{ig} + h W_{hg} + b_{hg}),\\quad
        c' = f \\odot c + i \\odot g,\\quad h' = o \\odot \\tanh(c')
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor,
                b_hh: torch.Tensor, last_only: bool) -> torch.Tensor:
        steps, k, batch, _ = x.shape
        hidden = w_hh.shape[1]
        gates = [slice(q * hidden, (q + 1) * hidden) for q in range(4)]
        bias = b_ih + b_hh  # both biases enter every gate the same way
        hs = x.new_empty(steps + 1, k, batch, hidden)
        cs = x.new_empty(steps + 1, k, batch, hidden)
        hs[0].zero_()
        cs[0].zero_()
        acts = [x.new_empty(steps, k, batch, hidden) for _ in range(4)]  # i, f, g, o after their activations
        tc = x.new_empty(steps, k, batch, hidden)  # tanh(c')
        for t in range(steps):
            h, xt = hs[t], x[t]
            for q, g in enumerate(gates):
                pre = torch.baddbmm(bias[..., g], xt, w_ih[..., g], out=acts[q][t]).baddbmm_(h, w_hh[..., g])
                pre.tanh_() if q == 2 else pre.sigmoid_()
            i, f, gg, o = (a[t] for a in acts)
            torch.mul(f, cs[t], out=cs[t + 1]).addcmul_(i, gg)
            torch.tanh(cs[t + 1], out=tc[t])
            torch.mul(o, tc[t], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs, cs, tc, *acts)
        ctx.last_only = last_only
        return hs[steps] if last_only else hs[1:]

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        dout = grads[0]
        x, w_ih, w_hh, hs, cs, tc, a_i, a_f, a_g, a_o = ctx.saved_tensors
        steps = x.shape[0]
        hidden = w_hh.shape[1]
        gates = [slice(q * hidden, (q + 1) * hidden) for q in range(4)]
        wt = [w_hh[..., g].transpose(1, 2) for g in gates]
        d = [torch.empty_like(a_i) for _ in range(4)]  # d loss / d pre-activation of i, f, g, o, per step
        dw_h = [torch.zeros_like(w_hh[..., g]) for g in gates]
        dw_i = [torch.zeros_like(w_ih[..., g]) for g in gates]
        last_only = ctx.last_only
        dh = dout if last_only else dout[steps - 1]
        dc = torch.zeros_like(hs[0])
        for t in range(steps - 1, -1, -1):
            if t < steps - 1 and not last_only:
                dh = dh + dout[t]
            _sigmoid_backward.grad_input(dh * tc[t], a_o[t], grad_input=d[3][t])
            dc.add_(_tanh_backward(dh * a_o[t], tc[t]))
            _sigmoid_backward.grad_input(dc * a_g[t], a_i[t], grad_input=d[0][t])
            _sigmoid_backward.grad_input(dc * cs[t], a_f[t], grad_input=d[1][t])
            _tanh_backward.grad_input(dc * a_i[t], a_g[t], grad_input=d[2][t])
            dc = dc * a_f[t]
            h_t, x_t = hs[t].transpose(1, 2), x[t].transpose(1, 2)
            for q in range(4):
                dw_h[q].baddbmm_(h_t, d[q][t])
                dw_i[q].baddbmm_(x_t, d[q][t])
            dh = torch.bmm(d[0][t], wt[0])
            for q in range(1, 4):
                dh.baddbmm_(d[q][t], wt[q])
        db = torch.cat([dq.sum(0).sum(1, keepdim=True) for dq in d], dim=-1)
        dx = _input_grad(d, w_ih, gates) if ctx.needs_input_grad[0] else None
        return dx, torch.cat(dw_i, dim=-1), torch.cat(dw_h, dim=-1), db, db.clone(), None


#: the recurrent cells: autograd function and number of gates
CELLS: dict[str, tuple[Any, int]] = {"gru": (_GRUSequence, 3), "lstm": (_LSTMSequence, 4)}


def rnn_sequence(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor,
                 *, cell: str = "gru", last_only: bool = False) -> torch.Tensor:
    """Hidden states ``(L, k, B, H)`` of ``k`` stacked GRU or LSTM layers run over ``x (L, k, B, F)`` from zero
    states; with ``last_only`` only the final state ``(k, B, H)`` (its backward pass then skips the per-step output
    gradients)."""
    out: torch.Tensor = CELLS[cell][0].apply(x.contiguous(), w_ih, w_hh, b_ih, b_hh, last_only)
    return out


def _uniform(generator: torch.Generator, shape: tuple[int, ...], bound: float, k: int) -> nn.Parameter:
    """One network's U(-bound, bound) draw, repeated for all ``k`` networks: every network starts the same."""
    one = (torch.rand(shape, generator=generator) * 2.0 - 1.0) * bound
    return nn.Parameter(one.unsqueeze(0).repeat(k, *([1] * len(shape))).contiguous())


class StackedRNN(nn.Module):
    """``k`` independent multi-layer GRUs or LSTMs with identical architecture, stored as stacked weights.

    Every network starts from the same weights, drawn from ``generator`` with :class:`torch.nn.GRU`'s and
    :class:`torch.nn.LSTM`'s scheme (U(−1/√H, 1/√H) for every weight and bias), so network ``j`` of a stack equals the
    single network (``k = 1``) built from the same generator state.
    """

    def __init__(self, k: int, n_inputs: int, hidden: int, layers: int, generator: torch.Generator,
                 cell: str = "gru") -> None:
        super().__init__()
        self.k, self.hidden, self.layers, self.cell = k, hidden, layers, cell
        n_gates = CELLS[cell][1]
        bound = 1.0 / math.sqrt(hidden)
        self.w_ih = nn.ParameterList()
        self.w_hh = nn.ParameterList()
        self.b_ih = nn.ParameterList()
        self.b_hh = nn.ParameterList()
        for layer in range(layers):
            fan_in = n_inputs if layer == 0 else hidden
            self.w_ih.append(_uniform(generator, (fan_in, n_gates * hidden), bound, k))
            self.w_hh.append(_uniform(generator, (hidden, n_gates * hidden), bound, k))
            self.b_ih.append(_uniform(generator, (1, n_gates * hidden), bound, k))
            self.b_hh.append(_uniform(generator, (1, n_gates * hidden), bound, k))

    def forward(self, x: torch.Tensor, *, last_only: bool = False) -> torch.Tensor:
        """``x (L, k, B, F)`` → the last layer's hidden states ``(L, k, B, H)``, or its final state ``(k, B, H)``."""
        for layer in range(self.layers):
            top = layer == self.layers - 1
            x = rnn_sequence(x, self.w_ih[layer], self.w_hh[layer], self.b_ih[layer], self.b_hh[layer],
                             cell=self.cell, last_only=last_only and top)
        return x


class StackedLinear(nn.Module):
    """``k`` independent affine maps ``(k, B, H) → (k, B, out)`` (initialised like :class:`torch.nn.Linear`)."""

    def __init__(self, k: int, n_inputs: int, n_outputs: int, generator: torch.Generator) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n_inputs)
        self.weight = _uniform(generator, (n_inputs, n_outputs), bound, k)
        self.bias = _uniform(generator, (1, n_outputs), bound, k)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h (..., k, B, H)`` → ``(..., k, B, out)``."""
        return torch.matmul(h, self.weight) + self.bias
