"""Docstring examples run, reports render, small evaluation functions match closed forms."""

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest

from latentquant.evaluation import distribution_summary, reconstruction_r2, var_es
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.reports import RunDirectory, to_markdown

MODULES = [
    "latentquant.data.returns", "latentquant.data.scaling", "latentquant.data.splits",
    "latentquant.training.trainer", "latentquant.training.early_stopping", "latentquant.models.autoencoder",
    "latentquant.evaluation.reconstruction", "latentquant.evaluation.distribution", "latentquant.evaluation.portfolio",
    "latentquant.models.factor", "latentquant.evaluation.factors", "latentquant.data.panel",
    "latentquant.models.pricing.ipca", "latentquant.models.pricing.static", "latentquant.models.pricing.conditional",
    "latentquant.models.pricing.factor_vae", "latentquant.evaluation.pricing",
    "latentquant.reports.rundir", "latentquant.data.portfolios", "latentquant.evaluation.importance",
    "latentquant.data.characteristics",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), verbose=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_public_names_are_pinned_and_importable():
    seed_api = {"AETrainer", "Autoencoder", "DenoisingAutoencoder", "VAE", "anomaly_threshold", "kl_divergence"}
    factor_api = {"VAEFactorModel", "FactorEncoding", "RiskDecomposition"}
    assert set(importlib.import_module("latentquant.models").__all__) == seed_api | factor_api | {"load_model"}
    assert set(importlib.import_module("latentquant.deep.autoencoder").__all__) == seed_api | {"EarlyStopping"}
    for name in ("latentquant.models", "latentquant.data", "latentquant.training", "latentquant.datasets",
                 "latentquant.deep.autoencoder", "latentquant.evaluation", "latentquant.reports"):
        mod = importlib.import_module(name)
        assert len(set(mod.__all__)) == len(mod.__all__)
        for symbol in mod.__all__:
            assert hasattr(mod, symbol), f"{name}.{symbol}"


def test_reconstruction_r2_is_relative_to_the_given_centre():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 1.0, size=(500, 3))
    total, cols = reconstruction_r2(x, np.zeros_like(x))
    # predicting 0 when the benchmark is 0 explains nothing
    assert total == pytest.approx(0.0) and np.allclose(cols, 0.0)
    total_c, _ = reconstruction_r2(x, np.full_like(x, 1.0), center=x.mean(0))
    # predicting the true mean (1.0) vs the sample mean: close to 0 but not above the sample-mean benchmark
    assert total_c <= 0.0
    with pytest.raises(DataValidationError, match=r"X has shape \(500, 3\) but X_hat has shape \(500, 2\)"):
        reconstruction_r2(x, x[:, :2])


def test_var_es_and_distribution_summary():
    r = np.linspace(-0.1, 0.1, 1001)
    var, es = var_es(r, 0.01)
    assert var == pytest.approx(-np.quantile(r, 0.01)) and es >= var
    with pytest.raises(ConfigError, match=r"level must be in \(0, 0.5\)"):
        var_es(r, 0.7)
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.5], [0.5, 1.0]]) * 1e-4
    df = pd.DataFrame(rng.multivariate_normal([0, 0], cov, 200_000), columns=["a", "b"])
    s = distribution_summary(df)
    assert s["mean_corr"] == pytest.approx(0.5, abs=0.01)
    assert s["ann_vol_mean"] == pytest.approx(0.01 * np.sqrt(252), rel=0.01)
    assert s["portfolio_ann_vol"] == pytest.approx(np.sqrt(0.75e-4) * np.sqrt(252), rel=0.01)
    assert s["excess_kurtosis_mean"] == pytest.approx(0.0, abs=0.05)


def test_markdown_table_and_report(tmp_path):
    md = to_markdown(pd.DataFrame({"r2": [0.51234, np.nan]}, index=["vae", "pca|x"]))
    assert md.splitlines()[0] == "| index | r2 |" and "| vae | 0.5123 |" in md and "pca\\|x" in md
    run = RunDirectory(tmp_path / "run", title="A <b>title</b>")
    run.section("Numbers", "text with <script>")
    run.save_table("t", pd.DataFrame({"x": [1.0]}))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    run.save_figure("f", fig, "a figure")
    report = run.finish(config={"a": 1}, metrics={"m": np.float64(0.5)})
    html = report.read_text()
    assert "&lt;script&gt;" in html and "<script>" not in html  # user text is escaped
    assert html.count("data:image/png;base64,") == 1
    for f in ("config.json", "metrics.json", "manifest.json", "tables/t.csv", "tables/t.md", "figures/f.png"):
        assert (tmp_path / "run" / f).exists()


def test_readme_python_quickstart_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = re.search(r"## Python quickstart\n(.*?)\n## ", readme, re.S).group(1)
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)  # the example saves a model under runs/
    ns: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), ns)
    assert ns["means"].shape == ns["stds"].shape == (1759, 5) and 0.3 < ns["r2"] < 0.8
    assert ns["loadings"].shape == (20, 5) and ns["crisis"].shape == (10_000, 20)
    assert abs(ns["risk"].factor_contributions.sum() - ns["risk"].factor_variance) < 1e-12
    assert (tmp_path / "runs" / "my-factor-model" / "factor_model.json").is_file()
    ns = {}
    exec(compile(blocks[1], "README.md", "exec"), ns)  # the VAE toolkit
    assert ns["factors"].shape == (1760, 5) and ns["scenarios"].shape == (10_000, 20)
    assert ns["scores"].shape == (1760,)


def test_rerunning_into_a_run_directory_replaces_its_figures_and_tables(tmp_path):
    import matplotlib.pyplot as plt

    first = RunDirectory(tmp_path, title="first")
    first.save_figure("old", plt.figure())
    first.save_table("old", pd.DataFrame({"a": [1.0]}))
    first.finish(config={}, metrics={})
    (tmp_path / "notes.txt").write_text("mine")
    second = RunDirectory(tmp_path, title="second")
    second.save_table("new", pd.DataFrame({"a": [2.0]}))
    second.finish(config={}, metrics={})
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == ["new.csv", "new.md", "new.tex"]
    assert list((tmp_path / "figures").iterdir()) == []
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_readme_asset_pricing_example_runs_and_ca1_beats_ipca(capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = re.search(r"## Asset pricing\n(.*?)\n### ", readme, re.S).group(1)
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    exec(compile(code, "README.md", "exec"), {})
    ipca, ca1 = (float(v) for v in capsys.readouterr().out.split())
    assert ca1 > ipca + 0.03
