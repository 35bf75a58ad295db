"""The S&P 500 feature-selection study: config errors, causality of each fit, resume, report contents, CLI."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from latentquant.cli import app
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments.feature_selection import (
    SelectionStudyConfig,
    fit_selector,
    make_model,
    run,
    study_data,
)

FAST = {"epochs": 3, "patience": 2, "batch_size": 128}
ATT = {**FAST, "d_model": 8, "n_heads": 2, "dim_feedforward": 16}


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny(out, **kw) -> SelectionStudyConfig:
    base = dict(
        train=["2012-01-01", "2014-12-31"], validation=["2015-01-01", "2015-12-31"], test=["2016-01-01", "2016-12-31"],
        seeds=[0, 1], executor="serial", out=str(out), verbose=False, n_boot=200,
        params={"mlp": FAST, "self_attention": ATT, "cross_attention": ATT,
                "vae_features": {**FAST, "vae_epochs": 2, "vae_hidden_dims": [8, 8], "latent_dim": 2},
                "lightgbm": {"n_estimators": 20, "subsample": 0.8}},
        pretraining={"enabled": True, "seeds": [0], "models": ["self_attention", "vae_features"],
                     "fine_tune": {"epochs": 2}},
        semi_supervised={"enabled": True, "seeds": [0], "label_fraction": 0.1,
                         "params": {"epochs": 2, "hidden_dims": [8], "latent_dim": 2}},
    )
    base.update(kw)
    return SelectionStudyConfig(**base)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("sel") / "run"
    return run(tiny(out))


# ----------------------------------------------------------------------------------------------- configuration
@pytest.mark.parametrize(("kw", "error", "message"), [
    ({"models": ["ridge", "transformer"]}, ConfigError, r"unknown model name\(s\) \['transformer'\] in models"),
    ({"models": []}, ConfigError, "models must name at least one"),
    ({"variant": "hlc"}, ConfigError, "variant must be 'close'"),
    ({"params": {"lasso": {}}}, ConfigError, r"params has unknown model name\(s\) \['lasso'\]"),
    ({"seeds": [0, 0]}, ConfigError, "seeds must be a non-empty list of distinct integers"),
    ({"validation": ["2014-06-01", "2015-12-31"]}, ConfigError,
     "the validation span must start after the train span ends"),
    ({"test": ["2016-12-31", "2016-01-01"]}, ConfigError, r"test ends \(2016-01-01\) before it starts"),
    ({"test": "2016"}, ConfigError, "test must be a \\[start, end\\] pair of dates"),
    ({"cost_bps": -1}, ConfigError, "cost_bps must be a number >= 0"),
    ({"lags": -1}, ConfigError, "lags must be an integer >= 0"),
    ({"executor": "dask"}, ConfigError, "executor must be 'serial', 'local' or 'ray'"),
    ({"pretraining": {"models": ["mlp"]}}, ConfigError, "pretraining.models supports 'self_attention'"),
    ({"semi_supervised": {"label_fraction": 0}}, ConfigError, r"label_fraction must be in \(0, 1\]"),
])
def test_config_errors(tmp_path, kw, error, message):
    with pytest.raises(error, match=message):
        run(tiny(tmp_path / "r", **kw))
    assert not (tmp_path / "r").exists()


def test_unknown_option_and_unknown_model_parameter(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown study option\(s\) \['model'\]"):
        SelectionStudyConfig.from_dict({"model": ["mlp"]})
    with pytest.raises(ConfigError, match=r"params.mlp: .*n_layers.*see the docstring of MLPRegressor"):
        make_model("mlp", 0, {"n_layers": 3})
    with pytest.raises(ConfigError, match="unknown model name 'gru'"):
        make_model("gru", 0)


def test_a_span_outside_the_data_is_a_clear_error(tmp_path):
    with pytest.raises(DataValidationError, match=r"the test span 2030-01-01..2031-12-31 has 0 usable rows"):
        study_data(tiny(tmp_path, test=["2030-01-01", "2031-12-31"]))
    cfg = tiny(tmp_path, variant="ohlcv")  # OHLCV data end in 2018-12: the default 2017–2022 test would be short
    frame, info = study_data(cfg)
    assert {"atr14", "adx14", "obv_change10"} <= set(frame.columns)
    assert "open/high/low/close/volume" in info["source"]


def test_study_frame_is_complete_and_time_ordered(tmp_path):
    frame, info = study_data(tiny(tmp_path, lags=2))
    assert not frame.isna().any().any()
    assert frame.index.is_monotonic_increasing
    order = frame["__split__"].map({"train": 0, "validation": 1, "test": 2}).to_numpy()
    assert (np.diff(order) >= 0).all()
    assert "rsi14_lag2" in frame.columns and "vix_lag1" not in frame.columns  # lags are technical only
    assert info["drop_report"]["n_input"] == info["drop_report"]["n_rows"] + info["drop_report"]["n_dropped"]
    np.testing.assert_allclose(frame["__rf__"], frame["yield_3m"] / 100)


# ----------------------------------------------------------------------------------------------- causality
@pytest.mark.parametrize("model", ["mlp", "self_attention", "lightgbm"])
def test_test_span_targets_never_reach_a_fit(tmp_path, model):
    frame, _ = study_data(tiny(tmp_path))
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    frame.to_parquet(a)
    scrambled = frame.copy()
    test = scrambled["__split__"] == "test"
    scrambled.loc[test, "__y__"] = np.random.default_rng(0).normal(0, 0.05, int(test.sum()))
    scrambled.to_parquet(b)
    params = {"mlp": FAST, "self_attention": ATT, "lightgbm": {"n_estimators": 20}}[model]
    pa = fit_selector(str(a), model, 0, params, explain=False)["pred"]
    pb = fit_selector(str(b), model, 0, params, explain=False)["pred"]
    pd.testing.assert_series_equal(pa, pb)


# ----------------------------------------------------------------------------------------------- the run
def test_tables_have_the_seed_paper_shape_and_the_statistics(study):
    t = study.tables["sharpe"]
    assert list(t.index) == ["ridge", "lightgbm", "mlp", "self_attention", "cross_attention", "vae_features",
                             "buy_and_hold"]
    for col in ("sharpe_train_mean", "sharpe_test_mean", "sharpe_test_std", "sharpe_test_tbill_mean", "ci_low",
                "ci_high", "psr_vs_bh", "dsr", "diff_p_value", "hit_rate_mean", "turnover_mean",
                "max_drawdown_mean"):
        assert col in t.columns
    models = t.drop("buy_and_hold")
    invested = models.dropna(subset=["ensemble_sharpe_test"])  # a 3-epoch model may stay in cash: Sharpe NaN
    assert len(invested) >= 3
    assert (invested["ci_low"] <= invested["ensemble_sharpe_test"]).all()
    assert (invested["ensemble_sharpe_test"] <= invested["ci_high"]).all()
    assert invested["dsr"].between(0, 1).all() and invested["psr_vs_bh"].between(0, 1).all()
    never = models[models["time_in_market_mean"] == 0]
    assert never["sharpe_test_mean"].isna().all() and never["dsr"].isna().all()
    assert models["hit_rate_mean"].between(0.3, 0.7).all()
    assert models.loc["mlp", "sharpe_test_std"] >= 0
    assert (models["n_seeds_in_cash"] <= models["n_seeds"]).all()
    assert list(study.tables["headline"].columns)[:3] == ["Sharpe train", "Sharpe test", "Sharpe test (T-bill)"]
    # ridge is deterministic (one fit); a variant that never invested has no Sharpe ratio to deflate with
    assert study.metrics["n_trials"] == 1 + 5 * 2 - models["n_seeds_in_cash"].sum()
    assert "best mean test Sharpe" in study.summary()


def test_buy_and_hold_row_is_the_index_itself(study, tmp_path):
    from latentquant.evaluation import sharpe_ratio

    frame, _ = study_data(tiny(tmp_path))
    y = frame.loc[frame["__split__"] == "test", "__y__"]
    bh = study.tables["sharpe"].loc["buy_and_hold"]
    assert bh["sharpe_test_mean"] == pytest.approx(sharpe_ratio(y))
    assert bh["hit_rate_mean"] == pytest.approx((y > 0).mean())


def test_report_files_and_importance(study):
    path = study.path
    for name in ("report.html", "metrics.json", "tables/headline.md", "tables/regime_self_attention.csv",
                 "tables/global_importance.csv", "tables/pretraining.csv", "tables/semi_supervised.csv"):
        assert (path / name).exists(), name
    figures = {p.stem for p in (path / "figures").iterdir()}
    assert {"equity", "importance_self_attention", "regime_cross_attention", "pretraining"} <= figures
    regime = pd.read_csv(path / "tables" / "regime_cross_attention.csv", index_col=0)
    assert set(regime.index) == {"vix", "vix_change", "yield_3m", "yield_10y", "term_spread"}
    assert regime["p_value"].between(0, 1).all()
    pre = study.tables["pretraining"]
    assert set(pre.index.get_level_values("arm")) == {"target_only", "pretrained", "fine_tuned"}
    semi = study.tables["semi_supervised"]
    assert set(semi.index) == {"semi_supervised", "supervised_only"}
    assert semi["auc_mean"].between(0, 1).all()


def test_rerun_resumes_from_the_store_with_identical_tables(study, tmp_path):
    again = run(tiny(study.path))
    pd.testing.assert_frame_equal(again.tables["sharpe"], study.tables["sharpe"])
    assert again.metrics["fit_seconds"] < study.metrics["fit_seconds"]


# ----------------------------------------------------------------------------------------------- CLI
def test_cli_select_run_bad_config_is_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("models: [ridge, lstm]\n")
    result = CliRunner().invoke(app, ["select", "run", "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: unknown model name(s) ['lstm']")
    assert "Traceback" not in result.output


# ----------------------------------------------------------------------------------------------- base classes, registry
def test_config_and_result_stand_on_the_study_base(study):
    from latentquant.experiments._config import StudyConfig, StudyResult
    from latentquant.experiments.feature_selection import SelectionStudyResult

    cfg = SelectionStudyConfig.from_dict({"seeds": [3], "models": ["ridge"]})
    assert isinstance(cfg, StudyConfig) and cfg.to_dict()["seeds"] == [3]
    assert isinstance(study, SelectionStudyResult) and isinstance(study, StudyResult)
    with pytest.raises(TypeError):
        study.metrics["seeds"] = [9]  # type: ignore[index]  # read-only
    assert study.table("sharpe").equals(study.tables["sharpe"])


def test_models_come_from_the_selection_registry():
    from latentquant.experiments.feature_selection import MODEL_NAMES, _seeds_of, _takes_validation
    from latentquant.models.selection import SELECTION_MODELS, LightGBMBaseline, RidgeBaseline

    assert MODEL_NAMES == ("ridge", "lightgbm", "mlp", "self_attention", "cross_attention", "vae_features")
    assert "semi_supervised_vae" in SELECTION_MODELS and "semi_supervised_vae" not in MODEL_NAMES  # a classifier
    assert isinstance(make_model("ridge", 5), RidgeBaseline)
    lgbm = make_model("lightgbm", 5, {"n_estimators": 10})
    assert isinstance(lgbm, LightGBMBaseline) and lgbm.seed == 5 and lgbm.n_estimators == 10
    mlp = make_model("mlp", 5, {"seed": 1})
    assert mlp.seed == 1 and mlp.verbose is False  # explicit params win over the study's defaults
    cfg = SelectionStudyConfig(seeds=[4, 7])
    assert _seeds_of(cfg, "ridge") == [4] and _seeds_of(cfg, "mlp") == [4, 7]  # ridge has no randomness
    assert not _takes_validation(RidgeBaseline()) and _takes_validation(mlp)
    assert not _takes_validation(lgbm) and _takes_validation(LightGBMBaseline(early_stopping_rounds=5))


def test_seed_metrics_are_the_evaluation_statistics():
    from latentquant.evaluation import sharpe_ratio, strategy_returns
    from latentquant.experiments.feature_selection import _seed_metrics

    dates = pd.bdate_range("2020-01-01", periods=200)
    rng = np.random.default_rng(0)
    y = rng.normal(0.0005, 0.01, 200)
    frame = pd.DataFrame({"__y__": y, "__rf__": 0.02, "__split__": ["train"] * 100 + ["test"] * 100}, index=dates)
    pred = pd.Series(y + rng.normal(0, 0.01, 200), index=dates)
    cfg = SelectionStudyConfig(cost_bps=2.0)
    out = _seed_metrics(pred, frame, cfg)
    p, r = pred.iloc[100:], y[100:]
    pos = (p > 0).astype(float)
    gross = strategy_returns(pos.to_numpy(), r, cost_bps=2.0)
    assert out["sharpe_test"] == pytest.approx(sharpe_ratio(gross), rel=1e-12)
    assert out["sharpe_test_tbill"] == pytest.approx(
        sharpe_ratio(strategy_returns(pos.to_numpy(), r, rf=0.02, cost_bps=2.0), rf=0.02), rel=1e-12)
    assert out["time_in_market"] == pytest.approx(pos.mean())
    assert out["turnover"] == pytest.approx(np.abs(np.diff(pos.to_numpy(), prepend=0.0)).mean())
    assert out["hit_rate"] == pytest.approx(np.mean(np.sign(p.to_numpy()) == np.sign(r)))
    assert out["mse_1e4"] == pytest.approx(1e4 * np.mean((p.to_numpy() - r) ** 2))
    assert out["r2_oos_pct"] == pytest.approx(100 * (1 - np.sum((r - p.to_numpy()) ** 2) / np.sum(r**2)))
    assert list(out) == ["sharpe_train", "sharpe_test", "sharpe_test_tbill", "hit_rate", "turnover", "max_drawdown",
                         "time_in_market", "mse_1e4", "r2_oos_pct"]
