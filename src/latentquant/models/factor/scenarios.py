r"""The latent side of scenario generation: which factor values to decode, for each scenario mode.

* ``'prior'`` — :math:`z\sim\mathcal N(0,I)`;
* ``'stressed'`` — :math:`z\sim\mathcal N(\mu_s,\operatorname{diag}\sigma_s^2)` with the aggregate posterior of a
  period (:func:`aggregate_posterior` of :func:`select_period`);
* ``'conditional'`` — some factors held fixed (:func:`hold_fixed`), the others from the prior;
* ``'interpolate'`` — a straight line between two dates' posterior means (:func:`interpolation_path`).

:meth:`VAEFactorModel.generate_scenarios <latentquant.models.factor.VAEFactorModel.generate_scenarios>` draws the
factors with these functions, decodes them and adds idiosyncratic noise of size :func:`residual_rms`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any, cast

import numpy as np
import pandas as pd

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.factor.results import FactorEncoding

__all__ = [
    "SCENARIO_MODES",
    "aggregate_posterior",
    "check_period",
    "factor_position",
    "hold_fixed",
    "interpolation_path",
    "residual_rms",
    "select_period",
]

SCENARIO_MODES = ("prior", "stressed", "conditional", "interpolate")

#: The largest ``|value|`` a factor may be held at (``fixed=``, CLI ``--fix``): the prior is N(0, 1), so 50 standard
#: deviations is far beyond any plausible stress, and much larger values overflow the decoder to inf/NaN.
MAX_FIXED_Z = 50.0


def aggregate_posterior(encoding: FactorEncoding) -> tuple[pd.Series, pd.Series]:
    r"""Mean and standard deviation of the aggregate posterior of a set of dates, per factor.

    The mixture of the dates' posteriors :math:`\mathcal N(\mu_t, \sigma_t^2)` has mean :math:`\bar\mu` and variance
    :math:`\operatorname{Var}_t\mu_t + \operatorname{mean}_t\sigma_t^2` (sample variance, ``ddof=1``).

    Parameters
    ----------
    encoding : FactorEncoding
        Posterior means and standard deviations of the dates, dates × factors.

    Returns
    -------
    mean, std : pandas.Series
        Per factor.

    Examples
    --------
    >>> enc = FactorEncoding(pd.DataFrame({"f1": [-1.0, 1.0]}), pd.DataFrame({"f1": [1.0, 1.0]}))
    >>> mean, std = aggregate_posterior(enc)
    >>> float(mean["f1"]), round(float(std["f1"] ** 2), 12)  # variance 2 of the means + 1
    (0.0, 3.0)
    """
    # np.sqrt of a Series is a Series (the stubs say ndarray)
    std = cast(pd.Series, np.sqrt(encoding.mean.var(ddof=1) + (encoding.std**2).mean()))
    return encoding.mean.mean(), std


def residual_rms(residuals: pd.DataFrame) -> np.ndarray:
    """Root mean square of each column of reconstruction residuals: the size of the idiosyncratic noise.

    Parameters
    ----------
    residuals : pandas.DataFrame
        Dates × assets.

    Returns
    -------
    numpy.ndarray
        One value per asset.

    Examples
    --------
    >>> residual_rms(pd.DataFrame({"A": [3.0, -3.0], "B": [0.0, 0.0]})).tolist()
    [3.0, 0.0]
    """
    return np.sqrt((residuals.to_numpy(np.float64) ** 2).mean(axis=0))


def check_period(period: Any) -> None:
    """Raise :class:`~latentquant.exceptions.ConfigError` unless ``period`` is a ``(start, end)`` pair.

    Parameters
    ----------
    period : object
        The value given as ``stress_period``.

    Examples
    --------
    >>> check_period(("2008-09-01", "2009-03-31"))
    >>> check_period("2008")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: stress_period must be a (start, end) pair of dates, got '2008'; e.g. \
stress_period=('2008-09-01', '2009-03-31').
    """
    if not (isinstance(period, Sequence) and not isinstance(period, str) and len(period) == 2):
        raise ConfigError(
            f"stress_period must be a (start, end) pair of dates, got {period!r}; "
            "e.g. stress_period=('2008-09-01', '2009-03-31')."
        )


def select_period(encoding: FactorEncoding, residuals: pd.DataFrame, period: Any, *,
                  where: str = "the training span") -> tuple[FactorEncoding, pd.DataFrame]:
    """The posteriors and residuals of the dates in ``period`` (inclusive), at least two of them.

    Parameters
    ----------
    encoding : FactorEncoding
        Posterior means and standard deviations, dates × factors.
    residuals : pandas.DataFrame
        Reconstruction residuals on the same dates.
    period : (start, end)
        Dates (strings or timestamps); naive dates are read as UTC for a tz-aware index.
    where : str
        What the dates are called in error messages.

    Examples
    --------
    >>> dates = pd.date_range("2020-01-01", periods=4)
    >>> enc = FactorEncoding(pd.DataFrame({"f1": [0.0, 1.0, 2.0, 3.0]}, index=dates),
    ...                      pd.DataFrame({"f1": [1.0] * 4}, index=dates))
    >>> part, _ = select_period(enc, pd.DataFrame({"A": [0.0] * 4}, index=dates), ("2020-01-02", "2020-01-03"))
    >>> part.mean["f1"].tolist()
    [1.0, 2.0]
    """
    check_period(period)
    try:
        start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
    except (ValueError, TypeError):
        raise ConfigError(f"stress_period must hold two dates such as ('2008-09-01', '2009-03-31'), got "
                          f"{tuple(period)!r}.") from None
    if getattr(encoding.mean.index, "tz", None) is not None:
        start = start.tz_localize("UTC") if start.tz is None else start
        end = end.tz_localize("UTC") if end.tz is None else end
    if start > end:
        raise ConfigError(f"stress_period starts after it ends: {period!r}.")
    mask = (encoding.mean.index >= start) & (encoding.mean.index <= end)
    if mask.sum() < 2:
        raise DataValidationError(
            f"stress_period {tuple(str(p) for p in period)} has {int(mask.sum())} dates in {where} "
            f"({encoding.mean.index[0].date()} … {encoding.mean.index[-1].date()}); at least 2 are needed. Choose a "
            "period inside it, or pass data covering the period (data=…; CLI: --data/--csv)."
        )
    return FactorEncoding(encoding.mean[mask], encoding.std[mask]), residuals[mask]


def interpolation_path(z_a: np.ndarray, z_b: np.ndarray, n: int) -> tuple[np.ndarray, pd.Index]:
    """``n`` equally spaced points from ``z_a`` to ``z_b`` (both ends included) and their weights ``alpha``.

    Parameters
    ----------
    z_a, z_b : numpy.ndarray
        Start and end points, shape ``(K,)``.
    n : int
        Number of points.

    Returns
    -------
    z : numpy.ndarray
        Shape ``(n, K)``.
    alpha : pandas.Index
        Weight of ``z_b`` at each point, from 0 to 1, named ``alpha``.

    Examples
    --------
    >>> z, alpha = interpolation_path(np.array([0.0, 0.0]), np.array([2.0, -2.0]), 3)
    >>> z.tolist(), alpha.tolist()
    ([[0.0, 0.0], [1.0, -1.0], [2.0, -2.0]], [0.0, 0.5, 1.0])
    """
    alpha = np.linspace(0.0, 1.0, n)
    z = (1 - alpha)[:, None] * z_a + alpha[:, None] * z_b
    return z, pd.Index(alpha, name="alpha")


def hold_fixed(z: np.ndarray, fixed: Mapping[str | int, float] | None, names: Sequence[str]) -> np.ndarray:
    """Set the factors named (``'f1'``) or numbered (``0``) in ``fixed`` to their values, in place; returns ``z``.

    Parameters
    ----------
    z : numpy.ndarray
        Factor draws, shape ``(n, K)``; modified in place.
    fixed : mapping of str or int to float
        Factor name or position → value; must not be empty. Each value is a finite number with
        ``|value| <= MAX_FIXED_Z`` (50 prior standard deviations).
    names : sequence of str
        The factor names, in column order.

    Returns
    -------
    numpy.ndarray
        ``z``.

    Examples
    --------
    >>> hold_fixed(np.zeros((2, 2)), {"f2": -3.0}, ["f1", "f2"]).tolist()
    [[0.0, -3.0], [0.0, -3.0]]
    >>> hold_fixed(np.zeros((2, 2)), {"f1": 1e308}, ["f1", "f2"])
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: fixed['f1'] = 1e+308 is outside the plausible range of the prior N(0, 1); \
use a value within ±50 (standard deviations), e.g. -3.0 for a 3-sigma stress.
    """
    if not fixed:
        raise ConfigError("mode='conditional' needs fixed={'f1': value, ...} — the factors to hold fixed.")
    for key, value in fixed.items():
        k = factor_position(key, names)
        if not isinstance(value, Real) or isinstance(value, bool | np.bool_) or not np.isfinite(value):
            raise ConfigError(f"fixed[{key!r}] must be a finite number, got {value!r}.")
        if abs(float(value)) > MAX_FIXED_Z:
            raise ConfigError(
                f"fixed[{key!r}] = {float(value):g} is outside the plausible range of the prior N(0, 1); use a value "
                f"within ±{MAX_FIXED_Z:g} (standard deviations), e.g. -3.0 for a 3-sigma stress."
            )
        z[:, k] = float(value)
    return z


def factor_position(key: str | int, names: Sequence[str]) -> int:
    """Column of the factor ``key``: a name in ``names`` or an index ``0..K-1``.

    Parameters
    ----------
    key : str or int
        A factor name or position.
    names : sequence of str
        The factor names, in column order.

    Returns
    -------
    int

    Examples
    --------
    >>> factor_position("f2", ["f1", "f2"]), factor_position(0, ["f1", "f2"])
    (1, 0)
    """
    if isinstance(key, Integral) and not isinstance(key, bool | np.bool_) and 0 <= int(key) < len(names):
        return int(key)
    if isinstance(key, str) and key in names:
        return list(names).index(key)
    raise ConfigError(f"Unknown factor {key!r}; use a name in {list(names)} or an index 0..{len(names) - 1}.")
