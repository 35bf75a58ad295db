"""The asset-pricing study: end to end on a small simulated panel, resume after an interruption, CLI."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from latentquant.cli import app
from latentquant.exceptions import ConfigError
from latentquant.experiments._config import StudyConfig, StudyResult
from latentquant.experiments.asset_pricing import PricingStudyConfig, PricingStudyResult, run

SMALL = {
    "data": "simulated",
    "simulation": {"n_assets": 60, "n_periods": 72, "n_chars": 4, "n_factors": 2, "beta": "linear", "seed": 0},
    "models": ["FF", "PCA", "IPCA", "CA0"],
    "seeds": [0, 1],
    "k_grid": [1, 2],
    "val_years": 1,
    "first_test_year": 2004,
    "ca": {"n_seeds": 1, "epochs": 2, "batch_size": 1024},
    "executor": "serial",
    "verbose": False,
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("pricing") / "run"
    return run(PricingStudyConfig.from_dict({**SMALL, "out": str(out)})), out


def test_study_writes_tables_for_every_model_and_k(study):
    result, out = study
    table = result.tables["total_r2_stock"]
    assert list(table.index) == ["FF", "PCA", "IPCA", "CA0"] and list(table.columns) == ["K=1", "K=2"]
    assert len(result.metrics["windows"]) == 2  # test years 2004 and 2005
    # on the linear conditional DGP, IPCA explains a good share; FF (true factors, but constant betas) much less
    assert table.loc["IPCA", "K=2"] > 15 and table.loc["IPCA", "K=2"] > table.loc["FF", "K=2"] + 10
    for name in ("total_r2_stock", "predictive_r2_stock", "total_r2_portfolio", "predictive_r2_portfolio"):
        for ext in ("csv", "md", "tex"):
            assert (out / "tables" / f"{name}.{ext}").is_file()
    assert (out / "report.html").is_file() and (out / "figures" / "r2_vs_k.png").is_file()
    std = result.tables["total_r2_stock_std"]
    assert std.loc["CA0"].gt(0).all() and std.loc["IPCA"].eq(0).all()  # only the neural model depends on the seed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["total_r2_stock"]["K=2"]["IPCA"] == pytest.approx(table.loc["IPCA", "K=2"])
    assert isinstance(result, PricingStudyResult) and isinstance(result, StudyResult)
    assert result.summary().startswith("2 test windows, models ['FF', 'PCA', 'IPCA', 'CA0']; stock-level total R² at")
    with pytest.raises(TypeError):
        result.metrics["models"] = []  # results are read-only


def test_an_interrupted_study_resumes_without_recomputing_and_ends_with_the_same_tables(study):
    result, out = study
    fits = out / "fits"
    stored = sorted(fits.glob("w*.json"))
    assert len(stored) == 2 * (3 + 2) * 2  # windows × (3 models + CA0 with 2 seeds) × K
    for lost in stored[::3]:  # the fits that had not finished when the run was interrupted
        lost.unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in fits.glob("w*.json")}
    again = run(PricingStudyConfig.from_dict({**SMALL, "out": str(out)}))
    assert {p.name: p.stat().st_mtime_ns for p in fits.glob("w*.json") if p.name in kept} == kept
    assert len(list(fits.glob("w*.json"))) == len(stored)
    for name, table in result.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], table)


def test_config_errors_are_pinned(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown study option\(s\) \['modls'\]"):
        PricingStudyConfig.from_dict({"modls": ["PCA"]})
    with pytest.raises(ConfigError, match=r"models must be a non-empty list from \['FF', 'PCA'"):
        run(PricingStudyConfig.from_dict({**SMALL, "models": ["CA9"], "out": str(tmp_path / "x")}))
    with pytest.raises(ConfigError, match="executor must be 'serial', 'local' or 'ray', got 'slurm'"):
        run(PricingStudyConfig.from_dict({**SMALL, "executor": "slurm", "out": str(tmp_path / "x")}))
    # model options are checked against the estimator before any fit
    with pytest.raises(ConfigError, match=r"pricing model 'CA0' has no parameter\(s\) \['epoch'\]"):
        run(PricingStudyConfig.from_dict({**SMALL, "ca": {"epoch": 2}, "out": str(tmp_path / "x")}))
    with pytest.raises(ConfigError, match="ConditionalAutoencoder: epochs must be a positive integer, got 0"):
        run(PricingStudyConfig.from_dict({**SMALL, "ca": {"epochs": 0}, "out": str(tmp_path / "x")}))
    with pytest.raises(ConfigError, match=r"cvae must be a mapping of model options, got \[50\]"):
        run(PricingStudyConfig.from_dict({**SMALL, "cvae": [50], "out": str(tmp_path / "x")}))
    assert not (tmp_path / "x").exists()


def test_config_is_a_study_config_and_model_names_are_the_registry():
    cfg = PricingStudyConfig.from_dict(SMALL)
    assert isinstance(cfg, StudyConfig) and cfg.to_dict()["models"] == ["FF", "PCA", "IPCA", "CA0"]
    assert cfg.model_options("CA0") == {"verbose": False, "n_seeds": 1, "epochs": 2, "batch_size": 1024}
    assert cfg.model_options("IPCA") == {}
    import latentquant.experiments.asset_pricing as study

    with pytest.warns(FutureWarning, match=r"MODEL_NAMES is deprecated.*PRICING_MODELS.names\(\)"):
        names = study.MODEL_NAMES
    assert names == ("FF", "PCA", "IPCA", "CA0", "CA1", "CA2", "CA3", "CVAE")


def test_cli_price_run(tmp_path):
    import yaml

    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump({**SMALL, "models": ["PCA", "IPCA"], "k_grid": [1]}))
    runner = CliRunner()
    res = runner.invoke(app, ["price", "run", "--config", str(config), "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "2 test windows, models ['PCA', 'IPCA']" in res.output
    bad = runner.invoke(app, ["price", "run", "--config", str(config), "--executor", "slurm",
                              "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert bad.stderr == "error: executor must be 'serial', 'local' or 'ray', got 'slurm'.\n"
