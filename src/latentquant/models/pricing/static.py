r"""Factor models with constant loadings: observable factors (Fama–French) and statistical factors (PCA).

Both share the interface of every pricing model (:mod:`latentquant.models.pricing._base`): ``fit(panel)`` on a
training window, then ``betas(panel)``, ``factors(panel)``, ``fitted(panel)``, ``predicted(panel, history)`` and
``score(panel)`` (uncentred total R²) on any panel of the same assets. Loadings are per asset and constant, so an
asset must be in the training window to be priced later. FamaFrench takes its observable factor returns in
``fit(panel, factor_returns=...)``.

* :class:`FamaFrench` — :math:`r_{i,t} = \alpha_i + \beta_i^\top f_t + \varepsilon_{i,t}` with observable factor
  returns :math:`f_t` (MKT, SMB, HML, RMW, CMA, UMD …); :math:`\beta_i` by time-series OLS; fitted returns
  :math:`\beta_i^\top f_t` (the alpha is the pricing error, not part of the fit).
* :class:`PCAFactors` — :math:`\beta = \sqrt N\,[v_1 \dots v_K]` from the uncentred second-moment matrix
  :math:`S = \frac1T\sum_t r_t r_t^\top` of the assets observed on every training date (an unbalanced panel loses
  the others, with a ``DataWarning``), :math:`f_t = (\beta^\top\beta)^{-1}\beta^\top r_t` (a cross-sectional
  regression on the assets with loadings present at ``t``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from latentquant.data.panel import Panel
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.models.pricing._base import LinearFactorModel, check_panel, factor_names
from latentquant.validation import Constraint, Interval, SequenceOf, format_date

__all__ = ["FamaFrench", "PCAFactors"]


class _ConstantBetaModel(LinearFactorModel):
    """Shared prediction code: per-asset constant betas ``beta_`` (assets × K)."""

    beta_: pd.DataFrame

    def betas(self, panel: Panel) -> pd.DataFrame:
        """β̂_i for every ``(date, asset)`` row of ``panel``; every asset must have been in the training panel."""
        self._check_fitted()
        check_panel(panel)
        assets = panel.returns.index.get_level_values(1)
        unknown = pd.Index(assets).difference(self.beta_.index)
        if len(unknown):
            raise DataValidationError(
                f"{len(unknown)} asset(s) of the panel were not in the training panel (first {unknown[0]!r}); "
                "a constant-beta model can only price assets it was fitted on."
            )
        return pd.DataFrame(self.beta_.reindex(assets).to_numpy(), index=panel.returns.index,
                            columns=self.beta_.columns)


class FamaFrench(_ConstantBetaModel):
    """Observable-factor model with time-series OLS loadings.

    Parameters
    ----------
    factor_returns : pandas.DataFrame, optional
        **Deprecated** (pass it to :meth:`fit`); kept for one release so that ``FamaFrench(frame)`` still works.
    factor_names : sequence of str, optional
        Columns of the factor returns to use (e.g. ``['Mkt-RF', 'SMB', 'HML']`` for FF3); default: every column.
        (The keyword was ``factors=`` before; it still works, with a ``FutureWarning``.)
    n_factors : int, optional
        Keep the first ``n_factors`` of those columns (K=1 CAPM, K=3 FF3 with ``MktRF, SMB, HML, …``); default: all.

    Attributes
    ----------
    beta_ : pandas.DataFrame
        Assets × factors.
    alpha_ : pandas.Series
        Time-series intercepts on the training window (pricing errors).
    factor_returns_ : pandas.DataFrame
        The factor returns used (every date given to :meth:`fit`, the chosen columns, float64), so that
        :meth:`factors` and :meth:`fitted` work on later dates.

    Examples
    --------
    >>> dates = pd.date_range("2000-01-31", periods=60, freq="ME")
    >>> f = pd.DataFrame({"MKT": np.random.default_rng(0).normal(0.01, 0.04, 60)}, index=dates)
    >>> idx = pd.MultiIndex.from_product([dates, ["p1", "p2"]], names=["date", "asset"])
    >>> r = pd.Series(np.repeat(f["MKT"].to_numpy(), 2) * np.tile([0.5, 1.5], 60), index=idx)
    >>> model = FamaFrench().fit(Panel(r, pd.DataFrame(index=idx)), factor_returns=f)
    >>> model.beta_["MKT"].round(6).tolist()
    [0.5, 1.5]
    """

    needs_factor_returns = True
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "factor_returns": [pd.DataFrame, None],
        "factor_names": [SequenceOf(str, min_len=1), None],
        "n_factors": [Interval(Integral, 1, None), None],
    }

    # factors= clashed with the factors(panel) method, which scikit-learn's get_params cannot tell apart
    _renamed_params: ClassVar[dict[str, str]] = {"factors": "factor_names"}

    def __init__(self, factor_returns: pd.DataFrame | None = None, *, factor_names: Sequence[str] | None = None,
                 n_factors: int | None = None) -> None:
        self.factor_returns = factor_returns
        self.factor_names = factor_names
        self.n_factors = n_factors

    def _select(self, frame: Any) -> pd.DataFrame:
        """The chosen columns of the factor returns, float64."""
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            raise DataValidationError(
                "factor_returns must be a non-empty DataFrame of factor returns (dates × factors), got "
                f"{type(frame).__name__}; pass it as fit(panel, factor_returns=...)."
            )
        columns = list(frame.columns) if self.factor_names is None else list(self.factor_names)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ConfigError(f"FamaFrench: factor_names {missing} are not columns of factor_returns "
                              f"({list(frame.columns)}); pick from those columns.")
        if self.n_factors is not None:
            if self.n_factors > len(columns):
                raise ConfigError(f"FamaFrench: n_factors={self.n_factors} exceeds the {len(columns)} factor(s) "
                                  f"{columns}; use at most {len(columns)}.")
            columns = columns[: self.n_factors]
        return frame[columns].astype(np.float64)

    @staticmethod
    def _on_dates(frame: pd.DataFrame, panel: Panel) -> pd.DataFrame:
        missing = panel.dates.difference(frame.index)
        if len(missing):
            raise DataValidationError(
                f"factor_returns have no row for {len(missing)} date(s) of the panel (first {missing[0]!s}); "
                "align the factor and return dates (e.g. both at month end)."
            )
        return frame.loc[panel.dates]

    def factors(self, panel: Panel) -> pd.DataFrame:
        """The observable factor returns on the panel's dates."""
        self._check_fitted()
        return self._on_dates(self.factor_returns_, check_panel(panel))

    def fit(self, panel: Panel, y: Any = None, *, factor_returns: pd.DataFrame | None = None) -> FamaFrench:
        """Time-series OLS of every asset's returns on a constant and the factor returns.

        Parameters
        ----------
        panel : Panel
            The training months (characteristics are not used).
        y : None
            Ignored (scikit-learn's signature).
        factor_returns : pandas.DataFrame
            Dates × factors, in the same units as the panel's excess returns (decimals), covering the panel's
            dates; the dates after the panel's are kept for :meth:`factors` on later panels.
        """
        self._check_params()
        check_panel(panel)
        if factor_returns is None and self.factor_returns is not None:
            warnings.warn("FamaFrench(factor_returns) is deprecated and will be removed in the next release; pass "
                          "the factor returns to fit: FamaFrench(...).fit(panel, factor_returns=frame).",
                          FutureWarning, stacklevel=2)
            factor_returns = self.factor_returns
        if factor_returns is None:
            raise DataValidationError("FamaFrench.fit needs the observable factor returns; pass "
                                      "fit(panel, factor_returns=frame) with a dates × factors DataFrame.")
        frame = self._select(factor_returns)
        f = self._on_dates(frame, panel)
        wide = panel.wide_returns()
        K = f.shape[1]
        betas, alphas = {}, {}
        for asset in wide.columns:
            y_i = wide[asset].dropna()
            if len(y_i) < K + 2:
                raise DataValidationError(
                    f"asset {asset!r} has {len(y_i)} returns in the training panel; at least {K + 2} are needed for "
                    f"{K} factor loadings and an intercept."
                )
            X = np.column_stack([np.ones(len(y_i)), f.loc[y_i.index].to_numpy()])
            coef = np.linalg.lstsq(X, y_i.to_numpy(), rcond=None)[0]
            alphas[asset], betas[asset] = coef[0], coef[1:]
        self.factor_returns_ = frame
        self.beta_ = pd.DataFrame(betas, index=f.columns).T
        self.alpha_ = pd.Series(alphas, name="alpha")
        return self


class PCAFactors(_ConstantBetaModel):
    """Statistical factors from the uncentred second moment of the assets observed on every training date.

    Real panels are unbalanced (firms enter and leave): :meth:`fit` keeps the assets with a return on every training
    date and drops the others with a :class:`~latentquant.exceptions.DataWarning` giving the counts (an error only
    when fewer than ``n_factors + 1`` assets remain). An asset without loadings (dropped, or not in the training
    panel) is skipped by :meth:`factors` and gets betas 0 in :meth:`betas`, with a ``DataWarning``: its fitted and
    predicted returns are 0, so it counts as unexplained in every R².

    Parameters
    ----------
    n_factors : int
        Number of principal components K.

    Attributes
    ----------
    beta_ : pandas.DataFrame
        Assets with loadings × ``f1..fK``, normalised as :math:`\\sqrt N` times the eigenvectors (so
        :math:`\\beta^\\top\\beta/N=I`).
    factors_ : pandas.DataFrame
        In-sample factors, dates × K.

    Examples
    --------
    >>> dates = pd.date_range("2000-01-31", periods=48, freq="ME")
    >>> idx = pd.MultiIndex.from_product([dates, ["p1", "p2", "p3"]], names=["date", "asset"])
    >>> f = np.random.default_rng(0).normal(0.01, 0.04, 48)
    >>> r = pd.Series(np.repeat(f, 3) * np.tile([0.5, 1.0, 1.5], 48), index=idx)
    >>> pca = PCAFactors(n_factors=1).fit(Panel(r, pd.DataFrame(index=idx)))
    >>> round(pca.score(Panel(r, pd.DataFrame(index=idx))), 6)
    1.0
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {"n_factors": [Interval(Integral, 1, None)]}

    def __init__(self, n_factors: int = 1) -> None:
        self.n_factors = n_factors

    def fit(self, panel: Panel, y: Any = None) -> PCAFactors:
        """Eigen-decomposition of the uncentred second moment of the training panel's assets observed on every
        training date (``y`` is ignored); the other assets are dropped with a ``DataWarning``."""
        self._check_params()
        K = self.n_factors
        wide = check_panel(panel).wide_returns()
        complete = wide.dropna(axis=1, how="any")
        if complete.shape[1] < wide.shape[1]:
            dropped = wide.columns.difference(complete.columns)
            n_all, n_kept, T = wide.shape[1], complete.shape[1], wide.shape[0]
            if n_kept < K + 1:
                raise DataValidationError(
                    f"PCAFactors: only {n_kept} of {n_all} assets have a return on every one of the {T} training "
                    f"dates ({len(dropped)} miss some, first {dropped[0]!r}); n_factors={K} needs at least {K + 1}. "
                    "Shorten the training window, lower n_factors or fill the panel's gaps."
                )
            warnings.warn(
                f"PCAFactors: unbalanced training panel; fitted on the {n_kept} of {n_all} assets with a return on "
                f"every one of the {T} training dates, {len(dropped)} dropped (first {dropped[0]!r}): they get no "
                "loadings (betas 0, fitted and predicted returns 0).", DataWarning, stacklevel=2)
        T, N = complete.shape
        if K >= min(T, N):
            raise ConfigError(f"n_factors={K} must be smaller than both the number of dates ({T}) and assets ({N}).")
        R = complete.to_numpy(np.float64)
        if N <= T:
            eigval, eigvec = np.linalg.eigh(R.T @ R / T)
            order = np.argsort(eigval)[::-1][:K]
            vec = eigvec[:, order]
        else:
            # more assets than dates: the right singular vectors of the T × N data are the eigenvectors of R'R/T,
            # at O(T²N) instead of the O(N³) of the N × N eigendecomposition (360 × 3,000, one thread: 0.2 s vs 4.3 s)
            vec = np.linalg.svd(R, full_matrices=False)[2][:K].T
        vec = vec * np.where(vec.sum(axis=0) < 0, -1.0, 1.0)  # sign: loadings sum to a positive number
        self.beta_ = pd.DataFrame(np.sqrt(N) * vec, index=complete.columns, columns=factor_names(K))
        self.factors_ = self.factors(panel)
        return self

    def betas(self, panel: Panel) -> pd.DataFrame:
        """β̂_i for every ``(date, asset)`` row of ``panel``; an asset without loadings (dropped from an unbalanced
        training panel, or not in it) gets betas 0, with a ``DataWarning`` giving the counts."""
        self._check_fitted()
        check_panel(panel)
        assets = panel.returns.index.get_level_values(1)
        known = np.asarray(assets.isin(self.beta_.index))
        if not known.all():
            unknown = pd.Index(assets[~known]).unique()
            warnings.warn(
                f"PCAFactors: {len(unknown)} asset(s) of the panel ({int((~known).sum())} of {len(known)} rows; first "
                f"{unknown[0]!r}) have no loadings (not observed on every training date): betas 0, so their fitted "
                "and predicted returns are 0 and count as unexplained in R².", DataWarning, stacklevel=2)
        return pd.DataFrame(self.beta_.reindex(assets).fillna(0.0).to_numpy(), index=panel.returns.index,
                            columns=self.beta_.columns)

    def factors(self, panel: Panel) -> pd.DataFrame:
        """f̂_t = (β'β)⁻¹β'r_t over the assets with loadings present at t (the others are skipped)."""
        self._check_fitted()
        check_panel(panel)
        assets = panel.returns.index.get_level_values(1)
        known = np.asarray(assets.isin(self.beta_.index))
        B = self.beta_.reindex(assets[known]).to_numpy()
        r = panel.returns.to_numpy()[known]
        dates = panel.returns.index.get_level_values(0)
        codes, uniques = pd.factorize(dates, sort=False)
        codes = codes[known]
        out = np.zeros((len(uniques), B.shape[1]))
        for t in range(len(uniques)):
            rows = codes == t
            if not rows.any():
                raise DataValidationError(
                    f"PCAFactors: no asset of the panel on {format_date(uniques[t])} has loadings (the model was "
                    f"fitted on {len(self.beta_)} assets, first {self.beta_.index[0]!r}); price dates that hold some "
                    "of them.")
            out[t] = np.linalg.lstsq(B[rows], r[rows], rcond=None)[0]
        return pd.DataFrame(out, index=pd.Index(uniques, name=panel.returns.index.names[0]),
                            columns=self.beta_.columns)
