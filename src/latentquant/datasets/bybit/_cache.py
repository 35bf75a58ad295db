"""Local storage of the Bybit client: one Parquet file per (category, symbol, interval) with the time spans already
downloaded, the arithmetic of covered and missing spans, and merging new bars into stored ones.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from latentquant.exceptions import DataWarning

COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "turnover")

_CACHE_META_KEY = b"latentquant.bybit.coverage"


def bars_to_frame(bars: dict[int, list[float]]) -> pd.DataFrame:
    times = np.fromiter(sorted(bars), dtype=np.int64, count=len(bars))
    values = np.array([bars[t] for t in times.tolist()], dtype=np.float64).reshape(len(times), len(COLUMNS))
    return pd.DataFrame(values, index=ms_index(times), columns=list(COLUMNS))


def ms_index(times: np.ndarray) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="ms", utc=True), name="time")
    return index.as_unit("ns")


def index_ms(index: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(index.as_unit("ms").asi8, dtype=np.int64)



Intervals = list[tuple[int, int]]


def merge_intervals(spans: Iterable[tuple[int, int]]) -> Intervals:
    merged: Intervals = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def missing_intervals(start_ms: int, end_ms: int, covered: Intervals) -> Intervals:
    gaps: Intervals = []
    cursor = start_ms
    for a, b in merge_intervals(covered):
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


def cache_path(cache_dir: str | os.PathLike[str], category: str, symbol: str, interval: str) -> Path:
    return Path(cache_dir).expanduser() / f"bybit_{category}_{symbol}_{interval}.parquet"


def read_cache(path: Path) -> tuple[pd.DataFrame | None, Intervals]:
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
            ms = index_ms(pd.DatetimeIndex(frame.index))
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
    return frame, merge_intervals(covered)


def write_cache(path: Path, frame: pd.DataFrame, covered: Intervals) -> None:
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


def combine_bars(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    if old is None or old.empty:
        return new
    if new.empty:
        return old
    both = pd.concat([old, new])
    return both[~both.index.duplicated(keep="last")].sort_index()
