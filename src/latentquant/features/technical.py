"""Technical (TA-Lib) and macro features with a next-day-return target, free of look-ahead.

Every feature at date ``t`` uses only data observed at dates ``<= t``:

* TA-Lib indicators are causal (rolling windows and recursive averages seeded at the start of the series);
* macro series are aligned on the VIX calendar by forward-filling the yields from *past* observations only
  (never backward filling);
* the target :func:`next_day_return` at ``t`` is ``close[t+1] / close[t] - 1``, i.e. it is the only quantity that
  looks one step ahead, by construction.

Close-only features (14, TA-Lib default conventions, units noted):

==================  =========================================================================
column              definition
==================  =========================================================================
``price_sma10``     close / SMA(10)
``price_sma50``     close / SMA(50)
``price_sma200``    close / SMA(200)
``ema12_ema26``     EMA(12) / EMA(26)
``rsi14``           RSI(14), 0-100
``macd``            MACD line (12, 26) / close
``macd_signal``     MACD signal (9) / close
``macd_hist``       MACD histogram / close
``bb_pctb20``       Bollinger %B (20, 2 std): (close - lower) / (upper - lower); 0.5 if the band has zero width
``roc10``           ROC(10), percent
``cmo14``           CMO(14), -100..100
``trix15``          TRIX(15), percent
``stddev20``        STDDEV(20) / close
``linreg_slope14``  LINEARREG_SLOPE(14) / close
==================  =========================================================================

With ``high`` and ``low`` (same dates as ``close``): ``atr14`` (ATR(14) / close), ``adx14``, ``cci14``,
``stoch_k`` / ``stoch_d`` (slow stochastic 14, 3, 3) and ``willr14``. With ``volume`` as well: ``mfi14`` and
``obv_change10`` ((OBV[t] - OBV[t-10]) / sum of the last 10 volumes, in [-1, 1]).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

# the TA-Lib indicators live in _indicators.py; their names stay importable from here (the aliases mark the private
# ones re-exported)
from latentquant.features._indicators import _REQUIRES as _REQUIRES
from latentquant.features._indicators import (
    CLOSE_FEATURES,
    HIGH_LOW_FEATURES,
    VOLUME_FEATURES,
    _as_series,
    technical_features,
)
from latentquant.features._indicators import _check_same_index as _check_same_index
from latentquant.features._indicators import _resolve_features as _resolve_features
from latentquant.validation import check_frame

__all__ = [
    "CLOSE_FEATURES",
    "HIGH_LOW_FEATURES",
    "MACRO_FEATURES",
    "VOLUME_FEATURES",
    "feature_matrix",
    "macro_features",
    "next_day_return",
    "technical_features",
]

MACRO_FEATURES: tuple[str, ...] = ("vix", "vix_change", "yield_3m", "yield_10y", "term_spread")
"""Columns of :func:`macro_features`."""


def macro_features(
    vix: pd.Series,
    yields: pd.DataFrame,
    *,
    short: str = "3M",
    long: str = "10Y",
) -> pd.DataFrame:
    """VIX level and change, short and long Treasury yields and the term spread, on the VIX dates.

    Parameters
    ----------
    vix : pandas.Series
        VIX close (positive, no NaN) with a sorted, unique DatetimeIndex; the output has exactly these dates.
    yields : pandas.DataFrame
        Treasury yields in percent with columns ``short`` and ``long`` (NaN allowed, e.g.
        :func:`latentquant.datasets.load_treasury_yields`).
    short, long : str
        Column names of the short (3-month) and long (10-year) yields.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MACRO_FEATURES`: ``vix``, ``vix_change`` (VIX[t] - VIX[t-1] in points, NaN on the first
        row), ``yield_3m``, ``yield_10y`` (percent) and ``term_spread`` = ``yield_10y - yield_3m`` (percentage
        points). Each yield at date ``t`` is the latest observation at or before ``t`` (forward fill from the past
        only, never backward), so dates before the first yield observation are NaN.

    Raises
    ------
    DataValidationError
        Invalid inputs, or ``short`` / ``long`` missing from ``yields``.

    Examples
    --------
    >>> import pandas as pd
    >>> vix = pd.Series([20.0, 22.0, 21.0], index=pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"]))
    >>> ylds = pd.DataFrame({"3M": [1.5, 1.6], "10Y": [1.9, 2.1]},
    ...                     index=pd.to_datetime(["2020-01-03", "2020-01-04"]))
    >>> macro_features(vix, ylds)
                 vix  vix_change  yield_3m  yield_10y  term_spread
    2020-01-02  20.0         NaN       NaN        NaN          NaN
    2020-01-03  22.0         2.0       1.5        1.9          0.4
    2020-01-06  21.0        -1.0       1.6        2.1          0.5
    """
    v_s = _as_series(vix, name="vix", positive=True)
    yf = check_frame(yields, name="yields", allow_nan=True)
    missing = [col for col in (short, long) if col not in yf.columns]
    if missing:
        raise DataValidationError(
            f"yields has no column(s) {missing} (columns: {list(yf.columns)}); pass short=/long= with the "
            "names of the 3-month and 10-year yields."
        )
    pair = yf[[short, long]]
    union = pair.index.union(v_s.index)
    aligned = pair.reindex(union).ffill().reindex(v_s.index)
    out = pd.DataFrame(
        {
            "vix": v_s,
            "vix_change": v_s.diff(),
            "yield_3m": aligned[short],
            "yield_10y": aligned[long],
        },
        index=v_s.index,
    )
    out["term_spread"] = out["yield_10y"] - out["yield_3m"]
    out.index.name = None if v_s.index.name is None else v_s.index.name
    return out


def next_day_return(close: pd.Series) -> pd.Series:
    """Target ``r[t+1] = close[t+1] / close[t] - 1`` aligned at date ``t`` (the last row is NaN).

    Parameters
    ----------
    close : pandas.Series
        Strictly positive prices with a sorted, unique DatetimeIndex and no NaN.

    Returns
    -------
    pandas.Series
        Named ``next_day_return``, indexed like ``close``.

    Examples
    --------
    >>> import pandas as pd
    >>> close = pd.Series([100.0, 110.0, 99.0], index=pd.bdate_range("2021-01-04", periods=3))
    >>> next_day_return(close).round(10).tolist()
    [0.1, -0.1, nan]
    """
    c_s = _as_series(close, name="close", positive=True)
    target = c_s.shift(-1) / c_s - 1.0
    target.name = "next_day_return"
    return target


def feature_matrix(
    close: pd.Series,
    vix: pd.Series | None = None,
    yields: pd.DataFrame | None = None,
    *,
    high: pd.Series | None = None,
    low: pd.Series | None = None,
    volume: pd.Series | None = None,
    lags: int = 0,
    features: Sequence[str] | None = None,
    warn: bool = True,
) -> tuple[pd.DataFrame, pd.Series, dict[str, int]]:
    """Design matrix ``X`` (technical + macro features), target ``y`` (next-day return) and a drop report.

    Rows are the dates of ``close`` (intersected with the VIX dates when macro data are given). Rows with any NaN
    are dropped; each dropped row is counted once, under the first reason that applies, in this order:

    * ``n_date_mismatch``: ``close`` date absent from ``vix``;
    * ``n_warmup``: technical indicators still warming up (rows before the first complete technical row);
    * ``n_technical_nan``: other NaN technical values (e.g. zero volume over an OBV window);
    * ``n_missing_macro``: macro value not yet known (no yield observed yet, first VIX change);
    * ``n_no_target``: no next-day return (the last row).

    Parameters
    ----------
    close : pandas.Series
        Strictly positive closing prices (DatetimeIndex, no NaN).
    vix : pandas.Series, optional
        VIX close; must be given together with ``yields``.
    yields : pandas.DataFrame, optional
        Treasury yields with ``3M`` and ``10Y`` columns (percent).
    high, low, volume, lags, features
        Passed to :func:`technical_features`.
    warn : bool
        Emit a :class:`~latentquant.exceptions.DataWarning` with the counts when rows are dropped.

    Returns
    -------
    X : pandas.DataFrame
        Technical then macro features, no NaN.
    y : pandas.Series
        Next-day return on the dates of ``X``.
    report : dict
        ``n_input`` (rows of ``close``), the five counts above, ``n_dropped`` and ``n_rows`` (kept);
        ``n_input == n_dropped + n_rows``.

    Raises
    ------
    ConfigError
        Only one of ``vix`` / ``yields`` given, or invalid technical options.
    DataValidationError
        Invalid input data, or no row left after dropping.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> idx = pd.bdate_range("2020-01-01", periods=260)
    >>> close = pd.Series(100.0 + np.sin(np.arange(260) / 5.0), index=idx)
    >>> X, y, report = feature_matrix(close, warn=False)
    >>> X.shape, report["n_warmup"], report["n_no_target"]
    ((60, 14), 199, 1)
    """
    if (vix is None) != (yields is None):
        raise ConfigError(
            f"vix and yields must be given together (got only {'vix' if vix is not None else 'yields'}); "
            "pass both for macro features or neither for technical features only."
        )
    tech = technical_features(close, high=high, low=low, volume=volume, lags=lags, features=features)
    target = next_day_return(close)
    n_input = len(tech)
    if vix is not None and yields is not None:
        macro = macro_features(vix, yields)
        common = tech.index.intersection(macro.index)
        n_date_mismatch = n_input - len(common)
        tech = tech.loc[common]
        macro = macro.loc[common]
        target = target.loc[common]
    else:
        macro = pd.DataFrame(index=tech.index)
        n_date_mismatch = 0
    tech_nan = tech.isna().any(axis=1).to_numpy()
    complete = np.flatnonzero(~tech_nan)
    first_ok = int(complete[0]) if complete.size else len(tech)
    warmup = np.zeros(len(tech), dtype=bool)
    warmup[:first_ok] = True
    other_tech = tech_nan & ~warmup
    macro_nan = macro.isna().any(axis=1).to_numpy() & ~tech_nan
    no_target = target.isna().to_numpy() & ~tech_nan & ~macro_nan
    keep = ~(tech_nan | macro_nan | no_target)
    report = {
        "n_input": n_input,
        "n_date_mismatch": int(n_date_mismatch),
        "n_warmup": int(warmup.sum()),
        "n_technical_nan": int(other_tech.sum()),
        "n_missing_macro": int(macro_nan.sum()),
        "n_no_target": int(no_target.sum()),
    }
    report["n_dropped"] = sum(report[k] for k in list(report) if k != "n_input")
    report["n_rows"] = int(keep.sum())
    if report["n_rows"] == 0:
        raise DataValidationError(
            f"no row left after dropping NaN rows ({report}); pass a longer close series (at least 201 rows for "
            "price_sma200) overlapping the VIX and yield dates."
        )
    X = pd.concat([tech, macro], axis=1).loc[keep]
    y = target.loc[keep]
    if warn and report["n_dropped"]:
        detail = ", ".join(f"{k[2:]}={v}" for k, v in report.items() if k not in ("n_input", "n_rows", "n_dropped"))
        warnings.warn(
            f"feature_matrix dropped {report['n_dropped']} of {n_input} rows ({detail}); "
            f"{report['n_rows']} rows kept. Pass warn=False to silence.",
            DataWarning,
            stacklevel=2,
        )
    return X, y, report
