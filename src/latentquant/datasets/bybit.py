"""Download OHLCV candles ("klines") from Bybit's public market-data API, with retries and a Parquet cache.

The data come from Bybit's v5 REST endpoint ``GET https://api.bybit.com/v5/market/kline`` (public: no API key is
needed, and none is read or stored). Its query parameters are

``category``
    ``spot``, ``linear`` (USDT/USDC perpetuals and futures) or ``inverse`` (coin-margined contracts);
``symbol``
    e.g. ``BTCUSDT``;
``interval``
    ``1 3 5 15 30 60 120 240 360 720`` (minutes), ``D``, ``W`` or ``M``; :func:`fetch_bybit_klines` also accepts
    aliases such as ``1m``, ``5m``, ``1h``, ``4h``, ``1d``, ``1w`` and ``1M`` (see :data:`INTERVAL_ALIASES`);
``start``, ``end``
    bar open times in milliseconds since the Unix epoch (UTC), both inclusive;
``limit``
    at most 1000 bars per request.

The answer is JSON, ``{"retCode": 0, "retMsg": "OK", "result": {"category": ..., "symbol": ..., "list": [[startTime,
open, high, low, close, volume, turnover], ...]}, "time": ...}``, every field a string and the list **newest first**.
A ``retCode`` other than 0 means Bybit rejected the request (``10001`` for an unknown symbol, for instance).

:func:`fetch_bybit_klines` pages backwards through the requested range 1000 bars at a time, waits at least
``min_interval`` seconds between requests, retries timeouts, connection errors, HTTP 429 and HTTP 5xx with
exponential backoff, and returns an ascending, de-duplicated, float64 table indexed by the bar open time in UTC.
With ``cache_dir`` the bars are kept in one Parquet file per (category, symbol, interval) and only the part of the
range not already stored is downloaded on later calls. :func:`bybit_close_prices` builds a wide table of close prices
for several symbols.

Errors: invalid arguments raise :class:`~latentquant.exceptions.ConfigError`; network failures, HTTP errors and
rejected requests raise :class:`BybitError` (a :class:`~latentquant.exceptions.LatentQuantError` and an
:class:`OSError`); an empty result raises :class:`~latentquant.exceptions.DataValidationError`.

The machines that run latentquant's test suite have no internet access, so the live download path is exercised with
recorded Bybit responses (``tests/data/bybit/``) fed through the ``transport`` argument instead of the network.

Examples
--------
The download needs the internet, so it is not run as a doctest:

>>> from latentquant.datasets import fetch_bybit_klines
>>> btc = fetch_bybit_klines("BTCUSDT", "1d", "2024-01-01", "2024-06-30",
...                          cache_dir="~/.cache/latentquant")  # doctest: +SKIP
>>> list(btc.columns)  # doctest: +SKIP
['open', 'high', 'low', 'close', 'volume', 'turnover']
"""

from __future__ import annotations

import http.client
import json
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant.exceptions import ConfigError, DataValidationError, DataWarning, LatentQuantError

__all__ = [
    "BYBIT_KLINE_URL",
    "CATEGORIES",
    "COLUMNS",
    "INTERVALS",
    "INTERVAL_ALIASES",
    "BybitError",
    "bybit_close_prices",
    "fetch_bybit_klines",
]

BYBIT_KLINE_URL = "https://api.bybit.com/v5/market/kline"
CATEGORIES: tuple[str, ...] = ("spot", "linear", "inverse")
COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "turnover")

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

_PAGE_LIMIT = 1000
_MAX_BACKOFF = 30.0
_RETRYABLE_RET_CODES = frozenset({10006, 10018})  # "too many visits" / IP rate limit
_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9_\-]*$")
_USER_AGENT = "latentquant/0.1 (+https://pypi.org/project/latentquant; python-urllib)"
_CACHE_META_KEY = b"latentquant.bybit.coverage"

Transport = Callable[[str, float], bytes]

# Module-level so that tests can patch them (no real sleeping, a controllable clock).
_sleep: Callable[[float], None] = time.sleep
_monotonic: Callable[[], float] = time.monotonic


def _now_ms() -> int:
    return int(time.time() * 1000)


class BybitError(LatentQuantError, OSError):
    """A request to Bybit failed: network error, HTTP error, retries exhausted, rejected request or bad response.

    Subclasses :class:`~latentquant.exceptions.LatentQuantError` and :class:`OSError`, so code that handles either
    (for example a command-line interface) also handles network failures.

    Attributes
    ----------
    ret_code : int or None
        Bybit's ``retCode`` when Bybit answered but rejected the request.
    ret_msg : str or None
        Bybit's ``retMsg`` in that case.
    status : int or None
        The HTTP status code for HTTP errors.
    """

    def __init__(self, message: str, *, ret_code: int | None = None, ret_msg: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.ret_code = ret_code
        self.ret_msg = ret_msg
        self.status = status


# --------------------------------------------------------------------------------------------------------------------
# argument validation
# --------------------------------------------------------------------------------------------------------------------


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


def _fmt_ms(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


def _resolve_range(start: Any, end: Any, interval: str) -> tuple[int, int]:
    end_ms = _now_ms() if end is None else _to_ms(end, "end")
    start_ms = end_ms - _PAGE_LIMIT * INTERVALS[interval] if start is None else _to_ms(start, "start")
    start_ms = max(start_ms, 0)
    if start_ms >= end_ms:
        raise ConfigError(
            f"start ({_fmt_ms(start_ms)}) must be before end ({_fmt_ms(end_ms)}); swap them or widen the range."
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


# --------------------------------------------------------------------------------------------------------------------
# transport, throttling and retries
# --------------------------------------------------------------------------------------------------------------------


def _urllib_transport(url: str, timeout: float) -> bytes:
    """GET ``url`` with :mod:`urllib.request` and return the body; HTTP/URL/timeout errors propagate."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body: bytes = response.read()
    return body


class _Throttle:
    """Keeps at least ``min_interval`` seconds between consecutive requests (shared by all calls in the process)."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.lock = threading.Lock()

    def wait(self, min_interval: float) -> None:
        with self.lock:
            if self.last is not None and min_interval > 0:
                elapsed = _monotonic() - self.last
                if elapsed < min_interval:
                    _sleep(min_interval - elapsed)
            self.last = _monotonic()

    def reset(self) -> None:
        with self.lock:
            self.last = None


_THROTTLE = _Throttle()


def _retry_after(exc: urllib.error.HTTPError) -> float:
    headers = getattr(exc, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(float(value), 0.0) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _request_json(url: str, *, symbol: str, transport: Transport, timeout: float, max_retries: int,
                  backoff: float, min_interval: float) -> dict[str, Any]:
    """One API call with throttling and retries; returns the decoded JSON object with ``retCode == 0``."""
    last_error: BaseException | None = None
    attempts = max_retries + 1
    for attempt in range(attempts):
        if attempt:
            delay = min(backoff * 2 ** (attempt - 1), _MAX_BACKOFF)
            if isinstance(last_error, urllib.error.HTTPError):
                delay = max(delay, min(_retry_after(last_error), _MAX_BACKOFF))
            if delay > 0:
                _sleep(delay)
        _THROTTLE.wait(min_interval)
        try:
            body = transport(url, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                last_error = exc
                continue
            raise BybitError(
                f"Bybit returned HTTP {exc.code} ({exc.reason}) for symbol {symbol!r} ({url}); the request is "
                "invalid or not allowed — check the symbol, category and interval.",
                status=exc.code,
            ) from exc
        except (OSError, http.client.HTTPException) as exc:  # URLError, TimeoutError, ConnectionError, ...
            last_error = exc
            continue
        payload = _decode(body, url)
        ret_code = payload.get("retCode")
        if ret_code != 0:
            ret_msg = str(payload.get("retMsg", ""))
            if isinstance(ret_code, int) and ret_code in _RETRYABLE_RET_CODES:
                last_error = BybitError(f"retCode {ret_code}: {ret_msg}", ret_code=ret_code, ret_msg=ret_msg)
                continue
            raise BybitError(
                f"Bybit rejected the request for symbol {symbol!r} (retCode {ret_code}: {ret_msg}); "
                "check the symbol and category.",
                ret_code=ret_code if isinstance(ret_code, int) else None, ret_msg=ret_msg,
            )
        return payload
    status = last_error.code if isinstance(last_error, urllib.error.HTTPError) else None
    raise BybitError(
        f"Bybit request for symbol {symbol!r} failed after {attempts} attempt(s) (last error: {last_error}); "
        "check the internet connection or proxy, or retry later with a larger timeout or max_retries.",
        status=status,
    ) from last_error


def _decode(body: bytes, url: str) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, TypeError) as exc:
        snippet = body[:80] if isinstance(body, bytes | str) else type(body).__name__
        raise BybitError(
            f"Bybit returned a response that is not JSON for {url} (starts with {snippet!r}); a proxy or captive "
            "portal may be intercepting the request."
        ) from exc
    if not isinstance(payload, dict) or "retCode" not in payload:
        raise BybitError(f"unexpected Bybit response for {url}: no 'retCode' field; the API may have changed.")
    return payload


def _parse_rows(payload: dict[str, Any], url: str) -> list[tuple[int, list[float]]]:
    result = payload.get("result")
    rows = result.get("list") if isinstance(result, dict) else None
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise BybitError(f"unexpected Bybit response for {url}: result.list is {type(rows).__name__}, not a list.")
    parsed: list[tuple[int, list[float]]] = []
    for row in rows:
        try:
            if not isinstance(row, list | tuple) or len(row) < 7:
                raise ValueError("expected 7 fields")
            parsed.append((int(row[0]), [float(v) for v in row[1:7]]))
        except (TypeError, ValueError) as exc:
            raise BybitError(
                f"unexpected kline row {row!r} in Bybit response for {url} ({exc}); expected "
                "[startTime, open, high, low, close, volume, turnover]."
            ) from exc
    return parsed


def _kline_url(category: str, symbol: str, interval: str, start_ms: int, end_ms: int) -> str:
    params = {"category": category, "symbol": symbol, "interval": interval, "start": start_ms, "end": end_ms,
              "limit": _PAGE_LIMIT}
    return f"{BYBIT_KLINE_URL}?{urllib.parse.urlencode(params)}"


def _download(category: str, symbol: str, interval: str, start_ms: int, end_ms: int, *, transport: Transport,
              timeout: float, max_retries: int, backoff: float, min_interval: float) -> dict[int, list[float]]:
    """Page backwards from ``end_ms`` to ``start_ms``; returns {open time ms: [o, h, l, c, v, turnover]}."""
    bars: dict[int, list[float]] = {}
    page_end = end_ms
    while page_end >= start_ms:
        url = _kline_url(category, symbol, interval, start_ms, page_end)
        payload = _request_json(url, symbol=symbol, transport=transport, timeout=timeout, max_retries=max_retries,
                                backoff=backoff, min_interval=min_interval)
        rows = _parse_rows(payload, url)
        if not rows:
            break
        for t, values in rows:
            if start_ms <= t <= end_ms:
                bars[t] = values
        oldest = min(t for t, _ in rows)
        if oldest <= start_ms or oldest - 1 >= page_end:  # range covered, or the page did not move backwards
            break
        page_end = oldest - 1
    return bars


def _bars_to_frame(bars: dict[int, list[float]]) -> pd.DataFrame:
    times = np.fromiter(sorted(bars), dtype=np.int64, count=len(bars))
    values = np.array([bars[t] for t in times.tolist()], dtype=np.float64).reshape(len(times), len(COLUMNS))
    return pd.DataFrame(values, index=_ms_index(times), columns=list(COLUMNS))


def _ms_index(times: np.ndarray) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="ms", utc=True), name="time")
    return index.as_unit("ns")


def _index_ms(index: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(index.as_unit("ms").asi8, dtype=np.int64)


# --------------------------------------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------------------------------------

Intervals = list[tuple[int, int]]


def _merge_intervals(spans: Iterable[tuple[int, int]]) -> Intervals:
    merged: Intervals = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _missing(start_ms: int, end_ms: int, covered: Intervals) -> Intervals:
    gaps: Intervals = []
    cursor = start_ms
    for a, b in _merge_intervals(covered):
        if b < cursor:
            continue
        if a > end_ms:
            break
        if a > cursor:
            gaps.append((cursor, a - 1))
        cursor = max(cursor, b + 1)
        if cursor > end_ms:
            break
    if cursor <= end_ms:
        gaps.append((cursor, end_ms))
    return gaps


def _cache_path(cache_dir: str | os.PathLike[str], category: str, symbol: str, interval: str) -> Path:
    return Path(cache_dir).expanduser() / f"bybit_{category}_{symbol}_{interval}.parquet"


def _read_cache(path: Path) -> tuple[pd.DataFrame | None, Intervals]:
    if not path.is_file():
        return None, []
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        frame = table.to_pandas()
        index = pd.DatetimeIndex(frame.index)
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        frame = frame.set_axis(index.as_unit("ns").rename("time"), axis=0)
        frame = frame.loc[:, list(COLUMNS)].astype(np.float64)
        frame = frame[~frame.index.duplicated(keep="last")].sort_index()
        meta = (table.schema.metadata or {}).get(_CACHE_META_KEY)
        if meta is not None:
            covered = [(int(a), int(b)) for a, b in json.loads(meta)]
        elif len(frame):
            ms = _index_ms(pd.DatetimeIndex(frame.index))
            covered = [(int(ms[0]), int(ms[-1]))]
        else:
            covered = []
    except Exception as exc:  # any unreadable or foreign file: ignore it and download again
        warnings.warn(
            f"ignoring unreadable Bybit cache file {str(path)!r} ({type(exc).__name__}: {exc}); "
            "the data will be downloaded again and the file overwritten.",
            DataWarning, stacklevel=3,
        )
        return None, []
    return frame, _merge_intervals(covered)


def _write_cache(path: Path, frame: pd.DataFrame, covered: Intervals) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=True)
    metadata = dict(table.schema.metadata or {})
    metadata[_CACHE_META_KEY] = json.dumps([list(span) for span in covered]).encode()
    table = table.replace_schema_metadata(metadata)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _combine(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    if old is None or old.empty:
        return new
    if new.empty:
        return old
    both = pd.concat([old, new])
    return both[~both.index.duplicated(keep="last")].sort_index()


# --------------------------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------------------------


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
    send: Transport = transport if transport is not None else _urllib_transport
    options: dict[str, Any] = {"transport": send, "timeout": float(timeout), "max_retries": int(max_retries),
                               "backoff": float(backoff), "min_interval": float(min_interval)}

    path = _cache_path(cache_dir, cat, sym, code) if cache_dir is not None else None
    cached, covered = _read_cache(path) if path is not None else (None, [])
    gaps = [(start_ms, end_ms)] if refresh else _missing(start_ms, end_ms, covered)

    fetched_at = _now_ms()
    bars: dict[int, list[float]] = {}
    for a, b in reversed(gaps):  # newest gap first, like the API
        bars.update(_download(cat, sym, code, a, b, **options))
    fresh = _bars_to_frame(bars)

    if refresh:
        combined = fresh
        merged_cache = _combine(cached, fresh)
    else:
        combined = merged_cache = _combine(cached, fresh)

    if path is not None and gaps:
        final_ms = fetched_at - INTERVALS[code]  # bars opening after this may still be forming
        new_spans = [(a, min(b, final_ms)) for a, b in gaps if a <= min(b, final_ms)]
        if not merged_cache.empty or new_spans:
            _write_cache(path, merged_cache, _merge_intervals([*covered, *new_spans]))

    ms = _index_ms(pd.DatetimeIndex(combined.index))
    out = combined.loc[(ms >= start_ms) & (ms <= end_ms)].copy()
    if out.empty:
        raise DataValidationError(
            f"Bybit has no {cat} klines for {sym!r} (interval {code}) between {_fmt_ms(start_ms)} and "
            f"{_fmt_ms(end_ms)}; the symbol may not have traded then — check the dates, the symbol and the category "
            "('spot', 'linear' or 'inverse')."
        )
    out.index = _ms_index(_index_ms(pd.DatetimeIndex(out.index)))
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
            f"symbols {normalized} share no bar time between {_fmt_ms(start_ms)} and {_fmt_ms(end_ms)}; "
            "check that they traded over the same period."
        )
    wide.index.name = "time"
    return wide.astype(np.float64)
