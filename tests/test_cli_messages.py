"""The command line speaks command-line: one-line warnings, option names in advice, inactive factors reported."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from latentquant.cli import app


def _long_file(path: Path, late: int = 100) -> Path:
    """A long-layout price file (date, ticker, price) of 4 independent random walks; DDD starts ``late`` days late."""
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2020-01-01", periods=300)
    rows = []
    for ticker in ("AAA", "BBB", "CCC", "DDD"):
        prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates))))
        start = late if ticker == "DDD" else 0
        rows += [(d.date().isoformat(), ticker, p) for d, p in zip(dates[start:], prices[start:], strict=True)]
    pd.DataFrame(rows, columns=["date", "ticker", "price"]).to_csv(path, index=False)
    return path


@pytest.fixture
def runner():
    with warnings.catch_warnings():  # the CLI replaces showwarning; keep that inside the test
        yield CliRunner()


def test_warnings_are_one_clean_line_and_advice_names_options(runner, tmp_path):
    path = _long_file(tmp_path / "long.csv")
    result = runner.invoke(app, ["factors", "fit", "--csv", str(path), "-k", "2", "--epochs", "2", "--quiet",
                                 "--out", str(tmp_path / "fit")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("warning: 'long.csv' is a long-layout file (one row per date and asset: date column "
                               "'date', asset column 'ticker'): pivoted to wide")
    assert lines[1].startswith("error: user prices file")
    assert "set missing: drop (--missing drop)" in lines[1] and "min_history: N (--min-history N)" in lines[1]
    assert "Traceback" not in result.output and "warnings.warn" not in result.output and ".py:" not in result.output


def test_min_history_and_missing_options_reach_the_loader(runner, tmp_path):
    path = _long_file(tmp_path / "long.csv")
    result = runner.invoke(app, ["factors", "fit", "--csv", str(path), "-k", "1", "--epochs", "2", "--quiet",
                                 "--min-history", "250", "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "warning: Dropped 1 of 4 columns" in result.output and "on 3 assets × 299 days" in result.output
    result = runner.invoke(app, ["factors", "fit", "--csv", str(path), "-k", "1", "--epochs", "2", "--quiet",
                                 "--missing", "drop", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "on 4 assets × 199 days" in result.output


def test_inactive_factors_are_reported(runner, tmp_path):
    # independent random walks hold no common factor: with beta = 4 both latent units of the plain beta-VAE collapse
    # to the prior
    path = _long_file(tmp_path / "long.csv", late=0)
    result = runner.invoke(app, ["factors", "fit", "--csv", str(path), "-k", "2", "--beta", "4", "--epochs", "30",
                                 "--likelihood", "unit", "--no-linear-skip", "--quiet", "--out", str(tmp_path / "fit")])
    assert result.exit_code == 0, result.output
    assert ("inactive factors f1, f2 (KL ≤ 0.01 nats/day: collapsed to the prior, they carry no information; use "
            "fewer factors or a smaller beta)") in result.output


def test_select_run_takes_a_user_file(runner, tmp_path):
    result = runner.invoke(app, ["select", "run", "--path", str(tmp_path / "absent.csv"), "--out",
                                 str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "absent.csv" in result.output and "Traceback" not in result.output
