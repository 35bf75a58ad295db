"""Synthetic market data: generators of windows ``(n, length, features)`` with one interface.

Every generator is fitted on a series (a DataFrame or array ``(T, F)``) or on windows ``(n, L, F)`` and samples
windows in the units of the data: ``model.fit(windows).sample(n, seed=0)``. It saves to and loads from a directory of
JSON + arrays (:meth:`~latentquant.base.BaseModel.save`). :class:`BaseGenerator` describes the contract
(:mod:`latentquant.models.generative._base`); the baselines every deep model is set beside are in
:mod:`latentquant.models.generative.baselines` and :mod:`latentquant.models.generative.garch`. The neural generators
share :class:`~latentquant.models.generative._torch.TorchGenerator` (train-only standardisation, the shared Trainer):
:class:`TimeVAE` (:mod:`~latentquant.models.generative.timevae`), the flows :class:`NICE`, :class:`RealNVP` and
:class:`MAF` (:mod:`~latentquant.models.generative.flows`, with ``log_prob``) and :class:`DiffusionGenerator`
(:mod:`~latentquant.models.generative.diffusion`).

:data:`GENERATORS` names them for studies, configs and the CLI: :func:`available` lists the names, :func:`create`
builds one.

Examples
--------
>>> available()
['bootstrap', 'block_bootstrap', 'gaussian', 'garch', 'timevae', 'nice', 'realnvp', 'maf', 'ddpm']
>>> create("block_bootstrap", block_length=5.0).block_length
5.0
"""

from typing import Any

from latentquant.models._registry import Registry
from latentquant.models.generative._base import BaseGenerator
from latentquant.models.generative.baselines import (
    BlockBootstrapGenerator,
    BootstrapGenerator,
    GaussianGenerator,
    politis_white_block_length,
    stationary_segment_indices,
)
from latentquant.models.generative.diffusion import DiffusionGenerator
from latentquant.models.generative.flows import MAF, NICE, RealNVP
from latentquant.models.generative.garch import GARCHGenerator
from latentquant.models.generative.timevae import TimeVAE

__all__ = [
    "GENERATORS",
    "MAF",
    "NICE",
    "BaseGenerator",
    "BlockBootstrapGenerator",
    "BootstrapGenerator",
    "DiffusionGenerator",
    "GARCHGenerator",
    "GaussianGenerator",
    "RealNVP",
    "TimeVAE",
    "available",
    "create",
    "politis_white_block_length",
    "stationary_segment_indices",
]

#: name → generator class, the baselines first (the order reports show them in)
GENERATORS: Registry[type[BaseGenerator]] = Registry("generator")
GENERATORS.add("bootstrap", BootstrapGenerator)
GENERATORS.add("block_bootstrap", BlockBootstrapGenerator)
GENERATORS.add("gaussian", GaussianGenerator)
GENERATORS.add("garch", GARCHGenerator)
GENERATORS.add("timevae", TimeVAE)
GENERATORS.add("nice", NICE)
GENERATORS.add("realnvp", RealNVP)
GENERATORS.add("maf", MAF)
GENERATORS.add("ddpm", DiffusionGenerator)


def available() -> list[str]:
    """Names of the registered generators, in registration order (the names :func:`create` takes).

    Examples
    --------
    >>> "garch" in available()
    True
    """
    return GENERATORS.names()


def create(name: str, /, **params: Any) -> BaseGenerator:
    """Build the generator registered as ``name`` with hyperparameters ``params`` (unfitted).

    Parameters
    ----------
    name : str
        A name of :func:`available`.
    **params
        Hyperparameters of that generator.

    Returns
    -------
    BaseGenerator
        The unfitted generator.

    Raises
    ------
    ConfigError
        An unknown name or a parameter the generator does not take (the message lists the valid ones).

    Examples
    --------
    >>> create("garch", mean="Constant", burn=100)
    GARCHGenerator(burn=100, mean='Constant')
    >>> create("timegan")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: unknown generator 'timegan'; choose from ['bootstrap', 'block_bootstrap', \
'gaussian', 'garch', 'timevae', 'nice', 'realnvp', 'maf', 'ddpm'].
    """
    return GENERATORS.create(name, **params)  # type: ignore[no-any-return]
