"""Re-exports of :mod:`latentquant.models.autoencoder` (``VAE``, ``AETrainer``, ...) under the ``deep.autoencoder``
path, so code written for that layout runs with only its import line changed."""

from latentquant.models.autoencoder import (
    VAE,
    AETrainer,
    Autoencoder,
    DenoisingAutoencoder,
    anomaly_threshold,
    kl_divergence,
)
from latentquant.training import EarlyStopping

__all__ = [
    "VAE",
    "AETrainer",
    "Autoencoder",
    "DenoisingAutoencoder",
    "EarlyStopping",
    "anomaly_threshold",
    "kl_divergence",
]
