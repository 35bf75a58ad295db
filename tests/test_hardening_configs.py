"""Issue 11 §3: nested config sections are validated before any work starts, and a header-only panel file is a
clear DataValidationError (each case used to end in a TypeError/IndexError traceback)."""

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from latentquant.cli import app
from latentquant.data import read_gkx_panel
from latentquant.exceptions import ConfigError, DataValidationError
from latentquant.experiments._config import section_options
from latentquant.experiments.asset_pricing import PricingStudyConfig
from latentquant.experiments.feature_selection import SelectionStudyConfig
from latentquant.experiments.ff_portfolios import FFPortfoliosConfig
from latentquant.models.pricing import PRICING_MODELS
from latentquant.models.selection import SELECTION_MODELS

SIM_KEYS = ["beta", "factor_mean", "factor_vol", "n_assets", "n_chars", "n_factors", "n_periods", "noise_scale",
            "seed"]
VAE_KEYS = ["activation", "batch_size", "beta", "early_stopping", "epochs", "hidden_dims", "lr", "patience",
            "validation_split"]


def keys(registry, name):
    """What the registry accepts for ``name``: its parameters and their old spellings."""
    return sorted(set(registry.params(name)) | set(getattr(registry.get(name), "_renamed_params", {})))


def test_section_options_is_the_one_subset_check():
    assert section_options("s", {"a": 1}, ["a", "b"]) == {"a": 1}
    with pytest.raises(ConfigError, match=re.escape("s: unknown option(s) ['c']; known options: ['a', 'b'].")):
        section_options("s", {"a": 1, "c": 2}, ["b", "a"])
    with pytest.raises(ConfigError, match=re.escape("s: unknown option(s) [1, 'z']; known options: ['a'].")):
        section_options("s", {"z": 0, 1: 2}, ["a"])
    with pytest.raises(ConfigError, match=re.escape("s must be a mapping of VAE options, got 'x' (type str); "
                                                    "valid keys: ['a'].")):
        section_options("s", "x", ["a"], "VAE options")


@pytest.mark.parametrize(("raw", "message"), [
    ({"simulation": {"bogus": 1}}, f"simulation: unknown option(s) ['bogus']; known options: {SIM_KEYS}."),
    ({"simulation": [1, 2]}, f"simulation must be a mapping of simulate_panel arguments, got [1, 2] (type list); "
                             f"valid keys: {SIM_KEYS}."),
    ({"models": ["PCA"], "ca": {"bogus": 1}},
     f"ca: unknown option(s) ['bogus']; known options: {keys(PRICING_MODELS, 'CA0')}."),
    ({"models": ["PCA"], "cvae": {"bogus": 1}},
     f"cvae: unknown option(s) ['bogus']; known options: {keys(PRICING_MODELS, 'CVAE')}."),
    ({"models": ["CA0"], "ca": {"bogus": 1}}, "ca: pricing model 'CA0' has no parameter(s) ['bogus']; its "
                                              f"parameters are {keys(PRICING_MODELS, 'CA0')}."),
    ({"models": ["CVAE"], "cvae": {"bogus": 1}}, "cvae: pricing model 'CVAE' has no parameter(s) ['bogus']; its "
                                                 f"parameters are {keys(PRICING_MODELS, 'CVAE')}."),
    ({"models": ["PCA"], "ca": [1]}, f"ca must be a mapping of model options, got [1] (type list); valid keys: "
                                     f"{keys(PRICING_MODELS, 'CA0')}."),
])
def test_pricing_nested_sections_fail_in_validate(raw, message):
    config = PricingStudyConfig.from_dict(raw)
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        config.validate()


@pytest.mark.parametrize(("raw", "message"), [
    ({"params": {"ridge": [1]}}, "params.ridge must be a mapping of model options, got [1] (type list); valid keys: "
                                 "['alpha']."),
    ({"params": {"ridge": {"bogus": 1}}}, "params.ridge: unknown option(s) ['bogus']; known options: ['alpha']."),
    ({"params": [1]}, "params must be a mapping of model names to model options, got [1] (type list); valid keys: "
                      "['cross_attention', 'lightgbm', 'mlp', 'ridge', 'self_attention', 'vae_features']."),
    ({"pretraining": {"bogus": 1}}, "pretraining: unknown option(s) ['bogus']; known options: ['enabled', "
                                    "'fine_tune', 'models', 'seeds', 'target']."),
    ({"pretraining": "yes"}, "pretraining must be a mapping of options, got 'yes' (type str); valid keys: "
                             "['enabled', 'fine_tune', 'models', 'seeds', 'target']."),
    ({"pretraining": {"models": "mlp"}}, "pretraining.models must be a list of model names ('self_attention', "
                                         "'vae_features'), got 'mlp'."),
    ({"semi_supervised": {"bogus": 1}}, "semi_supervised: unknown option(s) ['bogus']; known options: ['enabled', "
                                        "'label_fraction', 'params', 'seeds']."),
])
def test_selection_nested_sections_fail_in_validate(raw, message):
    config = SelectionStudyConfig.from_dict(raw)
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        config.validate()


def test_selection_model_parameter_sections_use_the_registry():
    semi = keys(SELECTION_MODELS, "semi_supervised_vae")
    with pytest.raises(ConfigError, match=re.escape(f"semi_supervised.params: unknown option(s) ['bogus']; known "
                                                    f"options: {semi}.")):
        SelectionStudyConfig.from_dict({"semi_supervised": {"params": {"bogus": 1}}}).validate()
    with pytest.raises(ConfigError, match=re.escape("pretraining.fine_tune: unknown option(s) ['bogus']; known "
                                                    "options: [")):
        SelectionStudyConfig.from_dict({"pretraining": {"fine_tune": {"epochs": 3, "bogus": 1}}}).validate()
    # valid sections pass (what the bundled configs and the defaults use)
    SelectionStudyConfig.from_dict({"params": {"ridge": {"alpha": 2.0}, "mlp": {"epochs": 5}},
                                    "pretraining": {"models": [], "fine_tune": {"epochs": 3}}}).validate()
    SelectionStudyConfig().validate()
    PricingStudyConfig().validate()


def test_ff_vae_section_fails_in_validate_too():
    message = f"vae: unknown option(s) ['bogus']; known options: {VAE_KEYS}."
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        FFPortfoliosConfig.from_dict({"vae": {"bogus": 1}})
    direct = FFPortfoliosConfig()
    direct.vae["bogus"] = 1  # built in Python, never through from_dict
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        direct.validate()
    with pytest.raises(ConfigError, match=re.escape("vae must be a mapping of VAE options, got 3 (type int)")):
        FFPortfoliosConfig.from_dict({"vae": 3})


@pytest.mark.parametrize(("command", "content", "message"), [
    (["price", "run"], "simulation: {bogus: 1}\n", f"simulation: unknown option(s) ['bogus']; known options: "
                                                   f"{SIM_KEYS}."),
    (["price", "run"], "simulation: [1, 2]\n", f"simulation must be a mapping of simulate_panel arguments, got "
                                               f"[1, 2] (type list); valid keys: {SIM_KEYS}."),
    (["select", "run"], "params: {ridge: [1]}\n", "params.ridge must be a mapping of model options, got [1] (type "
                                                  "list); valid keys: ['alpha']."),
    (["price", "portfolios"], "vae: {bogus: 1}\n", f"vae: unknown option(s) ['bogus']; known options: {VAE_KEYS}."),
])
def test_cli_nested_section_errors_are_one_line_before_any_work(tmp_path, command, content, message):
    path = tmp_path / "study.yaml"
    path.write_text(content)
    out = tmp_path / "run"
    res = CliRunner().invoke(app, [*command, "--config", str(path), "--out", str(out)])
    assert res.exit_code == 2, (res.output, res.exception)
    assert res.stderr == f"error: {message}\n"
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_header_only_panel_file_says_it_has_no_rows(tmp_path, suffix):
    path = tmp_path / f"panel{suffix}"
    empty = pd.DataFrame({"permno": pd.Series(dtype="int64"), "date": pd.Series(dtype="int64"),
                          "ret": pd.Series(dtype="object"), "mom": pd.Series(dtype="float64")})
    if suffix == ".csv":
        path.write_text("permno,date,ret,mom\n")
    else:
        empty.to_parquet(path)
    message = (f"'panel{suffix}' has no rows (only the header: 'permno', 'date', 'ret', 'mom'); a panel needs one "
               "row per (asset, month); check the export.")
    with pytest.raises(DataValidationError, match=f"^{re.escape(message)}$"):
        read_gkx_panel(path)
