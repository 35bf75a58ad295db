"""Helpers around :class:`~latentquant.training.trainer.Trainer`: input checks, progress display, saved state.

:func:`resolve_device` turns ``"auto"``/``"cpu"``/``"cuda"`` into a :class:`torch.device`, :func:`to_tensor` converts
array-likes into finite float32 tensors with clear errors, ``_Progress`` shows the per-epoch progress bar (or plain
lines), and ``_save_state``/``_load_state`` write and read the resumable training state file (``_STATE_FILE``).
They are re-exported by :mod:`latentquant.training.trainer`, which is where to import them from.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentquant.exceptions import CheckpointError, ConfigError, DataValidationError

__all__ = ["Player", "resolve_device", "to_tensor"]

_STATE_FILE = "trainer_state.pt"


@dataclass(frozen=True)
class Player:
    """One objective of a fit with several (adversarial training: a critic and a generator), each with its own
    parameters and optimiser, updated in turn on the same batches.

    :meth:`Trainer.fit <latentquant.training.trainer.Trainer.fit>` takes a list of players in place of one loss
    function. On batch ``b`` every player with ``b % every == 0`` computes its loss, back-propagates and steps its
    own Adam over its own parameters (clipped at ``grad_clip``), in the order given. History keys are
    ``train_<name>_<term>``.

    Parameters
    ----------
    name : str
        A short name (``"critic"``, ``"generator"``): the history keys' prefix.
    loss_fn : callable
        ``loss_fn(model, batch) -> {"loss": ..., ...}``, batch means (see ``LossFn``).
    parameters : callable
        ``parameters(model)`` → the parameters this player updates (e.g. ``lambda m: m.critic.parameters()``);
        players may not share one.
    every : int
        Update on every ``every``-th batch (the generator of a WGAN: 5, after the critic's 5 updates).
    lr : float, optional
        Adam learning rate (default: the trainer's ``lr``).
    betas : tuple of float
        Adam's ``(beta1, beta2)`` (WGAN-GP: ``(0.0, 0.9)``).

    Examples
    --------
    >>> from latentquant.training import Trainer
    >>> game = nn.ModuleDict({"gen": nn.Linear(1, 1), "critic": nn.Linear(1, 1)})
    >>> def critic_loss(m, batch):
    ...     fake = m["gen"](torch.randn_like(batch[0])).detach()
    ...     return {"loss": m["critic"](fake).mean() - m["critic"](batch[0]).mean() + m["critic"].weight.pow(2).sum()}
    >>> def gen_loss(m, batch):
    ...     return {"loss": -m["critic"](m["gen"](torch.randn_like(batch[0]))).mean()}
    >>> players = [Player("critic", critic_loss, lambda m: m["critic"].parameters()),
    ...            Player("generator", gen_loss, lambda m: m["gen"].parameters(), every=5)]
    >>> history = Trainer(epochs=2, validation_split=0, early_stopping=False, verbose=False).fit(
    ...     game, players, (torch.randn(256, 1),))
    >>> sorted(k for k in history if k.startswith("train_"))
    ['train_critic_loss', 'train_generator_loss']
    """

    name: str
    loss_fn: Callable[[nn.Module, tuple[torch.Tensor, ...]], Mapping[str, torch.Tensor]]
    parameters: Callable[[nn.Module], Iterable[nn.Parameter]]
    every: int = 1
    lr: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"``/``None`` → CUDA when available, else CPU; anything else is passed to :class:`torch.device`.

    Parameters
    ----------
    device : str, torch.device or None, default "auto"
        ``"auto"``, ``None``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...

    Returns
    -------
    torch.device

    Raises
    ------
    ConfigError
        Not a device, or CUDA requested but not available.

    Examples
    --------
    >>> resolve_device("cpu"), resolve_device("auto").type in ("cpu", "cuda")
    (device(type='cpu'), True)
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: device='tpu' is not a torch device; use 'auto', 'cpu' or 'cuda'.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' was requested but CUDA is not available; use device='auto' or 'cpu'.")
    return dev


def to_tensor(data: Any, *, name: str = "X", device: torch.device | None = None) -> torch.Tensor:
    """Convert an array-like (numpy, pandas, tensor) to a finite float32 tensor, or raise a clear error.

    Parameters
    ----------
    data : array-like
        numpy array, pandas object or tensor, rows first; a DatetimeIndex must be sorted.
    name : str, default "X"
        What the data are called in error messages.
    device : torch.device, optional
        Move the tensor there.

    Returns
    -------
    torch.Tensor
        float32.

    Raises
    ------
    DataValidationError
        Non-numeric, empty, unsorted dates, or NaN/infinite values (naming the date and column).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> returns = pd.DataFrame({"A": [0.01, np.nan]}, index=pd.date_range("2020-01-01", periods=2))
    >>> t = to_tensor(returns.fillna(0.0))
    >>> t.dtype, tuple(t.shape)
    (torch.float32, (2, 1))
    >>> to_tensor(returns, name="returns")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: returns has a NaN or infinite value at date 2020-01-02 00:00:00, \
column 'A'; drop or fill missing values before training.
    """
    if isinstance(data, torch.Tensor):
        t = data.detach().to(dtype=torch.float32)
    else:
        values = data.to_numpy() if hasattr(data, "to_numpy") else data
        try:
            arr = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                f"{name} could not be converted to a float array ({exc}); pass numeric data only."
            ) from exc
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.ndim == 0 or t.shape[0] == 0:
        raise DataValidationError(f"{name} is empty (shape {tuple(t.shape)}); pass at least one row.")
    index = getattr(data, "index", None) if hasattr(data, "iloc") else None
    if isinstance(index, pd.DatetimeIndex) and not index.is_monotonic_increasing:
        raise DataValidationError(
            f"{name} rows are not in time order (DatetimeIndex not sorted ascending); sort them with "
            "data.sort_index() so that validation rows are the latest ones."
        )
    finite = torch.isfinite(t)
    if not bool(finite.all()):
        bad = (~finite).reshape(t.shape[0], -1)
        row = int(bad.any(dim=1).nonzero()[0, 0])
        col = int(bad[row].nonzero()[0, 0])
        is_frame = hasattr(data, "iloc") and hasattr(data, "columns")
        index = data.index if is_frame else None
        columns = data.columns if is_frame else None
        if isinstance(index, pd.DatetimeIndex):
            where_row = f"date {index[row]}"
        elif index is not None:
            where_row = f"row {index[row]!r}"
        else:
            where_row = f"row {row}"
        where_col = f"column {columns[col]!r}" if columns is not None else f"column {col}"
        raise DataValidationError(
            f"{name} has a NaN or infinite value at {where_row}, {where_col}; "
            "drop or fill missing values before training."
        )
    return t.to(device) if device is not None else t


class _Progress:
    """A rich progress bar on a terminal; periodic plain lines when asked to be verbose elsewhere."""

    def __init__(self, total: int, verbose: bool | None, description: str) -> None:
        tty = sys.stderr.isatty()
        self.mode = "bar" if (verbose is not False and tty) else ("lines" if verbose else "off")
        self.total = total
        self.every = max(1, total // 20)
        self._bar: Any = None
        if self.mode == "bar":
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[msg]}"),
                                 TimeRemainingColumn(), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(description, total=total, msg="")

    def update(self, epoch: int, msg: str) -> None:
        if self.mode == "bar":
            self._bar.update(self._task, completed=epoch + 1, msg=msg)
        elif self.mode == "lines" and ((epoch + 1) % self.every == 0 or epoch == 0 or epoch + 1 == self.total):
            print(f"epoch {epoch + 1}/{self.total}  {msg}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _save_state(directory: Path, state: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (_STATE_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(directory / _STATE_FILE)  # atomic: an interrupted save never corrupts the last good state


def _load_state(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"Could not read the training state {path} ({type(exc).__name__}); it is corrupted or was not written "
            "by latentquant. Delete it or pass resume=False."
        ) from exc
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path} is not a latentquant training state; delete it or pass resume=False.")
    return state


def player_slots(model: nn.Module, loss_fn: Any, *, blocked: bool) -> list[tuple[Player, list[nn.Parameter]]]:
    """The objectives of a fit and their parameters: one unnamed player over every trainable parameter for a plain
    loss function, else the checked :class:`Player` list (``blocked``: validation, early stopping or an LR schedule
    is asked for, which several objectives cannot have)."""
    if callable(loss_fn):
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ConfigError(f"{type(model).__name__} has no trainable parameters.")
        return [(Player("", loss_fn, lambda m: m.parameters()), params)]
    players = list(loss_fn)
    if not players or not all(isinstance(p, Player) for p in players):
        raise ConfigError("loss_fn must be a loss function or a non-empty list of Player objectives.")
    if blocked:
        raise ConfigError("training several Player objectives has no single loss to validate, stop early or "
                          "schedule on: set validation_split=0, early_stopping=False and no lr_schedule.")
    names = [p.name for p in players]
    if len(set(names)) != len(names) or not all(names):
        raise ConfigError(f"Player names must be distinct and non-empty, got {names}.")
    out: list[tuple[Player, list[nn.Parameter]]] = []
    seen: set[int] = set()
    for player in players:
        if not (isinstance(player.every, int) and player.every >= 1):
            raise ConfigError(f"Player {player.name!r}: every must be an integer >= 1, got {player.every!r}.")
        lr_ok = player.lr is None or (isinstance(player.lr, int | float) and player.lr >= 0)
        if not (lr_ok and len(player.betas) == 2 and all(0 <= b < 1 for b in player.betas)):
            raise ConfigError(f"Player {player.name!r}: lr must be None or a float >= 0 and betas two floats in "
                              f"[0, 1), got lr={player.lr!r}, betas={player.betas!r}.")
        params = [p for p in player.parameters(model) if p.requires_grad]
        if not params:
            raise ConfigError(f"Player {player.name!r} has no trainable parameters.")
        if seen & {id(p) for p in params}:
            raise ConfigError(f"Player {player.name!r} shares parameters with an earlier player; give each player "
                              "its own parameters.")
        seen |= {id(p) for p in params}
        out.append((player, params))
    return out
