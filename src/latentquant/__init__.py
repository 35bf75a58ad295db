"""latentquant: generative and latent-variable models for quantitative finance.

The main estimators, data containers and dataset loaders are available from the top-level package::

    import latentquant as lq

    prices = lq.load_sp500_stocks()
    model = lq.VAEFactorModel(n_factors=5).fit(prices)

The names are loaded lazily: ``import latentquant`` imports neither torch nor pandas, and ``lq.VAEFactorModel``
imports :mod:`latentquant.models.factor` on first use. Everything else lives in the subpackages
(:mod:`latentquant.models.pricing`, :mod:`latentquant.evaluation`, :mod:`latentquant.experiments`, ...).

Examples
--------
>>> import latentquant as lq
>>> from latentquant.models.pricing import InstrumentedPCA
>>> lq.InstrumentedPCA is InstrumentedPCA
True
>>> lq.load_ff3().columns.tolist()
['MktRF', 'SMB', 'HML', 'RF']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the public (sub)package it comes from. Only public package paths: the modules behind them are private and
# may be split or renamed without touching this table.
_EXPORTS: dict[str, str] = {
    # estimators
    "VAEFactorModel": "latentquant.models.factor",
    "ConditionalAutoencoder": "latentquant.models.pricing",
    "ConditionalVAE": "latentquant.models.pricing",
    "FamaFrench": "latentquant.models.pricing",
    "InstrumentedPCA": "latentquant.models.pricing",
    "PCAFactors": "latentquant.models.pricing",
    "CrossAttentionSelector": "latentquant.models.selection",
    "LightGBMBaseline": "latentquant.models.selection",
    "MLPRegressor": "latentquant.models.selection",
    "RidgeBaseline": "latentquant.models.selection",
    "SelfAttentionSelector": "latentquant.models.selection",
    "SemiSupervisedVAE": "latentquant.models.selection",
    "VAEFeatures": "latentquant.models.selection",
    "AETrainer": "latentquant.models.autoencoder",
    "Autoencoder": "latentquant.models.autoencoder",
    "DenoisingAutoencoder": "latentquant.models.autoencoder",
    "VAE": "latentquant.models.autoencoder",
    # data containers, transforms and splits
    "Panel": "latentquant.data",
    "Standardizer": "latentquant.data",
    "log_returns": "latentquant.data",
    "read_gkx_panel": "latentquant.data",
    "simple_returns": "latentquant.data",
    "simulate_panel": "latentquant.data",
    "split_by_date": "latentquant.data",
    # datasets: bundled, user files, Bybit
    "bybit_close_prices": "latentquant.datasets",
    "dataset_info": "latentquant.datasets",
    "fetch_bybit_klines": "latentquant.datasets",
    "list_datasets": "latentquant.datasets",
    "load_btc_hourly": "latentquant.datasets",
    "load_crypto_daily": "latentquant.datasets",
    "load_dataset": "latentquant.datasets",
    "load_etf_prices": "latentquant.datasets",
    "load_factor_etfs": "latentquant.datasets",
    "load_ff3": "latentquant.datasets",
    "load_french_portfolios": "latentquant.datasets",
    "load_fx_rates": "latentquant.datasets",
    "load_prices_csv": "latentquant.datasets",
    "load_returns": "latentquant.datasets",
    "load_sp500_index": "latentquant.datasets",
    "load_sp500_ohlcv": "latentquant.datasets",
    "load_sp500_stocks": "latentquant.datasets",
    "load_treasury_yields": "latentquant.datasets",
    "load_vix": "latentquant.datasets",
    "load_world_indices": "latentquant.datasets",
    # errors and warnings
    "ConfigError": "latentquant.exceptions",
    "ConvergenceWarning": "latentquant.exceptions",
    "DataValidationError": "latentquant.exceptions",
    "DataWarning": "latentquant.exceptions",
    "LatentQuantError": "latentquant.exceptions",
    "NotFittedError": "latentquant.exceptions",
}

__all__ = [
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

if TYPE_CHECKING:  # static analysers and IDEs see the real objects; at run time __getattr__ loads them
    from latentquant.data import (
        Panel,
        Standardizer,
        log_returns,
        read_gkx_panel,
        simple_returns,
        simulate_panel,
        split_by_date,
    )
    from latentquant.datasets import (
        bybit_close_prices,
        dataset_info,
        fetch_bybit_klines,
        list_datasets,
        load_btc_hourly,
        load_crypto_daily,
        load_dataset,
        load_etf_prices,
        load_factor_etfs,
        load_ff3,
        load_french_portfolios,
        load_fx_rates,
        load_prices_csv,
        load_returns,
        load_sp500_index,
        load_sp500_ohlcv,
        load_sp500_stocks,
        load_treasury_yields,
        load_vix,
        load_world_indices,
    )
    from latentquant.exceptions import (
        ConfigError,
        ConvergenceWarning,
        DataValidationError,
        DataWarning,
        LatentQuantError,
        NotFittedError,
    )
    from latentquant.models.autoencoder import VAE, AETrainer, Autoencoder, DenoisingAutoencoder
    from latentquant.models.factor import VAEFactorModel
    from latentquant.models.pricing import (
        ConditionalAutoencoder,
        ConditionalVAE,
        FamaFrench,
        InstrumentedPCA,
        PCAFactors,
    )
    from latentquant.models.selection import (
        CrossAttentionSelector,
        LightGBMBaseline,
        MLPRegressor,
        RidgeBaseline,
        SelfAttentionSelector,
        SemiSupervisedVAE,
        VAEFeatures,
    )


def __getattr__(name: str) -> Any:
    """Import an exported name on first access (PEP 562), so that ``import latentquant`` stays cheap."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'latentquant' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later accesses are plain attribute lookups
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
