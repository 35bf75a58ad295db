"""Docstring examples run, reports render, small evaluation functions match closed forms."""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentquant.evaluation import distribution_summary, reconstruction_r2, var_es
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.reports import RunDirectory, to_markdown


def _package_modules() -> list[str]:
    """Every module of the package, private ones included (found by walking it, so new modules are covered)."""
    import latentquant

    found = pkgutil.walk_packages(latentquant.__path__, "latentquant.")
    return ["latentquant", *sorted(m.name for m in found)]


MODULES = _package_modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    """Every Examples section in the package runs as a doctest (a module without examples has nothing to run)."""
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here, not into the checkout
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module, name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_the_doctest_walk_finds_examples_everywhere():
    # the walk reaches subpackages and private modules, and the bundled examples are many
    assert {"latentquant.data.panel", "latentquant.datasets.bybit._klines", "latentquant.executors"} <= set(MODULES)
    examples = sum(len(t.examples) for name in MODULES
                   for t in doctest.DocTestFinder().find(importlib.import_module(name), name))
    assert examples > 300


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
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)  # the example saves a model under runs/
    ns: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), ns)
    assert ns["means"].shape == ns["stds"].shape == (1759, 5) and 0.3 < ns["r2"] < 0.8
    assert ns["loadings"].shape == (20, 5) and ns["crisis"].shape == (10_000, 20)
    assert abs(ns["risk"].factor_contributions.sum() - ns["risk"].factor_variance) < 1e-12
    # the saved model is the fitted one: it loads and encodes the test span to the same factors
    reloaded = type(ns["model"]).load(tmp_path / "runs" / "my-factor-model")
    pd.testing.assert_frame_equal(reloaded.encode(ns["test"]).mean, ns["means"])
    exec(compile(blocks[1], "README.md", "exec"), ns)  # likelihood, paths, covariance of the same model
    assert np.isfinite(ns["nll"]) and ns["paths"].shape == (1000 * 63, 20)
    assert ns["cov"].shape == (20, 20) and 0.5 < ns["cal"].mean_ratio < 2.0
    ns = {}
    exec(compile(blocks[2], "README.md", "exec"), ns)  # the VAE toolkit
    assert ns["factors"].shape == (1760, 5) and ns["scenarios"].shape == (10_000, 20)
    assert ns["scores"].shape == (1760,)
    ns = {}
    exec(compile(blocks[3], "README.md", "exec"), ns)  # the estimator contract
    pd.testing.assert_series_equal(ns["same"].fitted(ns["panel"]), ns["model"].fitted(ns["panel"]))
    assert ns["twin"].get_params()["n_factors"] == 1 and ns["model"].get_params()["n_factors"] == 2


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


# ---------------------------------------------------------------------------------------------------------------
# packaging and the documentation site

ROOT = Path(__file__).resolve().parents[1]


def test_license_matches_pyproject():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "BSD-3-Clause"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License\n") and "latentquant developers" in text
    assert "Neither the name of the copyright holder nor the names of its" in text  # the third clause


def test_statsmodels_is_a_test_dependency_only():
    import ast
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith("statsmodels") for dep in pyproject["dependencies"])
    assert any(dep.startswith("statsmodels") for dep in pyproject["optional-dependencies"]["dev"])
    for path in (ROOT / "src" / "latentquant").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "statsmodels" for n in names), f"{path} imports statsmodels"


def _docs_hook():
    pytest.importorskip("mkdocs")
    spec = importlib.util.spec_from_file_location("readme_pages", ROOT / "docs" / "_ext" / "readme_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_headings_are_unique():
    # a section pasted twice would be built into the docs twice and read as two versions of the truth
    import re

    headings = re.findall(r"^#{2,3} .+$", (ROOT / "README.md").read_text(), flags=re.M)
    repeated = sorted({h for h in headings if headings.count(h) > 1})
    assert not repeated, repeated


def test_every_readme_section_the_docs_include_exists():
    # the same check fails `make docs`; here it fails fast, with the page and the section
    import re

    hook = _docs_hook()
    sections = hook._sections((ROOT / "README.md").read_text())
    for page in (ROOT / "docs").rglob("*.md"):
        for name in hook._DIRECTIVE.findall(page.read_text()):
            assert name in sections, f"{page.relative_to(ROOT)} includes README section {name!r}, which is gone"
            assert sections[name].strip(), name
    assert not re.search(r"^#+ ", sections["intro"], flags=re.M)  # the intro stops at the first heading


def test_docs_hook_rewrites_readme_links():
    hook = _docs_hook()
    hook._SECTION_PAGE.clear()
    hook._SECTION_PAGE.update({"Asset pricing": "quickstart/asset-pricing.md", "intro": "index.md"})
    targets = {"asset-pricing": ("Asset pricing", ""), "live-crypto-data": ("Asset pricing", "live-crypto-data"),
               "benchmarks": ("Benchmarks", "")}
    body = ("see [Asset pricing](#asset-pricing), [Bybit](#live-crypto-data), [bench](#benchmarks), "
            "[PROVENANCE.md](src/latentquant/datasets/data/PROVENANCE.md) and [pandas](https://pandas.pydata.org)")
    assert hook._rewrite_links(body, "index.md", targets) == (
        "see [Asset pricing](quickstart/asset-pricing.md), [Bybit](quickstart/asset-pricing.md#live-crypto-data), "
        "bench, PROVENANCE.md and [pandas](https://pandas.pydata.org)")
    assert hook._rewrite_links("[x](#live-crypto-data)", "quickstart/asset-pricing.md", targets) == \
        "[x](#live-crypto-data)"
    assert hook._rewrite_links("[x](#asset-pricing)", "quickstart/cli.md", targets) == "[x](asset-pricing.md)"


def test_rst_markup_becomes_markdown_for_the_site():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("rst_roles", ROOT / "docs" / "_ext" / "rst_roles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = ("See :func:`~latentquant.data.split_by_date`, :class:`pandas.DataFrame` and :math:`R^2_t`.\n\n"
            ".. math::\n\n    1 - \\frac{a}{b}\n\nTree::\n\n    a\n    └── b\n\nEnd.")
    assert module.rst_to_markdown(text) == (
        "See `split_by_date`, `pandas.DataFrame` and \\(R^2_t\\).\n\n$$\n1 - \\frac{a}{b}\n$$\n\n"
        "Tree:\n\n```text\na\n└── b\n```\n\nEnd.")
