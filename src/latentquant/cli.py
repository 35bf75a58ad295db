"""The ``latentquant`` command line.

User errors (bad data, bad options, missing files) print one line ``error: ...`` to stderr and exit with status 2;
no traceback. The CLI only parses arguments and calls library functions: no maths here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer

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


_MISSING_HELP = "error (default for --csv) | drop: dates where an asset has no value (default for --data)."
_MIN_HISTORY_HELP = "Drop the assets with fewer values than this first (assets that start late)."
_VALUE_COLUMN_HELP = "The value column of a long-layout --csv (date, ticker, price, …) with several numeric columns."


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


# ---------------------------------------------------------------------------------------------- factors
_DATA_HELP = "Bundled dataset name (e.g. sp500_stocks, crypto_daily)."
_CSV_HELP = "Your wide CSV/Parquet file: a date column + one column per asset."
_INPUT_HELP = "What --csv holds: prices, log_returns or returns (simple)."




def _study_returns(data: str | None, csv: Path | None, input: str, missing: str | None = None,
                   min_history: int | None = None, value_column: str | None = None) -> tuple[Any, str]:
    from latentquant.experiments._data import load_study_returns

    if (data is None) == (csv is None):
        raise LatentQuantError("Give exactly one of --data NAME (see `latentquant datasets list`) or --csv PATH.")
    return load_study_returns(data, str(csv) if csv is not None else None, input, missing=missing,
                              min_history=min_history, value_column=value_column)


def _load_factor_model(path: Path) -> Any:
    from latentquant.models.factor import VAEFactorModel

    candidates = [path, path / "model"]
    for cand in candidates:
        # estimator.json: the current format; factor_model.json: models saved by 0.1.0 (load warns)
        if (cand / "estimator.json").is_file() or (cand / "factor_model.json").is_file():
            return VAEFactorModel.load(cand)
    raise LatentQuantError(f"No fitted factor model in {path} (looked for estimator.json in {path} and "
                           f"{path / 'model'}); run `latentquant factors fit ... --out DIR` first.")


def _date_pair(text: str | None, option: str) -> tuple[str, str] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise LatentQuantError(f"{option} must be two dates separated by a comma, e.g. 2008-09-01,2009-03-31; "
                               f"got {text!r}.")
    return parts[0], parts[1]


def _fixed(items: list[str]) -> dict[str | int, float]:
    import math

    from latentquant.exceptions import ConfigError
    from latentquant.models.factor.scenarios import MAX_FIXED_Z

    out: dict[str | int, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise LatentQuantError(f"--fix takes FACTOR=VALUE such as f1=-2.5, got {item!r}.")
        if not math.isfinite(number) or abs(number) > MAX_FIXED_Z:
            raise ConfigError(f"--fix {item}: the value must be a finite number within ±{MAX_FIXED_Z:g} (standard "
                              "deviations of the factor's N(0, 1) prior), e.g. f1=-3 for a 3-sigma stress.")
        if name.strip() in out:
            raise ConfigError(f"--fix names factor {name.strip()!r} more than once; give each factor one value.")
        out[name.strip()] = number
    return out


def _check_out(path: Path | None) -> None:
    if path is not None and path.suffix not in (".csv", ".parquet"):
        raise LatentQuantError(f"--out must end in .csv or .parquet, got {path}.")


def _write_frame(frame: Any, path: Path) -> None:
    from latentquant.models.factor._scenario_files import write_frame

    _check_out(path)
    write_frame(frame, path)


@factors_app.command("fit")
@_user_errors
def factors_fit(
    data: str | None = typer.Option(None, help=_DATA_HELP),
    csv: Path | None = typer.Option(None, help=_CSV_HELP),
    input: str = typer.Option("prices", "--input", help=_INPUT_HELP),
    missing: str | None = typer.Option(None, help=_MISSING_HELP),
    min_history: int | None = typer.Option(None, min=2, help=_MIN_HISTORY_HELP),
    value_column: str | None = typer.Option(None, help=_VALUE_COLUMN_HELP),
    factors: int = typer.Option(5, "--factors", "-k", help="Number of latent factors K."),
    beta: float = typer.Option(1.0, help="Weight β of the KL term."),
    hidden: str = typer.Option("64,32", "--hidden-dims", "--hidden",
                               help="Encoder hidden widths, comma-separated ('' = linear; --hidden: old spelling)."),
    epochs: int = typer.Option(300, help="Maximum epochs (early stopping on the last 20% of the training span)."),
    likelihood: str = typer.Option("student_t", help="Observation model: student_t | diagonal | isotropic | unit "
                                   "(unit = the plain β-VAE's squared error)."),
    linear_skip: bool = typer.Option(True, "--linear-skip/--no-linear-skip",
                                     help="Linear encoder/decoder paths beside the networks (nests PCA)."),
    init: str = typer.Option("auto", help="auto | pca | random: start of the linear paths (auto = pca with them)."),
    free_bits: float = typer.Option(0.0, min=0.0, help="Per-factor KL floor in nats (0 = off)."),
    kl_warmup: int = typer.Option(0, min=0, help="Epochs of linear KL warm-up (0 = off)."),
    seed: int = typer.Option(0, help="Seed (same seed, same data → identical factors)."),
    train_start: str | None = typer.Option(None, help="First training date (default: start of data)."),
    train_end: str | None = typer.Option(None, help="Last training date (default: end of data)."),
    periods_per_year: int = typer.Option(252, help="Annualisation (252 daily equities, 365 crypto)."),
    out: Path = typer.Option(Path("runs/factors-fit"), help="Run directory to write (model in OUT/model)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
) -> None:
    """Fit a VAE factor model on a training span; save the model, its factors and loadings, and a short report."""
    import pandas as pd

    from latentquant.experiments.factor_model import fit_and_save

    bounds = []
    for option, value in (("--train-start", train_start), ("--train-end", train_end)):
        try:
            bounds.append(pd.Timestamp(value) if value is not None else None)
        except (ValueError, TypeError):
            raise LatentQuantError(f"{option} must be a date such as 2015-12-31, got {value!r}.") from None
    returns, source = _study_returns(data, csv, input, missing, min_history, value_column)
    result = fit_and_save(returns.loc[bounds[0]:bounds[1]], source=source, n_factors=factors, beta=beta,
                          hidden_dims=_int_list(hidden, "--hidden-dims"), epochs=epochs, seed=seed,
                          periods_per_year=periods_per_year, out=out, verbose=False if quiet else None,
                          likelihood=likelihood, linear_skip=linear_skip, init=init, free_bits=free_bits,
                          kl_warmup=kl_warmup)
    typer.echo(result)


@factors_app.command("scenarios")
@_user_errors
def factors_scenarios(
    model: Path = typer.Option(..., help="Directory written by `latentquant factors fit` (or its model/)."),
    n: int = typer.Option(10000, "-n", help="Number of scenarios (steps for --mode interpolate)."),
    mode: str = typer.Option("prior", help="prior | stressed | conditional | interpolate."),
    stress_period: str | None = typer.Option(None, help="START,END of the stress period (mode stressed)."),
    fix: list[str] = typer.Option([], help="FACTOR=VALUE held fixed (mode conditional); repeat for several."),
    start: str | None = typer.Option(None, help="Start date (mode interpolate)."),
    end: str | None = typer.Option(None, help="End date (mode interpolate)."),
    no_noise: bool = typer.Option(False, "--no-noise", help="Factor-driven part only (no idiosyncratic noise)."),
    seed: int = typer.Option(0, help="Seed (same seed → identical scenarios)."),
    data: str | None = typer.Option(None, help="Dataset whose dates define periods outside the training span."),
    csv: Path | None = typer.Option(None, help="File whose dates define periods outside the training span."),
    input: str = typer.Option("prices", "--input", help=_INPUT_HELP),
    missing: str | None = typer.Option(None, help=_MISSING_HELP),
    value_column: str | None = typer.Option(None, help=_VALUE_COLUMN_HELP),
    out: Path = typer.Option(Path("scenarios.parquet"), help="Output file (.parquet or .csv)."),
) -> None:
    """Generate return scenarios from a fitted factor model and write them to a file."""
    from latentquant.models.factor._scenario_files import write_scenarios

    _check_out(out)
    fm = _load_factor_model(model)
    frame = None
    if data is not None or csv is not None:
        if fm.input != "log_returns":
            raise LatentQuantError(
                f"--data/--csv supply log returns, but this model takes input={fm.input!r}; use dates inside its "
                "training span, or call generate_scenarios(data=...) from Python with data in those units."
            )
        returns, _ = _study_returns(data, csv, input, missing, value_column=value_column)
        frame = returns[list(fm.columns_)] if set(fm.columns_) <= set(returns.columns) else returns
    options: dict[str, Any] = {"noise": False if no_noise else None,
                               "stress_period": _date_pair(stress_period, "--stress-period"),
                               "fixed": _fixed(fix) or None, "start": start, "end": end, "data": frame}
    ew, (n_rows, n_cols) = write_scenarios(fm, n, out, mode, seed=seed, options=options)
    typer.echo(f"wrote {n_rows} {mode} scenarios × {n_cols} assets to {out}; equal-weight portfolio: "
               f"mean {ew.mean():.5f}, std {ew.std():.5f} per period, 1% quantile {ew.quantile(0.01):.5f} "
               "(log returns)")


@factors_app.command("risk")
@_user_errors
def factors_risk(
    model: Path = typer.Option(..., help="Directory written by `latentquant factors fit` (or its model/)."),
    weights: str | None = typer.Option(None, help="ASSET=W,... or a CSV file with columns asset,weight "
                                                   "(default: equal weights)."),
    method: str = typer.Option("linear", help="linear (Euler, through the Jacobian) or monte_carlo."),
    n_samples: int = typer.Option(100000, help="Monte Carlo draws."),
    seed: int = typer.Option(0, help="Monte Carlo seed."),
    out: Path | None = typer.Option(None, help="Also write the table to this .csv/.parquet file."),
) -> None:
    """Decompose a portfolio's variance into factor and idiosyncratic parts with per-factor contributions."""
    import numpy as np
    import pandas as pd

    _check_out(out)
    fm = _load_factor_model(model)
    if weights is None:
        w: Any = np.full(len(fm.columns_), 1.0 / len(fm.columns_))
    elif Path(weights).is_file():
        try:
            table = pd.read_csv(weights)
        except (ValueError, pd.errors.ParserError) as exc:
            detail = " ".join(str(exc).split())  # pandas' messages hold newlines: keep the error one line
            raise LatentQuantError(f"{weights} is not a readable CSV file ({detail}).") from None
        if not {"asset", "weight"} <= set(table.columns):
            raise LatentQuantError(f"{weights} must have columns 'asset' and 'weight', got {list(table.columns)}.")
        numeric = pd.to_numeric(table["weight"], errors="coerce")
        if numeric.isna().any():
            bad = table.loc[numeric.isna(), "weight"].iloc[0]
            raise LatentQuantError(f"{weights}: every weight must be a number, found {bad!r}.")
        w = pd.Series(numeric.to_numpy(dtype=float), index=table["asset"].astype(str))
    else:
        pairs = [_pair(item) for item in weights.split(",") if item]  # a list, so a repeated asset stays visible
        w = pd.Series([float(v) for _, v in pairs], index=[k.strip() for k, _ in pairs], dtype=float)
    rd = fm.risk_decomposition(w, method=method, n_samples=n_samples, seed=seed)
    typer.echo(rd.summary())
    typer.echo(rd.table().to_string(float_format=lambda v: f"{v:.4g}"))
    if out is not None:
        _write_frame(rd.table(), out)


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    try:
        float(value)
    except ValueError:
        sep = ""
    if not sep:
        raise LatentQuantError(f"--weights takes ASSET=WEIGHT pairs such as AAPL=0.5,MSFT=0.5, got {item!r}.")
    return name, value


@factors_app.command("report")
@_user_errors
def factors_report(
    config: Path | None = typer.Option(None, help="YAML study config (universes and options); flags below "
                                                  "override its top-level options."),
    data: str | None = typer.Option(None, help=_DATA_HELP + " Study one universe instead of a config."),
    csv: Path | None = typer.Option(None, help=_CSV_HELP),
    input: str = typer.Option("prices", "--input", help=_INPUT_HELP),
    factors: int = typer.Option(5, "--factors", "-k", help="Number of latent factors K (single universe)."),
    train_end: str = typer.Option("2015-12-31", help="Last training date (single universe)."),
    test_start: str | None = typer.Option(None, help="First test date (single universe)."),
    test_end: str | None = typer.Option(None, help="Last test date (single universe)."),
    stress_period: str | None = typer.Option(None, help="START,END of a stress period (single universe)."),
    periods_per_year: int = typer.Option(252, help="Annualisation (single universe)."),
    seeds: str | None = typer.Option(None, help="Seeds, comma-separated (default 0,1,2)."),
    epochs: int | None = typer.Option(None, help="Maximum epochs per fit (default 300)."),
    out: Path | None = typer.Option(None, help="Run directory to write (default: the config's out, else "
                                              "runs/factors)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
) -> None:
    """The full factor-model study: out-of-sample R² vs PCA, disentanglement, scenarios, stress, risk → report.html.

    Without --config and --data/--csv it runs the default study (20 S&P 500 stocks and daily crypto)."""
    from latentquant.experiments.factor_model import FactorStudyConfig, Universe, run

    raw: dict[str, Any] = _read_yaml(config) if config is not None else {}
    if data is not None or csv is not None:
        if config is not None:
            raise LatentQuantError("Give either --config or --data/--csv, not both.")
        raw["universes"] = [asdict(Universe(
            name=data or Path(str(csv)).stem, data=data, path=str(csv) if csv is not None else None, input=input,
            train_end=train_end, test_start=test_start, test_end=test_end, n_factors=factors,
            stress_period=list(pair) if (pair := _date_pair(stress_period, "--stress-period")) else None,
            periods_per_year=periods_per_year))]
    if seeds is not None:
        raw["seeds"] = _int_list(seeds, "--seeds")
    if epochs is not None:
        raw["epochs"] = epochs
    if out is not None:
        raw["out"] = str(out)
    if quiet:
        raw["verbose"] = False
    result = run(FactorStudyConfig.from_dict(raw))
    typer.echo(result.summary())


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
