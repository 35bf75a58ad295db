r"""Conditional autoencoders CA0–CA3 (Gu, Kelly & Xiu 2021): loadings are a neural network of lagged
characteristics, factors are linear in the characteristic-managed portfolios.

.. math::

    r_{i,t} = \beta(z_{i,t-1})^\top f_t + u_{i,t}, \qquad
    \beta = G_\theta(z_{i,t-1}) \in \mathbb R^K, \qquad f_t = W x_t,\quad x_t = (Z_{t-1}^\top Z_{t-1})^{-1}
    Z_{t-1}^\top r_t,

so the factors are portfolios. The β network has ``depth`` hidden layers (CA0: linear; CA1: 32; CA2: 32-16;
CA3: 32-16-8) with BatchNorm + ReLU + dropout; the loss is the mean squared error plus :math:`\lambda\lVert\theta
\rVert_1` on the β network's weights (λ = 1e−5). Training uses the shared :class:`~latentquant.training.Trainer`
(Adam, early stopping on a validation panel of later months), and the estimator averages an ensemble over seeds
(GKX average 10; default 5): fitted returns are the mean of the members' fitted returns.

Out of sample, :meth:`ConditionalAutoencoder.fitted` uses the period's managed portfolios (contemporaneous factors:
the total-R² convention, as for IPCA); :meth:`ConditionalAutoencoder.predicted` uses, per member, the running mean
of that member's factors over earlier months (the predictive-R² convention).

Reference: Gu, S., Kelly, B. & Xiu, D. (2021). Autoencoder asset pricing models. Journal of Econometrics 222(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentquant.data.panel import Panel
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.pricing._base import (
    BasePricingModel,
    check_characteristics,
    check_panel,
    factor_names,
    running_premia,
)
from latentquant.nn import mlp
from latentquant.training import Trainer
from latentquant.training.checkpoint import register_model
from latentquant.validation import Constraint, Interval, Options

__all__ = ["ConditionalAutoencoder", "ConditionalAutoencoderNet"]

DEPTH_HIDDEN = {0: [], 1: [32], 2: [32, 16], 3: [32, 16, 8]}


@register_model
class ConditionalAutoencoderNet(nn.Module):
    """β network ``z → K`` and linear factor network ``x_t → K``; ``forward(z, x) = Σ_k β_k f_k`` per row.

    Parameters
    ----------
    n_chars : int
        Number of characteristics (inputs of the β network).
    n_portfolios : int
        Number of characteristic-managed portfolios (inputs of the factor network).
    n_factors : int
        Number of factors K.
    depth : int
        Hidden layers of the β network (CA0 … CA3: 0 to 3 layers of 32, 16, 8 units).
    dropout : float
        Dropout after each hidden layer.
    seed : int, optional
        Seed of the initial weights.

    Examples
    --------
    >>> net = ConditionalAutoencoderNet(n_chars=4, n_portfolios=4, n_factors=2, depth=1, seed=0).eval()
    >>> net(torch.zeros(5, 4), torch.ones(5, 4)).shape  # one fitted return per (asset, month) row
    torch.Size([5])
    """

    def __init__(self, n_chars: int, n_portfolios: int, n_factors: int, depth: int = 1, dropout: float = 0.1,
                 seed: int | None = None) -> None:
        super().__init__()
        with torch.random.fork_rng(enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            hidden = DEPTH_HIDDEN[depth]
            self.beta_net = mlp([n_chars, *hidden, n_factors], activation="relu", dropout=dropout,
                                batch_norm=True)
            self.factor_net = nn.Linear(n_portfolios, n_factors, bias=False)

    def betas(self, z: torch.Tensor) -> torch.Tensor:
        return self.beta_net(z)

    def factors(self, x: torch.Tensor) -> torch.Tensor:
        return self.factor_net(x)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return (self.betas(z) * self.factors(x)).sum(dim=1)

    def l1(self) -> torch.Tensor:
        return sum((m.weight.abs().sum() for m in self.beta_net.modules() if isinstance(m, nn.Linear)),
                   torch.zeros(()))


def _tensors(panel: Panel, columns: Sequence[str] | None = None
             ) -> tuple[pd.Index, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dates, z per row, date index per row, r per row, managed portfolios per date)."""
    check_panel(panel)
    chars = panel.characteristics
    if columns is not None:
        check_characteristics(panel, columns)
    if chars.shape[1] == 0:
        raise DataValidationError("the panel has no characteristics; a conditional autoencoder needs some.")
    x = panel.managed_portfolios("gkx")
    codes, dates = pd.factorize(panel.returns.index.get_level_values(0), sort=False)
    z = torch.tensor(chars.fillna(0.0).to_numpy(np.float32))
    r = torch.tensor(panel.returns.to_numpy(np.float32))
    return (pd.Index(dates, name=panel.returns.index.names[0]), z, torch.tensor(codes, dtype=torch.long), r,
            torch.tensor(x.to_numpy(np.float32)))


class ConditionalAutoencoder(BasePricingModel):
    """CA0–CA3 with a seed ensemble, on a :class:`~latentquant.data.Panel` of lagged, ranked characteristics.

    Parameters
    ----------
    n_factors : int
        Number of factors K.
    depth : {0, 1, 2, 3}
        CA0 (linear β) … CA3 (32-16-8 hidden units).
    n_seeds : int
        Ensemble size (members use seeds ``seed, seed+1, …``).
    l1 : float
        λ of the L1 penalty on the β network's weights.
    epochs, batch_size, lr, patience, dropout : int, int, float, int, float
        Training options (early stopping on the validation panel).
    validation_split : float
        Share of the training panel's *last months* used for early stopping when no ``val_panel`` is given.
    seed : int
        Seed of the first ensemble member (same seed, same data → identical fits on CPU).
    device : str
        ``'auto'`` (CUDA when available), ``'cpu'`` or ``'cuda'`` for training; the fitted members live on the CPU.
    verbose : bool or None
        Progress bar on a terminal (``None``), always (``True``) or never (``False``).

    Attributes
    ----------
    members_ : list of ConditionalAutoencoderNet
        The trained ensemble, in evaluation mode on the CPU.
    histories_ : list of History
        Per-member training histories.
    characteristics_ : list of str
        The characteristic columns the model was fitted on.

    Examples
    --------
    >>> from latentquant.data import simulate_panel
    >>> sim = simulate_panel(n_assets=50, n_periods=24, n_chars=4, n_factors=2, seed=0)
    >>> ca1 = ConditionalAutoencoder(n_factors=2, depth=1, n_seeds=2, epochs=2).fit(sim.panel)
    >>> ca1.name, len(ca1.members_), ca1.fitted(sim.panel).shape
    ('CA1', 2, (1200,))
    """

    uses_validation = True
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "n_factors": [Interval(Integral, 1, None)],
        "depth": [Options(*DEPTH_HIDDEN)],
        "n_seeds": [Interval(Integral, 1, None)],
        "l1": [Interval(Real, 0, None)],
        "epochs": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "patience": [Interval(Integral, 1, None)],
        "dropout": [Interval(Real, 0, 1)],
        "validation_split": [Interval(Real, 0, 1)],
        "seed": [Interval(Integral, 0, None)],
        "device": [str],
        "verbose": ["boolean", None],
    }

    def __init__(self, n_factors: int = 1, *, depth: int = 1, n_seeds: int = 5, l1: float = 1e-5,
                 epochs: int = 100, batch_size: int = 2048, lr: float = 1e-3, patience: int = 5,
                 dropout: float = 0.1, validation_split: float = 0.2, seed: int = 0, device: str = "auto",
                 verbose: bool | None = False) -> None:
        self.n_factors = n_factors
        self.depth = depth
        self.n_seeds = n_seeds
        self.l1 = l1
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.dropout = dropout
        self.validation_split = validation_split
        self.seed = seed
        self.device = device
        self.verbose = verbose

    @property
    def name(self) -> str:
        """``'CA0'`` … ``'CA3'``."""
        return f"CA{self.depth}"

    def fit(self, panel: Panel, val_panel: Panel | None = None) -> ConditionalAutoencoder:
        """Train the ensemble on ``panel``; early stopping on ``val_panel`` (later months) or, without one, on the
        last ``validation_split`` share of the panel's months."""
        self._check_params()
        check_panel(panel)
        if val_panel is None:
            dates = panel.dates
            n_val = round(len(dates) * self.validation_split)
            if self.validation_split > 0 and not 1 <= n_val < len(dates):
                raise DataValidationError(
                    f"the panel has {len(dates)} months; too few to hold out {self.validation_split:.0%} for "
                    "validation. Pass val_panel= or validation_split=0."
                )
            if n_val:
                cut = dates[-n_val]
                is_val = panel.returns.index.get_level_values(0) >= cut
                val_panel = Panel(panel.returns[is_val], panel.characteristics[is_val])
                panel = Panel(panel.returns[~is_val], panel.characteristics[~is_val])
        _, z, d, r, x = _tensors(panel)
        if self.n_factors > z.shape[1]:
            raise ConfigError(f"n_factors={self.n_factors} exceeds the number of characteristics ({z.shape[1]}).")
        val = None
        if val_panel is not None:
            _, zv, dv, rv, xv = _tensors(val_panel, list(panel.characteristics.columns))
            val = (zv, xv[dv], rv)
        self.characteristics_ = list(panel.characteristics.columns)
        lam = float(self.l1)

        def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            zb, xb, rb = batch
            mse = (model(zb, xb) - rb).pow(2).mean()
            penalty = model.l1() * lam  # type: ignore[operator]
            return {"loss": mse + penalty, "mse": mse}

        self.members_: list[ConditionalAutoencoderNet] = []
        self.histories_: list[Any] = []
        for m in range(self.n_seeds):
            seed = self.seed + m
            net = ConditionalAutoencoderNet(z.shape[1], x.shape[1], self.n_factors, self.depth, self.dropout, seed)
            trainer = Trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, patience=self.patience,
                              early_stopping=val is not None, validation_split=0.0, seed=seed,
                              device=self.device, verbose=self.verbose)
            # per-row managed portfolios of the row's month (a view of x by month index)
            self.histories_.append(trainer.fit(net, loss_fn, (z, x[d], r), val))
            net.cpu().eval()
            self.members_.append(net)
        return self

    # ---------------------------------------------------------------------------------------- predictions
    @torch.no_grad()
    def member_betas(self, panel: Panel) -> list[pd.DataFrame]:
        """β̂_{i,t−1} of every ensemble member (long (date, asset) × K each; members' factors are not aligned with
        each other, so betas are not averaged)."""
        self._check_fitted()
        _, z, _, _, _ = _tensors(panel, self.characteristics_)
        return [pd.DataFrame(net.betas(z).double().numpy(), index=panel.returns.index,
                             columns=factor_names(net.factor_net.out_features)) for net in self.members_]

    @torch.no_grad()
    def member_factors(self, panel: Panel) -> list[pd.DataFrame]:
        """Each member's factors f̂_t = W x_t on ``panel``'s months (uses the month's returns through x_t)."""
        self._check_fitted()
        dates, _, _, _, x = _tensors(panel, self.characteristics_)
        return [pd.DataFrame(net.factors(x).double().numpy(), index=dates,
                             columns=factor_names(net.factor_net.out_features)) for net in self.members_]

    def betas(self, panel: Panel) -> pd.DataFrame:
        """β̂ of the first ensemble member (see :meth:`member_betas` for all)."""
        return self.member_betas(panel)[0]

    def factors(self, panel: Panel) -> pd.DataFrame:
        """f̂_t of the first ensemble member (see :meth:`member_factors` for all)."""
        return self.member_factors(panel)[0]

    def fitted(self, panel: Panel) -> pd.Series:
        """Ensemble mean of β̂_{i,t−1}'f̂_t with contemporaneous factors (total-R² convention)."""
        rows = panel.returns.index.get_level_values(0)
        out = np.zeros(len(panel.returns))
        for b, f in zip(self.member_betas(panel), self.member_factors(panel), strict=True):
            out += (b.to_numpy() * f.reindex(rows).to_numpy()).sum(axis=1)
        return pd.Series(out / len(self.members_), index=panel.returns.index, name="fitted")

    def predicted(self, panel: Panel, history: Panel | None = None) -> pd.Series:
        """Ensemble mean of β̂_{i,t−1}'λ̂_{t−1}, λ̂_{t−1} = each member's running mean of its factors over the months
        of ``history`` (e.g. the training panel) and of ``panel`` strictly before t (predictive-R² convention)."""
        rows = panel.returns.index.get_level_values(0)
        past = self.member_factors(history) if history is not None else [None] * len(self.members_)
        out = np.zeros(len(panel.returns))
        for b, f, h in zip(self.member_betas(panel), self.member_factors(panel), past, strict=True):
            lam = running_premia(f, h)
            out += (b.to_numpy() * lam.reindex(rows).to_numpy()).sum(axis=1)
        return pd.Series(out / len(self.members_), index=panel.returns.index, name="predicted")
