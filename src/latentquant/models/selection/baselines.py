r"""Global feature-importance baselines for the feature-selection study (REFERENCE §5).

The seed paper contrasts per-sample attention importances with *global* rankings: a standardised ridge regression's
coefficients, a gradient-boosting model's permutation importance (Breiman's mean decrease in accuracy, MDA) and its
TreeSHAP contributions. This module provides them on one contract:

* ``X`` is a :class:`pandas.DataFrame` (dates × features; an array gets names ``x0, x1, ...``) without NaN/inf;
  ``y`` the forward return per row (a Series must share ``X``'s index).
* Estimators follow scikit-learn's contract: hyperparameters only in ``__init__``, checked in ``fit``; learned
  attributes end in ``_``; ``predict`` before ``fit`` raises :class:`~latentquant.exceptions.NotFittedError`;
  ``predict`` needs the columns seen in ``fit``, in the same order, and returns a Series on ``X``'s index.
* Importances are computed on data the model was *not* fitted on (a validation block) to measure what generalises.

References
----------
Breiman, L. (2001). Random Forests. Machine Learning 45. (permutation importance, MDA)
Ke, G. et al. (2017). LightGBM: A Highly Efficient Gradient Boosting Decision Tree. NeurIPS.
Lundberg, S. M., Erion, G. et al. (2020). From local explanations to global understanding with explainable AI for
trees. Nature Machine Intelligence 2. (TreeSHAP)
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar, Literal, Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from latentquant.base import BaseModel, register_codec
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.models.selection._inputs import check_columns, feature_values, target_values
from latentquant.validation import Constraint, Interval, Options, check_arg

__all__ = [
    "LightGBMBaseline",
    "RidgeBaseline",
    "global_shap_ranking",
    "permutation_importance_mda",
    "shap_importance",
]


class _Predictor(Protocol):
    def predict(self, X: Any) -> Any: ...


def _as_matrix(X: Any, name: str = "X") -> tuple[np.ndarray, pd.Index | None, list[Any]]:
    """Float64 values, row index (None for arrays) and feature names (``x0, x1, ...`` for arrays)."""
    values, index, names = feature_values(X, name=name)
    return values, index, names if names is not None else [f"x{j}" for j in range(values.shape[1])]


# a fitted LightGBM model is saved as LightGBM's own text format (every tree, full precision), never pickled
register_codec("lightgbm.Booster", lgb.Booster, lambda booster, enc: booster.model_to_string(num_iteration=-1),
               lambda text, dec: lgb.Booster(model_str=text))


class _TabularBaseline(RegressorMixin, BaseModel):  # type: ignore[misc]
    """Shared input checks: remembers the feature names seen in ``fit`` and checks them in ``predict``."""

    _fit_hint = "call fit(X, y) first"

    feature_names_in_: list[Any]
    n_features_in_: int

    def _remember(self, names: list[Any]) -> None:
        self.feature_names_in_ = names
        self.n_features_in_ = len(names)

    def _check_columns(self, X: Any, name: str = "X") -> tuple[np.ndarray, pd.Index | None]:
        values, index, names = feature_values(X, name=name)
        check_columns(type(self).__name__, self.feature_names_in_, self.n_features_in_, values, names, name=name)
        return values, index


# --------------------------------------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------------------------------------
class RidgeBaseline(_TabularBaseline):
    r"""Ridge regression on standardised features: scikit-learn ``Pipeline(StandardScaler(), Ridge(alpha))``.

    .. math::

        \hat\beta = \arg\min_\beta \lVert y - \beta_0 - Z\beta \rVert^2 + \alpha \lVert\beta\rVert^2,
        \qquad Z_{tj} = (X_{tj} - \bar X_j) / s_j

    with the training means and (population) standard deviations. Because the features are standardised,
    ``coef_`` are comparable across features (effect of a one-standard-deviation move on the prediction), and
    :math:`\lvert\hat\beta_j\rvert` is the ridge importance ranking.

    Parameters
    ----------
    alpha : float
        L2 penalty, > 0 (scikit-learn's ``Ridge`` convention: not divided by the number of rows).

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted scaler and ridge.
    coef_ : pandas.Series
        Coefficients in standardised units, indexed by feature.
    intercept_ : float
        Intercept (the training mean of ``y``).
    feature_names_in_ : list
        Feature names seen in ``fit`` (``x0, x1, ...`` for arrays).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(500, 3)), columns=["mom", "rsi", "vix"])
    >>> y = 0.5 * X["mom"] - 0.2 * X["vix"] + rng.normal(0, 0.1, 500)
    >>> model = RidgeBaseline(alpha=1.0).fit(X, y)
    >>> model.coef_.round(1).to_dict()
    {'mom': 0.5, 'rsi': 0.0, 'vix': -0.2}
    >>> model.predict(X).shape
    (500,)
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "alpha": [Interval(Real, 0, None, closed="neither")],  # e.g. 1.0; larger values shrink more
    }

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X: pd.DataFrame | np.ndarray, y: pd.Series | np.ndarray) -> RidgeBaseline:
        """Standardise ``X`` with its own moments and fit the ridge; returns ``self``."""
        self._check_params()
        values, _, names = _as_matrix(X)
        target = target_values(y, values.shape[0], X=X)
        if values.shape[0] < 2:
            raise DataValidationError(f"X has {values.shape[0]} row(s); at least 2 are needed to standardise.")
        pipe = Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=float(self.alpha)))])
        pipe.fit(values, target)
        self._remember(names)
        self.pipeline_ = pipe
        ridge = pipe.named_steps["ridge"]
        self.coef_ = pd.Series(np.asarray(ridge.coef_, dtype=np.float64), index=pd.Index(names), name="coef")
        self.intercept_ = float(ridge.intercept_)
        return self

    def predict(self, X: pd.DataFrame | np.ndarray) -> pd.Series:
        """Predictions on ``X`` (same columns as in ``fit``), as a Series on ``X``'s index."""
        self._check_fitted("pipeline_")
        values, index = self._check_columns(X)
        return pd.Series(self.pipeline_.predict(values), index=index, name="prediction")

    def _persisted_state(self) -> dict[str, Any]:
        # the fitted pipeline is saved as the arrays that define it and rebuilt on load (no pickle)
        state = super()._persisted_state()
        pipe = state.pop("pipeline_")
        scaler, ridge = pipe.named_steps["scale"], pipe.named_steps["ridge"]
        state["_pipeline"] = {"mean": scaler.mean_, "var": scaler.var_, "scale": scaler.scale_,
                              "n_samples_seen": int(scaler.n_samples_seen_), "coef": ridge.coef_,
                              "intercept": float(ridge.intercept_), "n_iter": ridge.n_iter_, "solver": ridge.solver_}
        return state

    def _restore_state(self, state: dict[str, Any]) -> None:
        arrays = state.pop("_pipeline")
        super()._restore_state(state)
        scaler = StandardScaler()
        scaler.mean_, scaler.var_, scaler.scale_ = arrays["mean"], arrays["var"], arrays["scale"]
        scaler.n_samples_seen_ = arrays["n_samples_seen"]
        ridge = Ridge(alpha=float(self.alpha))
        ridge.coef_, ridge.intercept_ = arrays["coef"], np.float64(arrays["intercept"])
        ridge.n_iter_, ridge.solver_ = arrays["n_iter"], arrays["solver"]
        for step in (scaler, ridge):
            step.n_features_in_ = self.n_features_in_
        self.pipeline_ = Pipeline([("scale", scaler), ("ridge", ridge)])


class LightGBMBaseline(_TabularBaseline):
    """Gradient-boosted regression trees (LightGBM), deterministic given ``seed``.

    A thin wrapper of :class:`lightgbm.LGBMRegressor` (least squares) with LightGBM's determinism switches
    (``deterministic=True``, ``force_row_wise=True``, single-threaded by default): the same data and ``seed`` give the
    same trees and predictions. Row subsampling (``subsample < 1``) bags rows at every iteration.

    Parameters
    ----------
    n_estimators : int
        Maximum number of boosting rounds.
    learning_rate : float
        Shrinkage in (0, 1].
    num_leaves : int
        Maximum leaves per tree, >= 2.
    min_child_samples : int
        Minimum rows per leaf (regularises noisy return targets).
    subsample : float
        Fraction of rows drawn (without replacement) for each tree, in (0, 1].
    colsample_bytree : float
        Fraction of features drawn for each tree, in (0, 1].
    reg_lambda : float
        L2 penalty on leaf values, >= 0.
    seed : int
        Seed of all of LightGBM's random draws.
    n_jobs : int
        Threads; keep 1 for bit-for-bit reproducibility across machines.
    early_stopping_rounds : int, optional
        Stop when the l2 loss on the explicit validation set (``fit(..., X_val=, y_val=)``) has not improved for
        this many rounds, and predict with the best iteration. ``None`` fits all ``n_estimators`` rounds.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The fitted trees (trained on a NumPy array; feature names are kept here instead). Saved in LightGBM's text
        format by :meth:`save`. (``model_``, the ``lightgbm.LGBMRegressor`` of earlier versions, now returns this
        booster with a ``FutureWarning``.)
    best_iteration_ : int
        Number of rounds used by ``predict``: the early-stopping optimum, or ``n_estimators``.
    gain_importance_ : pandas.Series
        Total split gain per feature (LightGBM's ``importance_type="gain"``), an in-sample importance.
    feature_names_in_ : list
        Feature names seen in ``fit``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(600, 3)), columns=["mom", "rsi", "vix"])
    >>> y = np.sin(2 * X["mom"]) + rng.normal(0, 0.1, 600)
    >>> def fit():
    ...     model = LightGBMBaseline(n_estimators=300, early_stopping_rounds=10, seed=0)
    ...     return model.fit(X[:400], y[:400], X_val=X[400:], y_val=y[400:])     # validation block after training
    >>> model = fit()
    >>> model.gain_importance_.idxmax(), model.best_iteration_ < 300
    ('mom', True)
    >>> bool(model.predict(X[400:]).equals(fit().predict(X[400:])))            # same seed, same predictions
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "n_estimators": [Interval(Integral, 1, None)],  # e.g. 200
        "learning_rate": [Interval(Real, 0, 1, closed="right")],  # e.g. 0.05
        "num_leaves": [Interval(Integral, 2, None)],  # e.g. 15
        "min_child_samples": [Interval(Integral, 1, None)],  # e.g. 50
        "subsample": [Interval(Real, 0, 1, closed="right")],  # 1.0 disables row subsampling
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],  # 1.0 uses every feature in every tree
        "reg_lambda": [Interval(Real, 0, None)],
        "seed": [Interval(Integral, 0, None)],
        "n_jobs": [Interval(Integral, 1, None)],  # keep 1 for reproducible results
        "early_stopping_rounds": [Interval(Integral, 1, None), None],  # e.g. 20, or None to disable
    }

    def __init__(self, n_estimators: int = 200, *, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 50, subsample: float = 1.0, colsample_bytree: float = 1.0,
                 reg_lambda: float = 0.0, seed: int = 0, n_jobs: int = 1,
                 early_stopping_rounds: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.seed = seed
        self.n_jobs = n_jobs
        self.early_stopping_rounds = early_stopping_rounds

    @property
    def model_(self) -> lgb.Booster:
        """Deprecated: the fitted :class:`lightgbm.Booster`; use ``booster_``."""
        warnings.warn("LightGBMBaseline.model_ is deprecated and now returns the fitted lightgbm.Booster; use "
                      "booster_ (model_ goes in the next release).", FutureWarning, stacklevel=2)
        return self.booster_

    def fit(self, X: pd.DataFrame | np.ndarray, y: pd.Series | np.ndarray, *,
            X_val: pd.DataFrame | np.ndarray | None = None,
            y_val: pd.Series | np.ndarray | None = None) -> LightGBMBaseline:
        """Fit on ``(X, y)``; with ``early_stopping_rounds`` stop on the validation set ``(X_val, y_val)``.

        The validation rows must come *after* the training rows in time (a chronological split); they are used only
        to choose the number of rounds. Returns ``self``.
        """
        self._check_params()
        if (X_val is None) != (y_val is None):
            raise ConfigError("pass X_val and y_val together (the validation features and targets), or neither.")
        if self.early_stopping_rounds is not None and X_val is None:
            raise ConfigError(
                f"early_stopping_rounds={self.early_stopping_rounds} needs a validation set: call "
                "fit(X, y, X_val=..., y_val=...) with a later time block, or set early_stopping_rounds=None."
            )
        if self.early_stopping_rounds is None and X_val is not None:
            raise ConfigError(
                "X_val/y_val are only used for early stopping; set early_stopping_rounds (e.g. 20) or drop them."
            )
        values, _, names = _as_matrix(X)
        target = target_values(y, values.shape[0], X=X)
        self._remember(names)
        params: dict[str, Any] = {
            "objective": "regression", "n_estimators": int(self.n_estimators),
            "learning_rate": float(self.learning_rate), "num_leaves": int(self.num_leaves),
            "min_child_samples": int(self.min_child_samples), "subsample": float(self.subsample),
            "subsample_freq": 1 if float(self.subsample) < 1.0 else 0,
            "colsample_bytree": float(self.colsample_bytree), "reg_lambda": float(self.reg_lambda),
            "random_state": int(self.seed), "n_jobs": int(self.n_jobs), "deterministic": True,
            "force_row_wise": True, "verbose": -1,
        }
        model = lgb.LGBMRegressor(**params)
        if X_val is not None:
            val_values, _ = self._check_columns(X_val, name="X_val")
            val_target = target_values(y_val, val_values.shape[0], X=X_val, name="y_val", x_name="X_val")
            model.fit(values, target, eval_X=(val_values,), eval_y=(val_target,), eval_metric="l2",
                      callbacks=[lgb.early_stopping(int(self.early_stopping_rounds or 1), verbose=False)])
            best = int(model.best_iteration_) or int(self.n_estimators)
        else:
            model.fit(values, target)
            best = int(model.booster_.current_iteration())
        self.booster_ = model.booster_  # predictions through the booster equal the regressor's, bit for bit
        self.best_iteration_ = best
        gain = model.booster_.feature_importance(importance_type="gain", iteration=best)
        self.gain_importance_ = pd.Series(np.asarray(gain, dtype=np.float64), index=pd.Index(names), name="gain")
        return self

    def predict(self, X: pd.DataFrame | np.ndarray) -> pd.Series:
        """Predictions with the first ``best_iteration_`` trees, as a Series on ``X``'s index."""
        self._check_fitted("booster_")
        values, index = self._check_columns(X)
        pred = self.booster_.predict(values, num_iteration=self.best_iteration_)
        return pd.Series(np.asarray(pred, dtype=np.float64), index=index, name="prediction")


# --------------------------------------------------------------------------------------------------------------------
# importances
# --------------------------------------------------------------------------------------------------------------------
_SCORES = ("mse", "mae")


def _loss(y: np.ndarray, pred: Any, scoring: str) -> float:
    err = y - np.asarray(pred, dtype=np.float64).reshape(-1)
    return float(np.mean(err**2)) if scoring == "mse" else float(np.mean(np.abs(err)))


def permutation_importance_mda(model: _Predictor, X: pd.DataFrame | np.ndarray, y: pd.Series | np.ndarray, *,
                               n_repeats: int = 10, seed: int | None = 0,
                               scoring: Literal["mse", "mae"] = "mse") -> pd.DataFrame:
    r"""Permutation importance (Breiman's mean decrease in accuracy): how much the loss grows when one feature's
    column is shuffled, breaking its link with ``y`` while keeping its distribution.

    .. math::

        I_j = \frac{1}{R}\sum_{r=1}^R L\big(y, f(X^{(j, r)})\big) - L\big(y, f(X)\big)

    where :math:`X^{(j,r)}` has column :math:`j` permuted (the :math:`r`-th draw) and :math:`L` the mean squared (or
    absolute) error. :math:`I_j \approx 0` (or negative) means the model does not use feature :math:`j` in a way that
    holds on this data. Compute it on held-out (validation or test) rows. Correlated features share credit: permuting
    one leaves the other's information in place, so both can look unimportant.

    Parameters
    ----------
    model : object with ``predict(X)``
        A fitted model, e.g. :class:`RidgeBaseline` or :class:`LightGBMBaseline`; ``X`` is passed in the form given
        (DataFrame with the same columns, or array).
    X : pandas.DataFrame or numpy.ndarray
        Evaluation features, no NaN.
    y : pandas.Series or numpy.ndarray
        Evaluation targets (a Series must share ``X``'s index).
    n_repeats : int
        Permutations per feature.
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same importances.
    scoring : {"mse", "mae"}
        The loss :math:`L`.

    Returns
    -------
    pandas.DataFrame
        Features × [``importance``, ``std``] sorted by decreasing importance; ``std`` is the standard deviation of the
        loss increase across repeats (``ddof=0``, as scikit-learn). ``attrs["baseline_loss"]`` holds
        :math:`L(y, f(X))`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["mom", "rsi", "vix"])
    >>> y = 0.5 * X["mom"] + rng.normal(0, 0.1, 400)
    >>> model = RidgeBaseline().fit(X[:200], y[:200])
    >>> mda = permutation_importance_mda(model, X[200:], y[200:], n_repeats=5)
    >>> mda.index[0], round(float(mda.loc["mom", "importance"]), 1)     # ≈ 2 × 0.5² = 0.5
    ('mom', 0.5)
    """
    if not callable(getattr(model, "predict", None)):
        raise ConfigError(f"model must have a predict(X) method, got {type(model).__name__}; fit a model first.")
    check_arg("n_repeats", n_repeats, Interval(Integral, 1, None))  # e.g. 10
    check_arg("scoring", scoring, Options(*_SCORES))
    values, index, names = _as_matrix(X)
    target = target_values(y, values.shape[0], X=X)
    if values.shape[0] < 2:
        raise DataValidationError(f"X has {values.shape[0]} row(s); permuting needs at least 2.")

    def _frame(v: np.ndarray) -> Any:
        return pd.DataFrame(v, index=index, columns=X.columns) if isinstance(X, pd.DataFrame) else v

    base = _loss(target, model.predict(_frame(values)), scoring)
    rng = np.random.default_rng(seed)
    increases = np.empty((len(names), int(n_repeats)))
    work = values.copy()
    for j in range(len(names)):
        for r in range(int(n_repeats)):
            work[:, j] = values[rng.permutation(values.shape[0]), j]
            increases[j, r] = _loss(target, model.predict(_frame(work)), scoring) - base
        work[:, j] = values[:, j]
    out = pd.DataFrame({"importance": increases.mean(axis=1), "std": increases.std(axis=1)}, index=pd.Index(names))
    out = out.sort_values("importance", ascending=False, kind="stable")
    out.attrs = {"baseline_loss": base, "scoring": scoring, "n_repeats": int(n_repeats)}
    return out


def shap_importance(model: LightGBMBaseline, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    r"""Per-sample TreeSHAP contributions of a fitted :class:`LightGBMBaseline` (LightGBM's exact
    ``predict(..., pred_contrib=True)``; the ``shap`` package is not needed).

    The contributions are additive: for every row :math:`t`,

    .. math::

        f(x_t) = \phi_0 + \sum_j \phi_{tj},

    with :math:`\phi_0` the bias (expected prediction over the training data, the same for all rows). Unlike ridge
    coefficients or permutation importance these are *sample-specific*, like attention weights, and so can be
    compared with them date by date; :func:`global_shap_ranking` averages their magnitudes.

    Parameters
    ----------
    model : LightGBMBaseline
        A fitted model.
    X : pandas.DataFrame or numpy.ndarray
        Rows to explain, with the columns the model was fitted on.

    Returns
    -------
    pandas.DataFrame
        Rows × features (``X``'s index; the fitted feature names) of :math:`\phi_{tj}`, in the units of ``y``. The
        bias :math:`\phi_0` is in ``attrs["bias"]``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["mom", "vix"])
    >>> y = X["mom"] + rng.normal(0, 0.1, 300)
    >>> model = LightGBMBaseline(n_estimators=30).fit(X, y)
    >>> phi = shap_importance(model, X)
    >>> bool(np.allclose(phi.sum(axis=1) + phi.attrs["bias"], model.predict(X)))
    True
    >>> global_shap_ranking(phi).index.tolist()
    ['mom', 'vix']
    """
    if not isinstance(model, LightGBMBaseline):
        raise ConfigError(
            f"shap_importance needs a fitted LightGBMBaseline, got {type(model).__name__}; for other models use "
            "permutation_importance_mda."
        )
    model._check_fitted("booster_")
    values, index = model._check_columns(X)
    contrib = np.asarray(model.booster_.predict(values, num_iteration=model.best_iteration_, pred_contrib=True),
                         dtype=np.float64)
    out = pd.DataFrame(contrib[:, :-1], index=index, columns=pd.Index(model.feature_names_in_))
    out.attrs = {"bias": float(contrib[0, -1]), "method": "TreeSHAP (LightGBM pred_contrib)"}
    return out


def global_shap_ranking(contributions: pd.DataFrame) -> pd.Series:
    r"""Global importance from per-sample SHAP values: :math:`\frac1T\sum_t \lvert\phi_{tj}\rvert` per feature,
    sorted decreasing (named ``"mean_abs_shap"``).

    Parameters
    ----------
    contributions : pandas.DataFrame
        Per-sample contributions, rows × features (the output of :func:`shap_importance`).

    Returns
    -------
    pandas.Series
        Mean absolute contribution per feature, largest first.

    Examples
    --------
    >>> phi = pd.DataFrame({"a": [0.1, -0.3], "b": [0.0, 0.05]})
    >>> global_shap_ranking(phi).round(3).to_dict()
    {'a': 0.2, 'b': 0.025}
    """
    if not isinstance(contributions, pd.DataFrame):
        raise DataValidationError(
            f"contributions must be the DataFrame returned by shap_importance, got {type(contributions).__name__}."
        )
    values, _, names = _as_matrix(contributions, name="contributions")
    ranking = pd.Series(np.abs(values).mean(axis=0), index=pd.Index(names), name="mean_abs_shap")
    return ranking.sort_values(ascending=False, kind="stable")
