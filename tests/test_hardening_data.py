"""Issue 11 §4/§5: valid input must not be rejected, and a study validates its data before the first fit."""

import warnings

import numpy as np
import pandas as pd
import pytest

from latentquant.exceptions import DataValidationError, DataWarning
from latentquant.experiments._data import load_study_returns


def _monthly(tmp_path, *, yyyymm=True, prices=False, drop=None):
    rng = np.random.default_rng(0)
    dates = pd.date_range("2000-01-31", periods=120, freq="ME")
    rets = pd.DataFrame(rng.normal(0.005, 0.04, (120, 4)), index=dates, columns=list("ABCD"))
    frame = np.exp(rets.cumsum()) * 100 if prices else rets
    if drop is not None:
        frame = frame.drop(index=frame.index[drop])
    if yyyymm:
        frame.index = frame.index.strftime("%Y%m").astype(int)
    frame.index.name = "date"
    path = tmp_path / "monthly.csv"
    frame.to_csv(path)
    return path, rets


# ------------------------------------------------------------------------------------- 1. monthly data in the loader
@pytest.mark.parametrize("yyyymm", [True, False])
def test_monthly_returns_pass_the_study_loader(tmp_path, yyyymm):
    path, rets = _monthly(tmp_path, yyyymm=yyyymm)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # no row is dropped
        loaded, _ = load_study_returns(None, str(path), "log_returns")
    assert loaded.shape == (120, 4)
    np.testing.assert_allclose(loaded.to_numpy(), rets.to_numpy())


def test_monthly_prices_pass_the_study_loader(tmp_path):
    path, rets = _monthly(tmp_path, prices=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        loaded, _ = load_study_returns(None, str(path), "prices")
    assert loaded.shape == (119, 4)
    np.testing.assert_allclose(loaded.to_numpy(), rets.iloc[1:].to_numpy(), atol=1e-10)


def test_monthly_prices_with_a_missing_month_drop_the_return_across_it(tmp_path):
    path, _ = _monthly(tmp_path, prices=True, drop=[50])  # 2004-03 missing
    with pytest.warns(DataWarning, match=r"Dropped 1 return\(s\) of .* spanning a calendar hole longer than "
                                         r"4\d(\.\d+)? days \(first 2004-04-30\)"):
        loaded, _ = load_study_returns(None, str(path), "prices")
    assert len(loaded) == 117


# ------------------------------------------------------------------- 2. the factor study checks spans before any fit
def _prices(path):
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2018-01-01", periods=300)  # … 2019-02-22
    f = rng.normal(0, 0.01, size=(300, 2))
    rets = f @ rng.uniform(0.2, 1.5, size=(2, 5)) + rng.normal(0, 0.004, size=(300, 5))
    pd.DataFrame(50 * np.exp(np.cumsum(rets, axis=0)), index=dates, columns=list("ABCDE")).rename_axis(
        "date").to_csv(path)
    return path


def _study(path, out, *universes):
    from latentquant.experiments.factor_model import FactorStudyConfig

    base = dict(name="sim", path=str(path), train_end="2018-09-28", n_factors=2,
                stress_period=["2018-03-01", "2018-04-30"], k_grid=[2], beta_grid=[])
    return FactorStudyConfig.from_dict({
        "universes": [{**base, **u} for u in universes], "hidden_dims": [8], "epochs": 2, "seeds": [0],
        "n_scenarios": 300, "fan_paths": 20, "fan_horizon": 5, "out": str(out), "verbose": False})


@pytest.fixture
def no_fit(monkeypatch):
    from latentquant.models.factor import VAEFactorModel

    def fail(*args, **kwargs):
        raise AssertionError("a model was fitted before the spans were checked")

    monkeypatch.setattr(VAEFactorModel, "fit", fail)


COVER = r"the data \(user prices file .*p\.csv\) cover 2018-01-02 … 2019-02-22"


@pytest.mark.parametrize("bad, error, message", [
    ({"stress_period": ["2008-09-01", "2009-03-31"]}, "DataValidationError",
     r"^universe 'late': stress_period \['2008-09-01', '2009-03-31'\] has 0 dates in the data; at least 2 are "
     rf"needed; {COVER}\. Choose a stress period inside the data, or stress_period: null for none\.$"),
    ({"train_start": "2010-01-01", "train_end": "2010-12-31"}, "DataValidationError",
     r"^universe 'late': The training span 2010-01-01\.\.2010-12-31 contains no rows; the data cover "
     r"2018-01-02\.\.2019-02-22"),
    ({"train_start": "2018-09-01", "train_end": "2018-09-14"}, "DataValidationError",
     rf"^universe 'late': the training span has 10 rows; at least 20 are needed; {COVER}\. Move "
     r"train_start/train_end so that the span holds more dates of the data\.$"),
    ({"test_start": "2020-01-01"}, "DataValidationError",
     r"^universe 'late': The test span 2020-01-01\.\.2019-02-22 contains no rows"),
    ({"test_end": "2018-10-05"}, "DataValidationError",
     rf"^universe 'late': the test span has 5 rows; at least 20 are needed; {COVER}\. Move "
     r"train_end/test_start/test_end so that"),
    ({"stress_period": ["2018-04-30", "2018-03-01"]}, "ConfigError",
     r"^universe 'late': stress_period starts after it ends: \['2018-04-30', '2018-03-01'\]\.$"),
    ({"test_start": "2018-09-01"}, "ConfigError",
     r"^universe 'late': test_start=2018-09-01 must be after train_end=2018-09-28"),
])
def test_factor_study_checks_every_universe_before_the_first_fit(tmp_path, no_fit, bad, error, message):
    import latentquant.exceptions as exceptions
    from latentquant.experiments.factor_model import run

    p = _prices(tmp_path / "p.csv")
    out = tmp_path / "run"
    # the bad universe comes second: the first one must not be fitted before it is checked
    with pytest.raises(getattr(exceptions, error), match=message):
        run(_study(p, out, {}, {"name": "late", **bad}))
    assert not out.exists()


def test_a_universe_with_only_a_path_does_not_fail_on_the_default_dataset(tmp_path):
    from latentquant.experiments.factor_model import FactorStudyConfig

    cfg = FactorStudyConfig.from_dict({"universes": [{"name": "mine", "path": "prices.csv"}]})
    cfg.validate()
    assert (cfg.universes[0].data, cfg.universes[0].path) == (None, "prices.csv")
    assert FactorStudyConfig.from_dict({"universes": [{"name": "x"}]}).universes[0].data == "sp500_stocks"


def test_factor_study_stresses_with_a_period_outside_the_training_span(tmp_path):
    from latentquant.experiments.factor_model import run

    p = _prices(tmp_path / "p.csv")
    result = run(_study(p, tmp_path / "run", {"stress_period": ["2018-11-01", "2018-12-31"]}))
    stats = result.table("stress_statistics")
    assert list(stats.columns) == ["mean", "std", "train_mean", "train_std"]
    assert np.isfinite(stats.to_numpy()).all()
    assert result.metrics["universes"]["sim"]["stress_period"] == ["2018-11-01", "2018-12-31"]


# ------------------------------------------------------------------------------------- 3. PCA on unbalanced panels
def _late_starters(n_late=5, start=24, **kw):
    """A simulated monthly panel whose last ``n_late`` assets start ``start`` months late."""
    from latentquant.data import Panel, simulate_panel

    sim = simulate_panel(**{"n_assets": 30, "n_periods": 72, "n_chars": 3, "n_factors": 2, "seed": 0, **kw})
    panel = sim.panel
    dates = panel.dates
    assets = panel.returns.index.get_level_values(1)
    late = pd.Index(assets.unique()[-n_late:])
    keep = ~(assets.isin(late) & (panel.returns.index.get_level_values(0) < dates[start]))
    return Panel(panel.returns[keep], panel.characteristics[keep]), late, dates


def test_pca_fits_an_unbalanced_panel_on_the_assets_observed_throughout(tmp_path):
    from latentquant.data import Panel
    from latentquant.models.pricing import PCAFactors

    panel, late, dates = _late_starters()
    in_train = panel.returns.index.get_level_values(0) < dates[36]
    train, test = panel.select(in_train), panel.select(~in_train)
    with pytest.warns(DataWarning, match=r"^PCAFactors: unbalanced training panel; fitted on the 25 of 30 assets with "
                                         r"a return on every one of the 36 training dates, 5 dropped \(first "
                                         rf"{late[0]!r}\): they get no loadings \(betas 0, fitted and predicted "
                                         r"returns 0\)\.$"):
        model = PCAFactors(n_factors=2).fit(train)
    assert len(model.beta_) == 25 and not model.beta_.index.isin(late).any()
    # the same numbers as a fit on the balanced panel of the kept assets
    kept = ~train.returns.index.get_level_values(1).isin(late)
    balanced = PCAFactors(n_factors=2).fit(Panel(train.returns[kept], train.characteristics[kept]))
    pd.testing.assert_frame_equal(model.beta_, balanced.beta_)
    pd.testing.assert_frame_equal(model.factors_, balanced.factors_)
    # later months: the kept assets are priced, the dropped ones get betas 0 (a warning with the counts)
    with pytest.warns(DataWarning, match=r"^PCAFactors: 5 asset\(s\) of the panel \(180 of 1080 rows; "):
        fitted = model.fitted(test)
    assert fitted.index.equals(test.returns.index)
    is_late = test.returns.index.get_level_values(1).isin(late)
    assert (fitted[is_late] == 0).all() and np.isfinite(fitted).all()
    on_kept = Panel(test.returns[~is_late], test.characteristics[~is_late])
    np.testing.assert_allclose(fitted[~is_late].to_numpy(), balanced.fitted(on_kept).to_numpy())


def test_pca_refuses_an_unbalanced_panel_with_too_few_complete_assets():
    from latentquant.models.pricing import PCAFactors

    panel, _, _ = _late_starters(n_late=28)
    with pytest.raises(DataValidationError, match=r"^PCAFactors: only 2 of 30 assets have a return on every one of "
                                                  r"the 72 training dates \(28 miss some, first .*\); n_factors=2 "
                                                  r"needs at least 3\. Shorten the training window, lower n_factors "
                                                  r"or fill the panel's gaps\.$"):
        PCAFactors(n_factors=2).fit(panel)


def test_pricing_study_runs_pca_on_an_unbalanced_panel_file(tmp_path):
    from latentquant.experiments.asset_pricing import PricingStudyConfig, run

    panel, _, _ = _late_starters()
    frame = panel.characteristics.copy()
    frame.insert(0, "ret", panel.returns)
    frame = frame.reset_index().rename(columns={"asset": "permno"})
    frame["date"] = pd.DatetimeIndex(frame["date"]).strftime("%Y%m").astype(int)
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    cfg = PricingStudyConfig.from_dict({"data": str(path), "models": ["PCA"], "k_grid": [1, 2], "seeds": [0],
                                        "val_years": 1, "executor": "serial", "verbose": False,
                                        "out": str(tmp_path / "run")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        result = run(cfg)
    r2 = result.table("total_r2_stock")
    assert list(r2.index) == ["PCA"] and np.isfinite(r2.to_numpy()).all()
