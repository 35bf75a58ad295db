"""Transport of the Bybit client: the HTTP GET, throttling, retries with backoff, response checks and paging.

Nothing here touches the disk: :mod:`latentquant.datasets.bybit._cache` stores what this module downloads, and
:mod:`latentquant.datasets.bybit._klines` validates the user's arguments and puts the two together.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from latentquant.exceptions import LatentQuantError

BYBIT_KLINE_URL = "https://api.bybit.com/v5/market/kline"

PAGE_LIMIT = 1000
#: Largest response body accepted (a full 1000-bar page is about 100 KB).
_MAX_RESPONSE_BYTES = 8 * 2**20
#: Extra pages allowed beyond the number a range needs (a final empty page, short pages near a listing date).
_PAGE_SLACK = 3
_MAX_BACKOFF = 30.0
_RETRYABLE_RET_CODES = frozenset({10006, 10018})  # "too many visits" / IP rate limit
_USER_AGENT = "latentquant/0.1 (+https://pypi.org/project/latentquant; python-urllib)"

Transport = Callable[[str, float], bytes]

# Module-level so that tests can patch them (no real sleeping, a controllable clock).
_sleep: Callable[[float], None] = time.sleep
_monotonic: Callable[[], float] = time.monotonic


class BybitError(LatentQuantError, OSError):
    """A request to Bybit failed: network error, HTTP error, retries exhausted, rejected request or bad response.

    Subclasses :class:`~latentquant.exceptions.LatentQuantError` and :class:`OSError`, so code that handles either
    (for example a command-line interface) also handles network failures.

    Parameters
    ----------
    message : str
        What failed, for which symbol, and what to do.
    ret_code : int, optional
        Bybit's ``retCode`` when Bybit answered but rejected the request.
    ret_msg : str, optional
        Bybit's ``retMsg`` in that case.
    status : int, optional
        The HTTP status code for HTTP errors.

    Attributes
    ----------
    ret_code : int or None
        Bybit's ``retCode`` when Bybit answered but rejected the request.
    ret_msg : str or None
        Bybit's ``retMsg`` in that case.
    status : int or None
        The HTTP status code for HTTP errors.

    Examples
    --------
    >>> err = BybitError("Bybit rejected the request", ret_code=10001, ret_msg="params error: symbol invalid")
    >>> isinstance(err, OSError), err.ret_code, err.status
    (True, 10001, None)
    """

    def __init__(self, message: str, *, ret_code: int | None = None, ret_msg: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.ret_code = ret_code
        self.ret_msg = ret_msg
        self.status = status



def _urllib_transport(url: str, timeout: float) -> bytes:
    """GET ``url`` with :mod:`urllib.request` and return the body; HTTP/URL/timeout errors propagate."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body: bytes = response.read(_MAX_RESPONSE_BYTES + 1)  # bounded: a larger body is refused by the caller
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


def _request_json(url: str, *, symbol: str, transport: Transport | None, timeout: float, max_retries: int,
                  backoff: float, min_interval: float) -> dict[str, Any]:
    """One API call with throttling and retries; returns the decoded JSON object with ``retCode == 0``.

    ``transport=None`` is the default HTTP client, looked up at call time (tests replace it).
    """
    send: Transport = transport if transport is not None else _urllib_transport
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
            body = send(url, timeout)
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
        if isinstance(body, bytes | bytearray | str) and len(body) > _MAX_RESPONSE_BYTES:
            raise BybitError(
                f"Bybit response for symbol {symbol!r} is larger than {_MAX_RESPONSE_BYTES} bytes ({url}); a "
                f"page of {PAGE_LIMIT} bars is about 100 KB, so the server or a proxy is misbehaving — retry later."
            )
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


def format_ms(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"


def _field(value: Any) -> float:
    """One numeric field of a kline row: a string or a number, never a boolean or anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"field {value!r} is not a number")
    return float(value)


def _bar_problem(values: list[float]) -> str | None:
    """Why a bar [open, high, low, close, volume, turnover] is impossible, or None for a valid bar."""
    names = ("open", "high", "low", "close", "volume", "turnover")
    for name, v in zip(names, values, strict=True):
        if v != v or v in (float("inf"), float("-inf")):
            return f"{name} is {v}"
    o, h, lo, c, volume, turnover = values
    for name, v in zip(names[:4], (o, h, lo, c), strict=True):
        if v <= 0:
            return f"{name} price is {v} (prices must be positive)"
    for name, v in (("volume", volume), ("turnover", turnover)):
        if v < 0:
            return f"{name} is {v} (must be non-negative)"
    if h < lo:
        return f"high {h} is below low {lo}"
    for name, v in (("open", o), ("close", c)):
        if not lo <= v <= h:
            return f"{name} {v} is outside [low, high] = [{lo}, {h}]"
    return None


def _parse_rows(payload: dict[str, Any], url: str, symbol: str = "") -> list[tuple[int, list[float]]]:
    result = payload.get("result")
    rows = result.get("list") if isinstance(result, dict) else None
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise BybitError(f"unexpected Bybit response for {url}: result.list is {type(rows).__name__}, not a list.")
    if len(rows) > PAGE_LIMIT:
        raise BybitError(
            f"Bybit returned {len(rows)} bars in one page for symbol {symbol!r}, more than the {PAGE_LIMIT} "
            f"requested ({url}); the server ignores the page size — retry later."
        )
    parsed: list[tuple[int, list[float]]] = []
    for row in rows:
        try:
            if not isinstance(row, list | tuple) or len(row) < 7:
                raise ValueError("expected 7 fields")
            if isinstance(row[0], bool | float) or not isinstance(row[0], str | int):
                raise ValueError(f"start time {row[0]!r} is not an integer")
            t = int(row[0])
            if t < 0:
                raise ValueError(f"start time {t} is negative")
            values = [_field(v) for v in row[1:7]]
        except (TypeError, ValueError) as exc:
            raise BybitError(
                f"unexpected kline row {row!r} in Bybit response for symbol {symbol!r} ({url}) ({exc}); expected "
                "[startTime, open, high, low, close, volume, turnover]."
            ) from exc
        problem = _bar_problem(values)
        if problem is not None:
            raise BybitError(
                f"Bybit returned an invalid {symbol!r} bar at {format_ms(t)}: {problem} ({url}); the data are "
                "corrupt — retry later (with refresh=True if it is cached) or report it."
            )
        parsed.append((t, values))
    return parsed


def _kline_url(category: str, symbol: str, interval: str, start_ms: int, end_ms: int) -> str:
    params = {"category": category, "symbol": symbol, "interval": interval, "start": start_ms, "end": end_ms,
              "limit": PAGE_LIMIT}
    return f"{BYBIT_KLINE_URL}?{urllib.parse.urlencode(params)}"


def download_pages(category: str, symbol: str, interval: str, start_ms: int, end_ms: int, *,
                   transport: Transport | None, timeout: float, max_retries: int, backoff: float,
                   min_interval: float, bar_ms: int = 60_000) -> dict[int, list[float]]:
    """Page backwards from ``end_ms`` to ``start_ms``; returns {open time ms: [o, h, l, c, v, turnover]}.

    ``bar_ms`` is the length of one bar; it bounds the number of pages the range can need, and a server whose pages
    do not move back through the range (or move back by less than a bar) ends with a :class:`BybitError`.
    """
    bars: dict[int, list[float]] = {}
    n_bars = (end_ms - start_ms) // max(int(bar_ms), 1) + 1
    max_pages = -(-n_bars // PAGE_LIMIT) + _PAGE_SLACK
    page_end = end_ms
    pages = 0
    while page_end >= start_ms:
        if pages >= max_pages:
            raise BybitError(
                f"Bybit paging for symbol {symbol!r} did not finish after {pages} pages (the range "
                f"{format_ms(start_ms)} to {format_ms(end_ms)} needs at most {max_pages}); the server's "
                "pages do not move back through the range — retry later or report it."
            )
        url = _kline_url(category, symbol, interval, start_ms, page_end)
        payload = _request_json(url, symbol=symbol, transport=transport, timeout=timeout, max_retries=max_retries,
                                backoff=backoff, min_interval=min_interval)
        pages += 1
        rows = _parse_rows(payload, url, symbol)
        if not rows:
            break
        for t, values in rows:
            if start_ms <= t <= end_ms:
                bars[t] = values
        oldest = min(t for t, _ in rows)
        if oldest <= start_ms:  # range covered
            break
        if oldest - 1 >= page_end:
            raise BybitError(
                f"Bybit paging for symbol {symbol!r} did not move back after {pages} pages: the page for bars "
                f"up to {format_ms(page_end)} starts at {format_ms(oldest)}; the server ignores the 'end' "
                "parameter — retry later or report it."
            )
        page_end = oldest - 1
    return bars
