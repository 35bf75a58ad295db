"""PyTorch building blocks."""

from latentquant.nn.layers import ACTIVATIONS, make_activation, mlp

__all__ = ["ACTIVATIONS", "make_activation", "mlp"]
