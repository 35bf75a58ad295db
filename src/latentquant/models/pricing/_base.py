r"""What every asset-pricing model shares: the interface, the predictive values and the total R².

A pricing model is fitted on a :class:`~latentquant.data.Panel` (rows ``(t, i)`` with the return :math:`r_{i,t}` and
the characteristics :math:`z_{i,t-1}` known before it) and then evaluated on any panel:

* ``betas(panel)`` — :math:`\hat\beta_{i,t-1}`, long ``(date, asset) × K``;
* ``factors(panel)`` — :math:`\hat f_t`, dates × K (for latent models a cross-sectional estimate that uses the month's
  returns: the total-R² convention);
* ``fitted(panel)`` — :math:`\hat\beta_{i,t-1}^\top\hat f_t` (plus the model's alpha where it has one);
* ``predicted(panel, history)`` — :math:`\hat\beta_{i,t-1}^\top\hat\lambda_{t-1}` with :math:`\hat\lambda_{t-1}` the
  running mean of the model's factors over ``history`` and the panel's months before ``t`` (the predictive-R²
  convention of Gu, Kelly & Xiu 2021; no information from month ``t``);
* ``score(panel)`` — the uncentred total R² :math:`1-\sum(r-\hat r)^2/\sum r^2` of ``fitted``.

Two class attributes tell a study how to fit a model without asking for its name: ``uses_validation`` (``fit(panel,
val_panel)`` with early stopping on later months) and ``needs_factor_returns`` (``fit(panel,
factor_returns=...)`` with observable factors).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from latentquant._math import running_mean, uncentred_r2
from latentquant.base import BaseModel
from latentquant.data.panel import Panel
from latentquant.exceptions import DataValidationError

__all__ = [
    "BasePricingModel",
    "LinearFactorModel",
    "check_characteristics",
    "check_panel",
    "factor_names",
    "running_premia",
]


def factor_names(k: int) -> list[str]:
    """Column labels ``f1 … fK`` of latent factors.

    Examples
    --------
    >>> factor_names(2)
    ['f1', 'f2']
    """
    return [f"f{j + 1}" for j in range(k)]


def check_panel(panel: Any, name: str = "panel") -> Panel:
    """``panel`` if it is a :class:`~latentquant.data.Panel`, else a :class:`DataValidationError` naming ``name``.

    Examples
    --------
    >>> check_panel(pd.DataFrame())
    Traceback (most recent call last):
    ...
    latentquant.exceptions.DataValidationError: panel must be a latentquant Panel, got DataFrame; build one with \
Panel(returns, characteristics).
    """
    if not isinstance(panel, Panel):
        raise DataValidationError(f"{name} must be a latentquant Panel, got {type(panel).__name__}; build one with "
                                  "Panel(returns, characteristics).")
    return panel


def check_characteristics(panel: Panel, fitted_on: Iterable[Any]) -> None:
    """Raise a :class:`DataValidationError` unless ``panel`` has the characteristic columns ``fitted_on``, in order.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([[1], ["a"]], names=["date", "asset"])
    >>> p = Panel(pd.Series([0.01], index=idx), pd.DataFrame({"size": [0.5]}, index=idx))
    >>> check_characteristics(p, ["size"])
    """
    columns, expected = list(panel.characteristics.columns), list(fitted_on)
    if columns != expected:
        raise DataValidationError(
            f"panel characteristics {columns[:5]}… differ from those the model was fitted on "
            f"({expected[:5]}…); use the same columns in the same order."
        )


def running_premia(factors: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    r"""Factor premia :math:`\hat\lambda_{t-1}` for the dates of ``factors``: the mean of the factors of ``history``
    and of the rows of ``factors`` strictly before ``t``. A first date without any earlier factor gets 0.

    Parameters
    ----------
    factors : pandas.DataFrame
        :math:`\hat f_t` on the evaluation dates, dates × K, sorted.
    history : pandas.DataFrame, optional
        The same model's factors on earlier dates (e.g. the training months), dates × K.

    Returns
    -------
    pandas.DataFrame
        Same index and columns as ``factors``.

    Examples
    --------
    >>> f = pd.DataFrame({"f1": [4.0, 6.0]}, index=[3, 4])
    >>> running_premia(f, history=pd.DataFrame({"f1": [1.0, 3.0]}, index=[1, 2]))["f1"].tolist()
    [2.0, 2.6666666666666665]
    >>> running_premia(f)["f1"].tolist()
    [0.0, 4.0]
    """
    if history is not None and len(history) and len(factors) and not history.index[-1] < factors.index[0]:
        raise DataValidationError(
            f"history must end before the panel starts, got history up to {history.index[-1]!s} and a panel from "
            f"{factors.index[0]!s}; pass the months before the evaluation panel (e.g. the training panel)."
        )
    full = factors if history is None else pd.concat([history, factors])
    lam = running_mean(full).loc[factors.index]
    if lam.isna().any().any():
        lam = lam.fillna(0.0)  # the very first month has no history: predict 0
    return lam


class BasePricingModel(BaseModel):
    """Base of the asset-pricing models (see the module docstring for the interface).

    Subclasses implement ``fit``, ``betas`` and ``factors`` (and ``fitted``/``predicted`` when they are not
    :math:`\\hat\\beta^\\top\\hat f` and :math:`\\hat\\beta^\\top\\hat\\lambda` row by row); ``score`` follows.

    Examples
    --------
    >>> from latentquant.data import simulate_panel
    >>> from latentquant.models.pricing import PCAFactors
    >>> sim = simulate_panel(n_assets=30, n_periods=36, n_chars=4, n_factors=2, seed=0)
    >>> model = PCAFactors(n_factors=2).fit(sim.panel)
    >>> isinstance(model, BasePricingModel), model.fitted(sim.panel).shape == model.predicted(sim.panel).shape
    (True, True)
    >>> r, r_hat = sim.panel.returns, model.fitted(sim.panel)
    >>> bool(abs(model.score(sim.panel) - (1 - ((r - r_hat) ** 2).sum() / (r**2).sum())) < 1e-12)
    True
    """

    _fit_hint: ClassVar[str] = "call fit(panel) first"
    #: ``fit(panel, val_panel=None)`` early-stops on a validation panel of later months (neural models)
    uses_validation: ClassVar[bool] = False
    #: ``fit(panel, factor_returns=...)`` needs observable factor returns (dates × factors)
    needs_factor_returns: ClassVar[bool] = False

    def betas(self, panel: Panel) -> pd.DataFrame:  # pragma: no cover - every model overrides it
        raise NotImplementedError

    def factors(self, panel: Panel) -> pd.DataFrame:  # pragma: no cover - every model overrides it
        raise NotImplementedError

    def _alpha_values(self, panel: Panel) -> np.ndarray | None:
        """Per-row alphas added to fitted and predicted values (``None``: the model has none)."""
        return None

    def _combine(self, panel: Panel, per_date: pd.DataFrame, name: str) -> pd.Series:
        """Row by row :math:`\\hat\\beta_{i,t-1}^\\top g_t` (+ alpha) for per-date values ``g`` (dates × K)."""
        per_row = per_date.reindex(panel.returns.index.get_level_values(0)).to_numpy()
        if np.isnan(per_row).any():
            raise DataValidationError("factors do not cover every date of the panel; pass factors for every date "
                                      "of panel.dates.")
        out = (self.betas(panel).to_numpy() * per_row).sum(axis=1)
        alphas = self._alpha_values(panel)
        if alphas is not None:
            out = out + alphas
        return pd.Series(out, index=panel.returns.index, name=name)

    def fitted(self, panel: Panel) -> pd.Series:
        """:math:`\\hat\\beta_{i,t-1}^\\top\\hat f_t` (+ alpha) for every row of ``panel`` (the total-R² convention:
        the factors of month ``t``)."""
        self._check_fitted()
        return self._combine(panel, self.factors(panel), "fitted")

    def predicted(self, panel: Panel, history: Panel | None = None) -> pd.Series:
        """:math:`\\hat\\beta_{i,t-1}^\\top\\hat\\lambda_{t-1}` (+ alpha) for every row of ``panel``: the
        predictive-R² convention, no information from month ``t``.

        Parameters
        ----------
        panel : Panel
            The evaluation months.
        history : Panel, optional
            Months before ``panel`` (e.g. the training panel) whose factors start the running mean; without it the
            first month of ``panel`` predicts 0.

        Returns
        -------
        pandas.Series
            Named ``'predicted'``, on ``panel.returns.index``.
        """
        self._check_fitted()
        past = self.factors(check_panel(history, "history")) if history is not None else None
        return self._combine(panel, running_premia(self.factors(panel), past), "predicted")

    def score(self, panel: Panel) -> float:
        """Uncentred total R² on ``panel``: :math:`1-\\sum(r-\\hat r)^2/\\sum r^2` with :math:`\\hat r` =
        :meth:`fitted` (the contemporaneous factors)."""
        return uncentred_r2(panel.returns.to_numpy(np.float64), self.fitted(panel).to_numpy(np.float64),
                            f"{type(self).__name__}.score")


class LinearFactorModel(BasePricingModel):
    """A pricing model whose fitted values are :math:`\\hat\\beta^\\top f` for any factors ``f`` one passes."""

    def fitted(self, panel: Panel, factors: pd.DataFrame | None = None) -> pd.Series:
        """:math:`\\hat\\beta_{i,t-1}^\\top\\hat f_t` (+ alpha) for every row of ``panel``; ``factors`` (dates × K)
        default to :meth:`factors` of the same panel (the total-R² convention)."""
        self._check_fitted()
        return self._combine(panel, self.factors(panel) if factors is None else factors, "fitted")
