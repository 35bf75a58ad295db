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
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import talib

from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
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

CLOSE_FEATURES: tuple[str, ...] = (
    "price_sma10",
    "price_sma50",
    "price_sma200",
    "ema12_ema26",
    "rsi14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_pctb20",
    "roc10",
    "cmo14",
    "trix15",
    "stddev20",
    "linreg_slope14",
)
"""Features computed from the close alone."""

HIGH_LOW_FEATURES: tuple[str, ...] = ("atr14", "adx14", "cci14", "stoch_k", "stoch_d", "willr14")
"""Features that also need ``high`` and ``low``."""

VOLUME_FEATURES: tuple[str, ...] = ("mfi14", "obv_change10")
"""Features that also need ``volume`` (``mfi14`` needs ``high`` and ``low`` too)."""

MACRO_FEATURES: tuple[str, ...] = ("vix", "vix_change", "yield_3m", "yield_10y", "term_spread")
"""Columns of :func:`macro_features`."""

_REQUIRES: dict[str, tuple[str, ...]] = {
    **{name: () for name in CLOSE_FEATURES},
    **{name: ("high", "low") for name in HIGH_LOW_FEATURES},
    "mfi14": ("high", "low", "volume"),
    "obv_change10": ("volume",),
}


def _as_series(data: Any, *, name: str, positive: bool = False, allow_nan: bool = False) -> pd.Series:
    """Validate a Series (or one-column DataFrame) with a sorted unique DatetimeIndex; return float64."""
    if isinstance(data, pd.DataFrame) and data.shape[1] != 1:
        raise DataValidationError(
            f"{name} must be a Series or a one-column DataFrame, got {data.shape[1]} columns "
            f"{list(data.columns)[:5]}; select one column, e.g. {name}['close']."
        )
    frame = check_frame(data, name=name, positive=positive, allow_nan=allow_nan)
    series = frame.iloc[:, 0]
    series.name = name
    return series


def _check_same_index(series: pd.Series, close: pd.Series, name: str) -> None:
    if not series.index.equals(close.index):
        raise DataValidationError(
            f"{name} must have exactly the dates of close ({len(series)} vs {len(close)} rows or different dates); "
            f"align it first, e.g. {name} = {name}.reindex(close.index) after checking no gaps appear."
        )


def _resolve_features(
    features: Sequence[str] | None, available: set[str]
) -> list[str]:
    if features is None:
        return [name for name in _REQUIRES if all(r in available for r in _REQUIRES[name])]
    if isinstance(features, str):
        raise ConfigError(f"features must be a list of names, got the string {features!r}; use [{features!r}].")
    selected = list(features)
    unknown = [f for f in selected if f not in _REQUIRES]
    if unknown:
        raise ConfigError(
            f"unknown feature(s) {unknown}; choose from {list(_REQUIRES)}."
        )
    if len(set(selected)) != len(selected):
        raise ConfigError(f"features contains duplicates: {selected}; list every feature once.")
    for feat in selected:
        missing = [r for r in _REQUIRES[feat] if r not in available]
        if missing:
            raise ConfigError(
                f"feature {feat!r} needs {', '.join(missing)} but it was not given; pass "
                f"{', '.join(f'{m}=...' for m in missing)} (same dates as close) or drop {feat!r} from features."
            )
    return selected


def technical_features(
    close: pd.Series,
    *,
    high: pd.Series | None = None,
    low: pd.Series | None = None,
    volume: pd.Series | None = None,
    lags: int = 0,
    features: Sequence[str] | None = None,
) -> pd.DataFrame:
    """TA-Lib technical indicators of a price series, one row per date, without look-ahead.

    Parameters
    ----------
    close : pandas.Series
        Strictly positive closing prices with a sorted, unique :class:`~pandas.DatetimeIndex` and no NaN
        (a one-column DataFrame is accepted).
    high, low : pandas.Series, optional
        Daily high and low on the same dates as ``close``; enable :data:`HIGH_LOW_FEATURES` (both are needed).
    volume : pandas.Series, optional
        Non-negative traded volume on the same dates; enables :data:`VOLUME_FEATURES`.
    lags : int
        Add lagged copies ``<col>_lag1`` ... ``<col>_lag{lags}`` of every feature (shifted by 1..lags rows).
    features : sequence of str, optional
        Subset of features to compute, in this order. Default: every feature whose inputs are available
        (:data:`CLOSE_FEATURES`, then :data:`HIGH_LOW_FEATURES` / :data:`VOLUME_FEATURES` when given).

    Returns
    -------
    pandas.DataFrame
        Features indexed like ``close``. The first rows are NaN while indicators warm up (199 rows for
        ``price_sma200``, plus ``lags``); they are kept here so the index matches ``close`` — drop them
        (for example with :func:`feature_matrix`) before fitting. Bollinger %B is 0.5 (the middle band) when the
        band has zero width, e.g. for a constant price.

    Raises
    ------
    DataValidationError
        ``close`` (or high/low/volume) is not a valid positive series, or dates differ from ``close``.
    ConfigError
        ``lags`` is negative, a feature name is unknown, or a requested feature needs an input not given.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> idx = pd.bdate_range("2020-01-01", periods=300)
    >>> close = pd.Series(100.0 * np.exp(np.cumsum(np.full(300, 0.001))), index=idx)
    >>> feats = technical_features(close)
    >>> feats.shape
    (300, 14)
    >>> int(feats.isna().any(axis=1).sum())  # warm-up rows, kept (price_sma200 needs 200 closes)
    199
    >>> float(feats["rsi14"].iloc[-1])  # a strictly rising series
    100.0
    >>> technical_features(close, lags=2, features=["rsi14"]).columns.tolist()
    ['rsi14', 'rsi14_lag1', 'rsi14_lag2']
    """
    if isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or lags < 0:
        raise ConfigError(f"lags must be a non-negative integer, got {lags!r}; use 0 for no lagged copies.")
    c_s = _as_series(close, name="close", positive=True)
    available = {"close"}
    h_s = l_s = v_s = None
    if (high is None) != (low is None):
        raise ConfigError(
            "high and low must be given together (got only "
            f"{'high' if high is not None else 'low'}); pass both or neither."
        )
    if high is not None and low is not None:
        h_s = _as_series(high, name="high", positive=True)
        l_s = _as_series(low, name="low", positive=True)
        _check_same_index(h_s, c_s, "high")
        _check_same_index(l_s, c_s, "low")
        bad = (h_s < l_s).to_numpy()
        if bad.any():
            raise DataValidationError(
                f"high is below low on {int(bad.sum())} date(s), first {c_s.index[bad][0].date()}; "
                "check that the high and low columns are not swapped."
            )
        available |= {"high", "low"}
    if volume is not None:
        v_s = _as_series(volume, name="volume")
        _check_same_index(v_s, c_s, "volume")
        neg = (v_s < 0).to_numpy()
        if neg.any():
            raise DataValidationError(
                f"volume is negative on {int(neg.sum())} date(s), first {c_s.index[neg][0].date()}; "
                "volume must be >= 0."
            )
        available.add("volume")
    selected = _resolve_features(features, available)

    def arr(series: pd.Series | None) -> npt.NDArray[np.float64]:
        # an absent input is never read: _resolve_features only selects features whose inputs were given
        if series is None:
            return np.empty(0, dtype=np.float64)
        return np.ascontiguousarray(series.to_numpy(dtype=np.float64))

    c, h, lo, v = arr(c_s), arr(h_s), arr(l_s), arr(v_s)
    cache: dict[str, Any] = {}

    def macd() -> Any:
        if "macd" not in cache:
            cache["macd"] = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
        return cache["macd"]

    def stoch() -> Any:
        if "stoch" not in cache:
            cache["stoch"] = talib.STOCH(h, lo, c, fastk_period=14, slowk_period=3, slowk_matype=talib.MA_Type.SMA,
                                         slowd_period=3, slowd_matype=talib.MA_Type.SMA)
        return cache["stoch"]

    def bb_pctb() -> np.ndarray:
        upper, middle, lower = talib.BBANDS(c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=talib.MA_Type.SMA)
        width = upper - lower
        with np.errstate(invalid="ignore", divide="ignore"):
            pctb = (c - lower) / width
        flat = np.isfinite(width) & (width <= 1e-12 * np.abs(middle))
        return np.where(flat, 0.5, pctb)

    def obv_change() -> np.ndarray:
        obv = talib.OBV(c, v)
        diff = obv - np.concatenate([np.full(10, np.nan), obv[:-10]])
        vol_sum = talib.SUM(v, timeperiod=10)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(vol_sum > 0, diff / vol_sum, np.nan)

    compute = {
        "price_sma10": lambda: c / talib.SMA(c, timeperiod=10),
        "price_sma50": lambda: c / talib.SMA(c, timeperiod=50),
        "price_sma200": lambda: c / talib.SMA(c, timeperiod=200),
        "ema12_ema26": lambda: talib.EMA(c, timeperiod=12) / talib.EMA(c, timeperiod=26),
        "rsi14": lambda: talib.RSI(c, timeperiod=14),
        "macd": lambda: macd()[0] / c,
        "macd_signal": lambda: macd()[1] / c,
        "macd_hist": lambda: macd()[2] / c,
        "bb_pctb20": bb_pctb,
        "roc10": lambda: talib.ROC(c, timeperiod=10),
        "cmo14": lambda: talib.CMO(c, timeperiod=14),
        "trix15": lambda: talib.TRIX(c, timeperiod=15),
        "stddev20": lambda: talib.STDDEV(c, timeperiod=20, nbdev=1.0) / c,
        "linreg_slope14": lambda: talib.LINEARREG_SLOPE(c, timeperiod=14) / c,
        "atr14": lambda: talib.ATR(h, lo, c, timeperiod=14) / c,
        "adx14": lambda: talib.ADX(h, lo, c, timeperiod=14),
        "cci14": lambda: talib.CCI(h, lo, c, timeperiod=14),
        "stoch_k": lambda: stoch()[0],
        "stoch_d": lambda: stoch()[1],
        "willr14": lambda: talib.WILLR(h, lo, c, timeperiod=14),
        "mfi14": lambda: talib.MFI(h, lo, c, v, timeperiod=14),
        "obv_change10": obv_change,
    }
    out = pd.DataFrame({name: np.asarray(compute[name](), dtype=np.float64) for name in selected},
                       index=c_s.index)
    out = out.replace([np.inf, -np.inf], np.nan)
    if lags:
        lagged = [out.shift(k).add_suffix(f"_lag{k}") for k in range(1, int(lags) + 1)]
        blocks = [out, *lagged]
        # interleave so each feature is followed by its own lags
        cols = [f"{name}{suffix}" for name in selected for suffix in ["", *(f"_lag{k}" for k in range(1, lags + 1))]]
        out = pd.concat(blocks, axis=1)[cols]
    out.index.name = c_s.index.name
    return out


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
