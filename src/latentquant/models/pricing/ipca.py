r"""Instrumented PCA (Kelly, Pruitt & Su 2019): factor loadings that are linear in lagged characteristics.

.. math::

    r_{i,t} = z_{i,t-1}^\top\Gamma_\alpha + z_{i,t-1}^\top \Gamma_\beta f_t + \varepsilon_{i,t},

fitted by alternating least squares on the panel's per-period moments :math:`W_t = Z_{t-1}^\top Z_{t-1}` and
:math:`x_t = Z_{t-1}^\top r_t` (the characteristic-managed portfolios): given :math:`\Gamma`,
:math:`f_t = (\Gamma^\top W_t\Gamma)^{-1}\Gamma^\top x_t`; given the factors,
:math:`\operatorname{vec}\Gamma = [\sum_t f_t f_t^\top\otimes W_t]^{-1}\sum_t f_t\otimes x_t`. Only
:math:`W_t, x_t` enter the iterations, so their cost does not grow with the number of assets.

Identification: :math:`\Gamma_\beta^\top\Gamma_\beta = I`, factors orthogonal with decreasing variance, signs such
that every factor has a non-negative mean, and (with an intercept) :math:`\Gamma_\alpha \perp \Gamma_\beta`.

References
----------
Kelly, B., Pruitt, S. & Su, Y. (2019). Characteristics are covariances: A unified model of risk and return.
Journal of Financial Economics 134(3), 501–524.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from latentquant.data.panel import Panel
from latentquant.exceptions import ConfigError, ConvergenceWarning, DataValidationError
from latentquant.models.pricing._base import LinearFactorModel, check_characteristics, check_panel, factor_names
from latentquant.validation import Constraint, Interval

__all__ = ["InstrumentedPCA"]


def _moments(panel: Panel) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Per-date W_t = Z'Z, x_t = Z'r and N_t (missing characteristics → 0)."""
    check_panel(panel)
    z = panel.characteristics.fillna(0.0).to_numpy(np.float64)
    r = panel.returns.to_numpy(np.float64)
    dates = panel.returns.index.get_level_values(0)
    codes, uniques = pd.factorize(dates, sort=False)
    T, L = len(uniques), z.shape[1]
    W = np.zeros((T, L, L))
    X = np.zeros((T, L))
    n = np.bincount(codes, minlength=T).astype(np.float64)
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for t, block in enumerate(np.split(np.arange(len(codes)), bounds)):
        zb = z[block]
        W[t] = zb.T @ zb
        X[t] = zb.T @ r[block]
    return pd.Index(uniques, name=panel.returns.index.names[0]), W, X, n


def _factor_step(gamma: np.ndarray, W: np.ndarray, X: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """f_t = (Γ'W_tΓ)⁻¹Γ'(x_t − W_t Γ_α) for every t, shape (T, K)."""
    A = gamma.T @ W @ gamma  # (T, K, K), batched matrix products
    rhs = X if alpha is None else X - W @ alpha
    b = rhs @ gamma
    # A pseudo-inverse that ignores directions ~1e8 times weaker than the strongest: identical to solving the normal
    # equations for well-posed periods, and the minimum-norm solution for periods whose instruments cannot identify
    # every factor (e.g. the first months of a panel, where history-based characteristics are missing, hence 0 after
    # ranking, for every asset) instead of factor values that blow up and contaminate running means.
    return np.einsum("tkj,tj->tk", np.linalg.pinv(A, rcond=1e-8), b)


class InstrumentedPCA(LinearFactorModel):
    """IPCA estimator on a :class:`~latentquant.data.Panel` whose characteristics are already lagged and ranked
    (``panel.lag(1).rank()``): row ``(t, i)`` must hold :math:`z_{i,t-1}`.

    Parameters
    ----------
    n_factors : int
        Number of latent factors K.
    intercept : bool
        Estimate :math:`\\Gamma_\\alpha` (characteristic-implied alphas; the restricted model is ``False``).
    max_iter, tol : int, float
        ALS stops when the largest absolute change of Γ and of the factors is below ``tol``, or after ``max_iter``
        iterations with a :class:`~latentquant.exceptions.ConvergenceWarning`.
    warm_start : bool
        Start from the previous fit's Γ (e.g. in annual refits) instead of the SVD of the managed portfolios.

    Attributes
    ----------
    gamma_ : pandas.DataFrame
        Γ_β, characteristics × ``f1..fK``.
    gamma_alpha_ : pandas.Series or None
        Γ_α when ``intercept``.
    factors_ : pandas.DataFrame
        In-sample factor realisations, dates × K.
    n_iter_, converged_ : int, bool
        ALS iterations run and whether the change fell below ``tol``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.MultiIndex.from_product([pd.date_range("2000-01-31", periods=60, freq="ME"), range(50)])
    >>> Z = pd.DataFrame(rng.uniform(-1, 1, (len(idx), 4)), index=idx, columns=list("abcd"))
    >>> f = rng.normal(0.01, 0.05, (60, 1)).repeat(50, axis=0)[:, 0]
    >>> r = pd.Series(Z["a"].to_numpy() * f + 0.01 * rng.normal(size=len(idx)), index=idx)
    >>> model = InstrumentedPCA(n_factors=1).fit(Panel(r, Z))
    >>> bool(model.converged_), model.gamma_.abs().idxmax().tolist()
    (True, ['a'])
    """

    gamma_: pd.DataFrame
    gamma_alpha_: pd.Series | None
    factors_: pd.DataFrame
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "n_factors": [Interval(Integral, 1, None)],
        "intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None)],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "warm_start": ["boolean"],
    }

    def __init__(self, n_factors: int = 1, *, intercept: bool = False, max_iter: int = 1000, tol: float = 1e-6,
                 warm_start: bool = False) -> None:
        self.n_factors = n_factors
        self.intercept = intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start

    def fit(self, panel: Panel, y: Any = None) -> InstrumentedPCA:
        """Alternating least squares on the panel's per-month moments (``y`` is ignored).

        Warns with :class:`~latentquant.exceptions.ConvergenceWarning` when ``max_iter`` iterations end before the
        change falls below ``tol`` (the last iterate is kept)."""
        self._check_params()
        K = self.n_factors
        dates, W, X, n = _moments(panel)
        T, L = X.shape
        if K > L:
            raise ConfigError(f"n_factors={K} exceeds the number of characteristics ({L}); use at most {L}.")
        if T < K + 1:
            raise DataValidationError(f"the panel has {T} periods; IPCA with {K} factors needs at least {K + 1}.")
        if self.warm_start and hasattr(self, "gamma_") and self.gamma_.shape == (L, K):
            gamma = self.gamma_.to_numpy().copy()
        else:
            u, _, _ = np.linalg.svd((X / n[:, None]).T, full_matrices=False)
            gamma = u[:, :K]
        alpha = np.zeros(L) if self.intercept else None
        factors = _factor_step(gamma, W, X, alpha)
        converged = False
        it = 0
        change = float("nan")
        for it in range(1, self.max_iter + 1):  # noqa: B007 — n_iter_ is the last value
            gamma_new, alpha_new = self._gamma_step(factors, W, X)
            factors_new = _factor_step(gamma_new, W, X, alpha_new)
            change = max(np.abs(gamma_new - gamma).max(), np.abs(factors_new - factors).max())
            if alpha is not None and alpha_new is not None:
                change = max(change, np.abs(alpha_new - alpha).max())
            gamma, factors, alpha = gamma_new, factors_new, alpha_new
            if change < self.tol:
                converged = True
                break
        if not converged:
            warnings.warn(f"InstrumentedPCA: ALS stopped at max_iter={self.max_iter} with a change of {change:.3g} "
                          f"> tol={self.tol:g}; raise max_iter or tol (or start from a previous fit with "
                          "warm_start=True).", ConvergenceWarning, stacklevel=2)
        gamma, factors, alpha = self._normalise(gamma, factors, alpha)
        names = factor_names(K)
        chars = panel.characteristics.columns
        self.gamma_ = pd.DataFrame(gamma, index=chars, columns=names)
        self.gamma_alpha_ = pd.Series(alpha, index=chars, name="gamma_alpha") if alpha is not None else None
        self.factors_ = pd.DataFrame(factors, index=dates, columns=names)
        self.n_iter_, self.converged_ = it, converged
        return self

    def _gamma_step(self, F: np.ndarray, W: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        T, L = X.shape
        Ft = np.hstack([F, np.ones((T, 1))]) if self.intercept else F
        k = Ft.shape[1]
        # Σ_t (f f' ⊗ W_t) with vec(Γ) stacking Γ's columns: entry ((j, a), (m, b)) = Σ_t f_tj f_tm W_t[a, b]
        FF = (Ft[:, :, None] * Ft[:, None, :]).reshape(T, k * k)
        A = (FF.T @ W.reshape(T, L * L)).reshape(k, k, L, L).transpose(0, 2, 1, 3).reshape(k * L, k * L)
        b = np.einsum("tj,ta->ja", Ft, X).reshape(k * L)
        try:
            vec = np.linalg.solve(A, b)
        except np.linalg.LinAlgError:
            vec = np.linalg.lstsq(A, b, rcond=None)[0]
        G = vec.reshape(k, L).T
        return (G[:, : self.n_factors], G[:, -1]) if self.intercept else (G, None)

    def _normalise(self, gamma: np.ndarray, F: np.ndarray, alpha: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        # Γ'Γ = I and orthogonal factors ordered by variance (the second moment, as in KPS)
        R1 = np.linalg.cholesky(gamma.T @ gamma).T
        R2, _, _ = np.linalg.svd(R1 @ F.T @ F @ R1.T)
        gamma = gamma @ np.linalg.solve(R1, R2)
        F = F @ (R2.T @ R1).T
        if alpha is not None:
            # Γ_α ⟂ Γ_β: move the part of Γ_α spanned by Γ_β into the factors' means
            c = gamma.T @ alpha
            alpha = alpha - gamma @ c
            F = F + c
        sign = np.where(F.mean(axis=0) < 0, -1.0, 1.0)
        return gamma * sign, F * sign, alpha

    # -------------------------------------------------------------------------------- predictions on any panel
    def _z(self, panel: Panel) -> np.ndarray:
        check_characteristics(check_panel(panel), self.gamma_.index)
        return panel.characteristics.fillna(0.0).to_numpy(np.float64)

    def betas(self, panel: Panel) -> pd.DataFrame:
        """β̂_{i,t−1} = z_{i,t−1}'Γ_β for every row of ``panel`` (long, (date, asset) × K)."""
        self._check_fitted()
        return pd.DataFrame(self._z(panel) @ self.gamma_.to_numpy(), index=panel.returns.index,
                            columns=self.gamma_.columns)

    def alphas(self, panel: Panel) -> pd.Series:
        """z_{i,t−1}'Γ_α (zeros for the restricted model)."""
        self._check_fitted()
        a = self._z(panel) @ self.gamma_alpha_.to_numpy() if self.gamma_alpha_ is not None else 0.0
        return pd.Series(np.broadcast_to(a, len(panel.returns)).copy(), index=panel.returns.index, name="alpha")

    def _alpha_values(self, panel: Panel) -> np.ndarray | None:
        # the restricted model has no alpha: nothing is added to its fitted and predicted values
        return self.alphas(panel).to_numpy() if self.gamma_alpha_ is not None else None

    def factors(self, panel: Panel) -> pd.DataFrame:
        """Factor realisations on ``panel``'s dates with Γ held fixed: the cross-sectional regression
        f̂_t = (Γ'W_tΓ)⁻¹Γ'(x_t − W_tΓ_α) — uses the returns of period t (the 'total R²' convention)."""
        self._check_fitted()
        check_characteristics(check_panel(panel), self.gamma_.index)
        dates, W, X, _ = _moments(panel)
        alpha = self.gamma_alpha_.to_numpy() if self.gamma_alpha_ is not None else None
        return pd.DataFrame(_factor_step(self.gamma_.to_numpy(), W, X, alpha), index=dates,
                            columns=self.gamma_.columns)
