"""The ``latentquant`` command line.

User errors (bad data, bad options, missing files) print one line ``error: ...`` to stderr and exit with status 2;
no traceback. The CLI only parses arguments and calls library functions: no maths here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer

# the factors helpers are re-exported: they stay importable from latentquant.cli
from latentquant._cli_factors import (  # noqa: F401
    _CSV_HELP,
    _DATA_HELP,
    _INPUT_HELP,
    _MIN_HISTORY_HELP,
    _MISSING_HELP,
    _VALUE_COLUMN_HELP,
    _check_out,
    _date_pair,
    _fixed,
    _load_factor_model,
    _pair,
    _study_returns,
    _write_frame,
    factors_fit,
    factors_report,
    factors_risk,
    factors_scenarios,
)
from latentquant._cli_synth import synth_baselines, synth_evaluate, synth_run
from latentquant.exceptions import LatentQuantError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Generative and latent-variable models for quantitative finance.")
datasets_app = typer.Typer(no_args_is_help=True, help="Bundled real datasets: list them, show one.")
vae_app = typer.Typer(no_args_is_help=True, help="Variational autoencoders on return data.")
factors_app = typer.Typer(no_args_is_help=True,
                          help="VAE factor model: fit, scenarios, risk decomposition, full report.")
app.add_typer(datasets_app, name="datasets")
app.add_typer(vae_app, name="vae")
app.add_typer(factors_app, name="factors")
price_app = typer.Typer(no_args_is_help=True,
                        help="Asset pricing: FF, PCA, IPCA, CA0–CA3, conditional VAE under a rolling protocol.")
app.add_typer(price_app, name="price")
select_app = typer.Typer(no_args_is_help=True,
                         help="Sample-specific feature selection for next-day return prediction (S&P 500 study).")
app.add_typer(select_app, name="select")

F = TypeVar("F", bound=Callable[..., Any])


_DEBUG = {"on": False}  # set by the root command's --debug on every invocation


def _user_errors(func: F) -> F:
    """Turn library errors into one clear line on stderr and exit status 2; anything else is an internal error:
    one line asking for a report and exit status 1 (the full traceback with ``--debug``)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (LatentQuantError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None
        except Exception as exc:
            if isinstance(exc, typer.Exit | typer.Abort | typer.TyperException) or _DEBUG["on"]:
                raise
            detail = " ".join(str(exc).split())
            typer.echo(f"error: internal error ({type(exc).__name__}: {detail}); please report it to the "
                       "maintainers; rerun with --debug for the traceback", err=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise LatentQuantError(f"{option} must be comma-separated integers such as '0,1,2', got {text!r}.") from None
    return values


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Library warnings on the command line: one ``warning: ...`` line on stderr, without Python source lines."""
    typer.echo(f"warning: {' '.join(str(message).split())}", err=True)


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an internal error instead of one "
                                                      "line, and warnings with their source lines."),
    threads: int | None = typer.Option(
        None, "--threads", min=1, max=4096,
        help="Threads (torch, BLAS) per fit; default: LATENTQUANT_NUM_THREADS, else 1. Studies use the cores by "
             "running fits side by side (--n-jobs); more threads can speed up large networks, but the numbers may "
             "then differ in the last digits from a run with another thread count."),
) -> None:
    """latentquant command line."""
    import warnings

    from latentquant._threads import THREADS_ENV, fit_threads, set_process_threads

    _DEBUG["on"] = debug
    if not debug:
        warnings.showwarning = _show_warning
    try:
        n = threads if threads is not None else fit_threads()
    except LatentQuantError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    os.environ[THREADS_ENV] = str(n)  # worker processes of the studies inherit it
    set_process_threads(n)


@datasets_app.command("list")
@_user_errors
def datasets_list() -> None:
    """List the bundled datasets with their coverage."""
    import pandas as pd

    from latentquant.datasets import list_datasets

    table = list_datasets()
    for col in ("start", "end"):  # an undated set (timegan_stocks: rows are steps) shows "—"
        table[col] = [str(v)[:10] if not pd.isna(v) else "—" for v in table[col]]
    with_index = table.set_index("name")[["frequency", "start", "end", "rows", "columns", "title"]]
    typer.echo(with_index.to_string())


@datasets_app.command("show")
@_user_errors
def datasets_show(name: str = typer.Argument(..., help="Dataset name, see `latentquant datasets list`."),
                  head: int = typer.Option(5, help="Rows to print from the start of the data.")) -> None:
    """Describe one dataset: coverage, columns, units, source and licence."""
    from latentquant.datasets import dataset_info

    info = dataset_info(name)
    typer.echo(info.describe())
    if head > 0:
        typer.echo("")
        typer.echo(info.load().head(head).to_string())


@vae_app.command("fit")
@_user_errors
def vae_fit(
    data: str | None = typer.Option(None, help="Bundled dataset name (e.g. sp500_stocks)."),
    csv: Path | None = typer.Option(None, help="Your wide CSV/Parquet file: a date column + one column per asset."),
    returns: bool = typer.Option(False, "--returns", help="The file holds returns (default: prices)."),
    missing: str | None = typer.Option(None, help=_MISSING_HELP),
    min_history: int | None = typer.Option(None, min=2, help=_MIN_HISTORY_HELP),
    value_column: str | None = typer.Option(None, help=_VALUE_COLUMN_HELP),
    latent: int = typer.Option(5, help="Latent dimension K."),
    beta: float = typer.Option(1.0, help="Weight β of the KL term."),
    epochs: int = typer.Option(300, help="Maximum epochs (early stopping on the last 20% of the training span)."),
    hidden: str = typer.Option("64,32", "--hidden-dims", "--hidden",
                               help="Encoder hidden widths, comma-separated (--hidden: the old spelling)."),
    train_end: str = typer.Option("2015-12-31", help="Last date of the training span."),
    test_start: str | None = typer.Option(None, help="First test date (default: the day after --train-end)."),
    test_end: str | None = typer.Option(None, help="Last test date (default: end of data)."),
    seeds: str = typer.Option("0,1,2", help="Seeds, comma-separated; results are reported as mean ± std."),
    batch_size: int = typer.Option(128, help="Mini-batch size."),
    lr: float = typer.Option(1e-3, help="Adam learning rate."),
    scenarios: int = typer.Option(20000, help="Number of scenarios drawn for the scenario-quality table."),
    out: Path = typer.Option(Path("runs/vae"), help="Run directory to write."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
) -> None:
    """Fit a β-VAE to daily log returns and write a run directory with report.html."""
    from latentquant.experiments.vae_returns import VAEReturnsConfig, run

    if (data is None) == (csv is None):
        raise LatentQuantError("Give exactly one of --data NAME (see `latentquant datasets list`) or --csv PATH.")
    config = VAEReturnsConfig(
        data=data, path=str(csv) if csv is not None else None, input="returns" if returns else "prices",
        missing=missing, min_history=min_history, value_column=value_column,
        train_end=train_end, test_start=test_start, test_end=test_end, latent_dim=latent,
        hidden_dims=_int_list(hidden, "--hidden-dims"), beta=beta, epochs=epochs, batch_size=batch_size, lr=lr,
        seeds=_int_list(seeds, "--seeds"), n_scenarios=scenarios, out=str(out),
        verbose=False if quiet else None,
    )
    result = run(config)
    typer.echo(result.summary())


# the factors commands live in _cli_factors.py
factors_app.command("fit")(_user_errors(factors_fit))
factors_app.command("scenarios")(_user_errors(factors_scenarios))
factors_app.command("risk")(_user_errors(factors_risk))
factors_app.command("report")(_user_errors(factors_report))


def _read_yaml(path: Path) -> dict[str, Any]:
    """The mapping of study options in the YAML file ``path``; every problem is one :class:`ConfigError` line."""
    import yaml

    from latentquant.exceptions import ConfigError

    if path.is_dir():
        raise ConfigError(f"--config {path} is a directory; give the path of a YAML file.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: file not found; check the path.") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) >= 2 and (data[0] == 0) != (data[1] == 0)):
        raise ConfigError(f"--config {path} is UTF-16 encoded text; save it as UTF-8 (plain text) and retry.")
    if b"\x00" in data:
        raise ConfigError(f"--config {path} is a binary file (it holds NUL bytes), not a YAML text file; "
                          "give the path of a UTF-8 YAML config.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"--config {path} is not UTF-8 text (undecodable byte at offset {exc.start}); "
                          "save it as UTF-8 YAML and retry.") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path} is not valid YAML{where}: {problem}.") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of study options (key: value lines), "
                          f"got a {type(raw).__name__} at the top level.")
    return raw


@price_app.command("run")
@_user_errors
def price_run(
    config: Path | None = typer.Option(None, help="YAML study config (see configs/pricing_simulated.yaml)."),
    panel: Path | None = typer.Option(None, help="A CRSP/GKX-layout panel file (permno, date, ret, "
                                                 "characteristics…); overrides the config's data."),
    return_col: str | None = typer.Option(None, help="Return column of --panel (default: ret)."),
    id_col: str | None = typer.Option(None, help="Asset id column of --panel (default: permno)."),
    date_col: str | None = typer.Option(None, help="Date column of --panel (default: date)."),
    return_unit: str | None = typer.Option(None, help="auto (default: percent when the median |return| > 0.2) | "
                                                      "decimal | percent."),
    file_lag: int | None = typer.Option(None, help="Months the characteristics of --panel are lagged."),
    factors_path: Path | None = typer.Option(None, help="CSV/Parquet of observable factor returns (date, Mkt-RF, "
                                                        "SMB, HML…) so the FF model runs on --panel."),
    factors_return_unit: str | None = typer.Option(None, help="auto | decimal | percent, for --factors-path."),
    executor: str | None = typer.Option(None, help="serial | local (processes, default) | ray."),
    n_jobs: int | None = typer.Option(None, help="Worker processes for --executor local."),
    ray_address: str | None = typer.Option(None, help="Ray cluster address (default: a local Ray instance)."),
    out: Path | None = typer.Option(None, help="Run directory (default: the config's out, else runs/pricing)."),
    fresh: bool = typer.Option(False, "--fresh", help="Recompute every fit instead of resuming finished ones."),
) -> None:
    """Run the asset-pricing study; finished fits are kept in OUT/fits, so re-running resumes."""
    from latentquant.experiments.asset_pricing import PricingStudyConfig, run

    raw = _read_yaml(config) if config is not None else {}
    for key, value in (("data", str(panel) if panel is not None else None), ("return_col", return_col),
                       ("id_col", id_col), ("date_col", date_col), ("return_unit", return_unit),
                       ("file_lag", file_lag), ("factors_path", str(factors_path) if factors_path else None),
                       ("factors_return_unit", factors_return_unit), ("executor", executor),
                       ("n_jobs", n_jobs), ("ray_address", ray_address), ("out", str(out) if out else None)):
        if value is not None:
            raw[key] = value
    result = run(PricingStudyConfig.from_dict(raw), resume=not fresh)
    typer.echo(result.summary())


@price_app.command("portfolios")
@_user_errors
def price_portfolios(
    config: Path | None = typer.Option(None, help="YAML study config (see configs/ff_portfolios.yaml)."),
    out: Path | None = typer.Option(None, help="Run directory (default: the config's out, else "
                                               "runs/ff-portfolios)."),
) -> None:
    """The 30 bundled Fama–French test portfolios: FF vs PCA vs a VAE factor model (total R², alphas, GRS)."""
    from latentquant.experiments.ff_portfolios import FFPortfoliosConfig, run

    raw = _read_yaml(config) if config is not None else {}
    if out is not None:
        raw["out"] = str(out)
    result = run(FFPortfoliosConfig.from_dict(raw))
    typer.echo(result.summary())


@select_app.command("run")
@_user_errors
def select_run(
    config: Path | None = typer.Option(None, help="YAML study config (see configs/spx_feature_selection.yaml)."),
    path: Path | None = typer.Option(None, help="Your daily price file (date, close; high, low, volume for the "
                                                "ohlcv variant) instead of the bundled S&P 500."),
    missing: str | None = typer.Option(None, help="error (default) | drop: rows of --path with missing values."),
    executor: str | None = typer.Option(None, help="serial | local (processes, default) | ray."),
    n_jobs: int | None = typer.Option(None, help="Worker processes for --executor local."),
    out: Path | None = typer.Option(None, help="Run directory (default: the config's out, else "
                                               "runs/feature-selection)."),
    fresh: bool = typer.Option(False, "--fresh", help="Recompute every fit instead of resuming finished ones."),
) -> None:
    """Feature selection for S&P 500 next-day timing: attention models, VAE features and baselines over many seeds,
    pre-training on peer stocks, semi-supervised VAE; finished fits are kept in OUT/fits, so re-running resumes."""
    from latentquant.experiments.feature_selection import SelectionStudyConfig, run

    raw = _read_yaml(config) if config is not None else {}
    for key, value in (("path", str(path) if path else None), ("missing", missing), ("executor", executor),
                       ("n_jobs", n_jobs), ("out", str(out) if out else None)):
        if value is not None:
            raw[key] = value
    result = run(SelectionStudyConfig.from_dict(raw), resume=not fresh)
    typer.echo(result.summary())


synth_app = typer.Typer(no_args_is_help=True,
                        help="Synthetic market data: run generators, evaluate windows.")
app.add_typer(synth_app, name="synth")
synth_app.command("baselines")(_user_errors(synth_baselines))
synth_app.command("evaluate")(_user_errors(synth_evaluate))
synth_app.command("run")(_user_errors(synth_run))


def main() -> None:
    """Console-script entry point."""
    # idle OpenMP threads sleep instead of spinning (read when torch loads, so set before any command imports it)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app(prog_name="latentquant")


if __name__ == "__main__":  # pragma: no cover
    main()
