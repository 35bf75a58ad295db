r"""Positions and returns of a daily long-or-cash timing strategy: positions from predictions, strategy returns
with costs and cash yield, turnover, hit rate, and the summary statistics of one or many predictors.

Conventions (same as :mod:`latentquant.evaluation.portfolio`):

* Returns are *simple* per-period returns, one per period, no missing values.
* **Alignment.** ``asset_returns`` at date :math:`t` is the *forward* return :math:`y_t = P_{t+1}/P_t - 1` (the
  study's target at date :math:`t`), and the position :math:`w_t` decided at the close of :math:`t` (from information
  up to :math:`t`) earns it. So ``positions``, ``predictions`` and ``asset_returns`` share one index and are
  multiplied date by date, with no shift; the strategy return labelled :math:`t` is realised at :math:`t+1`.
* ``rf`` is an **annualised** yield in decimals (3M T-bill in percent / 100), a scalar or one value per date aligned
  with the returns; one period of cash earns ``rf / periods_per_year``.
* Sharpe = mean(excess) / std(excess, ddof=1) × √``periods_per_year``.

Inference on the resulting Sharpe ratios (probabilistic, deflated, paired difference) lives in
:mod:`latentquant.evaluation.sharpe_inference`; every name is also exported by :mod:`latentquant.evaluation`.
"""

from __future__ import annotations

import math
import warnings
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from latentquant._math import uncentred_r2
from latentquant.evaluation._series import (
    as_1d,
    check_ppy,
    check_simple,
    drawdown_of,
    excess_returns,
    paired_arrays,
    sharpe_per_period,
)
from latentquant.evaluation.portfolio import ArrayLike1D, RiskFree
from latentquant.evaluation.sharpe_inference import probabilistic_sharpe_ratio
from latentquant.exceptions import DataValidationError
from latentquant.validation import Interval, check_aligned, check_arg

__all__ = [
    "hit_rate",
    "long_cash_positions",
    "strategy_returns",
    "timing_returns",
    "timing_statistics",
    "timing_summary",
    "turnover",
]


# --------------------------------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------------------------------
def _cash_per_period(rf: Any, n: int, index: pd.Index | None, like: Any, ppy: float) -> np.ndarray:
    """Per-period cash return ``rf / ppy`` as an array of length ``n`` (validated like :func:`sharpe_ratio`'s rf)."""
    zeros = np.zeros(n)
    return zeros - excess_returns(zeros, index, like, rf, ppy)[0]


def _check_cost(cost_bps: Any) -> float:
    # basis points per unit of position change: 5 = 0.05% per full switch between cash and the asset
    check_arg("cost_bps", cost_bps, Interval(Real, 0, None))
    return float(cost_bps)


def _check_threshold(threshold: Any) -> float:
    check_arg("threshold", threshold, Interval(Real, None, None))  # a return, e.g. 0.0
    return float(threshold)


def _sharpe_or_nan(e: np.ndarray) -> float:
    try:
        return sharpe_per_period(e)
    except DataValidationError:
        return float("nan")


def _wrap(values: np.ndarray, index: pd.Index | None, name: str) -> pd.Series:
    return pd.Series(values, index=index, name=name)


# --------------------------------------------------------------------------------------------------------------------
# positions, strategy returns, turnover, hit rate
# --------------------------------------------------------------------------------------------------------------------
def long_cash_positions(predictions: ArrayLike1D, threshold: float = 0.0) -> pd.Series:
    """Positions of the long-or-cash rule: 1 (long the asset) where the predicted next-period return exceeds
    ``threshold``, else 0 (cash).

    Parameters
    ----------
    predictions : array-like or pandas.Series
        Predicted forward returns, one per date (the prediction at :math:`t` is of :math:`P_{t+1}/P_t - 1`).
    threshold : float
        Strict threshold; a prediction equal to it gives cash. Default 0.

    Returns
    -------
    pandas.Series
        Float 0/1 positions named ``"position"``, with the index of ``predictions`` (a RangeIndex for arrays).

    Examples
    --------
    >>> long_cash_positions([0.002, -0.001, 0.0, 0.004]).tolist()
    [1.0, 0.0, 0.0, 1.0]
    """
    thr = _check_threshold(threshold)
    p, index = as_1d(predictions, name="predictions", min_obs=1)
    return _wrap((p > thr).astype(np.float64), index, "position")


def strategy_returns(positions: ArrayLike1D, asset_returns: ArrayLike1D, *, rf: RiskFree = 0.0,
                     cost_bps: float = 0.0, periods_per_year: float = 252) -> pd.Series:
    r"""Per-period returns of a strategy holding ``positions`` in the asset and the rest in cash.

    .. math::

        r_t = w_t\,y_t + (1 - w_t)\,\frac{r_{f,t}}{P} - \frac{c}{10^4}\,\lvert w_t - w_{t-1}\rvert,
        \qquad w_{-1} = 0,

    where :math:`y_t = P_{t+1}/P_t - 1` is the asset's forward return stored at date :math:`t` (see the module
    docstring), :math:`w_t` the position chosen at the close of :math:`t`, :math:`P` = ``periods_per_year`` and
    :math:`c` = ``cost_bps``. A trade made at the close of :math:`t` is charged in the return labelled :math:`t`,
    and the strategy starts in cash, so entering the first position is a trade. Fractional or negative positions are
    allowed: the cash weight is always :math:`1 - w_t` (a short position's proceeds earn the cash rate).

    Parameters
    ----------
    positions : array-like or pandas.Series
        Position per date (1 long, 0 cash for :func:`long_cash_positions`).
    asset_returns : array-like or pandas.Series
        Forward simple returns of the asset, same dates (a Series must have the same index as ``positions``).
    rf : float or array-like or pandas.Series
        Annualised cash yield in decimals: a scalar or one value per date (e.g. the 3M T-bill in percent / 100, the
        yield at date :math:`t` applying over :math:`t \to t+1`). Default 0: cash earns nothing.
    cost_bps : float
        Transaction cost in basis points per unit of :math:`\lvert \Delta w \rvert` (a full switch cash → asset costs
        ``cost_bps`` bp).
    periods_per_year : float
        252 for daily data.

    Returns
    -------
    pandas.Series
        Strategy returns named ``"strategy"`` with the index of ``positions`` (or ``asset_returns``).

    Raises
    ------
    DataValidationError
        NaN/inf, different lengths or indexes, asset returns below -1.
    ConfigError
        Negative or non-finite ``cost_bps``, bad ``periods_per_year`` or ``rf``.

    Examples
    --------
    Long, long, cash, long over four days; cash yields 2.52% a year (0.01% a day); 10 bp per switch:

    >>> r = strategy_returns([1, 1, 0, 1], [0.01, -0.02, 0.03, 0.01], rf=0.0252, cost_bps=10)
    >>> [round(v, 6) for v in r]
    [0.009, -0.02, -0.0009, 0.009]
    """
    ppy = check_ppy(periods_per_year)
    c = _check_cost(cost_bps) / 1e4
    w, y, index = paired_arrays(positions, asset_returns, ("positions", "asset_returns"))
    check_simple(y, index, name="asset_returns")
    like = positions if isinstance(positions, pd.Series) else asset_returns
    cash = _cash_per_period(rf, y.size, index, like, ppy)
    trades = np.abs(np.diff(w, prepend=0.0))
    return _wrap(w * y + (1.0 - w) * cash - c * trades, index, "strategy")


def turnover(positions: ArrayLike1D, *, periods_per_year: float | None = None) -> float:
    r"""Average absolute position change per period, :math:`\frac1T \sum_{t=0}^{T-1} \lvert w_t - w_{t-1} \rvert`
    with :math:`w_{-1} = 0`.

    The entry into the first position counts, as in :func:`strategy_returns`, so that total trading cost is
    ``cost_bps / 1e4 × turnover × T``. With ``periods_per_year`` the value is annualised (× ``periods_per_year``),
    in one-way position units a year: 0.1 a day is 25.2 a year at 252 days (about 12.6 round trips cash → asset →
    cash).

    Parameters
    ----------
    positions : array-like or pandas.Series
        Position per period.
    periods_per_year : float, optional
        Annualise the turnover (``None``: per period).

    Returns
    -------
    float

    Examples
    --------
    >>> turnover([1, 1, 0, 1, 1])          # entry, exit, re-entry: 3 changes over 5 days
    0.6
    >>> round(turnover([1, 1, 0, 1, 1], periods_per_year=252), 6)
    151.2
    """
    w, _ = as_1d(positions, name="positions", min_obs=1)
    value = float(np.mean(np.abs(np.diff(w, prepend=0.0))))
    if periods_per_year is None:
        return value
    return value * check_ppy(periods_per_year)


def hit_rate(predictions: ArrayLike1D, realised: ArrayLike1D) -> float:
    """Share of periods in which the predicted and the realised return have the same sign.

    Periods with a realised return of exactly 0 (market holidays carried forward, unchanged closes) are left out of
    numerator and denominator, since no direction call can be right or wrong there. A prediction of exactly 0 has no
    sign and counts as a miss.

    Parameters
    ----------
    predictions : array-like or pandas.Series
        Predicted forward returns (or any score whose sign is the call).
    realised : array-like or pandas.Series
        Realised forward returns, same dates.

    Examples
    --------
    >>> hit_rate([0.1, -0.2, 0.3, 0.1, 0.0], [0.01, 0.02, 0.03, 0.0, -0.01])   # day 4 dropped: 2 hits of 4
    0.5
    """
    p, y, _ = paired_arrays(predictions, realised, ("predictions", "realised"))
    keep = y != 0
    if not keep.any():
        raise DataValidationError(
            f"all {y.size} realised returns are exactly 0, so no direction call can be scored; check that realised "
            "holds returns, not a placeholder."
        )
    return float(np.mean(np.sign(p[keep]) == np.sign(y[keep])))


def timing_returns(predictions: ArrayLike1D, asset_returns: ArrayLike1D, *, threshold: float = 0.0,
                   rf: RiskFree = 0.0, cost_bps: float = 0.0, periods_per_year: float = 252) -> pd.Series:
    """Returns of the long-or-cash strategy driven by ``predictions``: :func:`long_cash_positions` traded by
    :func:`strategy_returns`.

    Parameters
    ----------
    predictions : array-like or pandas.Series
        Predicted forward returns, one per date.
    asset_returns : array-like or pandas.Series
        Forward simple returns of the asset on the same dates.
    threshold, rf, cost_bps, periods_per_year
        As in :func:`long_cash_positions` and :func:`strategy_returns`.

    Returns
    -------
    pandas.Series
        Strategy returns named ``"strategy"``.

    Examples
    --------
    >>> [round(v, 6) for v in timing_returns([0.2, -0.1, 0.3], [0.01, -0.02, 0.03], cost_bps=10)]
    [0.009, -0.001, 0.029]
    """
    positions = long_cash_positions(predictions, threshold=threshold)
    return strategy_returns(positions, asset_returns, rf=rf, cost_bps=cost_bps, periods_per_year=periods_per_year)


_ROW = ("sharpe_rf0", "sharpe_excess", "ann_return", "ann_vol", "max_drawdown", "hit_rate", "time_in_market",
        "turnover", "mse", "r2_oos", "n_obs")


def _timing_row(positions: pd.Series, predictions: Any, asset_returns: Any, rf: Any, cost: float,
                ppy: float) -> tuple[dict[str, float], np.ndarray]:
    """The statistics of :func:`timing_statistics` (turnover per period) and the per-period excess returns."""
    r0 = strategy_returns(positions, asset_returns, cost_bps=cost, periods_per_year=ppy)
    r = strategy_returns(positions, asset_returns, rf=rf, cost_bps=cost, periods_per_year=ppy)
    excess = r.to_numpy() - _cash_per_period(rf, r.size, r.index, r, ppy)
    p, y, _ = paired_arrays(predictions, asset_returns, ("predictions", "asset_returns"))
    row = {
        "sharpe_rf0": _sharpe_or_nan(r0.to_numpy()) * math.sqrt(ppy),
        "sharpe_excess": _sharpe_or_nan(excess) * math.sqrt(ppy),
        "ann_return": float(r.mean()) * ppy,
        "ann_vol": float(r.std(ddof=1)) * math.sqrt(ppy),
        "max_drawdown": drawdown_of(r.to_numpy()),
        "hit_rate": hit_rate(predictions, asset_returns),
        "time_in_market": float(positions.mean()),
        "turnover": turnover(positions),
        "mse": float(np.mean((p - y) ** 2)),
        "r2_oos": uncentred_r2(y, p, what="r2_oos"),  # against the zero forecast
        "n_obs": float(r.size),
    }
    return row, excess


def timing_statistics(predictions: ArrayLike1D, asset_returns: ArrayLike1D, *, threshold: float = 0.0,
                      rf: RiskFree = 0.0, cost_bps: float = 0.0, periods_per_year: float = 252) -> pd.Series:
    r"""Statistics of the long-or-cash strategy driven by one predictor, and of the predictions as forecasts.

    Positions are ``long_cash_positions(predictions, threshold)``, traded on ``asset_returns`` (forward returns at
    the same dates) with ``cost_bps``:

    ===================  ==============================================================================================
    ``sharpe_rf0``       cash earns 0; Sharpe of the raw strategy returns (NaN when they are constant, e.g. never
                         invested)
    ``sharpe_excess``    cash earns ``rf``; Sharpe of the excess returns over ``rf`` (equal to ``sharpe_rf0`` when
                         ``rf = 0``)
    ``ann_return``       mean strategy return (cash earning ``rf``) × ``periods_per_year``
    ``ann_vol``          std(strategy returns, ddof=1) × √``periods_per_year``
    ``max_drawdown``     largest peak-to-trough loss of the compounded strategy returns (cash earning ``rf``)
    ``hit_rate``         :func:`hit_rate` of the predictions against ``asset_returns``
    ``time_in_market``   mean position
    ``turnover``         :func:`turnover` per period (entry included; × ``periods_per_year`` for a year)
    ``mse``              mean squared error of the predictions, :math:`\frac1T\sum_t (\hat y_t - y_t)^2`
    ``r2_oos``           out-of-sample :math:`R^2` against the zero forecast, :math:`1 - \sum_t (y_t - \hat y_t)^2 /
                         \sum_t y_t^2`
    ``n_obs``            number of periods
    ===================  ==============================================================================================

    Parameters
    ----------
    predictions : array-like or pandas.Series
        Predicted forward returns, one per date.
    asset_returns : array-like or pandas.Series
        Forward simple returns of the asset, same dates (a Series must share the index of ``predictions``).
    threshold, rf, cost_bps, periods_per_year
        As in :func:`long_cash_positions` and :func:`strategy_returns`.

    Returns
    -------
    pandas.Series
        The statistics above, named ``"timing"``.

    Examples
    --------
    >>> stats = timing_statistics([0.2, -0.1, 0.3, 0.1], [0.01, -0.02, 0.03, -0.01])
    >>> stats[["hit_rate", "time_in_market", "turnover"]].tolist()
    [0.75, 0.75, 0.75]
    """
    ppy = check_ppy(periods_per_year)
    cost = _check_cost(cost_bps)
    paired_arrays(predictions, asset_returns, ("predictions", "asset_returns"))  # errors name the user's inputs
    positions = long_cash_positions(predictions, threshold)
    row, _ = _timing_row(positions, predictions, asset_returns, rf, cost, ppy)
    return pd.Series(row, name="timing").reindex(list(_ROW))


def timing_summary(predictions: pd.DataFrame, asset_returns: pd.Series, *, threshold: float = 0.0,
                   rf: RiskFree = 0.0, cost_bps: float = 0.0, periods_per_year: float = 252,
                   buy_and_hold: bool = True) -> pd.DataFrame:
    r"""One row per predictor of the long-or-cash strategy it drives, plus buy-and-hold.

    Each column of ``predictions`` gives positions ``long_cash_positions(col, threshold)`` traded on
    ``asset_returns`` (forward returns at the same dates) with ``cost_bps``; the columns are those of
    :func:`timing_statistics` (without the forecast errors), with two differences: the turnover is annualised and
    the probabilistic Sharpe ratio is added. Two Sharpe conventions are reported, because the seed study's "no rf"
    numbers and an honest excess-return Sharpe differ when rates are not zero:

    ===================  ==============================================================================================
    ``sharpe_rf0``       cash earns 0 and Sharpe of the raw strategy returns (the seed study's convention)
    ``sharpe_excess``    cash earns ``rf`` and Sharpe of the excess returns over ``rf`` (equal to ``sharpe_rf0`` when
                         ``rf = 0``)
    ``psr``              :func:`~latentquant.evaluation.probabilistic_sharpe_ratio` of the excess returns against 0
    ``ann_return``       mean strategy return (cash earning ``rf``) × ``periods_per_year``
    ``ann_vol``          std(strategy returns, ddof=1) × √``periods_per_year``
    ``max_drawdown``     largest peak-to-trough loss of the compounded strategy returns
    ``hit_rate``         :func:`hit_rate` of the predictions against ``asset_returns`` (buy-and-hold: share of up days)
    ``time_in_market``   mean position
    ``turnover``         annualised :func:`turnover` (one-way position units a year, entry included)
    ``n_obs``            number of periods
    ===================  ==============================================================================================

    Sharpe ratios and PSR are NaN for a strategy whose returns are constant (e.g. never invested with a constant
    ``rf``), instead of an error, so that one dead predictor does not stop the table.

    To correct the best row's Sharpe for having tried all rows, pass ``table["sharpe_excess"]`` (without the
    buy-and-hold row) to :func:`~latentquant.evaluation.deflated_sharpe_ratio`.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Predicted forward returns, dates × predictors (one strategy per column).
    asset_returns : pandas.Series
        Forward simple returns of the asset, on the dates of ``predictions``.
    threshold, rf, cost_bps, periods_per_year
        As in :func:`long_cash_positions` and :func:`strategy_returns`.
    buy_and_hold : bool, default True
        Append a ``buy_and_hold`` row (always long).

    Returns
    -------
    pandas.DataFrame
        One row per predictor (and ``buy_and_hold``), the columns above.

    Examples
    --------
    >>> dates = pd.bdate_range("2020-01-01", periods=250)
    >>> y = pd.Series(np.random.default_rng(0).normal(0.0005, 0.01, 250), index=dates)
    >>> preds = pd.DataFrame({"oracle": y, "always_out": -1.0 + 0 * y})
    >>> table = timing_summary(preds, y, rf=0.02)
    >>> table.index.tolist()
    ['oracle', 'always_out', 'buy_and_hold']
    >>> float(table.loc["oracle", "hit_rate"]), float(table.loc["always_out", "time_in_market"])
    (1.0, 0.0)
    """
    if not isinstance(predictions, pd.DataFrame):
        raise DataValidationError(
            f"predictions must be a DataFrame with one column per strategy, got {type(predictions).__name__}; "
            "wrap one series with series.to_frame()."
        )
    if predictions.shape[1] == 0:
        raise DataValidationError("predictions has no columns; pass at least one predictor.")
    if not isinstance(asset_returns, pd.Series):
        raise DataValidationError(
            f"asset_returns must be a pandas Series on the dates of predictions, got {type(asset_returns).__name__}."
        )
    check_aligned(predictions, asset_returns, names=("predictions", "asset_returns"))
    ppy = check_ppy(periods_per_year)
    cost = _check_cost(cost_bps)
    cols: dict[Any, tuple[pd.Series, pd.Series]] = {}
    for col in predictions.columns:
        pred = predictions[col]
        try:
            cols[col] = (long_cash_positions(pred, threshold), pred)
        except DataValidationError as exc:
            raise DataValidationError(f"strategy {col!r}: {exc}") from None
    if buy_and_hold:
        if "buy_and_hold" in cols:
            raise DataValidationError("predictions already has a column 'buy_and_hold'; rename it or pass "
                                      "buy_and_hold=False.")
        ones = pd.Series(1.0, index=asset_returns.index, name="position")
        cols["buy_and_hold"] = (ones, ones)
    rows = {}
    for name, (pos, pred) in cols.items():
        try:
            row, excess = _timing_row(pos, pred, asset_returns, rf, cost, ppy)
            live = float(np.std(excess)) > 0
            rows[name] = {
                "sharpe_rf0": row["sharpe_rf0"],
                "sharpe_excess": row["sharpe_excess"],
                "psr": probabilistic_sharpe_ratio(excess, 0.0, periods_per_year=ppy) if live else float("nan"),
                **{k: row[k] for k in ("ann_return", "ann_vol", "max_drawdown", "hit_rate", "time_in_market")},
                "turnover": row["turnover"] * ppy,
                "n_obs": row["n_obs"],
            }
        except DataValidationError as exc:
            raise DataValidationError(f"strategy {name!r}: {exc}") from None
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs = {"periods_per_year": ppy, "cost_bps": cost, "threshold": float(threshold),
                   "alignment": "position at t earns asset_returns at t (= P[t+1]/P[t] - 1)"}
    return table


# names that moved to latentquant.evaluation.sharpe_inference when this module was split (kept for one release)
_MOVED = ("DeflatedSharpe", "SharpeDifference", "deflated_sharpe_ratio", "newey_west_lags",
          "probabilistic_sharpe_ratio", "regime_importance_test", "sharpe_difference_test")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from latentquant.evaluation import sharpe_inference

        warnings.warn(f"latentquant.evaluation.strategy.{name} moved to latentquant.evaluation.sharpe_inference; "
                      f"import it from latentquant.evaluation (this alias goes in the next release).",
                      FutureWarning, stacklevel=2)
        return getattr(sharpe_inference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
