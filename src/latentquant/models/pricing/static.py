r"""Factor models with constant loadings: observable factors (Fama–French) and statistical factors (PCA).

Both share the interface of :class:`~latentquant.models.pricing.InstrumentedPCA`: ``fit(panel)`` on a training
window, then ``betas(panel)``, ``factors(panel)``, ``fitted(panel)`` and ``score(panel)`` (uncentred total R²) on any
panel of the same assets. Loadings are per asset and constant, so an asset must be in the training window to be
priced later.

* :class:`FamaFrench` — :math:`r_{i,t} = \alpha_i + \beta_i^\top f_t + \varepsilon_{i,t}` with observable factor
  returns :math:`f_t` (MKT, SMB, HML, RMW, CMA, UMD …); :math:`\beta_i` by time-series OLS; fitted returns
  :math:`\beta_i^\top f_t` (the alpha is the pricing error, not part of the fit).
* :class:`PCAFactors` — :math:`\beta = \sqrt N\,[v_1 \dots v_K]` from the uncentred second-moment matrix
  :math:`S = \frac1T\sum_t r_t r_t^\top` of a balanced training panel, :math:`f_t = (\beta^\top\beta)^{-1}\beta^\top
  r_t` (a cross-sectional regression on the assets present at ``t``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from latentquant.data.panel import Panel
from latentquant.exceptions import ConfigError, DataValidationError, NotFittedError

__all__ = ["FamaFrench", "PCAFactors"]


class _ConstantBetaModel:
    """Shared prediction code: per-asset constant betas ``beta_`` (assets × K)."""

    beta_: pd.DataFrame

    def _check(self) -> None:
        if not hasattr(self, "beta_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(panel) first.")

    def betas(self, panel: Panel) -> pd.DataFrame:
        """β̂_i for every ``(date, asset)`` row of ``panel``; every asset must have been in the training panel."""
        self._check()
        assets = panel.returns.index.get_level_values(1)
        unknown = pd.Index(assets).difference(self.beta_.index)
        if len(unknown):
            raise DataValidationError(
                f"{len(unknown)} asset(s) of the panel were not in the training panel (first {unknown[0]!r}); "
                "a constant-beta model can only price assets it was fitted on."
            )
        return pd.DataFrame(self.beta_.reindex(assets).to_numpy(), index=panel.returns.index,
                            columns=self.beta_.columns)

    def factors(self, panel: Panel) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def fitted(self, panel: Panel, factors: pd.DataFrame | None = None) -> pd.Series:
        """β̂_i'f̂_t for every row of ``panel`` (``factors`` default to :meth:`factors` of the same panel)."""
        f = self.factors(panel) if factors is None else factors
        per_row = f.reindex(panel.returns.index.get_level_values(0)).to_numpy()
        if np.isnan(per_row).any():
            raise DataValidationError("factors do not cover every date of the panel.")
        out = (self.betas(panel).to_numpy() * per_row).sum(axis=1)
        return pd.Series(out, index=panel.returns.index, name="fitted")

    def score(self, panel: Panel) -> float:
        """Uncentred total R² on ``panel``: 1 − Σ(r − β̂'f̂)² / Σr²."""
        r = panel.returns.to_numpy()
        return float(1.0 - ((r - self.fitted(panel).to_numpy()) ** 2).sum() / (r**2).sum())


class FamaFrench(_ConstantBetaModel):
    """Observable-factor model with time-series OLS loadings.

    Parameters
    ----------
    factor_returns : pandas.DataFrame
        Dates × factors, in the same units as the panel's excess returns (decimals), covering the panel's dates.
    factors : sequence of str, optional
        Columns to use (e.g. ``['Mkt-RF', 'SMB', 'HML']`` for FF3); default: every column.

    Attributes
    ----------
    beta_ : pandas.DataFrame
        Assets × factors.
    alpha_ : pandas.Series
        Time-series intercepts on the training window (pricing errors).

    Examples
    --------
    >>> dates = pd.date_range("2000-01-31", periods=60, freq="ME")
    >>> f = pd.DataFrame({"MKT": np.random.default_rng(0).normal(0.01, 0.04, 60)}, index=dates)
    >>> idx = pd.MultiIndex.from_product([dates, ["p1", "p2"]], names=["date", "asset"])
    >>> r = pd.Series(np.repeat(f["MKT"].to_numpy(), 2) * np.tile([0.5, 1.5], 60), index=idx)
    >>> model = FamaFrench(f).fit(Panel(r, pd.DataFrame(index=idx)))
    >>> model.beta_["MKT"].round(6).tolist()
    [0.5, 1.5]
    """

    def __init__(self, factor_returns: pd.DataFrame, factors: Sequence[str] | None = None) -> None:
        self.factor_returns = factor_returns
        self.factors_used = factors

    def _factor_frame(self) -> pd.DataFrame:
        frame = self.factor_returns
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            raise DataValidationError(
                "factor_returns must be a non-empty DataFrame of factor returns (dates × factors)."
            )
        if self.factors_used is not None:
            missing = [c for c in self.factors_used if c not in frame.columns]
            if missing:
                raise ConfigError(f"factors {missing} are not columns of factor_returns ({list(frame.columns)}).")
            frame = frame[list(self.factors_used)]
        return frame.astype(np.float64)

    def factors(self, panel: Panel) -> pd.DataFrame:
        """The observable factor returns on the panel's dates."""
        frame = self._factor_frame()
        missing = panel.dates.difference(frame.index)
        if len(missing):
            raise DataValidationError(
                f"factor_returns have no row for {len(missing)} date(s) of the panel (first {missing[0]!s}); "
                "align the factor and return dates (e.g. both at month end)."
            )
        return frame.loc[panel.dates]

    def fit(self, panel: Panel) -> FamaFrench:
        f = self.factors(panel)
        wide = panel.wide_returns()
        K = f.shape[1]
        betas, alphas = {}, {}
        for asset in wide.columns:
            y = wide[asset].dropna()
            if len(y) < K + 2:
                raise DataValidationError(
                    f"asset {asset!r} has {len(y)} returns in the training panel; at least {K + 2} are needed for "
                    f"{K} factor loadings and an intercept."
                )
            X = np.column_stack([np.ones(len(y)), f.loc[y.index].to_numpy()])
            coef = np.linalg.lstsq(X, y.to_numpy(), rcond=None)[0]
            alphas[asset], betas[asset] = coef[0], coef[1:]
        self.beta_ = pd.DataFrame(betas, index=f.columns).T
        self.alpha_ = pd.Series(alphas, name="alpha")
        return self


class PCAFactors(_ConstantBetaModel):
    """Statistical factors from the uncentred second moment of a balanced training panel.

    Parameters
    ----------
    n_factors : int
        Number of principal components K.

    Attributes
    ----------
    beta_ : pandas.DataFrame
        Assets × ``f1..fK``, normalised as :math:`\\sqrt N` times the eigenvectors (so :math:`\\beta^\\top\\beta/N=I`).
    factors_ : pandas.DataFrame
        In-sample factors, dates × K.
    """

    def __init__(self, n_factors: int = 1) -> None:
        self.n_factors = n_factors

    def fit(self, panel: Panel) -> PCAFactors:
        K = self.n_factors
        if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
            raise ConfigError(f"n_factors must be a positive integer, got {K!r}.")
        wide = panel.wide_returns()
        complete = wide.dropna(axis=1, how="any")
        if complete.shape[1] < wide.shape[1]:
            dropped = wide.columns.difference(complete.columns)
            raise DataValidationError(
                f"PCA needs a balanced training panel; {len(dropped)} asset(s) have missing returns (first "
                f"{dropped[0]!r}). Keep the assets observed on every training date."
            )
        T, N = complete.shape
        if K >= min(T, N):
            raise ConfigError(f"n_factors={K} must be smaller than both the number of dates ({T}) and assets ({N}).")
        R = complete.to_numpy(np.float64)
        eigval, eigvec = np.linalg.eigh(R.T @ R / T)
        order = np.argsort(eigval)[::-1][:K]
        vec = eigvec[:, order]
        vec = vec * np.where(vec.sum(axis=0) < 0, -1.0, 1.0)  # sign: loadings sum to a positive number
        names = [f"f{k + 1}" for k in range(K)]
        self.beta_ = pd.DataFrame(np.sqrt(N) * vec, index=complete.columns, columns=names)
        self.factors_ = self.factors(panel)
        return self

    def factors(self, panel: Panel) -> pd.DataFrame:
        """f̂_t = (β'β)⁻¹β'r_t over the assets present at t."""
        self._check()
        B = self.betas(panel).to_numpy()
        r = panel.returns.to_numpy()
        dates = panel.returns.index.get_level_values(0)
        codes, uniques = pd.factorize(dates, sort=False)
        out = np.zeros((len(uniques), B.shape[1]))
        for t in range(len(uniques)):
            rows = codes == t
            out[t] = np.linalg.lstsq(B[rows], r[rows], rcond=None)[0]
        return pd.DataFrame(out, index=pd.Index(uniques, name=panel.returns.index.names[0]),
                            columns=self.beta_.columns)
