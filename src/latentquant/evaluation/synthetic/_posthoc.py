"""Validation, set-up and training of the post-hoc networks behind :mod:`latentquant.evaluation.synthetic._scores`
(one stacked module of ``k`` recurrent networks, trained with the shared :class:`~latentquant.training.Trainer`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from latentquant.data.splits import tail_split
from latentquant.evaluation.synthetic._recurrent import StackedLinear, StackedRNN
from latentquant.exceptions import DataValidationError
from latentquant.training.trainer import Trainer, TrainerConfig
from latentquant.validation import Interval, Options, check_arg

Convention = Literal["latentquant", "timegan"]

#: Fewest training windows per set (real, synthetic) and fewest test windows per set the networks need.
MIN_TRAIN_WINDOWS = 16
MIN_TEST_WINDOWS = 4

_CONVENTIONS = ("latentquant", "timegan")
_CELLS = ("gru", "lstm")
_EVAL_CHUNK = 256  # windows per forward pass when scoring: bounds the (L, k, chunk, 3H) buffers of the GRU
# TimeGAN's reference code: steps and batch sizes of its post-hoc networks
_TIMEGAN_DISC_STEPS, _TIMEGAN_DISC_BATCH = 2000, 256
_TIMEGAN_PRED_STEPS, _TIMEGAN_PRED_BATCH = 5000, 128
_DEFAULT_HIDDEN, _DEFAULT_EPOCHS, _DEFAULT_BATCH = 24, 20, 64


# --------------------------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------------------------
def _as_windows(data: Any, name: str) -> np.ndarray:
    """``data`` as a finite float32 array ``(n, L, F)``, or a :class:`DataValidationError` naming the fix."""
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{name} could not be converted to a float array ({exc}); pass windows as a "
                                  "numeric NumPy array shaped (n_windows, length, n_features).") from exc
    if arr.ndim != 3:
        hint = (" (one series: add a feature axis with x[..., None])" if arr.ndim == 2 else "")
        raise DataValidationError(
            f"{name} must be windows shaped (n_windows, length, n_features), got an array of shape {arr.shape}"
            f"{hint}; cut a series into windows with latentquant.data.sliding_windows(frame, length).")
    if 0 in arr.shape:
        raise DataValidationError(f"{name} is empty (shape {arr.shape}); pass at least one window of one step.")
    _check_finite(arr, name)
    return arr.astype(np.float32)


def _check_finite(arr: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        axes = ["draw", "window", "step", "feature"][-arr.ndim:]
        position = ", ".join(f"{axis} {int(i)}" for axis, i in zip(axes, where, strict=True))
        raise DataValidationError(f"{name} has a NaN or infinite value at {position} (value {arr[tuple(where)]}); "
                                  "drop or repair those windows before scoring.")


def _as_draws(data: Any, name: str, single: bool) -> np.ndarray:
    """Synthetic draws as ``(k, n, L, F)``; one set of windows when ``single``."""
    if single:
        return _as_windows(data, name)[None]
    if isinstance(data, np.ndarray | torch.Tensor):
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim != 4:
            raise DataValidationError(
                f"{name} must be draws of windows shaped (n_draws, n_windows, length, n_features), got an array of "
                f"shape {arr.shape}; for one set of windows use the single-draw function (discriminative_score / "
                "predictive_score) or pass [windows].")
        if 0 in arr.shape:
            raise DataValidationError(f"{name} is empty (shape {arr.shape}); pass at least one draw.")
        _check_finite(arr, name)
        return arr.astype(np.float32)
    if not isinstance(data, Sequence) or isinstance(data, str | bytes) or len(data) == 0:
        raise DataValidationError(f"{name} must be a non-empty list of window arrays (n_windows, length, "
                                  f"n_features) or an array (n_draws, n_windows, length, n_features), got "
                                  f"{type(data).__name__}.")
    draws = [_as_windows(d, f"{name}[{i}]") for i, d in enumerate(data)]
    for i, d in enumerate(draws[1:], start=1):
        if d.shape != draws[0].shape:
            raise DataValidationError(
                f"{name}[{i}] has shape {d.shape} but {name}[0] has {draws[0].shape}; every draw must hold the same "
                "number of windows of the same length and features (they are trained as one batched model).")
    return np.stack(draws)


def _check_pair(real: np.ndarray, synthetic: np.ndarray, name: str) -> None:
    if synthetic.shape[-2:] != real.shape[-2:]:
        (ls, fs), (lr, fr) = synthetic.shape[-2:], real.shape[-2:]
        raise DataValidationError(
            f"{name} windows have length {ls} and {fs} feature(s) but the real windows have length {lr} and {fr} "
            "feature(s); generate synthetic windows of the same length and features as the real ones.")


def _required_windows(train_fraction: float, gap: int) -> int:
    """The fewest windows a set needs for ``MIN_TRAIN_WINDOWS`` training and ``MIN_TEST_WINDOWS`` test windows."""
    n = MIN_TRAIN_WINDOWS + MIN_TEST_WINDOWS + gap
    while True:
        n_test = max(1, math.floor(n * (1.0 - train_fraction)))
        if n_test >= MIN_TEST_WINDOWS and n - n_test - gap >= MIN_TRAIN_WINDOWS:
            return n
        n += 1


def _check_enough(n: int, name: str, train_fraction: float, gap: int, what: str) -> None:
    needed = _required_windows(train_fraction, gap)
    if n < needed:
        raise DataValidationError(
            f"{name} has {n} windows but the {what} needs at least {needed} ({MIN_TRAIN_WINDOWS} training and "
            f"{MIN_TEST_WINDOWS} test windows with train_fraction={train_fraction:g} and a gap of {gap} windows); "
            "pass more windows, a smaller gap, or shorter windows (more of them fit in the data).")


def _check_count(n: int, name: str, what: str) -> None:
    if n < MIN_TRAIN_WINDOWS:
        raise DataValidationError(f"{name} has {n} windows but the {what} needs at least {MIN_TRAIN_WINDOWS}; "
                                  "pass more windows.")


@dataclass(frozen=True)
class _Setup:
    """The resolved hyperparameters of one evaluation."""

    convention: str
    cell: str
    hidden: int
    layers: int
    epochs: int | None
    batch_size: int
    lr: float
    train_fraction: float
    gap: int
    standardize: bool
    seed: int


def _setup(*, convention: Any, cell: Any, hidden: Any, layers: Any, epochs: Any, batch_size: Any, lr: Any,
           train_fraction: Any, gap: Any, standardize: Any, seed: Any, n_features: int, length: int,
           timegan_batch: int) -> _Setup:
    check_arg("convention", convention, Options(*_CONVENTIONS))
    check_arg("cell", cell, Options(*_CELLS))
    check_arg("hidden", hidden, Interval(Integral, 1, None), None)
    check_arg("layers", layers, Interval(Integral, 1, None))
    check_arg("epochs", epochs, Interval(Integral, 1, None), None)
    check_arg("batch_size", batch_size, Interval(Integral, 1, None), None)
    check_arg("lr", lr, Interval(Real, 0, None, closed="neither"))
    check_arg("train_fraction", train_fraction, Interval(Real, 0, 1, closed="neither"))
    check_arg("gap", gap, Interval(Integral, 0, None), None)
    check_arg("standardize", standardize, "boolean", None)
    check_arg("seed", seed, Interval(Integral, 0, None))
    timegan = convention == "timegan"
    return _Setup(
        convention=str(convention), cell=str(cell),
        hidden=int(hidden) if hidden is not None else (max(1, n_features // 2) if timegan else _DEFAULT_HIDDEN),
        layers=int(layers), epochs=int(epochs) if epochs is not None else (None if timegan else _DEFAULT_EPOCHS),
        batch_size=int(batch_size) if batch_size is not None else (timegan_batch if timegan else _DEFAULT_BATCH),
        lr=float(lr), train_fraction=float(train_fraction),
        gap=int(gap) if gap is not None else (0 if timegan else length - 1),
        standardize=bool(standardize) if standardize is not None else not timegan, seed=int(seed))


def _epochs_for(setup: _Setup, n_train: int, steps: int) -> int:
    """``setup.epochs``, or (TimeGAN) the epochs that make about ``steps`` optimiser steps."""
    if setup.epochs is not None:
        return setup.epochs
    per_epoch = math.ceil(n_train / setup.batch_size)
    return max(1, round(steps / per_epoch))


def _split(n: int, setup: _Setup, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and test positions: time-blocked with a gap, or (TimeGAN) a random split."""
    train, test = tail_split(n, 1.0 - setup.train_fraction, gap=setup.gap)
    if setup.convention == "timegan":
        order = rng.permutation(n)
        return np.sort(order[:train.size]), np.sort(order[train.size:])
    return train, test


def _standardizer(real_train: np.ndarray, on: bool) -> Callable[[np.ndarray], np.ndarray]:
    if not on:
        return lambda a: a
    flat = real_train.reshape(-1, real_train.shape[-1]).astype(np.float64)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return lambda a: ((a - mean) / std).astype(np.float32)


# --------------------------------------------------------------------------------------------------------------------
# networks and training
# --------------------------------------------------------------------------------------------------------------------
class _PostHocNet(nn.Module):
    """``k`` stacked GRU/LSTM networks with a linear head: on the final state (``per_step=False``) or on every step."""

    def __init__(self, k: int, n_inputs: int, n_outputs: int, setup: _Setup, *, per_step: bool,
                 squash: bool) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(setup.seed)
        self.rnn = StackedRNN(k, n_inputs, setup.hidden, setup.layers, generator, setup.cell)
        self.head = StackedLinear(k, setup.hidden, n_outputs, generator)
        self.per_step, self.squash = per_step, squash

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (L, k, B, F)`` → ``(k, B, out)`` (final state) or ``(L, k, B, out)`` (every step)."""
        out = self.head(self.rnn(x, last_only=not self.per_step))
        return torch.sigmoid(out) if self.squash else out


def _time_major(batch: torch.Tensor) -> torch.Tensor:
    """Rows-first ``(B, k, L, F)`` → time-major ``(L, k, B, F)``."""
    return batch.permute(2, 1, 0, 3).contiguous()


def _train(model: nn.Module, loss_fn: Callable[[nn.Module, tuple[torch.Tensor, ...]], dict[str, torch.Tensor]],
           data: tuple[torch.Tensor, ...], setup: _Setup, epochs: int) -> None:
    config = TrainerConfig(epochs=epochs, batch_size=setup.batch_size, lr=setup.lr, grad_clip=None,
                           validation_split=0.0, early_stopping=False, shuffle=True, seed=setup.seed, device="cpu",
                           verbose=False)
    Trainer(config).fit(model, loss_fn, data)


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor, k: int) -> torch.Tensor:
    """Outputs of the ``k`` networks on windows ``x``: ``(n, L, F)`` shared by all, or ``(k, n, L, F)`` per network.

    Returns ``(k, n, ...)`` outputs, computed in chunks of windows.
    """
    model.eval()
    n = x.shape[-3]
    parts = []
    for start in range(0, n, _EVAL_CHUNK):
        chunk = x[..., start:start + _EVAL_CHUNK, :, :]
        seq = chunk.unsqueeze(0).expand(k, *chunk.shape) if chunk.ndim == 3 else chunk
        out = model(seq.permute(2, 0, 1, 3))  # (k, b, L, F) → (L, k, b, F)
        parts.append(out if out.ndim == 3 else out.permute(1, 2, 0, 3))  # per-step outputs to (k, b, L, out)
    return torch.cat(parts, dim=1)


# --------------------------------------------------------------------------------------------------------------------
# discriminative score
# --------------------------------------------------------------------------------------------------------------------
