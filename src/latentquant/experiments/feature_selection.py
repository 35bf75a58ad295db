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

import functools
import inspect
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentquant._io import atomic_write
from latentquant.exceptions import ConfigError, DataWarning
from latentquant.executors import Task, run_tasks
from latentquant.experiments._selection_config import (
    _PRETRAINING,
    _SEMI,
    MODEL_NAMES,
    SelectionStudyConfig,
    SelectionStudyResult,
)
from latentquant.experiments._selection_config import _seeds_of as _seeds_of
from latentquant.experiments._selection_data import SPLITS as _SPLITS
from latentquant.experiments._selection_data import (
    _fingerprint,
    _meta_columns,
    _technical_columns,
    stock_data,
    study_data,
)
from latentquant.experiments._selection_report import _write_report
from latentquant.experiments._selection_tables import PPY as PPY
from latentquant.experiments._selection_tables import _importance_tables, _main_tables, _pretraining_table, _semi_table
from latentquant.experiments._selection_tables import _seed_metrics as _seed_metrics
from latentquant.experiments._tasks import progress_printer
from latentquant.models.selection import SELECTION_MODELS, LightGBMBaseline, RidgeBaseline, VAEFeatures

__all__ = ["MODEL_NAMES", "SelectionStudyConfig", "SelectionStudyResult", "run", "study_data"]

_TECHNICAL_ONLY = ("vae_features",)  # compresses the technical indicators alone (the macro series stay out)


@functools.lru_cache(maxsize=2)
def _read(path: str) -> pd.DataFrame:
    return pd.read_parquet(path)


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
