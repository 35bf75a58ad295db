"""Bybit kline downloader: pagination, retries, rate limiting, cache — all offline, on recorded responses.

No test touches the network (the default transport is replaced by a function that fails) or really sleeps (the
module's ``_sleep``/``_monotonic`` are replaced by a fake clock).
"""

from __future__ import annotations

import doctest
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd
import pytest

import latentquant.datasets as lqd
from latentquant.datasets import bybit
from latentquant.datasets.bybit import BybitError, _klines, _transport, bybit_close_prices, fetch_bybit_klines
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning, LatentQuantError

DATA = Path(__file__).parent / "data" / "bybit"
REAL_TRANSPORT = _transport._urllib_transport
NOW_MS = 1718013600000  # 2024-06-10 10:00 UTC, frozen "now"


def ms(day: str) -> int:
    return int(pd.Timestamp(day, tz="UTC").value // 1_000_000)


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


PAGE1, PAGE2 = recorded("btcusdt_D_page1.json"), recorded("btcusdt_D_page2.json")
ETH, EMPTY, SYMBOL_INVALID = recorded("ethusdt_D.json"), recorded("empty.json"), recorded("error_symbol_invalid.json")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeTransport:
    """Replays responses (bytes) or raises exceptions in order; records every URL and timeout."""

    def __init__(self, *responses: bytes | BaseException, clock: FakeClock | None = None,
                 latency: float = 0.0) -> None:
        self.responses = list(responses)
        self.urls: list[str] = []
        self.timeouts: list[float] = []
        self.clock, self.latency = clock, latency

    def __call__(self, url: str, timeout: float) -> bytes:
        self.urls.append(url)
        self.timeouts.append(timeout)
        if self.clock is not None:
            self.clock.now += self.latency
        if not self.responses:
            raise AssertionError(f"unexpected request {url}")
        response = self.responses.pop(0)
        if isinstance(response, BaseException):
            raise response
        return response

    def params(self, i: int) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.urls[i]).query))


def http_error(code: int, reason: str, headers: dict[str, str] | None = None) -> urllib.error.HTTPError:
    return urllib.error.HTTPError(bybit.BYBIT_KLINE_URL, code, reason, headers, None)  # type: ignore[arg-type]


def no_network(url: str, timeout: float) -> bytes:
    raise AssertionError(f"a test tried to reach the network: {url}")


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    # the transport module owns the clock, the throttle and the default HTTP client; _klines owns "now"
    monkeypatch.setattr(_transport, "_sleep", fake.sleep)
    monkeypatch.setattr(_transport, "_monotonic", fake.monotonic)
    monkeypatch.setattr(_klines, "_now_ms", lambda: NOW_MS)
    monkeypatch.setattr(_transport, "_urllib_transport", no_network)
    _transport._THROTTLE.reset()
    yield fake
    _transport._THROTTLE.reset()


# ---------------------------------------------------------------------------------------------------------------------
# pagination and output
# ---------------------------------------------------------------------------------------------------------------------


def test_pagination_stitches_pages_ascending_without_duplicates() -> None:
    t = FakeTransport(PAGE1, PAGE2)
    df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", transport=t)

    expected = pd.date_range("2024-01-01", "2024-01-10", freq="D", tz="UTC")
    assert df.index.tolist() == expected.tolist()
    assert df.index.name == "time" and str(df.index.tz) == "UTC"
    assert df.index.is_monotonic_increasing and df.index.is_unique
    assert list(df.columns) == ["open", "high", "low", "close", "volume", "turnover"]
    assert all(dtype == np.float64 for dtype in df.dtypes)
    assert df.loc["2024-01-01", "open"].item() == 42283.58
    assert df.loc["2024-01-03", "close"].item() == 42845.23
    assert df.loc["2024-01-05", "volume"].item() == 18112.663  # the bar both pages hold, kept once
    assert df.loc["2024-01-10", "turnover"].item() == pytest.approx(1934490440.29428)
    assert (df["high"] >= df[["open", "close", "low"]].max(axis=1)).all()

    assert len(t.urls) == 2 and t.timeouts == [10.0, 10.0]
    parts = urlsplit(t.urls[0])
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "api.bybit.com", "/v5/market/kline")
    assert t.params(0) == {"category": "spot", "symbol": "BTCUSDT", "interval": "D", "start": str(ms("2024-01-01")),
                           "end": str(ms("2024-01-10")), "limit": "1000"}
    # second window ends 1 ms before the oldest bar of the first page
    assert t.params(1) == {**t.params(0), "end": str(ms("2024-01-05") - 1)}


def test_empty_page_stops_pagination() -> None:
    t = FakeTransport(PAGE1, PAGE2, EMPTY)  # a fourth request would raise AssertionError
    df = fetch_bybit_klines("BTCUSDT", "1d", "2023-12-25", "2024-01-10", transport=t)
    assert len(t.urls) == 3
    assert t.params(2)["start"] == str(ms("2023-12-25")) and t.params(2)["end"] == str(ms("2024-01-01") - 1)
    assert df.index[0] == pd.Timestamp("2024-01-01", tz="UTC") and len(df) == 10


def test_page_that_does_not_move_backwards_raises() -> None:
    t = FakeTransport(PAGE1, PAGE1)  # a server ignoring `end` would repeat the same page forever
    with pytest.raises(BybitError, match=r"paging for symbol 'BTCUSDT' did not move back after 2 pages: .*"
                                         r"starts at 2024-01-05 00:00:00 UTC; the server ignores the 'end'"):
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", transport=t)
    assert len(t.urls) == 2


def kline_page(*rows: list[object]) -> bytes:
    import json

    return json.dumps({"retCode": 0, "retMsg": "OK", "result": {"symbol": "BTCUSDT", "list": list(rows)}}).encode()


def test_server_stepping_back_one_ms_per_page_is_bounded() -> None:
    # every page holds one bar opening at the requested end: the window moves back 1 ms a page, ~10^9 pages
    calls: list[str] = []

    def creeping(url: str, timeout: float) -> bytes:
        calls.append(url)
        end = int(dict(parse_qsl(urlsplit(url).query))["end"])
        return kline_page([str(end), "1", "1", "1", "1", "0", "0"])

    with pytest.raises(BybitError, match=r"paging for symbol 'BTCUSDT' did not finish after 4 pages \(the range "
                                         r"2024-01-01 00:00:00 UTC to 2024-01-10 00:00:00 UTC needs at most 4\)"):
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", transport=creeping)
    assert len(calls) == 4
    # a long minute range may take its ~1,300 pages
    assert _transport.PAGE_LIMIT * (1300 - _transport._PAGE_SLACK) < 3 * 365 * 1440


def test_oversized_response_and_page_are_refused() -> None:
    big = kline_page(*([str(ms("2024-01-01")), "1", "1", "1", "1", "0", "0"] for _ in range(1001)))
    with pytest.raises(BybitError, match=r"1001 bars in one page for symbol 'BTCUSDT', more than the 1000"):
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", transport=FakeTransport(big))
    huge = b" " * (_transport._MAX_RESPONSE_BYTES + 1) + PAGE1
    with pytest.raises(BybitError, match=r"response for symbol 'BTCUSDT' is larger than 8388608 bytes"):
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", transport=FakeTransport(huge))


@pytest.mark.parametrize(("fields", "msg"), [
    (["NaN", "1", "1", "1", "1", "1"], "open is nan"),
    (["1", "inf", "1", "1", "1", "1"], "high is inf"),
    (["1", "1", "1", "1", "-Infinity", "1"], "volume is -inf"),
    (["-1", "1", "-2", "1", "1", "1"], r"open price is -1.0 \(prices must be positive\)"),
    (["1", "1", "1", "0", "1", "1"], r"close price is 0.0 \(prices must be positive\)"),
    (["1", "1", "1", "1", "-5", "1"], r"volume is -5.0 \(must be non-negative\)"),
    (["1", "1", "1", "1", "1", "-0.5"], r"turnover is -0.5 \(must be non-negative\)"),
    (["1", "1", "2", "1", "1", "1"], "high 1.0 is below low 2.0"),
    (["1", "2", "1", "3", "1", "1"], r"close 3.0 is outside \[low, high\] = \[1.0, 2.0\]"),
    (["0.5", "2", "1", "1", "1", "1"], r"open 0.5 is outside \[low, high\]"),
])
def test_impossible_bar_names_its_time(fields: list[str], msg: str) -> None:
    page = kline_page([str(ms("2024-01-03")), *fields, "0"][:7])
    with pytest.raises(BybitError, match=r"invalid 'BTCUSDT' bar at 2024-01-03 00:00:00 UTC: " + msg):
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-03", "2024-01-03 12:00", transport=FakeTransport(page))


@pytest.mark.parametrize("row", [
    [str(1704240000000), True, "1", "1", "1", "1", "1"],
    [str(1704240000000), "1", "1", "1", "1", None, "1"],
    [str(1704240000000), "1", "1", "1", "1", "abc", "1"],
    [str(1704240000000), "1", "1", "1", "1", [1], "1"],
    [True, "1", "1", "1", "1", "1", "1"],
    [1.7e12, "1", "1", "1", "1", "1", "1"],
    ["-1", "1", "1", "1", "1", "1", "1"],
])
def test_boolean_or_non_numeric_fields_are_refused(row: list[object]) -> None:
    with pytest.raises(BybitError, match=r"unexpected kline row .* for symbol 'BTCUSDT'"):
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-03", "2024-01-03 12:00", transport=FakeTransport(kline_page(row)))


def test_bar_without_trades_is_valid() -> None:
    page = kline_page([str(ms("2024-01-03")), "2", "2", "2", "2", "0", "0"])
    df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-03", "2024-01-03 12:00", transport=FakeTransport(page))
    assert df["volume"].tolist() == [0.0] and df["close"].tolist() == [2.0]


def test_result_is_restricted_to_the_requested_range() -> None:
    t = FakeTransport(PAGE2)
    df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-02", "2024-01-04 12:00", transport=t)
    assert df.index.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-01-03", "2024-01-04"]


@pytest.mark.parametrize(("alias", "code"), [
    ("1m", "1"), ("5m", "5"), ("15m", "15"), ("1h", "60"), ("4h", "240"), ("12h", "720"), ("1d", "D"), ("1D", "D"),
    ("D", "D"), ("daily", "D"), ("1w", "W"), ("W", "W"), ("1M", "M"), ("M", "M"), ("60", "60"), (240, "240"),
])
def test_interval_aliases(alias: object, code: str) -> None:
    assert _klines._normalize_interval(alias) == code


def test_symbol_is_upper_cased_and_alias_is_sent_as_bybit_code() -> None:
    t = FakeTransport(PAGE2)
    fetch_bybit_klines(" btcusdt ", "1d", "2024-01-01", "2024-01-05", category="Linear", transport=t)
    assert t.params(0)["symbol"] == "BTCUSDT" and t.params(0)["interval"] == "D"
    assert t.params(0)["category"] == "linear"


@pytest.mark.parametrize("start", [
    "2024-01-01", datetime(2024, 1, 1), pd.Timestamp("2024-01-01 01:00", tz="Europe/Paris"),
    np.datetime64("2024-01-01T00:00"), 1704067200000,
])
def test_start_accepts_strings_datetimes_aware_timestamps_and_ms(start: object) -> None:
    t = FakeTransport(PAGE2)
    fetch_bybit_klines("BTCUSDT", "D", start, ms("2024-01-05"), transport=t)
    assert t.params(0)["start"] == str(ms("2024-01-01")) and t.params(0)["end"] == str(ms("2024-01-05"))


def test_defaults_end_now_start_1000_bars_back() -> None:
    t = FakeTransport(PAGE1, PAGE2, EMPTY)
    fetch_bybit_klines("BTCUSDT", transport=t)
    assert t.params(0)["end"] == str(NOW_MS)
    assert t.params(0)["start"] == str(NOW_MS - 1000 * 86_400_000)


def test_no_data_in_range_raises() -> None:
    msg = (r"Bybit has no spot klines for 'BTCUSDT' \(interval D\) between 2023-01-01 00:00:00 UTC and "
           r"2023-06-01 00:00:00 UTC; the symbol may not have traded then")
    with pytest.raises(DataValidationError, match=msg):
        fetch_bybit_klines("BTCUSDT", "D", "2023-01-01", "2023-06-01", transport=FakeTransport(EMPTY))


# ---------------------------------------------------------------------------------------------------------------------
# errors, retries and rate limiting
# ---------------------------------------------------------------------------------------------------------------------


def test_retcode_error_names_code_and_message() -> None:
    t = FakeTransport(SYMBOL_INVALID)
    msg = (r"^Bybit rejected the request for symbol 'FOOUSDT' \(retCode 10001: params error: symbol invalid\); "
           r"check the symbol and category\.$")
    with pytest.raises(BybitError, match=msg) as info:
        fetch_bybit_klines("FOOUSDT", "D", "2024-01-01", "2024-01-10", transport=t)
    assert info.value.ret_code == 10001 and info.value.ret_msg == "params error: symbol invalid"
    assert isinstance(info.value, LatentQuantError) and isinstance(info.value, OSError)
    assert len(t.urls) == 1  # not retried


def test_network_failure_is_retried_with_backoff_then_raises(clock: FakeClock) -> None:
    reason = urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    t = FakeTransport(reason, TimeoutError("timed out"), reason)
    msg = (r"^Bybit request for symbol 'BTCUSDT' failed after 3 attempt\(s\) \(last error: <urlopen error \[Errno -3\] "
           r"Temporary failure in name resolution>\); check the internet connection or proxy, or retry later with a "
           r"larger timeout or max_retries\.$")
    with pytest.raises(BybitError, match=msg) as info:
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", max_retries=2, backoff=0.5, min_interval=0,
                           transport=t)
    assert info.value.__cause__ is reason
    assert len(t.urls) == 3 and len(set(t.urls)) == 1
    assert clock.sleeps == [0.5, 1.0]


def test_default_max_retries_is_five(clock: FakeClock) -> None:
    t = FakeTransport(*[TimeoutError("timed out")] * 6)
    with pytest.raises(BybitError, match=r"failed after 6 attempt\(s\) \(last error: timed out\)"):
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", transport=t)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_http_500_then_success_recovers(clock: FakeClock) -> None:
    t = FakeTransport(http_error(500, "Internal Server Error"), http_error(503, "Service Unavailable"), PAGE2)
    df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-05", transport=t)
    assert len(df) == 5 and len(t.urls) == 3
    assert clock.sleeps == [0.5, 1.0]


def test_http_429_waits_at_least_retry_after(clock: FakeClock) -> None:
    t = FakeTransport(http_error(429, "Too Many Requests", {"Retry-After": "3"}), PAGE2)
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-05", transport=t)
    assert clock.sleeps == [3.0]


def test_http_400_is_not_retried(clock: FakeClock) -> None:
    t = FakeTransport(http_error(400, "Bad Request"))
    with pytest.raises(BybitError, match=r"^Bybit returned HTTP 400 \(Bad Request\) for symbol 'BTCUSDT'") as info:
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", transport=t)
    assert info.value.status == 400 and len(t.urls) == 1 and clock.sleeps == []


def test_response_that_is_not_json_raises() -> None:
    t = FakeTransport(b"<html>Access denied</html>")
    with pytest.raises(BybitError, match=r"Bybit returned a response that is not JSON .* \(starts with b'<html>"):
        fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", transport=t)


def test_rate_limit_sleeps_min_interval_between_requests(clock: FakeClock) -> None:
    t = FakeTransport(PAGE1, PAGE2, EMPTY)  # the fake clock does not advance: every request after the first waits
    fetch_bybit_klines("BTCUSDT", "D", "2023-12-25", "2024-01-10", min_interval=0.25, transport=t)
    assert clock.sleeps == [0.25, 0.25]


def test_rate_limit_sleeps_only_the_remaining_time(clock: FakeClock) -> None:
    t = FakeTransport(PAGE1, PAGE2, EMPTY, clock=clock, latency=0.1)  # each request takes 0.1 s
    fetch_bybit_klines("BTCUSDT", "D", "2023-12-25", "2024-01-10", min_interval=0.25, transport=t)
    assert clock.sleeps == pytest.approx([0.15, 0.15])


def test_rate_limit_spans_calls_and_can_be_disabled(clock: FakeClock) -> None:
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-05", transport=FakeTransport(PAGE2))
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-05", transport=FakeTransport(PAGE2))
    assert clock.sleeps == pytest.approx([0.1])
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-05", min_interval=0, transport=FakeTransport(PAGE2))
    assert clock.sleeps == pytest.approx([0.1])


# ---------------------------------------------------------------------------------------------------------------------
# argument validation
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "msg"), [
    ({"interval": "7m"}, r"^unknown Bybit interval '7m'; use one of 1, 3, 5, 15, 30, 60, 120, 240, 360, 720, D, W, M"),
    ({"start": "2024-02-01", "end": "2024-01-01"},
     r"^start \(2024-02-01 00:00:00 UTC\) must be before end \(2024-01-01 00:00:00 UTC\); swap them or widen"),
    ({"start": "2024-01-01", "end": "2024-01-01"}, r"^start \(2024-01-01 00:00:00 UTC\) must be before end"),
    ({"symbol": ""}, r"^symbol must be a non-empty string such as 'BTCUSDT', got ''\.$"),
    ({"symbol": None}, r"^symbol must be a non-empty string such as 'BTCUSDT', got None\.$"),
    ({"symbol": "BTC/USDT"}, r"^symbol 'BTC/USDT' is not a valid Bybit symbol; use letters and digits only"),
    ({"category": "futures"}, r"^category must be one of 'spot', 'linear', 'inverse', got 'futures'; use 'spot'"),
    ({"start": "not a date"}, r"^start 'not a date' could not be parsed as a date"),
    ({"end": 1.5}, r"^end must be a date string, datetime, pandas Timestamp or millisecond integer, got float 1\.5"),
    ({"timeout": 0}, r"^timeout must be a positive number of seconds, got 0\.$"),
    ({"max_retries": -1}, r"^max_retries must be a non-negative integer, got -1\.$"),
    ({"min_interval": -0.1}, r"^min_interval must be a non-negative number of seconds, got -0\.1\.$"),
])
def test_bad_arguments_raise_before_any_request(kwargs: dict[str, object], msg: str) -> None:
    t = FakeTransport()
    args = {"symbol": "BTCUSDT", "interval": "D", "start": "2024-01-01", "end": "2024-01-10", **kwargs}
    with pytest.raises(ConfigError, match=msg):
        fetch_bybit_klines(transport=t, **args)  # type: ignore[arg-type]
    assert t.urls == []


# ---------------------------------------------------------------------------------------------------------------------
# cache
# ---------------------------------------------------------------------------------------------------------------------


def test_cache_round_trip_makes_no_second_request(tmp_path: Path) -> None:
    first = fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", cache_dir=tmp_path / "cache",
                               transport=FakeTransport(PAGE1, PAGE2))
    assert (tmp_path / "cache" / "bybit_spot_BTCUSDT_D.parquet").is_file()

    offline = FakeTransport()
    again = fetch_bybit_klines("BTCUSDT", "1d", "2024-01-01", "2024-01-10", cache_dir=tmp_path / "cache",
                               transport=offline)
    pd.testing.assert_frame_equal(again, first)
    part = fetch_bybit_klines("BTCUSDT", "D", "2024-01-03", "2024-01-06", cache_dir=tmp_path / "cache",
                              transport=offline)
    pd.testing.assert_frame_equal(part, first.loc["2024-01-03":"2024-01-06"])
    assert offline.urls == []


def test_cache_fetches_only_the_missing_range(tmp_path: Path) -> None:
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-05", cache_dir=tmp_path, transport=FakeTransport(PAGE2))
    t = FakeTransport(PAGE1)
    df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", cache_dir=tmp_path, transport=t)
    assert len(t.urls) == 1
    assert t.params(0)["start"] == str(ms("2024-01-05") + 1) and t.params(0)["end"] == str(ms("2024-01-10"))
    assert len(df) == 10 and df.index.is_unique and df.index.is_monotonic_increasing

    offline = FakeTransport()
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", cache_dir=tmp_path, transport=offline)
    assert offline.urls == []


def test_cache_remembers_ranges_without_data(tmp_path: Path) -> None:
    # 2023-12-25 .. 2023-12-31 was checked once (empty page) and is not asked again
    fetch_bybit_klines("BTCUSDT", "D", "2023-12-25", "2024-01-10", cache_dir=tmp_path,
                       transport=FakeTransport(PAGE1, PAGE2, EMPTY))
    offline = FakeTransport()
    df = fetch_bybit_klines("BTCUSDT", "D", "2023-12-25", "2024-01-10", cache_dir=tmp_path, transport=offline)
    assert offline.urls == [] and len(df) == 10


def test_refresh_ignores_the_cache(tmp_path: Path) -> None:
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", cache_dir=tmp_path,
                       transport=FakeTransport(PAGE1, PAGE2))
    t = FakeTransport(PAGE1, PAGE2)
    df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", cache_dir=tmp_path, refresh=True,
                            transport=t)
    assert len(t.urls) == 2 and len(df) == 10


def test_bar_still_forming_is_fetched_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = ms("2024-01-10") + 12 * 3_600_000  # 2024-01-10 12:00: the 2024-01-10 daily bar is still open
    monkeypatch.setattr(_klines, "_now_ms", lambda: now)
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", cache_dir=tmp_path, transport=FakeTransport(PAGE1, PAGE2))
    t = FakeTransport(PAGE1)
    df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", cache_dir=tmp_path, transport=t)
    assert len(t.urls) == 1 and t.params(0)["start"] == str(now - 86_400_000 + 1) and t.params(0)["end"] == str(now)
    assert df.index[-1] == pd.Timestamp("2024-01-10", tz="UTC") and len(df) == 10


def test_unreadable_cache_warns_and_downloads_again(tmp_path: Path) -> None:
    (tmp_path / "bybit_spot_BTCUSDT_D.parquet").write_bytes(b"not parquet")
    t = FakeTransport(PAGE1, PAGE2)
    with pytest.warns(DataWarning, match="ignoring unreadable Bybit cache file"):
        df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", cache_dir=tmp_path, transport=t)
    assert len(t.urls) == 2 and len(df) == 10
    offline = FakeTransport()
    fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-10", cache_dir=tmp_path, transport=offline)
    assert offline.urls == []


# ---------------------------------------------------------------------------------------------------------------------
# close-price helper, default transport, docs
# ---------------------------------------------------------------------------------------------------------------------


def test_close_prices_inner_joins_symbols() -> None:
    t = FakeTransport(PAGE1, PAGE2, ETH, EMPTY)
    wide = bybit_close_prices(["BTCUSDT", "ethusdt"], "1d", "2024-01-01", "2024-01-10", transport=t)
    assert list(wide.columns) == ["BTCUSDT", "ETHUSDT"] and wide.index.name == "time"
    assert wide.index[0] == pd.Timestamp("2024-01-02", tz="UTC") and len(wide) == 9
    assert wide.loc["2024-01-10"].tolist() == [46653.99, 2585.55]
    assert all(dtype == np.float64 for dtype in wide.dtypes)
    assert [t.params(i)["symbol"] for i in range(4)] == ["BTCUSDT", "BTCUSDT", "ETHUSDT", "ETHUSDT"]
    with pytest.raises(ConfigError, match=r"symbols contains duplicates \['BTCUSDT'\]"):
        bybit_close_prices(["BTCUSDT", "btcusdt"], transport=FakeTransport())


def test_default_transport_sends_user_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    class Response:
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self, amount: int = -1) -> bytes:
            seen.update(amount=amount)
            return PAGE2

    def fake_urlopen(request: urllib.request.Request, timeout: float) -> Response:
        seen.update(url=request.full_url, agent=request.get_header("User-agent"), timeout=timeout)
        return Response()

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setattr(_transport, "_urllib_transport", REAL_TRANSPORT)
    df = fetch_bybit_klines("BTCUSDT", "D", "2024-01-01", "2024-01-05", timeout=3.0)
    assert len(df) == 5 and seen["timeout"] == 3.0
    assert seen["amount"] == _transport._MAX_RESPONSE_BYTES + 1  # the body read is bounded
    assert str(seen["agent"]).startswith("latentquant/")
    assert str(seen["url"]).startswith("https://api.bybit.com/v5/market/kline?category=spot&symbol=BTCUSDT")


def test_public_names_and_docstring_examples() -> None:
    for name in ("BybitError", "bybit_close_prices", "fetch_bybit_klines"):
        assert name in lqd.__all__ and getattr(lqd, name) is getattr(bybit, name)
    result = doctest.testmod(bybit, verbose=False)
    assert result.failed == 0 and result.attempted > 0


def test_transport_and_cache_modules_keep_to_their_seams() -> None:
    import ast
    import inspect

    def imported(module: object) -> set[str]:
        tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    from latentquant.datasets.bybit import _cache

    # the transport never touches the disk, the cache never the network
    assert not {"os", "pathlib", "tempfile", "pyarrow", "pyarrow.parquet"} & imported(_transport)
    assert not {m for m in imported(_cache) if m.startswith(("urllib", "http"))}
    assert not {m for m in imported(_cache) if m.startswith("latentquant.datasets.bybit")}
