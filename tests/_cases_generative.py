"""Estimator-contract cases of the synthetic-data generators (``tests/test_estimator_contract.py``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from estimator_cases import Case


def _returns(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.standard_t(6, size=(n, 2)) * 0.01, columns=["ret", "logvar"],
                        index=pd.bdate_range("2015-01-01", periods=n))


def _case(estimator: object, bad_param: tuple[str, object]) -> Case:
    data = _returns()

    def sample(e: object) -> pd.DataFrame:  # pandas out: the sampled windows stacked as days × features
        return pd.DataFrame(e.sample(4, seed=0).reshape(-1, 2), columns=data.columns)  # type: ignore[attr-defined]

    return Case(estimator, lambda e: e.fit(data), sample, bad_param)


def bootstrap() -> Case:
    from latentquant.models.generative import BootstrapGenerator

    return _case(BootstrapGenerator(length=20), ("length", 0))


def block_bootstrap() -> Case:
    from latentquant.models.generative import BlockBootstrapGenerator

    return _case(BlockBootstrapGenerator(length=20), ("block_length", 0.5))


def gaussian() -> Case:
    from latentquant.models.generative import GaussianGenerator

    return _case(GaussianGenerator(length=20), ("seed", -1))


def garch() -> Case:
    from latentquant.models.generative import GARCHGenerator

    return _case(GARCHGenerator(length=20, burn=50), ("mean", "ARMA"))


def ddpm() -> Case:
    from latentquant.models.generative import DiffusionGenerator

    return _case(DiffusionGenerator(length=8, n_steps=10, channels=8, n_blocks=1, epochs=1, verbose=False),
                 ("schedule", "sigmoid"))


def timevae() -> Case:
    from latentquant.models.generative import TimeVAE

    return _case(TimeVAE(length=8, latent_dim=2, hidden_channels=(4,), epochs=1, verbose=False), ("latent_dim", 0))


def realnvp() -> Case:
    from latentquant.models.generative import RealNVP

    return _case(RealNVP(length=8, n_layers=2, hidden_dims=(8,), epochs=1, verbose=False), ("mask", "diagonal"))


def nice() -> Case:
    from latentquant.models.generative import NICE

    return _case(NICE(length=8, n_layers=2, hidden_dims=(8,), epochs=1, verbose=False), ("n_layers", 0))


def maf() -> Case:
    from latentquant.models.generative import MAF

    return _case(MAF(length=8, n_layers=1, hidden_dims=(8,), epochs=1, verbose=False), ("context", "vix"))


CASES: dict[str, Callable[[], Case]] = {
    "BootstrapGenerator": bootstrap,
    "BlockBootstrapGenerator": block_bootstrap,
    "GaussianGenerator": gaussian,
    "GARCHGenerator": garch,
    "DiffusionGenerator": ddpm,
    "TimeVAE": timevae,
    "NICE": nice,
    "RealNVP": realnvp,
    "MAF": maf,
}
