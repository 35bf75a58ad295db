"""Feature-selection and semi-supervised models (REFERENCE §5): attention selectors, VAE features, the MLP and the
global baselines (ridge, LightGBM with permutation importance and TreeSHAP), and the semi-supervised VAE.

:data:`SELECTION_MODELS` is the family's registry: studies and the CLI build a model from its name
(``SELECTION_MODELS.create("self_attention", {"epochs": 50})``) instead of naming classes.

Layout: ``mlp.py`` and ``attention.py`` (the neural regressors), ``vae_features.py``, ``baselines.py``, ``ssvae.py``;
their shared parts are private modules — ``_neural.py`` (the neural-regressor base: scaling, the Trainer call,
prediction), ``_networks.py`` (the torch networks) and ``_inputs.py`` (the one check of X and y).
"""

from latentquant.models._registry import Registry
from latentquant.models.selection.attention import CrossAttentionSelector, SelfAttentionSelector
from latentquant.models.selection.baselines import (
    LightGBMBaseline,
    RidgeBaseline,
    global_shap_ranking,
    permutation_importance_mda,
    shap_importance,
)
from latentquant.models.selection.mlp import MLPRegressor
from latentquant.models.selection.ssvae import SemiSupervisedVAE
from latentquant.models.selection.vae_features import VAEFeatures

#: Name → estimator of the feature-selection family; the regressors first, in the order the study reports them.
SELECTION_MODELS: Registry[type] = Registry("selection model")
SELECTION_MODELS.add("ridge", RidgeBaseline)
SELECTION_MODELS.add("lightgbm", LightGBMBaseline)
SELECTION_MODELS.add("mlp", MLPRegressor)
SELECTION_MODELS.add("self_attention", SelfAttentionSelector)
SELECTION_MODELS.add("cross_attention", CrossAttentionSelector)
SELECTION_MODELS.add("vae_features", VAEFeatures)
SELECTION_MODELS.add("semi_supervised_vae", SemiSupervisedVAE)

__all__ = [
    "SELECTION_MODELS",
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
