r"""The networks of the semi-supervised VAE (private module; see :mod:`latentquant.models.selection.ssvae` for the
model and its maths).

* :class:`_SemiSupervisedM1` — the unsupervised VAE (model M1) of the stacked M1+M2 model;
* :class:`_SemiSupervisedM2` — classifier :math:`q(y\mid x)`, encoder :math:`q(z\mid x,y)`, decoder
  :math:`p(x\mid y,z)` of model M2;
* :func:`_gaussian_nll` — the per-row Gaussian negative log-likelihood both use.

Both networks are registered with :func:`~latentquant.training.checkpoint.register_model` (by class name), so a
fitted :class:`~latentquant.models.selection.SemiSupervisedVAE` saves and loads them as configuration +
``state_dict``; importing :mod:`latentquant.models.selection.ssvae` imports this module and so registers them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from latentquant.models.autoencoder import kl_divergence
from latentquant.nn import mlp
from latentquant.training.checkpoint import register_model

__all__ = ["_MIN_OBS_LOG_VAR", "_SemiSupervisedM1", "_SemiSupervisedM2", "_gaussian_nll"]


_MIN_OBS_LOG_VAR = math.log(1e-3)  # floor of a learned observation variance (constant features would drive it to 0)


def _gaussian_nll(out: torch.Tensor, x: torch.Tensor, log_var: torch.Tensor | None) -> torch.Tensor:
    r"""Per-row :math:`-\log\mathcal N(x;\hat x,\operatorname{diag}\sigma^2)` up to a constant, shape ``(n,)``.

    ``log_var=None`` means :math:`\sigma^2=\tfrac12`: the summed squared error. A learned ``log_var`` (per feature,
    floored at ``1e-3``) gives :math:`\tfrac12\sum_j(\log\sigma_j^2-\log\tfrac12+(x_j-\hat x_j)^2/\sigma_j^2)`, which
    equals the squared error at :math:`\sigma^2=\tfrac12`.
    """
    sq = (out - x).pow(2)
    if log_var is None:
        return sq.sum(dim=1)
    lv = log_var.clamp(min=_MIN_OBS_LOG_VAR)
    return 0.5 * (lv - math.log(0.5) + sq * torch.exp(-lv)).sum(dim=1)


@register_model
class _SemiSupervisedM1(nn.Module):
    """Unsupervised VAE (model M1): encoder ``q(z1|x)``, decoder ``p(x|z1)``; its posterior means feed M2."""

    def __init__(self, input_dim: int, latent_dim: int, hidden: Sequence[int], bernoulli: bool = False) -> None:
        super().__init__()
        self.input_dim, self.latent_dim, self.bernoulli = input_dim, latent_dim, bernoulli
        h = list(hidden)
        self.encoder = mlp([input_dim, *h], activate_last=bool(h))
        width = h[-1] if h else input_dim
        self.fc_mu = nn.Linear(width, latent_dim)
        self.fc_log_var = nn.Linear(width, latent_dim)
        self.decoder = mlp([latent_dim, *reversed(h), input_dim])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hid = self.encoder(x)
        return self.fc_mu(hid), self.fc_log_var(hid)

    def loss_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, log_var = self.encode(x)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        out = self.decoder(z)
        if self.bernoulli:
            recon = F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(dim=1)
        else:
            recon = _gaussian_nll(out, x, None)
        kl = kl_divergence(mu, log_var)
        return {"loss": (recon + kl).mean(), "recon": recon.mean(), "kl": kl.mean()}


@register_model
class _SemiSupervisedM2(nn.Module):
    """Networks of model M2: classifier ``q(y|x)``, encoder ``q(z|x,y)``, decoder ``p(x|y,z)``."""

    def __init__(self, input_dim: int, n_classes: int, latent_dim: int, hidden: Sequence[int],
                 bernoulli: bool = False, learn_variance: bool = False) -> None:
        super().__init__()
        self.input_dim, self.n_classes, self.latent_dim = input_dim, n_classes, latent_dim
        self.bernoulli = bernoulli
        # per-feature log σ² of the Gaussian p(x|y,z); fixed at log(1/2) unless learned
        self.obs_log_var: nn.Parameter | None = (
            nn.Parameter(torch.full((input_dim,), math.log(0.5))) if learn_variance and not bernoulli else None
        )
        h = list(hidden)
        self.classifier = mlp([input_dim, *h, n_classes])
        self.encoder = mlp([input_dim + n_classes, *h], activate_last=bool(h))
        width = h[-1] if h else input_dim + n_classes
        self.fc_mu = nn.Linear(width, latent_dim)
        self.fc_log_var = nn.Linear(width, latent_dim)
        self.decoder = mlp([latent_dim + n_classes, *reversed(h), input_dim])

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    def encode(self, x: torch.Tensor, y_onehot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hid = self.encoder(torch.cat([x, y_onehot], dim=1))
        return self.fc_mu(hid), self.fc_log_var(hid)

    def neg_elbo_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``-L(x, y)`` for every class ``y``: returns ``(neg_elbo (n, K), recon (n, K), kl (n, K), out (K·n, d))``
        where ``out`` holds the decoder outputs, block ``j`` decoded with class ``j``."""
        n, k = x.shape[0], self.n_classes
        xr = x.repeat(k, 1)  # block j holds every row with class j
        yr = torch.eye(k, device=x.device, dtype=x.dtype).repeat_interleave(n, dim=0)
        mu, log_var = self.encode(xr, yr)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        out = self.decoder(torch.cat([z, yr], dim=1))
        if self.bernoulli:  # decoder outputs logits of p(x_j = 1)
            recon = F.binary_cross_entropy_with_logits(out, xr, reduction="none").sum(dim=1)
        else:
            recon = _gaussian_nll(out, xr, self.obs_log_var)
        kl = kl_divergence(mu, log_var)
        neg = recon + kl + math.log(k)  # -log p(y) = log K under the uniform prior
        return neg.view(k, n).T, recon.view(k, n).T, kl.view(k, n).T, out
