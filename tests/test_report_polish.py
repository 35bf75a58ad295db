"""Report polish and honest numbers: strict JSON metrics, mean ± std text, scrolling tables, bounded legends and a
manifest time that covers the whole run."""

from __future__ import annotations

import json
import re
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from latentquant.reports import RunDirectory, format_mean_std, to_markdown
from latentquant.reports import figures as figs

N_ASSETS = 40


def _strict_load(text: str) -> object:
    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------------------------- strict JSON metrics
def test_metrics_json_is_strict_and_lists_the_undefined_keys(tmp_path):
    run = RunDirectory(tmp_path, title="t")
    metrics = {
        "r2": 0.5,
        "r2_std": float("nan"),
        "nested": {"a": [1.0, np.float32("nan"), np.inf], "b": {"c": -np.inf, "d": np.float64(2.5)}},
        "arr": np.array([0.25, np.nan]),
        "n": np.int64(3),
        "flag": np.bool_(True),
        "per_seed": [{"seed": 0, "std": np.float64("nan")}],
    }
    run.finish(config={"lr": float("inf")}, metrics=metrics)
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    got = _strict_load(text)
    assert got == {
        "r2": 0.5, "r2_std": None,
        "nested": {"a": [1.0, None, None], "b": {"c": None, "d": 2.5}},
        "arr": [0.25, None], "n": 3, "flag": True, "per_seed": [{"seed": 0, "std": None}],
        "undefined": ["r2_std", "nested/a/1", "nested/a/2", "nested/b/c", "arr/1", "per_seed/0/std"],
    }
    # every JSON file of the run is strict, not only metrics.json
    for name in ("config.json", "manifest.json"):
        _strict_load((tmp_path / name).read_text())
    assert _strict_load((tmp_path / "config.json").read_text()) == {"lr": None}
    run.save_json("history.json", {"loss": [1.0, float("nan")]})
    assert _strict_load((tmp_path / "history.json").read_text()) == {"loss": [1.0, None]}
    # the caller's dict is left as it was
    assert np.isnan(metrics["r2_std"]) and "undefined" not in metrics


def test_metrics_json_has_an_empty_undefined_list_when_all_is_defined_and_the_key_is_reserved(tmp_path):
    RunDirectory(tmp_path / "a", title="t").finish(config={}, metrics={"r2": 0.5})
    assert _strict_load((tmp_path / "a" / "metrics.json").read_text()) == {"r2": 0.5, "undefined": []}
    with pytest.raises(ValueError, match="'undefined'"):
        RunDirectory(tmp_path / "b", title="t").finish(config={}, metrics={"undefined": 1})


def test_tables_show_undefined_cells_empty_never_nan_or_inf(tmp_path):
    df = pd.DataFrame({"r2": [0.51234, np.nan, np.inf, -np.inf], "label": ["x", None, np.float32("nan"), "y"]},
                      index=["vae", "pca", "ae", "ff"])
    run = RunDirectory(tmp_path, title="t")
    run.section("Numbers")
    run.save_table("scores", df)
    report = run.finish(config={}, metrics={}).read_text()
    table_html = report[report.index("<table"):report.index("</table>")]
    written = {ext: (tmp_path / "tables" / f"scores.{ext}").read_text() for ext in ("csv", "md", "tex")}
    for text in (*written.values(), table_html, to_markdown(df)):
        assert not re.search(r"nan|inf|None", text, re.I), text
        assert "0.5123" in text  # the defined cell is there
    assert written["csv"].splitlines()[2:] == ["pca,,", "ae,,", "ff,,y"]
    # read back, the empty cells are missing values again
    back = pd.read_csv(tmp_path / "tables" / "scores.csv", index_col=0)
    assert back["r2"].isna().tolist() == [False, True, True, True]


# --------------------------------------------------------------------------------------------- mean ± std text
@pytest.mark.parametrize(("args", "kwargs", "expected"), [
    ((0.41234, 0.00456, 3), {}, "0.412 ± 0.005"),
    ((0.41234, 0.0, 1), {}, "0.412 (1 seed)"),
    ((0.41234, float("nan"), 1), {}, "0.412 (1 seed)"),
    ((0.41234, float("nan")), {}, "0.412"),
    ((0.41234, None), {}, "0.412"),
    ((0.41234, np.float32("inf"), 3), {}, "0.412"),
    ((0.5, 0.0, 4), {}, "0.500 (identical over 4 seeds)"),
    ((0.5, 0.0), {}, "0.500"),
    ((0.5, 1e-5, 4), {}, "0.500 ± <0.001"),
    ((81.234, 1.52), {"digits": 1}, "81.2 ± 1.5"),
    ((2.0, 0.0, 1), {"unit": "window"}, "2.000 (1 window)"),
    ((np.float64(0.1), np.float64(0.02), np.int64(2)), {}, "0.100 ± 0.020"),
    ((float("nan"), 0.1, 3), {}, "n/a"),
    ((None,), {}, "n/a"),
    ((-np.inf,), {}, "n/a"),
])
def test_format_mean_std(args, kwargs, expected):
    text = format_mean_std(*args, **kwargs)
    assert text == expected
    assert not re.search(r"nan|inf|± 0\.0+$", text, re.I)


def test_format_mean_std_refuses_impossible_inputs():
    with pytest.raises(ValueError, match="std must be non-negative"):
        format_mean_std(0.5, -0.1, 3)
    with pytest.raises(ValueError, match="n must be a positive"):
        format_mean_std(0.5, 0.1, 0)


# --------------------------------------------------------------------------------------------- wide tables scroll
def test_every_table_of_the_report_sits_in_a_horizontal_scroll_wrapper(tmp_path):
    run = RunDirectory(tmp_path, title="t")
    run.section("One")
    run.save_table("wide", pd.DataFrame(np.ones((2, 60)), columns=[f"asset_{i}" for i in range(60)]))
    run.save_table("small", pd.DataFrame({"a": [1.0]}))
    run.section("Two")
    run.save_table("third", pd.DataFrame({"b": [2.0]}))
    html = run.finish(config={}, metrics={}).read_text()
    n_tables = len(re.findall(r"<table\b", html))
    assert n_tables == 3
    assert len(re.findall(r'<div class="table-wrap">\s*<table\b', html)) == n_tables
    assert len(re.findall(r"</table>\s*</div>", html)) == n_tables
    css = re.search(r"\.table-wrap\s*\{([^}]*)\}", html)
    assert css is not None and re.search(r"overflow-x:\s*auto", css.group(1))


# --------------------------------------------------------------------------------------------- bounded legends
def _labels(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


def _assets() -> list[str]:
    return [f"A{i:02d}" for i in range(N_ASSETS)]


def test_plot_lines_legend_keeps_the_ten_most_volatile_and_draws_every_line():
    rng = np.random.default_rng(0)
    scale = rng.permutation(np.arange(1, N_ASSETS + 1))  # the volatility rank is not the column order
    table = pd.DataFrame(rng.normal(size=(100, N_ASSETS)) * scale, columns=_assets())
    fig = figs.plot_lines(table)
    labels = _labels(fig.axes[0].get_legend())
    assert len(labels) == 11 and labels[-1] == "others (30)"
    top = set(table.std().nlargest(10).index)
    assert set(labels[:-1]) == top
    assert len(fig.axes[0].lines) == N_ASSETS  # the others are still drawn
    plt.close(fig)
    small = figs.plot_lines(table.iloc[:, :3])
    assert _labels(small.axes[0].get_legend()) == ["A00", "A01", "A02"]  # few columns: unchanged
    plt.close(small)


def test_plot_bars_and_metric_curves_legends_keep_the_largest():
    values = np.tile(np.arange(1, N_ASSETS + 1, dtype=float)[::-1], (3, 1))  # column i has value 40 - i
    table = pd.DataFrame(values, columns=_assets(), index=["g1", "g2", "g3"])
    fig = figs.plot_bars(table)
    labels = _labels(fig.axes[0].get_legend())
    assert labels == [f"A{i:02d}" for i in range(10)] + ["others (30)"]
    assert len(fig.axes[0].patches) == 3 * N_ASSETS
    plt.close(fig)
    fig = figs.plot_metric_curves(table, 0.1 * table)
    labels = _labels(fig.axes[0].get_legend())
    assert labels == [f"A{i:02d}" for i in range(10)] + ["others (30)"]
    plt.close(fig)


def test_plot_traversal_legend_keeps_the_most_responsive_assets():
    sweep = np.linspace(-3, 3, 7)
    slopes = np.arange(N_ASSETS, dtype=float) / N_ASSETS  # the last assets respond most
    responses = {f"f{k}": pd.DataFrame(np.outer(sweep, slopes * (k + 1)), index=sweep, columns=_assets())
                 for k in range(2)}
    fig = figs.plot_traversal(responses)
    labels = _labels(fig.legends[0])
    assert len(labels) == 11 and labels[-1] == "others (30)"
    assert labels[:-1] == [f"A{i:02d}" for i in range(30, 40)]
    assert [len(ax.lines) for ax in fig.axes] == [N_ASSETS + 2] * 2  # every asset + the two reference lines
    plt.close(fig)


def test_plot_fan_chart_legend_is_bounded():
    rng = np.random.default_rng(1)
    paths = {f"set{i:02d}": np.cumsum(rng.normal(0.001 * i, 0.01, (50, 10)), axis=1) for i in range(N_ASSETS)}
    fig = figs.plot_fan_chart(paths)
    labels = _labels(fig.axes[0].get_legend())
    assert len(labels) == 11 and labels[-1] == "others (30)"
    plt.close(fig)


# --------------------------------------------------------------------------------------------- manifest time
def test_manifest_total_time_counts_from_the_study_start(tmp_path):
    started = time.perf_counter() - 5.0  # a study that trained for 5 s before creating its run directory
    run = RunDirectory(tmp_path / "a", title="t", started=started)
    run.timings["fit_seconds"] = 5.0
    run.finish(config={}, metrics={})
    manifest = _strict_load((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["total_seconds_from"] == "study start"
    timings = manifest["timings"]
    assert timings["total_seconds"] >= 5.0 > timings["write_seconds"] >= 0.0
    assert timings["fit_seconds"] == 5.0
    # without a start time the total is measured from the directory's creation, and the manifest says so
    RunDirectory(tmp_path / "b", title="t").finish(config={}, metrics={})
    manifest = _strict_load((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["total_seconds_from"] == "run directory creation"
    assert manifest["timings"]["total_seconds"] < 5.0
    with pytest.raises(ValueError, match="started"):
        RunDirectory(tmp_path / "c", title="t", started=time.perf_counter() + 100.0)


# --------------------------------------------------------------------------------------------- the two studies
def test_vae_returns_with_one_seed_reports_no_spread(tmp_path):
    from latentquant.experiments import VAEReturnsConfig, run_vae_returns

    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2018-01-01", periods=120)
    rets = rng.normal(0, 0.01, (120, 2)) @ rng.uniform(0.2, 1.5, (2, 5)) + rng.normal(0, 0.004, (120, 5))
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rets, axis=0)), index=dates, columns=list("ABCDE"))
    prices.rename_axis("date").to_csv(tmp_path / "p.csv")
    result = run_vae_returns(VAEReturnsConfig(
        data=None, path=str(tmp_path / "p.csv"), train_end="2018-04-30", latent_dim=2, hidden_dims=[8], epochs=2,
        seeds=[0], n_scenarios=200, out=str(tmp_path / "run"), verbose=False))
    summary = result.summary()
    assert "(1 seed)" in summary and "±" not in summary and "nan" not in summary.lower()
    metrics = _strict_load((result.path / "metrics.json").read_text())
    assert metrics["vae_test_r2_std"] is None and "vae_test_r2_std" in metrics["undefined"]
    assert not re.search(r"nan|inf", (result.path / "tables" / "r2.md").read_text(), re.I)
    manifest = _strict_load((result.path / "manifest.json").read_text())
    timings = manifest["timings"]
    assert manifest["total_seconds_from"] == "study start"
    assert timings["total_seconds"] >= timings["load_seconds"] + timings["fit_seconds"]


def test_ff_portfolios_report_has_no_nan_and_counts_the_whole_run(tmp_path):
    from latentquant.experiments.ff_portfolios import FFPortfoliosConfig, run

    result = run(FFPortfoliosConfig.from_dict({"models": ["FF", "PCA"], "k_grid": [1, 5], "headline_k": 1,
                                               "verbose": False, "out": str(tmp_path / "run")}))
    summary = result.summary()
    assert "nan" not in summary.lower() and "±" not in summary
    metrics = _strict_load((result.path / "metrics.json").read_text())
    assert metrics["total_r2"]["FF"]["K=5"] is None  # FF has 4 factors: K=5 is not available
    assert {"total_r2/FF/K=5", "total_r2_std/FF/K=1", "total_r2_std/PCA/K=1"} <= set(metrics["undefined"])
    for name in ("total_r2", "grs_p_value", "significant_alphas"):
        for ext in ("md", "csv"):
            assert not re.search(r"nan|inf|±", (result.path / "tables" / f"{name}.{ext}").read_text(), re.I)
    manifest = _strict_load((result.path / "manifest.json").read_text())
    assert manifest["total_seconds_from"] == "study start"
    assert manifest["timings"]["total_seconds"] >= manifest["timings"]["fit_seconds"]
