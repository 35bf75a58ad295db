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
    """Instantiate an activation by name (``'relu'``, ``'tanh'``, ``'identity'`` for a linear network, ...).

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`.

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ConfigError
        An unknown name; the message lists the supported ones.

    Examples
    --------
    >>> import torch
    >>> make_activation("tanh")(torch.tensor([0.0, 100.0])).tolist()
    [0.0, 1.0]
    >>> make_activation("sigmoid")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: activation='sigmoid' is not supported; choose one of ['elu', 'gelu', \
'identity', 'leaky_relu', 'relu', 'silu', 'tanh'].
    """
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

    Parameters
    ----------
    sizes : sequence of int
        Input width, hidden widths and output width.
    activation : str, default "relu"
        Hidden activation (:func:`make_activation`).
    dropout : float, default 0.0
        Dropout probability after each activation, in ``[0, 1)``.
    batch_norm : bool, default False
        Batch normalisation before each activation.
    activate_last : bool, default False
        Also apply normalisation, activation and dropout after the last layer.

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    >>> import torch
    >>> net = mlp([4, 8, 2], dropout=0.1)
    >>> [type(layer).__name__ for layer in net]
    ['Linear', 'ReLU', 'Dropout', 'Linear']
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 2])
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
