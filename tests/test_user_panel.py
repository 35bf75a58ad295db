"""The asset-pricing study on a user's own files: column names, percent returns, dropped columns, missing values and
a file of observable factors for FF — with the study's report of what it did to the data, and pinned messages."""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentquant.data import Panel, read_gkx_panel, simulate_panel
from latentquant.data.panel_io import PERCENT_MEDIAN, read_factor_returns
from latentquant.evaluation import total_r2
from latentquant.exceptions import ConfigError, DataValidationError, DataWarning
from latentquant.experiments._pricing_data import load_panel
from latentquant.experiments.asset_pricing import PricingStudyConfig, run
from latentquant.models.pricing import FamaFrench

SIM = simulate_panel(n_assets=40, n_periods=60, n_chars=3, n_factors=2, beta="linear", seed=0)  # 2000-01 … 2004-12
BASE = {"file_lag": 0, "models": ["PCA", "IPCA"], "k_grid": [1, 2], "val_years": 1, "first_test_year": 2004,
        "executor": "serial", "verbose": False}
TABLES = ("total_r2_stock", "predictive_r2_stock", "total_r2_portfolio", "predictive_r2_portfolio")
MISSING = {"c02": 60, "c03": 3}  # characteristic values blanked in the file, per column


def panel_frame(scale: float = 1.0, *, return_col: str = "ret") -> pd.DataFrame:
    """The simulated panel in CRSP/GKX layout (already aligned: file_lag=0), returns times ``scale``, two text
    columns and a few missing characteristics."""
    frame = SIM.panel.characteristics.reset_index()
    frame.insert(2, return_col, SIM.panel.returns.to_numpy() * scale)
    frame["date"] = frame["date"].dt.strftime("%Y%m").astype(int)
    frame["asset"] = frame["asset"].str[1:].astype(int) + 10000
    frame = frame.rename(columns={"asset": "permno"})
    frame["name"] = "firm" + frame["permno"].astype(str)
    frame["sector"] = np.where(frame["permno"] % 2 == 0, "tech", "retail")
    rows = np.random.default_rng(1).permutation(len(frame))
    start = 0
    for column, n in MISSING.items():
        frame.loc[rows[start:start + n], column] = np.nan
        start += n
    return frame


def factors_frame(scale: float = 100.0) -> pd.DataFrame:
    """The true factors as a Fama–French-style file (``date, Mkt-RF, SMB, RF``), in percent by default."""
    f = SIM.factors.set_axis(["Mkt-RF", "SMB"], axis=1) * scale
    return f.assign(RF=0.3).rename_axis("date").reset_index().assign(date=lambda d: d["date"].dt.strftime("%Y%m"))


def study(tmp_path: Path, name: str, **options):
    cfg = PricingStudyConfig.from_dict({**BASE, **options, "out": str(tmp_path / name)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(cfg)
    return result, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("user")
    panel_frame().to_csv(tmp / "decimal.csv", index=False)
    panel_frame(100.0).to_parquet(tmp / "percent.parquet")
    factors_frame().to_csv(tmp / "ff.csv", index=False)
    decimal = study(tmp, "decimal", data=str(tmp / "decimal.csv"))
    percent = study(tmp, "percent", data=str(tmp / "percent.parquet"))
    ff = study(tmp, "ff", data=str(tmp / "decimal.csv"), models=["FF", "PCA"], factors_path=str(tmp / "ff.csv"))
    return tmp, decimal, percent, ff


# --------------------------------------------------------------------------------------------------- units
def test_a_panel_in_percent_gives_the_same_tables_as_in_decimals(runs):
    _, (decimal, _), (percent, warned), _ = runs
    for name in TABLES:
        pd.testing.assert_frame_equal(percent.table(name), decimal.table(name), rtol=1e-9)
    assert decimal.table("total_r2_stock").loc["IPCA", "K=2"] > 10  # the tables hold real fits, not NaN or 0
    assert any(re.fullmatch(
        r"the returns in column 'ret' of 'percent.parquet' look like percent \(median \|value\| \d\.\d+ > 0\.2; "
        r"monthly returns in decimals have a median magnitude of about 0\.02–0\.10\): divided by 100 to decimal "
        r"returns\. If they are decimals, set return_unit: decimal in the config or --return-unit decimal\.", w)
        for w in warned), warned
    # the decision is recorded in the metrics and the manifest
    for result in (decimal, percent):
        manifest = json.loads((result.path / "manifest.json").read_text())
        assert manifest["data_report"] == json.loads(json.dumps(result.metrics["data_report"]))
    unit = percent.metrics["data_report"]["panel"]["return_unit"]
    assert unit["unit"] == "percent" and unit["divided_by_100"] and unit["rule"].startswith("auto: median |value| ")
    assert unit["median_abs"] == pytest.approx(100 * SIM.panel.returns.abs().median())
    assert decimal.metrics["data_report"]["panel"]["return_unit"]["unit"] == "decimal"
    stored = pd.read_parquet(percent.path / "fits" / "panel.parquet")["__ret__"]
    np.testing.assert_allclose(stored.to_numpy(), SIM.panel.returns.to_numpy(), rtol=1e-12)


def test_explicit_units_switch_the_detection_off(tmp_path):
    panel_frame(100.0).to_csv(tmp_path / "p.csv", index=False)
    cfg = {**BASE, "data": str(tmp_path / "p.csv")}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # an explicit unit is not warned about
        warnings.filterwarnings("ignore", "(.*non-numeric|.*missing)", DataWarning)
        panel, _, _, report = load_panel(PricingStudyConfig.from_dict({**cfg, "return_unit": "percent"}))
    assert report["panel"]["return_unit"]["rule"] == "set explicitly"
    np.testing.assert_allclose(panel.returns.to_numpy(), SIM.panel.returns.to_numpy(), rtol=1e-12)
    with pytest.raises(DataValidationError, match=r"returns have \d+ value\(s\) of magnitude above 10"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            load_panel(PricingStudyConfig.from_dict({**cfg, "return_unit": "decimal"}))


def test_the_unit_rule_is_the_median_and_ignores_large_genuine_returns(tmp_path):
    assert PERCENT_MEDIAN == 0.2
    path = tmp_path / "r.csv"

    def read(returns, **kwargs):
        n = len(returns)
        pd.DataFrame({"permno": np.arange(n), "date": 200001, "ret": returns, "x": 1.0}).to_csv(path, index=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            p = read_gkx_panel(path, lag=0, **kwargs)
        return p.returns.to_numpy(), [str(w.message) for w in caught]

    values, warned = read([0.19, -0.19, 0.19, 3.0, 9.5])  # a +950 % month does not make the file percent
    assert values.tolist() == [0.19, -0.19, 0.19, 3.0, 9.5] and not warned
    values, warned = read([0.21, -0.21, 0.21, 0.0, 0.0, 0.21, 0.21])  # median |r| 0.21 > 0.2: percent
    assert values.tolist() == pytest.approx([0.0021, -0.0021, 0.0021, 0.0, 0.0, 0.0021, 0.0021])
    assert len(warned) == 1 and warned[0].endswith("If they are decimals, pass return_unit='decimal'.")
    values, warned = read([0.21, -0.21, 0.21], return_unit="decimal")
    assert values.tolist() == [0.21, -0.21, 0.21] and not warned


# --------------------------------------------------------------------------------------------------- columns
def test_dropped_columns_and_missing_shares_are_warned_and_recorded(runs):
    _, (decimal, warned), _, _ = runs
    report = decimal.metrics["data_report"]["panel"]
    assert report["dropped_columns"] == ["name", "sector"] and report["n_dropped_columns"] == 2
    assert "'decimal.csv': 2 non-numeric column(s) left out of the characteristics: 'name', 'sector'; convert them " \
           "to numbers to use them." in warned
    n = len(SIM.panel.returns)
    expected = {"c01": 0.0, "c02": MISSING["c02"] / n, "c03": MISSING["c03"] / n}
    assert report["missing_share_by_column"] == pytest.approx(expected, abs=1e-15)
    assert report["missing_share"] == pytest.approx(sum(MISSING.values()) / (3 * n), abs=1e-15)
    overall = 100 * sum(MISSING.values()) / (3 * n)
    assert (f"{overall:.1f}% of the characteristic values of 'decimal.csv' are missing (after the lag) and set to 0, "
            f"the cross-sectional median after ranking; 2 of 3 column(s) have gaps: c02 {100 * 60 / n:.1f}%, "
            f"c03 {100 * 3 / n:.1f}%. metrics.json (data_report) lists the share of every column.") in warned
    assert "2 non-numeric column(s) left out: name, sector" in decimal.report.read_text()


def test_column_names_are_options(tmp_path):
    frame = panel_frame(return_col="excess").rename(columns={"permno": "id", "date": "month"})
    frame.to_csv(tmp_path / "u.csv", index=False)
    cfg = {**BASE, "data": str(tmp_path / "u.csv")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        panel, _, _, _ = load_panel(PricingStudyConfig.from_dict(
            {**cfg, "return_col": "excess", "id_col": "id", "date_col": "month"}))
        np.testing.assert_allclose(panel.returns.to_numpy(), SIM.panel.returns.to_numpy(), rtol=1e-12)
        assert list(panel.characteristics.columns) == ["c01", "c02", "c03", "const"]
        for options, option in (({}, "id_col"), ({"id_col": "id"}, "date_col"),
                                ({"id_col": "id", "date_col": "month"}, "return_col")):
            role, col = option.split("_")[0], {"id_col": "permno", "date_col": "date", "return_col": "ret"}[option]
            message = (f"'u.csv' has no {role} column '{col}' (columns: 'month', 'id', 'excess', 'c01', 'c02', 'c03', "
                       f"'name', 'sector'); set {option}: <name> in the config or --{option.replace('_', '-')} "
                       "<name>.")
            with pytest.raises(DataValidationError, match=f"^{re.escape(message)}$"):
                load_panel(PricingStudyConfig.from_dict({**cfg, **options}))


# --------------------------------------------------------------------------------------------------- FF
def test_ff_runs_with_a_factors_file_and_matches_a_direct_fit(runs):
    _, _, _, (ff, warned) = runs
    table = ff.table("total_r2_stock")
    assert list(table.index) == ["FF", "PCA"]
    years = SIM.panel.returns.index.get_level_values(0).year
    train, test = SIM.panel.select(years <= 2003), SIM.panel.select(years == 2004)
    for k in (1, 2):
        model = FamaFrench(n_factors=k).fit(train, factor_returns=SIM.factors)
        direct = 100 * total_r2(test.returns, model.fitted(test))
        assert table.loc["FF", f"K={k}"] == pytest.approx(direct, rel=1e-9)
    assert table.loc["FF", "K=2"] > 2  # about 4 %: the true factors, but constant betas on a conditional DGP
    stored = pd.read_parquet(ff.path / "fits" / "factors.parquet")
    assert list(stored.columns) == ["Mkt-RF", "SMB"]  # RF is not a factor
    np.testing.assert_allclose(stored.to_numpy(), SIM.factors.to_numpy(), rtol=1e-12)
    report = ff.metrics["data_report"]["factors"]
    assert report["factors"] == ["Mkt-RF", "SMB"] and report["rf_column"] == "RF"
    assert report["return_unit"]["unit"] == "percent" and (report["first_month"], report["last_month"]) == (
        "2000-01", "2004-12")
    assert any(w.startswith("the factor returns of factors file 'ff.csv' look like percent") and w.endswith(
        "If they are decimals, set factors_return_unit: decimal in the config or --factors-return-unit decimal.")
        for w in warned)
    manifest = json.loads((ff.path / "manifest.json").read_text())
    assert manifest["data_report"]["factors"]["file"] == "ff.csv" and "ff.csv" in manifest["data_source"]


def test_a_changed_factors_file_refits_ff_on_resume(runs, tmp_path):
    tmp = runs[0]
    options = {"data": str(tmp / "decimal.csv"), "models": ["FF", "PCA"], "k_grid": [1]}
    first, _ = study(tmp_path, "run", **options, factors_path=str(tmp / "ff.csv"))
    swapped = factors_frame()[["date", "SMB", "Mkt-RF", "RF"]]  # K=1 is now the second true factor
    swapped.to_csv(tmp_path / "swapped.csv", index=False)
    stored = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run" / "fits").glob("w*.json")}
    again, _ = study(tmp_path, "run", **options, factors_path=str(tmp_path / "swapped.csv"))
    years = SIM.panel.returns.index.get_level_values(0).year
    train, test = SIM.panel.select(years <= 2003), SIM.panel.select(years == 2004)
    model = FamaFrench(n_factors=1).fit(train, factor_returns=SIM.factors[["f2"]])
    direct = 100 * total_r2(test.returns, model.fitted(test))
    assert again.table("total_r2_stock").loc["FF", "K=1"] == pytest.approx(direct, rel=1e-9)
    assert abs(direct - first.table("total_r2_stock").loc["FF", "K=1"]) > 0.1  # a stale fit would be caught
    # only FF's fits depend on the factors: PCA's stored fit is reused
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run" / "fits").glob("w*PCA*.json")} == {
        k: v for k, v in stored.items() if "PCA" in k}


def test_ff_without_factors_is_skipped_with_the_fix(tmp_path):
    panel_frame().to_csv(tmp_path / "p.csv", index=False)
    result, warned = study(tmp_path, "run", data=str(tmp_path / "p.csv"), models=["FF", "PCA"], k_grid=[1])
    assert list(result.table("total_r2_stock").index) == ["PCA"]
    assert ("model FF is skipped: this data source provides no observable factor returns; to run it, set "
            "factors_path: <file> in the config or --factors-path <file>, a CSV or Parquet file with a date column "
            "and factor columns such as Mkt-RF, SMB, HML (optional RF).") in warned


def test_factors_must_cover_the_months_the_study_uses(runs, tmp_path):
    tmp = runs[0]
    gap = factors_frame()
    gap.loc[gap["date"] == "200406", "SMB"] = np.nan
    gap[gap["date"] != "200410"].to_csv(tmp_path / "gap.csv", index=False)
    cfg = {**BASE, "data": str(tmp / "decimal.csv"), "models": ["FF"], "factors_path": str(tmp_path / "gap.csv"),
           "out": str(tmp_path / "run")}
    message = ("factors file 'gap.csv' does not cover the panel: 2 of the 60 months the study uses have no complete "
               "factor row (first 2004-06, last 2004-10; the factor rows run 2000-01 to 2004-12); extend the factors "
               "file to 2000-01 to 2004-12, or narrow the study with start_year / last_test_year.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataValidationError, match=f"^{re.escape(message)}$"):
            run(PricingStudyConfig.from_dict(cfg))
        assert not (tmp_path / "run").exists()  # refused before any fit
        # a study that ends before the gap runs
        load_panel(PricingStudyConfig.from_dict({**cfg, "last_test_year": 2003}))


def test_read_factor_returns_finds_the_date_column_and_keeps_rf(tmp_path):
    frame = factors_frame(1.0).rename(columns={"date": "Unnamed: 0"})  # Ken French's CSVs have no date header
    frame.to_csv(tmp_path / "f.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ff = read_factor_returns(tmp_path / "f.csv", return_unit="decimal")
    assert list(ff.columns) == ["Mkt-RF", "SMB", "RF"] and ff.index.equals(SIM.factors.index.rename("date"))
    np.testing.assert_allclose(ff[["Mkt-RF", "SMB"]].to_numpy(), SIM.factors.to_numpy())


# --------------------------------------------------------------------------------------------------- messages
@pytest.mark.parametrize(("options", "message"), [
    ({"return_unit": "pct"}, "return_unit must be one of ['auto', 'decimal', 'percent'], got 'pct'."),
    ({"factors_return_unit": 100}, "factors_return_unit must be one of ['auto', 'decimal', 'percent'], got 100."),
    ({"return_col": ""}, "return_col must be a column name (a non-empty string), got ''; set return_col: <name> in "
                         "the config or --return-col <name>."),
    ({"id_col": 3}, "id_col must be a column name (a non-empty string), got 3; set id_col: <name> in the config or "
                    "--id-col <name>."),
    ({"date_col": "ret"}, "return_col, id_col and date_col must name three different columns, got {'return_col': "
                          "'ret', 'id_col': 'permno', 'date_col': 'ret'}."),
    ({"file_lag": -1}, "file_lag must be a non-negative integer, got -1."),
    ({"factors_path": "no/such/ff.csv"}, "factors_path='no/such/ff.csv' is not an existing file; set factors_path: "
                                         "<file> in the config or --factors-path <file>, a CSV or Parquet file with "
                                         "a date column and factor columns such as Mkt-RF, SMB, HML (optional RF)."),
])
def test_config_errors_name_the_option_and_the_fix(options, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        PricingStudyConfig.from_dict({**BASE, **options}).validate()


def _factors_error(tmp_path, frame, message):
    frame.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(DataValidationError, match=f"^{re.escape(message)}$"):
        read_factor_returns(tmp_path / "f.csv")


def test_factors_file_errors_are_pinned(tmp_path):
    good = factors_frame()
    _factors_error(tmp_path, good.assign(note="x"), "factors file 'f.csv' has 1 non-numeric column(s) 'note' (e.g. "
                   "'x'); a factors file holds a date column and numeric factor returns (e.g. Mkt-RF, SMB, HML, "
                   "optional RF): convert or remove the others.")
    _factors_error(tmp_path, good[["date", "RF"]], "factors file 'f.csv' holds only the risk-free rate ['RF']; add "
                   "the factor returns (e.g. Mkt-RF, SMB, HML) as columns.")
    _factors_error(tmp_path, good[["date"]], "factors file 'f.csv' has no factor column besides its date column "
                   "'date'; add the factor returns (e.g. Mkt-RF, SMB, HML) as columns.")
    _factors_error(tmp_path, pd.concat([good, good.iloc[[3]]]), "factors file 'f.csv' has two rows for month 2000-04 "
                   "(row 60, raw date 200004); keep one row per month.")
    _factors_error(tmp_path, good.assign(date=good["date"].where(good.index != 2, "March")),
                   "date column 'date' of factors file 'f.csv' (the column named 'date', else the first column) has "
                   "an unparseable date 'March' (row 2, 1 bad value(s) in total); use YYYYMM, YYYYMMDD or ISO dates "
                   "like 2000-01-31.")
    (tmp_path / "e.csv").write_text("date,Mkt-RF\n")
    with pytest.raises(DataValidationError, match=re.escape("factors file 'e.csv' has no rows (only the header: "
                                                            "'date', 'Mkt-RF'); it needs one row per month")):
        read_factor_returns(tmp_path / "e.csv")


def test_panel_errors_speak_the_callers_language(tmp_path):
    bad = panel_frame().astype({"ret": object})
    bad.loc[3, "ret"], bad.loc[7, "ret"] = "C", "B"
    bad.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(DataValidationError, match=r"^return column 'ret' of 'r.csv' is not numeric \(2 non-numeric "
                                                  r"value\(s\), first 'C' in row 3\); convert it to returns"):
        load_panel(PricingStudyConfig.from_dict({**BASE, "data": str(tmp_path / "r.csv")}))
    panel_frame(return_col="excess").to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataValidationError, match=r"has no return column 'ret' \(columns: .*\); pass return_col=\.\.\.\.$"):
        read_gkx_panel(tmp_path / "x.csv")  # Python callers are told the argument
    idx = SIM.panel.returns.index
    with pytest.raises(DataValidationError, match=re.escape(
            "frame has no return column 'ret'; its columns are 'excess', 'mom'; name the return column with the "
            "return_col option (Panel.from_frame(frame, return_col='<column>')).")):
        Panel.from_frame(pd.DataFrame({"excess": 0.01, "mom": 1.0}, index=idx))
