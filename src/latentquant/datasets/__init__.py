"""Real market data bundled with latentquant, and loaders for the user's own files.

Bundled datasets (offline, no extra dependency; see ``data/PROVENANCE.md`` for sources and
licences):

======================  ===========  ==========================================================
name                    frequency    content
======================  ===========  ==========================================================
``sp500_ohlcv``         daily        S&P 500 index OHLCV 1950-2018
``sp500_index``         daily        S&P 500 index close 1990-2022
``sp500_stocks``        daily        20 S&P 500 stocks, adjusted close 1990-2022
``factor_etfs``         daily        iShares factor ETFs (MTUM QUAL SIZE USMV VLUE) 2014-2022
``vix``                 daily        CBOE VIX OHLC 1990-2024
``world_indices``       daily        33 world index closes 2000-2022
``treasury_yields``     daily        US Treasury par yields, 13 maturities, percent, 1990-2024
``etf_prices``          daily        23 ETFs, adjusted close 2008-2016
``fx_rates``            daily        ECB reference rates, currency per EUR, 1999-2026
``french_portfolios``   monthly      FF factors + 30 test portfolios, decimals, 1949-2017
``ff3``                 monthly      FF 3 factors, decimals, 1926-2018
``crypto_daily``        daily        Bitstamp BTC/ETH/LTC 2014-2020
``btc_hourly``          hourly       Coinbase BTC/USD bars 2017-2019 (UTC)
``spx_generation``      daily        S&P 500 log return + log Garman-Klass variance 2000-2018
``fx_usd``              daily        8 currencies per USD (ECB crosses) 2005-2026
``timegan_stocks``      daily        TimeGAN "Stocks" benchmark, Google OHLCV, no dates
======================  ===========  ==========================================================

Every loader returns a new :class:`pandas.DataFrame` with a sorted, unique ``DatetimeIndex`` named
``date`` and float64 columns; returns are decimal fractions, yields percent. The one exception is
``timegan_stocks``, published without dates: its index is a ``RangeIndex`` named ``step``. The
generation sets ``spx_generation`` and ``fx_usd`` are derived from ``sp500_ohlcv`` and ``fx_rates``
on each call (no extra file).

Online data (needs the internet; see :mod:`latentquant.datasets.bybit`): :func:`fetch_bybit_klines`
downloads OHLCV candles from Bybit's public API (UTC index named ``time``, optional Parquet cache)
and :func:`bybit_close_prices` builds a wide table of close prices for several symbols.

Examples
--------
>>> from latentquant.datasets import list_datasets, load_dataset, load_ff3
>>> ff3 = load_ff3()
>>> same = load_dataset("ff3")
>>> bool(ff3.equals(same))
True
"""

from latentquant.datasets._bundled import (
    load_btc_hourly,
    load_crypto_daily,
    load_etf_prices,
    load_factor_etfs,
    load_ff3,
    load_french_portfolios,
    load_fx_rates,
    load_sp500_index,
    load_sp500_ohlcv,
    load_sp500_stocks,
    load_treasury_yields,
    load_vix,
    load_world_indices,
)
from latentquant.datasets._generation import load_fx_usd, load_spx_generation, load_timegan_stocks
from latentquant.datasets._registry import (
    DatasetInfo,
    dataset_info,
    list_datasets,
    load_dataset,
)
from latentquant.datasets._user import load_prices_csv, load_returns
from latentquant.datasets.bybit import BybitError, bybit_close_prices, fetch_bybit_klines

__all__ = [
    "BybitError",
    "DatasetInfo",
    "bybit_close_prices",
    "dataset_info",
    "fetch_bybit_klines",
    "list_datasets",
    "load_btc_hourly",
    "load_crypto_daily",
    "load_dataset",
    "load_etf_prices",
    "load_factor_etfs",
    "load_ff3",
    "load_french_portfolios",
    "load_fx_rates",
    "load_fx_usd",
    "load_prices_csv",
    "load_returns",
    "load_sp500_index",
    "load_sp500_ohlcv",
    "load_sp500_stocks",
    "load_spx_generation",
    "load_timegan_stocks",
    "load_treasury_yields",
    "load_vix",
    "load_world_indices",
]
