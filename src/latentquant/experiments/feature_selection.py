"""Study: sample-specific feature selection for next-day S&P 500 timing (REFERENCE §5), or of the user's own index.

Data: 14 TA-Lib indicators of the S&P 500 close (``variant: close``; the ``ohlcv`` variant adds the 8 indicators that
need high/low/volume, data to 2018-12) or of the user's file of daily prices (config key ``path``; see
:func:`study_data`) plus five bundled macro series, whatever the index (VIX level and change, 3-month and 10-year
Treasury yields, term spread); the target at date *t* is the return from close *t* to close *t+1*. Every feature at
*t* uses data up to *t* only (:mod:`latentquant.features`). Splits are calendar spans (train, validation, test); each
model standardises its inputs with training-span statistics; neural models stop early on the validation span.

Strategy and conventions: long the index from close *t* to close *t+1* when the predicted return is above
``threshold`` (0), otherwise in cash. Cash earns 0 in the ``rf = 0`` columns and the 3-month T-bill yield in the
``T-bill`` columns (whose Sharpe ratios are then in excess of the T-bill). Sharpe ratios are annualised with √252.
Costs: ``cost_bps`` per unit of position change (0 by default). Every model is fitted with several seeds; tables show
the mean ± std over seeds, and the seed-averaged ("ensemble") prediction carries the bootstrap confidence interval,
the probabilistic Sharpe ratio against buy-and-hold, a paired bootstrap test of the Sharpe difference with
buy-and-hold, and the deflated Sharpe ratio over every (model, seed) variant tried.

Sample-specificity: per-sample attention importance of the attention models (column sums of the attention matrix,
averaged over heads and layers, rows sum to 1) on the test span, its monthly heat map, its mean in high- vs low-VIX
regimes (threshold: median VIX of the training span) with a Newey–West test of the difference, and a comparison with
the global rankings of LightGBM (permutation importance, mean |TreeSHAP|) and ridge (|coefficient|).

Also: pre-training the self-attention model (and the VAE of ``vae_features``) on the other bundled stocks, then
fine-tuning on a target stock (skipped, with a warning, when the study runs on a user file: it needs a panel of peer
stocks that one price file does not hold); and the semi-supervised VAE on up/down days with a small share of labels.

Every fit is a task of :mod:`latentquant.executors`, stored as it finishes, so an interrupted study resumes.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin

from latentquant._io import atomic_write
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.executors import Task, run_tasks
from latentquant.experiments._config import StudyConfig, StudyResult, section_options
from latentquant.experiments._data import STUDY_MISSING
from latentquant.experiments._selection_data import SPLITS as _SPLITS
from latentquant.experiments._selection_data import stock_data, study_data
from latentquant.experiments._tasks import progress_printer
from latentquant.models.selection import SELECTION_MODELS, LightGBMBaseline, RidgeBaseline, VAEFeatures
from latentquant.reports import RunDirectory, data_fingerprint
from latentquant.reports import figures as figs

__all__ = ["MODEL_NAMES", "SelectionStudyConfig", "SelectionStudyResult", "run", "study_data"]

#: The timing models of the study: the regressors of the selection registry, in its order.
MODEL_NAMES = tuple(name for name in SELECTION_MODELS if issubclass(SELECTION_MODELS.get(name), RegressorMixin))
_TECHNICAL_ONLY = ("vae_features",)  # compresses the technical indicators alone (the macro series stay out)
PPY = 252
_PRETRAINING: dict[str, Any] = {"enabled": True, "target": "AAPL", "models": ["self_attention", "vae_features"],
                                "seeds": [0, 1, 2, 3, 4], "fine_tune": {"epochs": 50, "lr": 3e-4}}
_SEMI: dict[str, Any] = {"enabled": True, "label_fraction": 0.05, "seeds": [0, 1, 2, 3, 4], "params": {}}


@dataclass
class SelectionStudyConfig(StudyConfig):
    """Every choice of the study (see the module docstring); YAML keys are these field names.

    Parameters
    ----------
    path : str or None
        A CSV/Parquet file of the user's daily prices to study instead of the bundled S&P 500: a date column and a
        ``close`` column (any case) or a single price column; ``high``, ``low`` and ``volume`` too for
        ``variant: ohlcv``. Read with :func:`~latentquant.datasets.load_prices_csv` and checked before any fit
        (daily dates, positive prices, enough dates shared with the bundled VIX and Treasury yields, which give the
        macro features). The pre-training experiment, which needs the bundled stocks, is skipped with a warning.
    missing : {"error", "drop"}, default "error"
        Missing values in ``path``'s file: an error naming each column's count, or drop those dates (counted in a
        warning).
    variant : {"close", "ohlcv"}, default "close"
        Indicators of the close (S&P 500: data to 2022), or also those needing high/low/volume (S&P 500: data to
        2018-12).
    lags : int, default 0
        Lagged copies of every feature added to the inputs.
    train, validation, test : list of str
        ``[start, end]`` dates of the three time-ordered spans (inclusive).
    models : list of str
        Timing models, names of :data:`MODEL_NAMES` (default: all).
    seeds : list of int, default 0..9
        Distinct seeds; every model is fitted once per seed.
    params : dict of str to dict
        Model name → keyword arguments of its estimator.
    threshold : float, default 0.0
        Go long when the predicted return is above it.
    cost_bps : float, default 0.0
        Cost in basis points per unit of position change.
    n_boot : int, default 2000
        Bootstrap replicates of the Sharpe confidence intervals and difference tests.
    pretraining : dict
        ``enabled``, ``target`` (a bundled stock), ``models``, ``seeds`` and ``fine_tune`` options of the
        pre-training experiment.
    semi_supervised : dict
        ``enabled``, ``label_fraction``, ``seeds`` and ``params`` of the semi-supervised VAE experiment.
    executor : {"local", "serial", "ray"}, default "local"
        Where the fits run (:func:`~latentquant.executors.run_tasks`).
    n_jobs : int or None
        Worker processes (``None``: one per core).
    ray_address : str or None
        Address of a Ray cluster for ``executor='ray'`` (``None``: a local Ray instance).
    out : str, default "runs/feature-selection"
        The run directory.
    verbose : bool or None
        ``False`` silences the progress lines on stderr.

    Examples
    --------
    >>> config = SelectionStudyConfig.from_dict({"models": ["ridge", "self_attention"], "seeds": [0, 1],
    ...                                          "pretraining": {"enabled": False}})
    >>> config.validate()
    >>> {name: str(start.date()) for name, (start, end) in config.spans().items()}
    {'train': '2005-01-01', 'validation': '2015-01-01', 'test': '2017-01-01'}
    >>> SelectionStudyConfig(train=["2005-01-01", "2015-06-30"]).validate()
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: the validation span must start after the train span ends (got train ending \
2015-06-30 and validation starting 2015-01-01); splits are time-ordered.
    """

    path: str | None = None
    missing: str = "error"
    variant: str = "close"
    lags: int = 0
    train: list[str] = field(default_factory=lambda: ["2005-01-01", "2014-12-31"])
    validation: list[str] = field(default_factory=lambda: ["2015-01-01", "2016-12-31"])
    test: list[str] = field(default_factory=lambda: ["2017-01-01", "2022-12-31"])
    models: list[str] = field(default_factory=lambda: list(MODEL_NAMES))
    seeds: list[int] = field(default_factory=lambda: list(range(10)))
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    threshold: float = 0.0
    cost_bps: float = 0.0
    n_boot: int = 2000
    pretraining: dict[str, Any] = field(default_factory=lambda: dict(_PRETRAINING))
    semi_supervised: dict[str, Any] = field(default_factory=lambda: dict(_SEMI))
    executor: str = "local"
    n_jobs: int | None = None
    ray_address: str | None = None
    out: str = "runs/feature-selection"
    verbose: bool | None = None

    def validate(self) -> None:
        if self.path is not None and (not isinstance(self.path, str) or not self.path.strip()):
            raise ConfigError(f"path must be the path of a CSV/Parquet file of daily prices (or null for the bundled "
                              f"S&P 500), got {self.path!r}.")
        if self.missing not in STUDY_MISSING:
            raise ConfigError(f"missing must be 'error' (stop at a missing price) or 'drop' (drop the dates with a "
                              f"missing price), got {self.missing!r}.")
        if self.variant not in ("close", "ohlcv"):
            raise ConfigError(f"variant must be 'close' (S&P 500 close, to 2022) or 'ohlcv' (open/high/low/close/"
                              f"volume, to 2018-12), got {self.variant!r}.")
        bad = [m for m in self.models if m not in MODEL_NAMES]
        if bad or not self.models:
            raise ConfigError(f"unknown model name(s) {bad} in models; choose from {list(MODEL_NAMES)}."
                              if bad else f"models must name at least one of {list(MODEL_NAMES)}.")
        if not isinstance(self.params, Mapping):
            section_options("params", self.params, MODEL_NAMES, "model names to model options")
        unknown = sorted(set(self.params) - set(MODEL_NAMES), key=str)
        if unknown:
            raise ConfigError(f"params has unknown model name(s) {unknown}; choose from {list(MODEL_NAMES)}.")
        for model, options in self.params.items():
            section_options(f"params.{model}", options, _model_keys(model), "model options")
        if not self.seeds or any(isinstance(v, bool) or not isinstance(v, int) for v in self.seeds) \
                or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be a non-empty list of distinct integers, got {self.seeds!r}.")
        if self.executor not in ("serial", "local", "ray"):
            raise ConfigError(f"executor must be 'serial', 'local' or 'ray', got {self.executor!r}.")
        if isinstance(self.lags, bool) or not isinstance(self.lags, int) or self.lags < 0:
            raise ConfigError(f"lags must be an integer >= 0, got {self.lags!r}.")
        if not isinstance(self.cost_bps, (int, float)) or not math.isfinite(self.cost_bps) or self.cost_bps < 0:
            raise ConfigError(f"cost_bps must be a number >= 0 (basis points per unit of position change), "
                              f"got {self.cost_bps!r}.")
        if isinstance(self.n_boot, bool) or not isinstance(self.n_boot, int) or self.n_boot < 100:
            raise ConfigError(f"n_boot must be an integer >= 100 (bootstrap replicates of the Sharpe intervals and "
                              f"tests), got {self.n_boot!r}; 2000 is a good default.")
        spans = self.spans()
        for a, b in itertools.pairwise(_SPLITS):
            end, start = spans[a][1], spans[b][0]
            if start <= end:
                raise ConfigError(f"the {b} span must start after the {a} span ends (got {a} ending "
                                  f"{end.date()} and {b} starting {start.date()}); splits are time-ordered.")
        for name, defaults in (("pretraining", _PRETRAINING), ("semi_supervised", _SEMI)):
            section_options(name, getattr(self, name), defaults)
        pre = {**_PRETRAINING, **self.pretraining}
        if not isinstance(pre["models"], list):
            raise ConfigError(f"pretraining.models must be a list of model names ('self_attention', "
                              f"'vae_features'), got {pre['models']!r}.")
        bad_pre = [m for m in pre["models"] if m not in ("self_attention", "vae_features")]
        if bad_pre:
            raise ConfigError(f"pretraining.models supports 'self_attention' and 'vae_features', got {bad_pre}.")
        fine_tune_keys = set().union(*(_model_keys(m) for m in pre["models"] or ("self_attention", "vae_features")))
        section_options("pretraining.fine_tune", pre["fine_tune"], fine_tune_keys, "model options")
        section_options("semi_supervised.params", self.semi_supervised.get("params", {}),
                        _model_keys("semi_supervised_vae"), "model options")
        frac = self.semi_supervised.get("label_fraction", 0.05)
        if not isinstance(frac, (int, float)) or not 0 < frac <= 1:
            raise ConfigError(f"semi_supervised.label_fraction must be in (0, 1], got {frac!r}.")

    def spans(self) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
        out: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
        for name in _SPLITS:
            value = getattr(self, name)
            try:
                start, end = (pd.Timestamp(v) for v in value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{name} must be a [start, end] pair of dates, got {value!r}.") from exc
            if end < start:
                raise ConfigError(f"{name} ends ({end.date()}) before it starts ({start.date()}).")
            out[name] = (start, end)
        return out


@dataclass(frozen=True)
class SelectionStudyResult(StudyResult):
    """What :func:`run` returns: the run directory, the headline metrics and the tables (``sharpe``, ``headline``,
    importance, pre-training and semi-supervised tables).

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    metrics : mapping
        Headline numbers, as in ``metrics.json`` (``seeds``, ``sharpe``, ``n_trials``, ...).
    tables : mapping of str to pandas.DataFrame
        The report's tables by name (read-only; :meth:`table` hands out copies).

    Examples
    --------
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> sharpe = pd.DataFrame({"sharpe_test_mean": [0.9, 0.4, 0.7]}, index=["self_attention", "ridge", "buy_and_hold"])
    >>> result = SelectionStudyResult(path=Path("runs/fs"), metrics={"seeds": [0, 1]}, tables={"sharpe": sharpe})
    >>> print(result.summary())
    2 models × 2 seeds; best mean test Sharpe (rf=0, √252): self_attention 0.90 vs buy-and-hold 0.70; report: \
runs/fs/report.html
    """

    def summary(self) -> str:
        test = self.tables["sharpe"]["sharpe_test_mean"]
        models = test.drop("buy_and_hold")
        best = str(models.idxmax())
        return (f"{len(models)} models × {len(self.metrics['seeds'])} seeds; best mean test Sharpe (rf=0, √252): "
                f"{best} {models.max():.2f} vs buy-and-hold {test['buy_and_hold']:.2f}; report: {self.report}")


# --------------------------------------------------------------------------------------------------- data
def _meta_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not (str(c).startswith("__") and str(c).endswith("__"))]


def _technical_columns(columns: list[str]) -> list[str]:
    from latentquant.features import MACRO_FEATURES

    return [c for c in columns if c.split("_lag")[0] not in MACRO_FEATURES]


def _fingerprint(frame: pd.DataFrame) -> str:
    """Data fingerprint of a study frame (text columns by their category codes); stored fits are tied to it."""
    numeric = frame.apply(lambda c: c if pd.api.types.is_numeric_dtype(c) else c.astype("category").cat.codes)
    return data_fingerprint(numeric)[:16]


@functools.lru_cache(maxsize=2)
def _read(path: str) -> pd.DataFrame:
    return pd.read_parquet(path)


def _model_keys(name: str) -> list[str]:
    """The constructor parameters of the selection model ``name`` (old spellings included)."""
    cls = SELECTION_MODELS.get(name)
    return sorted(set(SELECTION_MODELS.params(name)) | set(getattr(cls, "_renamed_params", {})))


# --------------------------------------------------------------------------------------------------- one fit
def make_model(name: str, seed: int, params: Mapping[str, Any] | None = None) -> Any:
    """A fresh estimator of the study's model ``name`` (built by the selection registry) with constructor
    overrides ``params``; ``seed`` and a silent trainer are defaults of the models that take them.

    Examples
    --------
    >>> model = make_model("mlp", 3, {"epochs": 5})
    >>> type(model).__name__, model.seed, model.epochs, model.verbose
    ('MLPRegressor', 3, 5, False)
    """
    if name not in MODEL_NAMES:
        raise ConfigError(f"unknown model name {name!r}; choose from {list(MODEL_NAMES)}.")
    kwargs = dict(params or {})
    accepted = SELECTION_MODELS.params(name)
    if "seed" in accepted:
        kwargs.setdefault("seed", seed)
    if "verbose" in accepted:
        kwargs.setdefault("verbose", False)
    try:
        return SELECTION_MODELS.create(name, kwargs)
    except ConfigError as exc:
        raise ConfigError(f"params.{name}: {str(exc).rstrip('.')}; see the docstring of "
                          f"{SELECTION_MODELS.get(name).__name__}.") from None


def _inputs(model: str, frame: pd.DataFrame) -> pd.DataFrame:
    cols = _meta_columns(frame)
    return frame[_technical_columns(cols)] if model in _TECHNICAL_ONLY else frame[cols]


def _takes_validation(est: Any) -> bool:
    """Whether ``est`` stops early on the validation span (its ``fit`` takes ``X_val``; LightGBM only with
    ``early_stopping_rounds``); otherwise the validation span is not used."""
    return "X_val" in inspect.signature(est.fit).parameters and getattr(est, "early_stopping_rounds", 0) is not None


def _fit(est: Any, X: pd.DataFrame, y: pd.Series, split: pd.Series, **fit_kwargs: Any) -> None:
    tr, va = (split == "train").to_numpy(), (split == "validation").to_numpy()
    if _takes_validation(est):
        est.fit(X[tr], y[tr], X_val=X[va], y_val=y[va], **fit_kwargs)
    else:
        est.fit(X[tr], y[tr], **fit_kwargs)


def fit_selector(data_path: str, model: str, seed: int, params: dict[str, Any], explain: bool,
                 data: str = "") -> dict[str, Any]:
    """Fit one model with one seed; predictions on every date, importance on the test span (worker task)."""
    import time

    frame = _read(data_path)
    X, y, split = _inputs(model, frame), frame["__y__"], frame["__split__"]
    est = make_model(model, seed, params)
    t0 = time.perf_counter()
    _fit(est, X, y, split)
    out: dict[str, Any] = {"seconds": time.perf_counter() - t0, "pred": est.predict(X).rename("pred")}
    history = getattr(est, "history_", None)
    if history is not None:
        out["epochs"] = len(next(iter(history.values()), []))
    te = (split == "test").to_numpy()
    if hasattr(est, "importance"):  # per-sample attention importance
        out["importance"] = est.importance(X[te])
    if explain and isinstance(est, LightGBMBaseline):
        from latentquant.models.selection import global_shap_ranking, permutation_importance_mda, shap_importance

        out["mda"] = permutation_importance_mda(est, X[te], y[te], seed=seed)["importance"]
        out["shap"] = global_shap_ranking(shap_importance(est, X[te]))
    if explain and isinstance(est, RidgeBaseline):
        out["coef"] = est.coef_
    return out


def pretrain_arms(data_path: str, model: str, target: str, seed: int, params: dict[str, Any],
                  fine_tune: dict[str, Any], data: str = "") -> dict[str, Any]:
    """Target-stock test predictions of three arms: trained on the target only, pre-trained on the other stocks
    without fine-tuning, and pre-trained then fine-tuned on the target (worker task)."""
    frame = _read(data_path)
    own, others = frame[frame["__ticker__"] == target], frame[frame["__ticker__"] != target]
    Xo, Xt = _inputs(model, own), _inputs(model, others)
    te = (own["__split__"] == "test").to_numpy()
    preds: dict[str, pd.Series] = {}

    def keep(name: str, est: Any) -> None:
        preds[name] = est.predict(Xo[te])

    alone = make_model(model, seed, params)
    _fit(alone, Xo, own["__y__"], own["__split__"])
    keep("target_only", alone)
    pre = make_model(model, seed, params)  # vae_features: the VAE and the head learn from the other stocks
    _fit(pre, Xt, others["__y__"], others["__split__"])
    keep("pretrained", pre)
    pre.set_params(warm_start=True, **fine_tune)
    # VAE features: the pre-trained VAE is kept frozen; the head is fine-tuned on the target
    _fit(pre, Xo, own["__y__"], own["__split__"], **({"refit_vae": False} if isinstance(pre, VAEFeatures) else {}))
    keep("fine_tuned", pre)
    return {"preds": pd.DataFrame(preds)}


def semi_supervised_arms(data_path: str, seed: int, label_fraction: float, params: dict[str, Any],
                         data: str = "") -> dict[str, Any]:
    """Up/down classification of the next day with ``label_fraction`` of the training labels: the semi-supervised
    VAE (all training rows, most unlabelled) vs the same classifier on the labelled rows alone (worker task)."""
    from sklearn.metrics import roc_auc_score

    frame = _read(data_path)
    X, y, split = frame[_meta_columns(frame)], frame["__y__"], frame["__split__"]
    up = (y > 0).astype(int).to_numpy()
    tr, te = (split == "train").to_numpy(), (split == "test").to_numpy()
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(tr)
    n_lab = max(2, round(label_fraction * idx.size))
    labelled = np.sort(rng.choice(idx, size=n_lab, replace=False))  # time order, as the trainer requires
    y_semi = np.full(len(frame), -1.0)
    y_semi[labelled] = up[labelled]
    kwargs = {"n_classes": 2, "seed": seed, "verbose": False, **params}
    ss = SELECTION_MODELS.create("semi_supervised_vae", kwargs).fit(X[tr], y_semi[tr])
    # the same classifier on the labelled days alone, with as many optimisation steps as the semi-supervised fit
    steps = ss.epochs * math.ceil(idx.size / ss.batch_size)
    epochs = max(1, round(steps / math.ceil(n_lab / ss.batch_size)))
    sup = SELECTION_MODELS.create("semi_supervised_vae", kwargs, epochs=epochs).fit_supervised(X.iloc[labelled],
                                                                                                up[labelled])
    out: dict[str, Any] = {"n_labelled": int(n_lab), "n_train": int(idx.size),
                           "test_up_share": float(up[te].mean())}
    for name, est in (("semi_supervised", ss), ("supervised_only", sup)):
        proba = est.predict_proba(X[te]).to_numpy()[:, 1]
        out[name] = {"accuracy": float(np.mean((proba > 0.5) == up[te])),
                     "auc": float(roc_auc_score(up[te], proba))}
    return out


# --------------------------------------------------------------------------------------------------- metrics
def _strategy(pred: pd.Series, frame: pd.DataFrame, threshold: float, cost_bps: float) -> pd.Series:
    """Returns of the long-or-cash strategy on the dates of ``pred`` (cash earns 0)."""
    from latentquant.evaluation import timing_returns

    return timing_returns(pred, frame.loc[pred.index, "__y__"], threshold=threshold, cost_bps=cost_bps,
                          periods_per_year=PPY)


def _seed_metrics(pred: pd.Series, frame: pd.DataFrame, cfg: SelectionStudyConfig) -> dict[str, float]:
    from latentquant.evaluation import timing_statistics

    out: dict[str, float] = {}
    for span in ("train", "test"):
        p = pred[(frame["__split__"] == span).to_numpy()]
        y = frame.loc[p.index, "__y__"]
        stats = timing_statistics(p, y, threshold=cfg.threshold, cost_bps=cfg.cost_bps, periods_per_year=PPY)
        out[f"sharpe_{span}"] = stats["sharpe_rf0"]  # cash earns 0
        if span == "test":
            out["sharpe_test_tbill"] = timing_statistics(  # cash earns the T-bill; Sharpe in excess of it
                p, y, threshold=cfg.threshold, rf=frame.loc[p.index, "__rf__"], cost_bps=cfg.cost_bps,
                periods_per_year=PPY)["sharpe_excess"]
            out["hit_rate"] = stats["hit_rate"]
            out["turnover"] = stats["turnover"]
            out["max_drawdown"] = stats["max_drawdown"]
            out["time_in_market"] = stats["time_in_market"]
            out["mse_1e4"] = 1e4 * stats["mse"]
            out["r2_oos_pct"] = 100 * stats["r2_oos"]
    return out


# --------------------------------------------------------------------------------------------------- aggregation
def _seeds_of(cfg: SelectionStudyConfig, model: str) -> list[int]:
    """Every seed, or the first one alone for a model without randomness (one fit)."""
    return list(cfg.seeds) if "seed" in SELECTION_MODELS.params(model) else [cfg.seeds[0]]


def _pm(full: pd.DataFrame, col: str) -> list[str]:
    return [("" if not np.isfinite(m) else f"{m:.2f}" if not np.isfinite(s) else f"{m:.2f} ± {s:.2f}")
            for m, s in zip(full[f"{col}_mean"], full[f"{col}_std"], strict=True)]


@dataclass
class _Main:
    full: pd.DataFrame
    headline: pd.DataFrame
    equity: pd.DataFrame
    significant: list[str]
    n_trials: int


def _main_tables(cfg: SelectionStudyConfig, frame: pd.DataFrame, results: Mapping[str, Any]) -> _Main:
    """Per-seed metrics (mean ± std), ensemble statistics and the buy-and-hold row."""
    from latentquant.evaluation import (
        deflated_sharpe_ratio,
        hit_rate,
        max_drawdown,
        probabilistic_sharpe_ratio,
        sharpe_ci,
        sharpe_difference_test,
        sharpe_ratio,
    )

    split = frame["__split__"]
    test = (split == "test").to_numpy()
    y_test = frame.loc[test, "__y__"]
    bh = y_test.rename("buy_and_hold")
    per_seed: dict[str, pd.DataFrame] = {}
    ensemble: dict[str, pd.Series] = {}
    for model in cfg.models:
        preds = {s: results[f"{model}-s{s}"]["pred"] for s in _seeds_of(cfg, model)}
        per_seed[model] = pd.DataFrame({s: _seed_metrics(p, frame, cfg) for s, p in preds.items()}).T
        ensemble[model] = pd.concat(preds, axis=1).mean(axis=1)
    trials = np.concatenate([per_seed[m]["sharpe_test"].to_numpy() for m in cfg.models])
    trials = trials[np.isfinite(trials)]  # a variant that never invested has no Sharpe ratio
    rows: dict[str, dict[str, float]] = {}
    equity: dict[str, pd.Series] = {}
    for model in cfg.models:
        ps = per_seed[model]
        row: dict[str, float] = {"n_seeds": float(len(ps)),  # seeds never invested have no Sharpe: left out of
                                 "n_seeds_in_cash": float(ps["sharpe_test"].isna().sum())}  # the Sharpe mean/std
        for col in ps.columns:
            row[f"{col}_mean"] = float(ps[col].mean())
            row[f"{col}_std"] = float(ps[col].std(ddof=1)) if len(ps) > 1 else float("nan")
        e = ensemble[model][test]
        r = _strategy(e, frame, cfg.threshold, cfg.cost_bps)
        equity[model] = r
        row.update({"ensemble_hit_rate": hit_rate(e, y_test), "ensemble_max_drawdown": max_drawdown(r)})
        try:
            ci = sharpe_ci(r, periods_per_year=PPY, method="bootstrap", n_boot=cfg.n_boot, seed=0)
            diff = sharpe_difference_test(r, bh, periods_per_year=PPY, n_boot=cfg.n_boot, seed=0)
        except DataValidationError:  # never (or almost never) invested: no Sharpe ratio, no test
            row.update(dict.fromkeys(("ensemble_sharpe_test", "ci_low", "ci_high", "psr_vs_bh", "diff_vs_bh",
                                      "diff_p_value", "dsr"), float("nan")))
        else:
            row.update({
                "ensemble_sharpe_test": ci.sharpe, "ci_low": ci.low, "ci_high": ci.high,
                "psr_vs_bh": probabilistic_sharpe_ratio(r, bh, periods_per_year=PPY),
                "diff_vs_bh": diff.difference, "diff_p_value": diff.p_value,
                "dsr": deflated_sharpe_ratio(r, trials, periods_per_year=PPY).dsr})
        rows[model] = row
    bh_ci = sharpe_ci(bh, periods_per_year=PPY, method="bootstrap", n_boot=cfg.n_boot, seed=0)
    train_y = frame.loc[(split == "train").to_numpy(), "__y__"]
    rows["buy_and_hold"] = {
        "n_seeds": 0.0, "sharpe_train_mean": sharpe_ratio(train_y, periods_per_year=PPY),
        "sharpe_test_mean": bh_ci.sharpe,
        "sharpe_test_tbill_mean": sharpe_ratio(bh, rf=frame.loc[test, "__rf__"], periods_per_year=PPY),
        "hit_rate_mean": float((y_test > 0).mean()), "turnover_mean": 0.0, "max_drawdown_mean": max_drawdown(bh),
        "time_in_market_mean": 1.0, "ensemble_sharpe_test": bh_ci.sharpe, "ci_low": bh_ci.low,
        "ci_high": bh_ci.high}
    full = pd.DataFrame(rows).T.rename_axis("model")
    equity["buy_and_hold"] = bh
    diff_text = ["" if not np.isfinite(d) else f"{d:+.2f} (p={p:.2f})"
                 for d, p in zip(full["diff_vs_bh"], full["diff_p_value"], strict=True)]
    ci_text = [f"{a:.2f} [{lo:.2f}, {hi:.2f}]"
               for a, lo, hi in zip(full["ensemble_sharpe_test"], full["ci_low"], full["ci_high"], strict=True)]
    headline = pd.DataFrame({
        "Sharpe train": _pm(full, "sharpe_train"), "Sharpe test": _pm(full, "sharpe_test"),
        "Sharpe test (T-bill)": _pm(full, "sharpe_test_tbill"), "ensemble test Sharpe [95% CI]": ci_text,
        "ΔSharpe vs B&H": diff_text, "PSR vs B&H": full["psr_vs_bh"], "DSR": full["dsr"],
        "hit rate": full["hit_rate_mean"], "turnover": full["turnover_mean"], "max DD": full["max_drawdown_mean"],
    }, index=full.index)
    significant = [m for m in cfg.models if rows[m]["diff_p_value"] < 0.05]
    return _Main(full=full, headline=headline, equity=pd.DataFrame(equity), significant=significant,
                 n_trials=int(trials.size))


@dataclass
class _Importance:
    per_sample: dict[str, pd.DataFrame]
    regime: dict[str, pd.DataFrame]
    global_table: pd.DataFrame
    rank_corr: pd.DataFrame | None
    vix_threshold: float


def _importance_tables(cfg: SelectionStudyConfig, frame: pd.DataFrame, results: Mapping[str, Any]) -> _Importance:
    """Seed-averaged per-sample attention importance, its VIX-regime test and the global rankings."""
    from latentquant.evaluation import regime_importance_test

    split = frame["__split__"]
    vix_threshold = float(frame.loc[(split == "train").to_numpy(), "vix"].median())
    high_vix = frame.loc[(split == "test").to_numpy(), "vix"] > vix_threshold
    per_sample: dict[str, pd.DataFrame] = {}
    regime: dict[str, pd.DataFrame] = {}
    for model in (m for m in cfg.models if hasattr(SELECTION_MODELS.get(m), "importance")):
        imp = pd.concat([results[f"{model}-s{s}"]["importance"] for s in cfg.seeds]).groupby(level=0).mean()
        per_sample[model] = imp
        regime[model] = regime_importance_test(imp, high_vix.reindex(imp.index))
    first = cfg.seeds[0]
    glob: dict[str, pd.Series] = {}
    if "self_attention" in per_sample:
        glob["self-attention (mean)"] = per_sample["self_attention"].mean()
    if "lightgbm" in cfg.models:
        glob["LightGBM MDA"] = results[f"lightgbm-s{first}"]["mda"]
        glob["LightGBM mean |SHAP|"] = results[f"lightgbm-s{first}"]["shap"]
    if "ridge" in cfg.models:
        glob["ridge |coef|"] = results[f"ridge-s{first}"]["coef"].abs()
    table = pd.DataFrame(glob)
    corr = table.rank(ascending=False).corr(method="spearman") if table.shape[1] > 1 else None
    return _Importance(per_sample, regime, table, corr, vix_threshold)


def _pretraining_table(cfg: SelectionStudyConfig, pre: Mapping[str, Any], stocks: pd.DataFrame,
                       results: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Test MSE, Sharpe and hit rate of the three arms on the target stock (mean and std over seeds)."""
    from latentquant.evaluation import sharpe_ratio, timing_statistics

    own = stocks[stocks["__ticker__"] == pre["target"]]
    rows = []
    for model in pre["models"]:
        for seed in pre["seeds"]:
            preds = results[f"pretrain-{model}-s{seed}"]["preds"]
            y = own.loc[preds.index, "__y__"]
            for arm in preds.columns:
                stats = timing_statistics(preds[arm], y, threshold=cfg.threshold, cost_bps=cfg.cost_bps,
                                          periods_per_year=PPY)
                rows.append({"model": model, "arm": arm, "seed": seed, "mse_1e4": 1e4 * stats["mse"],
                             "sharpe_test": stats["sharpe_rf0"], "hit_rate": stats["hit_rate"]})
    agg = pd.DataFrame(rows).groupby(["model", "arm"])[["mse_1e4", "sharpe_test", "hit_rate"]].agg(["mean", "std"])
    agg.columns = pd.Index(["_".join(map(str, c)) for c in agg.columns.to_flat_index()])
    y_test = own.loc[own["__split__"] == "test", "__y__"]
    return agg, {"buy_and_hold_sharpe": sharpe_ratio(y_test, periods_per_year=PPY),
                 "zero_forecast_mse_1e4": float(1e4 * np.mean(y_test**2))}


def _semi_table(semi: Mapping[str, Any], results: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    rows = [{"arm": arm, "seed": seed, **results[f"ssvae-s{seed}"][arm]}
            for seed in semi["seeds"] for arm in ("semi_supervised", "supervised_only")]
    table = pd.DataFrame(rows).groupby("arm")[["accuracy", "auc"]].agg(["mean", "std"])
    table.columns = pd.Index(["_".join(map(str, c)) for c in table.columns.to_flat_index()])
    first = results[f"ssvae-s{semi['seeds'][0]}"]
    return table, {k: first[k] for k in ("n_labelled", "n_train", "test_up_share")}


# --------------------------------------------------------------------------------------------------- run
def run(config: SelectionStudyConfig, *, resume: bool = True) -> SelectionStudyResult:
    """Run the study (see the module docstring) and write its run directory.

    Parameters
    ----------
    config : SelectionStudyConfig
        Every choice of the study; validated first, before any data are read.
    resume : bool, default True
        Reuse the fits already stored in the run directory (an interrupted study continues where it stopped);
        ``False`` recomputes every fit.

    Returns
    -------
    SelectionStudyResult

    Raises
    ------
    ConfigError
        An invalid option.
    DataValidationError
        Unusable data (a user file that is not daily, lacks a ``close`` column, has missing values with
        ``missing: error``, shares too few dates with the macro series; a span with too few rows), before any fit.

    Warns
    -----
    DataWarning
        With a user file (``path``) and ``pretraining.enabled``: the pre-training experiment is skipped.

    Examples
    --------
    Two models and two seeds, without the pre-training and semi-supervised experiments:

    >>> config = SelectionStudyConfig.from_dict({"models": ["ridge", "self_attention"], "seeds": [0, 1],
    ...                                          "pretraining": {"enabled": False},
    ...                                          "semi_supervised": {"enabled": False}})
    >>> result = run(config)  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP

    A bad option fails at once:

    >>> run(SelectionStudyConfig(variant="intraday"))
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: variant must be 'close' (S&P 500 close, to 2022) or 'ohlcv' \
(open/high/low/close/volume, to 2018-12), got 'intraday'.
    """
    import time

    cfg = config
    t_start = time.perf_counter()  # the manifest's total time covers the whole run
    cfg.validate()
    pre = {**_PRETRAINING, **cfg.pretraining}
    semi = {**_SEMI, **cfg.semi_supervised}
    frame, info = study_data(cfg)
    if pre["enabled"] and cfg.path is not None:
        warnings.warn("pretraining: skipped with a user file (path): the experiment pre-trains on the bundled S&P 500 "
                      "stocks and fine-tunes on one of them, which a single price file does not provide; set "
                      "pretraining.enabled: false to silence this warning.", DataWarning, stacklevel=2)
        pre["enabled"] = False
        pre["skipped"] = "user file (path): the bundled stocks it needs are not the studied index"
    stocks = stock_data(cfg) if pre["enabled"] else None
    if stocks is not None and pre["target"] not in set(stocks["__ticker__"]):
        raise ConfigError(f"pretraining.target {pre['target']!r} is not a bundled stock; choose from "
                          f"{sorted(set(stocks['__ticker__']))}.")
    out = Path(cfg.out)
    store = out / "fits"
    store.mkdir(parents=True, exist_ok=True)
    data_path = store / "data.parquet"
    atomic_write(data_path, frame.to_parquet)
    fingerprint = _fingerprint(frame)
    tasks = [Task(key=f"{model}-s{seed}", fn=fit_selector, kwargs={
        "data_path": str(data_path), "model": model, "seed": seed, "params": dict(cfg.params.get(model, {})),
        "explain": seed == cfg.seeds[0], "data": fingerprint})
        for model in cfg.models for seed in _seeds_of(cfg, model)]
    if stocks is not None:
        stock_path = store / "stocks.parquet"
        stocks.to_parquet(stock_path)
        stock_fp = _fingerprint(stocks)
        tasks += [Task(key=f"pretrain-{model}-s{seed}", fn=pretrain_arms, kwargs={
            "data_path": str(stock_path), "model": model, "target": pre["target"], "seed": seed,
            "params": dict(cfg.params.get(model, {})), "fine_tune": dict(pre["fine_tune"]), "data": stock_fp})
            for model in pre["models"] for seed in pre["seeds"]]
    if semi["enabled"]:
        tasks += [Task(key=f"ssvae-s{seed}", fn=semi_supervised_arms, kwargs={
            "data_path": str(data_path), "seed": seed, "label_fraction": float(semi["label_fraction"]),
            "params": dict(semi["params"]), "data": fingerprint}) for seed in semi["seeds"]]
    t0 = time.perf_counter()
    results = run_tasks(tasks, executor=cfg.executor, n_jobs=cfg.n_jobs, store=store if resume else None,
                        ray_address=cfg.ray_address, progress=progress_printer(cfg.verbose))
    fit_seconds = time.perf_counter() - t0

    main = _main_tables(cfg, frame, results)
    imp = _importance_tables(cfg, frame, results)
    tables: dict[str, pd.DataFrame] = {"sharpe": main.full, "headline": main.headline}
    if not imp.global_table.empty:
        tables["global_importance"] = imp.global_table
    if imp.rank_corr is not None:
        tables["global_rank_correlation"] = imp.rank_corr
    tables.update({f"regime_{m}": t for m, t in imp.regime.items()})
    pre_notes: dict[str, float] = {}
    if stocks is not None:
        tables["pretraining"], pre_notes = _pretraining_table(cfg, pre, stocks, results)
    semi_notes: dict[str, Any] = {}
    if semi["enabled"]:
        tables["semi_supervised"], semi_notes = _semi_table(semi, results)
    spans = cfg.spans()
    metrics: dict[str, Any] = {
        "source": info["source"], "seeds": cfg.seeds, "models": cfg.models,
        "spans": {s: [str(a.date()), str(b.date())] for s, (a, b) in spans.items()},
        "rows": {s: int((frame["__split__"] == s).sum()) for s in _SPLITS}, "drop_report": info["drop_report"],
        "buy_and_hold_sharpe_test": float(main.full["sharpe_test_mean"]["buy_and_hold"]),
        "significant_vs_buy_and_hold": main.significant, "vix_threshold": imp.vix_threshold,
        "n_trials": main.n_trials, "sharpe": main.full.to_dict(orient="index"), "fit_seconds": fit_seconds,
    }
    if "skipped" in pre:
        metrics["pretraining_skipped"] = pre["skipped"]
    if "pretraining" in tables:
        metrics["pretraining"] = {"/".join(map(str, key)): row.to_dict()  # type: ignore[call-overload]
                                  for key, row in tables["pretraining"].iterrows()}
        metrics["pretraining_reference"] = pre_notes
    if "semi_supervised" in tables:
        metrics["semi_supervised"] = tables["semi_supervised"].to_dict(orient="index")
        metrics["semi_supervised_info"] = semi_notes
    _write_report(cfg, out, frame, info, main, imp, tables, pre, pre_notes, semi, semi_notes, metrics, fit_seconds,
                  t_start, fingerprint)
    return SelectionStudyResult(path=out, metrics=metrics, tables=tables)


def _write_report(cfg: SelectionStudyConfig, out: Path, frame: pd.DataFrame, info: Mapping[str, Any], main: _Main,
                  imp: _Importance, tables: Mapping[str, pd.DataFrame], pre: Mapping[str, Any],
                  pre_notes: Mapping[str, float], semi: Mapping[str, Any], semi_notes: Mapping[str, Any],
                  metrics: dict[str, Any], fit_seconds: float, started: float, fingerprint: str) -> None:
    index = "S&P 500" if cfg.path is None else Path(cfg.path).name
    run_dir = RunDirectory(out, title=f"Sample-specific feature selection — {index} next-day timing", started=started)
    run_dir.timings["fit_seconds"] = fit_seconds
    drops = info["drop_report"]
    spans = cfg.spans()
    n = metrics["rows"]
    reasons = ", ".join(f"{k[2:]}={v}" for k, v in drops.items() if k not in ("n_input", "n_rows", "n_dropped"))
    run_dir.section(
        "Set-up",
        f"Data: {info['source']}, VIX and Treasury yields; {info['n_features']} features "
        f"({len(_technical_columns(_meta_columns(frame)))} technical, lags={cfg.lags}); target: next-day return.\n"
        f"Rows dropped before the spans are cut: {drops['n_dropped']} of {drops['n_input']} ({reasons}).\n"
        + "; ".join(f"{s} {spans[s][0].date()}..{spans[s][1].date()} ({n[s]} days)" for s in _SPLITS) + ".\n"
        f"Strategy: long the index from close t to close t+1 when the predicted return > {cfg.threshold:g}, else "
        f"cash; costs {cfg.cost_bps:g} bp per unit of position change. Sharpe ratios are annualised with √252. "
        "'Sharpe' columns: cash earns 0 and rf = 0; 'T-bill' columns: cash earns the 3-month T-bill and the Sharpe "
        f"ratio is in excess of it. Models {cfg.models}; seeds {cfg.seeds} (ridge is deterministic: one fit); "
        "mean ± std are over seeds; the ensemble averages the seeds' predictions.",
    )
    verdict = (f"Significant at 5% against buy-and-hold: {main.significant}." if main.significant else
               "No model's test Sharpe differs significantly (5%) from buy-and-hold's.")
    run_dir.section(
        "Results",
        "PSR: probabilistic Sharpe ratio of the ensemble against buy-and-hold's test Sharpe, taken as known. "
        "ΔSharpe vs B&H: ensemble minus buy-and-hold test Sharpe, with the p-value of a paired stationary bootstrap "
        f"(two-sided). DSR: deflated Sharpe ratio over all {main.n_trials} (model, seed) variants tried. {verdict}",
    )
    run_dir.save_table("headline", main.headline, "Model × Sharpe ratio (√252; mean ± std over seeds) and test "
                       "statistics of the seed ensemble", floatfmt=".3f")
    run_dir.save_table("sharpe", main.full, "All metrics (per-seed mean/std and ensemble statistics)", floatfmt=".4f")
    cost = "no costs" if not cfg.cost_bps else f"{cfg.cost_bps:g} bp costs"
    run_dir.save_figure("equity", figs.plot_lines((1 + main.equity).cumprod(), logy=True,
                                                  ylabel=f"growth of 1 (cash earns 0, {cost})"),
                        "Test-span equity curves of the seed ensembles and buy-and-hold")
    if imp.per_sample:
        spread = "; ".join(
            f"{m}: mean importance {t.mean().min():.4f}–{t.mean().max():.4f} (uniform {1 / t.shape[1]:.4f}), largest "
            f"|high − low VIX| difference {imp.regime[m]['diff'].abs().max():.4f}" for m, t in imp.per_sample.items())
        run_dir.section("Sample-specific importance",
                        "Attention importance of a feature on a date: the attention it receives, summed over query "
                        "tokens, averaged over heads, layers and seeds (each row sums to 1). High-VIX days: VIX above "
                        f"the training-span median ({imp.vix_threshold:.1f}); the t-statistic of the difference uses "
                        f"Newey–West standard errors. Effect sizes: {spread}. With thousands of days, differences far "
                        "smaller than the spread between features are statistically significant; read the size first.")
        for model, table in imp.per_sample.items():
            monthly = table.groupby(pd.DatetimeIndex(table.index).to_period("M")).mean()
            run_dir.save_figure(f"importance_{model}", figs.plot_heatmap(
                monthly.T, center=None, cmap="viridis", annotate=False, title=f"{model} importance by month"),
                f"{model}: monthly mean of the per-sample importance (test span)")
            run_dir.save_table(f"regime_{model}", imp.regime[model], f"{model}: mean importance on high- vs "
                               "low-VIX test days", floatfmt=".4f")
            run_dir.save_figure(f"regime_{model}", figs.plot_bars(
                imp.regime[model][["mean_high", "mean_low"]], ylabel="mean importance",
                title=f"{model}: high vs low VIX"), f"{model}: importance by VIX regime")
    if "global_importance" in tables:
        run_dir.save_table("global_importance", tables["global_importance"], "Global rankings on the test span: "
                           "mean attention importance, LightGBM permutation importance (MDA, ΔMSE) and mean |SHAP|, "
                           "ridge |coefficient| (standardised features)", floatfmt=".3g")
    if "global_rank_correlation" in tables:
        run_dir.save_table("global_rank_correlation", tables["global_rank_correlation"],
                           "Spearman correlation of the global rankings", floatfmt=".2f")
    if "pretraining" in tables:
        run_dir.section("Pre-training", f"Target {pre['target']}: long/cash on the stock, cash earns 0, √252; "
                        f"buy-and-hold Sharpe {pre_notes['buy_and_hold_sharpe']:.2f}, test MSE of a zero forecast "
                        f"{pre_notes['zero_forecast_mse_1e4']:.3f}e-4. Arms: target_only = trained on the target "
                        "alone; "
                        "pretrained = trained on the other bundled stocks (same feature recipe), applied as is; "
                        "fine_tuned = pre-trained, then trained further on the target (vae_features: the pre-trained "
                        f"VAE is kept and the prediction head fine-tuned). Seeds {pre['seeds']}.")
        run_dir.save_table("pretraining", tables["pretraining"], "Test MSE (×1e-4), Sharpe and hit rate, mean and "
                           "std over seeds", floatfmt=".3f")
        run_dir.save_figure("pretraining", figs.plot_bars(tables["pretraining"]["sharpe_test_mean"].unstack("arm"),
                                                          ylabel="test Sharpe (cash earns 0, √252)"),
                            "Pre-training comparison")
    if "semi_supervised" in tables:
        run_dir.section("Semi-supervised VAE", f"Up/down next day with {semi['label_fraction']:.0%} of the "
                        f"training labels ({semi_notes['n_labelled']} of {semi_notes['n_train']} days); the "
                        "supervised-only arm is the same classifier network trained on the labelled days alone "
                        "(same number of optimisation steps). Share of up days in the test span: "
                        f"{semi_notes['test_up_share']:.3f} (the accuracy of always predicting up). "
                        f"Seeds {semi['seeds']}.")
        run_dir.save_table("semi_supervised", tables["semi_supervised"], "Test accuracy and AUC, mean and std over "
                           "seeds", floatfmt=".3f")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run_dir.finish(config=cfg.to_dict(), metrics=metrics, manifest={
            "data_source": info["source"], "data_fingerprint": fingerprint,
            "config_hash": hashlib.sha256(repr(cfg.to_dict()).encode()).hexdigest()[:16]})
