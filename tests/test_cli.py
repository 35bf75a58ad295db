"""The command line, end to end on tiny inputs, through typer's runner."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from latentquant.cli import app

runner = CliRunner()


@pytest.fixture
def prices_csv(tmp_path):
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2018-01-01", periods=400)
    factor = rng.normal(0, 0.01, size=(400, 1))
    rets = factor @ rng.uniform(0.5, 1.5, size=(1, 6)) + rng.normal(0, 0.005, size=(400, 6))
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rets, axis=0)), index=dates, columns=[f"S{i}" for i in range(6)])
    path = tmp_path / "prices.csv"
    prices.rename_axis("date").to_csv(path)
    return path


def test_datasets_list_and_show():
    res = runner.invoke(app, ["datasets", "list"])
    assert res.exit_code == 0, res.output
    assert "sp500_stocks" in res.output and "1990-01-02" in res.output
    res = runner.invoke(app, ["datasets", "show", "ff3", "--head", "2"])
    assert res.exit_code == 0 and "MktRF" in res.output and "1926-07-31" in res.output


def test_unknown_dataset_is_one_line_exit_2():
    res = runner.invoke(app, ["datasets", "show", "ff5"])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: unknown dataset 'ff5'. Did you mean 'ff3'?")
    assert "Traceback" not in res.output


def test_vae_fit_writes_run_directory(tmp_path, prices_csv):
    out = tmp_path / "run"
    res = runner.invoke(app, ["vae", "fit", "--csv", str(prices_csv), "--train-end", "2019-01-31", "--latent", "2",
                              "--epochs", "3", "--seeds", "0,1", "--scenarios", "200", "--hidden", "8",
                              "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "VAE test R²" in res.stdout
    for name in ("report.html", "config.json", "manifest.json", "metrics.json", "latent_features.parquet",
                 "history.json", "model/config.json", "model/weights.pt", "figures/loss_curves.png",
                 "figures/latent_scatter.png", "tables/r2.csv", "tables/r2.md"):
        assert (out / name).exists(), name
    feats = pd.read_parquet(out / "latent_features.parquet")
    assert list(feats.columns) == ["f1", "f2"] and len(feats) == 399
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_seeds"] == 2 and metrics["train_span"][1] == "2019-01-31"
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Explained variance" in html


@pytest.mark.parametrize(("args", "message"), [
    (["--latent", "6"], "error: latent_dim=6 must be smaller than the number of assets (6)"),
    (["--train-end", "2030-01-01"], "error: The test span"),
    (["--hidden", "a,b"], "error: --hidden must be comma-separated integers"),
])
def test_vae_fit_user_errors(tmp_path, prices_csv, args, message):
    res = runner.invoke(app, ["vae", "fit", "--csv", str(prices_csv), "--train-end", "2019-01-31", "--epochs", "1",
                              "--out", str(tmp_path / "r"), "--quiet", *args])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(message)
    assert "Traceback" not in res.output


def test_vae_fit_needs_exactly_one_source(tmp_path, prices_csv):
    res = runner.invoke(app, ["vae", "fit", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "Give exactly one of --data NAME" in res.stderr
    res = runner.invoke(app, ["vae", "fit", "--csv", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "missing.csv" in res.stderr
