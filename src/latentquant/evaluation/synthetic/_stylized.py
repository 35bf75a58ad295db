"""The all-in-one stylized-facts report of a return series or set of windows: :func:`stylized_facts` and its
result :class:`StylizedFacts` (the single facts are in :mod:`latentquant.evaluation.synthetic._facts`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from latentquant.evaluation.synthetic._facts import (
    _asymmetry_frame,
    _check_defined,
    _check_finite_ratio,
    _check_horizons,
    _hill_frame,
    _horizon_ok,
)
from latentquant.evaluation.synthetic._panel import (
    DEFAULT_HORIZONS,
    DEFAULT_MAX_LAG,
    DEFAULT_SHORT_LAGS,
    MIN_SUMS,
    _bootstrap_moments,
    _check_bootstrap,
    _check_lags,
    _check_level,
    _estimate_frame,
    _horizon_sums,
    _lag_index,
    _names,
    _Panel,
    _power_law,
    _quantile_ratio,
    _standardized,
    _transform_acf,
    acf_kernel,
    as_panel,
    leverage_kernel,
)
from latentquant.exceptions import DataValidationError
from latentquant.validation import Interval, check_arg

__all__ = ["StylizedFacts", "stylized_facts"]


# --------------------------------------------------------------------------------------------------------------------
# the result and the all-in-one function
# --------------------------------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, Integral):
        return str(int(value))
    return f"{float(value):.4g}"


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class StylizedFacts:
    """The stylized facts of one set of returns (see :func:`stylized_facts`).

    Attributes
    ----------
    features : tuple of str
        Feature names.
    n_paths, length : int
        Number of paths (1 for a series) and their length.
    level : float
        Confidence level of the intervals.
    kurtosis : pandas.DataFrame
        Features × ``estimate``, ``low``, ``high``: excess kurtosis with a block-bootstrap interval.
    asymmetry : pandas.DataFrame
        :func:`gain_loss_asymmetry`: skewness (bootstrap interval) and quantile ratio per feature.
    tail_index : pandas.DataFrame or None
        :func:`hill_tail_index` of both tails; ``None`` when too few values (see ``notes``).
    acf_r, acf_abs, acf_sq : pandas.DataFrame
        Lags × features: ACF of :math:`r` (short lags), of :math:`|r|` and of :math:`r^2` (long lags).
    acf_band : float
        Half-width :math:`z/\\sqrt{nL}` of the band an i.i.d. series' ACF stays within at ``level``.
    power_law : pandas.DataFrame
        :func:`power_law_decay` of ``acf_abs``; features whose ACF of :math:`|r|` has no positive run are left out
        (see ``notes``).
    leverage : pandas.DataFrame
        Lags × features: :func:`leverage_effect`.
    aggregational : pandas.DataFrame
        Horizons × features: :func:`aggregational_gaussianity`.
    correlation : pandas.DataFrame or None
        Pooled correlation matrix of the features (``None`` for one feature); compare two sets with
        :func:`correlation_distance`.
    notes : tuple of str
        What was capped or is undefined, in words.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> facts = stylized_facts(rng.standard_t(4, size=3000), n_boot=200)
    >>> table = facts.to_frame()
    >>> float(table.loc[("excess_kurtosis", "r"), "estimate"]) > 1
    True
    >>> sorted(facts.to_dict())[:3]
    ['acf_abs', 'acf_band', 'acf_r']
    """

    features: tuple[str, ...]
    n_paths: int
    length: int
    level: float
    kurtosis: pd.DataFrame
    asymmetry: pd.DataFrame
    tail_index: pd.DataFrame | None
    acf_r: pd.DataFrame
    acf_abs: pd.DataFrame
    acf_sq: pd.DataFrame
    acf_band: float
    power_law: pd.DataFrame
    leverage: pd.DataFrame
    aggregational: pd.DataFrame
    correlation: pd.DataFrame | None
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per scalar fact and feature: ``estimate``, ``low``, ``high`` (``<NA>`` where no interval exists).

        Rows: ``excess_kurtosis``, ``skewness``, ``quantile_ratio``, ``hill_left``, ``hill_right``, ``acf_r_lag1``
        (with the i.i.d. band around the estimate), ``acf_r_max_abs``, ``acf_abs_lag1``, ``acf_sq_lag1``,
        ``power_law_exponent``, ``leverage_lag1``, ``leverage_mean``, ``kurtosis_h<h>`` per horizon.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> stylized_facts(rng.normal(size=2000), n_boot=200).to_frame().index[0]
        ('excess_kurtosis', 'r')
        """
        cols = ["estimate", "low", "high"]
        exponents = dict(zip(self.power_law.index, self.power_law["exponent"].to_numpy(), strict=True))
        rows: list[tuple[Any, ...]] = []
        for name in self.features:
            rows.append(("excess_kurtosis", name, *self.kurtosis.loc[name, cols].to_numpy().tolist()))
            for stat in ("skewness", "quantile_ratio"):
                rows.append((stat, name, *self.asymmetry.loc[(name, stat), cols].to_numpy().tolist()))
            if self.tail_index is not None:
                for tail in ("left", "right"):
                    rows.append((f"hill_{tail}", name, *self.tail_index.loc[(name, tail), cols].to_numpy().tolist()))
            a1 = float(self.acf_r[name].iloc[0])
            rows.append(("acf_r_lag1", name, a1, a1 - self.acf_band, a1 + self.acf_band))
            rows.append(("acf_r_max_abs", name, float(self.acf_r[name].abs().max()), None, None))
            rows.append(("acf_abs_lag1", name, float(self.acf_abs[name].iloc[0]), None, None))
            rows.append(("acf_sq_lag1", name, float(self.acf_sq[name].iloc[0]), None, None))
            if name in exponents:
                rows.append(("power_law_exponent", name, float(exponents[name]), None, None))
            rows.append(("leverage_lag1", name, float(self.leverage[name].iloc[0]), None, None))
            rows.append(("leverage_mean", name, float(self.leverage[name].mean()), None, None))
            for h, value in zip(self.aggregational.index, self.aggregational[name].to_numpy(), strict=True):
                rows.append((f"kurtosis_h{h}", name, float(value), None, None))
        out = pd.DataFrame(rows, columns=["fact", "feature", "estimate", "low", "high"])
        return out.set_index(["fact", "feature"]).astype("Float64")

    def to_dict(self) -> dict[str, Any]:
        """Every fact as plain Python values (JSON-ready; ``None`` where a value or interval does not exist).

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> d = stylized_facts(rng.normal(size=2000), n_boot=200).to_dict()
        >>> d["features"], len(d["acf_r"]["r"]), d["tail_index"]["r"]["left"]["k"]
        (['r'], 20, 100)
        """
        def frame(df: pd.DataFrame | None) -> Any:
            if df is None:
                return None
            return {str(c): [_plain(v) for v in df[c].tolist()] for c in df.columns}

        def nested(df: pd.DataFrame | None) -> Any:
            if df is None:
                return None
            out: dict[str, Any] = {}
            for key, row in zip(df.index, df.itertuples(index=False), strict=True):
                parts = key if isinstance(key, tuple) else (key,)
                node = out
                for part in parts[:-1]:
                    node = node.setdefault(str(part), {})
                node[str(parts[-1])] = {str(c): _plain(v) for c, v in zip(df.columns, row, strict=True)}
            return out

        return {
            "features": list(self.features),
            "n_paths": self.n_paths,
            "length": self.length,
            "level": self.level,
            "table": nested(self.to_frame()),
            "kurtosis": nested(self.kurtosis),
            "asymmetry": nested(self.asymmetry),
            "tail_index": nested(self.tail_index),
            "acf_r": frame(self.acf_r),
            "acf_abs": frame(self.acf_abs),
            "acf_sq": frame(self.acf_sq),
            "acf_band": self.acf_band,
            "power_law": nested(self.power_law),
            "leverage": frame(self.leverage),
            "aggregational": {str(c): {str(h): _plain(v) for h, v in self.aggregational[c].items()}
                              for c in self.aggregational.columns},
            "correlation": None if self.correlation is None else self.correlation.to_numpy().tolist(),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """The :meth:`to_frame` table as text (``—`` where no interval exists), then the notes.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> print(stylized_facts(rng.normal(size=2000), n_boot=200).summary().splitlines()[0])
        Stylized facts: 1 path(s) of length 2000, 1 feature(s); 95% intervals
        """
        table = self.to_frame()
        text = pd.DataFrame({c: [_cell(v) for v in table[c]] for c in table.columns}, index=table.index)
        head = (f"Stylized facts: {self.n_paths} path(s) of length {self.length}, {len(self.features)} feature(s); "
                f"{self.level * 100:g}% intervals")
        lines = [head, text.to_string()]
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"- {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _default_lag(panel: _Panel, value: int | None, default: int, arg: str, notes: list[str]) -> int:
    if value is not None:
        return _check_lags(panel, value, arg)
    if panel.length <= default:
        capped = panel.length - 1
        if capped < 1:
            raise DataValidationError(
                f"returns has paths of length {panel.length}; at least 2 steps are needed for autocorrelations."
            )
        notes.append(f"{arg} capped at {capped} (paths of length {panel.length}) instead of {default}.")
        return capped
    return default


def stylized_facts(returns: Any, *, max_lag: int | None = None, acf_lags: int | None = None,
                   leverage_lags: int | None = None, horizons: Sequence[int] | None = None,
                   tail_fraction: float = 0.05, quantile: float = 0.05, level: float = 0.95, n_boot: int = 1000,
                   block: float | None = None, seed: int | None = 0) -> StylizedFacts:
    r"""All stylized facts of a set of (log) returns, one result object.

    =======================  =========================================================  ==========================
    fact                     what                                                       interval
    =======================  =========================================================  ==========================
    heavy tails              :func:`excess_kurtosis`; :func:`hill_tail_index` (both)    block bootstrap; asymptotic
    no linear memory         :func:`acf` of :math:`r`, lags ``1..acf_lags``             i.i.d. band ±z/√(nL)
    volatility clustering    :func:`acf` of :math:`|r|` and :math:`r^2`, lags           —
                             ``1..max_lag``; :func:`power_law_decay` of :math:`|r|`
    leverage effect          :func:`leverage_effect`, lags ``1..leverage_lags``         —
    aggregational Gaussian.  :func:`aggregational_gaussianity` over ``horizons``        —
    gain/loss asymmetry      :func:`gain_loss_asymmetry`                                bootstrap (skewness)
    cross-correlation        pooled correlation matrix (several features)               —
    =======================  =========================================================  ==========================

    Windows ``(n, L, F)`` are pooled as described in the module docstring (ACFs within windows, moments over all
    values, paths resampled whole). The defaults ``None`` mean ``max_lag=250``, ``acf_lags=20``,
    ``leverage_lags=20`` and ``horizons=(1, 5, 20, 60)``, capped at what the paths allow (lags up to ``L − 1``,
    horizons with at least 20 sums), each cap stated in ``notes``; explicit values that the data cannot support
    raise. A fact the data leave undefined (a tail index with fewer than 10 tail values, a power law without a
    positive ACF run) is omitted and named in ``notes``.

    Parameters
    ----------
    returns : array-like, pandas.Series or pandas.DataFrame
        Log returns ``(T,)``, ``(T, F)`` or windows ``(n, L, F)``.
    max_lag : int, optional
        Largest lag of the ACFs of :math:`|r|` and :math:`r^2` and of the power-law fit (default 250).
    acf_lags : int, optional
        Largest lag of the ACF of :math:`r` (default 20).
    leverage_lags : int, optional
        Largest lag of the leverage effect (default 20).
    horizons : sequence of int, optional
        Aggregation horizons (default 1, 5, 20, 60).
    tail_fraction : float, default 0.05
        Share of each tail used by the Hill estimator.
    quantile : float, default 0.05
        Tail probability of the gain/loss quantile ratio.
    level : float, default 0.95
        Confidence level of every interval.
    n_boot : int, default 1000
        Bootstrap replicates (at least 100).
    block : float, optional
        Mean block length of the stationary bootstrap (steps for one path, paths for several).
    seed : int, optional
        Seed of the bootstrap.

    Returns
    -------
    StylizedFacts

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> windows = rng.standard_t(4, size=(200, 20, 2))
    >>> facts = stylized_facts(windows, n_boot=200)
    >>> facts.acf_abs.shape, facts.notes[0]
    ((19, 2), 'max_lag capped at 19 (paths of length 20) instead of 250.')
    """
    panel = as_panel(returns)
    check_arg("tail_fraction", tail_fraction, Interval(Real, 0, 0.5, closed="neither"))
    check_arg("quantile", quantile, Interval(Real, 0, 0.5, closed="neither"))
    _check_bootstrap(n_boot, block)
    lvl = _check_level(level)
    if panel.n_values < MIN_SUMS:
        raise DataValidationError(
            f"returns has {panel.n_values} value(s) per feature, fewer than {MIN_SUMS}; pass a longer history."
        )
    notes: list[str] = []
    long_lag = _default_lag(panel, max_lag, DEFAULT_MAX_LAG, "max_lag", notes)
    short_lag = _default_lag(panel, acf_lags, DEFAULT_SHORT_LAGS, "acf_lags", notes)
    lev_lag = _default_lag(panel, leverage_lags, DEFAULT_SHORT_LAGS, "leverage_lags", notes)
    if horizons is None:
        hs = [h for h in DEFAULT_HORIZONS if _horizon_ok(panel, h)]
        dropped = [h for h in DEFAULT_HORIZONS if h not in hs]
        if dropped:
            notes.append(f"horizons {dropped} dropped: paths of length {panel.length} give fewer than {MIN_SUMS} "
                         "non-overlapping sums.")
    else:
        hs = _check_horizons(panel, horizons, "horizons")

    z = _standardized(panel, "returns")
    names = _names(panel)
    skew, kurt, skew_ci, kurt_ci = _bootstrap_moments(z, int(n_boot), block, lvl, seed)
    ratio = _quantile_ratio(panel.values.reshape(-1, panel.values.shape[2]), float(quantile))
    _check_finite_ratio(ratio, panel, float(quantile))

    tail: pd.DataFrame | None
    try:
        tail = _hill_frame(panel, float(tail_fraction), lvl)
    except DataValidationError as err:
        tail = None
        notes.append(f"Hill tail index undefined: {err}")

    acf_abs_v = _transform_acf(panel, long_lag, np.abs, "|returns|")
    acf_sq_v = _transform_acf(panel, long_lag, np.square, "returns²")
    fits = {}
    for f, name in enumerate(panel.features):
        try:
            beta, c, r2, n = _power_law(acf_abs_v[:, f])
            fits[name] = {"exponent": beta, "intercept": c, "r2": r2, "n_lags": n}
        except DataValidationError as err:
            notes.append(f"power-law decay undefined for {name!r}: {err}")
    power = pd.DataFrame.from_dict(fits, orient="index", columns=["exponent", "intercept", "r2", "n_lags"])
    power.index.name = "feature"

    agg = {}
    for h in hs:
        with np.errstate(divide="ignore", invalid="ignore"):
            agg[h] = np.asarray(stats.kurtosis(_horizon_sums(panel, h), axis=0), dtype=np.float64)
        _check_defined(agg[h], panel, f"the {h}-step sums")
    aggregational = pd.DataFrame.from_dict(agg, orient="index", columns=list(panel.features)).rename_axis(
        index="horizon", columns="feature")

    correlation = None
    if panel.values.shape[2] > 1:
        flat = panel.values.reshape(-1, panel.values.shape[2])
        correlation = pd.DataFrame(np.corrcoef(flat, rowvar=False), index=names, columns=names)

    zq = float(stats.norm.ppf(0.5 + lvl / 2.0))
    return StylizedFacts(
        features=panel.features,
        n_paths=panel.n_paths,
        length=panel.length,
        level=lvl,
        kurtosis=_estimate_frame(names, kurt, kurt_ci[0], kurt_ci[1]),
        asymmetry=_asymmetry_frame(panel, skew, skew_ci, ratio),
        tail_index=tail,
        acf_r=pd.DataFrame(acf_kernel(z, short_lag), index=_lag_index(short_lag), columns=names),
        acf_abs=pd.DataFrame(acf_abs_v, index=_lag_index(long_lag), columns=names),
        acf_sq=pd.DataFrame(acf_sq_v, index=_lag_index(long_lag), columns=names),
        acf_band=zq / math.sqrt(panel.n_values),
        power_law=power,
        leverage=pd.DataFrame(leverage_kernel(z, lev_lag), index=_lag_index(lev_lag), columns=names),
        aggregational=aggregational,
        correlation=correlation,
        notes=tuple(notes),
    )
