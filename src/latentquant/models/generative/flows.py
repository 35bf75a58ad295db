r"""Normalizing flows over windows: :class:`NICE`, :class:`RealNVP` and :class:`MAF`, exact-likelihood generators.

A window ``(L, F)`` (standardised with the training rows' statistics, see
:class:`~latentquant.models.generative._torch.TorchGenerator`) is flattened to :math:`D = L F` values, time-major
(value :math:`d = t F + f`), and mapped by an invertible network :math:`f` to :math:`z = f(x) \sim \mathcal N(0, I)`:

.. math::

    \log p(x) = \log \mathcal N(f(x); 0, I) + \log\left|\det \frac{\partial f}{\partial x}\right|
                - L \sum_f \log \sigma_f,

the last term being the Jacobian of the standardisation, so that :meth:`~NICE.log_prob` is a density in the units
of the data. Training minimises the mean negative log-likelihood per window (``history_["train_loss"]``; the same in
bits per value is ``train_bits_per_dim``); sampling draws :math:`z \sim \mathcal N(0, I)` and inverts.

* :class:`NICE` (Dinh et al. 2014) — additive couplings :math:`y_B = x_B + m(x_A)` with alternating masks, then the
  diagonal **rescaling** layer :math:`z = e^{\lambda} \odot h` (log-det :math:`\sum_d \lambda_d`). The book's code
  leaves the rescaling out, which makes the flow volume-preserving: it cannot fit the scale of the data at all.
* :class:`RealNVP` (Dinh et al. 2016) — affine couplings :math:`y_B = x_B \odot e^{s(x_A)} + t(x_A)`: the
  conditioner outputs two values (log-scale, shift) per *transformed value*, so any number of features works (the
  book's conditioner splits the feature axis and only works for two). Masks over time steps, features or both.
* :class:`MAF` (Papamakarios et al. 2017) — MADE blocks with alternating orders; :math:`u_i = (x_i -
  \mu_i(x_{<i})) e^{-\alpha_i(x_{<i})}`. Density in one pass per block, sampling in :math:`D` passes per block.

Log-scales are soft-clamped, :math:`s = b \tanh(s_{raw}/b)` with a learned bound :math:`b` per value (the book's
:math:`\exp(s_f)\tanh(s/\exp(s_f))`), and every flow starts as the identity (zero last layers); no batch norm.

**Conditioned flows** (the book's §7.8, Rasul et al. 2021): ``RealNVP(context="previous_vol")`` and
``MAF(context="previous_vol")`` feed every conditioner / MADE the realised volatility (sample standard deviation,
ddof 1) of feature 0 over the ``length`` days before the window, standardised with the training contexts' mean and
standard deviation. The context of a training window is read from the window that ends the day before it starts, in
the same segment of the fitted data, so the windows of the first ``length`` days of each segment (which have no full
history) are dropped at fit; this needs nothing but the standardised windows and the segment bounds the base class
keeps, so only the ``_training_tensors`` hook is overridden. ``sample(n, condition=v)`` takes raw volatilities (the
data's units of feature 0); ``condition=None`` draws the contexts from the training windows' (the unconditional
distribution).

References
----------
Dinh, L., Krueger, D. & Bengio, Y. (2014). NICE: Non-linear independent components estimation. arXiv:1410.8516.
Dinh, L., Sohl-Dickstein, J. & Bengio, S. (2016). Density estimation using Real NVP. arXiv:1605.08803.
Germain, M., Gregor, K., Murray, I. & Larochelle, H. (2015). MADE: Masked autoencoder for distribution estimation.
*ICML*.
Papamakarios, G., Pavlakou, T. & Murray, I. (2017). Masked autoregressive flow for density estimation. *NeurIPS*.
Rasul, K., Sheikh, A.-S., Schuster, I., Bergmann, U. & Vollgraf, R. (2021). Multivariate probabilistic time series
forecasting via conditioned normalizing flows. *ICLR*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from torch import nn

from latentquant.models.generative._flow_base import CONTEXTS, _CouplingGenerator, _FlowGenerator, previous_window_index
from latentquant.models.generative._flow_layers import (
    CouplingFlowNet,
    MaskedAutoregressiveFlowNet,
)
from latentquant.validation import Constraint, Options

__all__ = ["MAF", "NICE", "RealNVP", "previous_window_index"]


class NICE(_CouplingGenerator):
    """NICE: additive coupling layers with alternating masks and a diagonal rescaling layer.

    See the module docstring for the model. The rescaling layer (absent from the book's code) carries the whole
    log-determinant: an additive coupling preserves volume.

    Parameters
    ----------
    length : int, optional
        Window length (default: the fitted windows').
    n_layers : int
        Additive coupling layers.
    hidden_dims : sequence of int
        Hidden widths of each coupling's ReLU MLP.
    mask : {"time", "feature", "checkerboard"}
        Values the layers alternate over: time steps (the book's choice), features (needs 2 or more) or both.
    epochs : int
        Passes over the training windows.
    batch_size : int
        Windows per optimisation step.
    lr : float
        Adam learning rate.
    validation_split : float
        Share of the windows, from the end, held out for validation.
    early_stopping : bool
        Stop when the validation loss stalls and restore the best weights.
    patience : int
        Epochs without improvement before stopping.
    seed : int, optional
        Seed of the initial weights, the batches and the sampling stream.
    device : str
        Training device (``"cpu"``, ``"cuda"``, ``"auto"``).
    verbose : bool or None
        Training progress.

    Attributes
    ----------
    network_ : CouplingFlowNet
        The flow on standardised, flattened windows.
    history_ : History
        ``train_loss`` (NLL per window, standardised units) and ``train_bits_per_dim``, per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(60, 4, 2))
    >>> model = NICE(epochs=2, n_layers=2, hidden_dims=(8,), verbose=False).fit(x)
    >>> model.sample(3, seed=0).shape, sorted(model.history_)
    ((3, 4, 2), ['lr', 'train_bits_per_dim', 'train_loss'])
    """

    def __init__(self, length: int | None = None, *, n_layers: int = 8, hidden_dims: Sequence[int] = (64, 64),
                 mask: str = "time", epochs: int = 100, batch_size: int = 128, lr: float = 1e-3,
                 validation_split: float = 0.0, early_stopping: bool = False, patience: int = 20,
                 seed: int | None = 0, device: str = "auto", verbose: bool | None = None) -> None:
        super().__init__(length, epochs=epochs, batch_size=batch_size, lr=lr, validation_split=validation_split,
                         early_stopping=early_stopping, patience=patience, seed=seed, device=device,
                         verbose=verbose)
        self.n_layers = n_layers
        self.hidden_dims = hidden_dims
        self.mask = mask

    def _build(self, n_features: int, length: int) -> nn.Module:
        return CouplingFlowNet(length, n_features, int(self.n_layers), [int(h) for h in self.hidden_dims],
                               self.mask, affine=False, rescale=True, n_context=0)


class RealNVP(_CouplingGenerator):
    """RealNVP: affine coupling layers with alternating masks, optionally conditioned on the previous volatility.

    See the module docstring. The conditioner of each layer outputs a log-scale and a shift for every value it
    transforms, so any number of features works.

    Parameters
    ----------
    length : int, optional
        Window length (default: the fitted windows').
    n_layers : int
        Affine coupling layers.
    hidden_dims : sequence of int
        Hidden widths of each coupling's ReLU MLP.
    mask : {"time", "feature", "checkerboard"}
        Values the layers alternate over: time steps, features (needs 2 or more) or both.
    context : {"none", "previous_vol"}
        Condition every layer on the realised volatility of feature 0 over the ``length`` days before the window.
    epochs : int
        Passes over the training windows.
    batch_size : int
        Windows per optimisation step.
    lr : float
        Adam learning rate.
    validation_split : float
        Share of the windows, from the end, held out for validation.
    early_stopping : bool
        Stop when the validation loss stalls and restore the best weights.
    patience : int
        Epochs without improvement before stopping.
    seed : int, optional
        Seed of the initial weights, the batches and the sampling stream.
    device : str
        Training device (``"cpu"``, ``"cuda"``, ``"auto"``).
    verbose : bool or None
        Training progress.

    Attributes
    ----------
    network_ : CouplingFlowNet
        The flow on standardised, flattened windows.
    context_mean_, context_scale_ : float
        Mean and standard deviation of the training contexts (``context="previous_vol"`` only).
    training_context_ : numpy.ndarray
        The standardised training contexts, drawn from by ``sample(n)`` without a condition.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> series = rng.normal(size=(120, 2))
    >>> model = RealNVP(length=5, context="previous_vol", epochs=2, n_layers=2, hidden_dims=(8,),
    ...                 verbose=False).fit(series)
    >>> model.sample(4, seed=0, condition=0.5).shape
    (4, 5, 2)
    >>> RealNVP(mask="feature", epochs=2).fit(series[:, :1].reshape(-1, 10, 1))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: RealNVP: mask='feature' needs at least 2 features or mask='time' (windows \
are 10 x 1); every coupling layer must keep some values to condition on and transform the others.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **_CouplingGenerator._parameter_constraints,
        "context": [Options(*CONTEXTS)],
    }
    accepts_condition: ClassVar[bool] = True

    def __init__(self, length: int | None = None, *, n_layers: int = 8, hidden_dims: Sequence[int] = (64, 64),
                 mask: str = "time", context: str = "none", epochs: int = 100, batch_size: int = 128,
                 lr: float = 1e-3, validation_split: float = 0.0, early_stopping: bool = False, patience: int = 20,
                 seed: int | None = 0, device: str = "auto", verbose: bool | None = None) -> None:
        super().__init__(length, epochs=epochs, batch_size=batch_size, lr=lr, validation_split=validation_split,
                         early_stopping=early_stopping, patience=patience, seed=seed, device=device,
                         verbose=verbose)
        self.n_layers = n_layers
        self.hidden_dims = hidden_dims
        self.mask = mask
        self.context = context

    def _build(self, n_features: int, length: int) -> nn.Module:
        return CouplingFlowNet(length, n_features, int(self.n_layers), [int(h) for h in self.hidden_dims],
                               self.mask, affine=True, rescale=False, n_context=self._n_context)


class MAF(_FlowGenerator):
    """Masked autoregressive flow: MADE blocks with alternating orders, optionally conditioned on the previous
    volatility.

    See the module docstring. Density evaluation (training) takes one pass per block; sampling inverts each block
    autoregressively in ``length * n_features`` passes.

    Parameters
    ----------
    length : int, optional
        Window length (default: the fitted windows').
    n_layers : int
        MADE blocks (the order of the flattened window is reversed from one to the next).
    hidden_dims : sequence of int
        Hidden widths of each MADE.
    context : {"none", "previous_vol"}
        Condition every block on the realised volatility of feature 0 over the ``length`` days before the window.
    epochs : int
        Passes over the training windows.
    batch_size : int
        Windows per optimisation step.
    lr : float
        Adam learning rate.
    validation_split : float
        Share of the windows, from the end, held out for validation.
    early_stopping : bool
        Stop when the validation loss stalls and restore the best weights.
    patience : int
        Epochs without improvement before stopping.
    seed : int, optional
        Seed of the initial weights, the batches and the sampling stream.
    device : str
        Training device (``"cpu"``, ``"cuda"``, ``"auto"``).
    verbose : bool or None
        Training progress.

    Attributes
    ----------
    network_ : MaskedAutoregressiveFlowNet
        The flow on standardised, flattened windows.
    context_mean_, context_scale_ : float
        Mean and standard deviation of the training contexts (``context="previous_vol"`` only).
    training_context_ : numpy.ndarray
        The standardised training contexts, drawn from by ``sample(n)`` without a condition.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(60, 4, 2))
    >>> model = MAF(epochs=2, n_layers=2, hidden_dims=(8,), verbose=False).fit(x)
    >>> model.sample(3, seed=0).shape
    (3, 4, 2)
    >>> model.sample(3, condition=0.01)
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: MAF(context='none') samples unconditionally and takes no condition; pass \
condition=None, or fit with context='previous_vol'.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **_FlowGenerator._parameter_constraints,
        "context": [Options(*CONTEXTS)],
    }
    accepts_condition: ClassVar[bool] = True

    def __init__(self, length: int | None = None, *, n_layers: int = 5, hidden_dims: Sequence[int] = (64, 64),
                 context: str = "none", epochs: int = 100, batch_size: int = 128, lr: float = 1e-3,
                 validation_split: float = 0.0, early_stopping: bool = False, patience: int = 20,
                 seed: int | None = 0, device: str = "auto", verbose: bool | None = None) -> None:
        super().__init__(length, epochs=epochs, batch_size=batch_size, lr=lr, validation_split=validation_split,
                         early_stopping=early_stopping, patience=patience, seed=seed, device=device,
                         verbose=verbose)
        self.n_layers = n_layers
        self.hidden_dims = hidden_dims
        self.context = context

    def _build(self, n_features: int, length: int) -> nn.Module:
        return MaskedAutoregressiveFlowNet(length * n_features, int(self.n_layers),
                                           [int(h) for h in self.hidden_dims], self._n_context)
