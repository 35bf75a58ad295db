"""Feature-selection and semi-supervised models (REFERENCE §5): attention selectors, VAE features, the MLP and the
global baselines (ridge, LightGBM with permutation importance and TreeSHAP), and the semi-supervised VAE."""

from latentquant.models.selection.attention import CrossAttentionSelector, MLPRegressor, SelfAttentionSelector
from latentquant.models.selection.baselines import (
    LightGBMBaseline,
    RidgeBaseline,
    global_shap_ranking,
    permutation_importance_mda,
    shap_importance,
)
from latentquant.models.selection.ssvae import SemiSupervisedVAE
from latentquant.models.selection.vae_features import VAEFeatures

__all__ = [
    "CrossAttentionSelector",
    "LightGBMBaseline",
    "MLPRegressor",
    "RidgeBaseline",
    "SelfAttentionSelector",
    "SemiSupervisedVAE",
    "VAEFeatures",
    "global_shap_ranking",
    "permutation_importance_mda",
    "shap_importance",
]
