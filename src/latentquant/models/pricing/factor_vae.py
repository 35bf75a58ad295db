r"""Conditional VAE factor model (FactorVAE of Duan et al. 2022), simplified to a characteristics panel.

For each month :math:`t` and stock :math:`i` with lagged characteristics :math:`z_{i,t-1}` (row ``(t, i)`` of a
:class:`~latentquant.data.Panel`) and return :math:`y_{i,t}`:

* **feature extractor** :math:`e_i = \varphi_{ext}(z_{i,t-1})`, an MLP with LeakyReLU, applied stock by stock;
* **posterior encoder** (training only — it *sees the month's returns*): a portfolio layer weights the month's stocks
  with a softmax over the cross-section, :math:`a_{p,i} = \operatorname{softmax}_i(w_p^\top e_i + b_p)`, forms
  portfolio returns :math:`y_p = \sum_i a_{p,i} y_i`, and maps them linearly to
  :math:`\mu_{post}` and :math:`\sigma_{post} = \operatorname{softplus}(\cdot)`;
* **prior predictor** (no returns): K attention heads pool the month's features, :math:`h_k = \sum_i
  \operatorname{softmax}_i(q_k^\top W_k e_i / \sqrt H)\, W_v e_i`, and a shared MLP maps each :math:`h_k` to
  :math:`(\mu_{prior,k}, \sigma_{prior,k})`;
* **decoder**: :math:`\mu_{\alpha,i}, \sigma_{\alpha,i}` from an alpha layer (LeakyReLU hidden, softplus
  :math:`\sigma`), :math:`\beta_i = W_\beta e_i + b_\beta`, and since :math:`\alpha` and :math:`z` are independent
  Gaussians, :math:`\hat y_i \sim N(\mu_{\alpha,i} + \beta_i^\top\mu_z,\; \sigma_{\alpha,i}^2 +
  \sum_k \beta_{ik}^2 \sigma_{z,k}^2)`;
* **loss** per month: the negative ELBO :math:`-\sum_i \log p(y_i \mid z_{post}) + \gamma\,
  \mathrm{KL}(q_{post}\,\Vert\, p_{prior})`, with the likelihood taken under the posterior's Gaussian (closed form,
  no sampling) and the KL of two diagonal Gaussians in closed form (:func:`gaussian_kl`); it is divided by the
  training panel's mean number of stocks per month (a constant) so that gradients stay O(1). Duan et al. average the
  log-likelihood over stocks instead, which equals ``gamma = N_t`` here; with that weighting the KL term dominates a
  few-factor cross-section and the posterior collapses onto the prior (posterior R² near zero on the simulated
  panels), so we keep the likelihood summed and ``gamma = 1`` (the proper ELBO).

.. warning::

   ``which='posterior'`` factors, fitted values and R² use the **same month's realised returns** (the oracle
   encoder): they are an in-sample decomposition, never an out-of-sample number, and are the source of the ~99 %
   "total R²" reported for the VAE in seed 003. Honest numbers use ``which='prior'`` (the default), which is a
   function of the lagged characteristics only.

References
----------
Duan, Y., Wang, L., Zhang, Q. & Li, J. (2022). FactorVAE: A probabilistic dynamic factor model based on variational
autoencoder for predicting cross-sectional stock returns. AAAI-22.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from latentquant._math import kl_normal, uncentred_r2
from latentquant.data.panel import Panel
from latentquant.data.splits import tail_split
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.pricing._base import BasePricingModel, check_characteristics, check_panel, factor_names
from latentquant.nn import mlp
from latentquant.training.checkpoint import register_model
from latentquant.training.trainer import History, Trainer, resolve_device
from latentquant.validation import Constraint, Interval

__all__ = ["ConditionalVAE", "gaussian_kl"]

_WHICH = ("prior", "posterior")
_MIN_SIGMA = 1e-4
_PORTFOLIO_GAIN = 5.0  # initial scale of the portfolio logits (softmax over a few dozen stocks, not uniform)


def gaussian_kl(mu_q: torch.Tensor, sigma_q: torch.Tensor, mu_p: torch.Tensor, sigma_p: torch.Tensor) -> torch.Tensor:
    r"""Closed-form :math:`\mathrm{KL}(N(\mu_q, \operatorname{diag}\sigma_q^2)\,\Vert\,N(\mu_p,
    \operatorname{diag}\sigma_p^2))`, summed over the last dimension:
    :math:`\sum_k \log\frac{\sigma_{p,k}}{\sigma_{q,k}} + \frac{\sigma_{q,k}^2 + (\mu_{q,k}-\mu_{p,k})^2}
    {2\sigma_{p,k}^2} - \frac12` (the elementwise formula is :func:`latentquant._math.kl_normal`).

    Parameters
    ----------
    mu_q, sigma_q : torch.Tensor
        Mean and standard deviation of the first Gaussian (e.g. the posterior), ``(..., K)``.
    mu_p, sigma_p : torch.Tensor
        Those of the second (e.g. the prior), broadcastable to the first.

    Returns
    -------
    torch.Tensor
        Shape ``(...)``: the KL divergence of each row, in nats.

    Examples
    --------
    >>> one, zero = torch.ones(1, 2), torch.zeros(1, 2)
    >>> gaussian_kl(one, one, zero, one)  # ½ μ² per dimension
    tensor([1.])
    """
    kl: torch.Tensor = kl_normal(mu_q, sigma_q, mu_p, sigma_p)
    return kl.sum(dim=-1)


def _masked_softmax(logits: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=dim)


@register_model
class _FactorVAENet(nn.Module):
    """The network; every month-level input is padded to ``(B, N_max, ·)`` with a boolean ``mask`` ``(B, N_max)``."""

    def __init__(self, n_chars: int, hidden: int, n_factors: int, n_portfolios: int) -> None:
        super().__init__()
        H, K, P = hidden, n_factors, n_portfolios
        self.hidden = H
        self.extractor = mlp([n_chars, H, H], activation="leaky_relu", activate_last=True)
        # posterior encoder
        self.portfolio = nn.Linear(H, P)
        with torch.no_grad():  # sharper initial portfolio weights: near-uniform softmax weights all give the market
            self.portfolio.weight.mul_(_PORTFOLIO_GAIN)
        self.post_mu = nn.Linear(P, K)
        self.post_sigma = nn.Linear(P, K)
        # prior predictor: one attention head per factor, shared output MLP
        self.query = nn.Parameter(torch.randn(K, H) / math.sqrt(H))
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.prior_hidden = nn.Sequential(nn.Linear(H, H), nn.LeakyReLU())
        self.prior_mu = nn.Linear(H, 1)
        self.prior_sigma = nn.Linear(H, 1)
        # decoder
        self.alpha_hidden = nn.Sequential(nn.Linear(H, H), nn.LeakyReLU())
        self.alpha_mu = nn.Linear(H, 1)
        self.alpha_sigma = nn.Linear(H, 1)
        self.beta = nn.Linear(H, K)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.extractor(x)

    def posterior(self, e: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = _masked_softmax(self.portfolio(e), mask.unsqueeze(-1), dim=1)  # (B, N, P)
        y_p = torch.einsum("bnp,bn->bp", weights, y.masked_fill(~mask, 0.0))
        return self.post_mu(y_p), F.softplus(self.post_sigma(y_p)) + _MIN_SIGMA

    def prior(self, e: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = torch.einsum("kh,bnh->bkn", self.query, self.key(e)) / math.sqrt(self.hidden)
        attn = _masked_softmax(scores, mask.unsqueeze(1), dim=2)  # (B, K, N)
        h = self.prior_hidden(torch.einsum("bkn,bnh->bkh", attn, self.value(e)))
        return self.prior_mu(h).squeeze(-1), F.softplus(self.prior_sigma(h)).squeeze(-1) + _MIN_SIGMA

    def alpha_beta(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.alpha_hidden(e)
        mu_a = self.alpha_mu(h).squeeze(-1)
        sigma_a = F.softplus(self.alpha_sigma(h)).squeeze(-1) + _MIN_SIGMA
        return mu_a, sigma_a, self.beta(e)

    def decode(self, e: torch.Tensor, mu_z: torch.Tensor, sigma_z: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        mu_a, sigma_a, beta = self.alpha_beta(e)
        mu_y = mu_a + torch.einsum("bnk,bk->bn", beta, mu_z)
        var_y = sigma_a.pow(2) + torch.einsum("bnk,bk->bn", beta.pow(2), sigma_z.pow(2))
        return mu_y, var_y


@dataclass
class _Months:
    """A panel as padded month blocks: ``x`` (T, N_max, L), ``y`` and ``mask`` (T, N_max); ``month``/``slot`` give
    each long row's position."""

    dates: pd.Index
    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor
    month: np.ndarray
    slot: np.ndarray


def _to_months(panel: Panel, scale: float) -> _Months:
    z = panel.characteristics.fillna(0.0).to_numpy(np.float32)
    r = panel.returns.to_numpy(np.float64) / scale
    dates = panel.returns.index.get_level_values(0)
    month, uniques = pd.factorize(dates, sort=False)
    counts = np.bincount(month, minlength=len(uniques))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(month)) - starts[month]  # panel dates are sorted, so each month is one block
    T, n_max = len(uniques), int(counts.max())
    x = np.zeros((T, n_max, z.shape[1]), np.float32)
    y = np.zeros((T, n_max), np.float32)
    mask = np.zeros((T, n_max), bool)
    x[month, slot] = z
    y[month, slot] = r
    mask[month, slot] = True
    return _Months(pd.Index(uniques, name=panel.returns.index.names[0]), torch.from_numpy(x), torch.from_numpy(y),
                   torch.from_numpy(mask), month, slot)


class ConditionalVAE(BasePricingModel):
    r"""FactorVAE (Duan et al. 2022) on a :class:`~latentquant.data.Panel` whose characteristics are already lagged
    (row ``(t, i)`` holds :math:`z_{i,t-1}`); see the module docstring for the architecture.

    .. warning::

       **Posterior numbers are not out-of-sample.** ``factors``/``fitted``/``score`` with ``which='posterior'`` run
       the oracle encoder on the *same month's realised returns* :math:`y_t`; their R² is an in-sample
       reconstruction (it can approach 100 %) and must never be reported as a total or predictive R² of the model.
       The default ``which='prior'`` uses only lagged characteristics: changing any month's returns leaves the prior
       factors and fitted values of every month unchanged.

    Parameters
    ----------
    n_factors : int
        Number of latent factors K.
    hidden_dim : int
        Width H of the feature extractor and of the hidden layers.
    n_portfolios : int or None
        Portfolios P of the posterior's portfolio layer; ``None`` → ``max(2 * n_factors, 8)``.
    gamma : float
        Weight of the KL term (γ > 0).
    epochs, lr, patience, batch_size, weight_decay : int, float
        Passed to the shared :class:`~latentquant.training.Trainer`; ``batch_size`` counts *months*.
    validation_split : float
        Share of the panel's last months (time order) held out for early stopping when ``fit`` gets no
        ``val_panel``; ``0`` disables the hold-out (early stopping then monitors the training loss).
    seed : int
        Seeds the initial weights and the training RNG: same seed → identical numbers on CPU.
    device : str
        ``'auto'``, ``'cpu'`` or ``'cuda'``.
    verbose : bool or None
        As :class:`~latentquant.training.TrainerConfig`.

    Attributes
    ----------
    net_ : nn.Module
        The trained network.
    history_ : History
        Per-epoch losses of training and validation: ``loss`` and ``nll`` per stock (divided by the mean number of
        stocks per month), ``kl`` per month.
    return_scale_ : float
        Root mean square of the training returns; the network works on returns divided by it, and every output
        (factors, alphas, fitted values) is reported in return units.
    n_portfolios_ : int
        The number of portfolios P of the posterior's portfolio layer (``n_portfolios`` or its default).
    characteristics_ : list
        The characteristic columns the model was fitted on.

    Examples
    --------
    >>> from latentquant.data.simulate import simulate_panel
    >>> sim = simulate_panel(n_assets=30, n_periods=24, n_chars=4, n_factors=2, seed=0)
    >>> model = ConditionalVAE(n_factors=2, hidden_dim=16, epochs=2, verbose=False).fit(sim.panel)
    >>> model.factors(sim.panel).shape
    (24, 2)
    """

    net_: _FactorVAENet
    history_: History
    return_scale_: float
    characteristics_: list[Any]
    n_portfolios_: int
    uses_validation = True
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "n_factors": [Interval(Integral, 1, None)],
        "hidden_dim": [Interval(Integral, 1, None)],
        "n_portfolios": [Interval(Integral, 1, None), None],
        "gamma": [Interval(Real, 0, None, closed="neither")],
        "epochs": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "patience": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)],
        "weight_decay": [Interval(Real, 0, None)],
        "validation_split": [Interval(Real, 0, 1)],
        "seed": [Interval(Integral, 0, None)],
        "device": [str],
        "verbose": ["boolean", None],
    }

    _renamed_params: ClassVar[dict[str, str]] = {"hidden": "hidden_dim"}

    def __init__(self, n_factors: int = 3, *, hidden_dim: int = 64, n_portfolios: int | None = None, gamma: float = 1.0,
                 epochs: int = 100, lr: float = 3e-3, patience: int = 10, batch_size: int = 8,
                 weight_decay: float = 0.0, validation_split: float = 0.2, seed: int = 0, device: str = "auto",
                 verbose: bool | None = None) -> None:
        self.n_factors = n_factors
        self.hidden_dim = hidden_dim
        self.n_portfolios = n_portfolios
        self.gamma = gamma
        self.epochs = epochs
        self.lr = lr
        self.patience = patience
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.validation_split = validation_split
        self.seed = seed
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------------------------------------ fitting
    def fit(self, panel: Panel, val_panel: Panel | None = None) -> ConditionalVAE:
        """Train on ``panel`` with the shared Trainer, one batch = ``batch_size`` whole months.

        Early stopping monitors ``val_panel`` when given, else the last ``validation_split`` share of ``panel``'s
        months (time order); the best epoch's weights are restored."""
        self._check_params()
        check_panel(panel)
        chars = list(panel.characteristics.columns)
        if val_panel is not None:
            check_panel(val_panel, "val_panel")
            if list(val_panel.characteristics.columns) != chars:
                raise DataValidationError("val_panel characteristics differ from panel's; use the same columns in "
                                          "the same order.")
        n_portfolios = max(2 * self.n_factors, 8) if self.n_portfolios is None else int(self.n_portfolios)
        validation_split = float(self.validation_split)
        T = panel.n_periods
        # the Trainer holds out the same last months (tail_split) when there is no val_panel
        n_train = T if val_panel is not None else len(tail_split(T, validation_split)[0])
        device = resolve_device(self.device)
        train_dates = panel.dates[:n_train]
        r_train = panel.returns[panel.returns.index.get_level_values(0).isin(train_dates)].to_numpy(np.float64)
        scale = float(np.sqrt(np.mean(r_train**2)))
        if not (np.isfinite(scale) and scale > 0):
            raise DataValidationError("the training returns are all zero or not finite; cannot fit.")

        blocks = [_to_months(panel, scale)] + ([_to_months(val_panel, scale)] if val_panel is not None else [])
        n_max = max(b.x.shape[1] for b in blocks)
        X = torch.cat([F.pad(b.x, (0, 0, 0, n_max - b.x.shape[1])) for b in blocks]).to(device)
        Y = torch.cat([F.pad(b.y, (0, n_max - b.y.shape[1])) for b in blocks]).to(device)
        M = torch.cat([F.pad(b.mask, (0, n_max - b.mask.shape[1])) for b in blocks]).to(device)
        gamma = float(self.gamma)
        n_bar = float(M[:n_train].sum()) / n_train

        def loss_fn(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
            assert isinstance(net, _FactorVAENet)
            ids = batch[0].long()
            x, y, mask = X[ids], Y[ids], M[ids]
            e = net.features(x)
            mu_post, sigma_post = net.posterior(e, y, mask)
            mu_prior, sigma_prior = net.prior(e, mask)
            mu_y, var_y = net.decode(e, mu_post, sigma_post)
            nll_i = 0.5 * (torch.log(2 * math.pi * var_y) + (y - mu_y).pow(2) / var_y)
            nll = (nll_i * mask).sum(dim=1)  # −log p(y_t | z_post): summed over the month's stocks
            kl = gaussian_kl(mu_post, sigma_post, mu_prior, sigma_prior)
            # the negative ELBO per month, divided by a constant (mean stocks per month) to keep gradients O(1)
            return {"loss": (nll + gamma * kl).mean() / n_bar, "nll": nll.mean() / n_bar, "kl": kl.mean()}

        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            net = _FactorVAENet(len(chars), self.hidden_dim, self.n_factors, n_portfolios)
        trainer = Trainer(epochs=self.epochs, lr=self.lr, patience=self.patience, batch_size=self.batch_size,
                          weight_decay=self.weight_decay, validation_split=validation_split, seed=self.seed,
                          device=str(device), verbose=self.verbose)
        months = torch.arange(T, dtype=torch.float32)
        val = (torch.arange(T, X.shape[0], dtype=torch.float32),) if val_panel is not None else None
        self.history_ = trainer.fit(net, loss_fn, (months,), val)
        net.eval()
        self.net_ = net
        self.return_scale_ = scale
        self.characteristics_ = chars
        self.n_portfolios_ = n_portfolios
        return self

    # -------------------------------------------------------------------------------------------- predictions
    def _check(self, panel: Panel, which: str | None = None) -> None:
        self._check_fitted()
        if which is not None and which not in _WHICH:
            raise ConfigError(f"which must be 'prior' or 'posterior', got {which!r}.")
        check_characteristics(check_panel(panel), self.characteristics_)

    @torch.no_grad()
    def _predict(self, panel: Panel, which: str) -> tuple[_Months, np.ndarray, np.ndarray, np.ndarray]:
        """Per month μ_z (T, K) in scaled units, per row μ_α (n,) and β (n, K). The posterior branch is the only
        one that reads ``months.y``."""
        net = self.net_
        net.eval()
        device = next(net.parameters()).device
        months = _to_months(panel, self.return_scale_)
        mus, alphas, betas = [], [], []
        for start in range(0, len(months.dates), 64):
            sl = slice(start, start + 64)
            x, mask = months.x[sl].to(device), months.mask[sl].to(device)
            e = net.features(x)
            if which == "posterior":
                mu, _ = net.posterior(e, months.y[sl].to(device), mask)
            else:
                mu, _ = net.prior(e, mask)
            mu_a, _, beta = net.alpha_beta(e)
            mus.append(mu.cpu())
            alphas.append(mu_a.cpu())
            betas.append(beta.cpu())
        mu_z = torch.cat(mus).double().numpy()
        mu_a_all = torch.cat(alphas).double().numpy()[months.month, months.slot]
        beta_all = torch.cat(betas).double().numpy()[months.month, months.slot]
        return months, mu_z, mu_a_all, beta_all

    def betas(self, panel: Panel) -> pd.DataFrame:
        """β_i = W_β e_i + b_β for every row of ``panel`` (long, (date, asset) × K); characteristics only."""
        self._check(panel)
        _, _, _, beta = self._predict(panel, "prior")
        return pd.DataFrame(beta, index=panel.returns.index, columns=factor_names(beta.shape[1]))

    def alphas(self, panel: Panel) -> pd.Series:
        """μ_α,i in return units for every row of ``panel``; characteristics only."""
        self._check(panel)
        _, _, mu_a, _ = self._predict(panel, "prior")
        return pd.Series(mu_a * self.return_scale_, index=panel.returns.index, name="alpha")

    def factors(self, panel: Panel, which: str = "prior") -> pd.DataFrame:
        """Factor means μ_z per month (dates × K, return units).

        ``which='prior'`` (default): the prior predictor's μ_prior from the month's lagged characteristics only — no
        future information. ``which='posterior'``: the oracle encoder's μ_post, **computed from the month's realised
        returns**; it is labelled in ``DataFrame.attrs['which']`` and is not an out-of-sample quantity."""
        self._check(panel, which)
        months, mu_z, _, _ = self._predict(panel, which)
        out = pd.DataFrame(mu_z * self.return_scale_, index=months.dates, columns=factor_names(mu_z.shape[1]))
        out.attrs["which"] = which
        return out

    def fitted(self, panel: Panel, which: str = "prior") -> pd.Series:
        """μ_α,i + β_iᵀ μ_z,t per row (return units); ``which`` as in :meth:`factors` — ``'posterior'`` uses the
        month's realised returns."""
        self._check(panel, which)
        months, mu_z, mu_a, beta = self._predict(panel, which)
        out = (mu_a + (beta * mu_z[months.month]).sum(axis=1)) * self.return_scale_
        series = pd.Series(out, index=panel.returns.index, name=f"fitted_{which}")
        series.attrs["which"] = which
        return series

    def predicted(self, panel: Panel, history: Panel | None = None) -> pd.Series:
        """The prior fitted values μ_α,i + β_iᵀ μ_prior,t: the prior predicts the month's factors from lagged
        characteristics only, so it *is* the predictive value; ``history`` is accepted for the common interface of
        pricing models and not needed."""
        if history is not None:
            check_panel(history, "history")
        return self.fitted(panel, "prior").rename("predicted")

    def score(self, panel: Panel, which: str = "prior") -> float:
        """Uncentred total R², 1 − Σ(r − r̂)² / Σr², with r̂ = :meth:`fitted` ``(panel, which)``.

        ``which='prior'`` (default) is an honest number on a held-out panel. ``which='posterior'`` **uses the same
        month's returns to build the factors — it is NOT an out-of-sample R²** and must be reported as such."""
        fit = self.fitted(panel, which).to_numpy()
        return uncentred_r2(panel.returns.to_numpy(np.float64), fit, "ConditionalVAE.score")
