"""The VAE behind :class:`~latentquant.models.VAEFactorModel`: observation models and a decoder that nests PCA.

:class:`FactorVAE` is a :class:`~latentquant.models.VAE` with three options:

* ``likelihood`` — the observation model :math:`p(x \\mid z)` around the decoder mean :math:`\\hat x(z)`:

  - ``"unit"``: the summed squared error :math:`\\sum_j (x_j - \\hat x_j)^2` (a Gaussian with unit variance, up to a
    factor 2 and a constant). This is the plain VAE; with it :math:`\\beta` has no calibrated meaning.
  - ``"isotropic"``: a Gaussian with one learned variance :math:`\\sigma^2` for every asset; with a linear encoder
    and decoder the optimum is probabilistic PCA (Tipping & Bishop 1999).
  - ``"diagonal"``: a Gaussian with a learned variance per asset (with a linear network, factor analysis).
  - ``"student_t"``: a Student-t with a learned scale and degrees of freedom :math:`\\nu_j > 2` per asset (fat tails).

  With a learned noise the loss is the negative ELBO in nats per row, a proper bound on :math:`-\\log p(x)`.
* ``linear_skip`` — linear paths beside the networks: :math:`\\mu(x) = A x + a + h(x)` and
  :math:`\\hat x(z) = B z + b + g(z)`, with the last layers of :math:`h` and :math:`g` initialised to zero, so the
  model starts linear (and, with :meth:`init_from_pca`, at PCA) and the nonlinear parts grow only if they help.
* ``free_bits`` — a floor :math:`\\lambda` on each factor's batch-mean KL in the loss
  (:math:`\\sum_k \\max(\\lambda, \\overline{KL}_k)`, Kingma et al. 2016), which keeps factors from collapsing to the
  prior.

With the defaults (``"unit"``, no skip, no free bits) the network and its training are exactly those of
:class:`~latentquant.models.VAE`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from torch import nn

from latentquant._math import kl_standard_normal
from latentquant.models.autoencoder import VAE
from latentquant.training import register_model
from latentquant.validation import Interval, Options, check_arg

__all__ = ["LIKELIHOODS", "FactorVAE", "as_factor_vae"]

LIKELIHOODS = ("unit", "isotropic", "diagonal", "student_t")
_LOG_2PI = math.log(2.0 * math.pi)
_DF_STEP = 10.0


@register_model
class FactorVAE(VAE):
    """A VAE with a learned observation model and an optional linear path that nests PCA (module docstring).

    Parameters
    ----------
    input_dim, latent_dim, hidden_dims, activation, dropout, seed
        As :class:`~latentquant.models.VAE`.
    likelihood : {"unit", "isotropic", "diagonal", "student_t"}, default "unit"
        The observation model.
    linear_skip : bool, default False
        Linear encoder and decoder paths beside the networks, the networks' last layers starting at zero.
    free_bits : float, default 0.0
        Floor (nats) on each factor's batch-mean KL in the loss; 0 disables it.

    Examples
    --------
    >>> net = FactorVAE(6, 2, [8], likelihood="diagonal", linear_skip=True, seed=0)
    >>> x = torch.randn(5, 6)
    >>> terms = net.loss_terms(x)
    >>> sorted(terms)
    ['kl_loss', 'loss', 'recon_loss']
    >>> net.log_likelihood(x, n_samples=10, seed=0).shape
    torch.Size([5])
    >>> FactorVAE.parameter_count(net.get_config()) == sum(p.numel() for p in net.parameters())
    True
    """

    def __init__(self, input_dim: int, latent_dim: int, hidden_dims: Sequence[int] | None = None, *,
                 activation: str = "relu", dropout: float = 0.0, seed: int | None = None,
                 likelihood: str = "unit", linear_skip: bool = False, free_bits: float = 0.0) -> None:
        check_arg("likelihood", likelihood, Options(*LIKELIHOODS), owner="FactorVAE")
        check_arg("linear_skip", linear_skip, "boolean", owner="FactorVAE")
        check_arg("free_bits", free_bits, Interval(Real, 0, None), owner="FactorVAE")
        self.likelihood = likelihood
        self.linear_skip = bool(linear_skip)
        self.free_bits = float(free_bits)
        super().__init__(input_dim, latent_dim, hidden_dims, activation=activation, dropout=dropout, seed=seed)

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        """Parameters of the network ``config`` describes (see :meth:`VAE.parameter_count`), noise and skip paths
        included."""
        base = super().parameter_count(config)
        if not base:
            return 0
        n_in, n_latent = int(config["input_dim"]), int(config["latent_dim"])
        extra = 2 * n_in * n_latent + n_in + n_latent if config.get("linear_skip") else 0
        noise = {"unit": 0, "isotropic": 1, "diagonal": n_in, "student_t": 2 * n_in}.get(
            str(config.get("likelihood", "unit")), 0)
        return base + extra + noise

    def _build(self) -> None:
        super()._build()  # the same layers, drawn from the seeded RNG in the same order as VAE
        n = self.input_dim
        if self.linear_skip:
            self.enc_linear = nn.Linear(n, self.latent_dim)
            self.dec_linear = nn.Linear(self.latent_dim, n)
            last_dec = [m for m in self.decoder.modules() if isinstance(m, nn.Linear)][-1]
            for layer in (last_dec, self.fc_mu):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
        if self.likelihood != "unit":
            # log σ² (Gaussian) or log scale² (Student-t), one per asset (one shared for "isotropic"); start at 1
            self.log_noise = nn.Parameter(torch.zeros(1 if self.likelihood == "isotropic" else n))
        if self.likelihood == "student_t":
            # ν = 2 + exp(_DF_STEP · η), starting at 10: Adam moves each parameter by about lr per step, and ν
            # must travel far (3 for fat tails, 50+ for Gaussian noise), so η moves it _DF_STEP times faster
            self.df_raw = nn.Parameter(torch.full((n,), math.log(8.0) / _DF_STEP))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "likelihood": self.likelihood, "linear_skip": self.linear_skip,
                "free_bits": self.free_bits}

    # ------------------------------------------------------------------ the model
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        mu = self.fc_mu(h)
        if self.linear_skip:
            mu = mu + self.enc_linear(x)
        return mu, self.fc_log_var(h)

    def latent_mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z)
        return out + self.dec_linear(z) if self.linear_skip else out

    @property
    def degrees_of_freedom(self) -> torch.Tensor | None:
        """Per-asset :math:`\\nu_j` of the Student-t likelihood (``None`` for the others)."""
        return 2.0 + torch.exp(_DF_STEP * self.df_raw) if self.likelihood == "student_t" else None

    def noise_variance(self) -> torch.Tensor:
        """Per-asset variance of :math:`x - \\hat x(z)` under the observation model (ones for ``"unit"``; for the
        Student-t, :math:`s^2 \\nu / (\\nu - 2)`)."""
        if self.likelihood == "unit":
            return torch.ones(self.input_dim, device=self.device)
        var = torch.exp(self.log_noise).expand(self.input_dim)
        nu = self.degrees_of_freedom
        return var if nu is None else var * nu / (nu - 2.0)

    @torch.no_grad()
    def sample_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        r"""``n`` draws of the idiosyncratic noise :math:`x - \hat x(z)` of the learned observation model
        (``(n, input_dim)``, float64): Gaussian with the learned variances, or Student-t with the learned scale and
        degrees of freedom (fat tails). Not defined for ``"unit"``, whose noise is not modelled."""
        if self.likelihood == "unit":
            raise ValueError("the 'unit' likelihood does not model the noise; draw it from the residuals.")
        scale = np.exp(0.5 * self.log_noise.detach().cpu().double().numpy()) * np.ones(self.input_dim)
        nu = self.degrees_of_freedom
        if nu is None:
            return scale * rng.standard_normal((n, self.input_dim))
        return scale * rng.standard_t(nu.detach().cpu().double().numpy(), size=(n, self.input_dim))

    def observation_log_prob(self, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """:math:`\\log p(x \\mid z)` summed over assets, per row (nats); ``"unit"`` is the unit-variance Gaussian."""
        r = x - mean
        if self.likelihood == "unit":
            return -0.5 * (r.pow(2) + _LOG_2PI).sum(dim=-1)
        log_var = self.log_noise.expand(self.input_dim)
        if self.likelihood != "student_t":
            return -0.5 * (r.pow(2) * torch.exp(-log_var) + log_var + _LOG_2PI).sum(dim=-1)
        nu = self.degrees_of_freedom
        assert nu is not None
        q = r.pow(2) * torch.exp(-log_var) / nu
        return (torch.lgamma((nu + 1) / 2) - torch.lgamma(nu / 2) - 0.5 * torch.log(nu * math.pi)
                - 0.5 * log_var - 0.5 * (nu + 1) * torch.log1p(q)).sum(dim=-1)

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Batch means of the reconstruction term (``"unit"``: summed squared error; otherwise
        :math:`-\\log p(x \\mid z)` in nats), the KL term and ``recon + beta * KL`` (with the free-bits floor)."""
        recon, mu, log_var = self(x, sample=True)
        if self.likelihood == "unit":
            rec = (recon - x).pow(2).sum(dim=1).mean()
        else:
            rec = -self.observation_log_prob(x, recon).mean()
        kl_dims = kl_standard_normal(mu, log_var)
        kl = kl_dims.sum(dim=1).mean()
        kl_objective = torch.clamp(kl_dims.mean(dim=0), min=self.free_bits).sum() if self.free_bits > 0 else kl
        return {"loss": rec + beta * kl_objective, "recon_loss": rec, "kl_loss": kl}

    @torch.no_grad()
    def log_likelihood(self, x: torch.Tensor, *, n_samples: int = 100, seed: int | None = 0,
                       batch_size: int = 1024) -> torch.Tensor:
        """Importance-weighted lower bound on :math:`\\log p(x)` per row (Burda et al. 2016), in nats:
        :math:`\\log \\frac1k \\sum_i p(x \\mid z_i) p(z_i) / q(z_i \\mid x)`, :math:`z_i \\sim q(z \\mid x)`; it
        tightens as ``n_samples`` grows (``n_samples=1`` is the ELBO).

        Parameters
        ----------
        x : torch.Tensor, shape (n, input_dim)
        n_samples : int, default 100
            Importance samples per row.
        seed : int or None, default 0
            Seed of the draws (the global RNG is not touched).
        batch_size : int, default 1024
            Rows per block.

        Returns
        -------
        torch.Tensor, shape (n,)
        """
        check_arg("n_samples", n_samples, Interval(Integral, 1, None), owner="log_likelihood")
        was_training = self.training
        self.eval()
        gen = self._generator(seed)
        out = []
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size]
            mu, log_var = self.encode(xb)
            std = torch.exp(0.5 * log_var)
            eps = torch.randn((n_samples, *mu.shape), generator=gen, device=mu.device, dtype=mu.dtype)
            z = mu + std * eps
            log_q = (-0.5 * (eps.pow(2) + log_var + _LOG_2PI)).sum(dim=-1)
            log_prior = (-0.5 * (z.pow(2) + _LOG_2PI)).sum(dim=-1)
            log_obs = self.observation_log_prob(xb, self.decode(z))
            out.append(torch.logsumexp(log_obs + log_prior - log_q, dim=0) - math.log(n_samples))
        self.train(was_training)
        return torch.cat(out)

    @torch.no_grad()
    def init_from_pca(self, x: np.ndarray) -> None:
        r"""Start at probabilistic PCA's maximum-likelihood solution on the rows ``x`` (standardised training rows;
        Tipping & Bishop 1999): noise :math:`\sigma^2` = the mean discarded eigenvalue, decoder
        :math:`B = U_K(\Lambda_K - \sigma^2 I)^{1/2}`, and the encoder at pPCA's exact posterior,
        :math:`\mu = \Lambda_K^{-1}(\Lambda_K - \sigma^2 I)^{1/2} U_K^\top(x - m)` with the constant variance
        :math:`\sigma^2\Lambda_K^{-1}`, so the aggregate posterior starts at the prior :math:`\mathcal N(0, I)` and
        the ELBO at pPCA's log-likelihood. For ``likelihood="unit"`` (no learned noise) :math:`\sigma^2` is 0: the
        decoder is :math:`U_K\Lambda_K^{1/2}` with unit-variance posterior means. Needs ``linear_skip=True``."""
        if not self.linear_skip:
            raise ValueError("init_from_pca needs linear_skip=True (the linear paths hold the PCA solution).")
        x = np.asarray(x, dtype=np.float64)
        mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        eig = s**2 / max(len(x) - 1, 1)
        k = self.latent_dim
        lam = np.maximum(eig[:k], 1e-12)
        discarded = eig[k:]
        sigma2 = float(max(discarded.mean(), 1e-6)) if self.likelihood != "unit" and discarded.size else 0.0
        sigma2 = min(sigma2, 0.5 * float(lam.min()))  # keep Λ − σ² positive (a flat spectrum)
        signal = np.sqrt(lam - sigma2)
        u = vt[:k].T  # assets × K
        enc = u * (signal / lam)  # assets × K: posterior mean = enc^T (x - m)
        dtype = self.dec_linear.weight.dtype
        self.dec_linear.weight.copy_(torch.as_tensor(u * signal, dtype=dtype))
        self.dec_linear.bias.copy_(torch.as_tensor(mean, dtype=dtype))
        self.enc_linear.weight.copy_(torch.as_tensor(enc.T, dtype=dtype))
        self.enc_linear.bias.copy_(torch.as_tensor(-(mean @ enc), dtype=dtype))
        if sigma2 > 0:
            self.log_noise.fill_(math.log(sigma2))
            nn.init.zeros_(self.fc_log_var.weight)
            self.fc_log_var.bias.copy_(torch.as_tensor(np.log(sigma2 / lam), dtype=dtype))


    @torch.no_grad()
    def init_from_fa(self, x: np.ndarray) -> None:
        r"""Start at factor analysis' maximum-likelihood solution on the rows ``x`` (standardised training rows;
        scikit-learn's :class:`~sklearn.decomposition.FactorAnalysis`): per-asset noise :math:`\Psi`, loadings
        :math:`W` rotated so that :math:`W^\top\Psi^{-1}W = D` is diagonal (largest first), and the encoder at the
        exact posterior, :math:`\mu = (I + D)^{-1}W^\top\Psi^{-1}(x - m)` with the constant variance
        :math:`(I + D)^{-1}`; the aggregate posterior starts at the prior and the ELBO at factor analysis'
        log-likelihood. For the Student-t the scale starts at :math:`\Psi(\nu-2)/\nu` (the same variance at the
        initial :math:`\nu`). Needs ``linear_skip=True`` and a learned per-asset noise (``"diagonal"`` or
        ``"student_t"``)."""
        from sklearn.decomposition import FactorAnalysis

        if not self.linear_skip or self.likelihood not in ("diagonal", "student_t"):
            raise ValueError("init_from_fa needs linear_skip=True and likelihood 'diagonal' or 'student_t'.")
        x = np.asarray(x, dtype=np.float64)
        fa = FactorAnalysis(n_components=self.latent_dim, random_state=0).fit(x)
        psi = np.maximum(fa.noise_variance_, 1e-6)
        w = fa.components_.T  # assets × K
        d, q = np.linalg.eigh((w / psi[:, None]).T @ w)
        order = np.argsort(d)[::-1]
        d, w = np.maximum(d[order], 0.0), w @ q[:, order]
        enc = (w / psi[:, None]) / (1.0 + d)  # assets × K: posterior mean = enc^T (x - m)
        dtype = self.dec_linear.weight.dtype
        self.dec_linear.weight.copy_(torch.as_tensor(w, dtype=dtype))
        self.dec_linear.bias.copy_(torch.as_tensor(fa.mean_, dtype=dtype))
        self.enc_linear.weight.copy_(torch.as_tensor(enc.T, dtype=dtype))
        self.enc_linear.bias.copy_(torch.as_tensor(-(fa.mean_ @ enc), dtype=dtype))
        nu = self.degrees_of_freedom
        var = psi if nu is None else psi * ((nu - 2.0) / nu).detach().cpu().double().numpy()
        self.log_noise.copy_(torch.as_tensor(np.log(var), dtype=dtype))
        nn.init.zeros_(self.fc_log_var.weight)
        self.fc_log_var.bias.copy_(torch.as_tensor(-np.log1p(d), dtype=dtype))


def as_factor_vae(vae: VAE) -> FactorVAE:
    """The same network as a :class:`FactorVAE` (``"unit"`` likelihood, no skip paths): models saved with the plain
    :class:`~latentquant.models.VAE` keep their weights and gain :meth:`FactorVAE.log_likelihood`."""
    if isinstance(vae, FactorVAE):
        return vae
    net = FactorVAE(**vae.get_config())
    net.load_state_dict(vae.state_dict())
    return net.to(vae.device).train(vae.training)
