"""Compatibility namespace: ``latentquant.deep.autoencoder`` offers the VAE toolkit under the names used by
existing trading-ML code bases (``from ...deep.autoencoder import VAE, AETrainer``)."""
