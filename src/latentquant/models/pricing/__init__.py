"""Asset-pricing models with one interface: fit on a panel, then betas, factors and fitted returns on any panel."""

from latentquant.models.pricing.conditional import ConditionalAutoencoder
from latentquant.models.pricing.factor_vae import ConditionalVAE
from latentquant.models.pricing.ipca import InstrumentedPCA
from latentquant.models.pricing.static import FamaFrench, PCAFactors

__all__ = ["ConditionalAutoencoder", "ConditionalVAE", "FamaFrench", "InstrumentedPCA", "PCAFactors"]
