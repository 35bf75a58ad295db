"""Asset-pricing models with one interface: fit on a panel, then betas, factors, fitted and predicted returns on any
panel (see :mod:`latentquant.models.pricing._base`).

:data:`PRICING_MODELS` names them for studies and configs: ``FF``, ``PCA``, ``IPCA``, ``CA0``–``CA3`` (the depth is
fixed by the name) and ``CVAE``; ``PRICING_MODELS.create("CA2", {"epochs": 50}, n_factors=3)`` builds one.

Examples
--------
>>> PRICING_MODELS.names()
['FF', 'PCA', 'IPCA', 'CA0', 'CA1', 'CA2', 'CA3', 'CVAE']
>>> PRICING_MODELS.create("CA2", n_factors=3).depth
2
"""

from latentquant.models._registry import Registry
from latentquant.models.pricing._base import BasePricingModel
from latentquant.models.pricing.conditional import ConditionalAutoencoder
from latentquant.models.pricing.factor_vae import ConditionalVAE
from latentquant.models.pricing.ipca import InstrumentedPCA
from latentquant.models.pricing.static import FamaFrench, PCAFactors

__all__ = [
    "PRICING_MODELS",
    "BasePricingModel",
    "ConditionalAutoencoder",
    "ConditionalVAE",
    "FamaFrench",
    "InstrumentedPCA",
    "PCAFactors",
]

#: name → pricing model class (with the arguments the name fixes), in the order studies report them
PRICING_MODELS: Registry[type[BasePricingModel]] = Registry("pricing model")
PRICING_MODELS.add("FF", FamaFrench)
PRICING_MODELS.add("PCA", PCAFactors)
PRICING_MODELS.add("IPCA", InstrumentedPCA)
for _depth in range(4):
    PRICING_MODELS.add(f"CA{_depth}", ConditionalAutoencoder, depth=_depth)
PRICING_MODELS.add("CVAE", ConditionalVAE)
del _depth
