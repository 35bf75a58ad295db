"""The public functions of the Bybit client: argument checks, then download (:mod:`._transport`) what the cache
(:mod:`._cache`) does not hold, and return one ascending float64 table."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from latentquant.datasets.bybit._cache import (
    COLUMNS,
    bars_to_frame,
    cache_path,
    combine_bars,
    index_ms,
    merge_intervals,
    missing_intervals,
    ms_index,
    read_cache,
    write_cache,
)
from latentquant.datasets.bybit._transport import PAGE_LIMIT, Transport, download_pages, format_ms
from latentquant.exceptions import ConfigError, DataValidationError

CATEGORIES: tuple[str, ...] = ("spot", "linear", "inverse")

_MINUTE_MS = 60_000
_DAY_MS = 86_400_000
#: Bybit interval code -> bar length in milliseconds (``M`` is approximated by 31 days, an upper bound).
INTERVALS: dict[str, int] = {
    "1": _MINUTE_MS,
    "3": 3 * _MINUTE_MS,
    "5": 5 * _MINUTE_MS,
    "15": 15 * _MINUTE_MS,
    "30": 30 * _MINUTE_MS,
    "60": 60 * _MINUTE_MS,
    "120": 120 * _MINUTE_MS,
    "240": 240 * _MINUTE_MS,
    "360": 360 * _MINUTE_MS,
    "720": 720 * _MINUTE_MS,
    "D": _DAY_MS,
    "W": 7 * _DAY_MS,
    "M": 31 * _DAY_MS,
}
#: Friendly interval names -> Bybit code. Matched case-insensitively, except ``1M`` (month) versus ``1m`` (minute).
INTERVAL_ALIASES: dict[str, str] = {
    "1m": "1", "3m": "3", "5m": "5", "15m": "15", "30m": "30",
    "1h": "60", "60m": "60", "2h": "120", "4h": "240", "6h": "360", "12h": "720",
    "1d": "D", "d": "D", "day": "D", "daily": "D", "24h": "D",
    "1w": "W", "w": "W", "week": "W", "weekly": "W", "7d": "W",
    "1mo": "M", "month": "M", "monthly": "M",
}
_MONTH_ALIASES = ("1M", "M")
_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9_\-]*$")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _normalize_interval(interval: Any) -> str:
    if isinstance(interval, int) and not isinstance(interval, bool):
        interval = str(interval)
    if isinstance(interval, str):
        text = interval.strip()
        if text in INTERVALS:
            return text
        if text in _MONTH_ALIASES:
            return "M"
        code = INTERVAL_ALIASES.get(text.lower())
        if code is not None:
            return code
    raise ConfigError(
        f"unknown Bybit interval {interval!r}; use one of {', '.join(INTERVALS)} "
        "or an alias such as '1m', '5m', '1h', '4h', '1d', '1w', '1M'."
    )


def _normalize_symbol(symbol: Any) -> str:
    if not isinstance(symbol, str) or not symbol.strip():
        raise ConfigError(f"symbol must be a non-empty string such as 'BTCUSDT', got {symbol!r}.")
    text = symbol.strip().upper()
    if not _SYMBOL_RE.match(text):
        raise ConfigError(
            f"symbol {symbol!r} is not a valid Bybit symbol; use letters and digits only, e.g. 'BTCUSDT' "
            "(no '/' or spaces)."
        )
    return text


def _normalize_category(category: Any) -> str:
    if not isinstance(category, str) or category.strip().lower() not in CATEGORIES:
        raise ConfigError(
            f"category must be one of {', '.join(map(repr, CATEGORIES))}, got {category!r}; "
            "use 'spot' for spot pairs, 'linear' for USDT/USDC perpetuals, 'inverse' for coin-margined contracts."
        )
    return category.strip().lower()


def _to_ms(value: Any, name: str) -> int:
    """Convert a ms integer, a date string, a datetime or a Timestamp (naive means UTC) to epoch milliseconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a date or a millisecond timestamp, got {value!r}.")
    if isinstance(value, int | np.integer):
        ms = int(value)
        if ms < 0:
            raise ConfigError(f"{name} must be a non-negative millisecond timestamp, got {ms}.")
        return ms
    if not isinstance(value, str | datetime | date | pd.Timestamp | np.datetime64):
        raise ConfigError(
            f"{name} must be a date string, datetime, pandas Timestamp or millisecond integer, "
            f"got {type(value).__name__} {value!r}."
        )
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ConfigError(
            f"{name} {value!r} could not be parsed as a date ({exc}); pass an ISO date such as '2024-01-31' or "
            "'2024-01-31 12:00', a datetime/Timestamp, or a millisecond epoch integer."
        ) from exc
    if pd.isna(ts):
        raise ConfigError(f"{name} is missing (NaT); pass a date or leave it as None for the default.")
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return int((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, unit="ms"))


def _bar_ms(code: str) -> int:
    """The shortest length of a bar of ``code`` (a month is 28 days at least), which bounds the pages a range needs."""
    return 28 * _DAY_MS if code == "M" else INTERVALS[code]


def _resolve_range(start: Any, end: Any, interval: str) -> tuple[int, int]:
    end_ms = _now_ms() if end is None else _to_ms(end, "end")
    start_ms = end_ms - PAGE_LIMIT * INTERVALS[interval] if start is None else _to_ms(start, "start")
    start_ms = max(start_ms, 0)
    if start_ms >= end_ms:
        raise ConfigError(
            f"start ({format_ms(start_ms)}) must be before end ({format_ms(end_ms)}); swap them or widen the range."
        )
    return start_ms, end_ms


def _check_options(timeout: Any, max_retries: Any, backoff: Any, min_interval: Any, transport: Any) -> None:
    def is_number(x: Any) -> bool:
        return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool) and bool(
            np.isfinite(x))

    if not is_number(timeout) or timeout <= 0:
        raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    if not isinstance(max_retries, int | np.integer) or isinstance(max_retries, bool) or max_retries < 0:
        raise ConfigError(f"max_retries must be a non-negative integer, got {max_retries!r}.")
    if not is_number(backoff) or backoff < 0:
        raise ConfigError(f"backoff must be a non-negative number of seconds, got {backoff!r}.")
    if not is_number(min_interval) or min_interval < 0:
        raise ConfigError(f"min_interval must be a non-negative number of seconds, got {min_interval!r}.")
    if transport is not None and not callable(transport):
        raise ConfigError(
            f"transport must be a callable (url, timeout) -> bytes or None, got {type(transport).__name__}."
        )


def fetch_bybit_klines(
    symbol: str,
    interval: str = "D",
    start: Any = None,
    end: Any = None,
    *,
    category: str = "spot",
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    timeout: float = 10.0,
    max_retries: int = 5,
    backoff: float = 0.5,
    min_interval: float = 0.1,
    transport: Transport | None = None,
) -> pd.DataFrame:
    """Download OHLCV klines for one symbol from Bybit's public v5 API.

    Parameters
    ----------
    symbol : str
        Bybit symbol such as ``"BTCUSDT"`` (upper-cased; letters, digits, ``-`` and ``_`` only).
    interval : str, default "D"
        Bar length: a Bybit code (``1 3 5 15 30 60 120 240 360 720 D W M``) or an alias (``1m``, ``5m``, ``1h``,
        ``4h``, ``1d``, ``1w``, ``1M`` for a month, ...; see :data:`INTERVAL_ALIASES`).
    start, end : str, datetime, pandas.Timestamp or int, optional
        First and last bar *open* times, both inclusive. Strings and datetimes are parsed with
        :class:`pandas.Timestamp`; naive values are taken as UTC, aware ones converted to UTC; integers are
        milliseconds since the Unix epoch. ``end`` defaults to now and ``start`` to 1000 bars before ``end``.
    category : {"spot", "linear", "inverse"}, default "spot"
        Market: spot pairs, USDT/USDC-margined contracts or coin-margined contracts.
    cache_dir : str or os.PathLike, optional
        Directory of the Parquet cache (created if needed). Bars are stored in
        ``cache_dir/bybit_{category}_{symbol}_{interval}.parquet`` together with the time spans already
        downloaded; a later call downloads only the parts of ``[start, end]`` not yet covered, and makes no request
        at all when the cache covers the range. The bar that is still forming is never counted as covered, so it is
        refreshed on the next call.
    refresh : bool, default False
        Ignore the cached bars and download the whole range again (the cache file is then updated).
    timeout : float, default 10.0
        Seconds to wait for each HTTP response.
    max_retries : int, default 5
        Retries after the first attempt of each request, for timeouts, connection errors, HTTP 429, HTTP 5xx and
        Bybit's rate-limit codes (``retCode`` 10006/10018). The wait before retry ``k`` (1-based) is
        ``backoff * 2 ** (k - 1)`` seconds (at least the ``Retry-After`` header of a 429, at most 30 s).
    backoff : float, default 0.5
        Base of the exponential backoff, in seconds.
    min_interval : float, default 0.1
        Minimum number of seconds between two requests, across all calls in this process (Bybit allows about
        10 requests per second per IP for market data).
    transport : callable, optional
        ``transport(url, timeout) -> bytes`` performing the GET request. The default uses :mod:`urllib.request`
        with a ``User-Agent`` header and lets :class:`urllib.error.HTTPError`, :class:`urllib.error.URLError` and
        :class:`TimeoutError` propagate; tests pass a fake that replays recorded responses.

    Returns
    -------
    pandas.DataFrame
        float64 columns ``open``, ``high``, ``low``, ``close``, ``volume`` (base currency for spot and linear,
        contracts for inverse) and ``turnover`` (quote currency), indexed by a time-zone-aware UTC
        :class:`~pandas.DatetimeIndex` named ``time`` holding the bar open times, ascending and unique, restricted to
        ``[start, end]``. The last bar may still be forming when ``end`` is in the present.

    Raises
    ------
    ConfigError
        Empty or malformed symbol, unknown interval or category, unparseable dates, ``start >= end``, or a
        non-positive timeout / negative ``max_retries``, ``backoff`` or ``min_interval``.
    BybitError
        Bybit rejected the request (``retCode != 0``; the message quotes ``retCode`` and ``retMsg``), an HTTP 4xx
        other than 429, a response that is not the expected JSON, or a network failure that persisted through
        ``max_retries`` retries.
    DataValidationError
        Bybit has no bars for the symbol in ``[start, end]`` (not listed yet, delisted, or wrong category).

    See Also
    --------
    bybit_close_prices : wide table of close prices for several symbols.

    Examples
    --------
    Needs the internet, so not run as a doctest:

    >>> eth = fetch_bybit_klines("ETHUSDT", "4h", start="2024-03-01", end="2024-03-31")  # doctest: +SKIP
    >>> eth["close"].pct_change().std()  # doctest: +SKIP
    """
    sym = _normalize_symbol(symbol)
    code = _normalize_interval(interval)
    cat = _normalize_category(category)
    _check_options(timeout, max_retries, backoff, min_interval, transport)
    start_ms, end_ms = _resolve_range(start, end, code)
    options: dict[str, Any] = {"transport": transport, "timeout": float(timeout), "max_retries": int(max_retries),
                               "backoff": float(backoff), "min_interval": float(min_interval)}

    path = cache_path(cache_dir, cat, sym, code) if cache_dir is not None else None
    cached, covered = read_cache(path) if path is not None else (None, [])
    gaps = [(start_ms, end_ms)] if refresh else missing_intervals(start_ms, end_ms, covered)

    fetched_at = _now_ms()
    bars: dict[int, list[float]] = {}
    for a, b in reversed(gaps):  # newest gap first, like the API
        bars.update(download_pages(cat, sym, code, a, b, bar_ms=_bar_ms(code), **options))
    fresh = bars_to_frame(bars)

    if refresh:
        combined = fresh
        merged_cache = combine_bars(cached, fresh)
    else:
        combined = merged_cache = combine_bars(cached, fresh)

    if path is not None and gaps:
        final_ms = fetched_at - INTERVALS[code]  # bars opening after this may still be forming
        new_spans = [(a, min(b, final_ms)) for a, b in gaps if a <= min(b, final_ms)]
        if not merged_cache.empty or new_spans:
            write_cache(path, merged_cache, merge_intervals([*covered, *new_spans]))

    ms = index_ms(pd.DatetimeIndex(combined.index))
    out = combined.loc[(ms >= start_ms) & (ms <= end_ms)].copy()
    if out.empty:
        raise DataValidationError(
            f"Bybit has no {cat} klines for {sym!r} (interval {code}) between {format_ms(start_ms)} and "
            f"{format_ms(end_ms)}; the symbol may not have traded then — check the dates, the symbol and the category "
            "('spot', 'linear' or 'inverse')."
        )
    out.index = ms_index(index_ms(pd.DatetimeIndex(out.index)))
    out.columns = pd.Index(list(COLUMNS))
    return out.astype(np.float64)


def bybit_close_prices(symbols: str | Sequence[str], interval: str = "D", start: Any = None, end: Any = None,
                       **kw: Any) -> pd.DataFrame:
    """Wide table of Bybit close prices, one column per symbol, on the dates all symbols share.

    Parameters
    ----------
    symbols : str or sequence of str
        One or more Bybit symbols, e.g. ``["BTCUSDT", "ETHUSDT"]``.
    interval, start, end
        As in :func:`fetch_bybit_klines`; the defaults (now, 1000 bars back) are resolved once so that every
        symbol is requested over the same range.
    **kw
        Passed to :func:`fetch_bybit_klines` (``category``, ``cache_dir``, ``transport``, ...).

    Returns
    -------
    pandas.DataFrame
        float64 close prices indexed by the UTC bar open time (named ``time``), columns in the order of
        ``symbols`` (upper-cased), restricted to the times present for every symbol (inner join).

    Raises
    ------
    ConfigError
        No symbols, duplicated symbols, or any argument error of :func:`fetch_bybit_klines`.
    DataValidationError
        A symbol has no data in the range, or the symbols share no bar time.
    BybitError
        As :func:`fetch_bybit_klines`.

    Examples
    --------
    >>> prices = bybit_close_prices(["BTCUSDT", "ETHUSDT"], "1d", "2024-01-01", "2024-12-31")  # doctest: +SKIP
    >>> returns = prices.pct_change().dropna()  # doctest: +SKIP
    """
    names = [symbols] if isinstance(symbols, str) else list(symbols)
    if not names:
        raise ConfigError("symbols is empty; pass at least one Bybit symbol such as 'BTCUSDT'.")
    normalized = [_normalize_symbol(s) for s in names]
    if len(set(normalized)) != len(normalized):
        dup = sorted({s for s in normalized if normalized.count(s) > 1})
        raise ConfigError(f"symbols contains duplicates {dup}; pass each symbol once.")
    code = _normalize_interval(interval)
    start_ms, end_ms = _resolve_range(start, end, code)
    closes = [fetch_bybit_klines(s, code, start_ms, end_ms, **kw)["close"].rename(s) for s in normalized]
    wide = pd.concat(closes, axis=1, join="inner")
    if wide.empty:
        raise DataValidationError(
            f"symbols {normalized} share no bar time between {format_ms(start_ms)} and {format_ms(end_ms)}; "
            "check that they traded over the same period."
        )
    wide.index.name = "time"
    return wide.astype(np.float64)
