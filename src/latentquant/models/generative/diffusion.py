r"""DDPM diffusion over windows (Ho et al. 2020): a 1-D convolutional denoiser learns the noise added to a standardised
window ``(L, F)``; sampling runs the chain back from pure noise, step by step (DDPM) or on a subsequence of the steps
(DDIM, Song et al. 2021).

The forward process adds Gaussian noise in :math:`T` steps with variances :math:`\beta_1, \dots, \beta_T`; with
:math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_t = \prod_{s \le t} \alpha_s` its marginals are closed-form:

.. math::

   q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big), \qquad
   x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon .

The network :math:`\varepsilon_\theta(x_t, t)` is trained on :math:`\lVert \varepsilon - \varepsilon_\theta(x_t, t)
\rVert^2` with a uniform random step per window. Ancestral (DDPM) sampling draws

.. math::

   x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,
   \varepsilon_\theta(x_t, t)\Big) + \sigma_t z, \qquad \sigma_t^2 = \tilde\beta_t =
   \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\beta_t,

written here as the posterior :math:`q(x_{t-1} \mid x_t, \hat x_0)` of the predicted clean window
:math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon_\theta)/\sqrt{\bar\alpha_t}` (the same step), and
DDIM (deterministic for ``ddim_eta=0``) jumps between the steps of an evenly spaced subsequence through
:math:`\hat x_0`. Near :math:`t = T`, :math:`\sqrt{\bar\alpha_t} \approx 0` magnifies any error of the network in
:math:`\hat x_0`, so both samplers clip it to the range of the training data widened by ``clip_denoised`` (as image
models clip to :math:`[-1, 1]`). Sampling costs one network evaluation per step (``n_steps`` for DDPM,
``ddim_steps`` for DDIM).

Schedules: ``"linear"`` (Ho et al.: :math:`\beta` from :math:`10^{-4}` to :math:`0.02` over 1,000 steps, rescaled by
:math:`1000/T` for :math:`T` steps as in Nichol & Dhariwal, so that :math:`\bar\alpha_T` is close to 0 for any
:math:`T`) and ``"cosine"`` (Nichol & Dhariwal: :math:`\bar\alpha_t = f(t)/f(0)`, :math:`f(t) = \cos^2\big(
\frac{t/T + s}{1 + s}\frac{\pi}{2}\big)`, :math:`s = 0.008`). Both clip :math:`\beta_t` at 0.999.

References
----------
Ho, J., Jain, A. & Abbeel, P. (2020). Denoising diffusion probabilistic models. *NeurIPS* 33.
Nichol, A. & Dhariwal, P. (2021). Improved denoising diffusion probabilistic models. *ICML*.
Song, J., Meng, C. & Ermon, S. (2021). Denoising diffusion implicit models. *ICLR*.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, ClassVar, overload

import numpy as np
import torch
from torch import nn

from latentquant.exceptions import ConfigError
from latentquant.models.generative._diffusion_net import DiffusionDenoiser, beta_schedule, q_sample
from latentquant.models.generative._torch import TorchGenerator
from latentquant.validation import Constraint, Interval, Options, check_arg

__all__ = ["DiffusionDenoiser", "DiffusionGenerator", "beta_schedule", "q_sample"]

#: largest :math:`\beta_t` a schedule keeps (a step of pure noise would make the reverse step divide by 0)
#: windows denoised at once when sampling (bounds the memory of the activations)
SAMPLE_CHUNK = 4096


# ----------------------------------------------------------------------------------------------------------------------
# small pure functions
# ----------------------------------------------------------------------------------------------------------------------


class DiffusionGenerator(TorchGenerator):
    r"""DDPM diffusion generator of windows (Ho et al. 2020) with a 1-D conv (+ attention) denoiser, a cosine or linear
    noise schedule, and ancestral (DDPM) or DDIM sampling (see the module docstring for the equations).

    The windows are standardised with the training rows' mean and standard deviation; the diffusion runs on them and
    the samples are mapped back to the data's units.

    Parameters
    ----------
    length : int, optional
        Window length the network is trained on and samples (default: the fitted windows' length).
    n_steps : int
        Diffusion steps :math:`T`.
    schedule : {"cosine", "linear"}
        Noise schedule (:func:`beta_schedule`).
    channels : int
        Width of the denoiser's convolutions.
    n_blocks : int
        Residual convolution blocks of the denoiser.
    kernel_size : int
        Odd kernel size of its convolutions.
    attention : bool
        Add one self-attention layer over time to the denoiser.
    n_heads : int
        Attention heads (must divide ``channels``; used with ``attention=True``).
    sampler : {"ddpm", "ddim"}
        ``"ddpm"``: ancestral sampling through all ``n_steps`` steps; ``"ddim"``: DDIM on ``ddim_steps`` evenly
        spaced steps. May be changed after fitting with ``set_params``.
    ddim_steps : int
        Steps of the DDIM sampler (at most ``n_steps``; checked when ``sampler="ddim"``).
    ddim_eta : float
        DDIM noise: 0 is deterministic given the starting noise, 1 is DDPM-like.
    clip_denoised : float or None
        Clip each step's predicted clean window :math:`\hat x_0` to the range of the training data (per feature)
        widened by this multiple of its width on each side (0.5: the samples can go half a range beyond the
        history); ``None`` does not clip. Near :math:`t = T` the prediction divides by :math:`\sqrt{\bar\alpha_t}
        \approx 0`, so without a bound a small network error sends a few windows hundreds of standard deviations
        away. May be changed after fitting.
    epochs : int
        Passes over the training windows.
    batch_size : int
        Windows per optimisation step.
    lr : float
        Adam learning rate.
    validation_split : float
        Share of the windows, from the end (time order), held out for validation and early stopping (0: none).
    early_stopping : bool
        Stop when the validation loss stalls for ``patience`` epochs and restore the best weights.
    patience : int
        Epochs without improvement before stopping.
    seed : int, optional
        Seed of the initial weights, the training batches and steps, and the sampling stream.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` for training; the fitted network lives on the CPU.
    verbose : bool or None
        Training progress (``None``: a progress bar on a terminal).

    Attributes
    ----------
    network_ : DiffusionDenoiser
        The trained noise predictor (standardised windows).
    betas_ : numpy.ndarray
        :math:`\beta_t`, ``(n_steps,)``, fixed at fit time.
    alphas_cumprod_ : numpy.ndarray
        :math:`\bar\alpha_t = \prod_{s \le t}(1 - \beta_s)`, ``(n_steps,)``.
    data_range_ : numpy.ndarray
        ``(2, F)``: per-feature minimum and maximum of the standardised training rows (for ``clip_denoised``).
    mean_, scale_ : numpy.ndarray
        Per-feature mean and standard deviation of the training rows.
    history_ : History
        ``train_loss`` (the noise-prediction MSE) per epoch, and ``val_loss`` with a validation split.

    References
    ----------
    Ho, J., Jain, A. & Abbeel, P. (2020). Denoising diffusion probabilistic models. *NeurIPS* 33.
    Nichol, A. & Dhariwal, P. (2021). Improved denoising diffusion probabilistic models. *ICML*.
    Song, J., Meng, C. & Ermon, S. (2021). Denoising diffusion implicit models. *ICLR*.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> windows = rng.normal(size=(32, 8, 2))
    >>> model = DiffusionGenerator(n_steps=10, channels=8, n_blocks=1, epochs=1, verbose=False).fit(windows)
    >>> model.sample(3, seed=1).shape
    (3, 8, 2)
    >>> bool((model.sample(3, seed=1) == model.sample(3, seed=1)).all())
    True
    >>> model.set_params(sampler="ddim", ddim_steps=5).sample(3, seed=1).shape
    (3, 8, 2)
    >>> DiffusionGenerator(n_steps=10, sampler="ddim", ddim_steps=50).fit(windows)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: DiffusionGenerator: ddim_steps=50 exceeds n_steps=10; ... <= 10 ...
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **TorchGenerator._parameter_constraints,
        "n_steps": [Interval(Integral, 1, None)],
        "schedule": [Options("cosine", "linear")],
        "channels": [Interval(Integral, 1, None)],
        "n_blocks": [Interval(Integral, 1, None)],
        "kernel_size": [Interval(Integral, 1, None)],
        "attention": ["boolean"],
        "n_heads": [Interval(Integral, 1, None)],
        "sampler": [Options("ddpm", "ddim")],
        "ddim_steps": [Interval(Integral, 1, None)],
        "ddim_eta": [Interval(Real, 0, None)],
        "clip_denoised": [Interval(Real, 0, None), None],
    }

    def __init__(self, length: int | None = None, *, n_steps: int = 200, schedule: str = "cosine",
                 channels: int = 64, n_blocks: int = 4, kernel_size: int = 3, attention: bool = False,
                 n_heads: int = 4, sampler: str = "ddpm", ddim_steps: int = 50, ddim_eta: float = 0.0,
                 clip_denoised: float | None = 0.5, epochs: int = 100, batch_size: int = 128, lr: float = 1e-3,
                 validation_split: float = 0.0, early_stopping: bool = False, patience: int = 20,
                 seed: int | None = 0, device: str = "auto", verbose: bool | None = None) -> None:
        super().__init__(length, epochs=epochs, batch_size=batch_size, lr=lr, validation_split=validation_split,
                         early_stopping=early_stopping, patience=patience, seed=seed, device=device, verbose=verbose)
        self.n_steps = n_steps
        self.schedule = schedule
        self.channels = channels
        self.n_blocks = n_blocks
        self.kernel_size = kernel_size
        self.attention = attention
        self.n_heads = n_heads
        self.sampler = sampler
        self.ddim_steps = ddim_steps
        self.ddim_eta = ddim_eta
        self.clip_denoised = clip_denoised

    # ------------------------------------------------------------------------------------------------ checks
    def _check_ddim_steps(self, n_steps: int) -> None:
        if self.ddim_steps > n_steps:
            raise ConfigError(f"{type(self).__name__}: ddim_steps={self.ddim_steps} exceeds n_steps={n_steps}; DDIM "
                              f"runs on a subsequence of the diffusion steps, so pass ddim_steps <= {n_steps} or "
                              "raise n_steps.")

    def _check_shape(self, n_features: int, length: int) -> None:
        name = type(self).__name__
        if self.kernel_size % 2 == 0:
            raise ConfigError(f"{name}: kernel_size={self.kernel_size} must be odd so that the convolutions keep the "
                              f"window length; pass kernel_size={self.kernel_size + 1}.")
        if self.attention and self.channels % self.n_heads:
            raise ConfigError(f"{name}: channels={self.channels} is not divisible by n_heads={self.n_heads}; the "
                              "attention layer splits the channels among the heads, so pick n_heads among "
                              f"{[h for h in range(1, self.channels + 1) if self.channels % h == 0]}.")
        if self.sampler == "ddim":
            self._check_ddim_steps(int(self.n_steps))

    # ------------------------------------------------------------------------------------------------ TorchGenerator
    def _fit(self, data: np.ndarray, bounds: np.ndarray) -> None:
        self.betas_ = beta_schedule(int(self.n_steps), self.schedule)
        self.alphas_cumprod_ = np.cumprod(1.0 - self.betas_)
        super()._fit(data, bounds)
        z = self._standardise(data)
        self.data_range_ = np.stack([z.min(axis=0), z.max(axis=0)])

    def _build(self, n_features: int, length: int) -> nn.Module:
        return DiffusionDenoiser(n_features=n_features, channels=int(self.channels), n_blocks=int(self.n_blocks),
                                 kernel_size=int(self.kernel_size), attention=bool(self.attention),
                                 n_heads=int(self.n_heads))

    def _loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        x0 = batch[0]
        abar = torch.as_tensor(self.alphas_cumprod_, dtype=x0.dtype, device=x0.device)
        # the global RNG, which the Trainer seeds: the steps and the noise are reproducible with ``seed``
        t = torch.randint(0, len(abar), (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        return {"loss": torch.mean((model(q_sample(x0, t, noise, abar), t) - noise) ** 2)}

    def _generate(self, n: int, generator: torch.Generator, condition: Any) -> torch.Tensor:
        name = type(self).__name__
        check_arg("sampler", self.sampler, Options("ddpm", "ddim"), owner=name)
        check_arg("ddim_steps", self.ddim_steps, Interval(Integral, 1, None), owner=name)
        check_arg("ddim_eta", self.ddim_eta, Interval(Real, 0, None), owner=name)
        check_arg("clip_denoised", self.clip_denoised, Interval(Real, 0, None), None, owner=name)
        if self.sampler == "ddim":
            self._check_ddim_steps(len(self.betas_))
        shape = (self.length_, self.n_features_in_)
        chunks = []
        for start in range(0, n, SAMPLE_CHUNK):
            m = min(SAMPLE_CHUNK, n - start)
            x = torch.randn((m, *shape), generator=generator)
            chunks.append(self._ddpm(x, generator) if self.sampler == "ddpm" else self._ddim(x, generator))
        return torch.cat(chunks)

    # ------------------------------------------------------------------------------------------------ samplers
    def _predict_x0(self, x: torch.Tensor, step: int) -> torch.Tensor:
        r""":math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon_\theta)/\sqrt{\bar\alpha_t}`, clipped to
        ``data_range_`` widened by ``clip_denoised`` times its width on each side: near :math:`t = T` the division
        by :math:`\sqrt{\bar\alpha_t} \approx 0` magnifies any error of the network (a few windows would land
        hundreds of standard deviations away)."""
        a_t = float(self.alphas_cumprod_[step])
        eps = self.network_(x, torch.full((x.shape[0],), step, dtype=torch.long))
        x0 = (x - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
        if self.clip_denoised is not None:
            low, high = self.data_range_
            margin = float(self.clip_denoised) * (high - low)
            x0 = torch.maximum(torch.minimum(x0, torch.as_tensor(high + margin, dtype=x0.dtype)),
                               torch.as_tensor(low - margin, dtype=x0.dtype))
        return x0

    def _ddpm(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        r"""Ancestral sampling from :math:`x_T` = ``x`` through every step, via the posterior
        :math:`q(x_{t-1} \mid x_t, \hat x_0)` so that :math:`\hat x_0` can be clipped."""
        betas = self.betas_
        abar = self.alphas_cumprod_
        abar_prev = np.r_[1.0, abar[:-1]]
        coef_x0 = np.sqrt(abar_prev) * betas / (1.0 - abar)
        coef_xt = np.sqrt(1.0 - betas) * (1.0 - abar_prev) / (1.0 - abar)
        sigma = np.sqrt(betas * (1.0 - abar_prev) / (1.0 - abar))
        for step in range(len(betas) - 1, -1, -1):
            x0 = self._predict_x0(x, step)
            x = float(coef_x0[step]) * x0 + float(coef_xt[step]) * x
            if step > 0:
                x = x + float(sigma[step]) * torch.randn(x.shape, generator=generator)
        return x

    def _ddim(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """DDIM (Song et al. 2021) from :math:`x_T` = ``x`` on ``ddim_steps`` evenly spaced steps."""
        abar = self.alphas_cumprod_
        # from the last step (pure noise) down to step 0; one step jumps from T straight to the clean window
        steps = np.unique(np.round(np.linspace(len(abar) - 1, 0, int(self.ddim_steps))).astype(int))[::-1]
        eta = float(self.ddim_eta)
        for i, step in enumerate(steps):
            a_t = float(abar[step])
            a_prev = float(abar[steps[i + 1]]) if i + 1 < len(steps) else 1.0
            x0 = self._predict_x0(x, int(step))
            eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1.0 - a_t)  # consistent with the clipped x0
            sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
            x = math.sqrt(a_prev) * x0 + math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)) * eps
            if sigma > 0 and i + 1 < len(steps):
                x = x + sigma * torch.randn(x.shape, generator=generator)
        return x

    # ------------------------------------------------------------------------------------------------ public
    @overload
    def q_sample(self, x0: torch.Tensor, t: Any, noise: torch.Tensor) -> torch.Tensor: ...

    @overload
    def q_sample(self, x0: np.ndarray, t: Any, noise: np.ndarray) -> np.ndarray: ...

    def q_sample(self, x0: Any, t: Any, noise: Any) -> Any:
        r"""The forward process of the fitted schedule: :math:`x_t = \sqrt{\bar\alpha_t}\,x_0 +
        \sqrt{1-\bar\alpha_t}\,\varepsilon`, in the standardised units the diffusion runs in.

        Parameters
        ----------
        x0 : numpy.ndarray or torch.Tensor
            Clean windows ``(b, L, F)``.
        t : int or array-like of int
            0-based step, one for all windows or one per window ``(b,)``, in ``[0, n_steps)``.
        noise : numpy.ndarray or torch.Tensor
            :math:`\varepsilon`, shaped like ``x0``.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            :math:`x_t`, of the type and shape of ``x0``.

        Examples
        --------
        >>> model = DiffusionGenerator(n_steps=10, channels=8, n_blocks=1, epochs=1, verbose=False)
        >>> model = model.fit(np.random.default_rng(0).normal(size=(32, 8, 1)))
        >>> x0, noise = np.ones((1, 8, 1)), np.zeros((1, 8, 1))
        >>> bool(np.allclose(model.q_sample(x0, 9, noise), np.sqrt(model.alphas_cumprod_[9])))
        True
        """
        self._check_fitted()
        is_numpy = not isinstance(x0, torch.Tensor)
        x0_t = torch.as_tensor(np.asarray(x0, dtype=np.float64)) if is_numpy else x0
        noise_t = torch.as_tensor(noise, dtype=x0_t.dtype, device=x0_t.device)
        n_steps = len(self.alphas_cumprod_)
        t_arr = np.broadcast_to(np.asarray(t.cpu() if isinstance(t, torch.Tensor) else t), (x0_t.shape[0],))
        if not np.issubdtype(t_arr.dtype, np.integer) or t_arr.min() < 0 or t_arr.max() >= n_steps:
            raise ConfigError(f"{type(self).__name__}: t must be integer steps in [0, {n_steps}), got "
                              f"{np.unique(t_arr)[:5].tolist()}; the schedule has n_steps={n_steps} steps.")
        out = q_sample(x0_t, torch.as_tensor(t_arr.copy(), device=x0_t.device), noise_t,
                       torch.as_tensor(self.alphas_cumprod_))
        return out.numpy() if is_numpy else out
