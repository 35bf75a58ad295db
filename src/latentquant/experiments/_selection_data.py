"""The data of the feature-selection study: the index (bundled or the user's file), the macro series, the spans.

:func:`study_data` builds the one frame every fit reads: features of the index (its close, or also high/low/volume),
the bundled VIX and Treasury-yield features, the next-day target, the risk-free yield and the split label.
The index is the bundled S&P 500 (``sp500_index`` or ``sp500_ohlcv``) or, with the config key ``path``, the user's
CSV/Parquet file of daily prices read with :func:`latentquant.datasets.load_prices_csv` and checked before any fit:
daily dates, a ``close`` column (or a single price column), ``high``/``low``/``volume`` for ``variant: ohlcv``,
positive prices, overlap with the macro series, enough rows in each span. :func:`stock_data` is the same recipe for
the bundled stocks of the pre-training experiment. Also the helpers that read a study frame's columns (features
vs ``__name__`` labels, technical vs macro) and its data fingerprint, to which the stored fits are tied.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError, DataWarning
from latentquant.reports import data_fingerprint

if TYPE_CHECKING:
    from latentquant.experiments.feature_selection import SelectionStudyConfig

__all__ = ["stock_data", "study_data"]

SPLITS = ("train", "validation", "test")
MIN_ROWS = 60
_WARMUP = 200  # the longest indicator window (price / 200-day average)
_OHLCV = ("high", "low", "volume")


def _macro_inputs() -> tuple[pd.Series, pd.DataFrame]:
    from latentquant.datasets import load_treasury_yields, load_vix

    return load_vix()["close"], load_treasury_yields()[["3M", "10Y"]]


def _label_splits(index: pd.DatetimeIndex, spans: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]],
                  lags: int, what: str, coverage: str = "") -> pd.Series:
    split = pd.Series("", index=index, name="__split__")
    for name, (start, end) in spans.items():
        split[(index >= start) & (index <= end)] = name
    need = max(MIN_ROWS, 10 * (lags + 1))
    for name, (start, end) in spans.items():
        n = int((split == name).sum())
        if n < need:
            raise DataValidationError(
                f"{what}: the {name} span {start.date()}..{end.date()} has {n} usable rows (after dropping indicator "
                f"warm-up rows and rows without macro data or target); need at least {need} with lags={lags}.{coverage}"
                " Move the split dates (train, validation, test) inside the data's range or reduce lags."
            )
    return split


def _columns(prices: pd.DataFrame, name: str, variant: str) -> dict[str, str]:
    """The file's column for ``close`` (and ``high``/``low``/``volume``), matched without regard to case."""
    by_name = {str(c).strip().lower(): str(c) for c in prices.columns}
    if "close" in by_name:
        found = {"close": by_name["close"]}
    elif prices.shape[1] == 1:
        found = {"close": str(prices.columns[0])}
    else:
        raise DataValidationError(
            f"path: {name} has columns {[str(c) for c in prices.columns][:10]} but none named close; name the column "
            "of daily closing prices close (high, low and volume for variant: ohlcv), or keep a single price column."
        )
    if variant == "ohlcv":
        absent = [c for c in _OHLCV if c not in by_name]
        if absent:
            raise DataValidationError(
                f"path: variant: ohlcv needs high, low and volume columns besides close, and {name} lacks {absent}; "
                "add them to the file or set variant: close (indicators of the close only)."
            )
        found.update({c: by_name[c] for c in _OHLCV})
    return found


def _daily_dates(index: pd.DatetimeIndex, name: str) -> pd.DatetimeIndex:
    """Calendar dates (midnight, no time zone) of a daily file; intraday or lower-frequency data are an error."""
    if index.tz is not None:
        index = index.tz_localize(None)
    days = index.normalize()
    if days.has_duplicates:
        first = days[days.duplicated()][0]
        raise DataValidationError(
            f"path: {name} has several rows on one day (first {first.date()}): intraday data; the study needs one "
            "close per day; resample the file to daily closes."
        )
    if len(days) > 1:
        spacing = float(np.median(pd.Series(days).diff().dt.total_seconds().to_numpy()[1:])) / 86400.0
        if spacing > 4:
            raise DataValidationError(
                f"path: {name} is not daily (median spacing between dates {spacing:g} days); the indicators and the "
                "next-day target need daily closes; pass a file of daily prices."
            )
    return pd.DatetimeIndex(days, name="date").as_unit("ns")


def _user_prices(cfg: SelectionStudyConfig) -> tuple[pd.DataFrame, str]:
    """The user's file as columns ``close`` (and ``high``, ``low``, ``volume``), checked, and its description."""
    from latentquant.datasets import load_prices_csv

    assert cfg.path is not None
    name = repr(Path(cfg.path).name)
    prices = load_prices_csv(cfg.path, positive=False, allow_nan=True)
    columns = _columns(prices, name, cfg.variant)
    data = prices[list(columns.values())].set_axis(list(columns), axis=1)
    data.index = _daily_dates(pd.DatetimeIndex(data.index), name)
    missing = data.isna()
    if missing.any().any():
        counts = missing.sum()
        detail = ", ".join(f"{columns[str(c)]!r} {int(n)} (first {data.index[missing[c].to_numpy()][0].date()})"
                           for c, n in counts[counts > 0].items())
        if cfg.missing == "error":
            raise DataValidationError(
                f"path: {name} has missing values: {detail}; set missing: drop to drop those dates (counted in a "
                "warning), or fill them in the file."
            )
        keep = ~missing.any(axis=1)
        warnings.warn(f"Dropped {int((~keep).sum())} of {len(data)} dates of {name} with a missing value "
                      f"(missing: drop; missing values per column: {detail}).", DataWarning, stacklevel=3)
        data = data.loc[keep.to_numpy()]
    for col in data.columns:
        bad = (data[col] < 0) if col == "volume" else (data[col] <= 0)
        if bad.any():
            first = data.index[bad.to_numpy()][0]
            what = "a negative volume" if col == "volume" else "a non-positive price"
            raise DataValidationError(
                f"path: {name} column {columns[col]!r} has {what} ({data[col][bad].iloc[0]!r} on {first.date()}, "
                f"{int(bad.sum())} such value(s)); correct or drop those rows."
            )
    if cfg.variant == "ohlcv":
        zero = data["volume"] == 0
        if zero.any():  # as for the bundled index: days without volume carry no high/low/volume information
            warnings.warn(f"Dropped {int(zero.sum())} of {len(data)} dates of {name} with zero volume (the "
                          "volume indicators need trading).", DataWarning, stacklevel=3)
            data = data.loc[~zero.to_numpy()]
    kind = "open/high/low/close/volume" if cfg.variant == "ohlcv" else "close"
    return data, f"user price file {cfg.path} ({kind}; columns {', '.join(map(repr, columns.values()))})"


def _check_macro_overlap(index: pd.DatetimeIndex, vix: pd.Series, yields: pd.DataFrame, path: str,
                         lags: int) -> None:
    start, end = max(vix.index[0], yields.index[0]), min(vix.index[-1], yields.index[-1])
    overlap = int(index.isin(vix.index).sum())
    need = _WARMUP + len(SPLITS) * max(MIN_ROWS, 10 * (lags + 1))
    if overlap < need:
        covered = f"{index[0].date()}..{index[-1].date()}" if len(index) else "no dates"
        raise DataValidationError(
            f"path: {Path(path).name!r} covers {covered} and shares {overlap} dates with the macro features (bundled "
            f"VIX and Treasury yields, {start.date()}..{end.date()}); the study needs at least {need} common daily "
            f"dates ({_WARMUP} of indicator warm-up plus the three spans). Pass daily prices inside "
            f"{start.date()}..{end.date()}."
        )


def study_data(cfg: SelectionStudyConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The index features, target ``__y__``, split label ``__split__`` and risk-free yield ``__rf__`` (decimal,
    3-month T-bill known at *t*), restricted to the three spans; and a description with the dropped-row counts.

    The index is the bundled S&P 500 or, when ``cfg.path`` is set, the user's file of daily prices (a ``close``
    column or a single price column; ``high``, ``low`` and ``volume`` too for ``variant: ohlcv``), checked before
    any fit; the macro features are always the bundled VIX and Treasury yields.

    Parameters
    ----------
    cfg : SelectionStudyConfig
        Uses ``path``, ``missing``, ``variant``, ``lags`` and the three spans.

    Returns
    -------
    frame : pandas.DataFrame
        Dates × features, then ``__y__`` (next-day return), ``__rf__`` and ``__split__``.
    info : dict
        ``source`` (what the run's manifest records), ``drop_report``
        (:func:`~latentquant.features.feature_matrix`'s counts) and ``n_features``.

    Raises
    ------
    DataValidationError
        A user file that is unreadable, not daily, without a ``close`` column (or without ``high``/``low``/``volume``
        for ``variant: ohlcv``), with missing values and ``missing: error``, with non-positive prices, with too few
        dates shared with the macro series; a span with fewer usable rows than the models need.

    Examples
    --------
    >>> from latentquant.experiments.feature_selection import SelectionStudyConfig
    >>> config = SelectionStudyConfig(train=["2015-01-01", "2015-12-31"], validation=["2016-01-01", "2016-06-30"],
    ...                               test=["2016-07-01", "2016-12-31"])
    >>> frame, info = study_data(config)
    >>> frame["__split__"].value_counts().to_dict(), info["n_features"]
    ({'train': 252, 'test': 127, 'validation': 125}, 19)
    >>> frame.columns[-3:].tolist()
    ['__y__', '__rf__', '__split__']
    """
    from latentquant.datasets import load_sp500_index, load_sp500_ohlcv
    from latentquant.features import CLOSE_FEATURES, HIGH_LOW_FEATURES, VOLUME_FEATURES, feature_matrix

    vix, yields = _macro_inputs()
    coverage = ""
    if cfg.path is not None:
        prices, source = _user_prices(cfg)
        _check_macro_overlap(pd.DatetimeIndex(prices.index), vix, yields, cfg.path, cfg.lags)
        coverage = (f" The file covers {prices.index[0].date()}..{prices.index[-1].date()}, the macro series "
                    f"{max(vix.index[0], yields.index[0]).date()}..{min(vix.index[-1], yields.index[-1]).date()}, and "
                    f"the first {_WARMUP} dates warm the indicators up.")
    elif cfg.variant == "close":
        prices = load_sp500_index()[["SP500"]].set_axis(["close"], axis=1)
        source = "S&P 500 index close (bundled sp500_index)"
    else:
        prices = load_sp500_ohlcv()
        prices = prices[prices["volume"] > 0]
        source = "S&P 500 index open/high/low/close/volume (bundled sp500_ohlcv, to 2018-12)"
    if cfg.variant == "close":
        X, y, report = feature_matrix(prices["close"], vix, yields, lags=cfg.lags, warn=False)
    else:
        X, y, report = feature_matrix(prices["close"], vix, yields, high=prices["high"], low=prices["low"],
                                      volume=prices["volume"], lags=cfg.lags,
                                      features=[*CLOSE_FEATURES, *HIGH_LOW_FEATURES, *VOLUME_FEATURES], warn=False)
    spans = cfg.spans()
    inside = (X.index >= spans["train"][0]) & (X.index <= spans["test"][1])
    frame = X.loc[inside].copy()
    frame["__y__"] = y.loc[inside]
    frame["__rf__"] = frame["yield_3m"] / 100.0
    frame["__split__"] = _label_splits(pd.DatetimeIndex(frame.index), spans, cfg.lags, source, coverage)
    frame = frame[frame["__split__"] != ""]
    return frame, {"source": source, "drop_report": report, "n_features": X.shape[1]}


def stock_data(cfg: SelectionStudyConfig) -> pd.DataFrame:
    """The close-only recipe of :func:`study_data` for every bundled stock, stacked with a ``__ticker__`` column.

    The data of the pre-training experiment (pre-train on the other stocks, fine-tune on a target).

    Parameters
    ----------
    cfg : SelectionStudyConfig
        Uses ``lags`` and the three spans.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`study_data`'s frame and ``__ticker__``, stock after stock.

    Raises
    ------
    DataValidationError
        A span with fewer usable rows than the models need for some stock.

    Examples
    --------
    >>> from latentquant.experiments.feature_selection import SelectionStudyConfig
    >>> config = SelectionStudyConfig(train=["2015-01-01", "2015-12-31"], validation=["2016-01-01", "2016-06-30"],
    ...                               test=["2016-07-01", "2016-12-31"])
    >>> stocks = stock_data(config)
    >>> stocks["__ticker__"].nunique(), int((stocks["__ticker__"] == "AAPL").sum())
    (20, 504)
    """
    from latentquant.datasets import load_sp500_stocks
    from latentquant.features import feature_matrix

    vix, yields = _macro_inputs()
    prices = load_sp500_stocks()
    spans = cfg.spans()
    frames = []
    for ticker in prices.columns:
        close = prices[ticker].dropna()
        X, y, _ = feature_matrix(close, vix, yields, lags=cfg.lags, warn=False)
        inside = (X.index >= spans["train"][0]) & (X.index <= spans["test"][1])
        f = X.loc[inside].copy()
        f["__y__"] = y.loc[inside]
        f["__rf__"] = f["yield_3m"] / 100.0
        f["__split__"] = _label_splits(pd.DatetimeIndex(f.index), spans, cfg.lags, f"stock {ticker}")
        f["__ticker__"] = ticker
        frames.append(f[f["__split__"] != ""])
    return pd.concat(frames)


def _meta_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not (str(c).startswith("__") and str(c).endswith("__"))]


def _technical_columns(columns: list[str]) -> list[str]:
    from latentquant.features import MACRO_FEATURES

    return [c for c in columns if c.split("_lag")[0] not in MACRO_FEATURES]


def _fingerprint(frame: pd.DataFrame) -> str:
    """Data fingerprint of a study frame (text columns by their category codes); stored fits are tied to it."""
    numeric = frame.apply(lambda c: c if pd.api.types.is_numeric_dtype(c) else c.astype("category").cat.codes)
    return data_fingerprint(numeric)[:16]

