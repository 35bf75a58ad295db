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

The client has three private modules along its seams: ``_transport`` (the HTTP GET, throttling, retries and
paging; no disk access), ``_cache`` (the Parquet files, the spans they cover and merging; no network) and
``_klines`` (argument checks and the two public functions).

Errors: invalid arguments raise :class:`~latentquant.exceptions.ConfigError`; network failures, HTTP errors and
rejected requests raise :class:`BybitError` (a :class:`~latentquant.exceptions.LatentQuantError` and an
:class:`OSError`); an empty result raises :class:`~latentquant.exceptions.DataValidationError`. The work is bounded:
a response over 8 MiB or over 1000 bars, and paging that does not move back through the range within the pages the
range needs, raise :class:`BybitError` naming the symbol and the page count; every bar is checked (finite, positive
prices, non-negative volume and turnover, low <= open, close <= high) and an impossible one raises
:class:`BybitError` naming its time. A bar with zero volume (no trades) is valid.

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

from latentquant.datasets.bybit._cache import COLUMNS
from latentquant.datasets.bybit._klines import (
    CATEGORIES,
    INTERVAL_ALIASES,
    INTERVALS,
    bybit_close_prices,
    fetch_bybit_klines,
)
from latentquant.datasets.bybit._transport import BYBIT_KLINE_URL, BybitError

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
