"""Feature-selection and semi-supervised models (REFERENCE §5)."""

from latentquant.models.selection.ssvae import SemiSupervisedVAE

__all__ = ["SemiSupervisedVAE"]
