"""latentquant: generative and latent-variable models for quantitative finance."""

__version__ = "0.1.0"
