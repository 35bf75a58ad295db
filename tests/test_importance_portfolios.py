"""Decile long-short and managed-portfolio aggregation; characteristic importance and portfolio-level total R²."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latentquant.data import Panel, decile_long_short, managed_portfolios, portfolio_level, simulate_panel
from latentquant.evaluation import characteristic_importance, importance_table, portfolio_total_r2
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.models.pricing import InstrumentedPCA


def _month_panel() -> Panel:
    """Month 1: 20 stocks; month 2: 5 stocks. Returns are a permutation so sorting is really exercised."""
    rng = np.random.default_rng(3)
    idx1 = pd.MultiIndex.from_product([["2020-01"], [f"s{i:02d}" for i in range(20)]], names=["date", "asset"])
    idx2 = pd.MultiIndex.from_product([["2020-02"], [f"s{i:02d}" for i in range(5)]], names=["date", "asset"])
    idx = idx1.append(idx2)
    size = np.concatenate([rng.permutation(20).astype(float), np.arange(5.0)])
    # month-1 return = size / 100 + 0.001 · position: top-2 are sizes 18, 19 and bottom-2 sizes 0, 1
    ret = np.concatenate([size[:20] / 100.0 + 0.001 * np.arange(20), np.arange(5) / 10.0])
    mom = -size
    return Panel(pd.Series(ret, index=idx), pd.DataFrame({"size": size, "mom": mom}, index=idx))


def test_decile_long_short_exact_and_thin_month():
    p = _month_panel()
    r = p.returns.loc["2020-01"]
    z = p.characteristics.loc["2020-01", "size"]
    top = r[z >= 18].mean()
    bottom = r[z <= 1].mean()
    with pytest.warns(DataWarning, match=r"2 \(month, characteristic\) cell\(s\) have fewer than 10 stocks"):
        ls = decile_long_short(p)
    assert list(ls.columns) == ["size", "mom"] and list(ls.index) == ["2020-01", "2020-02"]
    assert ls.loc["2020-01", "size"] == pytest.approx(0.5 * (top - bottom), abs=1e-15)
    # mom = −size: the opposite sort gives the opposite spread
    assert ls.loc["2020-01", "mom"] == pytest.approx(-0.5 * (top - bottom), abs=1e-15)
    # hand value: top-2 are sizes 18,19 → (0.18 + 0.19)/2 + noise, bottom-2 sizes 0,1
    pos = {s: i for i, s in enumerate(z.to_numpy())}
    noise = 0.001 * (pos[18.0] + pos[19.0] - pos[0.0] - pos[1.0]) / 2
    assert ls.loc["2020-01", "size"] == pytest.approx(0.5 * ((0.37 - 0.01) / 2 + noise), abs=1e-15)
    assert ls.loc["2020-02"].isna().all()


def test_decile_long_short_selection_ties_and_errors():
    idx = pd.MultiIndex.from_product([["m"], range(20)], names=["date", "asset"])
    r = pd.Series(np.arange(20) / 100.0, index=idx)
    # ranks 18.5 (tie of two) straddle the top-2 cut-off (rank > 18): the whole tied group, 3 stocks, is in the top
    z = np.arange(20.0)
    z[17] = z[18] = 17.5
    p = Panel(r, pd.DataFrame({"c": z, "const": np.ones(20)}, index=idx))
    ls = decile_long_short(p, "c")
    assert list(ls.columns) == ["c"]
    assert ls.loc["m", "c"] == pytest.approx(0.5 * ((0.17 + 0.18 + 0.19) / 3 - 0.005))
    assert np.isnan(decile_long_short(p, ["const"]).loc["m", "const"])  # constant → empty deciles
    with pytest.raises(ConfigError, match="characteristic 'nope' is not a column"):
        decile_long_short(p, "nope")
    with pytest.raises(DataValidationError, match="panel must be a latentquant Panel"):
        decile_long_short(r)  # type: ignore[arg-type]


def test_portfolio_level_matches_managed_portfolios_and_hand_value():
    sim = simulate_panel(n_assets=30, n_periods=8, n_chars=3, n_factors=1, seed=1)
    p = sim.panel
    for method in ("gkx", "mean"):
        expected = managed_portfolios(p.returns, p.characteristics.fillna(0.0), method)
        pd.testing.assert_frame_equal(portfolio_level(p, p.returns, method), expected)
        assert portfolio_total_r2(p, p.returns.copy(), method) == pytest.approx(1.0, abs=1e-12)
    # reordered Series and plain array give the same portfolios
    shuffled = p.returns.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(portfolio_level(p, shuffled), portfolio_level(p, p.returns.to_numpy()))

    # 'mean' weights, one month, two stocks, one characteristic z = (1, −1)
    idx = pd.MultiIndex.from_product([["2020-01"], ["a", "b"]], names=["date", "asset"])
    tiny = Panel(pd.Series([0.03, -0.01], index=idx), pd.DataFrame({"z": [1.0, -1.0]}, index=idx))
    fitted = pd.Series([0.01, 0.01], index=idx)
    # x = (0.03 + 0.01)/2 = 0.02; x̂ = (0.01 − 0.01)/2 = 0 → R² = 1 − 0.02²/0.02² = 0
    assert portfolio_level(tiny, fitted, "mean").iloc[0, 0] == pytest.approx(0.0)
    assert portfolio_total_r2(tiny, fitted, "mean") == pytest.approx(0.0, abs=1e-12)
    # x̂ = (0.02 − 0.00)/2 = 0.01 → R² = 1 − 0.01²/0.02² = 0.75
    assert portfolio_total_r2(tiny, pd.Series([0.02, 0.0], index=idx), "mean") == pytest.approx(0.75)
    # two characteristics (z, 1), two periods: R² pools over dates and portfolios
    idx2 = pd.MultiIndex.from_product([["t1", "t2"], ["a", "b"]], names=["date", "asset"])
    two = Panel(pd.Series([0.04, 0.0, 0.02, 0.02], index=idx2),
                pd.DataFrame({"z": [1.0, -1.0, 1.0, -1.0], "one": 1.0}, index=idx2))
    # x: t1 (0.02, 0.02), t2 (0.0, 0.02); x̂ from fitted 0.01 each: t1 (0, 0.01), t2 (0, 0.01)
    r2 = 1 - (0.02**2 + 0.01**2 + 0.0 + 0.01**2) / (0.02**2 * 3)
    assert portfolio_total_r2(two, pd.Series(0.01, index=idx2), "mean") == pytest.approx(r2)

    with pytest.raises(ConfigError, match="method must be 'gkx' or 'mean', got 'value'"):
        portfolio_level(tiny, tiny.returns, "value")
    with pytest.raises(ConfigError, match="method must be 'gkx' or 'mean'"):
        portfolio_total_r2(tiny, fitted, "ew")
    with pytest.raises(DataValidationError, match=r"no \(finite\) value for 1 row"):
        portfolio_level(tiny, fitted.iloc[:1])
    with pytest.raises(DataValidationError, match=r"values has shape \(3,\), expected \(2,\)"):
        portfolio_level(tiny, np.zeros(3))


@pytest.fixture(scope="module")
def ipca_sim():
    sim = simulate_panel(n_assets=100, n_periods=60, n_chars=6, n_factors=2, beta="linear", seed=0)
    model = InstrumentedPCA(n_factors=2).fit(sim.panel)
    return sim.panel, model


def test_characteristic_importance_finds_the_true_characteristics(ipca_sim):
    panel, model = ipca_sim
    gamma = model.gamma_.copy()
    factors = model.factors_.copy()
    chars_before = panel.characteristics.copy()
    imp = characteristic_importance(model, panel)
    assert list(imp.index) == list(panel.characteristics.columns) and imp.index.name == "characteristic"
    assert imp.sum() == pytest.approx(1.0) and (imp >= 0).all()
    assert set(imp.nlargest(2).index) == {"c01", "c02"}
    assert imp[["c01", "c02"]].sum() > 0.8
    assert imp.drop(["c01", "c02"]).max() < 0.02
    # raw drops: R²_full − R²_j, computed by hand for c01
    raw = characteristic_importance(model, panel, normalize=False)
    zeroed = panel.characteristics.assign(c01=0.0)
    r = panel.returns.to_numpy()
    r2_j = 1 - ((r - model.fitted(Panel(panel.returns, zeroed)).to_numpy()) ** 2).sum() / (r**2).sum()
    assert raw["c01"] == pytest.approx(model.score(panel) - r2_j, rel=1e-10)
    assert raw["c01"] > 0.05 and raw.drop(["c01", "c02"]).abs().max() < 0.005
    # neither the model nor the panel was modified
    pd.testing.assert_frame_equal(model.gamma_, gamma)
    pd.testing.assert_frame_equal(model.factors_, factors)
    pd.testing.assert_frame_equal(panel.characteristics, chars_before)


def test_importance_table_and_errors(ipca_sim):
    panel, model = ipca_sim
    one = InstrumentedPCA(n_factors=1).fit(panel)
    table = importance_table({"IPCA2": model, "IPCA1": one}, panel)
    assert table.shape == (6, 2) and list(table.columns) == ["IPCA2", "IPCA1"]
    assert list(table.index) == [f"c{j:02d}" for j in range(1, 7)]
    np.testing.assert_allclose(table.sum().to_numpy(), 1.0)
    pd.testing.assert_series_equal(table["IPCA2"], characteristic_importance(model, panel), check_names=False)

    class NoFitted:
        pass

    with pytest.raises(DataValidationError, match=r"model \(NoFitted\) has no fitted\(panel\) method"):
        characteristic_importance(NoFitted(), panel)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match=r"models\['bad'\] \(NoFitted\) has no fitted"):
        importance_table({"ok": model, "bad": NoFitted()}, panel)  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="models must be a non-empty mapping"):
        importance_table({}, panel)
    empty = Panel(panel.returns, pd.DataFrame(index=panel.returns.index))
    with pytest.raises(DataValidationError, match="panel has no characteristics"):
        characteristic_importance(model, empty)
    with pytest.raises(DataValidationError, match="panel has no characteristics"):
        portfolio_level(empty, empty.returns)

    class Constant:  # ignores the characteristics: nothing to normalise
        def fitted(self, panel):
            return pd.Series(0.001, index=panel.returns.index)

    with pytest.warns(DataWarning, match="no characteristic lowers the total R²"):
        imp = characteristic_importance(Constant(), panel)
    assert (imp == 0.0).all()


def test_negative_importance_is_clipped_before_normalising():
    idx = pd.MultiIndex.from_product([range(3), range(4)], names=["date", "asset"])
    z = pd.DataFrame({"a": [1.0, -1.0, 0.5, -0.5] * 3, "b": [0.3, 0.1, -0.2, 0.4] * 3}, index=idx)
    p = Panel(0.1 * z["a"], z)

    class AplusB:  # uses b wrongly: zeroing b improves the fit (negative drop)
        def fitted(self, panel):
            return 0.1 * (panel.characteristics["a"] + panel.characteristics["b"])

    raw = characteristic_importance(AplusB(), p, normalize=False)
    # R² full = 1 − Σb²/Σa² = 0.88; without a: 1 − Σ(a − b)²/Σa² = −0.2; without b: 1
    assert raw["a"] == pytest.approx(0.88 + 0.2) and raw["b"] == pytest.approx(0.88 - 1.0)
    norm = characteristic_importance(AplusB(), p)
    assert norm.tolist() == [1.0, 0.0]
