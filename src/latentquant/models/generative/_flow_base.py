"""What the flows of :mod:`latentquant.models.generative.flows` share: the training contexts, the loss, sampling,
``log_prob`` and ``bits_per_dim`` (:class:`_FlowGenerator`) and the coupling-flow set-up."""

from __future__ import annotations

import math
from itertools import pairwise
from numbers import Integral, Real
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentquant.evaluation.var_backtest import var_es_by_day
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.generative._flow_layers import (
    MASKS,
    coupling_masks,
)
from latentquant.models.generative._torch import TorchGenerator
from latentquant.validation import Constraint, Interval, Options, SequenceOf, check_arg

__all__ = ["CONTEXTS", "previous_window_index"]

CONTEXTS = ("none", "previous_vol")
_EVAL_ROWS = 65_536  # windows per forward pass in log_prob (bounded memory)
_FORECAST_WINDOWS = 100_000  # windows sampled per call in forecast_draws (bounded memory)


def previous_window_index(bounds: np.ndarray, length: int) -> np.ndarray:
    """For each stride-1 window cut from the segments ``bounds``, the index of the window that ends the day before
    it starts (``-1`` for the first ``length`` windows of a segment, which have no full history).

    The windows are numbered as :func:`~latentquant.models.generative._torch.cut_windows` returns them: segment by
    segment, ``bounds[k+1] - bounds[k] - length + 1`` windows each (none for a shorter segment).

    Parameters
    ----------
    bounds : numpy.ndarray
        Segment boundaries ``[0, …, T]``.
    length : int
        Window length.

    Returns
    -------
    numpy.ndarray
        int64 ``(n_windows,)``.

    Examples
    --------
    >>> previous_window_index(np.array([0, 6, 9]), 2).tolist()  # 5 windows, then 2 in the second segment
    [-1, -1, 0, 1, 2, -1, -1]
    """
    out, offset = [], 0
    for a, b in pairwise(np.asarray(bounds, dtype=np.int64)):
        n = int(b - a) - length + 1
        if n <= 0:
            continue
        j = np.arange(n)
        out.append(np.where(j >= length, offset + j - length, -1))
        offset += n
    return np.concatenate(out).astype(np.int64) if out else np.empty(0, dtype=np.int64)


class _FlowGenerator(TorchGenerator):
    """What the three flows share: loss, sampling, ``log_prob``, ``bits_per_dim`` and the optional context."""

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **TorchGenerator._parameter_constraints,
        "n_layers": [Interval(Integral, 1, None)],
        "hidden_dims": [SequenceOf(Interval(Integral, 1, None), min_len=1)],
    }
    context: str = "none"

    # ------------------------------------------------------------------------------------------------ context
    @property
    def _n_context(self) -> int:
        return 0 if self.context == "none" else 1

    def _required_rows(self, n_features: int) -> int:
        extra = (self.length or 2) if self.context != "none" else 0
        return super()._required_rows(n_features) + extra

    def _check_shape(self, n_features: int, length: int) -> None:
        if self.context != "none" and length < 2:
            raise ConfigError(f"{type(self).__name__}: context={self.context!r} needs windows of at least 2 days "
                              f"to measure a volatility, got length {length}; pass a longer length or "
                              "context='none'.")

    def _training_tensors(self, windows: np.ndarray) -> tuple[np.ndarray, ...]:
        if self.context == "none":
            return (windows,)
        name = type(self).__name__
        prev = previous_window_index(self.segment_bounds_, self.length_)
        keep = prev >= 0
        if keep.sum() < self._min_windows:
            raise DataValidationError(
                f"{name}(context={self.context!r}) needs at least {self._min_windows} training windows with "
                f"{self.length_} days of history before them, the data give {int(keep.sum())}; pass a longer "
                "history, a shorter length or context='none'.")
        vol = windows[prev[keep], :, 0].astype(np.float64).std(axis=1, ddof=1) * self.scale_[0]
        self.context_mean_ = float(vol.mean())
        self.context_scale_ = float(vol.std(ddof=1))
        if not self.context_scale_ > 0:
            raise DataValidationError(f"{name}: the previous-window volatility of feature "
                                      f"{self.feature_names_[0]!r} is the same for every training window; "
                                      "use context='none'.")
        ctx = ((vol - self.context_mean_) / self.context_scale_).astype(np.float32)[:, None]
        self.training_context_ = ctx[:, 0].copy()
        return windows[keep], ctx

    def _context(self, n: int, condition: Any, generator: torch.Generator | None) -> torch.Tensor | None:
        """Standardised context ``(n, 1)`` from raw volatilities, or drawn from the training contexts (``None``)."""
        name = type(self).__name__
        if self.context == "none":
            if condition is not None:
                raise ConfigError(f"{name}(context='none') samples unconditionally and takes no condition; pass "
                                  "condition=None, or fit with context='previous_vol'.")
            return None
        if condition is None:
            if generator is None:
                raise ConfigError(f"{name}(context={self.context!r}) needs condition=, the previous "
                                  f"{self.length_}-day volatility of each window.")
            pool = torch.from_numpy(self.training_context_)
            return pool[torch.randint(len(pool), (n,), generator=generator)][:, None]
        try:
            arr = np.asarray(condition, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.asarray([np.nan, np.nan])  # reported as a shape error below
        if arr.ndim == 0 or arr.shape == (1,):
            arr = np.full(n, float(arr.ravel()[0]))
        elif arr.shape in ((n,), (n, 1)):
            arr = arr.reshape(n)
        else:
            raise ConfigError(f"{name}: condition must be a number, or an array of shape (1,), ({n},) or ({n}, 1) "
                              f"with the previous {self.length_}-day volatility of feature "
                              f"{self.feature_names_[0]!r} for each of the {n} windows; got shape {arr.shape}.")
        if not (np.isfinite(arr).all() and (arr >= 0).all()):
            raise DataValidationError(f"{name}: condition holds NaN, infinite or negative volatilities; pass "
                                      "standard deviations >= 0 in the units of the data.")
        return torch.from_numpy(((arr - self.context_mean_) / self.context_scale_).astype(np.float32))[:, None]

    # ------------------------------------------------------------------------------------------------ training
    @property
    def _flow(self) -> Any:
        """The fitted network (a ``CouplingFlowNet`` or ``MaskedAutoregressiveFlowNet``)."""
        return self.network_

    def _loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        x = batch[0].flatten(1)
        nll = -cast(Any, model).log_prob(x, batch[1] if len(batch) > 1 else None).mean()
        return {"loss": nll, "bits_per_dim": nll / (x.shape[1] * math.log(2.0))}

    def _generate(self, n: int, generator: torch.Generator, condition: Any) -> torch.Tensor:
        context = self._context(n, condition, generator)
        z = torch.randn(n, self.length_ * self.n_features_in_, generator=generator)
        return self._flow.inverse(z, context).reshape(n, self.length_, self.n_features_in_)

    # ------------------------------------------------------------------------------------------------ likelihood
    def log_prob(self, windows: Any, condition: Any = None) -> np.ndarray:
        """Log-density of each window in the units of the data (standardisation Jacobian included).

        Parameters
        ----------
        windows : array-like
            ``(n, length_, n_features_in_)`` in the units the model was fitted on.
        condition : array-like, optional
            Conditioned flows only (and required by them): the previous ``length_``-day volatility of feature 0 of
            each window, a number or an array ``(n,)`` / ``(n, 1)``.

        Returns
        -------
        numpy.ndarray
            float64 ``(n,)``.

        Examples
        --------
        >>> from latentquant.models.generative.flows import NICE
        >>> x = np.random.default_rng(0).normal(size=(40, 4, 2))
        >>> model = NICE(epochs=2, n_layers=2, hidden_dims=(8,), verbose=False).fit(x)
        >>> model.log_prob(x[:3]).shape
        (3,)
        """
        x = self._data_windows(windows).flatten(1)
        context = self._context(len(x), condition, None)
        with torch.no_grad():
            parts = [self._flow.log_prob(xi, None if context is None else context[i:i + len(xi)])
                     for i, xi in zip(range(0, len(x), _EVAL_ROWS), x.split(_EVAL_ROWS), strict=True)]
        return torch.cat(parts).double().numpy() - self.log_scale_sum_  # type: ignore[no-any-return]

    def bits_per_dim(self, windows: Any, condition: Any = None) -> np.ndarray:
        """Negative log-density per value in bits, :math:`-\\log_2 p(x) / (L F)`, in the units of the data.

        Parameters
        ----------
        windows : array-like
            ``(n, length_, n_features_in_)``.
        condition : array-like, optional
            As for :meth:`log_prob`.

        Returns
        -------
        numpy.ndarray
            float64 ``(n,)``; it depends on the units (decimal returns have a large density, hence negative bits).

        Examples
        --------
        >>> from latentquant.models.generative.flows import MAF
        >>> x = np.random.default_rng(0).normal(size=(40, 4, 2))
        >>> model = MAF(epochs=2, n_layers=1, hidden_dims=(8,), verbose=False).fit(x)
        >>> bool(np.allclose(model.bits_per_dim(x[:2]), -model.log_prob(x[:2]) / (8 * np.log(2))))
        True
        """
        return -self.log_prob(windows, condition) / (self.length_ * self.n_features_in_ * math.log(2.0))


    # ------------------------------------------------------------------------------------------------ forecasts
    def _previous_vol(self, data: Any) -> tuple[np.ndarray, pd.Index]:
        """The volatility of the ``length_`` days before each day of feature 0 (the context), and those days."""
        name = type(self).__name__
        if self.context == "none":
            self._check_fitted()
            raise ConfigError(f"{name}(context='none') forecasts nothing: its windows do not depend on the past; fit "
                              "it with context='previous_vol'.")
        x, index, _ = self._forecast_series(data, 0, f"{name}.forecast")
        length = self.length_
        if x.size <= length:
            raise DataValidationError(f"{name}.forecast: data must have more than length_ = {length} rows of "
                                      f"feature {self.feature_names_[0]!r}, got {x.size}.")
        vol = np.lib.stride_tricks.sliding_window_view(x, length)[:-1].std(axis=1, ddof=1)
        return vol, index[length:]

    def forecast_draws(self, data: Any, n_draws: int, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Draws of feature 0 on each day given the volatility of the ``length_`` days before it: the first day of
        windows sampled with ``condition`` = that volatility (the context the flow was trained with).

        Parameters
        ----------
        data : pandas.DataFrame, pandas.Series or array-like
            Feature 0 (a Series, or a table holding it by its fitted name) in time order, in the units of the fit.
        n_draws : int
            Draws per day.
        seed : int or numpy.random.Generator, optional
            Same seed, same draws.

        Returns
        -------
        numpy.ndarray
            ``(n_draws, len(data) - length_)``: column ``j`` is the day ``length_ + j``, from the rows before it only.
        """
        check_arg("n_draws", n_draws, Interval(Integral, 1, None), owner=f"{type(self).__name__}.forecast_draws")
        vol, _ = self._previous_vol(data)
        rng = np.random.default_rng(seed)
        n = int(n_draws)
        out = np.empty((n, vol.size))
        days_per_call = max(1, _FORECAST_WINDOWS // n)
        for start in range(0, vol.size, days_per_call):
            days = vol[start:start + days_per_call]
            windows = self.sample(days.size * n, seed=rng, condition=np.repeat(days, n))
            out[:, start:start + days.size] = windows[:, 0, 0].reshape(days.size, n).T
        return out

    def forecast(self, data: Any, *, p: float = 0.01, n_draws: int = 2000,
                 seed: int | np.random.Generator | None = 0) -> pd.DataFrame:
        """One-day-ahead distribution of feature 0 (a return) given the previous ``length_`` days' volatility: its
        mean, standard deviation, VaR and ES (positive losses at tail probability ``p``) from
        :meth:`forecast_draws`.

        Parameters
        ----------
        data : pandas.DataFrame, pandas.Series or array-like
            As for :meth:`forecast_draws`.
        p : float
            Tail probability.
        n_draws : int
            Draws per day.
        seed : int or numpy.random.Generator, optional
            Same seed, same forecasts.

        Returns
        -------
        pandas.DataFrame
            Columns ``mean``, ``vol``, ``var``, ``es``; one row per day from ``length_`` on (each from the rows
            before it only), indexed like ``data``.

        Examples
        --------
        >>> from latentquant.models.generative.flows import MAF
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((600, 1)) * np.repeat([0.5, 2.0], 300)[:, None]
        >>> model = MAF(context="previous_vol", length=5, epochs=2, n_layers=1, hidden_dims=(8,),
        ...             verbose=False).fit(x)
        >>> f = model.forecast(x[-50:], p=0.05, n_draws=200)
        >>> f.shape, list(f.columns)
        ((45, 4), ['mean', 'vol', 'var', 'es'])
        """
        check_arg("p", p, Interval(Real, 0, 0.5, closed="neither"), owner=f"{type(self).__name__}.forecast")
        draws = self.forecast_draws(data, n_draws, seed=seed)
        _, index = self._previous_vol(data)
        var, es = var_es_by_day(draws, p)
        return pd.DataFrame({"mean": draws.mean(axis=0), "vol": draws.std(axis=0, ddof=1), "var": var, "es": es},
                            index=index)


class _CouplingGenerator(_FlowGenerator):
    """NICE and RealNVP: coupling layers with a ``mask`` hyperparameter."""

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **_FlowGenerator._parameter_constraints,
        "mask": [Options(*MASKS)],
    }
    mask: str

    def _check_shape(self, n_features: int, length: int) -> None:
        super()._check_shape(n_features, length)
        try:
            coupling_masks(length, n_features, self.mask, 2)
        except ConfigError as exc:
            raise ConfigError(f"{type(self).__name__}: {exc}") from None
