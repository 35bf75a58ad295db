"""``latentquant factors …``: fit a VAE factor model, draw scenarios, decompose portfolio risk and run the full
factor-model study. The commands are registered (with the error handling of every command) on the main app by
:mod:`latentquant.cli`; the data-option help texts below are shared with ``latentquant vae fit``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from latentquant.exceptions import LatentQuantError

__all__ = ["factors_fit", "factors_report", "factors_risk", "factors_scenarios"]

# help texts of the data options; latentquant.cli imports the first three for `vae fit`
_MISSING_HELP = "error (default for --csv) | drop: dates where an asset has no value (default for --data)."
_MIN_HISTORY_HELP = "Drop the assets with fewer values than this first (assets that start late)."
_VALUE_COLUMN_HELP = "The value column of a long-layout --csv (date, ticker, price, …) with several numeric columns."
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

    from latentquant.cli import _int_list
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
    from latentquant.cli import _int_list, _read_yaml
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
