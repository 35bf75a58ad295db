"""TA-Lib technical indicators of a price series, free of look-ahead: the indicator table (which features exist and
which inputs each needs), the input checks, and :func:`technical_features`.

Re-exported by :mod:`latentquant.features.technical`, whose module docstring lists every indicator and its
definition; see there for the conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import talib

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.validation import check_frame

__all__ = ["CLOSE_FEATURES", "HIGH_LOW_FEATURES", "VOLUME_FEATURES", "technical_features"]

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
