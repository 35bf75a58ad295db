r"""Characteristic importance of fitted asset-pricing models and the portfolio-level total R² (REFERENCE §4.3).

Variable importance (Gu, Kelly & Xiu 2021): for each characteristic :math:`j`, set it to 0 for every ``(i, t)`` —
the cross-sectional median on the rank scale — and recompute the uncentred total R² with the **fitted** model (its
parameters are not re-estimated):

.. math::

    \mathrm{imp}_j = R^2 - R^2_{(j)}, \qquad
    R^2_{(j)} = 1 - \frac{\sum_{i,t}(r_{i,t} - \hat r^{(j)}_{i,t})^2}{\sum_{i,t} r_{i,t}^2},

where :math:`\hat r^{(j)} = ` ``model.fitted(panel_j)`` on the modified panel; whatever the model computes from the
panel in ``fitted`` (betas, and for IPCA or an autoencoder the period's factors) is recomputed from the modified
characteristics, as in GKX. With ``normalize=True`` the importances are clipped at 0 (a characteristic whose removal
*raises* R² is treated as unimportant rather than as a negative share) and divided by their sum, so they sum to 1
for heat maps.

:func:`portfolio_total_r2` is the total R² at the managed-portfolio level: the managed portfolios :math:`x_t` of the
returns against the same portfolios of the fitted returns, :math:`\hat x_t` (see
:func:`~latentquant.data.portfolios.portfolio_level`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from latentquant.data.panel import Panel
from latentquant.data.portfolios import portfolio_level
from latentquant.evaluation.pricing import total_r2
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

__all__ = ["characteristic_importance", "importance_table", "portfolio_total_r2"]


class PricingModel(Protocol):
    """Anything with ``fitted(panel) -> Series`` of fitted returns on the panel's ``(date, asset)`` index."""

    def fitted(self, panel: Panel) -> pd.Series: ...


def _check_model(model: Any, name: str = "model") -> None:
    if not callable(getattr(model, "fitted", None)):
        raise DataValidationError(f"{name} ({type(model).__name__}) has no fitted(panel) method; pass a fitted "
                                  "pricing model such as InstrumentedPCA, PCAFactors or FamaFrench.")


def _check_panel(panel: Any) -> Panel:
    if not isinstance(panel, Panel):
        raise DataValidationError(f"panel must be a latentquant Panel, got {type(panel).__name__}.")
    if panel.characteristics.shape[1] == 0:
        raise DataValidationError("panel has no characteristics; characteristic importance needs at least one.")
    return panel


def characteristic_importance(model: PricingModel, panel: Panel, *, normalize: bool = True) -> pd.Series:
    r"""Drop in total R² when each characteristic is set to 0, with the model held fixed.

    Parameters
    ----------
    model : fitted pricing model
        Any object with ``fitted(panel)`` returning the fitted returns on the panel's index (InstrumentedPCA,
        PCAFactors, FamaFrench, …). It is only evaluated, never refitted.
    panel : Panel
        The evaluation panel (aligned, rank-transformed characteristics, as the model was fitted on).
    normalize : bool
        Clip negative drops at 0 and divide by their sum (importances sum to 1). If no characteristic lowers R², a
        ``DataWarning`` is issued and the clipped (all-zero) importances are returned.

    Returns
    -------
    pandas.Series
        Importance per characteristic (index named ``'characteristic'``, in the panel's column order).

    Raises
    ------
    DataValidationError
        ``model`` without ``fitted``, ``panel`` not a Panel or without characteristics.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([range(3), range(4)], names=["date", "asset"])
    >>> z = pd.DataFrame({"a": [1.0, -1.0, 0.5, -0.5] * 3, "b": [0.3, 0.1, -0.2, 0.4] * 3}, index=idx)
    >>> class OnlyA:  # fitted return = 0.1 · characteristic a
    ...     def fitted(self, panel):
    ...         return 0.1 * panel.characteristics["a"]
    >>> p = Panel(0.1 * z["a"], z)
    >>> characteristic_importance(OnlyA(), p).tolist()
    [1.0, 0.0]
    """
    _check_model(model)
    panel = _check_panel(panel)
    full = total_r2(panel.returns, model.fitted(panel))
    chars = panel.characteristics
    drops = {}
    for col in chars.columns:
        zeroed = chars.copy()
        zeroed[col] = 0.0
        panel_j = Panel(panel.returns, zeroed, min_assets=panel.min_assets)
        drops[col] = full - total_r2(panel_j.returns, model.fitted(panel_j))
    out = pd.Series(drops, dtype=np.float64, name="importance")
    out.index.name = "characteristic"
    if normalize:
        out = out.clip(lower=0.0)
        total = float(out.sum())
        if total > 0.0:
            out = out / total
        else:
            warnings.warn(f"characteristic_importance: no characteristic lowers the total R² of "
                          f"{type(model).__name__} when set to 0; returning all-zero importances.",
                          DataWarning, stacklevel=2)
    return out


def importance_table(models: Mapping[str, PricingModel], panel: Panel, *, normalize: bool = True) -> pd.DataFrame:
    """Characteristic importances of several fitted models side by side, characteristics × models (for heat maps).

    Each column is :func:`characteristic_importance` of one model on ``panel``; columns follow the mapping's order.

    Parameters
    ----------
    models : mapping of str to fitted pricing model
        Name → model with ``fitted(panel)``.
    panel : Panel
        The evaluation panel.
    normalize : bool, default True
        Passed to :func:`characteristic_importance`.

    Returns
    -------
    pandas.DataFrame
        Characteristics × models.

    Raises
    ------
    ConfigError
        ``models`` is not a non-empty mapping of names to models.
    DataValidationError
        A model without ``fitted``, or an invalid panel.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([range(3), range(4)], names=["date", "asset"])
    >>> z = pd.DataFrame({"a": [1.0, -1.0, 0.5, -0.5] * 3, "b": [0.3, 0.1, -0.2, 0.4] * 3}, index=idx)
    >>> class Uses:  # fitted return = 0.1 · one characteristic
    ...     def __init__(self, column):
    ...         self.column = column
    ...     def fitted(self, panel):
    ...         return 0.1 * panel.characteristics[self.column]
    >>> table = importance_table({"A-model": Uses("a"), "B-model": Uses("b")}, Panel(0.1 * z["a"] + 0.1 * z["b"], z))
    >>> table.to_dict(orient="index")
    {'a': {'A-model': 1.0, 'B-model': 0.0}, 'b': {'A-model': 0.0, 'B-model': 1.0}}
    """
    if not isinstance(models, Mapping) or not models:
        raise ConfigError(f"models must be a non-empty mapping {{name: fitted model}}, got {models!r:.80}.")
    for name, model in models.items():
        _check_model(model, f"models[{name!r}]")
    panel = _check_panel(panel)
    table = pd.DataFrame({name: characteristic_importance(model, panel, normalize=normalize)
                          for name, model in models.items()})
    table.index.name = "characteristic"
    table.columns.name = "model"
    return table


def portfolio_total_r2(panel: Panel, fitted: pd.Series | np.ndarray, method: str = "gkx") -> float:
    r"""Uncentred total R² at the managed-portfolio level, pooled over dates and portfolios.

    :math:`1 - \sum_{t,j}(x_{t,j} - \hat x_{t,j})^2 / \sum_{t,j} x_{t,j}^2` with :math:`x_t` the managed portfolios
    of the returns and :math:`\hat x_t` those of ``fitted`` (same weights; see
    :func:`~latentquant.data.portfolios.portfolio_level`).

    Parameters
    ----------
    panel : Panel
        Returns and (lagged) characteristics that define the managed portfolios.
    fitted : pandas.Series or numpy.ndarray
        Fitted returns on the panel's rows.
    method : {"gkx", "mean"}, default "gkx"
        Managed-portfolio weights (see :func:`~latentquant.data.managed_portfolios`).

    Returns
    -------
    float

    Raises
    ------
    ConfigError
        Unknown ``method``.
    DataValidationError
        ``fitted`` not covering the panel's rows; all managed portfolio returns zero.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["2020-01"], ["a", "b"]], names=["date", "asset"])
    >>> p = Panel(pd.Series([0.02, -0.02], index=idx), pd.DataFrame({"mom": [1.0, -1.0]}, index=idx))
    >>> portfolio_total_r2(p, pd.Series([0.01, -0.01], index=idx), method="mean")  # x = 0.02, x̂ = 0.01
    0.75
    """
    panel = _check_panel(panel)
    x = portfolio_level(panel, panel.returns, method)
    x_hat = portfolio_level(panel, fitted, method)
    return total_r2(x.to_numpy(np.float64), x_hat.to_numpy(np.float64))
