"""The network of :class:`~latentquant.models.generative.timevae.TimeVAE`: conv encoder and the level, trend,
seasonal and residual decoder blocks (Desai et al. 2021)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentquant.exceptions import ConfigError
from latentquant.training import register_model

__all__ = ["TimeVAENetwork", "polynomial_basis", "season_index"]


# ----------------------------------------------------------------------------------------------------------------------
# small pure functions
# ----------------------------------------------------------------------------------------------------------------------
def polynomial_basis(length: int, degree: int) -> torch.Tensor:
    r"""The trend block's basis :math:`(t/L)^p`, :math:`p = 1, \dots, \text{degree}`, :math:`t = 0, \dots, L-1`.

    Parameters
    ----------
    length : int
        Window length :math:`L`.
    degree : int
        Highest power :math:`P` (0 gives an empty basis).

    Returns
    -------
    torch.Tensor
        float32 ``(degree, length)``; row ``p - 1`` is :math:`(t/L)^p`.

    Examples
    --------
    >>> polynomial_basis(4, 2).tolist()
    [[0.0, 0.25, 0.5, 0.75], [0.0, 0.0625, 0.25, 0.5625]]
    """
    t = torch.arange(length, dtype=torch.float32) / length
    return torch.stack([t ** (p + 1) for p in range(degree)]) if degree else torch.empty(0, length)


def season_index(length: int, n_seasons: int, season_length: int) -> torch.Tensor:
    r"""The season each day of a window falls in: :math:`\lfloor t/d\rfloor \bmod m` for ``m = n_seasons`` seasons of
    ``d = season_length`` days.

    Parameters
    ----------
    length : int
        Window length.
    n_seasons : int
        Seasons per cycle :math:`m`.
    season_length : int
        Days each season lasts :math:`d`; the cycle is :math:`m\cdot d` days.

    Returns
    -------
    torch.Tensor
        int64 ``(length,)`` in ``[0, n_seasons)``.

    Examples
    --------
    >>> season_index(7, 5, 1).tolist()  # day of the business week
    [0, 1, 2, 3, 4, 0, 1]
    >>> season_index(7, 2, 3).tolist()  # two seasons of three days
    [0, 0, 0, 1, 1, 1, 0]
    """
    return (torch.arange(length) // season_length) % n_seasons


def _encoded_length(length: int, n_layers: int) -> int:
    """Length after ``n_layers`` stride-2 convolutions of kernel 3 and padding 1 (each: ``ceil(L / 2)``)."""
    for _ in range(n_layers):
        length = (length + 1) // 2
    return length


# ----------------------------------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------------------------------
class _SeasonalBlock(nn.Module):
    """``z → F·m`` season effects (centred over the seasons), held ``d`` days each and repeated over the window."""

    index: torch.Tensor

    def __init__(self, latent_dim: int, n_features: int, length: int, n_seasons: int, season_length: int) -> None:
        super().__init__()
        self.n_features, self.n_seasons = n_features, n_seasons
        self.linear = nn.Linear(latent_dim, n_features * n_seasons)
        self.register_buffer("index", season_index(length, n_seasons, season_length), persistent=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        effects = self.linear(z).view(-1, self.n_features, self.n_seasons)
        effects = effects - effects.mean(dim=-1, keepdim=True)
        return effects[:, :, self.index].transpose(1, 2)


class _TrendBlock(nn.Module):
    """``z → F·P`` polynomial coefficients times the basis :math:`(t/L)^p`."""

    basis: torch.Tensor

    def __init__(self, latent_dim: int, n_features: int, length: int, degree: int) -> None:
        super().__init__()
        self.n_features, self.degree = n_features, degree
        width = n_features * degree
        # the paper's hidden layer has F·P units; with F·P small (2 features, degree 2: 4 units) a dead ReLU can
        # switch the trend off, so the layer is at least as wide as the latent space
        self.net = nn.Sequential(nn.Linear(latent_dim, max(width, latent_dim)), nn.ReLU(),
                                 nn.Linear(max(width, latent_dim), width))
        self.register_buffer("basis", polynomial_basis(length, degree), persistent=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        coef = self.net(z).view(-1, self.n_features, self.degree)
        return (coef @ self.basis).transpose(1, 2)


class _LevelBlock(nn.Module):
    """``z → F`` levels, constant over the window."""

    def __init__(self, latent_dim: int, n_features: int, length: int) -> None:
        super().__init__()
        self.length = length
        width = max(n_features, latent_dim)
        self.net = nn.Sequential(nn.Linear(latent_dim, width), nn.ReLU(), nn.Linear(width, n_features))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).unsqueeze(1).expand(-1, self.length, -1)


def _conv_transpose_s2(conv: nn.ConvTranspose1d, h: torch.Tensor) -> torch.Tensor:
    """``conv`` (kernel 3, stride 2, padding 1, output padding 1) on channel-last ``h`` ``(n, L, C_in)`` →
    ``(n, 2L, C_out)``, as one matrix product and a fold.

    Output step :math:`o = 2i - 1 + k` takes tap :math:`k` of input step :math:`i`: even steps :math:`2i` tap 1 of
    step :math:`i`, odd steps :math:`2i + 1` taps 2 of step :math:`i` and 0 of step :math:`i + 1`. The same numbers
    as ``conv`` (the same weights, so checkpoints are unchanged) at about half its time on a CPU.
    """
    n, length, c_in = h.shape
    c_out = conv.weight.shape[1]
    taps = (h.reshape(n * length, c_in) @ conv.weight.reshape(c_in, 3 * c_out)).view(n, length, c_out, 3)
    odd = taps[..., 2] + nn.functional.pad(taps[:, 1:, :, 0], (0, 0, 0, 1))
    out = torch.stack([taps[..., 1], odd], dim=2).reshape(n, 2 * length, c_out)
    return out if conv.bias is None else out + conv.bias


class _ResidualBlock(nn.Module):
    """The base TimeVAE decoder: linear → (channels, encoded length) → ConvTranspose1d ×n → linear to ``L·F``."""

    def __init__(self, latent_dim: int, n_features: int, length: int, hidden_channels: Sequence[int]) -> None:
        super().__init__()
        self.n_features, self.length = n_features, length
        self.channels = int(hidden_channels[-1])
        self.encoded = _encoded_length(length, len(hidden_channels))
        self.dense = nn.Linear(latent_dim, self.channels * self.encoded)
        widths = [*reversed([int(h) for h in hidden_channels]), n_features]
        layers: list[nn.Module] = []
        for c_in, c_out in pairwise(widths):
            layers += [nn.ConvTranspose1d(c_in, c_out, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
        self.deconv = nn.Sequential(*layers)
        self.out = nn.Linear(n_features * self.encoded * 2 ** len(hidden_channels), length * n_features)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.dense(z)).view(-1, self.channels, self.encoded).transpose(1, 2)
        for layer in self.deconv:  # channel-last: ConvTranspose1d layers as matrix products, then ReLU
            h = _conv_transpose_s2(layer, h) if isinstance(layer, nn.ConvTranspose1d) else layer(h)
        return self.out(h.transpose(1, 2).flatten(1)).view(-1, self.length, self.n_features)


@register_model
class TimeVAENetwork(nn.Module):
    """The TimeVAE network on standardised windows ``(n, L, F)`` (see the module docstring for the blocks).

    Parameters
    ----------
    n_features : int
        Features :math:`F`.
    length : int
        Window length :math:`L` (at least ``2 ** len(hidden_channels)``).
    latent_dim : int
        Dimension of :math:`z`.
    hidden_channels : sequence of int
        Channels of the encoder's stride-2 conv layers (mirrored by the residual decoder).
    trend_poly : int
        Degree of the trend block (0: no trend block).
    seasonal : sequence of (int, int)
        ``(n_seasons, season_length)`` of each seasonal block (empty: none).
    use_level : bool
        Build the level block.
    use_residual : bool
        Build the residual conv-transpose path.

    Examples
    --------
    >>> net = TimeVAENetwork(2, 20, 4, [8, 16], trend_poly=1, seasonal=[(5, 1)], use_level=True, use_residual=False)
    >>> mu, log_var = net.encode(torch.zeros(3, 20, 2))
    >>> mu.shape, net.decode(mu).shape
    (torch.Size([3, 4]), torch.Size([3, 20, 2]))
    >>> sorted(net.components(mu))
    ['level', 'seasonal_0', 'trend']
    """

    #: configuration fields that set the network's size (named by checkpoint size checks)
    size_fields: ClassVar[tuple[str, ...]] = ("n_features", "length", "latent_dim", "hidden_channels", "trend_poly",
                                              "seasonal")

    def __init__(self, n_features: int, length: int, latent_dim: int, hidden_channels: Sequence[int], *,
                 trend_poly: int = 0, seasonal: Sequence[Sequence[int]] = (), use_level: bool = False,
                 use_residual: bool = True) -> None:
        super().__init__()
        self.n_features, self.length, self.latent_dim = n_features, length, latent_dim
        convs: list[nn.Module] = []
        for c_in, c_out in pairwise([n_features, *hidden_channels]):
            convs += [nn.Conv1d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(*convs, nn.Flatten())
        width = int(hidden_channels[-1]) * _encoded_length(length, len(hidden_channels))
        self.fc_mu = nn.Linear(width, latent_dim)
        self.fc_log_var = nn.Linear(width, latent_dim)
        self.level = _LevelBlock(latent_dim, n_features, length) if use_level else None
        self.trend = _TrendBlock(latent_dim, n_features, length, trend_poly) if trend_poly else None
        self.seasonal = nn.ModuleList(_SeasonalBlock(latent_dim, n_features, length, int(m), int(d))
                                      for m, d in seasonal)
        self.residual = _ResidualBlock(latent_dim, n_features, length, hidden_channels) if use_residual else None

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        """Parameters of the network ``config`` describes, counted on the meta device (nothing is allocated).

        Checkpoints call this before building a saved network so that an edited config cannot allocate an absurd
        one; a size that is not a positive integer raises :class:`~latentquant.exceptions.ConfigError`.
        """
        def size(name: str, value: Any, low: int = 1) -> None:
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ConfigError(f"{name} is {value!r}, not an integer >= {low}; sizes of a saved network are whole "
                                  "numbers.")

        for name in ("n_features", "length", "latent_dim"):
            size(name, config.get(name, 1))
        size("trend_poly", config.get("trend_poly", 0), 0)
        hidden = config.get("hidden_channels", [1])
        if not isinstance(hidden, list | tuple) or not hidden:
            raise ConfigError(f"hidden_channels is {hidden!r}, not a non-empty list of positive integers.")
        for i, h in enumerate(hidden):
            size(f"hidden_channels[{i}]", h)
        seasonal = config.get("seasonal", ())
        if not isinstance(seasonal, list | tuple) or not all(isinstance(s, list | tuple) and len(s) == 2
                                                             for s in seasonal):
            raise ConfigError(f"seasonal is {seasonal!r}, not a list of (n_seasons, season_length) pairs.")
        for i, (m, d) in enumerate(seasonal):
            size(f"seasonal[{i}][0]", m)
            size(f"seasonal[{i}][1]", d)
        try:
            with torch.device("meta"):
                net = cls(**config)
        except TypeError:
            return 0  # arguments the constructor does not take: build_module reports them
        return sum(p.numel() for p in net.parameters())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters ``(mu, log_var)``, each ``(n, latent_dim)``, of windows ``x`` ``(n, L, F)``."""
        h = self.encoder(x.transpose(1, 2))
        return self.fc_mu(h), self.fc_log_var(h)

    def components(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each decoder block's output ``(n, L, F)``, by name: ``level``, ``trend``, ``seasonal_<k>``,
        ``residual`` (the blocks that are switched on)."""
        out: dict[str, torch.Tensor] = {}
        if self.level is not None:
            out["level"] = self.level(z)
        if self.trend is not None:
            out["trend"] = self.trend(z)
        for k, block in enumerate(self.seasonal):
            out[f"seasonal_{k}"] = block(z)
        if self.residual is not None:
            out["residual"] = self.residual(z)
        return out

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder mean ``(n, L, F)``: the sum of the blocks."""
        parts = list(self.components(z).values())
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reconstruction, mu, log_var)`` with :math:`z = \\mu + \\sigma\\odot\\varepsilon`."""
        mu, log_var = self.encode(x)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.decode(z), mu, log_var


# ----------------------------------------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------------------------------------
