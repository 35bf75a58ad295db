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

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from latentquant.exceptions import DataValidationError
from latentquant.models._ae_base import _BaseAutoencoder, kl_divergence
from latentquant.models._ae_trainer import AETrainer
from latentquant.training import register_model
from latentquant.validation import Interval, check_arg

# The shared base class and kl_divergence live in _ae_base, AETrainer in _ae_trainer; all are re-exported here.
__all__ = [
    "VAE",
    "AETrainer",
    "Autoencoder",
    "DenoisingAutoencoder",
    "anomaly_threshold",
    "kl_divergence",
]


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
