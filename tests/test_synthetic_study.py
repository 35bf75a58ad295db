"""The synthetic-data evaluation end to end: evaluate_synthetic, the calibration of the instruments, the baselines
study and the `synth` commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from latentquant.cli import app
from latentquant.evaluation.synthetic import evaluate_synthetic, noise_calibration
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments._synthetic_files import read_synthetic, split_draws


def _garch_series(n: int, seed: int = 0) -> np.ndarray:
    """GARCH(1,1) returns (alpha 0.1, beta 0.85) and their log variance: two features with volatility clustering."""
    rng = np.random.default_rng(seed)
    var, out = 1e-4, np.empty((n, 2))
    for t in range(n):
        r = np.sqrt(var) * rng.standard_normal()
        out[t] = r, np.log(var)
        var = 5e-6 + 0.1 * r**2 + 0.85 * var
    return out


def _windows(series: np.ndarray, length: int) -> np.ndarray:
    return np.stack([series[i:i + length] for i in range(len(series) - length + 1)])


@pytest.fixture(scope="module")
def real() -> np.ndarray:
    return _windows(_garch_series(700), 10)


def test_identical_draws_score_zero_distance_and_a_shifted_set_is_far(real):
    rep = evaluate_synthetic(real, [real, real], epochs=2, n_boot=100, mmd_permutations=50)
    assert (rep.per_draw[["w1_1", "w1_5", "ks_stat", "acf_abs_score", "leverage_score"]].abs().to_numpy() == 0).all()
    assert (rep.per_draw["disc_auc"] == 0.5).all() and (rep.per_draw["tstr_trtr_ratio"] == 1.0).all()
    moments = ["excess_kurtosis", "acf_abs_lag1", "leverage_lag1", "kurtosis_h5"]  # pooled twice: same estimates
    pd.testing.assert_series_equal(rep.real_facts.loc[moments, "estimate"], rep.synthetic_facts.loc[moments, "estimate"])
    shifted = real + np.array([0.01, 0.0])  # +1% a day on the returns feature
    far = evaluate_synthetic(real, shifted[None], epochs=2, n_boot=100, mmd_permutations=50)
    assert far.per_draw["w1_1"].iloc[0] == pytest.approx(0.01, rel=1e-9)  # W1 of a shift is the shift
    assert far.per_draw["w1_5"].iloc[0] == pytest.approx(0.05, rel=1e-9)
    assert far.per_draw["mmd_pvalue"].iloc[0] < 0.05
    d = rep.to_dict()
    json.dumps(d)  # JSON-ready, no NaN
    assert d["describe"][0]["std"] == 0.0 and "disc_auc" in rep.summary()


def test_report_errors_are_named(real):
    with pytest.raises(DataValidationError, match=r"synthetic windows are 9 steps × 2 features but the real ones 10 "
                                                  r"× 2; generate windows of the real shape\."):
        evaluate_synthetic(real, real[None, :, :9], epochs=2)
    bad = real.copy()[None]
    bad[0, 3, 2, 0] = np.nan
    with pytest.raises(DataValidationError, match=r"synthetic draw\(s\) \[0\] hold NaN/inf values"):
        evaluate_synthetic(real, bad, epochs=2)
    with pytest.raises(DataValidationError, match=r"real must be windows shaped \(n, length, features\)"):
        evaluate_synthetic(real[0], real[None], epochs=2)
    with pytest.raises(ConfigError, match=r"return_feature 'vol' is not a feature; features: \['r', 'v'\]"):
        evaluate_synthetic(real, real[None], features=["r", "v"], return_feature="vol", epochs=2)


def test_noise_calibration_scores_get_monotonically_worse_and_real_vs_real_passes(real):
    table = noise_calibration(real, alphas=(0.0, 0.3, 1.0), n_draws=2, epochs=8, n_splits=20, mmd_permutations=100,
                              mmd_samples=200)
    auc = table.loc[["α = 0", "α = 0.3", "α = 1"], "disc_auc"].to_numpy()
    mmd = table.loc[["α = 0", "α = 0.3", "α = 1"], "mmd2"].to_numpy()
    assert auc[0] == 0.5 and auc[0] < auc[1] < auc[2] and auc[2] > 0.75
    assert mmd[0] < mmd[1] < mmd[2]
    assert table.loc["real vs real", "mmd_reject_5pct"] <= 0.2  # the test's size: about 5%, never most of the time


def test_read_synthetic_formats_agree(tmp_path, real):
    draws = np.stack([real, real * 2])
    np.save(tmp_path / "d.npy", draws)
    np.savez(tmp_path / "d.npz", windows=real)
    k, n, length, _ = draws.shape
    long = pd.DataFrame({"draw": np.repeat(np.arange(k), n * length), "window": np.tile(np.repeat(np.arange(n),
                         length), k), "step": np.tile(np.arange(length), k * n), "r": draws[..., 0].ravel(),
                         "v": draws[..., 1].ravel()}).sample(frac=1.0, random_state=0)  # any row order
    long.to_parquet(tmp_path / "d.parquet")
    np.testing.assert_array_equal(read_synthetic(tmp_path / "d.npy"), draws)
    np.testing.assert_array_equal(read_synthetic(tmp_path / "d.npz"), real[None])
    np.testing.assert_array_equal(read_synthetic(tmp_path / "d.parquet"), draws)
    assert split_draws(real[None], 100, None).shape == (6, 100, 10, 2)  # 691 windows: six test-sized draws
    assert split_draws(real[None], 100, 2).shape == (2, 100, 10, 2)
    np.save(tmp_path / "flat.npy", real[0])
    with pytest.raises(DataValidationError, match=r"must be shaped \(n, length, features\) or \(draws, n, length, "
                                                  r"features\); got shape \(10, 2\)"):
        read_synthetic(tmp_path / "flat.npy")
    long.drop(columns="step").to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataValidationError, match=r"a long table needs the columns \['window', 'step'\]"):
        read_synthetic(tmp_path / "bad.parquet")


@pytest.fixture(scope="module")
def user_file(tmp_path_factory) -> str:
    series = _garch_series(900, seed=3)
    frame = pd.DataFrame(series, columns=["ret", "logvar"], index=pd.bdate_range("2010-01-01", periods=900,
                                                                                name="date"))
    path = tmp_path_factory.mktemp("synth") / "series.csv"
    frame.to_csv(path)
    return str(path)


def test_baselines_study_writes_scores_facts_and_calibration(user_file, tmp_path):
    from latentquant.experiments.synthetic import SynthStudyConfig, run

    cfg = SynthStudyConfig(data=None, path=user_file, return_feature="ret", length=10, n_draws=2, epochs=2,
                           generators=["bootstrap", "garch"], seeds=[0, 1], long_paths=10, long_length=500,
                           calibration_alphas=[0.0, 0.6], calibration_draws=1, out=str(tmp_path / "run"),
                           verbose=False)
    r = run(cfg)
    # one stored task per (generator, training seed): a rerun loads them and gives the same tables
    assert sorted(p.stem for p in (r.path / "fits").glob("*.json")) == [
        "bootstrap-s0", "bootstrap-s1", "garch-s0", "garch-s1", "reference"]
    again = run(cfg)
    pd.testing.assert_frame_equal(again.tables["scores"], r.tables["scores"])
    assert list(r.tables["scores_by_seed"].index) == [("bootstrap", 0), ("bootstrap", 1), ("garch", 0),
                                                      ("garch", 1)]
    assert list(r.tables["scores"].index) == ["real: training span", "bootstrap", "garch"]
    assert list(r.tables["stylized_facts"].columns) == ["real: training span", "real: test span", "bootstrap",
                                                        "garch"]
    facts = r.tables["stylized_facts"]
    # GARCH paths cluster volatility, day-by-day bootstrap paths do not
    assert facts.loc["acf_abs_lag1", "garch"] > 0.05 > abs(facts.loc["acf_abs_lag1", "bootstrap"])
    m = json.loads((r.path / "metrics.json").read_text())
    assert m["n_draws"] == 2 and set(m["generators"]) == {"real: training span", "bootstrap", "garch"}
    assert m["calibration"]["α = 0"]["disc_auc"] == 0.5
    for name in ("report.html", "tables/scores.csv", "tables/calibration.csv", "figures/acf_abs.png",
                 "figures/overlay_tsne.png", "figures/densities.png"):
        assert (r.path / name).is_file(), name
    assert "garch: AUC" in r.summary()
    var = r.tables["var_backtests"]  # default levels 1% and 5%: a conditional GARCH, the history, each generator
    assert list(var.index) == [(name, p) for p in (0.01, 0.05) for name in
                               ("GARCH(1,1)-t forecast", "MAF | previous vol forecast", "historical: training span",
                                "bootstrap", "garch")]
    pvalues = var[["pof_pvalue", "ind_pvalue", "cc_pvalue", "z2_pvalue"]].to_numpy()
    assert ((pvalues >= 0) & (pvalues <= 1)).all() and (var["es"] > var["var"]).all()
    assert (var["hits"] <= 180).all() and set(m["var_backtests"]) >= {"bootstrap @ 0.01", "GARCH(1,1)-t forecast @ 0.05"}
    assert (r.path / "tables/var_backtests.csv").is_file()


def test_synth_commands(user_file, tmp_path):
    from latentquant.models.generative import GARCHGenerator

    runner = CliRunner()
    frame = pd.read_csv(user_file, index_col=0, parse_dates=True)
    draws = GARCHGenerator(length=10, burn=50).fit(frame.iloc[:700]).sample(400, seed=0)
    np.save(tmp_path / "garch.npy", draws)
    res = runner.invoke(app, ["synth", "evaluate", "--real", user_file, "--synthetic", str(tmp_path / "garch.npy"),
                              "--draws", "2", "--epochs", "2", "--return-feature", "ret",
                              "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["n_draws"] == 2 and m["windows_per_draw"] == m["n_test_windows"]
    np.save(tmp_path / "one.npy", draws[..., :1])
    res = runner.invoke(app, ["synth", "evaluate", "--real", user_file, "--synthetic", str(tmp_path / "one.npy"),
                              "--out", str(tmp_path / "ev2")])
    assert res.exit_code == 2
    assert "error: the synthetic windows have 1 feature(s) but the real data 2 (['ret', 'logvar'])" in res.output
    res = runner.invoke(app, ["synth", "baselines", "--generators", "timegan", "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "error: unknown generator 'timegan'; choose from" in res.output


def test_readme_synthetic_example_runs():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = re.search(r"## Synthetic market data\n(.*?)\n## ", readme, re.S).group(1)
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    ns: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), ns)
    rep = ns["report"]
    assert rep.per_draw.shape[0] == 5 and rep.n_windows == len(ns["test"]) == 933
    assert 0.5 < rep.headline()["disc_auc"] < 1.0 and ns["split"].overlap == 0
    exec(compile(blocks[1], "README.md", "exec"), ns)  # the deep-generator example, on the same windows
    assert ns["windows"].shape == (1000, 20, 2) and np.isfinite(ns["nll"])
    exec(compile(blocks[2], "README.md", "exec"), ns)  # the VaR backtest of a GARCH forecast
    bt = ns["bt"]
    assert bt.n == len(ns["f"]) > 900 and 0 <= bt.cc_pvalue <= 1 and bt.z2 is not None


def test_minmax_with_var_backtests_is_refused():
    from latentquant.experiments.synthetic import SynthStudyConfig

    with pytest.raises(ConfigError, match="minmax: true scales the features to"):
        SynthStudyConfig(minmax=True).validate()
    SynthStudyConfig(minmax=True, facts=False).validate()  # TimeGAN's convention: no return-based sections


@pytest.mark.parametrize("name", ["synth_baselines.yaml", "synth_fx.yaml"])
def test_synth_configs_are_valid(name):
    from pathlib import Path

    import yaml

    from latentquant.experiments.synthetic import SynthStudyConfig

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / name).read_text())
    cfg = SynthStudyConfig.from_dict(raw)
    cfg.validate()
    assert cfg.generators == ["bootstrap", "block_bootstrap", "gaussian", "garch"] and cfg.length == 20
