"""The shared base of the autoencoder family and its KL term (private module; public names for the sibling modules).

:class:`_BaseAutoencoder` holds what :class:`~latentquant.models.autoencoder.Autoencoder`,
:class:`~latentquant.models.autoencoder.DenoisingAutoencoder` and :class:`~latentquant.models.autoencoder.VAE` share
(layout, input checks, reconstruction, persistence, parameter counting); :func:`kl_divergence` is the closed-form KL
term used by the VAE and by :class:`~latentquant.models.autoencoder.AETrainer`. Import both from
:mod:`latentquant.models.autoencoder`, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from numbers import Integral
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from latentquant._math import kl_standard_normal
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.nn import mlp
from latentquant.training import load_model, save_model, to_tensor
from latentquant.validation import Interval, SequenceOf, check_arg

__all__ = ["_BaseAutoencoder", "kl_divergence"]

A = TypeVar("A", bound="_BaseAutoencoder")


def kl_divergence(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    r"""Closed-form :math:`\mathrm{KL}(\mathcal N(\mu,\sigma^2)\,\Vert\,\mathcal N(0,I))` per row, summed over latent
    dimensions: :math:`-\tfrac12\sum_k(1+\log\sigma_k^2-\mu_k^2-\sigma_k^2)`. Shape ``(n,)``.

    The elementwise formula is :func:`latentquant._math.kl_standard_normal` (one copy for every model).

    Parameters
    ----------
    mu : torch.Tensor
        Posterior means, shape ``(n, latent_dim)``.
    log_var : torch.Tensor
        Posterior log-variances, same shape.

    Returns
    -------
    torch.Tensor
        Shape ``(n,)``.

    Examples
    --------
    >>> kl_divergence(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2)).tolist()  # ½μ² per dimension
    [0.5]
    """
    return kl_standard_normal(mu, log_var).sum(dim=1)


class _BaseAutoencoder(nn.Module):
    """Shared layout, validation and persistence of the autoencoder family."""

    is_variational = False
    obs_std: torch.Tensor
    #: The configuration fields that set the network's size (named by checkpoint size checks).
    size_fields: tuple[str, ...] = ("input_dim", "hidden_dims", "latent_dim")
    _n_heads = 1  # linear maps from the last hidden layer to the latent space (a VAE has two: μ and log σ²)

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        """Number of parameters of the network ``config`` (:meth:`get_config`) describes, without building it.

        Checkpoints call this before building a saved network, so that an edited ``config.json`` cannot make them
        allocate an absurd network (:data:`latentquant.training.checkpoint.MAX_PARAMETERS`).

        Parameters
        ----------
        config : mapping
            Constructor arguments; ``input_dim`` and ``latent_dim`` positive integers, ``hidden_dims`` a list of
            positive integers or None (the default ``[64, 32]``). A missing size counts as 0 (the constructor
            reports it).

        Returns
        -------
        int

        Raises
        ------
        ConfigError
            A size that is not a positive integer (a float such as ``1e7``, a boolean, a string, 0 or negative),
            naming the field and its value.

        Examples
        --------
        >>> from latentquant.models.autoencoder import VAE
        >>> VAE.parameter_count({"input_dim": 4, "latent_dim": 2, "hidden_dims": [8]})
        136
        >>> sum(p.numel() for p in VAE(4, 2, [8]).parameters())
        136
        """
        def size(name: str, value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{name} is {value!r}, not a positive integer; sizes of a saved network are whole "
                                  "numbers of at least 1.")
            return int(value)

        if "input_dim" not in config or "latent_dim" not in config:
            return 0
        n_in, n_latent = size("input_dim", config["input_dim"]), size("latent_dim", config["latent_dim"])
        hidden_value = config.get("hidden_dims")
        if hidden_value is None:
            hidden = [64, 32]
        elif isinstance(hidden_value, list | tuple):
            hidden = [size(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_value)]
        else:
            raise ConfigError(f"hidden_dims is {hidden_value!r}, not a list of positive integers.")

        def dense(sizes: Sequence[int]) -> int:
            return sum(a * b + b for a, b in pairwise(sizes))

        width = hidden[-1] if hidden else n_in
        return (dense([n_in, *hidden]) + dense([n_latent, *reversed(hidden), n_in])
                + cls._n_heads * (width * n_latent + n_latent))

    def __init__(
        self,
        input_dim: int,
        latent_dim: int,
        hidden_dims: Sequence[int] | None = None,
        *,
        activation: str = "relu",
        dropout: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("input_dim", input_dim), ("latent_dim", latent_dim)):
            check_arg(name, value, Interval(Integral, 1, None))
        check_arg("hidden_dims", hidden_dims, SequenceOf(Interval(Integral, 1, None)), None)
        hidden = [64, 32] if hidden_dims is None else [int(h) for h in hidden_dims]
        self.input_dim = int(input_dim)
        self.latent_dim = int(latent_dim)
        self.hidden_dims = hidden
        self.activation = activation
        self.dropout = float(dropout)
        self.seed = seed
        with torch.random.fork_rng(enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self._build()
        # Per-feature standard deviation of the reconstruction residual on the training rows (set by AETrainer);
        # used when sampling with observation noise.
        self.register_buffer("obs_std", torch.ones(self.input_dim))

    def _build(self) -> None:
        sizes = [self.input_dim, *self.hidden_dims]
        body = mlp(sizes, activation=self.activation, dropout=self.dropout, activate_last=True)
        self.encoder = body
        self.decoder = mlp([self.latent_dim, *reversed(self.hidden_dims), self.input_dim],
                           activation=self.activation, dropout=self.dropout)
        self._build_heads(sizes[-1])

    def _build_heads(self, width: int) -> None:
        self.fc_z = nn.Linear(width, self.latent_dim)

    # ---------------------------------------------------------------- helpers
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _as_input(self, x: Any, name: str = "X") -> torch.Tensor:
        t = to_tensor(x, name=name, device=self.device)
        if t.ndim == 1:
            t = t.unsqueeze(0)
        if t.ndim != 2 or t.shape[1] != self.input_dim:
            raise DataValidationError(
                f"{name} must have shape (n_samples, {self.input_dim}) to match input_dim={self.input_dim}, "
                f"got {tuple(t.shape)}."
            )
        return t

    def latent_mean(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic latent code of ``x`` (``z`` for an autoencoder, ``μ`` for a VAE)."""
        return self.fc_z(self.encoder(x))

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Batch-mean loss terms; ``"loss"`` is minimised by :class:`AETrainer`."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes ``(n, latent_dim)`` to reconstructions ``(n, input_dim)``."""
        return self.decoder(z)

    @torch.no_grad()
    def reconstruct(self, X: Any, batch_size: int = 8192) -> np.ndarray:
        """Decode each row's deterministic latent code (:meth:`latent_mean`): the part of ``X`` the bottleneck keeps.

        Parameters
        ----------
        X : array-like, shape (n_samples, input_dim)
            Rows in the units the model was trained on.
        batch_size : int
            Rows encoded at a time.

        Returns
        -------
        numpy.ndarray, shape (n_samples, input_dim), float32

        Examples
        --------
        >>> from latentquant.models.autoencoder import Autoencoder
        >>> ae = Autoencoder(input_dim=4, latent_dim=4, hidden_dims=[], activation="identity", seed=0)
        >>> ae.reconstruct(np.ones((3, 4))).shape
        (3, 4)
        """
        check_arg("batch_size", batch_size, Interval(Integral, 1, None))
        was_training = self.training
        self.eval()
        x = self._as_input(X)
        z = torch.cat([self.latent_mean(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])
        out = self.decode(z)
        self.train(was_training)
        return out.cpu().numpy()

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable), used by :meth:`save`."""
        return {
            "input_dim": self.input_dim, "latent_dim": self.latent_dim, "hidden_dims": list(self.hidden_dims),
            "activation": self.activation, "dropout": self.dropout, "seed": self.seed,
        }

    def save(self, path: str | Path, *, metadata: Mapping[str, Any] | None = None) -> Path:
        """Save to directory ``path``: ``config.json`` + ``weights.pt``."""
        return save_model(self, path, metadata=dict(metadata or {}))

    @classmethod
    def load(cls: type[A], path: str | Path) -> A:
        """Load a model saved with :meth:`save` (weights read with ``weights_only=True``)."""
        model = load_model(path, expected=cls)
        assert isinstance(model, cls)
        return model

    @torch.no_grad()
    def interpolate(self, x_a: Any, x_b: Any, n_steps: int = 10) -> torch.Tensor:
        """Decode ``n_steps`` points on the segment between the latent codes of two states.

        Parameters
        ----------
        x_a, x_b : array-like, shape (input_dim,) or (1, input_dim)
            Start and end states (e.g. a calm and a crisis day), in the units the model was trained on.
        n_steps : int
            Number of points including both ends.

        Returns
        -------
        torch.Tensor, shape (n_steps, input_dim)
        """
        check_arg("n_steps", n_steps, Interval(Integral, 2, None))
        was_training = self.training
        self.eval()
        xa, xb = self._as_input(x_a, "x_a"), self._as_input(x_b, "x_b")
        if xa.shape[0] != 1 or xb.shape[0] != 1:
            raise DataValidationError(
                f"x_a and x_b must each be one state (one row), got {xa.shape[0]} and {xb.shape[0]} rows."
            )
        a, b = self.latent_mean(xa), self.latent_mean(xb)
        alphas = torch.linspace(0.0, 1.0, int(n_steps), device=a.device).unsqueeze(1)
        out = self.decode((1 - alphas) * a + alphas * b)
        self.train(was_training)
        return out
