"""Panel container and conditional-factor preprocessing: rank transform, lag alignment, managed portfolios."""

import itertools

import numpy as np
import pandas as pd
import pytest

from latentquant.data import Panel, managed_portfolios, rank_transform
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning

DATES = pd.to_datetime(["2020-01-31", "2020-02-29", "2020-03-31", "2020-04-30"])


def make_panel(n_assets=6, n_chars=3, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([DATES, [f"s{i}" for i in range(n_assets)]], names=["date", "asset"])
    r = pd.Series(rng.normal(0, 0.05, len(idx)), index=idx)
    z = pd.DataFrame(rng.normal(size=(len(idx), n_chars)), index=idx, columns=[f"c{j}" for j in range(n_chars)])
    return r, z


def test_rank_transform_hand_values_ties_and_missing():
    idx = pd.MultiIndex.from_product([DATES[:2], list("abcde")], names=["date", "asset"])
    z = pd.DataFrame({"x": [5.0, 1.0, 3.0, 3.0, np.nan, 2.0, 2.0, 2.0, 2.0, 9.0]}, index=idx)
    out = rank_transform(z)["x"].to_numpy()
    # date 1: ranks of [5, 1, 3, 3] are [4, 1, 2.5, 2.5] over N=4 → 2(r−1)/3 − 1; NaN → 0
    np.testing.assert_allclose(out[:5], [1.0, -1.0, 0.0, 0.0, 0.0])
    # date 2: four ties at rank 2.5 of 5 → −0.25; the maximum → 1
    np.testing.assert_allclose(out[5:], [-0.25, -0.25, -0.25, -0.25, 1.0])


def test_rank_transform_is_per_date_and_bounded():
    _r, z = make_panel()
    out = rank_transform(z)
    assert out.min().min() == -1.0 and out.max().max() == 1.0
    shifted = z.copy()
    shifted.loc[DATES[1]] = shifted.loc[DATES[1]].to_numpy() * 100 + 7  # a monotone change within one date
    pd.testing.assert_frame_equal(rank_transform(shifted), out)


def test_lag_aligns_previous_period_characteristics_per_asset():
    r, z = make_panel()
    lagged = Panel(r, z).lag(1)
    assert list(lagged.dates) == list(DATES[1:])
    for t_prev, t in itertools.pairwise(DATES):
        np.testing.assert_array_equal(lagged.characteristics.loc[t].to_numpy(), z.loc[t_prev].to_numpy())
        np.testing.assert_array_equal(lagged.returns.loc[t].to_numpy(), r.loc[t].to_numpy())


def test_lag_has_no_look_ahead():
    r, z = make_panel()
    base = Panel(r, z).lag(1)
    future = z.copy()
    future.loc[DATES[-1]] = 99.0  # characteristics of the last month cannot explain any return in the panel
    pd.testing.assert_frame_equal(Panel(r, future).lag(1).characteristics, base.characteristics)


def test_lag_leaves_nan_for_an_asset_without_a_previous_row():
    r, z = make_panel(n_assets=3)
    keep = ~((r.index.get_level_values(0) == DATES[0]) & (r.index.get_level_values(1) == "s2"))
    lagged = Panel(r[keep], z[keep]).lag(1)
    assert lagged.characteristics.loc[(DATES[1], "s2")].isna().all()
    assert lagged.characteristics.loc[(DATES[1], "s1")].notna().all()


def test_managed_portfolios_closed_forms():
    r, z = make_panel(n_assets=8, n_chars=3)
    gkx = managed_portfolios(r, z, "gkx")
    mean = managed_portfolios(r, z, "mean")
    for t in DATES:
        Z, y = z.loc[t].to_numpy(), r.loc[t].to_numpy()
        np.testing.assert_allclose(gkx.loc[t].to_numpy(), np.linalg.solve(Z.T @ Z, Z.T @ y), rtol=1e-10)
        np.testing.assert_allclose(mean.loc[t].to_numpy(), Z.T @ y / len(y), rtol=1e-12)


def test_gkx_managed_portfolios_recover_factors_of_an_exact_model():
    _r, z = make_panel(n_assets=10, n_chars=2)
    f = pd.DataFrame([[0.01, -0.02], [0.03, 0.0], [-0.01, 0.01], [0.02, 0.02]], index=DATES, columns=z.columns)
    exact = pd.Series((z.to_numpy() * f.reindex(z.index.get_level_values(0)).to_numpy()).sum(axis=1), index=z.index)
    np.testing.assert_allclose(Panel(exact, z).managed_portfolios("gkx").to_numpy(), f.to_numpy(), atol=1e-12)


def test_panel_drops_missing_returns_and_thin_periods_with_counts():
    r, z = make_panel(n_assets=4)
    r.iloc[[0, 1, 2]] = np.nan  # three of the four assets on the first date
    with pytest.warns(DataWarning, match="Dropped 3 \\(date, asset\\) rows without a return"):
        with pytest.warns(DataWarning, match="Dropped 1 period\\(s\\) with fewer than 2 assets"):
            p = Panel(r, z, min_assets=2)
    assert p.n_periods == 3 and len(p.returns) == 12


def test_constant_characteristics_are_counted():
    r, z = make_panel()
    z.loc[DATES[2], "c1"] = 4.0
    counts = Panel(r, z).constant_characteristics()["constant_periods"]
    assert counts.to_dict() == {"c0": 0, "c1": 1, "c2": 0}


def test_from_frame_and_wide_returns():
    r, z = make_panel(n_assets=3)
    frame = z.assign(ret=r)
    p = Panel.from_frame(frame)
    assert p.wide_returns().shape == (4, 3)
    with pytest.raises(DataValidationError, match="frame has no return column 'excess'"):
        Panel.from_frame(frame, return_col="excess")


def test_panel_errors_are_pinned():
    r, z = make_panel()
    with pytest.raises(DataValidationError, match=r"returns must be indexed by a 2-level \(date, asset\) MultiIndex"):
        Panel(r.reset_index(drop=True), z)
    dup = pd.concat([r, r.iloc[:1]]).sort_index()
    with pytest.raises(DataValidationError, match=r"returns has duplicated \(date, asset\) rows"):
        Panel(dup, z)
    with pytest.raises(DataValidationError, match="characteristics dates are not sorted"):
        Panel(r, z.iloc[::-1])
    with pytest.raises(DataValidationError, match="characteristics contain infinite values"):
        Panel(r, z.replace(z.iloc[0, 0], np.inf))
    with pytest.raises(ConfigError, match="periods must be a non-negative integer, got -1"):
        Panel(r, z).lag(-1)
    with pytest.raises(ConfigError, match="method must be 'gkx' or 'mean', got 'ols'"):
        managed_portfolios(r, z, "ols")
    with pytest.raises(DataValidationError, match="returns and characteristics must share the same"):
        managed_portfolios(r.iloc[1:], z)


def test_with_constant_appends_a_column_of_ones_after_ranking():
    r, z = make_panel()
    p = Panel(r, z).rank().with_constant()
    assert list(p.characteristics.columns) == ["c0", "c1", "c2", "const"]
    assert (p.characteristics["const"] == 1.0).all()
    with pytest.raises(ConfigError, match="the panel already has a characteristic named 'c0'"):
        Panel(r, z).with_constant("c0")
