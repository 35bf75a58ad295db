"""The FF-portfolios study: FF vs PCA vs VAE on the 30 bundled Fama–French test portfolios (small, fast config)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from latentquant.cli import app
from latentquant.exceptions import ConfigError
from latentquant.experiments._config import StudyConfig, StudyResult
from latentquant.experiments.ff_portfolios import FFPortfoliosConfig, FFPortfoliosResult, run

SMALL = {"k_grid": [1, 3], "headline_k": 3, "seeds": [0], "verbose": False,
         "vae": {"epochs": 4, "patience": 5, "hidden_dims": [16]}}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("ffp") / "run"
    return run(FFPortfoliosConfig.from_dict({**SMALL, "out": str(out)})), out


def test_study_writes_report_tables_and_figures(study):
    result, out = study
    assert (out / "report.html").is_file()
    for name in ("total_r2", "significant_alphas", "grs_stat", "grs_p_value", "alphas_FF", "vae_seeds"):
        assert (out / "tables" / f"{name}.csv").is_file(), name
    assert (out / "figures" / "r2_vs_k.png").is_file()
    assert (out / "figures" / "alphas.png").is_file()
    r2 = result.tables["total_r2"]
    assert list(r2.index) == ["FF", "PCA", "VAE"]
    assert list(r2.columns) == ["K=1", "K=3"]
    assert result.metrics["test_span"] == ["2000-01-31", "2017-03-31"]
    assert result.metrics["n_test_months"] == 207
    assert "report:" in result.summary()
    assert isinstance(result, FFPortfoliosResult) and isinstance(result, StudyResult)
    assert isinstance(FFPortfoliosConfig.from_dict(SMALL), StudyConfig)
    assert result.to_dict()["metrics"]["headline_k"] == 3


def test_ff3_prices_the_portfolios_well_out_of_sample(study):
    result, _ = study
    r2 = result.tables["total_r2"]
    # FF3 with training-span betas: about 74% of the test-span (2000-2017) uncentred variation of the 30 excess
    # returns (the 12 industry portfolios are priced worse than the size-sorted ones); CAPM explains less.
    assert 65.0 < r2.loc["FF", "K=3"] < 90.0
    assert r2.loc["FF", "K=3"] > r2.loc["FF", "K=1"] > 50.0
    # PCA is fitted to these very returns: at least as good as FF3 at K=3
    assert r2.loc["PCA", "K=3"] > r2.loc["FF", "K=3"]


def test_grs_and_alpha_counts_are_in_range(study):
    result, _ = study
    p = result.tables["grs_p_value"].to_numpy(dtype=float)
    assert np.isfinite(p[:2]).all()  # FF and PCA
    assert np.isnan(p[2]).all()  # the VAE's factors are not portfolio returns: no GRS
    finite = p[np.isfinite(p)]
    assert ((finite >= 0) & (finite <= 1)).all()
    counts = result.tables["significant_alphas"].to_numpy(dtype=float)
    assert ((counts >= 0) & (counts <= 30)).all()
    alphas = result.tables["alphas_FF"]
    assert len(alphas) == 30 and {"alpha", "t_stat", "mean_return", "mean_fitted"} <= set(alphas.columns)


def test_same_config_twice_gives_identical_numbers(study, tmp_path):
    result, _ = study
    again = run(FFPortfoliosConfig.from_dict({**SMALL, "out": str(tmp_path / "again")}))
    for name in ("total_r2", "significant_alphas", "grs_stat", "grs_p_value", "alphas_VAE"):
        pd.testing.assert_frame_equal(again.tables[name], result.tables[name])


def test_config_errors_are_pinned(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown study option\(s\) \['k_gird'\]"):
        FFPortfoliosConfig.from_dict({"k_gird": [1]})
    with pytest.raises(ConfigError, match=r"vae: unknown option\(s\) \['epoch'\]"):
        FFPortfoliosConfig.from_dict({"vae": {"epoch": 3}})
    with pytest.raises(ConfigError, match=r"models must be a non-empty list from \['FF', 'PCA', 'VAE'\]"):
        run(FFPortfoliosConfig.from_dict({"models": ["IPCA"], "out": str(tmp_path / "x")}))
    with pytest.raises(ConfigError, match=r"headline_k must be one of k_grid \[1, 2\], got 3"):
        run(FFPortfoliosConfig.from_dict({"k_grid": [1, 2], "out": str(tmp_path / "x")}))
    assert not (tmp_path / "x").exists()


def test_cli_price_portfolios(tmp_path):
    config = tmp_path / "ffp.yaml"
    config.write_text(yaml.safe_dump({**SMALL, "models": ["FF", "PCA"]}))
    runner = CliRunner()
    res = runner.invoke(app, ["price", "portfolios", "--config", str(config), "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "30 FF test portfolios" in res.output
    assert (tmp_path / "run" / "report.html").is_file()
    config.write_text(yaml.safe_dump({**SMALL, "modls": ["FF"]}))
    bad = runner.invoke(app, ["price", "portfolios", "--config", str(config), "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: unknown study option(s) ['modls']")
