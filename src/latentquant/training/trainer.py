"""One lean trainer for every torch model in latentquant.

Design choices, and why:

* **In-memory batching.** Market data sets fit in memory. Batches are taken by indexing whole tensors with a random
  permutation (``X[idx]``): no ``Dataset``/``DataLoader`` machinery, no per-sample Python calls, no collation.
* **Time-ordered validation.** The validation set is the *final* block of rows (optionally after a ``gap``), never a
  shuffled subset: a shuffled split of time series lets the model see the future.
* **Reproducible.** Training runs inside :func:`torch.random.fork_rng` seeded with ``seed``: same initial weights and
  seed give identical losses and weights on CPU, and the caller's global RNG state is left untouched.
* **Fails loudly.** A NaN/inf loss raises :class:`~latentquant.exceptions.TrainingError` naming the epoch and batch.
* **Resumable.** With ``checkpoint_dir`` the full state (weights, optimiser, RNG, history, early-stopping counters) is
  saved every ``checkpoint_every`` epochs and ``resume=True`` continues an interrupted run with identical results.
* **Several objectives.** A list of :class:`Player` objectives in place of one loss function trains each over its
  own parameters with its own Adam and schedule, in turn on the same batches (a GAN's critic and generator): the
  same loop, seeds, NaN guard, progress and checkpoints.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from latentquant.base import register_codec
from latentquant.data.splits import tail_split
from latentquant.exceptions import CheckpointError, ConfigError, DataValidationError, TrainingError
from latentquant.training._support import (
    _STATE_FILE,
    Player,
    _load_state,
    _Progress,
    _save_state,
    player_slots,
    resolve_device,
    to_tensor,
)
from latentquant.training.early_stopping import EarlyStopping

__all__ = ["History", "LossFn", "Player", "Trainer", "TrainerConfig", "resolve_device", "to_tensor"]

#: ``loss_fn(model, batch) -> {"loss": scalar, other_term: scalar, ...}``; every value is a mean over the batch.
LossFn = Callable[[nn.Module, tuple[torch.Tensor, ...]], Mapping[str, torch.Tensor]]


class History(dict[str, list[float]]):
    """Per-epoch record of every loss term: ``train_loss``, ``val_loss``, ``train_<term>``, ``val_<term>``, ``lr``.

    A plain ``dict`` of lists (so ``history['train_loss']`` works) with a few extra attributes.

    Attributes
    ----------
    best_epoch : int
        Zero-based epoch with the lowest monitored loss (validation loss, else training loss).
    restored_best : bool
        Whether the weights of ``best_epoch`` were restored (otherwise the model holds the last epoch's weights).
    stopped_early : bool
        Whether early stopping ended training before ``epochs``.
    seconds : float
        Wall time of the training loop.

    Examples
    --------
    >>> import numpy as np, torch
    >>> X, y = torch.randn(64, 2), torch.randn(64, 1)
    >>> def mse(model, batch):
    ...     return {"loss": ((model(batch[0]) - batch[1]) ** 2).mean()}
    >>> history = Trainer(epochs=4, early_stopping=False, verbose=False).fit(torch.nn.Linear(2, 1), mse, (X, y))
    >>> sorted(history), len(history["val_loss"])
    (['lr', 'train_loss', 'val_loss'], 4)
    >>> history.best_epoch == int(np.argmin(history["val_loss"])), history.stopped_early
    (True, False)
    """

    best_epoch: int = -1
    restored_best: bool = False
    stopped_early: bool = False
    seconds: float = 0.0

    def append(self, key: str, value: float) -> None:
        self.setdefault(key, []).append(float(value))

    def to_dict(self) -> dict[str, Any]:
        """The loss curves and attributes as plain Python values (the inverse of :meth:`from_dict`)."""
        return {
            "history": {k: list(v) for k, v in self.items()},
            "best_epoch": self.best_epoch,
            "restored_best": self.restored_best,
            "stopped_early": self.stopped_early,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a history written by :meth:`to_dict`.

        Examples
        --------
        >>> h = History({"train_loss": [2.0, 1.5]})
        >>> h.best_epoch = 1
        >>> again = History.from_dict(h.to_dict())
        >>> again["train_loss"], again.best_epoch
        ([2.0, 1.5], 1)
        """
        history = cls({str(k): [float(v) for v in values] for k, values in data["history"].items()})
        history.best_epoch = int(data["best_epoch"])
        history.restored_best = bool(data["restored_best"])
        history.stopped_early = bool(data["stopped_early"])
        history.seconds = float(data["seconds"])
        return history


# a fitted estimator holding a History saves it as its loss curves and attributes (latentquant.base persistence)
register_codec("History", History, lambda h, enc: enc.encode(h.to_dict()),
               lambda data, dec: History.from_dict(dec.decode(data)))


@dataclass
class TrainerConfig:
    """Hyperparameters of :class:`Trainer`.

    Parameters
    ----------
    epochs : int
        Maximum number of passes over the training rows.
    batch_size : int
        Rows per optimisation step.
    lr, weight_decay : float
        Adam learning rate and L2 penalty.
    grad_clip : float or None
        Max global gradient norm (``None`` disables clipping).
    validation_split : float
        Share of rows, taken from the *end*, used for validation when no explicit validation data are given.
    gap : int
        Rows dropped between training and validation rows.
    early_stopping : bool
        Stop when the monitored loss (validation, else training) has not improved by ``min_delta`` for ``patience``
        epochs; with ``restore_best`` the best weights are restored.
    patience : int
        Epochs without improvement before stopping.
    min_delta : float
        Smallest decrease of the monitored loss that counts as an improvement.
    restore_best : bool
        Restore the weights of the best epoch when early stopping is on.
    shuffle : bool
        Shuffle the order of *training* rows between epochs (the validation block stays at the end).
    seed : int or None
        Seed of the training RNG (batch order, dropout, sampling noise). ``None``: not seeded.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    verbose : bool or None
        ``None``: progress bar on a terminal, silent otherwise. ``True``: progress bar or one line per epoch
        block when not on a terminal. ``False``: silent.
    checkpoint_dir : str or None
        Directory for the resumable training state.
    checkpoint_every : int
        Epochs between saves of the training state.
    eval_batch_size : int
        Rows per forward pass when evaluating (validation loss, :meth:`Trainer.evaluate`).
    extra : dict
        Free-form settings of the caller, kept with the configuration (the trainer does not read them).

    Examples
    --------
    >>> config = TrainerConfig(epochs=20, patience=3)
    >>> Trainer(config, lr=1e-2).config.lr, config.lr  # keyword arguments override a copy
    (0.01, 0.001)
    >>> TrainerConfig(epochs=0).validate()
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: epochs must be an integer >= 1, got 0.
    """

    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = 10.0
    validation_split: float = 0.2
    gap: int = 0
    early_stopping: bool = True
    patience: int = 10
    min_delta: float = 0.0
    restore_best: bool = True
    shuffle: bool = True
    seed: int | None = 0
    device: str = "auto"
    verbose: bool | None = None
    checkpoint_dir: str | None = None
    checkpoint_every: int = 1
    eval_batch_size: int = 8192
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "an integer >= 1"),
            ("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1, "an integer >= 1"),
            ("lr", isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr), "a positive float"),
            ("weight_decay", self.weight_decay >= 0, "a float >= 0"),
            ("grad_clip", self.grad_clip is None or self.grad_clip > 0, "None or a positive float"),
            ("validation_split", isinstance(self.validation_split, (int, float)) and 0 <= self.validation_split < 1,
             "a float in [0, 1)"),
            ("eval_batch_size", isinstance(self.eval_batch_size, int) and self.eval_batch_size >= 1,
             "an integer >= 1"),
            ("gap", isinstance(self.gap, int) and self.gap >= 0, "an integer >= 0"),
            ("patience", isinstance(self.patience, int) and self.patience >= 1, "an integer >= 1"),
            ("checkpoint_every", isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 1,
             "an integer >= 1"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ConfigError(f"{name} must be {allowed}, got {getattr(self, name)!r}.")


class Trainer:
    """Fit any ``nn.Module`` given a loss function returning a dict of batch-mean loss terms.

    Parameters
    ----------
    config : TrainerConfig, optional
        Hyperparameters; keyword arguments override its fields (``Trainer(epochs=20, lr=1e-3)``).
    lr_schedule : callable, optional
        ``lr_schedule(optimizer) -> scheduler``; stepped once per epoch (``ReduceLROnPlateau`` gets the monitored
        loss).
    on_epoch_start : callable, optional
        ``on_epoch_start(epoch)`` is called with the 0-based epoch number before each training epoch (also for the
        first epoch after a resume), e.g. to anneal a loss weight; validation and evaluation see the model in eval
        mode, so a schedule can apply to training batches only.
    **overrides
        Fields of :class:`TrainerConfig`; an unknown name is a :class:`~latentquant.exceptions.ConfigError`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(3, 1)
    >>> X, y = torch.randn(200, 3), torch.randn(200, 1)
    >>> def mse(m, batch):
    ...     x, t = batch
    ...     return {"loss": ((m(x) - t) ** 2).mean()}
    >>> history = Trainer(epochs=5, verbose=False).fit(model, mse, (X, y))
    >>> len(history["train_loss"])
    5
    """

    def __init__(self, config: TrainerConfig | None = None,
                 lr_schedule: Callable[[torch.optim.Optimizer], Any] | None = None,
                 on_epoch_start: Callable[[int], None] | None = None, **overrides: Any) -> None:
        cfg = copy.deepcopy(config) if config is not None else TrainerConfig()
        unknown = sorted(set(overrides) - set(asdict(cfg)))
        if unknown:
            raise ConfigError(
                f"Unknown Trainer option(s) {unknown}; valid options are {sorted(asdict(cfg))}."
            )
        for key, value in overrides.items():
            setattr(cfg, key, value)
        cfg.validate()
        self.config = cfg
        self.lr_schedule = lr_schedule
        self.on_epoch_start = on_epoch_start

    # ------------------------------------------------------------------ public API
    def fit(
        self,
        model: nn.Module,
        loss_fn: LossFn | Sequence[Player],
        train: Sequence[Any] | Any,
        val: Sequence[Any] | Any | None = None,
        *,
        resume: bool = False,
    ) -> History:
        """Train ``model`` in place and return its :class:`History`.

        Parameters
        ----------
        model : nn.Module
            Moved to the configured device.
        loss_fn : callable or list of Player
            ``loss_fn(model, batch_tuple) -> {"loss": ..., ...}``; or several :class:`Player` objectives, each with
            its own parameters and optimiser, updated in turn (adversarial training; no validation, early stopping
            or LR schedule then).
        train : array-like or tuple of array-likes
            Row-aligned tensors/arrays (e.g. ``(X,)`` or ``(X, y)``), rows in time order.
        val : same as ``train``, optional
            Explicit validation data. When absent, the last ``validation_split`` share of ``train`` (after ``gap``
            dropped rows) is held out.
        resume : bool
            Continue from ``checkpoint_dir``'s saved state if present.
        """
        cfg = self.config
        device = resolve_device(cfg.device)
        train_t = self._as_tensors(train, "train", device)
        if val is None and cfg.validation_split > 0:
            tr_idx, va_idx = tail_split(train_t[0].shape[0], cfg.validation_split, gap=cfg.gap)
            val_t: tuple[torch.Tensor, ...] | None = tuple(t[va_idx] for t in train_t)
            train_t = tuple(t[tr_idx] for t in train_t)
        else:
            val_t = self._as_tensors(val, "val", device) if val is not None else None
        model.to(device)

        fork_devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork_devices, enabled=cfg.seed is not None):
            if cfg.seed is not None:
                torch.manual_seed(cfg.seed)
            return self._run(model, loss_fn, train_t, val_t, device, resume)

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _as_tensors(data: Any, name: str, device: torch.device) -> tuple[torch.Tensor, ...]:
        parts = tuple(data) if isinstance(data, (tuple, list)) else (data,)
        if not parts:
            raise DataValidationError(f"{name} data are empty; pass at least one array.")
        tensors = tuple(to_tensor(p, name=name if len(parts) == 1 else f"{name}[{i}]", device=device)
                        for i, p in enumerate(parts))
        n = tensors[0].shape[0]
        for i, t in enumerate(tensors[1:], start=1):
            if t.shape[0] != n:
                raise DataValidationError(
                    f"{name}[{i}] has {t.shape[0]} rows but {name}[0] has {n}; all arrays must be row-aligned."
                )
        return tensors

    def _run(self, model: nn.Module, loss_fn: LossFn | Sequence[Player], train_t: tuple[torch.Tensor, ...],
             val_t: tuple[torch.Tensor, ...] | None, device: torch.device, resume: bool) -> History:
        cfg = self.config
        slots = player_slots(model, loss_fn,
                             blocked=val_t is not None or cfg.early_stopping or self.lr_schedule is not None)
        single = len(slots) == 1 and not slots[0][0].name
        optimizers = []
        for player, params in slots:
            # the fused kernel updates all parameters in one call: ~25% less time per step for small networks
            fused = device.type in ("cpu", "cuda") and all(p.dtype in (torch.float32, torch.float64) for p in params)
            lr = cfg.lr if player.lr is None else player.lr
            optimizers.append(torch.optim.Adam(params, lr=lr, betas=player.betas, weight_decay=cfg.weight_decay,
                                               fused=fused))
        optimizer = optimizers[0]
        scheduler = self.lr_schedule(optimizer) if self.lr_schedule is not None else None
        generator = torch.Generator()
        if cfg.seed is not None:
            generator.manual_seed(cfg.seed)
        else:
            generator.seed()
        history = History()
        stopper = EarlyStopping(cfg.patience, cfg.min_delta, keep_best=cfg.restore_best and cfg.early_stopping)
        start_epoch = 0
        stopped = False

        ckpt_dir = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
        if resume and ckpt_dir is not None and (ckpt_dir / _STATE_FILE).exists():
            state = _load_state(ckpt_dir / _STATE_FILE)
            try:
                model.load_state_dict(state["model"])
                saved = state["optimizers"] if "optimizers" in state else [state["optimizer"]]
                if len(saved) != len(optimizers):
                    raise ValueError(f"{len(saved)} saved optimiser states for {len(optimizers)} objectives")
                for opt, opt_state in zip(optimizers, saved, strict=True):
                    opt.load_state_dict(opt_state)
            except (RuntimeError, ValueError, KeyError) as exc:
                raise CheckpointError(
                    f"The training state in {ckpt_dir} does not match this model/optimizer ({exc}); "
                    "delete the directory or pass resume=False."
                ) from exc
            if scheduler is not None and state.get("scheduler") is not None:
                scheduler.load_state_dict(state["scheduler"])
            for k, v in state["history"].items():
                history[k] = list(v)
            stopper.load_state_dict(state["stopper"])
            start_epoch = int(state["epoch"]) + 1
            torch.set_rng_state(state["rng"])
            if device.type == "cuda" and state.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(state["cuda_rng"], device)
            generator.set_state(state["generator"])
            if state.get("stopped"):
                start_epoch = cfg.epochs
                stopped = True

        n_train = train_t[0].shape[0]
        progress = _Progress(cfg.epochs, cfg.verbose, f"training {type(model).__name__}")
        t0 = time.perf_counter()
        try:
            for epoch in range(start_epoch, cfg.epochs):
                if self.on_epoch_start is not None:
                    self.on_epoch_start(epoch)
                model.train()
                sums: list[dict[str, torch.Tensor]] = [{} for _ in slots]
                rows = [0.0 for _ in slots]
                order = torch.randperm(n_train, generator=generator) if cfg.shuffle else torch.arange(n_train)
                order = order.to(device)
                for b, start in enumerate(range(0, n_train, cfg.batch_size)):
                    idx = order[start:start + cfg.batch_size]
                    batch = tuple(t[idx] for t in train_t)
                    for i, ((player, params), opt) in enumerate(zip(slots, optimizers, strict=True)):
                        if b % player.every:
                            continue
                        terms = player.loss_fn(model, batch)
                        loss = terms["loss"]
                        if not bool(torch.isfinite(loss)):
                            who = f" of {player.name!r}" if player.name else ""
                            raise TrainingError(
                                f"Training diverged: the loss{who} is {loss.item()} at epoch {epoch + 1}, batch "
                                f"{b + 1}. Lower the learning rate (lr={opt.param_groups[0]['lr']}), standardise "
                                "the inputs, or set grad_clip."
                            )
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        if cfg.grad_clip is not None:
                            nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                        opt.step()
                        w = float(idx.shape[0])
                        rows[i] += w
                        for k, v in terms.items():
                            sums[i][k] = sums[i].get(k, 0.0) + v.detach() * w
                for (player, _), player_sums, n_rows in zip(slots, sums, rows, strict=True):
                    prefix = f"{player.name}_" if player.name else ""
                    for k, v in player_sums.items():
                        history.append(f"train_{prefix}{k}", float(v) / n_rows)
                if val_t is not None:
                    for k, v in self.evaluate(model, slots[0][0].loss_fn, val_t).items():
                        history.append(f"val_{k}", v)
                history.append("lr", optimizer.param_groups[0]["lr"])

                if not single:
                    monitored = history[f"train_{slots[0][0].name}_loss"][-1]
                elif val_t is not None:
                    monitored = history["val_loss"][-1]
                elif cfg.early_stopping:
                    # the epoch's running mean mixes several weight states; score the end-of-epoch weights instead
                    monitored = self.evaluate(model, slots[0][0].loss_fn, train_t)["loss"]
                else:
                    monitored = history["train_loss"][-1]
                should_stop = stopper.step(monitored, model)
                if scheduler is not None:
                    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                        scheduler.step(monitored)
                    else:
                        scheduler.step()
                stopped = cfg.early_stopping and should_stop
                msg = (f"train {history['train_loss'][-1]:.4g}" if single else "  ".join(
                    f"{p.name} {history[f'train_{p.name}_loss'][-1]:.4g}" for p, _ in slots))
                if val_t is not None:
                    msg += f"  val {history['val_loss'][-1]:.4g}"
                progress.update(epoch, msg)
                if ckpt_dir is not None and ((epoch + 1) % cfg.checkpoint_every == 0 or stopped
                                             or epoch + 1 == cfg.epochs):
                    _save_state(ckpt_dir, {
                        "model": model.state_dict(),
                        **({"optimizer": optimizer.state_dict()} if single
                           else {"optimizers": [opt.state_dict() for opt in optimizers]}),
                        "scheduler": scheduler.state_dict() if scheduler is not None else None,
                        "history": {k: list(v) for k, v in history.items()},
                        "stopper": stopper.state_dict(), "epoch": epoch, "stopped": stopped,
                        "rng": torch.get_rng_state(), "generator": generator.get_state(),
                        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                    })
                if stopped:
                    break
        finally:
            progress.close()
        history.restored_best = stopper.restore(model)
        history.best_epoch = stopper.best_epoch
        history.stopped_early = stopped
        history.seconds = time.perf_counter() - t0
        model.eval()
        return history

    @torch.no_grad()
    def evaluate(self, model: nn.Module, loss_fn: LossFn, data: tuple[torch.Tensor, ...]) -> dict[str, float]:
        """Row-weighted mean of each loss term over ``data``, in eval mode and without gradients."""
        was_training = model.training
        model.eval()
        n = data[0].shape[0]
        sums: dict[str, float] = {}
        for start in range(0, n, self.config.eval_batch_size):
            batch = tuple(t[start:start + self.config.eval_batch_size] for t in data)
            w = batch[0].shape[0]
            for k, v in loss_fn(model, batch).items():
                sums[k] = sums.get(k, 0.0) + float(v) * w
        model.train(was_training)
        return {k: v / n for k, v in sums.items()}
