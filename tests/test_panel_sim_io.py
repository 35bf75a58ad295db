"""Tests of the simulated conditional-factor panel and the GKX-layout panel reader."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentquant.data import Panel, SimulatedPanel, read_gkx_panel, simulate_panel
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning


@pytest.fixture(scope="module")
def lin() -> SimulatedPanel:
    return simulate_panel(n_assets=200, n_periods=60, n_chars=6, beta="linear", seed=3)


@pytest.fixture(scope="module")
def nonlin() -> SimulatedPanel:
    return simulate_panel(n_assets=200, n_periods=60, n_chars=6, beta="nonlinear", seed=3)


# ---------------------------------------------------------------- simulator


def test_shapes_and_index(lin: SimulatedPanel) -> None:
    p = lin.panel
    assert isinstance(p, Panel)
    assert (p.n_assets, p.n_periods) == (200, 60)
    assert p.characteristics.shape == (200 * 60, 6)
    assert list(p.characteristics.columns) == ["c01", "c02", "c03", "c04", "c05", "c06"]
    idx = p.returns.index
    assert isinstance(idx, pd.MultiIndex) and list(idx.names) == ["date", "asset"]
    dates = p.dates
    assert dates[0] == pd.Timestamp("2000-01-31") and dates[-1] == pd.Timestamp("2004-12-31")
    assert bool(dates.is_month_end.all())
    assert idx.get_level_values(1)[0] == "a0000" and idx.get_level_values(1)[199] == "a0199"
    assert lin.betas.index.equals(idx) and lin.noise.index.equals(idx)
    assert list(lin.betas.columns) == ["f1", "f2", "f3"] == list(lin.factors.columns)
    assert lin.factors.index.equals(dates)


def test_seed_reproducible_and_distinct() -> None:
    a = simulate_panel(n_assets=30, n_periods=12, n_chars=4, seed=7)
    b = simulate_panel(n_assets=30, n_periods=12, n_chars=4, seed=7)
    c = simulate_panel(n_assets=30, n_periods=12, n_chars=4, seed=8)
    pd.testing.assert_frame_equal(a.panel.characteristics, b.panel.characteristics)
    pd.testing.assert_series_equal(a.panel.returns, b.panel.returns)
    pd.testing.assert_frame_equal(a.factors, b.factors)
    assert not np.allclose(a.panel.returns, c.panel.returns)
    assert not np.allclose(a.panel.characteristics, c.panel.characteristics)
    assert not np.allclose(a.factors, c.factors)


def test_characteristics_ranked_per_month(lin: SimulatedPanel) -> None:
    z = lin.panel.characteristics
    assert z.to_numpy().min() >= -1.0 and z.to_numpy().max() <= 1.0
    per_month = z.groupby(level=0)
    np.testing.assert_allclose(per_month.min().to_numpy(), -1.0)
    np.testing.assert_allclose(per_month.max().to_numpy(), 1.0)
    np.testing.assert_allclose(per_month.mean().to_numpy(), 0.0, atol=1e-12)
    # a month's cross-section is a permutation of the evenly spaced grid on [-1, 1]
    first = np.sort(z.xs(lin.panel.dates[5], level=0)["c02"].to_numpy())
    np.testing.assert_allclose(first, np.linspace(-1.0, 1.0, 200))


def test_characteristics_persistent(lin: SimulatedPanel) -> None:
    wide = lin.panel.characteristics["c01"].unstack(level=1).to_numpy()
    corr = [np.corrcoef(wide[t], wide[t + 1])[0, 1] for t in range(wide.shape[0] - 1)]
    assert np.mean(corr) > 0.8  # rho_j in [0.9, 1]; an i.i.d. draw would give ~0


def test_returns_decompose_exactly(lin: SimulatedPanel, nonlin: SimulatedPanel) -> None:
    for sim in (lin, nonlin):
        dates = sim.panel.returns.index.get_level_values(0)
        f = sim.factors.reindex(dates).to_numpy()
        recon = (sim.betas.to_numpy() * f).sum(axis=1) + sim.noise.to_numpy()
        np.testing.assert_allclose(sim.panel.returns.to_numpy(), recon, rtol=0, atol=1e-14)


def test_betas_are_g_of_aligned_characteristics(lin: SimulatedPanel, nonlin: SimulatedPanel) -> None:
    c = lin.panel.characteristics.to_numpy()
    np.testing.assert_array_equal(lin.betas.to_numpy(), c[:, :3])
    c = nonlin.panel.characteristics.to_numpy()
    np.testing.assert_array_equal(nonlin.panel.characteristics.to_numpy(), lin.panel.characteristics.to_numpy())
    expected = np.column_stack([c[:, 0] ** 2, c[:, 0] * c[:, 1], np.sign(c[:, 2])])
    np.testing.assert_array_equal(nonlin.betas.to_numpy(), expected)


def test_nonlinear_betas_not_linear_in_characteristics(lin: SimulatedPanel, nonlin: SimulatedPanel) -> None:
    def ols_r2(sim: SimulatedPanel) -> np.ndarray:
        x = np.column_stack([np.ones(len(sim.betas)), sim.panel.characteristics.to_numpy()])
        y = sim.betas.to_numpy()
        resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
        return 1.0 - (resid**2).sum(axis=0) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)

    np.testing.assert_allclose(ols_r2(lin), 1.0, atol=1e-10)
    r2 = ols_r2(nonlin)
    assert r2[0] < 0.05 and r2[1] < 0.05  # c1^2 and c1*c2 are orthogonal to every linear term
    assert r2[2] < 0.9  # sign(c3) is only partly linear


def test_oracle_r2_in_documented_range() -> None:
    sim = simulate_panel(n_assets=200, n_periods=180, n_chars=5, seed=0)
    r2 = sim.oracle_total_r2()
    assert 0.25 < r2 < 0.35
    e, r = sim.noise.to_numpy(), sim.panel.returns.to_numpy()
    assert r2 == pytest.approx(1 - (e**2).sum() / (r**2).sum())
    nl = simulate_panel(n_assets=200, n_periods=180, n_chars=5, beta="nonlinear", seed=0).oracle_total_r2()
    assert 0.3 < nl < 0.42
    louder = simulate_panel(n_assets=200, n_periods=180, n_chars=5, noise_scale=0.12, seed=0).oracle_total_r2()
    assert louder < r2 - 0.1


def test_no_look_ahead() -> None:
    long = simulate_panel(n_assets=40, n_periods=13, n_chars=4, seed=5)
    short = simulate_panel(n_assets=40, n_periods=12, n_chars=4, seed=5)
    head = long.panel.returns.index.get_level_values(0) <= short.panel.dates[-1]
    # adding a month (new factors and noise at the end) changes nothing before it
    np.testing.assert_array_equal(long.panel.characteristics[head].to_numpy(), short.panel.characteristics.to_numpy())
    np.testing.assert_array_equal(long.panel.returns[head].to_numpy(), short.panel.returns.to_numpy())
    # changing every factor and noise draw (incl. the last month's) leaves all characteristics and betas unchanged
    other = simulate_panel(n_assets=40, n_periods=13, n_chars=4, seed=5, noise_scale=0.5, factor_mean=0.1,
                           factor_vol=0.2)
    pd.testing.assert_frame_equal(other.panel.characteristics, long.panel.characteristics)
    pd.testing.assert_frame_equal(other.betas, long.betas)
    assert not np.allclose(other.panel.returns, long.panel.returns)


def test_simulator_config_errors() -> None:
    with pytest.raises(ConfigError, match="beta must be 'linear' or 'nonlinear', got 'cubic'"):
        simulate_panel(beta="cubic")
    with pytest.raises(ConfigError, match=re.escape("n_chars (2) must be >= n_factors (3)")):
        simulate_panel(n_chars=2)
    with pytest.raises(ConfigError, match="noise_scale must be positive and finite"):
        simulate_panel(noise_scale=0.0)
    with pytest.raises(ConfigError, match="n_assets must be an integer >= 2"):
        simulate_panel(n_assets=1)


# ---------------------------------------------------------------- reader


def _gkx_frame(date_style: str = "yyyymm") -> pd.DataFrame:
    months = {"yyyymm": [200001, 200002, 200003], "iso": ["2000-01-31", "2000-02-29", "2000-03-31"],
              "yyyymmdd": [20000115, 20000228, 20000331]}[date_style]
    rows = []
    for m, d in enumerate(months):
        for permno in (10001, 10002):
            rows.append({"permno": permno, "date": d, "ret": 0.01 * (m + 1) + permno % 10 / 1000,
                         "mvel1": float(100 * m + permno % 10), "bm": 0.5 + m, "sic": 3000 + permno % 10,
                         "name": f"firm{permno}"})
    # shuffle rows so the reader has to sort
    return pd.DataFrame(rows).iloc[[3, 0, 5, 1, 4, 2]].reset_index(drop=True)


def test_read_csv_yyyymm_lag1(tmp_path: Path) -> None:
    path = tmp_path / "gkx.csv"
    _gkx_frame().to_csv(path, index=False)
    p = read_gkx_panel(path)
    idx = p.returns.index
    assert list(idx.names) == ["date", "asset"]
    assert list(idx.get_level_values(0)) == [pd.Timestamp("2000-02-29")] * 2 + [pd.Timestamp("2000-03-31")] * 2
    assert list(idx.get_level_values(1)) == [10001, 10002, 10001, 10002]
    # numeric columns other than id/date/ret, in file order; the string column is skipped
    assert list(p.characteristics.columns) == ["mvel1", "bm", "sic"]
    # lag=1: the February row holds January's characteristics, per permno
    assert p.characteristics["mvel1"].tolist() == [1.0, 2.0, 101.0, 102.0]
    assert p.returns.tolist() == pytest.approx([0.021, 0.022, 0.031, 0.032])


def test_read_parquet_iso_lag0_subset(tmp_path: Path) -> None:
    path = tmp_path / "gkx.parquet"
    _gkx_frame("iso").to_parquet(path)
    p = read_gkx_panel(path, characteristics=["bm", "mvel1"], lag=0)
    assert p.n_periods == 3 and p.n_assets == 2
    assert list(p.characteristics.columns) == ["bm", "mvel1"]
    assert list(p.dates) == list(pd.to_datetime(["2000-01-31", "2000-02-29", "2000-03-31"]))
    assert p.characteristics["mvel1"].tolist() == [1.0, 2.0, 101.0, 102.0, 201.0, 202.0]
    assert p.returns.xs(10002, level=1).tolist() == pytest.approx([0.012, 0.022, 0.032])


def test_read_yyyymmdd_and_string_yyyymm(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    _gkx_frame("yyyymmdd").to_csv(path, index=False)
    assert list(read_gkx_panel(path, lag=0).dates) == list(pd.to_datetime(["2000-01-31", "2000-02-29",
                                                                              "2000-03-31"]))
    frame = _gkx_frame()
    frame["date"] = frame["date"].astype(str)
    frame.to_parquet(tmp_path / "s.parquet")
    assert read_gkx_panel(tmp_path / "s.parquet", lag=0).dates[0] == pd.Timestamp("2000-01-31")


def test_read_missing_return_warns(tmp_path: Path) -> None:
    frame = _gkx_frame()
    frame.loc[0, "ret"] = np.nan
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.warns(DataWarning, match="Dropped 1"):
        p = read_gkx_panel(tmp_path / "m.csv", lag=0)
    assert len(p.returns) == 5


def test_read_errors(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="file not found: .*nope.csv'; check the path"):
        read_gkx_panel(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="unsupported file format '.txt'"):
        (tmp_path / "x.txt").write_text("a")
        read_gkx_panel(tmp_path / "x.txt")

    base = _gkx_frame()
    for col, role in (("permno", "id"), ("date", "date"), ("ret", "return")):
        base.drop(columns=[col]).to_csv(tmp_path / "m.csv", index=False)
        with pytest.raises(DataValidationError,
                           match=rf"'m.csv' has no {role} column '{col}' \(columns: .*\); pass {role}_col="):
            read_gkx_panel(tmp_path / "m.csv")

    bad = base.copy()
    bad["date"] = bad["date"].astype(object)
    bad.loc[2, "date"] = "2000-13-45"
    bad.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataValidationError, match="unparseable date '2000-13-45' \\(row 2, 1 bad value"):
        read_gkx_panel(tmp_path / "d.csv")

    dup = pd.concat([base, base.iloc[[1]]], ignore_index=True)
    dup.to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(DataValidationError,
                       match=r"'dup.csv' has duplicated \(permno, month\) rows: permno=10001, month 2000-01 \(row 6, raw "
                             r"date 200001\); keep one row per permno and month"):
        read_gkx_panel(tmp_path / "dup.csv")
    same_month = base.copy()
    same_month.loc[same_month["date"] == 200002, "date"] = 200001
    same_month.to_csv(tmp_path / "sm.csv", index=False)
    with pytest.raises(DataValidationError, match=r"duplicated \(permno, month\).*month 2000-01.*keep one row"):
        read_gkx_panel(tmp_path / "sm.csv")

    base.to_csv(tmp_path / "ok.csv", index=False)
    with pytest.raises(ConfigError, match=r"unknown characteristic\(s\) \['size'\] in 'ok.csv'; available:"):
        read_gkx_panel(tmp_path / "ok.csv", characteristics=["bm", "size"])
    with pytest.raises(DataValidationError, match="characteristic column 'name' of 'ok.csv' is not numeric"):
        read_gkx_panel(tmp_path / "ok.csv", characteristics=["bm", "name"])
    with pytest.raises(ConfigError, match="lag must be a non-negative integer, got -1"):
        read_gkx_panel(tmp_path / "ok.csv", lag=-1)
    text_ret = base.assign(ret="x")
    text_ret.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(DataValidationError, match="return column 'ret' of 'r.csv' is not numeric"):
        read_gkx_panel(tmp_path / "r.csv")
