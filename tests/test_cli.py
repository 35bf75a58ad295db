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
    (["--hidden", "a,b"], "error: --hidden-dims must be comma-separated integers"),
    (["--hidden-dims", "a,b"], "error: --hidden-dims must be comma-separated integers"),
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


# ---------------------------------------------------------------------------------------------- factors
# One tiny model (300 business days × 5 assets, fitted on 2018 only) is shared by the scenario and risk tests.
FACTOR_ASSETS = list("ABCDE")
TRAIN_END = "2018-12-31"  # the data run to 2019-02-22: the last weeks are outside the training span


def write_factor_prices(path, n_days=300, n_assets=5, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-01-01", periods=n_days)
    f = rng.normal(0, 0.01, size=(n_days, 2))
    rets = f @ rng.uniform(0.2, 1.5, size=(2, n_assets)) + rng.normal(0, 0.004, size=(n_days, n_assets))
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rets, axis=0)), index=dates, columns=list("ABCDEFGH")[:n_assets])
    prices.rename_axis("date").to_csv(path)
    return path


def one_error_line(res, expected):
    """A user error: exit status 2, exactly the pinned line on stderr, no traceback."""
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert res.stderr == expected + "\n"
    assert "Traceback" not in res.output


@pytest.fixture(scope="module")
def factor_run(tmp_path_factory):
    """`factors fit` once: (CliRunner result, csv path, run directory)."""
    root = tmp_path_factory.mktemp("factors")
    csv = write_factor_prices(root / "prices.csv")
    out = root / "fit"
    res = runner.invoke(app, ["factors", "fit", "--csv", str(csv), "--factors", "2", "--epochs", "3",
                              "--train-end", TRAIN_END, "--out", str(out), "--quiet"])
    return res, csv, out


@pytest.fixture(scope="module")
def fitted(factor_run):
    from latentquant.models.factor import VAEFactorModel

    res, _, out = factor_run
    assert res.exit_code == 0, res.output
    return VAEFactorModel.load(out / "model")


def test_factors_fit_writes_model_factors_and_report(factor_run, fitted):
    res, _, out = factor_run
    assert res.exit_code == 0, (res.output, res.exception)
    for name in ("model/estimator.json", "factors.parquet", "report.html", "tables/loadings.csv",
                 "metrics.json", "config.json", "manifest.json"):
        assert (out / name).is_file(), name
    n_train = len(pd.bdate_range("2018-01-02", TRAIN_END))  # log returns: the first price date is lost
    assert f"fitted K=2 factors on 5 assets × {n_train} days" in res.stdout
    assert f"model: {out / 'model'};" in res.stdout and f"report: {out / 'report.html'}" in res.stdout
    assert list(fitted.columns_) == FACTOR_ASSETS and fitted.n_factors == 2 and fitted.epochs == 3
    factors = pd.read_parquet(out / "factors.parquet")
    assert list(factors.columns) == ["mean_f1", "mean_f2", "std_f1", "std_f2"]
    assert factors.index[0] == pd.Timestamp("2018-01-02") and factors.index[-1] == pd.Timestamp(TRAIN_END)
    # the factors written are the saved model's training posterior
    np.testing.assert_allclose(factors[["mean_f1", "mean_f2"]].to_numpy(), fitted.train_factors_.mean.to_numpy())
    loadings = pd.read_csv(out / "tables" / "loadings.csv", index_col=0)
    assert list(loadings.index) == FACTOR_ASSETS and list(loadings.columns) == ["f1", "f2"]
    np.testing.assert_allclose(loadings.to_numpy(), fitted.factor_loadings().to_numpy(), rtol=1e-6)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and len(metrics["kl_per_factor"]) == 2


def test_factors_fit_same_seed_same_factors(tmp_path, factor_run):
    _, csv, out = factor_run
    res = runner.invoke(app, ["factors", "fit", "--csv", str(csv), "--factors", "2", "--epochs", "3",
                              "--train-end", TRAIN_END, "--out", str(tmp_path / "again"), "--quiet"])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again" / "factors.parquet"),
                                  pd.read_parquet(out / "factors.parquet"))


def test_factors_scenarios_prior_matches_the_library_and_is_reproducible(tmp_path, factor_run, fitted):
    _, _, out = factor_run
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    for p in paths:
        res = runner.invoke(app, ["factors", "scenarios", "--model", str(out), "-n", "100", "--seed", "7",
                                  "--out", str(p)])
        assert res.exit_code == 0, (res.output, res.exception)
        assert res.stdout.startswith(f"wrote 100 prior scenarios × 5 assets to {p}")
    assert paths[0].read_bytes() == paths[1].read_bytes()
    scen = pd.read_parquet(paths[0])
    assert scen.shape == (100, 5) and list(scen.columns) == FACTOR_ASSETS
    pd.testing.assert_frame_equal(scen, fitted.generate_scenarios(100, "prior", seed=7))
    other = tmp_path / "c.parquet"
    assert runner.invoke(app, ["factors", "scenarios", "--model", str(out), "-n", "100", "--seed", "8",
                               "--out", str(other)]).exit_code == 0
    assert not np.allclose(pd.read_parquet(other).to_numpy(), scen.to_numpy())


def test_factors_scenarios_stressed_conditional_and_interpolate(tmp_path, factor_run, fitted):
    _, csv, out = factor_run
    model_dir = str(out / "model")  # the model/ folder itself is accepted too
    res = runner.invoke(app, ["factors", "scenarios", "--model", model_dir, "-n", "200", "--mode", "stressed",
                              "--stress-period", "2018-03-01,2018-04-30", "--out", str(tmp_path / "s.csv")])
    assert res.exit_code == 0, (res.output, res.exception)
    scen = pd.read_csv(tmp_path / "s.csv", index_col=0)
    expected = fitted.generate_scenarios(200, "stressed", stress_period=("2018-03-01", "2018-04-30"), seed=0)
    assert list(scen.columns) == FACTOR_ASSETS
    np.testing.assert_allclose(scen.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-15)

    res = runner.invoke(app, ["factors", "scenarios", "--model", model_dir, "-n", "200", "--mode", "conditional",
                              "--fix", "f1=2", "--no-noise", "--out", str(tmp_path / "c.parquet")])
    assert res.exit_code == 0, (res.output, res.exception)
    scen = pd.read_parquet(tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(scen, fitted.generate_scenarios(200, "conditional", fixed={"f1": 2.0}, seed=0,
                                                                  noise=False))
    assert not scen.equals(fitted.generate_scenarios(200, "prior", seed=0, noise=False))

    res = runner.invoke(app, ["factors", "scenarios", "--model", model_dir, "-n", "5", "--mode", "interpolate",
                              "--start", "2018-03-01", "--end", "2018-06-01", "--out", str(tmp_path / "i.parquet")])
    assert res.exit_code == 0, (res.output, res.exception)
    path = pd.read_parquet(tmp_path / "i.parquet")
    assert len(path) == 5 and path.index.name == "alpha"
    np.testing.assert_allclose(path.index.to_numpy(), np.linspace(0, 1, 5))
    ends = fitted.decode(fitted.train_factors_.mean.loc[["2018-03-01", "2018-06-01"]])
    # float32 network: batches of different sizes agree to float32 precision only
    np.testing.assert_allclose(path.iloc[[0, -1]].to_numpy(), ends.to_numpy(), rtol=1e-5, atol=1e-8)

    # a period after the training span is found in --csv (same data, same units)
    res = runner.invoke(app, ["factors", "scenarios", "--model", model_dir, "-n", "100", "--mode", "stressed",
                              "--stress-period", "2019-01-15,2019-02-15", "--csv", str(csv),
                              "--out", str(tmp_path / "late.parquet")])
    assert res.exit_code == 0, (res.output, res.exception)
    assert pd.read_parquet(tmp_path / "late.parquet").shape == (100, 5)


def test_factors_scenarios_user_errors(tmp_path, factor_run):
    _, _, out = factor_run
    base = ["factors", "scenarios", "--model", str(out), "-n", "10"]
    txt = tmp_path / "x.txt"
    one_error_line(runner.invoke(app, [*base, "--out", str(txt)]),
                   f"error: --out must end in .csv or .parquet, got {txt}.")
    assert not txt.exists()
    ok = str(tmp_path / "s.parquet")
    one_error_line(runner.invoke(app, [*base, "--mode", "conditional", "--fix", "f1", "--out", ok]),
                   "error: --fix takes FACTOR=VALUE such as f1=-2.5, got 'f1'.")
    one_error_line(runner.invoke(app, [*base, "--mode", "conditional", "--fix", "f1=high", "--out", ok]),
                   "error: --fix takes FACTOR=VALUE such as f1=-2.5, got 'f1=high'.")
    one_error_line(runner.invoke(app, [*base, "--mode", "conditional", "--fix", "f3=1", "--out", ok]),
                   "error: Unknown factor 'f3'; use a name in ['f1', 'f2'] or an index 0..1.")
    one_error_line(runner.invoke(app, [*base, "--mode", "stressed", "--stress-period", "2019-01-15,2019-02-15",
                                       "--out", ok]),
                   "error: stress_period ('2019-01-15', '2019-02-15') has 0 dates in the training span "
                   "(2018-01-02 … 2018-12-31); at least 2 are needed. Choose a period inside it, or pass data "
                   "covering the period (data=…; CLI: --data/--csv).")
    one_error_line(runner.invoke(app, [*base, "--mode", "stressed", "--stress-period", "2018-03-01", "--out", ok]),
                   "error: --stress-period must be two dates separated by a comma, e.g. 2008-09-01,2009-03-31; "
                   "got '2018-03-01'.")
    one_error_line(runner.invoke(app, [*base, "--mode", "interpolate", "--start", "2018-03-01", "--out", ok]),
                   "error: mode='interpolate' needs start= and end= dates (e.g. a calm day and a crisis day).")
    one_error_line(runner.invoke(app, [*base, "--mode", "sideways", "--out", ok]),
                   "error: mode must be one of ['prior', 'stressed', 'conditional', 'interpolate'], got 'sideways'.")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_error_line(runner.invoke(app, ["factors", "scenarios", "--model", str(empty), "--out", ok]),
                   f"error: No fitted factor model in {empty} (looked for estimator.json in {empty} and "
                   f"{empty / 'model'}); run `latentquant factors fit ... --out DIR` first.")
    assert not (tmp_path / "s.parquet").exists()


def test_factors_risk_table_matches_the_library(tmp_path, factor_run, fitted):
    _, _, out = factor_run
    res = runner.invoke(app, ["factors", "risk", "--model", str(out), "--out", str(tmp_path / "risk.csv")])
    assert res.exit_code == 0, (res.output, res.exception)
    rows = [line.split()[0] for line in res.stdout.splitlines()[2:]]
    assert rows == ["f1", "f2", "factor", "idiosyncratic", "total"]  # 'factor total'
    assert res.stdout.startswith("Portfolio volatility ") and "(linear)" in res.stdout
    table = pd.read_csv(tmp_path / "risk.csv", index_col=0)
    expected = fitted.risk_decomposition(np.full(5, 0.2)).table()
    assert list(table.index) == ["f1", "f2", "factor total", "idiosyncratic", "total"]
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert table.loc["total", "share"] == pytest.approx(1.0)
    assert table.loc[["factor total", "idiosyncratic"], "variance"].sum() == pytest.approx(table.loc["total", "variance"])


def test_factors_risk_weights_as_pairs_or_csv(tmp_path, factor_run, fitted):
    _, _, out = factor_run
    res = runner.invoke(app, ["factors", "risk", "--model", str(out), "--weights", "A=0.5, B=0.5",
                              "--out", str(tmp_path / "pairs.parquet")])
    assert res.exit_code == 0, (res.output, res.exception)
    expected = fitted.risk_decomposition(pd.Series({"A": 0.5, "B": 0.5})).table()
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "pairs.parquet").to_numpy(), expected.to_numpy(),
                               rtol=1e-12)
    assert not np.allclose(expected.to_numpy(), fitted.risk_decomposition(np.full(5, 0.2)).table().to_numpy())
    wfile = tmp_path / "weights.csv"
    pd.DataFrame({"asset": ["B", "A"], "weight": [0.5, 0.5]}).to_csv(wfile, index=False)
    res_csv = runner.invoke(app, ["factors", "risk", "--model", str(out), "--weights", str(wfile)])
    assert res_csv.exit_code == 0, (res_csv.output, res_csv.exception)
    assert res_csv.stdout == res.stdout


def test_factors_risk_monte_carlo_shows_interaction(tmp_path, factor_run, fitted):
    _, _, out = factor_run
    res = runner.invoke(app, ["factors", "risk", "--model", str(out), "--method", "monte_carlo", "--n-samples",
                              "1000", "--out", str(tmp_path / "mc.csv")])
    assert res.exit_code == 0, (res.output, res.exception)
    assert "(monte_carlo)" in res.stdout
    assert any(line.startswith("interaction ") for line in res.stdout.splitlines())
    table = pd.read_csv(tmp_path / "mc.csv", index_col=0)
    expected = fitted.risk_decomposition(np.full(5, 0.2), method="monte_carlo", n_samples=1000, seed=0).table()
    assert list(table.index) == ["f1", "f2", "interaction", "factor total", "idiosyncratic", "total"]
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_factors_risk_user_errors(tmp_path, factor_run):
    _, _, out = factor_run
    base = ["factors", "risk", "--model", str(out)]
    one_error_line(runner.invoke(app, [*base, "--weights", "A=0.5,ZZZ=0.5"]),
                   "error: weights name assets the model does not know: ['ZZZ']; its assets are 'A', 'B', 'C', 'D', "
                   "'E'.")
    one_error_line(runner.invoke(app, [*base, "--weights", "A"]),
                   "error: --weights takes ASSET=WEIGHT pairs such as AAPL=0.5,MSFT=0.5, got 'A'.")
    bad = tmp_path / "w.csv"
    pd.DataFrame({"name": ["A"], "w": [1.0]}).to_csv(bad, index=False)
    one_error_line(runner.invoke(app, [*base, "--weights", str(bad)]),
                   f"error: {bad} must have columns 'asset' and 'weight', got ['name', 'w'].")
    one_error_line(runner.invoke(app, [*base, "--weights", "A=0,B=0"]),
                   "error: weights are all zero; a portfolio needs at least one non-zero weight.")
    one_error_line(runner.invoke(app, [*base, "--method", "exact"]),
                   "error: method must be 'linear' or 'monte_carlo', got 'exact'.")
    one_error_line(runner.invoke(app, [*base, "--method", "monte_carlo", "--n-samples", "10"]),
                   "error: n_samples must be an integer >= 100, got 10.")


@pytest.mark.parametrize("content, message", [
    ("asset,weight\nA,0.5\nB,half\n", "every weight must be a number, found 'half'"),
    ("", "is not a readable CSV file"),
    ("asset,weight\nA,0.5\nA,0.5\n", "weights name assets more than once: ['A']"),
], ids=["non-numeric", "empty", "duplicate-asset"])
def test_factors_risk_bad_weights_file_is_a_user_error(tmp_path, factor_run, content, message):
    _, _, out = factor_run
    wfile = tmp_path / "weights.csv"
    wfile.write_text(content)
    res = runner.invoke(app, ["factors", "risk", "--model", str(out), "--weights", str(wfile)])
    assert res.exit_code == 2, res.exception
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
    assert message in res.stderr


def test_factors_scenarios_unparseable_stress_period_is_a_user_error(tmp_path, factor_run):
    _, _, out = factor_run
    res = runner.invoke(app, ["factors", "scenarios", "--model", str(out), "-n", "10", "--mode", "stressed",
                              "--stress-period", "abc,def", "--out", str(tmp_path / "s.parquet")])
    assert res.exit_code == 2, res.exception
    assert res.stderr.startswith("error: ")


def test_factors_scenarios_rejected_out_leaves_nothing_behind(tmp_path, factor_run):
    _, _, out = factor_run
    target = tmp_path / "new" / "x.txt"
    res = runner.invoke(app, ["factors", "scenarios", "--model", str(out), "-n", "10", "--out", str(target)])
    assert res.exit_code == 2
    assert not (tmp_path / "new").exists()


def test_factors_fit_unparseable_train_end_is_a_user_error(tmp_path, factor_run):
    _, csv, _ = factor_run
    res = runner.invoke(app, ["factors", "fit", "--csv", str(csv), "--factors", "2", "--epochs", "1",
                              "--train-end", "not-a-date", "--out", str(tmp_path / "r"), "--quiet"])
    assert res.exit_code == 2, res.exception
    assert res.stderr.startswith("error: ")


def test_factors_fit_bad_inputs_exit_2_and_write_nothing(tmp_path):
    csv = write_factor_prices(tmp_path / "prices.csv")
    prices = pd.read_csv(csv)
    single = tmp_path / "single.csv"
    prices[["date", "A"]].to_csv(single, index=False)
    zero = tmp_path / "zero.csv"
    prices.assign(C=prices["C"].where(prices.index != 10, 0.0)).to_csv(zero, index=False)
    date10 = prices["date"].iloc[10]
    out = tmp_path / "r"
    common = ["--epochs", "1", "--out", str(out), "--quiet"]
    one_error_line(runner.invoke(app, ["factors", "fit", "--csv", str(single), "--factors", "1", *common]),
                   "error: X has 1 asset column (['A']); a factor model explains co-movement across assets and needs "
                   "at least 2 columns.")
    one_error_line(runner.invoke(app, ["factors", "fit", "--csv", str(csv), "--factors", "5", *common]),
                   "error: n_factors=5 must be smaller than the number of assets (5); a bottleneck as wide as the "
                   "data explains nothing. Use fewer factors.")
    one_error_line(runner.invoke(app, ["factors", "fit", "--csv", str(zero), "--factors", "2", *common]),
                   f"error: prices file 'zero.csv' column 'C' has a non-positive value: first at {date10} (value 0.0); "
                   "log returns need strictly positive prices; check the column, or if the data are returns, not "
                   "prices, say so (input: returns, --input returns).")
    one_error_line(runner.invoke(app, ["factors", "fit", "--csv", str(csv), "--data", "crypto_daily", *common]),
                   "error: Give exactly one of --data NAME (see `latentquant datasets list`) or --csv PATH.")
    one_error_line(runner.invoke(app, ["factors", "fit", "--csv", str(csv), "--input", "levels", *common]),
                   "error: input must be one of ['prices', 'log_returns', 'returns'], got 'levels'.")
    assert not out.exists()


def study_yaml(path, csv, **top):
    """A tiny study config: one universe on `csv`, fitted on 2018-01 … 2018-09."""
    import yaml

    raw = {"seeds": [0], "epochs": 4, "hidden_dims": [8], "n_scenarios": 200, "fan_paths": 50, "fan_horizon": 10,
           "universes": [{"name": "sim", "data": None, "path": str(csv), "train_end": "2018-09-28",
                          "n_factors": 2, "stress_period": ["2018-03-01", "2018-04-30"], "k_grid": [1, 2],
                          "beta_grid": [0.5]}]}
    raw.update(top)
    path.write_text(yaml.safe_dump(raw))
    return path


def test_factors_report_single_universe_from_csv(tmp_path, factor_run):
    _, csv, _ = factor_run
    out = tmp_path / "study"
    res = runner.invoke(app, ["factors", "report", "--csv", str(csv), "--factors", "2", "--train-end", "2018-09-28",
                              "--test-start", "2018-10-01", "--stress-period", "2018-03-01,2018-04-30",
                              "--seeds", "0", "--epochs", "3", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, (res.output, res.exception)
    assert res.stderr == ""  # --quiet
    assert res.stdout.startswith("prices: K=2, test R² ") and f"report: {out / 'report.html'}" in res.stdout
    for name in ("report.html", "metrics.json", "config.json", "model/prices/estimator.json",
                 "factors_prices.parquet", "tables/prices_r2_by_k.csv", "tables/prices_stress_scenarios.csv"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())["universes"]["prices"]
    assert m["n_factors"] == 2 and m["n_assets"] == 5 and m["n_seeds"] == 1
    assert m["train_span"] == ["2018-01-02", "2018-09-28"] and m["test_span"] == ["2018-10-01", "2019-02-22"]
    assert m["source"] == f"user prices file {csv}"
    assert m["stress_period"] == ["2018-03-01", "2018-04-30"]
    assert m["stressed_vol_ratio"] == pytest.approx(m["stressed_ew_vol"] / m["prior_ew_vol"])
    for key in ("vae_test_r2_mean", "pca_test_r2", "ew_factor_share", "euler_sum_error", "jacobian_fd_rel_error"):
        assert np.isfinite(m[key]), key
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["seeds"] == [0] and cfg["epochs"] == 3 and cfg["out"] == str(out)
    assert cfg["universes"][0]["path"] == str(csv) and cfg["universes"][0]["test_start"] == "2018-10-01"


def test_factors_report_with_yaml_config_and_flag_overrides(tmp_path, factor_run):
    _, csv, _ = factor_run
    config = study_yaml(tmp_path / "study.yaml", csv)
    out = tmp_path / "study"
    res = runner.invoke(app, ["factors", "report", "--config", str(config), "--epochs", "2", "--out", str(out),
                              "--quiet"])
    assert res.exit_code == 0, (res.output, res.exception)
    assert res.stdout.startswith("sim: K=2, test R² ") and "stressed/prior EW vol" in res.stdout
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["epochs"] == 2 and cfg["n_scenarios"] == 200 and cfg["hidden_dims"] == [8]  # flag beats the file
    assert cfg["universes"][0]["k_grid"] == [1, 2] and cfg["universes"][0]["beta_grid"] == [0.5]
    assert len(pd.read_csv(out / "tables" / "sim_r2_by_k.csv")) == 2
    assert pd.read_csv(out / "tables" / "sim_beta_sweep.csv")["β"].tolist() == [0.5]
    m = json.loads((out / "metrics.json").read_text())["universes"]["sim"]
    assert m["n_fits"] == 3  # (K=2, β=1), (K=1, β=1), (K=2, β=0.5); one seed
    assert all(r["epochs_run"] == 2 for r in m["per_seed"])


def test_factors_report_config_errors(tmp_path, factor_run):
    from dataclasses import fields

    from latentquant.experiments.factor_model import FactorStudyConfig

    _, csv, _ = factor_run
    out = tmp_path / "study"
    known = sorted(f.name for f in fields(FactorStudyConfig))
    typo = study_yaml(tmp_path / "typo.yaml", csv, epoch=3)
    one_error_line(runner.invoke(app, ["factors", "report", "--config", str(typo), "--out", str(out)]),
                   f"error: unknown study option(s) ['epoch']; known options: {known}.")
    one_error_line(runner.invoke(app, ["factors", "report", "--config", str(study_yaml(tmp_path / "ok.yaml", csv)),
                                       "--data", "crypto_daily", "--out", str(out)]),
                   "error: Give either --config or --data/--csv, not both.")
    listing = tmp_path / "list.yaml"
    listing.write_text("- seeds\n- epochs\n")
    one_error_line(runner.invoke(app, ["factors", "report", "--config", str(listing), "--out", str(out)]),
                   f"error: {listing} must hold a mapping of study options (key: value lines), got a list at the "
                   "top level.")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seeds: [0, 1\nepochs: 3\n")
    res = runner.invoke(app, ["factors", "report", "--config", str(broken), "--out", str(out)])
    assert res.exit_code == 2 and res.stderr.startswith(f"error: {broken} is not valid YAML (line 2, column 7): ")
    assert "Traceback" not in res.output
    too_many = study_yaml(tmp_path / "k.yaml", csv, universes=[{"name": "sim", "data": None, "path": str(csv),
                                                                 "train_end": "2018-09-28", "n_factors": 5}])
    one_error_line(runner.invoke(app, ["factors", "report", "--config", str(too_many), "--out", str(out)]),
                   "error: universe 'sim': n_factors=5 must be smaller than the number of assets (5).")
    assert not out.exists()


def test_factors_report_unknown_universe_option(tmp_path, factor_run):
    from dataclasses import fields

    from latentquant.experiments.factor_model import Universe

    _, csv, _ = factor_run
    config = study_yaml(tmp_path / "u.yaml", csv, universes=[{"name": "sim", "path": str(csv), "train_ned": "x"}])
    known = sorted(f.name for f in fields(Universe))
    one_error_line(runner.invoke(app, ["factors", "report", "--config", str(config), "--out", str(tmp_path / "o")]),
                   f"error: universes[0]: unknown option(s) ['train_ned']; known options: {known}.")


def test_factors_report_invalid_yaml_is_one_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("seeds: [0, 1\nepochs: 3\n")
    res = runner.invoke(app, ["factors", "report", "--config", str(broken), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1


def test_factors_report_honours_out_from_the_config(tmp_path, factor_run, monkeypatch):
    _, csv, _ = factor_run
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "from_config"
    config = study_yaml(tmp_path / "study.yaml", csv, epochs=1, out=str(target), verbose=False,
                        universes=[{"name": "sim", "data": None, "path": str(csv), "train_end": "2018-09-28",
                                    "n_factors": 1, "stress_period": None, "k_grid": [1], "beta_grid": []}])
    res = runner.invoke(app, ["factors", "report", "--config", str(config)])
    assert res.exit_code == 0, (res.output, res.exception)
    assert (target / "report.html").is_file()


@pytest.mark.parametrize("command", [["factors", "report"], ["price", "run"], ["price", "portfolios"],
                                     ["select", "run"]])
@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file (it holds NUL bytes), not a YAML text file; "
                                                "give the path of a UTF-8 YAML config."),
    ("seeds: [0]\n".encode("utf-16"), "is UTF-16 encoded text; save it as UTF-8 (plain text) and retry."),
    ("seeds: [0]\n".encode("utf-16-le"), "is UTF-16 encoded text; save it as UTF-8 (plain text) and retry."),
    (b"seeds: [0]\nname: caf\xe9\n", "is not UTF-8 text (undecodable byte at offset 20); save it as UTF-8 YAML "
                                       "and retry."),
])
def test_config_binary_or_utf16_is_one_config_error_line(tmp_path, command, content, message):
    path = tmp_path / "study.yaml"
    path.write_bytes(content)
    one_error_line(runner.invoke(app, [*command, "--config", str(path), "--out", str(tmp_path / "o")]),
                   f"error: --config {path} {message}")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("content", "message"), [
    ("seeds: [0, 1\n", "is not valid YAML (line 2, column 1): expected ',' or ']', but got '<stream end>'."),
    ("- 1\n- 2\n", "must hold a mapping of study options (key: value lines), got a list at the top level."),
    ("just text\n", "must hold a mapping of study options (key: value lines), got a str at the top level."),
])
def test_config_invalid_yaml_or_not_a_mapping_is_one_config_error_line(tmp_path, content, message):
    from latentquant.cli import _read_yaml
    from latentquant.exceptions import ConfigError

    path = tmp_path / "study.yaml"
    path.write_text(content)
    one_error_line(runner.invoke(app, ["price", "portfolios", "--config", str(path), "--out", str(tmp_path / "o")]),
                   f"error: {path} {message}")
    with pytest.raises(ConfigError, match="study.yaml"):
        _read_yaml(path)


def test_config_missing_directory_and_empty(tmp_path):
    from latentquant.cli import _read_yaml
    from latentquant.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"--config .*missing.yaml: file not found; check the path\."):
        _read_yaml(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"is a directory; give the path of a YAML file\."):
        _read_yaml(tmp_path)
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark and nothing else: no options
    assert _read_yaml(empty) == {}


def _boom(*args, **kwargs):
    raise RuntimeError("boom\non two lines")


def test_internal_error_is_one_line_exit_1(monkeypatch):
    monkeypatch.setattr("latentquant.datasets.list_datasets", _boom)
    res = runner.invoke(app, ["datasets", "list"])
    assert res.exit_code == 1, (res.output, res.exception)
    assert res.stderr == ("error: internal error (RuntimeError: boom on two lines); please report it to the "
                          "maintainers; rerun with --debug for the traceback\n")
    assert "Traceback" not in res.output


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr("latentquant.datasets.list_datasets", _boom)
    res = runner.invoke(app, ["--debug", "datasets", "list"])
    assert res.exit_code == 1
    assert isinstance(res.exception, RuntimeError) and "internal error" not in res.stderr
    assert res.exc_info is not None and res.exc_info[2] is not None


def test_debug_keeps_user_errors_one_line():
    res = runner.invoke(app, ["--debug", "datasets", "show", "ff5"])
    assert res.exit_code == 2 and res.stderr.startswith("error: ") and res.stderr.count("\n") == 1


# --- issue 11: values given on the command line -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e308", "-51", "inf", "nan"])
def test_factors_scenarios_fix_must_be_finite_and_plausible(tmp_path, factor_run, value):
    _, _, out = factor_run
    target = tmp_path / "s.parquet"
    res = runner.invoke(app, ["factors", "scenarios", "--model", str(out), "-n", "10", "--mode", "conditional",
                              "--fix", f"f1={value}", "--out", str(target)])
    one_error_line(res, f"error: --fix f1={value}: the value must be a finite number within ±50 (standard deviations "
                        "of the factor's N(0, 1) prior), e.g. f1=-3 for a 3-sigma stress.")
    assert not target.exists()


def test_factors_scenarios_fix_at_the_bound_is_finite_and_a_factor_twice_is_refused(tmp_path, factor_run):
    _, _, out = factor_run
    target = tmp_path / "s.csv"
    base = ["factors", "scenarios", "--model", str(out), "-n", "10", "--mode", "conditional", "--out", str(target)]
    res = runner.invoke(app, [*base, "--fix", "f1=-50"])
    assert res.exit_code == 0, (res.output, res.exception)
    assert np.isfinite(pd.read_csv(target, index_col=0).to_numpy()).all()
    target.unlink()
    one_error_line(runner.invoke(app, [*base, "--fix", "f1=1", "--fix", "f1=2"]),
                   "error: --fix names factor 'f1' more than once; give each factor one value.")
    assert not target.exists()


def test_hold_fixed_rejects_implausible_values():
    from latentquant.exceptions import ConfigError
    from latentquant.models.factor.scenarios import hold_fixed

    with pytest.raises(ConfigError, match=r"^fixed\['f1'\] = 1e\+308 is outside the plausible range of the prior "
                                          r"N\(0, 1\); use a value within ±50 \(standard deviations\)"):
        hold_fixed(np.zeros((2, 2)), {"f1": 1e308}, ["f1", "f2"])
    with pytest.raises(ConfigError, match=r"^fixed\[0\] must be a finite number, got 'high'\.$"):
        hold_fixed(np.zeros((2, 2)), {0: "high"}, ["f1", "f2"])
    with pytest.raises(ConfigError, match=r"^fixed\['f2'\] must be a finite number, got True\.$"):
        hold_fixed(np.zeros((2, 2)), {"f2": True}, ["f1", "f2"])
    assert hold_fixed(np.zeros((1, 2)), {"f2": -50.0}, ["f1", "f2"]).tolist() == [[0.0, -50.0]]


def test_fitted_model_refuses_an_overflowing_conditional_scenario(fitted):
    from latentquant.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"fixed\['f1'\] = 1e\+308 is outside the plausible range"):
        fitted.generate_scenarios(10, "conditional", fixed={"f1": 1e308})


def test_factors_scenarios_never_writes_non_finite_values(tmp_path, factor_run, monkeypatch):
    from latentquant.models.factor import VAEFactorModel

    _, _, out = factor_run
    broken = pd.DataFrame(np.ones((3, 5)), columns=list("ABCDE")).rename_axis("scenario")
    broken.iloc[1, 2] = np.nan
    monkeypatch.setattr(VAEFactorModel, "generate_scenarios", lambda self, *a, **k: broken)
    target = tmp_path / "s.parquet"
    res = runner.invoke(app, ["factors", "scenarios", "--model", str(out), "-n", "3", "--out", str(target)])
    one_error_line(res, f"error: the scenarios hold 1 NaN/infinite values (first: scenario 1, asset 'C'); nothing "
                        f"was written to {target}. The model's decoder overflows here: use smaller --fix values or a "
                        "shorter --stress-period, or refit the model.")
    assert not target.exists()


def test_factors_risk_repeated_asset_on_the_command_line_is_refused_like_in_a_file(tmp_path, factor_run):
    _, _, out = factor_run
    expected = "error: weights name assets more than once: ['A']; give one weight per asset."
    one_error_line(runner.invoke(app, ["factors", "risk", "--model", str(out), "--weights", "A=0.5,A=0.5"]),
                   expected)
    wfile = tmp_path / "weights.csv"
    wfile.write_text("asset,weight\nA,0.5\nA,0.5\n")
    one_error_line(runner.invoke(app, ["factors", "risk", "--model", str(out), "--weights", str(wfile)]), expected)


def test_factors_risk_weights_file_with_a_ragged_row_is_one_line(tmp_path, factor_run):
    _, _, out = factor_run
    wfile = tmp_path / "weights.csv"
    wfile.write_text("asset,weight\nA,0.5\nB,0.5,extra\n")
    one_error_line(runner.invoke(app, ["factors", "risk", "--model", str(out), "--weights", str(wfile)]),
                   f"error: {wfile} is not a readable CSV file (Error tokenizing data. C error: Expected 2 fields in "
                   "line 3, saw 3).")
