"""Early stopping on a monitored loss, with the best weights kept for restoring."""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from latentquant.exceptions import ConfigError

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Track a loss to minimise; signal a stop after ``patience`` epochs without an improvement of ``min_delta``.

    Used by :class:`~latentquant.training.Trainer`; also usable in a hand-written loop.

    Parameters
    ----------
    patience : int
        Epochs without improvement before stopping.
    min_delta : float
        Minimum decrease that counts as an improvement.
    keep_best : bool
        Keep a copy of the weights at the best epoch (see :meth:`restore`).

    Examples
    --------
    >>> stopper = EarlyStopping(patience=2)
    >>> [stopper.step(v) for v in [3.0, 2.0, 2.5, 2.4]]
    [False, False, False, True]
    >>> stopper.best_epoch, stopper.best_score
    (1, 2.0)
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0, keep_best: bool = True) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"patience must be an integer >= 1, got {patience!r}.")
        if not min_delta >= 0:
            raise ConfigError(f"min_delta must be >= 0, got {min_delta!r}.")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.keep_best = keep_best
        self.best_score = math.inf
        self.best_epoch = -1
        self.wait = 0
        self.epoch = -1
        self.best_state: dict[str, Any] | None = None

    def step(self, value: float, model: nn.Module | None = None) -> bool:
        """Record the loss of the next epoch; return ``True`` when training should stop."""
        self.epoch += 1
        if value < self.best_score - self.min_delta:
            self.best_score, self.best_epoch, self.wait = float(value), self.epoch, 0
            if self.keep_best and model is not None:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.wait += 1
        return self.wait >= self.patience

    def restore(self, model: nn.Module) -> bool:
        """Load the best weights into ``model``; returns ``False`` if none were kept."""
        if self.best_state is None:
            return False
        model.load_state_dict(self.best_state)
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "wait": self.wait,
                "epoch": self.epoch, "best_state": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_score = float(state["best_score"])
        self.best_epoch = int(state["best_epoch"])
        self.wait = int(state["wait"])
        self.epoch = int(state["epoch"])
        self.best_state = state.get("best_state")
