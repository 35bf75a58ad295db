"""Noise schedules, the forward process and the denoising network of
:class:`~latentquant.models.generative.diffusion.DiffusionGenerator` (Ho et al. 2020)."""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
import torch
from torch import nn

from latentquant.training.checkpoint import register_model
from latentquant.validation import Interval, Options, check_arg

__all__ = ["MAX_BETA", "DiffusionDenoiser", "beta_schedule", "q_sample"]

MAX_BETA = 0.999  # the largest beta of a schedule (Nichol & Dhariwal 2021)


def beta_schedule(n_steps: int, schedule: str = "cosine") -> np.ndarray:
    r"""The noise variances :math:`\beta_1, \dots, \beta_T` of a diffusion schedule.

    Parameters
    ----------
    n_steps : int
        Number of diffusion steps :math:`T` (>= 1).
    schedule : {"cosine", "linear"}
        ``"cosine"``: Nichol & Dhariwal (2021); ``"linear"``: Ho et al. (2020), :math:`10^{-4} \to 0.02` rescaled by
        :math:`1000/T`.

    Returns
    -------
    numpy.ndarray
        float64 ``(n_steps,)``, in :math:`(0, 0.999]`; ``np.cumprod(1 - betas)`` is :math:`\bar\alpha_t`.

    Raises
    ------
    ConfigError
        ``n_steps`` below 1 or an unknown ``schedule``.

    Examples
    --------
    >>> betas = beta_schedule(200, "cosine")
    >>> abar = np.cumprod(1 - betas)
    >>> bool(abar[0] > 0.999), bool(abar[-1] < 1e-4)
    (True, True)
    >>> float(np.cumprod(1 - beta_schedule(1000, "linear"))[-1]) < 1e-4
    True
    >>> beta_schedule(10, "quadratic")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: schedule must be one of ['cosine', 'linear'], got 'quadratic'.
    """
    check_arg("n_steps", n_steps, Interval(Integral, 1, None))
    check_arg("schedule", schedule, Options("cosine", "linear"))
    n = int(n_steps)
    if schedule == "linear":
        scale = 1000.0 / n
        betas = np.linspace(scale * 1e-4, scale * 0.02, n, dtype=np.float64)
    else:
        s = 0.008
        steps = np.arange(n + 1, dtype=np.float64) / n
        f = np.cos((steps + s) / (1 + s) * np.pi / 2) ** 2
        abar = f / f[0]
        betas = 1.0 - abar[1:] / abar[:-1]
    return np.clip(betas, 1e-8, MAX_BETA)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    r"""Draw from the forward process :math:`q(x_t \mid x_0)`: :math:`\sqrt{\bar\alpha_t}\,x_0 +
    \sqrt{1-\bar\alpha_t}\,\varepsilon`.

    Parameters
    ----------
    x0 : torch.Tensor
        Clean windows ``(b, L, F)``.
    t : torch.Tensor
        0-based step of each window, integer ``(b,)`` (step ``t`` has noise level ``alphas_cumprod[t]``).
    noise : torch.Tensor
        :math:`\varepsilon`, shaped like ``x0``.
    alphas_cumprod : torch.Tensor
        :math:`\bar\alpha` ``(T,)``.

    Returns
    -------
    torch.Tensor
        :math:`x_t`, shaped like ``x0``.

    Examples
    --------
    >>> abar = torch.tensor([0.64, 0.25])
    >>> x_t = q_sample(torch.ones(2, 1, 1), torch.tensor([0, 1]), torch.ones(2, 1, 1), abar)  # 0.8 + 0.6, 0.5 + 0.866
    >>> [round(v, 4) for v in x_t.flatten().tolist()]
    [1.4, 1.366]
    """
    a = alphas_cumprod.to(device=x0.device, dtype=x0.dtype)[t.long()].view(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * x0 + (1.0 - a).sqrt() * noise


def _timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding ``(b, dim)`` of integer steps ``t`` (Vaswani et al. 2017, as in Ho et al.)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / max(half, 1))
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    if dim % 2:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb


def _groups(channels: int) -> int:
    """Groups of the group normalisation: up to 8, dividing ``channels``."""
    return math.gcd(channels, 8)


# ----------------------------------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------------------------------
class _ResidualBlock(nn.Module):
    """GroupNorm → SiLU → conv (+ step embedding) → GroupNorm → SiLU → conv, plus the input."""

    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        pad = dilation * (kernel_size // 2)
        self.norm1 = nn.GroupNorm(_groups(channels), channels)
        self.conv1 = nn.Conv1d(channels, channels, kernel_size, padding=pad, dilation=dilation)
        self.emb = nn.Linear(channels, channels)
        self.norm2 = nn.GroupNorm(_groups(channels), channels)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=pad, dilation=dilation)
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.act(self.norm1(h))) + self.emb(emb)[:, :, None]
        out = self.conv2(self.act(self.norm2(out)))
        return h + out


class _TimeAttention(nn.Module):
    """One pre-norm multi-head self-attention layer over the time axis, residual."""

    def __init__(self, channels: int, n_heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.attn = nn.MultiheadAttention(channels, n_heads, batch_first=True)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.norm(h.transpose(1, 2))  # (b, L, C)
        out, _ = self.attn(x, x, x, need_weights=False)
        return h + out.transpose(1, 2)


@register_model
class DiffusionDenoiser(nn.Module):
    r"""The noise predictor :math:`\varepsilon_\theta(x_t, t)` of :class:`DiffusionGenerator`: residual 1-D
    convolutions over time (dilations 1, 2, 4, … so that the receptive field grows with depth), each block told the
    step through a sinusoidal embedding, and optionally one self-attention layer over time in the middle.

    Parameters
    ----------
    n_features : int
        Features ``F`` of a window.
    channels : int
        Width of the hidden convolutions.
    n_blocks : int
        Residual convolution blocks.
    kernel_size : int
        Odd kernel size of the convolutions ("same" padding, so any window length works).
    attention : bool
        Put one self-attention layer over time after the first half of the blocks.
    n_heads : int
        Attention heads (must divide ``channels``).

    Examples
    --------
    >>> net = DiffusionDenoiser(n_features=2, channels=16, n_blocks=2, kernel_size=3, attention=True, n_heads=2)
    >>> net(torch.zeros(5, 20, 2), torch.arange(5)).shape
    torch.Size([5, 20, 2])
    """

    def __init__(self, n_features: int, channels: int = 64, n_blocks: int = 4, kernel_size: int = 3,
                 attention: bool = False, n_heads: int = 4) -> None:
        super().__init__()
        self.channels = channels
        self.time_mlp = nn.Sequential(nn.Linear(channels, 4 * channels), nn.SiLU(), nn.Linear(4 * channels, channels))
        self.inp = nn.Conv1d(n_features, channels, 1)
        self.blocks = nn.ModuleList(_ResidualBlock(channels, kernel_size, 2 ** (i % 4)) for i in range(n_blocks))
        self.attention_at = n_blocks // 2
        self.attn = _TimeAttention(channels, n_heads) if attention else None
        self.out_norm = nn.GroupNorm(_groups(channels), channels)
        self.out = nn.Conv1d(channels, n_features, 1)
        nn.init.zeros_(self.out.weight)  # starts by predicting no noise: a stable first step
        if self.out.bias is not None:
            nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predicted noise ``(b, L, F)`` of noisy windows ``x`` ``(b, L, F)`` at 0-based steps ``t`` ``(b,)``."""
        emb = self.time_mlp(_timestep_embedding(t, self.channels))
        h = self.inp(x.transpose(1, 2))
        for i, block in enumerate(self.blocks):
            if self.attn is not None and i == self.attention_at:
                h = self.attn(h)
            h = block(h, emb)
        if self.attn is not None and self.attention_at == len(self.blocks):
            h = self.attn(h)
        return self.out(torch.nn.functional.silu(self.out_norm(h))).transpose(1, 2)


# ----------------------------------------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------------------------------------
