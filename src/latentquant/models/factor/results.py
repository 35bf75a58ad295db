r"""What the VAE factor model hands out: the factor posterior of each date and portfolio risk decompositions.

Both are read-only: :class:`FactorEncoding` is a named tuple of two frames built fresh on every call, and
:class:`RiskDecomposition` is a frozen dataclass whose pandas properties return copies, so changing a returned Series
never changes the result (or its :meth:`~RiskDecomposition.table`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from latentquant._math import kl_standard_normal
from latentquant.base import register_codec

__all__ = ["FactorEncoding", "RiskDecomposition"]


class FactorEncoding(NamedTuple):
    """Posterior of the factors on each date: means and standard deviations (dates × ``f1..fK``).

    Attributes
    ----------
    mean : pandas.DataFrame
        Posterior means :math:`\\mu_t`, dates × factors.
    std : pandas.DataFrame
        Posterior standard deviations :math:`\\sigma_t`, same shape.

    Examples
    --------
    >>> import pandas as pd
    >>> enc = FactorEncoding(pd.DataFrame({"f1": [0.5]}), pd.DataFrame({"f1": [0.1]}))
    >>> means, stds = enc
    >>> float(stds.loc[0, "f1"])
    0.1
    """

    mean: pd.DataFrame
    std: pd.DataFrame

    def kl_per_factor(self) -> pd.Series:
        r"""Mean over dates of each factor's :math:`\mathrm{KL}(\mathcal N(\mu_t,\sigma_t^2)\Vert\mathcal N(0,1))`
        in nats (``kl_nats``); a factor below 0.01 has collapsed to the prior (an inactive unit).

        Examples
        --------
        >>> enc = FactorEncoding(pd.DataFrame({"f1": [1.0, -1.0]}), pd.DataFrame({"f1": [1.0, 1.0]}))
        >>> enc.kl_per_factor().tolist()  # ½μ² with σ = 1
        [0.5]
        """
        mu, sd = self.mean.to_numpy(), self.std.to_numpy()
        var = sd**2
        kl = kl_standard_normal(mu, np.log(var), var=var)
        return pd.Series(kl.mean(axis=0), index=list(self.mean.columns), name="kl_nats")


# a fitted model keeps its training-span encoding; persistence stores the two frames and rebuilds the named tuple
register_codec("FactorEncoding", FactorEncoding,
               lambda value, enc: {"mean": enc.encode(value.mean), "std": enc.encode(value.std)},
               lambda data, dec: FactorEncoding(dec.decode(data["mean"]), dec.decode(data["std"])))


def _frozen_series(values: pd.Series) -> pd.Series:
    return pd.Series(np.array(values.to_numpy(dtype=np.float64), copy=True), index=values.index.copy(),
                     name=values.name, dtype=np.float64)


@dataclass(frozen=True, eq=False, init=False)
class RiskDecomposition:
    r"""Portfolio variance split into factor and idiosyncratic parts (per-period variance, model units).

    Linearised model: :math:`x \approx m + Bz + e`, :math:`z\sim(\,\cdot\,,\Sigma_z)`, :math:`e\sim(0,D)`, so for
    weights :math:`w` the portfolio variance is :math:`w^\top B\Sigma_z B^\top w + w^\top D w`. With factor exposures
    :math:`b=B^\top w` the Euler contribution of factor :math:`k` is :math:`b_k(\Sigma_z b)_k`; these sum to the
    factor variance :math:`b^\top\Sigma_z b` exactly. Asset contributions :math:`w_i(\Sigma w)_i` sum to the total.

    The result is immutable: the pandas properties return copies.

    Parameters
    ----------
    method : {'linear', 'monte_carlo'}
        How the decomposition was computed.
    total_variance, factor_variance, idiosyncratic_variance : float
        Per-period variances of the portfolio's log return.
    factor_contributions : pandas.Series
        Contribution of each factor ``f1..fK``. For ``'monte_carlo'``: the covariance of the portfolio with the
        portfolio moved by that factor alone; these sum to the factor variance for a linear decoder, and the part a
        nonlinear decoder leaves over is ``interaction``.
    asset_contributions : pandas.Series
        Euler contribution of each asset to the total variance (linear method only; empty for Monte Carlo).
    exposures : pandas.Series
        Portfolio exposure to each factor, :math:`b = B^\top w`.
    interaction : float
        Monte Carlo only: factor variance not attributed to a single factor.
    n_samples : int
        Monte Carlo draws (0 for the linear method).
    periods_per_year : int
        Used by :meth:`summary` and :meth:`table` to annualise volatilities (√periods convention).

    Examples
    --------
    >>> import pandas as pd
    >>> rd = RiskDecomposition("linear", total_variance=4.0, factor_variance=3.0, idiosyncratic_variance=1.0,
    ...                        factor_contributions=pd.Series({"f1": 2.0, "f2": 1.0}),
    ...                        asset_contributions=pd.Series({"A": 4.0}), exposures=pd.Series({"f1": 1.0, "f2": 0.5}))
    >>> rd.factor_share
    0.75
    >>> changed = rd.factor_contributions
    >>> changed["f1"] = 99.0  # a copy: the result is unchanged
    >>> float(rd.table().loc["f1", "variance"])
    2.0
    """

    method: str
    total_variance: float
    factor_variance: float
    idiosyncratic_variance: float
    interaction: float
    n_samples: int
    periods_per_year: int
    _factor_contributions: pd.Series = field(repr=False)
    _asset_contributions: pd.Series = field(repr=False)
    _exposures: pd.Series = field(repr=False)

    def __init__(self, method: str, total_variance: float, factor_variance: float, idiosyncratic_variance: float,
                 factor_contributions: pd.Series, asset_contributions: pd.Series, exposures: pd.Series,
                 interaction: float = 0.0, n_samples: int = 0, periods_per_year: int = 252) -> None:
        values: dict[str, Any] = {
            "method": str(method), "total_variance": float(total_variance), "factor_variance": float(factor_variance),
            "idiosyncratic_variance": float(idiosyncratic_variance), "interaction": float(interaction),
            "n_samples": int(n_samples), "periods_per_year": int(periods_per_year),
            "_factor_contributions": _frozen_series(factor_contributions),
            "_asset_contributions": _frozen_series(asset_contributions),
            "_exposures": _frozen_series(exposures),
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @property
    def factor_contributions(self) -> pd.Series:
        """Contribution of each factor to the portfolio variance (a copy)."""
        return self._factor_contributions.copy()

    @property
    def asset_contributions(self) -> pd.Series:
        """Euler contribution of each asset to the total variance (a copy; empty for Monte Carlo)."""
        return self._asset_contributions.copy()

    @property
    def exposures(self) -> pd.Series:
        r"""Portfolio exposure to each factor, :math:`b = B^\top w` (a copy)."""
        return self._exposures.copy()

    @property
    def factor_share(self) -> float:
        """Share of the portfolio variance explained by the factors."""
        return self.factor_variance / self.total_variance

    def table(self) -> pd.DataFrame:
        """One row per factor plus ``idiosyncratic`` (and ``interaction`` for Monte Carlo) and ``total``:
        variance, share of total variance, and annualised volatility equivalent of each variance."""
        rows = dict(self._factor_contributions.items())
        if self.method == "monte_carlo":
            rows["interaction"] = self.interaction
        rows["factor total"] = self.factor_variance
        rows["idiosyncratic"] = self.idiosyncratic_variance
        rows["total"] = self.total_variance
        var = pd.Series(rows, name="variance", dtype=np.float64)
        out = var.to_frame()
        out["share"] = var / self.total_variance
        out["ann_vol_equivalent"] = np.sign(var) * np.sqrt(np.abs(var) * self.periods_per_year)
        return out

    def summary(self) -> str:
        """One line: annualised portfolio volatility and the factor / idiosyncratic shares of its variance."""
        vol = np.sqrt(self.total_variance * self.periods_per_year)
        return (f"Portfolio volatility {vol:.2%} a year (√{self.periods_per_year}); factors {self.factor_share:.1%} "
                f"of variance, idiosyncratic {1 - self.factor_share:.1%} ({self.method}).")

    def to_dict(self) -> dict[str, Any]:
        """Every number as plain Python values (JSON-ready; asset names as strings)."""
        return {
            "method": self.method, "total_variance": self.total_variance, "factor_variance": self.factor_variance,
            "idiosyncratic_variance": self.idiosyncratic_variance, "factor_share": self.factor_share,
            "interaction": self.interaction, "n_samples": self.n_samples,
            "factor_contributions": self._factor_contributions.to_dict(),
            "asset_contributions": {str(k): v for k, v in self._asset_contributions.items()},
            "exposures": self._exposures.to_dict(), "periods_per_year": self.periods_per_year,
        }
