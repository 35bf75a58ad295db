r"""TimeVAE (Desai et al. 2021): a variational autoencoder of windows whose decoder adds interpretable blocks.

The encoder is a stack of stride-2 ``Conv1d`` layers (kernel 3, ReLU) over the time axis, flattened into two linear
heads: :math:`q_\phi(z\mid x) = \mathcal N(\mu(x), \operatorname{diag}\sigma^2(x))`. The decoder is a **sum of
blocks**, each a function of :math:`z` and each switchable:

.. math::

   \hat x_{t,f}(z) = \underbrace{\ell_f(z)}_{\text{level}}
     + \underbrace{\sum_{p=1}^{P} a_{f,p}(z)\,(t/L)^p}_{\text{trend}}
     + \sum_k \underbrace{s^{(k)}_{f,\,\lfloor t/d_k\rfloor \bmod m_k}(z)}_{\text{seasonal block } k}
     + \underbrace{r_{t,f}(z)}_{\text{residual}},
   \qquad t = 0, \dots, L-1,

* **level** — an MLP ``z → F`` (one ReLU hidden layer), constant over the window;
* **trend** — an MLP ``z → F·P`` giving the coefficients of a polynomial of degree ``P = trend_poly`` in
  :math:`t/L` without constant (the level holds it), so the block is 0 at the window's first day;
* **seasonal block** ``(m, d)`` — a linear map ``z → F·m`` giving ``m`` season effects per feature, each held for
  ``d`` consecutive days, the cycle repeating every ``m·d`` days: ``(5, 1)`` is a day-of-week pattern of business
  days, ``(4, 5)`` a four-week pattern of weekly values. The effects are centred to sum to zero over the ``m``
  seasons (as in a dynamic linear model) so that the level, not the seasonal block, carries the window's mean;
* **residual** — the base TimeVAE decoder: a linear map to the encoder's last feature map, ``ConvTranspose1d``
  layers mirroring the encoder (each doubles the length), and a final linear map to ``L·F`` values (which fits any
  length, odd ones included).

The **base** variant (``interpretable=False``, the default) decodes with the residual path alone; the
**interpretable** variant adds the level, trend and seasonal blocks (and keeps the residual path when
``use_residual``). The loss per window, averaged over the batch, is the paper's

.. math::

   \mathcal L(x) = w \sum_{t,f} (x_{t,f} - \hat x_{t,f}(z))^2
     + \mathrm{KL}\big(q_\phi(z\mid x)\,\Vert\,\mathcal N(0, I)\big),
   \qquad z = \mu + \sigma\odot\varepsilon,

on the standardised windows: the sum of squares is :math:`L\cdot F` times the mean squared error, and ``recon_weight``
:math:`w` (3 in the paper) sets its weight against the KL term. :math:`w` is exactly a Gaussian decoder
:math:`p(x\mid z) = \mathcal N(\hat x(z), \tfrac{1}{2w} I)` in standardised units, so the loss is the negative ELBO of
that model up to the constant :math:`\tfrac{LF}{2}\log(\pi/w)` — the model :meth:`TimeVAE.elbo` scores.

References
----------
Desai, A., Freeman, C., Wang, Z. & Beaver, I. (2021). TimeVAE: A Variational Auto-Encoder for Multivariate Time
Series Generation. arXiv:2111.08095.
Kingma, D. P. & Welling, M. (2014). Auto-Encoding Variational Bayes. ICLR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentquant._math import kl_standard_normal
from latentquant.exceptions import ConfigError
from latentquant.models.generative._timevae_net import TimeVAENetwork, polynomial_basis, season_index
from latentquant.models.generative._torch import TorchGenerator
from latentquant.validation import Constraint, Interval, SequenceOf, check_arg

__all__ = ["TimeVAE", "TimeVAENetwork", "polynomial_basis", "season_index"]

#: windows pushed through the network at once when sampling or scoring (bounds the memory of the conv maps)
_CHUNK = 8192


class TimeVAE(TorchGenerator):
    r"""TimeVAE generator (Desai et al. 2021): conv encoder, decoder of level, trend, seasonal and residual blocks.

    Windows are standardised per feature with the training rows' mean and standard deviation; the network (see the
    module docstring for the blocks and the loss) is trained by the shared :class:`~latentquant.training.Trainer`;
    ``sample`` decodes :math:`z\sim\mathcal N(0, I)` to the **decoder mean** (as the paper does: no observation noise
    is added; ``sample_noise=True`` adds it) and maps it back to the data's units.

    Parameters
    ----------
    length : int, optional
        Window length (default: the fitted windows' length). It must be at least ``2 ** len(hidden_channels)``
        (each encoder layer halves it); odd lengths are fine.
    latent_dim : int, default 8
        Dimension of the latent space (the book: 8).
    hidden_channels : sequence of int, default (50, 100, 200)
        Channels of the encoder's stride-2 ``Conv1d`` layers (kernel 3), mirrored by the residual decoder's
        ``ConvTranspose1d`` layers (the paper and the book: 50, 100, 200).
    interpretable : bool, default False
        ``False``: the base TimeVAE, whose decoder is the residual path alone (``trend_poly``, ``seasonal`` and
        ``use_level`` are not used). ``True``: the interpretable TimeVAE, with the level, trend and seasonal blocks.
    trend_poly : int, default 2
        Degree of the interpretable variant's polynomial trend block (0: no trend block).
    seasonal : sequence of (int, int), default ()
        The interpretable variant's seasonal blocks, one ``(n_seasons, season_length)`` pair each: ``n_seasons >= 2``
        effects held ``season_length`` days each; the cycle ``n_seasons * season_length`` must fit in the window.
        Empty: no seasonal block.
    use_level : bool, default True
        The interpretable variant's level block (a per-window constant per feature).
    use_residual : bool, default True
        The residual conv-transpose path (the base variant needs it; the interpretable one may drop it to be
        decoded by its interpretable blocks only).
    recon_weight : float, default 3.0
        Weight :math:`w` of the sum of squared errors (``L·F`` times the MSE) against the KL term (the paper: 3).
        It is the precision of the Gaussian decoder :math:`\mathcal N(\hat x, \tfrac{1}{2w})` in standardised
        units that :meth:`elbo` assumes.
    sample_noise : bool, default False
        Add Gaussian observation noise to each sampled value, with the per-feature standard deviation
        ``noise_scale_`` of the training windows' reconstruction residuals (the maximum-likelihood decoder variance
        given the decoder mean). ``False`` returns the decoder mean, smoother than the data.
    epochs : int, default 100
        Passes over the training windows.
    batch_size : int, default 128
        Windows per optimisation step (the book: 16).
    lr : float, default 1e-3
        Adam learning rate (the book: 1e-3).
    validation_split : float, default 0.0
        Share of the windows, from the end (time order), held out for validation and early stopping.
    early_stopping : bool, default False
        Stop when the validation loss stalls for ``patience`` epochs and restore the best weights.
    patience : int, default 20
        Epochs without improvement before stopping.
    seed : int, optional, default 0
        Seed of the initial weights, the training batches and noise, and the sampling stream.
    device : str, default "auto"
        ``"cpu"``, ``"cuda"`` or ``"auto"`` for training; the fitted network lives on the CPU.
    verbose : bool or None, default None
        Training progress (``None``: a progress bar on a terminal).

    Attributes
    ----------
    network_ : TimeVAENetwork
        The trained network (standardised windows).
    mean_, scale_ : numpy.ndarray
        Per-feature mean and standard deviation of the training rows.
    noise_scale_ : numpy.ndarray
        Per-feature root mean squared residual of the training windows reconstructed at the posterior mean, in
        standardised units (multiply by ``scale_`` for the data's units); the noise ``sample_noise=True`` adds.
    history_ : History
        ``train_loss`` (the negative ELBO up to a constant, per window), ``train_recon`` (sum of squared errors per
        standardised window) and ``train_kl`` (KL per window, nats), and their ``val_`` twins with a validation
        split.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(400)
    >>> series = np.c_[0.01 * t + np.sin(2 * np.pi * t / 5), rng.normal(size=400)]
    >>> model = TimeVAE(length=20, hidden_channels=(8, 16), interpretable=True, seasonal=[(5, 1)], epochs=2,
    ...                 verbose=False).fit(series)
    >>> model.sample(3, seed=0).shape, sorted(model.history_)[-3:]
    ((3, 20, 2), ['train_kl', 'train_loss', 'train_recon'])
    >>> sorted(model.decompose(series[None, :20]))
    ['level', 'residual', 'seasonal_0', 'trend']
    >>> model.elbo(series[None, :20]).shape
    (1,)
    >>> TimeVAE(length=3, hidden_channels=(8, 16), epochs=2).fit(series)
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: TimeVAE: windows of 3 days are too short for 2 stride-2 conv layers ...

    References
    ----------
    Desai, A., Freeman, C., Wang, Z. & Beaver, I. (2021). TimeVAE: A Variational Auto-Encoder for Multivariate Time
    Series Generation. arXiv:2111.08095.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "latent_dim": [Interval(Integral, 1, None)],
        "hidden_channels": [SequenceOf(Interval(Integral, 1, None), min_len=1)],
        "interpretable": ["boolean"],
        "trend_poly": [Interval(Integral, 0, None)],
        "seasonal": [list, tuple],
        "use_level": ["boolean"],
        "use_residual": ["boolean"],
        "recon_weight": [Interval(Real, 0, None, closed="neither")],
        "sample_noise": ["boolean"],
    }

    network_: TimeVAENetwork

    def __init__(self, length: int | None = None, *, latent_dim: int = 8,
                 hidden_channels: Sequence[int] = (50, 100, 200), interpretable: bool = False, trend_poly: int = 2,
                 seasonal: Sequence[tuple[int, int]] = (), use_level: bool = True, use_residual: bool = True,
                 recon_weight: float = 3.0, sample_noise: bool = False, epochs: int = 100, batch_size: int = 128,
                 lr: float = 1e-3, validation_split: float = 0.0, early_stopping: bool = False, patience: int = 20,
                 seed: int | None = 0, device: str = "auto", verbose: bool | None = None) -> None:
        super().__init__(length, epochs=epochs, batch_size=batch_size, lr=lr, validation_split=validation_split,
                         early_stopping=early_stopping, patience=patience, seed=seed, device=device, verbose=verbose)
        self.latent_dim = latent_dim
        self.hidden_channels = hidden_channels
        self.interpretable = interpretable
        self.trend_poly = trend_poly
        self.seasonal = seasonal
        self.use_level = use_level
        self.use_residual = use_residual
        self.recon_weight = recon_weight
        self.sample_noise = sample_noise

    # ------------------------------------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        super()._check_params()
        name = type(self).__name__
        if not all(isinstance(pair, Sequence) for pair in self.seasonal):
            raise ConfigError(f"{name}: seasonal must be a list of (n_seasons, season_length) pairs, e.g. [(5, 1)], "
                              f"got {self.seasonal!r}.")
        for k, pair in enumerate(self.seasonal):
            ok = (isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2
                  and Interval(Integral, 2, None).accepts(pair[0]) and Interval(Integral, 1, None).accepts(pair[1]))
            if not ok:
                raise ConfigError(f"{name}: seasonal[{k}] must be a pair (n_seasons, season_length) of integers with "
                                  f"n_seasons >= 2 and season_length >= 1, got {pair!r}; e.g. (5, 1) for a "
                                  "day-of-week pattern.")
        if not self.interpretable and not self.use_residual:
            raise ConfigError(f"{name}: the base variant (interpretable=False) decodes with the residual path alone; "
                              "set use_residual=True, or interpretable=True to decode with the level, trend and "
                              "seasonal blocks.")
        if self.interpretable and not (self.use_level or self.trend_poly or self.seasonal or self.use_residual):
            raise ConfigError(f"{name}: every decoder block is switched off (use_level=False, trend_poly=0, "
                              "seasonal=(), use_residual=False); switch at least one on.")

    def _check_shape(self, n_features: int, length: int) -> None:
        name = type(self).__name__
        n_layers = len(self.hidden_channels)
        if length < 2**n_layers:
            raise ConfigError(f"{name}: windows of {length} days are too short for {n_layers} stride-2 conv layers "
                              f"(hidden_channels={tuple(self.hidden_channels)}); they need at least {2**n_layers} "
                              f"days: pass length >= {2**n_layers} or fewer hidden_channels.")
        if self.interpretable:
            for m, d in self.seasonal:
                if m * d > length:
                    raise ConfigError(f"{name}: the seasonal block ({m}, {d}) has a cycle of {m * d} days, longer "
                                      f"than the windows of {length} days, so some seasons never show in a window; "
                                      "use fewer or shorter seasons, or a longer length.")

    # ------------------------------------------------------------------------------------------------ network
    def _build(self, n_features: int, length: int) -> nn.Module:
        interpretable = bool(self.interpretable)
        return TimeVAENetwork(
            int(n_features), int(length), int(self.latent_dim), [int(h) for h in self.hidden_channels],
            trend_poly=int(self.trend_poly) if interpretable else 0,
            seasonal=[(int(m), int(d)) for m, d in self.seasonal] if interpretable else [],
            use_level=bool(self.use_level) and interpretable, use_residual=bool(self.use_residual))

    def _loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        x = batch[0]
        recon, mu, log_var = model(x)
        sse = (recon - x).pow(2).sum(dim=(1, 2))
        kl = kl_standard_normal(mu, log_var).sum(dim=1)
        return {"loss": (self.recon_weight * sse + kl).mean(), "recon": sse.mean(), "kl": kl.mean()}

    def _after_training(self, tensors: tuple[np.ndarray, ...]) -> None:
        x = torch.from_numpy(tensors[0])
        sq = torch.zeros(x.shape[2], dtype=torch.float64)
        with torch.no_grad():
            for chunk in x.split(_CHUNK):
                mu, _ = self.network_.encode(chunk)
                sq += (self.network_.decode(mu) - chunk).double().pow(2).sum(dim=(0, 1))
        self.noise_scale_ = np.sqrt(sq.numpy() / (x.shape[0] * x.shape[1]))

    def _generate(self, n: int, generator: torch.Generator, condition: Any) -> torch.Tensor:
        z = torch.randn(n, self.network_.latent_dim, generator=generator)
        out = torch.cat([self.network_.decode(chunk) for chunk in z.split(_CHUNK)])
        if self.sample_noise:
            scale = torch.as_tensor(self.noise_scale_, dtype=out.dtype)
            out = out + scale * torch.randn(out.shape, generator=generator)
        return out

    # ------------------------------------------------------------------------------------------------ public
    def elbo(self, windows: Any, *, n_samples: int = 16, seed: int = 0) -> np.ndarray:
        r"""The evidence lower bound of each window, in nats, for densities in the data's units.

        .. math::

           \mathrm{ELBO}(x) = \mathbb E_{q(z\mid x)}\big[\log\mathcal N(\tilde x;\,\hat x(z),\,\tfrac{1}{2w}I)\big]
             - \mathrm{KL}(q(z\mid x)\Vert\mathcal N(0,I)) - L\sum_f\log\sigma_f
           \;\le\; \log p(x),

        where :math:`\tilde x` is the standardised window, :math:`w` = ``recon_weight`` (the Gaussian decoder the
        training loss implies, variance :math:`1/(2w)` per standardised value) and the last term
        (:attr:`log_scale_sum_`) is the Jacobian of the standardisation. The expectation is a Monte Carlo mean over
        ``n_samples`` draws of :math:`z`; the KL term is exact.

        Parameters
        ----------
        windows : array-like
            ``(n, L, F)`` in the units of the data, shaped like the training windows.
        n_samples : int, default 16
            Draws of :math:`z` per window.
        seed : int, default 0
            Seed of those draws (the same seed gives the same values).

        Returns
        -------
        numpy.ndarray
            float64 ``(n,)``.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> model = TimeVAE(hidden_channels=(4,), epochs=2, verbose=False).fit(rng.normal(size=(40, 8, 1)))
        >>> model.elbo(rng.normal(size=(5, 8, 1)), n_samples=4).shape
        (5,)
        """
        x = self._data_windows(windows)
        name = type(self).__name__
        check_arg("n_samples", n_samples, Interval(Integral, 1, None), owner=name)
        check_arg("seed", seed, Interval(Integral, 0, None), owner=name)
        w = float(self.recon_weight)
        length, n_features = x.shape[1], x.shape[2]
        generator = torch.Generator().manual_seed(int(seed))
        out = []
        with torch.no_grad():
            for chunk in x.split(_CHUNK):
                mu, log_var = self.network_.encode(chunk)
                kl = kl_standard_normal(mu, log_var).sum(dim=1).double()
                sse = torch.zeros(len(chunk), dtype=torch.float64)
                for _ in range(int(n_samples)):
                    eps = torch.randn(mu.shape, generator=generator)
                    recon = self.network_.decode(mu + torch.exp(0.5 * log_var) * eps)
                    sse += (recon - chunk).pow(2).sum(dim=(1, 2)).double()
                loglik = -w * sse / int(n_samples) - 0.5 * length * n_features * math.log(math.pi / w)
                out.append(loglik - kl)
        return torch.cat(out).numpy() - self.log_scale_sum_

    def decompose(self, windows: Any) -> dict[str, np.ndarray]:
        """Each decoder block's part of the reconstruction of ``windows``, in the data's units, at the posterior mean
        :math:`z = \\mu(x)`.

        Parameters
        ----------
        windows : array-like
            ``(n, L, F)`` in the units of the data, shaped like the training windows.

        Returns
        -------
        dict of str to numpy.ndarray
            float64 ``(n, L, F)`` per block: ``level`` (the level block plus the training mean; the mean alone when
            there is no level block), ``trend``, ``seasonal_<k>`` (in the order of ``seasonal``) and ``residual``, for
            the blocks switched on. They add up to the reconstruction.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> windows = rng.normal(size=(40, 8, 1))
        >>> model = TimeVAE(hidden_channels=(4,), interpretable=True, epochs=2, verbose=False).fit(windows)
        >>> parts = model.decompose(windows[:3])
        >>> sorted(parts), parts["trend"].shape
        (['level', 'residual', 'trend'], (3, 8, 1))
        """
        x = self._data_windows(windows)
        with torch.no_grad():
            mu, _ = self.network_.encode(x)
            parts = {k: v.double().numpy() * self.scale_ for k, v in self.network_.components(mu).items()}
        level = parts.pop("level", np.zeros(x.shape, dtype=np.float64)) + self.mean_
        return {"level": level, **parts}
