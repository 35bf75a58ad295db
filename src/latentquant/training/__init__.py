"""The shared training loop and model persistence."""

from latentquant.training.checkpoint import (
    load_model,
    register_model,
    registered_models,
    save_model,
)
from latentquant.training.early_stopping import EarlyStopping
from latentquant.training.trainer import (
    History,
    LossFn,
    Player,
    Trainer,
    TrainerConfig,
    resolve_device,
    to_tensor,
)

__all__ = [
    "EarlyStopping",
    "History",
    "LossFn",
    "Player",
    "Trainer",
    "TrainerConfig",
    "load_model",
    "register_model",
    "registered_models",
    "resolve_device",
    "save_model",
    "to_tensor",
]
