"""Tables, metrics and report sections of the synthetic-data study and of ``synth evaluate`` (one writer for both)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from latentquant.evaluation.synthetic import SyntheticReport
from latentquant.reports import RunDirectory
from latentquant.reports import synthetic_figures as sfigs

__all__ = ["fmt_mean_std", "score_metrics", "write_scores"]


def fmt_mean_std(mean: float, std: float) -> str:
    """``mean ± std`` with 4 decimals (the mean alone when the spread is undefined)."""
    return f"{mean:.4f}" if not np.isfinite(std) else f"{mean:.4f} ± {std:.4f}"


def _score_tables(reports: dict[str, SyntheticReport]) -> tuple[pd.DataFrame, pd.DataFrame]:
    headline = ["disc_auc", "disc_score", "tstr_mae", "trtr_mae", "tstr_trtr_ratio", "w1_1", "w1_5", "ks_stat",
                "acf_abs_score", "leverage_score", "mmd2", "mmd_pvalue", "corr_distance"]
    described = {name: r.describe().to_dict(orient="index") for name, r in reports.items()}
    scores = pd.DataFrame({name: {k: fmt_mean_std(float(d[k]["mean"]), float(d[k]["std"])) for k in headline if k in d}
                           for name, d in described.items()}).T
    keys = ["disc_auc", "tstr_trtr_ratio", "w1_1"]
    quartiles = pd.DataFrame({name: {f"{k} {q}": float(d[k][q]) for k in keys for q in ("25%", "50%", "75%")}
                              for name, d in described.items()}).T
    return scores, quartiles


def _window_facts(reports: dict[str, SyntheticReport]) -> pd.DataFrame:
    first = next(iter(reports.values()))
    table = pd.DataFrame({"real: test windows": first.real_facts["estimate"],
                          **{k: r.synthetic_facts["estimate"] for k, r in reports.items()}})
    table.index = [fact for fact, _ in table.index]
    return table


def score_metrics(reports: dict[str, SyntheticReport], n_draws: int) -> dict[str, Any]:
    """Mean and std over the draws of every headline metric, per synthetic set (for ``metrics.json``)."""
    return {"generators": {name: {k: float(v) for k, v in r.headline().items()} for name, r in reports.items()},
            "generators_std": {name: {k: float(r.per_draw[k].std(ddof=1)) if n_draws > 1 else float("nan")
                                      for k in r.headline().index} for name, r in reports.items()}}


def write_scores(run_dir: RunDirectory, reports: dict[str, SyntheticReport], test_w: np.ndarray,
                 first_draws: dict[str, np.ndarray], ret_name: str, seed: int) -> dict[str, pd.DataFrame]:
    """The scores section: tables of scores, quartiles and window facts, and the PCA/t-SNE overlays."""
    scores, quartiles = _score_tables(reports)
    window_facts = _window_facts(reports)
    run_dir.section("Scores", "Mean ± std over the draws. disc_auc: AUC of a GRU classifier real vs synthetic on a "
                    "time-blocked 80/20 split of each set (0.5 = indistinguishable); tstr/trtr: MAE of a GRU "
                    "predicting the last step from the first L−1, trained on synthetic vs on real, tested on real "
                    "test windows (standardised units); w1_h: Wasserstein-1 of h-day returns; ks_stat: "
                    "Kolmogorov–Smirnov; acf_abs_score / leverage_score: QuantGAN's distances between ACFs within "
                    "windows; mmd2 / mmd_pvalue: kernel two-sample test of whole windows (standardised).")
    run_dir.save_table("scores", scores, "Scores against the held-out test windows (mean ± std over draws)")
    run_dir.save_table("scores_quartiles", quartiles, "Quartiles over the draws")
    run_dir.save_table("window_facts", window_facts, f"Stylized facts of {ret_name} within the windows (pooled)")
    for method in ("pca", "tsne"):
        coords = sfigs.embed_windows(test_w, first_draws, method=method, seed=seed)
        run_dir.save_figure(f"overlay_{method}", sfigs.plot_embedding_overlay(coords, title=method.upper()),
                            f"{method.upper()} of whole windows (standardised): real test windows (black) vs one "
                            "draw of each synthetic set")
    return {"scores": scores, "scores_quartiles": quartiles, "window_facts": window_facts}
