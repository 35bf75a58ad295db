"""Tables and run directory of the asset-pricing study: the test-window predictions of every fit pooled into the
R², pricing-error and importance tables, and the report written from them (sections, tables, figures, metrics and
manifest)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from latentquant.data import portfolio_level
from latentquant.evaluation import count_significant, pricing_errors, total_r2
from latentquant.experiments import _pricing_data as data_io
from latentquant.reports import RunDirectory
from latentquant.reports import figures as figs

if TYPE_CHECKING:
    from latentquant.data import Panel, YearlyWindow
    from latentquant.experiments.asset_pricing import PricingStudyConfig

__all__ = ["pool_tables", "write_report"]


def pool_tables(cfg: PricingStudyConfig, panel: Panel, windows: Sequence[YearlyWindow], dates: pd.Index,
                models: Sequence[str], results: Mapping[str, Any], key: Callable[[int, str, int, int], str],
                seeds_of: Callable[[str], list[int]],
                ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], pd.Series]:
    """Pool the test-span predictions of every fit over the windows and tabulate them.

    Parameters
    ----------
    cfg : PricingStudyConfig
        The study's (validated) configuration: its ``k_grid`` and ``seeds``.
    panel : Panel
        The study's panel.
    windows : sequence of YearlyWindow
        The test windows, in order.
    dates : pandas.Index
        The month of every row of ``panel`` (the first level of its index).
    models : sequence of str
        The models that were fitted.
    results : mapping
        ``{task key: result of fit_window}``, as returned by :func:`~latentquant.executors.run_tasks`.
    key : callable
        ``key(window index, model, k, seed)``: the key of a fit's task.
    seeds_of : callable
        ``seeds_of(model)``: the seeds the model was fitted with.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        The R² tables (models × ``K=k``, percent; with several seeds also their ``*_std``), ``significant_alphas``
        and, when any fit computed it, ``importance``.
    alphas : dict of str to pandas.DataFrame
        Each model's pricing errors of the managed portfolios at its largest K, with their mean realised and fitted
        returns.
    r : pandas.Series
        The returns of the pooled test months.
    """
    test_mask = np.zeros(len(panel.returns), bool)
    for w in windows:
        test_mask |= w.masks(dates)[2]
    test_panel = panel.select(test_mask)
    r = test_panel.returns
    x = portfolio_level(test_panel, r)
    levels = ("total_stock", "pred_stock", "total_port", "pred_port")
    per_seed: dict[str, dict[str, dict[int, list[float]]]] = {lvl: {} for lvl in levels}
    alphas: dict[str, pd.DataFrame] = {}
    importance: dict[str, pd.Series] = {}
    for model in models:
        ks = [k for k in cfg.k_grid if key(0, model, k, seeds_of(model)[0]) in results]
        for k in ks:
            for seed in seeds_of(model):
                keys = [key(i, model, k, seed) for i in range(len(windows))]
                fitted = pd.concat([results[kk]["fitted"] for kk in keys]).reindex(r.index)
                predicted = pd.concat([results[kk]["predicted"] for kk in keys]).reindex(r.index)
                xf, xp = portfolio_level(test_panel, fitted), portfolio_level(test_panel, predicted)
                for lvl, value in zip(levels, (total_r2(r, fitted), total_r2(r, predicted), total_r2(x, xf),
                                               total_r2(x, xp)), strict=True):
                    per_seed[lvl].setdefault(model, {}).setdefault(k, []).append(100 * value)
                if k == max(ks) and seed == cfg.seeds[0]:  # headline K (FF: its largest K)
                    alphas[model] = pricing_errors(x - xf).assign(mean_return=x.mean(), mean_fitted=xf.mean())
                    last = results[keys[-1]].get("importance")
                    if last is not None:
                        importance[model] = last

    def table(lvl: str, stat: str) -> pd.DataFrame:
        agg = {m: {k: (float(np.mean(v)) if stat == "mean" else float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
                   for k, v in by_k.items()} for m, by_k in per_seed[lvl].items()}
        return pd.DataFrame(agg).T.rename_axis("model").rename(columns=lambda k: f"K={k}")

    names = {"total_stock": "total_r2_stock", "pred_stock": "predictive_r2_stock",
             "total_port": "total_r2_portfolio", "pred_port": "predictive_r2_portfolio"}
    tables = {names[lvl]: table(lvl, "mean") for lvl in levels}
    if len(cfg.seeds) > 1:
        tables.update({f"{names[lvl]}_std": table(lvl, "std") for lvl in levels})
    significant = pd.Series({m: count_significant(a) for m, a in alphas.items()}, name="|t| > 3")
    tables["significant_alphas"] = significant.to_frame()
    imp = pd.DataFrame(importance)
    if not imp.empty:
        clipped = imp.clip(lower=0)
        imp_norm = clipped / clipped.sum().replace(0, np.nan)
        tables["importance"] = imp_norm
    return tables, alphas, r


def write_report(cfg: PricingStudyConfig, *, out: Path, source: str, t_start: float, fit_seconds: float,
                 panel: Panel, windows: Sequence[YearlyWindow], models: list[str], tables: dict[str, pd.DataFrame],
                 alphas: dict[str, pd.DataFrame], r: pd.Series, n_tasks: int, data_report: dict[str, Any],
                 fingerprint: str) -> dict[str, Any]:
    """Write the study's run directory (sections, tables, figures, ``metrics.json``, manifest and report).

    Parameters
    ----------
    cfg : PricingStudyConfig
        The study's (validated) configuration.
    out : pathlib.Path
        The run directory.
    source : str
        The data source, as shown in the report's title.
    t_start : float
        :func:`time.perf_counter` at the start of the run (the manifest's total time covers the whole run).
    fit_seconds : float
        Wall time of the fits.
    panel : Panel
        The study's panel.
    windows : sequence of YearlyWindow
        The test windows, in order.
    models : list of str
        The models that were fitted.
    tables, alphas, r
        What :func:`pool_tables` returned.
    n_tasks : int
        The number of fits.
    data_report : dict
        What the data loader reported (files, units, missing values), for the report and the manifest.
    fingerprint : str
        The fingerprint of the panel, for the manifest.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    k_head = max(cfg.k_grid)
    run_dir = RunDirectory(out, title=f"Asset-pricing study — {source}", started=t_start)
    run_dir.timings["fit_seconds"] = fit_seconds
    first, last = windows[0], windows[-1]
    run_dir.section(
        "Set-up",
        f"Data: {source}; {panel.n_assets} assets, {panel.n_periods} months, {panel.characteristics.shape[1]} "
        f"characteristics (ranked to [−1, 1] each month{', plus a constant' if cfg.add_constant else ''}).\n"
        f"Protocol: {len(windows)} {cfg.scheme} windows with refits every {cfg.refit_every} year(s); first window "
        f"trains on {first.train[0]}–{first.train[1]}, validates on {first.validation}, tests {first.test[0]}; the "
        f"last tests {last.test[0]}–{last.test[1]}. Models {models}, K = {cfg.k_grid}. Neural models (CA, CVAE) "
        f"are fitted with seeds {cfg.seeds}: tables show the mean over seeds, the *_std tables the dispersion "
        "(std over seeds); alphas and importance use the first seed.\n"
        "R² are uncentred and pooled over all test (asset, month) cells, in %. Predictive R² replaces f̂_t by the "
        "running mean of the model's factors up to t−1. Portfolio level: characteristic-managed portfolios "
        "(Z'Z)⁻¹Z'r of the test months and their model-implied counterparts. The conditional VAE uses its prior "
        "factors throughout (no information from the test month)."
        + (f"\n{data_io.report_lines(data_report)}" if data_report else ""),
    )
    run_dir.section("Total R²")
    run_dir.save_table("total_r2_stock", tables["total_r2_stock"], "Total R² (%), individual stocks", floatfmt=".2f")
    run_dir.save_table("total_r2_portfolio", tables["total_r2_portfolio"], "Total R² (%), managed portfolios",
                       floatfmt=".2f")
    if "total_r2_stock_std" in tables:
        run_dir.save_table("total_r2_stock_std", tables["total_r2_stock_std"],
                           f"Std over seeds {cfg.seeds} of the stock-level total R² (percentage points)",
                           floatfmt=".2f")
        run_dir.save_table("predictive_r2_stock_std", tables["predictive_r2_stock_std"],
                           "Std over seeds of the stock-level predictive R² (percentage points)", floatfmt=".3f")
    def by_k(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.T.rename(index=lambda s: int(str(s)[2:]))

    std = tables.get("total_r2_stock_std")
    run_dir.save_figure("r2_vs_k", figs.plot_metric_curves(by_k(tables["total_r2_stock"]),
                                                           by_k(std) if std is not None else None,
                                                           xlabel="number of factors K", ylabel="total R² (%), stocks"),
                        "Total R² against K, individual stocks (error bars: ±1 std over seeds)")
    run_dir.section("Predictive R²")
    run_dir.save_table("predictive_r2_stock", tables["predictive_r2_stock"], "Predictive R² (%), individual stocks",
                       floatfmt=".3f")
    run_dir.save_table("predictive_r2_portfolio", tables["predictive_r2_portfolio"],
                       "Predictive R² (%), managed portfolios", floatfmt=".3f")
    run_dir.section("Pricing errors", f"Alphas of the managed portfolios at K={k_head} (FF: its largest K), "
                                      "Newey–West t-statistics over the pooled test months.")
    run_dir.save_table("significant_alphas", tables["significant_alphas"], "Number of portfolios with |t| > 3")
    if alphas:
        run_dir.save_figure("alphas", figs.plot_alpha_scatter(alphas), "Mean realised vs model-implied portfolio "
                            "returns; filled markers: |t| > 3")
    if "importance" in tables:
        run_dir.section("Characteristic importance", "Drop in total R² on the last test window when one "
                                                     "characteristic is set to 0, normalised to sum to 1 per model "
                                                     "(negative drops clipped at 0).")
        run_dir.save_table("importance", tables["importance"], "Characteristic importance", floatfmt=".3f")
        run_dir.save_figure("importance", figs.plot_heatmap(tables["importance"], center=None, cmap="Blues",
                                                            title="characteristic importance"),
                            "Importance heat map (characteristics × models)")
    metrics = {
        "windows": [asdict(w) for w in windows], "models": models, "k_grid": cfg.k_grid,
        **{name: table.to_dict() for name, table in tables.items() if name != "importance"},
        "n_tasks": n_tasks, "fit_seconds": fit_seconds, "data_report": data_report,
    }
    if cfg.data == "simulated":
        sim_r = r.to_numpy()
        metrics["note"] = "simulated data: compare with the oracle R² of the data-generating process"
        metrics["test_return_rms"] = float(np.sqrt((sim_r**2).mean()))
    report = run_dir.finish(config=cfg.to_dict(), metrics=metrics,
                            manifest={"data_source": source, "data_fingerprint": fingerprint,
                                      "data_report": data_report,
                                      "config_hash": hashlib.sha256(repr(cfg.to_dict()).encode()).hexdigest()[:16]})
    assert report.exists()

    return metrics
