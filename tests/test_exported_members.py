"""The top-level API: ``import latentquant as lq`` exposes a pinned, sorted list of names, loaded lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import latentquant as lq

# Pinned on purpose: adding or removing a top-level name is an API change and must show up in this diff.
EXPECTED = [
    "VAE",
    "AETrainer",
    "Autoencoder",
    "ConditionalAutoencoder",
    "ConditionalVAE",
    "ConfigError",
    "ConvergenceWarning",
    "CrossAttentionSelector",
    "DataValidationError",
    "DataWarning",
    "DenoisingAutoencoder",
    "FamaFrench",
    "InstrumentedPCA",
    "LatentQuantError",
    "LightGBMBaseline",
    "MLPRegressor",
    "NotFittedError",
    "PCAFactors",
    "Panel",
    "RidgeBaseline",
    "SelfAttentionSelector",
    "SemiSupervisedVAE",
    "Standardizer",
    "VAEFactorModel",
    "VAEFeatures",
    "bybit_close_prices",
    "dataset_info",
    "fetch_bybit_klines",
    "list_datasets",
    "load_btc_hourly",
    "load_crypto_daily",
    "load_dataset",
    "load_etf_prices",
    "load_factor_etfs",
    "load_ff3",
    "load_french_portfolios",
    "load_fx_rates",
    "load_prices_csv",
    "load_returns",
    "load_sp500_index",
    "load_sp500_ohlcv",
    "load_sp500_stocks",
    "load_treasury_yields",
    "load_vix",
    "load_world_indices",
    "log_returns",
    "read_gkx_panel",
    "simple_returns",
    "simulate_panel",
    "split_by_date",
]

# Where each family is documented; the top-level object must be the very object of that package.
HOMES = ["latentquant.models.factor", "latentquant.models.pricing", "latentquant.models.selection",
         "latentquant.models.autoencoder", "latentquant.data", "latentquant.datasets", "latentquant.exceptions"]


def _ruff_order(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 enforces: SCREAMING_CASE, then CamelCase, then the rest, each alphabetical."""
    group = 0 if len(name) > 1 and name.isupper() else 1 if name[0].isupper() else 2
    return group, name


def test_all_is_pinned_and_sorted():
    assert lq.__all__ == EXPECTED
    assert lq.__all__ == sorted(lq.__all__, key=_ruff_order)
    assert len(set(lq.__all__)) == len(lq.__all__)


@pytest.mark.parametrize("name", EXPECTED)
def test_every_name_resolves_to_its_package_object(name):
    obj = getattr(lq, name)
    homes = [mod for mod in HOMES if getattr(importlib.import_module(mod), name, None) is obj]
    assert homes, f"lq.{name} is not the object exported by any of {HOMES}"
    assert name in dir(lq)


def test_star_import_gives_every_name():
    namespace: dict[str, object] = {}
    exec("from latentquant import *", namespace)
    assert set(EXPECTED) <= set(namespace)


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="module 'latentquant' has no attribute 'VAEFactorModell'"):
        lq.VAEFactorModell  # noqa: B018
    assert not hasattr(lq, "_private_thing")


def test_import_is_lazy():
    # a fresh interpreter: importing the package alone must not pull in the heavy dependencies
    code = ("import sys, latentquant as lq; heavy = sorted(m for m in ('torch', 'pandas', 'sklearn', 'scipy') "
            "if m in sys.modules); print(','.join(heavy)); lq.Standardizer; "
            "print('pandas' in sys.modules and 'latentquant.data' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "", f"import latentquant imported {out[0]}"
    assert out[1] == "True"  # the first access loaded the subpackage
