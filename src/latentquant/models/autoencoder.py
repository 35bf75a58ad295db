r"""Autoencoders and variational autoencoders for market data, with the trainer that fits them.

Three models share one encoder/decoder layout (an MLP ``input_dim → hidden_dims → latent_dim`` and its mirror):

* :class:`Autoencoder` — deterministic bottleneck, loss :math:`\lVert x-\hat x\rVert^2`.
* :class:`DenoisingAutoencoder` — the same, trained to rebuild ``x`` from ``x + noise``.
* :class:`VAE` — the encoder outputs :math:`q_\phi(z\mid x)=\mathcal N(\mu,\operatorname{diag}\sigma^2)`; with the
  reparameterisation :math:`z=\mu+\sigma\odot\varepsilon` the loss per sample is

  .. math::

     \mathcal L(x) = \lVert x - \hat x(z)\rVert_2^2
       + \beta\,\mathrm{KL}\big(q_\phi(z\mid x)\,\Vert\,\mathcal N(0,I)\big),
     \qquad \mathrm{KL} = -\tfrac12\sum_k \big(1+\log\sigma_k^2-\mu_k^2-\sigma_k^2\big),

  averaged over the batch (β < 1 favours reconstruction, β = 1 is the standard VAE, β ≥ 2 favours disentanglement).

:class:`AETrainer` fits any of them through the shared :class:`~latentquant.training.Trainer`: time-ordered
validation (the *last* rows), early stopping with the best weights restored, seeded and deterministic on CPU.

References
----------
Kingma, D. P. & Welling, M. (2014). Auto-Encoding Variational Bayes. ICLR.
Higgins, I. et al. (2017). β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework. ICLR.
Vincent, P. et al. (2008). Extracting and composing robust features with denoising autoencoders. ICML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from numbers import Integral, Real
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from latentquant._math import kl_standard_normal
from latentquant.data.splits import tail_split
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.nn import mlp
from latentquant.training import (
    History,
    Trainer,
    TrainerConfig,
    load_model,
    register_model,
    save_model,
    to_tensor,
)
from latentquant.validation import Interval, SequenceOf, check_arg

__all__ = [
    "VAE",
    "AETrainer",
    "Autoencoder",
    "DenoisingAutoencoder",
    "anomaly_threshold",
    "kl_divergence",
]

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


def anomaly_threshold(scores: npt.ArrayLike, quantile: float = 0.95) -> float:
    """Threshold above which a score is flagged: the ``quantile`` of *reference* scores.

    Compute the reference scores on the training span and apply the threshold to later data, so that the threshold
    uses no information from the period being screened.

    Parameters
    ----------
    scores : array-like
        Reference anomaly scores (e.g. :meth:`VAE.anomaly_score` on the training rows).
    quantile : float, default 0.95
        Share of reference scores at or below the threshold.

    Returns
    -------
    float

    Examples
    --------
    >>> anomaly_threshold(np.arange(101.0), quantile=0.95)  # scores 0..100: 5 of them lie above 95
    95.0
    """
    check_arg("quantile", quantile, Interval(Real, 0, 1, closed="neither"))
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size == 0 or not np.isfinite(arr).all():
        raise DataValidationError("scores must be a non-empty array of finite numbers.")
    return float(np.quantile(arr, quantile))


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


@register_model
class Autoencoder(_BaseAutoencoder):
    """Deterministic autoencoder ``x → z → x̂``.

    Parameters
    ----------
    input_dim : int
        Number of features (e.g. assets).
    latent_dim : int
        Size of the bottleneck.
    hidden_dims : sequence of int, optional
        Encoder hidden widths (the decoder mirrors them). Default ``[64, 32]``. ``[]`` with ``activation='identity'``
        gives a linear autoencoder, whose optimum spans the top principal components.
    activation : str
        Hidden activation (``'relu'``, ``'tanh'``, ``'identity'``, …).
    dropout : float
        Dropout after each hidden layer.
    seed : int, optional
        Seed for the initial weights (same seed → same weights).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(256, 8))
    >>> ae = Autoencoder(input_dim=8, latent_dim=2, seed=0)
    >>> history = AETrainer(seed=0, verbose=False).fit(ae, X, epochs=3)
    >>> AETrainer().extract_features(ae, X).shape
    (256, 2)
    """

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code ``z`` of shape ``(n, latent_dim)``."""
        return self.latent_mean(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Batch-mean of the summed squared error, as ``{"loss", "recon_loss"}``."""
        recon = self(x)
        rec = (recon - x).pow(2).sum(dim=1).mean()
        return {"loss": rec, "recon_loss": rec}


@register_model
class DenoisingAutoencoder(Autoencoder):
    """Autoencoder trained to rebuild clean inputs from inputs corrupted with Gaussian noise.

    Parameters
    ----------
    input_dim, latent_dim, hidden_dims, activation, dropout, seed
        As :class:`Autoencoder`.
    noise_std : float
        Standard deviation of the corruption added during training only (inputs are typically standardised, so this
        is in units of each feature's standard deviation).

    Examples
    --------
    >>> import numpy as np, torch
    >>> X = np.random.default_rng(0).normal(size=(256, 6)).astype(np.float32)
    >>> dae = DenoisingAutoencoder(input_dim=6, latent_dim=2, noise_std=0.5, seed=0)
    >>> history = AETrainer(seed=0, verbose=False).fit(dae, X, epochs=3)
    >>> len(history["train_loss"]), dae.reconstruct(X).shape
    (3, (256, 6))

    The corruption is random in training mode only; in eval mode the loss is deterministic:

    >>> x = torch.from_numpy(X[:4])
    >>> _ = dae.eval()
    >>> bool(torch.equal(dae.loss_terms(x)["loss"], dae.loss_terms(x)["loss"]))
    True
    >>> _ = dae.train()
    >>> bool(torch.equal(dae.loss_terms(x)["loss"], dae.loss_terms(x)["loss"]))
    False
    """

    def __init__(self, input_dim: int, latent_dim: int, hidden_dims: Sequence[int] | None = None, *,
                 noise_std: float = 0.1, activation: str = "relu", dropout: float = 0.0,
                 seed: int | None = None) -> None:
        check_arg("noise_std", noise_std, Interval(Real, 0, None))
        self.noise_std = float(noise_std)
        super().__init__(input_dim, latent_dim, hidden_dims, activation=activation, dropout=dropout, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "noise_std": self.noise_std}

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        noisy = x + self.noise_std * torch.randn_like(x) if self.training else x
        rec = (self.decode(self.encode(noisy)) - x).pow(2).sum(dim=1).mean()
        return {"loss": rec, "recon_loss": rec}


@register_model
class VAE(_BaseAutoencoder):
    r"""Variational autoencoder (β-VAE when trained with ``beta != 1``).

    The encoder gives :math:`\mu(x)` and :math:`\log\sigma^2(x)`; the decoder maps :math:`z` to the mean of
    :math:`p_\theta(x\mid z)`. In training mode :meth:`forward` samples :math:`z=\mu+\sigma\varepsilon`; in eval mode it
    decodes :math:`\mu` (deterministic outputs for scoring).

    Parameters
    ----------
    input_dim, latent_dim, hidden_dims, activation, dropout, seed
        As :class:`Autoencoder`; ``hidden_dims`` defaults to ``[64, 32]``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(300, 10))
    >>> vae = VAE(input_dim=10, latent_dim=3, seed=0)
    >>> history = AETrainer(seed=0, verbose=False).fit(vae, X, epochs=3)
    >>> sorted(k for k in history if k.startswith("train"))
    ['train_kl_loss', 'train_loss', 'train_recon_loss']
    >>> vae.sample(n=5).shape
    torch.Size([5, 10])
    """

    is_variational = True
    _n_heads = 2

    def _build_heads(self, width: int) -> None:
        self.fc_mu = nn.Linear(width, self.latent_dim)
        self.fc_log_var = nn.Linear(width, self.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters ``(mu, log_var)``, each ``(n, latent_dim)``."""
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_log_var(h)

    def latent_mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_mu(self.encoder(x))

    @staticmethod
    def reparameterize(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """:math:`z = \\mu + \\sigma\\odot\\varepsilon`, :math:`\\varepsilon\\sim\\mathcal N(0, I)`."""
        return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)

    def forward(self, x: torch.Tensor, sample: bool | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(reconstruction, mu, log_var)``; ``sample`` defaults to ``self.training``."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var) if (self.training if sample is None else sample) else mu
        return self.decode(z), mu, log_var

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Batch means of the summed squared error, the KL term and ``recon + beta * KL``.

        The reparameterised sample is drawn in evaluation too, so validation and training losses estimate the same
        quantity.
        """
        recon, mu, log_var = self(x, sample=True)
        rec = (recon - x).pow(2).sum(dim=1).mean()
        kl = kl_divergence(mu, log_var).mean()
        return {"loss": rec + beta * kl, "recon_loss": rec, "kl_loss": kl}

    def _generator(self, seed: int | None) -> torch.Generator:
        """A generator on the model's device: seeded, or from fresh entropy; the global RNG is not touched."""
        gen = torch.Generator(device=self.device)
        if seed is not None:
            gen.manual_seed(seed)
        else:
            gen.seed()
        return gen

    @torch.no_grad()
    def sample(self, n: int = 1, *, noise: bool = False, seed: int | None = None) -> torch.Tensor:
        """Draw ``n`` synthetic rows: ``z ~ N(0, I)`` decoded to the decoder mean.

        Parameters
        ----------
        n : int
            Number of samples.
        noise : bool
            Add observation noise ``N(0, diag(obs_std²))`` with the per-feature residual standard deviation measured
            on the training rows (set by :class:`AETrainer`), so that samples have the data's full variance rather
            than only the part explained by the latent factors.
        seed : int, optional
            Seed for this draw (the global RNG is left untouched).

        Returns
        -------
        torch.Tensor, shape (n, input_dim)
        """
        check_arg("n", n, Interval(Integral, 1, None))
        was_training = self.training
        self.eval()
        gen = self._generator(seed)
        z = torch.randn(int(n), self.latent_dim, generator=gen, device=self.device)
        out = self.decode(z)
        if noise:
            out = out + self.obs_std * torch.randn(out.shape, generator=gen, device=self.device)
        self.train(was_training)
        return out

    @torch.no_grad()
    def augment(self, x: Any, n_samples: int = 50, *, scale: float = 0.5, seed: int | None = None) -> torch.Tensor:
        """Generate variations around given rows (e.g. rare events): ``z = μ + scale·ε·σ`` decoded.

        Returns a tensor of shape ``(n_samples * len(x), input_dim)``: ``n_samples`` blocks, each holding one variation
        of every input row, in input order.
        """
        check_arg("n_samples", n_samples, Interval(Integral, 1, None))
        check_arg("scale", scale, Interval(Real, 0, None))
        was_training = self.training
        self.eval()
        mu, log_var = self.encode(self._as_input(x))
        std = torch.exp(0.5 * log_var)
        gen = self._generator(seed)
        eps = torch.randn((int(n_samples), *mu.shape), generator=gen, device=self.device)
        out = self.decode((mu + scale * eps * std).reshape(-1, self.latent_dim))
        self.train(was_training)
        return out

    @torch.no_grad()
    def anomaly_score(self, X: Any, kl_weight: float = 0.1) -> np.ndarray:
        """Per-row anomaly score: mean squared reconstruction error (at the posterior mean) + ``kl_weight`` × KL.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Higher is more unusual. Flag rows above :func:`anomaly_threshold` of the training-span scores.
        """
        check_arg("kl_weight", kl_weight, Interval(Real, 0, None))
        was_training = self.training
        self.eval()
        x = self._as_input(X)
        recon, mu, log_var = self(x, sample=False)
        score = (x - recon).pow(2).mean(dim=1) + kl_weight * kl_divergence(mu, log_var)
        self.train(was_training)
        return score.cpu().numpy().astype(np.float64)

    def detect_anomalies(self, X: Any, threshold: float, kl_weight: float = 0.1) -> np.ndarray:
        """Boolean mask of rows whose :meth:`anomaly_score` exceeds ``threshold``."""
        return self.anomaly_score(X, kl_weight=kl_weight) > threshold


class AETrainer:
    """Fit autoencoders and VAEs with the shared :class:`~latentquant.training.Trainer`.

    The trainer detects a VAE and uses ``reconstruction + beta * KL``; other autoencoders use the reconstruction loss.
    Every option can be set here (defaults for all fits) or per call in :meth:`fit`.

    Parameters
    ----------
    beta : float
        Weight of the KL term (VAE only).
    batch_size, lr : int, float
        Mini-batch size and Adam learning rate.
    validation_split : float
        Share of rows **at the end** held out for validation (time order kept; never shuffled). ``0`` disables it.
    gap : int
        Rows skipped between training and validation rows.
    early_stopping : bool
        Stop after ``patience`` epochs without improvement of the validation loss and restore the best weights.
    patience : int
        Epochs without improvement before early stopping.
    seed : int or None
        Training seed (batch order, sampling noise): same seed and same initial weights → identical results on CPU.
    verbose : bool or None
        Progress bar on a terminal (``None``: only on a terminal; ``False``: silent).
    kl_warmup : int
        KL warm-up (VAE only): the KL weight on training batches rises linearly from ``beta / kl_warmup`` in the
        first epoch to ``beta`` at epoch ``kl_warmup`` and stays there; validation losses (and so early stopping)
        always use ``beta``. ``0`` disables it. A guard against posterior collapse early in training.
    **options
        Any other :class:`~latentquant.training.TrainerConfig` field (``weight_decay``, ``grad_clip``, ``device``,
        ``checkpoint_dir`` …).

    Attributes
    ----------
    history_ : History
        History of the last :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(1).normal(size=(200, 6))
    >>> vae = VAE(input_dim=6, latent_dim=2, seed=1)
    >>> trainer = AETrainer(beta=0.5, seed=1, verbose=False)
    >>> history = trainer.fit(vae, X, epochs=2)
    >>> len(history["val_loss"])
    2
    """

    def __init__(self, *, beta: float = 1.0, batch_size: int = 64, lr: float = 1e-3, validation_split: float = 0.2,
                 gap: int = 0, early_stopping: bool = True, patience: int = 10, seed: int | None = 0,
                 verbose: bool | None = None, kl_warmup: int = 0, **options: Any) -> None:
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.options: dict[str, Any] = dict(batch_size=batch_size, lr=lr, validation_split=validation_split,
                                            gap=gap, early_stopping=early_stopping, patience=patience, seed=seed,
                                            verbose=verbose, **options)
        check_arg("beta", beta, Interval(Real, 0, None), owner="AETrainer")
        check_arg("kl_warmup", kl_warmup, Interval(Integral, 0, None), owner="AETrainer")
        Trainer(**self.options)  # validate options now, not at the first fit

    @staticmethod
    def vae_loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                 beta: float = 1.0) -> torch.Tensor:
        """``(Σ (x - recon)² + beta · KL) / batch_size`` — the VAE objective used in training."""
        recon_loss = (recon - x).pow(2).sum()
        kl_loss = kl_divergence(mu, log_var).sum()
        return (recon_loss + beta * kl_loss) / x.shape[0]

    def fit(self, model: _BaseAutoencoder, X: Any, epochs: int | None = None, *, X_val: Any = None,
            beta: float | None = None, resume: bool = False, **overrides: Any) -> History:
        """Train ``model`` in place on the rows of ``X`` (time order) and return the per-epoch history.

        Parameters
        ----------
        model : Autoencoder, DenoisingAutoencoder or VAE
        X : array-like, shape (n_samples, input_dim)
            Training rows in time order (numpy, pandas or torch). The last ``validation_split`` share is held out
            unless ``X_val`` is given.
        epochs : int, optional
            Maximum number of epochs; default: the trainer's ``epochs`` option, else 100.
        X_val : array-like, optional
            Explicit validation rows.
        beta : float, optional
            Overrides the trainer's ``beta`` for this fit.
        resume : bool
            Resume from ``checkpoint_dir`` if a saved state exists.
        **overrides
            Per-call values of ``batch_size``, ``lr``, ``validation_split``, ``early_stopping``, ``seed``, ``verbose`` …

        Returns
        -------
        History
            ``train_loss``, ``val_loss``, ``train_recon_loss``, ``val_recon_loss`` (and ``*_kl_loss`` for a VAE),
            ``lr``.
        """
        if not isinstance(model, _BaseAutoencoder):
            raise ConfigError(
                f"model must be an Autoencoder, DenoisingAutoencoder or VAE, got {type(model).__name__}."
            )
        b = self.beta if beta is None else beta
        check_arg("beta", b, Interval(Real, 0, None), owner="AETrainer")
        options = {**self.options, **overrides}
        options["epochs"] = epochs if epochs is not None else options.get("epochs", 100)
        warmup = self.kl_warmup
        weight = [b]  # the KL weight of the current training epoch (the warm-up schedule sets it)

        def anneal(epoch: int) -> None:
            weight[0] = b * min(1.0, (epoch + 1) / warmup)

        trainer = Trainer(TrainerConfig(), on_epoch_start=anneal if warmup > 0 else None, **options)
        x = model._as_input(X, "X").cpu()
        x_val = model._as_input(X_val, "X_val").cpu() if X_val is not None else None

        def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            return model.loss_terms(batch[0], beta=weight[0] if m.training else b)

        home = model.device
        try:
            history = trainer.fit(model, loss_fn, (x,), None if x_val is None else (x_val,), resume=resume)
        finally:
            # training may run on CUDA; the model comes back on the device it was given on, so that code feeding it
            # CPU tensors (torch.FloatTensor(x)) keeps working
            model.to(home)
        cfg = trainer.config
        train_rows = x
        if x_val is None and cfg.validation_split > 0:
            train_rows = x[tail_split(x.shape[0], cfg.validation_split, gap=cfg.gap)[0]]
        self._set_observation_noise(model, train_rows)
        self.history_ = history
        return history

    @staticmethod
    @torch.no_grad()
    def _set_observation_noise(model: _BaseAutoencoder, x: torch.Tensor) -> None:
        model.eval()
        x = x.to(model.device)
        residual = x - model.decode(model.latent_mean(x))
        model.obs_std.copy_(residual.pow(2).mean(dim=0).sqrt())

    @staticmethod
    @torch.no_grad()
    def extract_features(model: _BaseAutoencoder, X: Any, batch_size: int = 8192) -> np.ndarray:
        """Latent features of each row: the posterior mean ``μ(x)`` for a VAE, ``z`` for an autoencoder.

        Returns
        -------
        numpy.ndarray, shape (n_samples, latent_dim)
        """
        was_training = model.training
        model.eval()
        x = model._as_input(X)
        out = torch.cat([model.latent_mean(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])
        model.train(was_training)
        return out.cpu().numpy()

