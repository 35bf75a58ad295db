"""Asset-pricing evaluation: uncentred total and predictive R², pricing errors with Newey–West t-statistics, GRS test.

Conventions (REFERENCE §4.3, Gu, Kelly & Xiu "Autoencoder Asset Pricing Models"):

* Panels are *long*: pandas objects indexed by a 2-level :class:`~pandas.MultiIndex` ``(date, asset)``. Wide tables
  (dates × assets) are accepted where noted and stacked to long form (missing cells dropped).
* R² are **uncentred** and pooled over all ``(i, t)`` cells: ``1 − Σ (r − r̂)² / Σ r²``. The benchmark is a zero
  prediction, not the sample mean, so ``sklearn.metrics.r2_score`` (centred) is the wrong tool here.
* Predictive R² uses the running mean of the factors up to ``t − 1`` as the factor premium ``λ̂_{t−1}``, never last
  month's factor realisation.

The formulas themselves (uncentred R², running mean, Newey–West) live once in :mod:`latentquant._math`, which the
models call too; the functions here validate their inputs and delegate. The R² family (:func:`total_r2`,
:func:`running_mean_lambda`, :func:`predictive_r2`) lives in the private module ``_pricing_r2.py`` and is
re-exported here.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from latentquant._math import newey_west_lrv
from latentquant.evaluation._pricing_r2 import _check_factors as _check_factors
from latentquant.evaluation._pricing_r2 import _to_long, predictive_r2, running_mean_lambda, total_r2
from latentquant.exceptions import ConfigError, DataValidationError

__all__ = [
    "GRSTestResult",
    "count_significant",
    "grs_test",
    "predictive_r2",
    "pricing_errors",
    "running_mean_lambda",
    "total_r2",
]


# --------------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------------
def _check_lags(nw_lags: Any) -> int | None:
    if nw_lags is None:
        return None
    if isinstance(nw_lags, bool) or not isinstance(nw_lags, Integral) or int(nw_lags) < 0:
        raise ConfigError(f"nw_lags must be a non-negative integer or None (automatic), got {nw_lags!r}.")
    return int(nw_lags)


# --------------------------------------------------------------------------------------------------------------------
# pricing errors
# --------------------------------------------------------------------------------------------------------------------
def _nw_se_of_mean(x: np.ndarray, lags: int) -> float:
    """Newey–West (Bartlett) standard error of the mean, autocovariances with divisor T (population convention)."""
    t = x.size
    var = float(newey_west_lrv(x - x.mean(), lags)[0, 0]) / t
    return math.sqrt(max(var, 0.0) / t)


def pricing_errors(residuals: Any, *, nw_lags: int | None = None) -> pd.DataFrame:
    """Per-asset pricing errors ``α_i = mean_t u_{i,t}`` with Newey–West t-statistics.

    Parameters
    ----------
    residuals : pandas.DataFrame (wide, dates × assets) or pandas.Series (long, (date, asset) MultiIndex)
        Pricing residuals ``u_{i,t} = r_{i,t} − r̂_{i,t}``. Missing cells are dropped per asset (the remaining
        observations are treated as consecutive).
    nw_lags : int or None
        Bartlett lags; ``None`` uses ``floor(4 (T_i/100)^(2/9))`` per asset. ``0`` gives the iid standard error.

    Returns
    -------
    pandas.DataFrame
        One row per asset: ``alpha``, ``se`` (Newey–West standard error of the mean, autocovariances divided by
        ``T``, so ``nw_lags=0`` equals ``std(ddof=0) / √T``), ``t_stat`` (``alpha / se``), ``n_obs``, ``nw_lags``.
        Assets with fewer than 2 observations get NaN ``se`` and ``t_stat``.

    Examples
    --------
    >>> u = pd.DataFrame({"a": [1.0, -1.0, 1.0, -1.0], "b": [1.0, 2.0, 3.0, 2.0]})
    >>> pricing_errors(u, nw_lags=0)[["alpha", "se", "n_obs"]]
       alpha        se  n_obs
    a    0.0  0.500000      4
    b    2.0  0.353553      4
    """
    lags = _check_lags(nw_lags)
    if isinstance(residuals, pd.Series):
        if not isinstance(residuals.index, pd.MultiIndex) or residuals.index.nlevels != 2:
            raise DataValidationError(
                "residuals Series must be indexed by a 2-level MultiIndex (date, asset), got a "
                f"{type(residuals.index).__name__}; pass a wide DataFrame (dates × assets) or set the index."
            )
        wide = _to_long(residuals, "residuals").unstack(level=1)
    elif isinstance(residuals, pd.DataFrame):
        wide = residuals.astype(np.float64) if not isinstance(residuals.index, pd.MultiIndex) \
            else _to_long(residuals, "residuals").unstack(level=1)
    else:
        raise DataValidationError(
            f"residuals must be a wide DataFrame (dates × assets) or a long Series, got {type(residuals).__name__}."
        )
    if wide.empty:
        raise DataValidationError("residuals is empty; pass at least one date and one asset.")
    rows = []
    for asset in wide.columns:
        col = wide[asset].to_numpy(dtype=np.float64)
        x = col[np.isfinite(col)]
        n = int(x.size)
        lag = lags if lags is not None else math.floor(4.0 * (n / 100.0) ** (2.0 / 9.0))
        alpha = float(x.mean()) if n else math.nan
        se = _nw_se_of_mean(x, lag) if n >= 2 else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            t_stat = float(np.float64(alpha) / np.float64(se))
        rows.append((alpha, se, t_stat, n, lag))
    out = pd.DataFrame(rows, index=wide.columns, columns=["alpha", "se", "t_stat", "n_obs", "nw_lags"])
    out.index.name = wide.columns.name
    return out


def count_significant(alphas_table: pd.DataFrame, threshold: float = 3.0) -> int:
    """Number of assets with ``|t_stat| > threshold`` in a :func:`pricing_errors` table (GKX count ``|t| > 3``).

    Parameters
    ----------
    alphas_table : pandas.DataFrame
        The output of :func:`pricing_errors` (any table with a ``t_stat`` column); NaN t-statistics do not count.
    threshold : float, default 3.0
        Positive cut-off of the absolute t-statistic.

    Returns
    -------
    int

    Examples
    --------
    >>> count_significant(pd.DataFrame({"t_stat": [0.5, -3.5, 4.0, np.nan]}))
    2
    """
    if not isinstance(alphas_table, pd.DataFrame) or "t_stat" not in alphas_table.columns:
        raise DataValidationError(
            "alphas_table must be a DataFrame with a 't_stat' column; pass the output of pricing_errors(...)."
        )
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not float(threshold) > 0:
        raise ConfigError(f"threshold must be a positive number, got {threshold!r}; GKX use 3.0.")
    return int((alphas_table["t_stat"].abs() > float(threshold)).sum())


# --------------------------------------------------------------------------------------------------------------------
# GRS
# --------------------------------------------------------------------------------------------------------------------
_FORMATS = ("text", "markdown", "html", "latex")


def _render(title: str, rows: list[tuple[str, str]], fmt: str) -> str:
    """A two-column table of labelled values as plain text, Markdown, HTML or LaTeX (for ``summary`` methods)."""
    if fmt == "text":
        width = max(len(k) for k, _ in rows)
        return "\n".join([title, *(f"  {k.ljust(width)}  {v}" for k, v in rows)])
    if fmt == "markdown":
        return "\n".join([f"**{title}**", "", "| | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])
    if fmt == "html":
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table><caption>{html.escape(title)}</caption>{body}</table>"
    if fmt == "latex":
        def tex(text: str) -> str:
            return "".join("\\" + c if c in "&%$#_{}" else c for c in text)

        body = "\n".join(f"{tex(k)} & {tex(v)} \\\\" for k, v in rows)
        head = f"\\multicolumn{{2}}{{l}}{{{tex(title)}}} \\\\"
        return f"\\begin{{tabular}}{{lr}}\n{head}\n\\hline\n{body}\n\\end{{tabular}}"
    raise ConfigError(f"fmt must be one of {list(_FORMATS)}, got {fmt!r}.")


@dataclass(frozen=True)
class GRSTestResult:
    """The Gibbons–Ross–Shanken test of :math:`\\alpha = 0` (see :func:`grs_test`).

    Attributes
    ----------
    statistic : float
        The GRS F statistic.
    pvalue : float
        Its p-value under :math:`F(N, T-N-K)`.
    df_num, df_denom : int
        Numerator (``N`` test assets) and denominator (``T − N − K``) degrees of freedom.
    n_periods, n_assets, n_factors : int
        ``T``, ``N`` and ``K``.

    Examples
    --------
    >>> res = GRSTestResult(statistic=1.5, pvalue=0.2, df_num=5, df_denom=233, n_periods=240, n_assets=5,
    ...                     n_factors=2)
    >>> print(res.summary())
    GRS test of zero alphas
      statistic  1.5000
      p-value    0.2000
      F df       (5, 233)
      T, N, K    240, 5, 2
    >>> res.to_dict()["pvalue"]
    0.2
    """

    statistic: float
    pvalue: float
    df_num: int
    df_denom: int
    n_periods: int
    n_assets: int
    n_factors: int

    def summary(self, fmt: str = "text") -> str:
        """The test as ``'text'``, ``'markdown'``, ``'html'`` or ``'latex'``."""
        rows = [("statistic", f"{self.statistic:.4f}"), ("p-value", f"{self.pvalue:.4g}" if self.pvalue < 1e-4
                                                         else f"{self.pvalue:.4f}"),
                ("F df", f"({self.df_num}, {self.df_denom})"),
                ("T, N, K", f"{self.n_periods}, {self.n_assets}, {self.n_factors}")]
        return _render("GRS test of zero alphas", rows, fmt)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain Python numbers."""
        return asdict(self)

    # deprecated tuple behaviour: grs_test used to return (statistic, pvalue)
    def _as_tuple(self) -> tuple[float, float]:
        warnings.warn("grs_test now returns a GRSTestResult; unpacking or indexing it as (statistic, pvalue) is "
                      "deprecated and will be removed in the next release: use result.statistic and result.pvalue.",
                      FutureWarning, stacklevel=3)
        return self.statistic, self.pvalue

    def __iter__(self) -> Iterator[float]:
        return iter(self._as_tuple())

    def __getitem__(self, item: int) -> float:
        return self._as_tuple()[item]

    def __len__(self) -> int:
        return 2


def grs_test(excess_returns: Any, factors: Any) -> GRSTestResult:
    """Gibbons–Ross–Shanken F test of ``α = 0`` for N test assets priced by K traded factors.

    Runs the time-series OLS ``r_{i,t} = α_i + β_iᵀ f_t + e_{i,t}`` for each asset and computes

    ``GRS = (T/N) · ((T−N−K)/(T−K−1)) · α̂ᵀ Σ̂⁻¹ α̂ / (1 + μ̄ᵀ Ω̂⁻¹ μ̄) ~ F(N, T−N−K)``

    with ``Σ̂`` the residual covariance (divisor ``T−K−1``), ``μ̄`` the factor means and ``Ω̂`` the factor covariance
    with divisor ``T`` (maximum likelihood). With divisor ``T``, ``(1 + μ̄ᵀΩ̂⁻¹μ̄)/T`` is exactly the ``(0, 0)`` entry
    of ``(XᵀX)⁻¹``, the OLS variance factor of the intercepts, so the statistic is exactly F-distributed under
    normal errors. (Divisor ``T−1``, used in some code, differs by ``O(1/T)``.)

    Parameters
    ----------
    excess_returns : pandas.DataFrame or numpy.ndarray
        T × N excess returns of the test assets (portfolios), no missing values.
    factors : pandas.DataFrame, pandas.Series or numpy.ndarray
        T × K excess returns of the traded factors. Pandas inputs must have the same dates as ``excess_returns``.

    Returns
    -------
    GRSTestResult
        ``statistic``, ``pvalue``, the degrees of freedom, ``summary()`` and ``to_dict()``. (Unpacking it as
        ``stat, p = grs_test(...)``, the tuple of earlier releases, still works with a ``FutureWarning``.)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(0.005, 0.04, size=(240, 1))
    >>> r = f @ np.ones((1, 5)) + rng.normal(0.0, 0.02, size=(240, 5))  # no alphas
    >>> res = grs_test(r, f)
    >>> (res.df_num, res.df_denom), bool(res.pvalue > 0.01)
    ((5, 234), True)
    """
    if isinstance(excess_returns, pd.DataFrame | pd.Series) and isinstance(factors, pd.DataFrame | pd.Series):
        if isinstance(excess_returns.index, pd.MultiIndex):
            raise DataValidationError(
                "excess_returns must be wide (dates × assets) for grs_test, got a MultiIndex; "
                "use excess_returns.unstack('asset')."
            )
        if not excess_returns.index.equals(factors.index):
            if set(excess_returns.index) != set(factors.index) or len(excess_returns) != len(factors):
                only = excess_returns.index.symmetric_difference(factors.index)
                raise DataValidationError(
                    f"excess_returns and factors have different dates (first differing: {only[0]!r} of "
                    f"{len(only)}); align them, e.g. excess_returns, factors = excess_returns.align(factors, "
                    "join='inner', axis=0)."
                )
            factors = factors.loc[excess_returns.index]
    r = np.asarray(excess_returns, dtype=np.float64)
    f = np.asarray(factors, dtype=np.float64)
    if r.ndim == 1:
        r = r[:, None]
    if f.ndim == 1:
        f = f[:, None]
    if r.ndim != 2 or f.ndim != 2 or r.shape[0] != f.shape[0]:
        raise DataValidationError(
            f"excess_returns has shape {r.shape} and factors {f.shape}; both must be 2-D with the same number of "
            "rows (dates)."
        )
    if not (np.isfinite(r).all() and np.isfinite(f).all()):
        raise DataValidationError("excess_returns or factors contain NaN/inf; drop those dates from both first.")
    t, n = r.shape
    k = f.shape[1]
    if t <= n + k:
        raise DataValidationError(
            f"GRS needs T > N + K, got T={t} dates for N={n} assets and K={k} factors; use fewer test assets "
            "or a longer sample."
        )
    x = np.column_stack([np.ones(t), f])
    coef, *_ = np.linalg.lstsq(x, r, rcond=None)
    resid = r - x @ coef
    alpha = coef[0]
    sigma = resid.T @ resid / (t - k - 1)
    mu = f.mean(axis=0)
    fc = f - mu
    omega = fc.T @ fc / t
    try:
        quad_a = float(alpha @ np.linalg.solve(sigma, alpha))
        quad_f = float(mu @ np.linalg.solve(omega, mu))
    except np.linalg.LinAlgError:
        raise DataValidationError(
            "the residual or factor covariance matrix is singular (collinear assets or factors); drop redundant "
            "columns."
        ) from None
    stat = (t / n) * ((t - n - k) / (t - k - 1)) * quad_a / (1.0 + quad_f)
    p_value = float(stats.f.sf(stat, n, t - n - k))
    return GRSTestResult(statistic=float(stat), pvalue=p_value, df_num=n, df_denom=t - n - k, n_periods=t, n_assets=n,
                         n_factors=k)
