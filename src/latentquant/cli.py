"""The ``latentquant`` command line.

User errors (bad data, bad options, missing files) print one line ``error: ...`` to stderr and exit with status 2;
no traceback. The CLI only parses arguments and calls library functions: no maths here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer

from latentquant.exceptions import LatentQuantError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Generative and latent-variable models for quantitative finance.")
datasets_app = typer.Typer(no_args_is_help=True, help="Bundled real datasets: list them, show one.")
vae_app = typer.Typer(no_args_is_help=True, help="Variational autoencoders on return data.")
app.add_typer(datasets_app, name="datasets")
app.add_typer(vae_app, name="vae")

F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(func: F) -> F:
    """Turn library errors into one clear line on stderr and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (LatentQuantError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise LatentQuantError(f"{option} must be comma-separated integers such as '0,1,2', got {text!r}.") from None
    return values


@app.callback()
def _main() -> None:
    """latentquant command line."""


@datasets_app.command("list")
@_user_errors
def datasets_list() -> None:
    """List the bundled datasets with their coverage."""
    from latentquant.datasets import list_datasets

    table = list_datasets()
    for col in ("start", "end"):
        table[col] = table[col].astype(str).str.slice(0, 10)
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
    latent: int = typer.Option(5, help="Latent dimension K."),
    beta: float = typer.Option(1.0, help="Weight β of the KL term."),
    epochs: int = typer.Option(300, help="Maximum epochs (early stopping on the last 20% of the training span)."),
    hidden: str = typer.Option("64,32", help="Encoder hidden widths, comma-separated."),
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
        train_end=train_end, test_start=test_start, test_end=test_end, latent_dim=latent,
        hidden_dims=_int_list(hidden, "--hidden"), beta=beta, epochs=epochs, batch_size=batch_size, lr=lr,
        seeds=_int_list(seeds, "--seeds"), n_scenarios=scenarios, out=str(out),
        verbose=False if quiet else None,
    )
    result = run(config)
    typer.echo(result.summary())


def main() -> None:
    """Console-script entry point."""
    app(prog_name="latentquant")


if __name__ == "__main__":  # pragma: no cover
    main()
