"""The immutable results of :mod:`latentquant.evaluation.var_backtest`: one likelihood-ratio coverage test, the ES
test, and the full backtest of one VaR forecast series."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from latentquant.evaluation._results import FieldsResult

__all__ = ["CoverageTest", "ESTest", "VaRBacktest"]


@dataclass(frozen=True)
class CoverageTest(FieldsResult):
    """A likelihood-ratio test on a hit sequence (:func:`kupiec_pof`, :func:`christoffersen_independence`,
    :func:`conditional_coverage`).

    Attributes
    ----------
    test : str
        ``"kupiec_pof"``, ``"christoffersen_independence"`` or ``"conditional_coverage"``.
    statistic : float
        The likelihood ratio.
    pvalue : float
        Its :math:`\\chi^2` tail probability (``dof`` degrees of freedom).
    dof : int
        Degrees of freedom.
    n : int
        Days.
    hits : int
        Exceptions.
    p : float or None
        Expected hit probability (``None`` for the independence test, which does not use it).

    Examples
    --------
    >>> import numpy as np
    >>> from latentquant.evaluation.var_backtest import kupiec_pof
    >>> t = kupiec_pof(np.r_[np.ones(5), np.zeros(245)].astype(bool), 0.01)
    >>> str(t)
    'kupiec_pof: LR 1.96, p-value 0.162 (5 hits in 250 days, expected 2.5)'
    """

    test: str
    statistic: float
    pvalue: float
    dof: int
    n: int
    hits: int
    p: float | None

    _title: ClassVar[str] = "coverage test"

    def __str__(self) -> str:
        expected = "" if self.p is None else f", expected {self.n * self.p:.3g}"
        return (f"{self.test}: LR {self.statistic:.3g}, p-value {self.pvalue:.3g} ({self.hits} hits in {self.n} days"
                f"{expected})")


@dataclass(frozen=True)
class ESTest(FieldsResult):
    r"""Acerbi–Székely's :math:`Z_2` (:func:`acerbi_szekely_z2`).

    Attributes
    ----------
    z2 : float
        The statistic (0 when the ES forecasts are right, negative when they understate the tail).
    pvalue : float
        Monte Carlo p-value :math:`(1 + \#\{Z_2^{null} \le Z_2\}) / (m + 1)` over the ``m`` null draws (one-sided;
        small: the tail is understated; never below :math:`1/(m+1)`).
    n : int
        Days.
    n_draws : int
        Null draws.
    p : float
        Tail probability.

    Examples
    --------
    >>> out = ESTest(z2=-0.42, pvalue=0.013, n=1000, n_draws=500, p=0.025)
    >>> str(out)
    'Z2 -0.42, p-value 0.013 (1000 days, 500 null draws, p=0.025)'
    """

    z2: float
    pvalue: float
    n: int
    n_draws: int
    p: float

    _title: ClassVar[str] = "Acerbi-Szekely Z2"

    def __str__(self) -> str:
        return f"Z2 {self.z2:.3g}, p-value {self.pvalue:.3g} ({self.n} days, {self.n_draws} null draws, p={self.p:g})"


@dataclass(frozen=True)
class VaRBacktest(FieldsResult):
    """Every backtest of one VaR (and ES) forecast series (:func:`var_backtest`).

    Attributes
    ----------
    p : float
        Tail probability.
    n, hits : int
        Days and exceptions.
    hit_rate : float
        ``hits / n`` (compare with ``p``).
    pof_lr, pof_pvalue : float
        Kupiec's proportion of failures.
    ind_lr, ind_pvalue : float
        Christoffersen's independence.
    cc_lr, cc_pvalue : float
        Conditional coverage.
    z2, z2_pvalue : float or None
        Acerbi–Székely's ES test (``None`` without ES forecasts and null draws).

    Examples
    --------
    >>> import numpy as np
    >>> from latentquant.evaluation.var_backtest import var_backtest
    >>> rng = np.random.default_rng(0)
    >>> r = rng.standard_normal(1000)
    >>> bt = var_backtest(r, np.full(1000, 2.326), p=0.01)  # the true 99% VaR of N(0, 1)
    >>> bt.hits, round(bt.pof_pvalue, 3), bt.z2 is None
    (14, 0.231, True)
    """

    p: float
    n: int
    hits: int
    hit_rate: float
    pof_lr: float
    pof_pvalue: float
    ind_lr: float
    ind_pvalue: float
    cc_lr: float
    cc_pvalue: float
    z2: float | None = None
    z2_pvalue: float | None = None

    _title: ClassVar[str] = "VaR backtest"

    def __str__(self) -> str:
        es = "" if self.z2 is None else f"; ES Z2 {self.z2:.3g} (p {self.z2_pvalue:.3g})"
        return (f"{self.hits} hits in {self.n} days ({self.hit_rate:.2%} vs {self.p:.2%}): Kupiec p "
                f"{self.pof_pvalue:.3g}, independence p {self.ind_pvalue:.3g}, conditional coverage p "
                f"{self.cc_pvalue:.3g}{es}")
