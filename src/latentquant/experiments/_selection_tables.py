"""The aggregation of the feature-selection study's fits into its tables: Sharpe ratios, importance, pre-training
and semi-supervised arms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from latentquant.exceptions import DataValidationError
from latentquant.experiments._selection_config import SelectionStudyConfig, _seeds_of
from latentquant.models.selection import SELECTION_MODELS

PPY = 252


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

