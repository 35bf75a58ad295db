"""``latentquant synth …``: evaluate synthetic market windows and run the baseline generators. The commands are
registered (with the error handling of every command) on the main app by :mod:`latentquant.cli`."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["synth_baselines", "synth_evaluate", "synth_run"]


def synth_baselines(
    config: Path | None = typer.Option(None, help="YAML study config (see configs/synth_baselines.yaml)."),
    data: str | None = typer.Option(None, help="Bundled dataset (default spx_generation; fx_usd with "
                                                "--log-returns)."),
    path: Path | None = typer.Option(None, help="Your file of features (a date column + one column per feature)."),
    log_returns: bool | None = typer.Option(None, "--log-returns/--no-log-returns",
                                            help="Take log differences of the series first (rates, prices)."),
    length: int | None = typer.Option(None, min=2, help="Window length in days (default 20)."),
    draws: int | None = typer.Option(None, "--draws", min=1, help="Synthetic draws per generator (default 50)."),
    generators: str | None = typer.Option(None, help="Comma-separated generator names (default: all baselines)."),
    epochs: int | None = typer.Option(None, min=1, help="Epochs of the post-hoc networks (default 20)."),
    seed: int | None = typer.Option(None, min=0, help="Seed (same seed → same numbers)."),
    out: Path | None = typer.Option(None, help="Run directory (default runs/synth)."),
    fresh: bool = typer.Option(False, "--fresh", help="Recompute every fit instead of resuming finished ones."),
) -> None:
    """Fit the baseline generators (bootstrap, block bootstrap, Gaussian, GARCH-t) on the training span and score
    their draws against the held-out test windows; writes tables, figures and report.html."""
    from latentquant.cli import _read_yaml
    from latentquant.experiments.synthetic import SynthStudyConfig, run

    raw = _read_yaml(config) if config is not None else {}
    if path is not None:
        raw["path"], raw["data"] = str(path), None
    options = {"data": data, "log_returns": log_returns, "length": length, "n_draws": draws, "epochs": epochs,
               "seed": seed, "out": str(out) if out else None,
               "generators": [g.strip() for g in generators.split(",") if g.strip()] if generators else None}
    raw.update({k: v for k, v in options.items() if v is not None})
    result = run(SynthStudyConfig.from_dict(raw), resume=not fresh)
    typer.echo(result.summary())


def synth_run(
    config: Path = typer.Option(..., help="YAML study config (e.g. configs/synth_spx.yaml)."),
    data: str | None = typer.Option(None, help="Another bundled dataset (e.g. fx_usd with --log-returns "
                                                "--return-feature AUD)."),
    log_returns: bool | None = typer.Option(None, "--log-returns/--no-log-returns",
                                            help="Take log differences of the series first (rates, prices)."),
    return_feature: str | None = typer.Option(None, help="Name of the returns feature."),
    executor: str | None = typer.Option(None, help="serial | local (processes) | ray."),
    n_jobs: int | None = typer.Option(None, min=1, help="Worker processes for --executor local."),
    draws: int | None = typer.Option(None, "--draws", min=1, help="Synthetic draws per generator."),
    epochs: int | None = typer.Option(None, min=1, help="Epochs of the post-hoc networks."),
    out: Path | None = typer.Option(None, help="Run directory (default: the config's out)."),
    fresh: bool = typer.Option(False, "--fresh", help="Recompute every fit instead of resuming finished ones."),
) -> None:
    """Fit every generator of the config (deep models and baselines) with each training seed and score their draws
    against the held-out test windows; finished fits are kept in OUT/fits, so re-running resumes."""
    from latentquant.cli import _read_yaml
    from latentquant.experiments.synthetic import SynthStudyConfig, run

    raw = _read_yaml(config)
    options = {"data": data, "log_returns": log_returns, "return_feature": return_feature, "executor": executor,
               "n_jobs": n_jobs, "n_draws": draws, "epochs": epochs, "out": str(out) if out else None}
    raw.update({k: v for k, v in options.items() if v is not None})
    result = run(SynthStudyConfig.from_dict(raw), resume=not fresh)
    typer.echo(result.summary())


def synth_evaluate(
    real: str = typer.Option(..., help="Bundled dataset name or your CSV/Parquet file of the real series."),
    synthetic: Path = typer.Option(..., help=".npy/.npz array (n, L, F) or (draws, n, L, F), or a long Parquet "
                                             "table (window, step[, draw], one column per feature)."),
    draws: int | None = typer.Option(None, "--draws", min=1, help="Draws to score (default: all in the file)."),
    columns: str | None = typer.Option(None, help="Comma-separated real features, in the synthetic order."),
    log_returns: bool = typer.Option(False, "--log-returns", help="Take log differences of the real series."),
    return_feature: str = typer.Option("0", help="Name or position of the returns feature."),
    test_size: float = typer.Option(0.2, min=0.01, max=0.99, help="Share of the real rows in the test span."),
    epochs: int | None = typer.Option(None, min=1, help="Epochs of the post-hoc networks (default 20)."),
    convention: str = typer.Option("latentquant", help="latentquant | timegan (post-hoc network conventions)."),
    seed: int = typer.Option(0, min=0, help="Seed (same seed → same numbers)."),
    out: Path = typer.Option(Path("runs/synth-evaluate"), help="Run directory."),
) -> None:
    """Score your synthetic windows against the held-out real windows: discriminative and predictive scores,
    distances, stylized facts; writes tables, figures and report.html."""
    from latentquant.experiments.synthetic import evaluate_file

    feature: str | int = int(return_feature) if return_feature.isdigit() else return_feature
    result = evaluate_file(real, str(synthetic), n_draws=draws, test_size=test_size, log_returns=log_returns,
                           columns=[c.strip() for c in columns.split(",")] if columns else None,
                           return_feature=feature, seed=seed, epochs=epochs, convention=convention, out=str(out))
    typer.echo(result.summary())
