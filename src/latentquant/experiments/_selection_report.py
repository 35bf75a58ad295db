"""The run directory of the feature-selection study: its report sections, tables, figures and manifest."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from latentquant.experiments._selection_config import SelectionStudyConfig
from latentquant.experiments._selection_data import SPLITS as _SPLITS
from latentquant.experiments._selection_data import _meta_columns, _technical_columns
from latentquant.experiments._selection_tables import _Importance, _Main
from latentquant.reports import RunDirectory
from latentquant.reports import figures as figs


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
