"""The VAE returns study: reproducible, causal (no look-ahead), honest about its inputs."""

import json

import numpy as np
import pandas as pd
import pytest

from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments import VAEReturnsConfig, run_vae_returns


def write_prices(path, shock_after=None, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-01-01", periods=300)
    f = rng.normal(0, 0.01, size=(300, 2))
    rets = f @ rng.uniform(0.2, 1.5, size=(2, 5)) + rng.normal(0, 0.004, size=(300, 5))
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rets, axis=0)), index=dates, columns=list("ABCDE"))
    if shock_after is not None:
        prices.loc[prices.index > shock_after] *= np.linspace(1, 3, (prices.index > shock_after).sum())[:, None]
    prices.rename_axis("date").to_csv(path)
    return path


def config(path, out, **kw):
    base = dict(data=None, path=str(path), train_end="2018-10-31", latent_dim=2, hidden_dims=[8], epochs=4,
                seeds=[0, 1], n_scenarios=200, out=str(out), verbose=False)
    base.update(kw)
    return VAEReturnsConfig(**base)


def test_same_seed_same_numbers(tmp_path):
    p = write_prices(tmp_path / "p.csv")
    a = run_vae_returns(config(p, tmp_path / "a"))
    b = run_vae_returns(config(p, tmp_path / "b"))
    assert a.metrics["per_seed"] == b.metrics["per_seed"]
    pd.testing.assert_frame_equal(a.scenario_table, b.scenario_table)
    pd.testing.assert_frame_equal(a.latent_mean, b.latent_mean)


def test_perturbing_the_test_span_leaves_the_training_span_unchanged(tmp_path):
    calm = run_vae_returns(config(write_prices(tmp_path / "p1.csv"), tmp_path / "a"))
    shocked = run_vae_returns(config(write_prices(tmp_path / "p2.csv", shock_after="2018-10-31"), tmp_path / "b"))
    train_idx = calm.latent_mean.index[calm.latent_mean.index <= "2018-10-31"]
    pd.testing.assert_frame_equal(calm.latent_mean.loc[train_idx], shocked.latent_mean.loc[train_idx])
    assert [r["train_r2"] for r in calm.metrics["per_seed"]] == [r["train_r2"] for r in shocked.metrics["per_seed"]]
    assert calm.metrics["anomaly_threshold"] == shocked.metrics["anomaly_threshold"]
    assert calm.metrics["vae_test_r2_mean"] != shocked.metrics["vae_test_r2_mean"]


def test_result_tables_and_summary(tmp_path):
    import dataclasses

    from latentquant.experiments._config import StudyResult

    r = run_vae_returns(config(write_prices(tmp_path / "p.csv"), tmp_path / "a"))
    assert isinstance(r, StudyResult)
    assert list(r.r2_table.columns) == ["train R²", "test R²", "test R² std (seeds)", "n"]
    assert r.scenario_table.loc["historical test span", "corr_distance"] == pytest.approx(0.0, abs=1e-12)
    assert (r.latent_std.to_numpy() > 0).all()
    assert "n=2 seeds" in r.summary()
    assert sorted(r.tables) == ["latent_mean", "latent_std", "r2", "r2_per_seed", "scenario_quality", "top_anomalies"]
    # the tables written to the run directory are the result's tables
    pd.testing.assert_frame_equal(pd.read_csv(r.path / "tables" / "r2.csv", index_col=0), r.r2_table)
    # read-only: properties and table() hand out copies; metrics cannot be reassigned
    latent, r2 = r.latent_mean, r.table("r2")
    latent.iloc[0, 0] = r2.iloc[0, 0] = 1e9
    assert r.latent_mean.iloc[0, 0] != 1e9 and r.r2_table.iloc[0, 0] != 1e9
    with pytest.raises(TypeError):
        r.metrics["n_seeds"] = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.path = tmp_path  # type: ignore[misc]
    with pytest.raises(ConfigError, match=r"^no table 'loadings'; tables: \['latent_mean', "):
        r.table("loadings")
    assert r.to_dict()["metrics"]["n_seeds"] == 2 and "r2" in r.to_dict()["tables"]


def test_config_errors(tmp_path):
    p = write_prices(tmp_path / "p.csv")
    with pytest.raises(ConfigError, match="Give exactly one data source"):
        run_vae_returns(config(p, tmp_path / "a", data="sp500_stocks"))
    with pytest.raises(ConfigError, match="input must be 'prices' or 'returns'"):
        run_vae_returns(config(p, tmp_path / "a", input="levels"))
    with pytest.raises(DataValidationError, match="The training span has 7 rows; at least 20 are needed"):
        run_vae_returns(config(p, tmp_path / "a", train_end="2018-01-10"))
    with pytest.raises(ConfigError, match=r"^seeds must be a list of non-negative integers \(at least 1\), got \[\]\.$"):
        run_vae_returns(config(p, tmp_path / "a", seeds=[]))
    with pytest.raises(ConfigError, match=r"^anomaly_quantile must be a number in \(0.5, 1\), got 1\.$"):
        run_vae_returns(config(p, tmp_path / "a", anomaly_quantile=1))
    with pytest.raises(ConfigError, match=r"^hidden_dims must be a list of positive integers, got \[0\]\.$"):
        run_vae_returns(config(p, tmp_path / "a", hidden_dims=[0]))
    assert not (tmp_path / "a").exists()
    with pytest.raises(ConfigError, match=r"unknown study option\(s\) \['latent'\]"):
        VAEReturnsConfig.from_dict({"latent": 3})


# ---------------------------------------------------------------------------------------------- factor model study
def factor_config(path, out, **kw):
    """A tiny FactorStudyConfig: one universe on `path` (300 business days × 5 assets)."""
    from latentquant.experiments.factor_model import FactorStudyConfig, Universe

    u = dict(name="sim", data=None, path=str(path), train_end="2018-09-28", n_factors=2,
             stress_period=["2018-03-01", "2018-04-30"], k_grid=[1, 2], beta_grid=[0.5])
    u.update(kw.pop("universe", {}))
    base = dict(universes=[Universe(**u)], hidden_dims=[8], epochs=4, seeds=[0], n_scenarios=300, fan_paths=50,
                fan_horizon=10, out=str(out), verbose=False)
    base.update(kw)
    return FactorStudyConfig(**base)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One factor study run: (prices csv, result)."""
    from latentquant.experiments.factor_model import run

    root = tmp_path_factory.mktemp("factor_study")
    p = write_prices(root / "p.csv")
    return p, run(factor_config(p, root / "run"))


def test_factor_study_metrics_tables_and_run_directory(study):
    from latentquant.models.factor import VAEFactorModel

    _, r = study
    m = r.metrics["universes"]["sim"]
    assert m["n_assets"] == 5 and m["n_factors"] == 2 and m["n_seeds"] == 1 and m["n_fits"] == 3
    assert m["train_span"] == ["2018-01-02", "2018-09-28"] and m["test_span"] == ["2018-10-01", "2019-02-22"]
    assert m["train_rows"] + m["test_rows"] == 299
    assert m["euler_sum_error"] < 1e-12 and m["jacobian_fd_rel_error"] < 1e-3
    # the equal-weight risk numbers are those of the saved model's own decomposition of a 1/N book
    saved = VAEFactorModel.load(r.path / "model" / "sim")
    rd = saved.risk_decomposition(np.full(5, 1 / 5))
    assert m["ew_factor_share"] == pytest.approx(rd.factor_share, rel=1e-12)
    assert m["ew_total_var_linear"] == pytest.approx(rd.total_variance, rel=1e-12)
    assert 0 < m["ew_factor_share_mc"] <= 1 and "Monte Carlo" in r.summary()
    assert m["stressed_vol_ratio"] == pytest.approx(m["stressed_ew_vol"] / m["prior_ew_vol"])
    assert m["stress_period"] == ["2018-03-01", "2018-04-30"]
    # the headline numbers are the K = n_factors row of the K sweep
    assert set(m["r2_by_k"]) == {"1", "2"}
    assert m["vae_test_r2_mean"] == m["r2_by_k"]["2"]["VAE"] and m["pca_test_r2"] == m["r2_by_k"]["2"]["PCA"]
    assert np.isnan(m["vae_test_r2_std"])  # one seed: no spread; null in metrics.json, listed as undefined
    on_disk = json.loads((r.path / "metrics.json").read_text())
    assert on_disk["universes"]["sim"]["vae_test_r2_std"] is None
    assert "universes/sim/vae_test_r2_std" in on_disk["undefined"]
    tables = r.tables["sim"]
    assert list(tables["r2_by_k"].index) == [1, 2]
    assert list(tables["r2_by_k"].columns) == ["VAE", "linear AE", "PCA", "VAE − PCA", "NLL VAE", "NLL PPCA", "NLL FA"]
    assert list(tables["beta_sweep"].index) == [0.5]
    assert list(tables["risk_decomposition"].index) == ["f1", "f2", "interaction", "factor total", "idiosyncratic",
                                                        "total"]
    # calibration: the VAE's Monte Carlo covariance is the saved model's; the EW ratio is realised / predicted
    assert list(tables["variance_calibration"].index) == ["VAE (Monte Carlo)", "VAE (linearised)", "PPCA (K=2)",
                                                          "FA (K=2)", "sample covariance"]
    cal = m["variance_calibration"]["VAE (Monte Carlo)"]
    prices = pd.read_csv(study[0], index_col=0, parse_dates=True)
    test = np.log(prices).diff().loc["2018-10-01":].to_numpy()
    predicted = np.full(5, 0.2) @ saved.covariance(n_samples=300, seed=0).to_numpy() @ np.full(5, 0.2)
    assert cal["ew_ratio"] == pytest.approx((test @ np.full(5, 0.2)).var(ddof=1) / predicted, rel=1e-10)
    assert cal["ew_ratio_low"] < cal["ew_ratio"] < cal["ew_ratio_high"] and 0 <= cal["random_coverage"] <= 1
    # static VaR backtests of the training-span scenario sets (not the test span itself, not the stress period)
    var = tables["var_backtests"]
    assert [name for name, _ in var.index[::2]] == ["historical training span", "VAE prior + idiosyncratic noise",
                                                    "VAE prior, decoder mean only", "Gaussian fitted on training"]
    ew_test = test @ np.full(5, 0.2)
    row = var.loc[("historical training span", 0.05)]
    train = np.log(prices).diff().loc[:"2018-09-28"].dropna().to_numpy() @ np.full(5, 0.2)
    assert row["VaR"] == pytest.approx(-np.quantile(train, 0.05), rel=1e-12)
    assert row["hits"] == (ew_test < -row["VaR"]).sum() and row["expected"] == pytest.approx(0.05 * len(ew_test))
    for name in ("report.html", "metrics.json", "config.json", "manifest.json", "history_sim.json",
                 "model/sim/estimator.json", "factors_sim.parquet", "tables/sim_r2_by_k.csv",
                 "tables/sim_var_backtests.csv"):
        assert (r.path / name).is_file(), name
    assert r.report == r.path / "report.html" and "sim: Explained variance" in r.report.read_text()
    factors = pd.read_parquet(r.path / "factors_sim.parquet")
    assert list(factors.columns) == ["mean_f1", "mean_f2", "std_f1", "std_f2"] and len(factors) == 299
    model = VAEFactorModel.load(r.path / "model" / "sim")
    np.testing.assert_allclose(factors[["mean_f1", "mean_f2"]].iloc[: m["train_rows"]].to_numpy(),
                               model.train_factors_.mean.to_numpy())
    assert "sim: K=2, test R² " in r.summary() and f"report: {r.report}" in r.summary()


def test_factor_study_result_is_read_only(study):
    import dataclasses

    from latentquant.experiments._config import StudyResult

    _, r = study
    assert isinstance(r, StudyResult)
    table = r.table("r2_by_k")  # one universe: no name needed
    pd.testing.assert_frame_equal(table, r.table("r2_by_k", "sim"))
    table.iloc[0, 0] = "changed"
    books = r.table("long_short", "sim")
    books.iloc[0, 0] = 1e9
    assert r.table("r2_by_k").iloc[0, 0] != "changed" and r.table("long_short").iloc[0, 0] != 1e9
    with pytest.raises(TypeError):
        r.tables["sim"]["r2_by_k"] = table
    with pytest.raises(TypeError):
        r.tables["other"] = {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.metrics = {}  # type: ignore[misc]
    with pytest.raises(ConfigError, match=r"^no universe 'bonds'; universes: \['sim'\]\.$"):
        r.table("r2_by_k", "bonds")
    with pytest.raises(ConfigError, match=r"^no table 'alphas' for universe 'sim'; tables: \['beta_sweep', "):
        r.table("alphas")
    as_dict = r.to_dict()
    assert as_dict["path"] == str(r.path) and set(as_dict["tables"]["sim"]) == set(r.tables["sim"])


def test_factor_study_pca_r2_matches_a_direct_computation(study):
    """PCA's out-of-sample R² from first principles: z-score on the training span, project the test span."""
    p, r = study
    prices = pd.read_csv(p, index_col="date", parse_dates=True)
    lr = np.log(prices).diff().iloc[1:]
    train, test = lr.loc[:"2018-09-28"], lr.loc["2018-10-01":]
    mu, sd = train.mean(), train.std(ddof=1)
    zt, zs = ((train - mu) / sd).to_numpy(), ((test - mu) / sd).to_numpy()
    centre = zt.mean(axis=0)
    for k in (1, 2):
        v = np.linalg.svd(zt - centre, full_matrices=False)[2][:k].T
        recon = centre + (zs - centre) @ v @ v.T
        expected = 1 - ((zs - recon) ** 2).sum() / (zs**2).sum()
        assert r.metrics["universes"]["sim"]["r2_by_k"][str(k)]["PCA"] == pytest.approx(expected, rel=1e-9)


def test_factor_study_same_config_same_numbers(study, tmp_path):
    import json

    from latentquant.experiments.factor_model import run

    p, first = study
    second = run(factor_config(p, tmp_path / "again"))

    def numbers(path):
        m = json.loads((path / "metrics.json").read_text())["universes"]
        return {name: {k: v for k, v in u.items() if k != "fit_seconds"} for name, u in m.items()}

    assert numbers(second.path) == numbers(first.path)
    for name, table in first.tables["sim"].items():
        pd.testing.assert_frame_equal(second.tables["sim"][name], table, obj=name)


def test_factor_study_bad_config_leaves_no_run_directory(tmp_path):
    from latentquant.experiments.factor_model import Universe, run

    p = write_prices(tmp_path / "p.csv")
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"^universe 'sim': n_factors=5 must be smaller than the number of assets "
                                          r"\(5\)\.$"):
        run(factor_config(p, out, universe={"n_factors": 5}))
    assert not out.exists()
    # a failure in a later universe also leaves nothing, although the first one was analysed
    bad = Universe(name="late", data=None, path=str(p), train_end="2030-01-01", n_factors=2, stress_period=None,
                   k_grid=[2], beta_grid=[])
    two = factor_config(p, out, universe={"k_grid": [2], "beta_grid": [], "stress_period": None}, epochs=1)
    two.universes.append(bad)
    with pytest.raises(DataValidationError, match="The test span"):
        run(two)
    assert not out.exists()
    with pytest.raises(ConfigError, match=r"^universe names must be unique, got \['sim', 'sim'\]\.$"):
        cfg = factor_config(p, out)
        cfg.universes = cfg.universes * 2
        run(cfg)
    with pytest.raises(ConfigError, match=r"^n_scenarios must be an integer >= 100, got 50\.$"):
        run(factor_config(p, out, n_scenarios=50))
    assert not out.exists()


def test_factor_study_config_from_dict_rejects_unknown_keys():
    from dataclasses import fields

    from latentquant.experiments.factor_model import FactorStudyConfig, Universe

    known = sorted(f.name for f in fields(FactorStudyConfig))
    with pytest.raises(ConfigError) as exc:
        FactorStudyConfig.from_dict({"seeds": [0], "epoch": 3, "n_scenario": 10})
    assert str(exc.value) == f"unknown study option(s) ['epoch', 'n_scenario']; known options: {known}."
    u_known = sorted(f.name for f in fields(Universe))
    with pytest.raises(ConfigError) as exc:
        FactorStudyConfig.from_dict({"universes": [{"name": "a"}, {"name": "b", "factors": 3}]})
    assert str(exc.value) == f"universes[1]: unknown option(s) ['factors']; known options: {u_known}."
    with pytest.raises(ConfigError, match=r"^universes\[0\] must be a mapping of options, got 'stocks'\.$"):
        FactorStudyConfig.from_dict({"universes": ["stocks"]})
    with pytest.raises(ConfigError, match="the study config must be a mapping of options, got list"):
        FactorStudyConfig.from_dict([("seeds", [0])])
    cfg = FactorStudyConfig.from_dict({"seeds": [1], "universes": [{"name": "x", "n_factors": 3}]})
    assert cfg.seeds == [1] and isinstance(cfg.universes[0], Universe) and cfg.universes[0].n_factors == 3
    assert cfg.universes[0].data == "sp500_stocks"  # unspecified options keep their defaults


def test_factor_demo_yaml_is_a_valid_config():
    from pathlib import Path

    import yaml

    from latentquant.experiments.factor_model import FactorStudyConfig

    path = Path(__file__).resolve().parents[1] / "configs" / "factor_demo.yaml"
    cfg = FactorStudyConfig.from_dict(yaml.safe_load(path.read_text()))
    cfg.validate()
    assert [u.name for u in cfg.universes] == ["stocks", "crypto"]
    stocks, crypto = cfg.universes
    assert (stocks.data, stocks.n_factors, stocks.stress_period) == ("sp500_stocks", 5, ["2008-09-01", "2009-03-31"])
    assert (crypto.data, crypto.n_factors, crypto.periods_per_year) == ("crypto_daily", 2, 365)
    assert cfg.seeds == [0, 1, 2] and cfg.n_scenarios == 20000
    assert (cfg.likelihood, cfg.linear_skip, cfg.init, cfg.beta) == ("student_t", True, "auto", 1.0)  # calibrated


def test_factor_study_config_rejects_scalar_seeds():
    from latentquant.experiments.factor_model import FactorStudyConfig

    with pytest.raises(ConfigError):
        FactorStudyConfig.from_dict({"seeds": 3}).validate()


def test_factor_study_config_rejects_non_list_universes():
    from latentquant.experiments.factor_model import FactorStudyConfig

    with pytest.raises(ConfigError):
        FactorStudyConfig.from_dict({"universes": 5})


# ---------------------------------------------------------------------------------------------- load_study_returns
def test_load_study_returns_drops_a_return_spanning_a_calendar_hole(tmp_path):
    from latentquant.exceptions import DataWarning
    from latentquant.experiments._data import load_study_returns

    rng = np.random.default_rng(1)
    dates = pd.bdate_range("2020-01-01", periods=60)
    dates = dates[(dates < "2020-02-03") | (dates > "2020-02-14")]  # 2020-01-31 (Fri) → 2020-02-17 (Mon): 17 days
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (len(dates), 3)), axis=0)), index=dates,
                          columns=list("XYZ"))
    path = tmp_path / "holes.csv"
    prices.rename_axis("date").to_csv(path)
    with pytest.warns(DataWarning) as record:
        rets, source = load_study_returns(None, str(path))
    assert source == f"user prices file {path}"
    assert [str(w.message) for w in record] == [
        f"Dropped 1 return(s) of {source} spanning a calendar hole longer than 7 days (first 2020-02-17)."]
    assert pd.Timestamp("2020-02-17") not in rets.index and len(rets) == len(dates) - 2
    expected = np.log(prices).diff().iloc[1:].drop(pd.Timestamp("2020-02-17"))
    np.testing.assert_allclose(rets.to_numpy(), expected.to_numpy(), rtol=1e-12)
    kept, _ = load_study_returns(None, str(path), max_gap_days=None)
    assert pd.Timestamp("2020-02-17") in kept.index and len(kept) == len(dates) - 1


def test_load_study_returns_crypto_hole_is_dropped():
    from latentquant.exceptions import DataWarning
    from latentquant.experiments._data import load_study_returns

    with pytest.warns(DataWarning) as record:
        rets, source = load_study_returns("crypto_daily", None)
    assert source.startswith("bundled dataset 'crypto_daily'")
    assert f"Dropped 1 return(s) of {source} spanning a calendar hole longer than 7 days (first 2019-04-01)." in [
        str(w.message) for w in record]
    assert rets.shape[1] == 3
    assert pd.Timestamp("2019-04-01") not in rets.index and pd.Timestamp("2019-04-02") in rets.index
    assert not rets.isna().any().any()
    with pytest.raises(ConfigError, match="Bundled datasets hold prices"):
        load_study_returns("crypto_daily", None, "returns")


def test_load_study_returns_inputs(tmp_path):
    from latentquant.experiments._data import load_study_returns

    rng = np.random.default_rng(2)
    simple = pd.DataFrame(rng.normal(0, 0.02, (40, 3)), index=pd.bdate_range("2021-01-01", periods=40),
                          columns=list("XYZ"))
    path = tmp_path / "r.csv"
    simple.rename_axis("date").to_csv(path)
    logged, source = load_study_returns(None, str(path), "returns")
    assert source == f"user returns file {path}"
    np.testing.assert_allclose(logged.to_numpy(), np.log1p(simple.to_numpy()), rtol=1e-12)
    raw, source = load_study_returns(None, str(path), "log_returns")
    assert source == f"user log returns file {path}"
    np.testing.assert_allclose(raw.to_numpy(), simple.to_numpy(), rtol=1e-12)
    with pytest.raises(ConfigError, match=r"^input must be one of \['prices', 'log_returns', 'returns'\], got 'pct'\.$"):
        load_study_returns(None, str(path), "pct")
    with pytest.raises(ConfigError, match="Give exactly one data source"):
        load_study_returns("crypto_daily", str(path))


def test_load_study_returns_first_return_spanning_a_hole_is_dropped(tmp_path):
    from latentquant.exceptions import DataWarning
    from latentquant.experiments._data import load_study_returns

    dates = pd.DatetimeIndex(["2020-01-02"]).append(pd.bdate_range("2020-01-20", periods=30))
    prices = pd.DataFrame(np.exp(np.random.default_rng(3).normal(0, 0.01, (31, 3)).cumsum(axis=0)), index=dates,
                          columns=list("XYZ"))
    path = tmp_path / "p.csv"
    prices.rename_axis("date").to_csv(path)
    with pytest.warns(DataWarning, match="calendar hole"):
        rets, _ = load_study_returns(None, str(path))
    assert pd.Timestamp("2020-01-20") not in rets.index


def test_load_study_returns_rejects_simple_returns_below_minus_one(tmp_path):
    from latentquant.experiments._data import load_study_returns

    simple = pd.DataFrame(np.full((30, 3), 0.01), index=pd.bdate_range("2021-01-01", periods=30), columns=list("XYZ"))
    simple.iloc[5, 1] = -1.5
    path = tmp_path / "r.csv"
    simple.rename_axis("date").to_csv(path)
    with pytest.raises(DataValidationError, match="<= -1"):
        load_study_returns(None, str(path), "returns")
