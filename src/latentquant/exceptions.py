"""Exceptions and warnings raised by latentquant.

Hierarchy::

    LatentQuantError                      base of everything raised on purpose
    ├── DataValidationError (ValueError)  bad user data: NaN/inf, unsorted or duplicated dates, ...
    ├── ConfigError (ValueError)          bad hyperparameter or argument value
    ├── NotFittedError (AttributeError)   estimator used before ``fit``
    ├── TrainingError (RuntimeError)      optimisation diverged (NaN/inf loss)
    └── CheckpointError (OSError)         corrupted, missing or mismatched checkpoint

    DataWarning (UserWarning)             data were altered in a documented way (rows dropped, ...)

Every message names the argument or column, the offending value or first offending date, and what to do.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataValidationError",
    "DataWarning",
    "LatentQuantError",
    "NotFittedError",
    "TrainingError",
]


class LatentQuantError(Exception):
    """Base class of all errors raised deliberately by latentquant."""


class DataValidationError(LatentQuantError, ValueError):
    """Input data violate a documented contract (values, index, shape)."""


class ConfigError(LatentQuantError, ValueError):
    """A hyperparameter or argument has an invalid value."""


class NotFittedError(LatentQuantError, AttributeError):
    """An estimator or model was used before being fitted."""


class TrainingError(LatentQuantError, RuntimeError):
    """Training diverged or could not proceed."""


class CheckpointError(LatentQuantError, OSError):
    """A checkpoint is missing, corrupted or does not match the model."""


class DataWarning(UserWarning):
    """Data were modified in a documented way (for example rows dropped)."""
