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

import math
from collections.abc import Sequence
from itertools import pairwise
from numbers import Integral
from typing import Any, ClassVar, cast

import numpy as np
import torch
from torch import nn

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.generative._flow_layers import (
    MASKS,
    CouplingFlowNet,
    MaskedAutoregressiveFlowNet,
    coupling_masks,
)
from latentquant.models.generative._torch import TorchGenerator
from latentquant.validation import Constraint, Interval, Options, SequenceOf

__all__ = ["MAF", "NICE", "RealNVP", "previous_window_index"]

CONTEXTS = ("none", "previous_vol")
_EVAL_ROWS = 65_536  # windows per forward pass in log_prob (bounded memory)


def previous_window_index(bounds: np.ndarray, length: int) -> np.ndarray:
    """For each stride-1 window cut from the segments ``bounds``, the index of the window that ends the day before
    it starts (``-1`` for the first ``length`` windows of a segment, which have no full history).

    The windows are numbered as :func:`~latentquant.models.generative._torch.cut_windows` returns them: segment by
    segment, ``bounds[k+1] - bounds[k] - length + 1`` windows each (none for a shorter segment).

    Parameters
    ----------
    bounds : numpy.ndarray
        Segment boundaries ``[0, …, T]``.
    length : int
        Window length.

    Returns
    -------
    numpy.ndarray
        int64 ``(n_windows,)``.

    Examples
    --------
    >>> previous_window_index(np.array([0, 6, 9]), 2).tolist()  # 5 windows, then 2 in the second segment
    [-1, -1, 0, 1, 2, -1, -1]
    """
    out, offset = [], 0
    for a, b in pairwise(np.asarray(bounds, dtype=np.int64)):
        n = int(b - a) - length + 1
        if n <= 0:
            continue
        j = np.arange(n)
        out.append(np.where(j >= length, offset + j - length, -1))
        offset += n
    return np.concatenate(out).astype(np.int64) if out else np.empty(0, dtype=np.int64)


class _FlowGenerator(TorchGenerator):
    """What the three flows share: loss, sampling, ``log_prob``, ``bits_per_dim`` and the optional context."""

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **TorchGenerator._parameter_constraints,
        "n_layers": [Interval(Integral, 1, None)],
        "hidden_dims": [SequenceOf(Interval(Integral, 1, None), min_len=1)],
    }
    context: str = "none"

    # ------------------------------------------------------------------------------------------------ context
    @property
    def _n_context(self) -> int:
        return 0 if self.context == "none" else 1

    def _required_rows(self, n_features: int) -> int:
        extra = (self.length or 2) if self.context != "none" else 0
        return super()._required_rows(n_features) + extra

    def _check_shape(self, n_features: int, length: int) -> None:
        if self.context != "none" and length < 2:
            raise ConfigError(f"{type(self).__name__}: context={self.context!r} needs windows of at least 2 days "
                              f"to measure a volatility, got length {length}; pass a longer length or "
                              "context='none'.")

    def _training_tensors(self, windows: np.ndarray) -> tuple[np.ndarray, ...]:
        if self.context == "none":
            return (windows,)
        name = type(self).__name__
        prev = previous_window_index(self.segment_bounds_, self.length_)
        keep = prev >= 0
        if keep.sum() < self._min_windows:
            raise DataValidationError(
                f"{name}(context={self.context!r}) needs at least {self._min_windows} training windows with "
                f"{self.length_} days of history before them, the data give {int(keep.sum())}; pass a longer "
                "history, a shorter length or context='none'.")
        vol = windows[prev[keep], :, 0].astype(np.float64).std(axis=1, ddof=1) * self.scale_[0]
        self.context_mean_ = float(vol.mean())
        self.context_scale_ = float(vol.std(ddof=1))
        if not self.context_scale_ > 0:
            raise DataValidationError(f"{name}: the previous-window volatility of feature "
                                      f"{self.feature_names_[0]!r} is the same for every training window; "
                                      "use context='none'.")
        ctx = ((vol - self.context_mean_) / self.context_scale_).astype(np.float32)[:, None]
        self.training_context_ = ctx[:, 0].copy()
        return windows[keep], ctx

    def _context(self, n: int, condition: Any, generator: torch.Generator | None) -> torch.Tensor | None:
        """Standardised context ``(n, 1)`` from raw volatilities, or drawn from the training contexts (``None``)."""
        name = type(self).__name__
        if self.context == "none":
            if condition is not None:
                raise ConfigError(f"{name}(context='none') samples unconditionally and takes no condition; pass "
                                  "condition=None, or fit with context='previous_vol'.")
            return None
        if condition is None:
            if generator is None:
                raise ConfigError(f"{name}(context={self.context!r}) needs condition=, the previous "
                                  f"{self.length_}-day volatility of each window.")
            pool = torch.from_numpy(self.training_context_)
            return pool[torch.randint(len(pool), (n,), generator=generator)][:, None]
        try:
            arr = np.asarray(condition, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.asarray([np.nan, np.nan])  # reported as a shape error below
        if arr.ndim == 0 or arr.shape == (1,):
            arr = np.full(n, float(arr.ravel()[0]))
        elif arr.shape in ((n,), (n, 1)):
            arr = arr.reshape(n)
        else:
            raise ConfigError(f"{name}: condition must be a number, or an array of shape (1,), ({n},) or ({n}, 1) "
                              f"with the previous {self.length_}-day volatility of feature "
                              f"{self.feature_names_[0]!r} for each of the {n} windows; got shape {arr.shape}.")
        if not (np.isfinite(arr).all() and (arr >= 0).all()):
            raise DataValidationError(f"{name}: condition holds NaN, infinite or negative volatilities; pass "
                                      "standard deviations >= 0 in the units of the data.")
        return torch.from_numpy(((arr - self.context_mean_) / self.context_scale_).astype(np.float32))[:, None]

    # ------------------------------------------------------------------------------------------------ training
    @property
    def _flow(self) -> Any:
        """The fitted network (a ``CouplingFlowNet`` or ``MaskedAutoregressiveFlowNet``)."""
        return self.network_

    def _loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        x = batch[0].flatten(1)
        nll = -cast(Any, model).log_prob(x, batch[1] if len(batch) > 1 else None).mean()
        return {"loss": nll, "bits_per_dim": nll / (x.shape[1] * math.log(2.0))}

    def _generate(self, n: int, generator: torch.Generator, condition: Any) -> torch.Tensor:
        context = self._context(n, condition, generator)
        z = torch.randn(n, self.length_ * self.n_features_in_, generator=generator)
        return self._flow.inverse(z, context).reshape(n, self.length_, self.n_features_in_)

    # ------------------------------------------------------------------------------------------------ likelihood
    def log_prob(self, windows: Any, condition: Any = None) -> np.ndarray:
        """Log-density of each window in the units of the data (standardisation Jacobian included).

        Parameters
        ----------
        windows : array-like
            ``(n, length_, n_features_in_)`` in the units the model was fitted on.
        condition : array-like, optional
            Conditioned flows only (and required by them): the previous ``length_``-day volatility of feature 0 of
            each window, a number or an array ``(n,)`` / ``(n, 1)``.

        Returns
        -------
        numpy.ndarray
            float64 ``(n,)``.

        Examples
        --------
        >>> from latentquant.models.generative.flows import NICE
        >>> x = np.random.default_rng(0).normal(size=(40, 4, 2))
        >>> model = NICE(epochs=2, n_layers=2, hidden_dims=(8,), verbose=False).fit(x)
        >>> model.log_prob(x[:3]).shape
        (3,)
        """
        x = self._data_windows(windows).flatten(1)
        context = self._context(len(x), condition, None)
        with torch.no_grad():
            parts = [self._flow.log_prob(xi, None if context is None else context[i:i + len(xi)])
                     for i, xi in zip(range(0, len(x), _EVAL_ROWS), x.split(_EVAL_ROWS), strict=True)]
        return torch.cat(parts).double().numpy() - self.log_scale_sum_  # type: ignore[no-any-return]

    def bits_per_dim(self, windows: Any, condition: Any = None) -> np.ndarray:
        """Negative log-density per value in bits, :math:`-\\log_2 p(x) / (L F)`, in the units of the data.

        Parameters
        ----------
        windows : array-like
            ``(n, length_, n_features_in_)``.
        condition : array-like, optional
            As for :meth:`log_prob`.

        Returns
        -------
        numpy.ndarray
            float64 ``(n,)``; it depends on the units (decimal returns have a large density, hence negative bits).

        Examples
        --------
        >>> from latentquant.models.generative.flows import MAF
        >>> x = np.random.default_rng(0).normal(size=(40, 4, 2))
        >>> model = MAF(epochs=2, n_layers=1, hidden_dims=(8,), verbose=False).fit(x)
        >>> bool(np.allclose(model.bits_per_dim(x[:2]), -model.log_prob(x[:2]) / (8 * np.log(2))))
        True
        """
        return -self.log_prob(windows, condition) / (self.length_ * self.n_features_in_ * math.log(2.0))


class _CouplingGenerator(_FlowGenerator):
    """NICE and RealNVP: coupling layers with a ``mask`` hyperparameter."""

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **_FlowGenerator._parameter_constraints,
        "mask": [Options(*MASKS)],
    }
    mask: str

    def _check_shape(self, n_features: int, length: int) -> None:
        super()._check_shape(n_features, length)
        try:
            coupling_masks(length, n_features, self.mask, 2)
        except ConfigError as exc:
            raise ConfigError(f"{type(self).__name__}: {exc}") from None


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
