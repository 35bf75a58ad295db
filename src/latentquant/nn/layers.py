"""Small PyTorch building blocks shared by the models."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from latentquant.exceptions import ConfigError

__all__ = ["ACTIVATIONS", "make_activation", "mlp"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "identity": nn.Identity,
}


def make_activation(name: str) -> nn.Module:
    """Instantiate an activation by name (``'relu'``, ``'tanh'``, ``'identity'`` for a linear network, ...)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(f"activation={name!r} is not supported; choose one of {sorted(ACTIVATIONS)}.") from None


def mlp(
    sizes: Sequence[int],
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    activate_last: bool = False,
) -> nn.Sequential:
    """A multilayer perceptron ``sizes[0] → sizes[1] → … → sizes[-1]``.

    Each hidden layer is ``Linear → [BatchNorm1d] → activation → [Dropout]``; the last layer is linear unless
    ``activate_last``. ``sizes`` of length 1 gives an identity network.
    """
    if len(sizes) < 1 or any(int(s) < 1 for s in sizes):
        raise ConfigError(f"layer sizes must be positive integers, got {list(sizes)}.")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}.")
    make_activation(activation)  # validate the name early
    layers: list[nn.Module] = []
    n_layers = len(sizes) - 1
    for i in range(n_layers):
        layers.append(nn.Linear(int(sizes[i]), int(sizes[i + 1])))
        if i < n_layers - 1 or activate_last:
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(sizes[i + 1])))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
