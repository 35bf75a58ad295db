"""Reproducible studies: each ``run(config)`` writes a run directory and returns a result object."""

from latentquant.experiments.vae_returns import VAEReturnsConfig, VAEReturnsResult
from latentquant.experiments.vae_returns import run as run_vae_returns

__all__ = ["VAEReturnsConfig", "VAEReturnsResult", "run_vae_returns"]
