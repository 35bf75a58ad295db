r"""Monthly panels of price-based stock characteristics built from daily prices.

:func:`price_characteristics` turns a daily table of (adjusted) prices and a daily market index into a monthly
:class:`~latentquant.data.panel.Panel` in the layout of REFERENCE §4.1: row ``(t, i)`` holds stock ``i``'s (excess)
return over month ``t`` and characteristics computed **only from daily data up to the last trading day of month
t−1**. The characteristics are therefore *already lagged*: use the panel as it is (``panel.rank()`` …) and do **not**
call :meth:`Panel.lag` on it, which would lag them a second time.

Conventions
-----------
* A month is a calendar month; its month-end price :math:`P_m` is the price on the last date of ``prices`` that falls
  in the month (NaN there → no month-end price). Rows are labelled by the calendar month end (``2020-01-31``).
* Return of month ``t``: :math:`r_{i,t} = P_{i,t} / P_{i,t-1} - 1` (simple return of month-end prices). With ``rf``
  (an annualised yield in **percent**, e.g. the 3-month Treasury ``load_treasury_yields()["3M"]``) the monthly
  risk-free rate is the last yield on or before the end of month ``t−1`` divided by :math:`12 \times 100` (simple
  monthly compounding, known at the start of the month), and the row holds :math:`r_{i,t} - rf_t`.
* Stock-months without a return (a missing month-end price) are dropped. The first month of the data only anchors
  the first return; a trailing month whose last date is before that month's last business day is incomplete and gets
  no row.
* Daily returns are simple returns between consecutive rows of ``prices`` (no filling). Rolling windows count
  *trading days* (rows), end on the last trading day of month ``t−1`` and need at least ``min_days`` valid daily
  values; otherwise — and whenever a characteristic lacks history — it is NaN (:func:`rank_transform` maps NaN to 0).

Characteristics (row ``t``; :math:`P_m` month-end prices, "daily" = daily simple returns, in decimals, not annualised)

=============  ====================================================================================================
``mom12_2``    :math:`P_{t-2}/P_{t-13} - 1`: compounded returns of months t−12 … t−2 (skips month t−1)
``mom6``       :math:`P_{t-2}/P_{t-7} - 1`: months t−6 … t−2
``mom36``      :math:`P_{t-13}/P_{t-37} - 1`: months t−36 … t−13
``rev1``       :math:`P_{t-1}/P_{t-2} - 1`: return of month t−1 (short-term reversal)
``vol``        standard deviation (ddof 1) of daily returns over the last 63 trading days
``beta``       slope of the 252-day daily market-model regression :math:`r_{i,d} = a + b\,r_{m,d} + e`
``idio_vol``   residual standard deviation of that regression (ddof 2)
``max_ret``    largest daily return within month t−1 (needs ≥ 10 daily returns in that month)
``skew``       skewness (bias-corrected, as :meth:`pandas.Series.skew`) of daily returns over 252 trading days;
               NaN when their standard deviation is below 1e-8 (no dispersion)
``dist_high``  :math:`P_{t-1}` / highest price over the last 252 trading days − 1 (≤ 0)
``log_price``  :math:`\log P_{t-1}` — a **size proxy** only: shares outstanding are not available, so market
               capitalisation cannot be formed (and adjusted prices are not even comparable across stocks)
``illiq``      only with ``volume``: Amihud illiquidity, mean of :math:`10^6 |r_d| / (P_d V_d)` within month t−1
=============  ====================================================================================================

Examples
--------
>>> import numpy as np, pandas as pd
>>> dates = pd.bdate_range("2019-01-01", "2021-12-31")
>>> rng = np.random.default_rng(0)
>>> market = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates)))), index=dates)
>>> prices = pd.DataFrame({a: 50 * np.exp(np.cumsum(rng.normal(0, 0.02, len(dates)))) for a in "abc"}, index=dates)
>>> panel = price_characteristics(prices, market)
>>> panel.n_periods, panel.n_assets
(35, 3)
>>> panel.characteristics.columns.tolist()[:4]
['mom12_2', 'mom6', 'mom36', 'rev1']
>>> ready = panel.rank()  # already lagged: no panel.lag() here
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from latentquant.data.panel import Panel
from latentquant.exceptions import ConfigError, DataValidationError

__all__ = ["CHARACTERISTICS", "bundled_price_panel", "price_characteristics"]

#: Names of the price-based characteristics, in column order (``illiq`` is appended when volume is given).
CHARACTERISTICS = ("mom12_2", "mom6", "mom36", "rev1", "vol", "beta", "idio_vol", "max_ret", "skew", "dist_high",
                   "log_price")

VOL_WINDOW = 63
REG_WINDOW = 252
MIN_MONTH_DAYS = 10
MIN_DISPERSION = 1e-8  # daily-return standard deviation below which skewness is undefined (rounding noise only)


def _check_daily_index(index: pd.Index, name: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise DataValidationError(
            f"{name} must have a daily DatetimeIndex, got {type(index).__name__}; "
            "use df.set_index(pd.to_datetime(df['date']))."
        )
    if index.has_duplicates:
        raise DataValidationError(f"{name} has duplicated dates (first {index[index.duplicated()][0].date()}).")
    if not index.is_monotonic_increasing:
        raise DataValidationError(f"{name} dates are not sorted; call .sort_index() first.")
    if len(index) > 2:
        step = float(pd.Series(index[1:] - index[:-1]).median() / pd.Timedelta(days=1))
        if step > 4.0:
            raise DataValidationError(
                f"{name} must be daily (trading days), but the median spacing of its dates is {step:.1f} days; "
                "pass daily prices, not monthly or weekly ones."
            )
    return index


def _check_values(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise DataValidationError(f"{name} column {non_numeric[0]!r} is not numeric; convert or drop it.")
    values = frame.astype(np.float64)
    arr = values.to_numpy()
    if np.isinf(arr).any():
        raise DataValidationError(f"{name} contain infinite values; replace them with NaN.")
    bad = ~np.isnan(arr) & (arr <= 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataValidationError(
            f"{name} must be positive; {values.columns[col]!r} is {arr[row, col]} on {values.index[row].date()}."
        )
    return values


def _as_series(obj: pd.Series | pd.DataFrame, name: str) -> pd.Series:
    if isinstance(obj, pd.DataFrame):
        if obj.shape[1] != 1:
            raise DataValidationError(f"{name} must be a Series (or a one-column DataFrame), got {obj.shape[1]} "
                                      "columns; select one.")
        obj = obj.iloc[:, 0]
    if not isinstance(obj, pd.Series):
        raise DataValidationError(f"{name} must be a pandas Series, got {type(obj).__name__}.")
    return obj


def _rolling_market_model(returns: pd.DataFrame, market: pd.Series, window: int,
                          min_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rolling beta and residual standard deviation (ddof 2) of each column regressed on ``market``."""
    mkt = pd.DataFrame(np.repeat(market.to_numpy()[:, None], returns.shape[1], axis=1), index=returns.index,
                       columns=returns.columns)
    both = returns.notna() & mkt.notna()
    y, x = returns.where(both), mkt.where(both)
    roll_x, roll_y = x.rolling(window, min_periods=min_days), y.rolling(window, min_periods=min_days)
    n = both.astype(np.float64).rolling(window, min_periods=1).sum()
    var_x, var_y = roll_x.var(), roll_y.var()
    cov = roll_y.cov(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = (cov / var_x).where(var_x > 0)
        resid = ((var_y - cov * beta) * (n - 1) / (n - 2)).clip(lower=0.0)
    idio = resid.pow(0.5).where(n > 2)
    return beta, idio


def price_characteristics(prices: pd.DataFrame, market: pd.Series | pd.DataFrame, *, rf: pd.Series | None = None,
                          volume: pd.DataFrame | None = None, min_days: int = 60) -> Panel:
    """Monthly panel of (excess) returns and lagged price-based characteristics from daily prices.

    Parameters
    ----------
    prices : pandas.DataFrame
        Daily (adjusted) prices, dates × assets, sorted unique ``DatetimeIndex``; NaN = no price that day.
    market : pandas.Series
        Daily market index level (e.g. the S&P 500 close) with a value on every date of ``prices``.
    rf : pandas.Series, optional
        Daily annualised risk-free yield in percent (e.g. ``load_treasury_yields()["3M"]``); the monthly rate of
        month ``t`` is the last value on or before the end of month ``t−1`` divided by 1200. Omitted → raw returns.
    volume : pandas.DataFrame, optional
        Daily share volume on the same dates and assets as ``prices``; adds the Amihud ``illiq`` characteristic.
    min_days : int
        Minimum number of valid daily observations in a rolling window (63 days for ``vol``, 252 for ``beta``,
        ``idio_vol``, ``skew``, ``dist_high``); fewer → NaN.

    Returns
    -------
    Panel
        Index ``(date, asset)`` with ``date`` the calendar month end of month ``t``; ``returns`` the (excess) return
        of month ``t``; ``characteristics`` the columns of :data:`CHARACTERISTICS` (+ ``illiq``) computed from data
        up to the end of month ``t−1`` — already lagged, do not call :meth:`Panel.lag`.

    Raises
    ------
    DataValidationError
        Prices not a daily ``DatetimeIndex`` table, non-positive or infinite prices, market or ``rf`` missing on a
        needed date, or fewer than two complete months of data.
    ConfigError
        ``min_days`` not an integer ≥ 3.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> dates = pd.bdate_range("2020-01-01", periods=400)
    >>> market = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400))), index=dates)
    >>> prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.02, (400, 3)), axis=0)), index=dates,
    ...                       columns=["A", "B", "C"])
    >>> panel = price_characteristics(prices, market)
    >>> panel.n_periods, panel.n_assets, panel.characteristics.shape[1]
    (17, 3, 11)

    Row ``(March, A)`` holds March's return and characteristics known at the end of February:

    >>> feb, mar = prices["A"].loc[:"2020-02-29"].iloc[-1], prices["A"].loc[:"2020-03-31"].iloc[-1]
    >>> row = ("2020-03-31", "A")
    >>> bool(np.isclose(panel.returns.loc[row], mar / feb - 1))
    True
    >>> bool(np.isclose(panel.characteristics.loc[row, "log_price"], np.log(feb)))
    True
    """
    if isinstance(min_days, bool) or not isinstance(min_days, int | np.integer) or min_days < 3:
        raise ConfigError(f"min_days must be an integer >= 3, got {min_days!r}.")
    min_days = int(min_days)
    if not isinstance(prices, pd.DataFrame):
        raise DataValidationError(f"prices must be a pandas DataFrame (dates × assets), got {type(prices).__name__}.")
    index = _check_daily_index(prices.index, "prices")
    px = _check_values(prices, "prices")
    mkt_raw = _as_series(market, "market")
    _check_daily_index(mkt_raw.index, "market")
    mkt = mkt_raw.astype(np.float64).reindex(index)
    if mkt.isna().any():
        first = mkt.index[mkt.isna().to_numpy()][0]
        raise DataValidationError(
            f"market has no value on {first.date()} ({int(mkt.isna().sum())} prices date(s) in all); the market "
            "series must cover every date of prices — align the two (e.g. prices.loc[market.dropna().index])."
        )
    _check_values(mkt.to_frame("market"), "market")

    months = index.to_period("M")
    month_end_pos = pd.Series(np.arange(len(index)), index=months).groupby(level=0).max()
    last_date = index[-1]
    if last_date < last_date + pd.offsets.BMonthEnd(0):  # trailing month not complete
        month_end_pos = month_end_pos.iloc[:-1]
    if len(month_end_pos) < 2:
        raise DataValidationError(
            f"prices span {len(month_end_pos)} complete month(s) ({index[0].date()} to {last_date.date()}); at least "
            "2 are needed for one monthly return — too short a history."
        )
    month_labels = pd.period_range(month_end_pos.index[0], month_end_pos.index[-1], freq="M")
    end_pos = month_end_pos.to_numpy()
    present = month_end_pos.index

    def at_month_ends(frame: pd.DataFrame) -> pd.DataFrame:
        """Values on the last trading day of each month (NaN for a month without trading days)."""
        return frame.iloc[end_pos].set_axis(present).reindex(month_labels)

    daily = px.pct_change(fill_method=None)
    mret = mkt.pct_change(fill_method=None)
    month_p = at_month_ends(px)  # P_m
    # characteristics "as of" the end of month m (daily data ≤ end(m)); shifted by one month below
    asof: dict[str, pd.DataFrame] = {
        "mom12_2": month_p.shift(1) / month_p.shift(12) - 1.0,
        "mom6": month_p.shift(1) / month_p.shift(6) - 1.0,
        "mom36": month_p.shift(12) / month_p.shift(36) - 1.0,
        "rev1": month_p / month_p.shift(1) - 1.0,
    }
    vol = daily.rolling(VOL_WINDOW, min_periods=min_days).std()
    beta, idio = _rolling_market_model(daily, mret, REG_WINDOW, min_days)
    by_month = daily.groupby(months)
    max_ret = by_month.max().where(by_month.count() >= MIN_MONTH_DAYS)
    roll_year = daily.rolling(REG_WINDOW, min_periods=min_days)
    skew = roll_year.skew().where(roll_year.std() > MIN_DISPERSION)  # undefined without dispersion
    high = px.rolling(REG_WINDOW, min_periods=min_days).max()
    asof["vol"] = at_month_ends(vol)
    asof["beta"] = at_month_ends(beta)
    asof["idio_vol"] = at_month_ends(idio)
    asof["max_ret"] = max_ret.reindex(month_labels)
    asof["skew"] = at_month_ends(skew)
    asof["dist_high"] = at_month_ends(px / high - 1.0)
    asof["log_price"] = month_p.apply(np.log)
    if volume is not None:
        if not isinstance(volume, pd.DataFrame) or not volume.index.equals(prices.index) or \
                not set(prices.columns) <= set(volume.columns):
            raise DataValidationError("volume must be a DataFrame on the same dates as prices with every prices "
                                      "column; align it first.")
        vol_v = volume[list(prices.columns)].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            amihud = (1e6 * daily.abs() / (px * vol_v)).where(vol_v > 0)
        grouped = amihud.groupby(months)
        asof["illiq"] = grouped.mean().where(grouped.count() >= MIN_MONTH_DAYS).reindex(month_labels)

    ret = month_p / month_p.shift(1) - 1.0
    if rf is not None:
        rf_s = _as_series(rf, "rf").astype(np.float64).dropna()
        _check_daily_index(rf_s.index, "rf")
        # calendar end of month t-1: the yield known when month t starts
        prev_end = pd.DatetimeIndex(month_labels[:-1].to_timestamp(how="start") + pd.offsets.MonthEnd(0))
        known = rf_s.reindex(rf_s.index.union(prev_end)).ffill().reindex(prev_end)
        rate = pd.Series(known.to_numpy() / 1200.0, index=month_labels[1:])
        if rate.isna().any():
            raise DataValidationError(
                f"rf has no value on or before {prev_end[int(np.argmax(rate.isna().to_numpy()))].date()}, the end "
                "of the month before a return month; pass a risk-free series that starts before the prices "
                "(or rf=None)."
            )
        ret.iloc[1:] = ret.iloc[1:].sub(rate, axis=0)

    label = month_labels.to_timestamp(how="start") + pd.offsets.MonthEnd(0)
    labels = pd.DatetimeIndex(label, name="date")
    ret = ret.iloc[1:].set_axis(labels[1:])
    chars = {k: v.shift(1).iloc[1:].set_axis(labels[1:]) for k, v in asof.items()}
    long_ret = pd.Series(ret.rename_axis(columns="asset").stack()).dropna()
    frame = pd.DataFrame({k: v.rename_axis(columns="asset").stack() for k, v in chars.items()})
    long_ret.index = long_ret.index.set_names(["date", "asset"])
    frame = frame.reindex(long_ret.index).replace([np.inf, -np.inf], np.nan)
    return Panel(long_ret, frame)


def bundled_price_panel(start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None,
                        rf: bool = True) -> Panel:
    """Monthly characteristic panel of the 20 bundled S&P 500 stocks, 1990–2022.

    Uses :func:`~latentquant.datasets.load_sp500_stocks`, the S&P 500 index
    (:func:`~latentquant.datasets.load_sp500_index`) as the market and, with ``rf=True``, the 3-month Treasury yield
    (:func:`~latentquant.datasets.load_treasury_yields`) as the risk-free rate (excess returns). Characteristics are
    computed on the full history, then rows are restricted to months ``start`` … ``end`` (inclusive, compared with
    the month-end labels). Returns are already aligned with lagged characteristics: do not call :meth:`Panel.lag`.

    Parameters
    ----------
    start, end : str or pandas.Timestamp, optional
        First and last month kept (e.g. ``"2010-01"``); ``None`` keeps the whole history.
    rf : bool, default True
        Subtract the 3-month Treasury rate (excess returns); ``False`` keeps raw returns.

    Returns
    -------
    Panel
        Monthly ``(date, asset)`` panel with the columns of :data:`CHARACTERISTICS`.

    Examples
    --------
    >>> panel = bundled_price_panel("2010-01", "2010-12")
    >>> panel.n_periods, panel.n_assets, list(panel.characteristics.columns) == list(CHARACTERISTICS)
    (12, 20, True)
    >>> str(panel.dates[0].date()), str(panel.dates[-1].date())
    ('2010-01-31', '2010-12-31')
    """
    from latentquant.datasets import load_sp500_index, load_sp500_stocks, load_treasury_yields

    prices = load_sp500_stocks()
    market = load_sp500_index()["SP500"]
    rate = load_treasury_yields()["3M"] if rf else None
    panel = price_characteristics(prices, market, rf=rate)
    if start is None and end is None:
        return panel
    dates = panel.returns.index.get_level_values(0)
    lo = pd.Timestamp(start) if start is not None else dates[0]
    if end is None:
        hi = dates[-1]
    elif isinstance(end, str):  # 'YYYY' or 'YYYY-MM' include that whole year or month
        hi = pd.Period(end).end_time.normalize()
    else:
        hi = pd.Timestamp(end)
    if hi < lo:
        raise ConfigError(f"end ({hi.date()}) is before start ({lo.date()}).")
    keep = (dates >= lo) & (dates <= hi)
    if not keep.any():
        raise DataValidationError(f"no month between {lo.date()} and {hi.date()}; the bundled data cover "
                                  f"{dates[0].date()} to {dates[-1].date()}.")
    return Panel(panel.returns[keep], panel.characteristics[keep])
