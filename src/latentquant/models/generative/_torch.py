"""The base of the neural generators (TimeVAE, flows, diffusion): windows of the fitted series, standardised with the
training rows' statistics, a network trained by the shared :class:`~latentquant.training.Trainer`, samples mapped back
to the data's units.

A subclass implements three methods and declares its own hyperparameters (next to the shared ones, in its
``__init__`` signature, as scikit-learn requires):

* ``_build(n_features, length) -> nn.Module`` — the network (a ``@register_model`` class, so that it saves and loads);
* ``_loss(model, batch) -> dict`` — batch-mean loss terms, ``{"loss": ..., ...}`` (every term lands in ``history_``);
* ``_generate(n, generator, condition) -> torch.Tensor`` — ``n`` standardised windows ``(n, L, F)``.

It may override ``_check_shape(n_features, length)`` (architecture limits, e.g. an even length),
``_training_tensors(windows)`` (extra row-aligned tensors such as a conditioning context) and
``_after_training(tensors)`` (statistics of the trained network on its training arrays).
"""

from __future__ import annotations

from abc import abstractmethod
from itertools import pairwise
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.generative._base import BaseGenerator
from latentquant.training import Trainer
from latentquant.validation import Constraint, Interval

__all__ = ["TorchGenerator", "cut_windows"]


def cut_windows(data: np.ndarray, bounds: np.ndarray, length: int) -> np.ndarray:
    """Every stride-1 window of ``length`` rows inside each segment ``data[bounds[i]:bounds[i+1]]``.

    Parameters
    ----------
    data : numpy.ndarray
        ``(T, F)`` rows.
    bounds : numpy.ndarray
        Segment boundaries ``[0, …, T]``.
    length : int
        Window length.

    Returns
    -------
    numpy.ndarray
        ``(n, length, F)``; windows never cross a segment boundary.

    Examples
    --------
    >>> cut_windows(np.arange(6.0)[:, None], np.array([0, 3, 6]), 2)[:, :, 0].tolist()
    [[0.0, 1.0], [1.0, 2.0], [3.0, 4.0], [4.0, 5.0]]
    """
    pieces = []
    for a, b in pairwise(bounds):
        seg = data[a:b]
        if len(seg) >= length:
            pieces.append(np.lib.stride_tricks.sliding_window_view(seg, length, axis=0).transpose(0, 2, 1))
    if not pieces:
        return np.empty((0, length, data.shape[1]))
    return np.concatenate(pieces)


class TorchGenerator(BaseGenerator):
    """Base of the neural generators (see the module docstring); not a generator itself.

    Parameters
    ----------
    length : int, optional
        Window length the network is trained on and samples (default: the fitted windows' length).
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
        Seed of the initial weights, the training batches and the sampling stream.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` for training; the fitted network lives on the CPU.
    verbose : bool or None
        Training progress (``None``: a progress bar on a terminal).

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network (standardised windows).
    mean_, scale_ : numpy.ndarray
        Per-feature mean and standard deviation (ddof 1) of the training rows.
    history_ : History
        Every loss term, per epoch (``train_*``, ``val_*``).
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **BaseGenerator._parameter_constraints,
        "epochs": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 1, None)],
        "device": [str],
        "verbose": ["boolean", None],
    }
    #: fewest training windows a fit needs
    _min_windows: ClassVar[int] = 8

    def __init__(self, length: int | None = None, *, epochs: int = 100, batch_size: int = 128, lr: float = 1e-3,
                 validation_split: float = 0.0, early_stopping: bool = False, patience: int = 20,
                 seed: int | None = 0, device: str = "auto", verbose: bool | None = None) -> None:
        super().__init__(length, seed=seed)
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.patience = patience
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------------------------------------ subclasses
    @abstractmethod
    def _build(self, n_features: int, length: int) -> nn.Module:
        """The network for windows ``(length, n_features)``."""

    @abstractmethod
    def _loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        """Batch-mean loss terms of standardised windows ``batch[0]`` ``(b, L, F)``."""

    @abstractmethod
    def _generate(self, n: int, generator: torch.Generator, condition: Any) -> torch.Tensor:
        """``n`` standardised windows ``(n, L, F)`` drawn with ``generator``."""

    def _check_shape(self, n_features: int, length: int) -> None:
        """Raise :class:`ConfigError` when the architecture cannot take windows of this shape."""

    def _training_tensors(self, windows: np.ndarray) -> tuple[np.ndarray, ...]:
        """Row-aligned training arrays (default: the standardised windows alone)."""
        return (windows,)

    def _after_training(self, tensors: tuple[np.ndarray, ...]) -> None:
        """Learn what the trained ``network_`` implies about the training arrays (default: nothing)."""

    # ------------------------------------------------------------------------------------------------ shared
    def _required_rows(self, n_features: int) -> int:
        return (self.length or 2) + self._min_windows - 1

    def _standardise(self, windows: np.ndarray) -> np.ndarray:
        return (windows - self.mean_) / self.scale_

    def _fit(self, data: np.ndarray, bounds: np.ndarray) -> None:
        name = type(self).__name__
        self.mean_ = data.mean(axis=0)
        self.scale_ = data.std(axis=0, ddof=1)
        flat = [self.feature_names_[j] for j in np.flatnonzero(~(self.scale_ > 0))]
        if flat:
            raise DataValidationError(f"{name}: feature(s) {flat} are constant in the training data; drop them.")
        self._check_shape(data.shape[1], self.length_)
        windows = cut_windows(self._standardise(data), bounds, self.length_).astype(np.float32)
        if len(windows) < self._min_windows:
            raise DataValidationError(f"{name} needs at least {self._min_windows} training windows of {self.length_} "
                                      f"days, the data give {len(windows)}; pass a longer history or a shorter "
                                      "length.")
        with torch.random.fork_rng(enabled=True):
            torch.manual_seed(0 if self.seed is None else int(self.seed))
            network = self._build(data.shape[1], self.length_)
        trainer = Trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                          validation_split=self.validation_split, early_stopping=self.early_stopping,
                          patience=self.patience, seed=self.seed, device=self.device, verbose=self.verbose)
        tensors = self._training_tensors(windows)
        self.history_ = trainer.fit(network, self._loss, tensors)
        self.network_ = network.cpu().eval()
        self._after_training(tensors)

    def _torch_generator(self, rng: np.random.Generator) -> torch.Generator:
        return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))

    def _sample(self, n: int, length: int, rng: np.random.Generator, condition: Any) -> np.ndarray:
        if length != self.length_:
            raise ConfigError(f"{type(self).__name__} samples windows of {self.length_} days, the length it was "
                              f"trained on; refit with length={length}.")
        with torch.no_grad():
            z = self._generate(n, self._torch_generator(rng), condition)
        out = z.detach().cpu().double().numpy()
        return out * self.scale_ + self.mean_

    def _data_windows(self, windows: Any, name: str = "windows") -> torch.Tensor:
        """User windows in data units → standardised float32 tensor ``(n, L, F)``, checked against the fit."""
        self._check_fitted()
        arr = np.asarray(windows, dtype=np.float64)
        cls = type(self).__name__
        if arr.ndim != 3 or arr.shape[1:] != (self.length_, self.n_features_in_):
            raise DataValidationError(f"{cls}: {name} must be shaped (n, {self.length_}, {self.n_features_in_}) like "
                                      f"the training windows, got {arr.shape}.")
        if not np.isfinite(arr).all():
            raise DataValidationError(f"{cls}: {name} hold NaN/inf values; drop those windows.")
        return torch.from_numpy(self._standardise(arr).astype(np.float32))

    @property
    def log_scale_sum_(self) -> float:
        """:math:`L\\sum_f \\log\\sigma_f`: the log-Jacobian of standardising one window, which turns densities of
        standardised windows into densities in the data's units."""
        return float(self.length_ * np.log(self.scale_).sum())
