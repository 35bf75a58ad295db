"""Estimators and torch models, one module per model family."""

from latentquant.models.autoencoder import (
    VAE,
    AETrainer,
    Autoencoder,
    DenoisingAutoencoder,
    anomaly_threshold,
    kl_divergence,
)
from latentquant.models.factor import FactorEncoding, RiskDecomposition, VAEFactorModel
from latentquant.training.checkpoint import load_model

__all__ = [
    "VAE",
    "AETrainer",
    "Autoencoder",
    "DenoisingAutoencoder",
    "FactorEncoding",
    "RiskDecomposition",
    "VAEFactorModel",
    "anomaly_threshold",
    "kl_divergence",
    "load_model",
]
