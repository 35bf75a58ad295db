"""Metrics returning labelled pandas objects: reconstruction, distribution comparison."""

from latentquant.evaluation.distribution import distribution_summary, var_es
from latentquant.evaluation.reconstruction import reconstruction_r2

__all__ = ["distribution_summary", "reconstruction_r2", "var_es"]
