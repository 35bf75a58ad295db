"""Estimators and torch models, one module per model family."""

from latentquant.models.autoencoder import (
    VAE,
    AETrainer,
    Autoencoder,
    DenoisingAutoencoder,
    anomaly_threshold,
    kl_divergence,
)
from latentquant.training.checkpoint import load_model

__all__ = [
    "VAE",
    "AETrainer",
    "Autoencoder",
    "DenoisingAutoencoder",
    "anomaly_threshold",
    "kl_divergence",
    "load_model",
]
