"""Exceptions and warnings raised by latentquant.

Hierarchy::

    LatentQuantError                      base of everything raised on purpose
    ├── DataValidationError (ValueError)  bad user data: NaN/inf, unsorted or duplicated dates, ...
    ├── ConfigError (ValueError)          bad hyperparameter or argument value
    ├── NotFittedError                    estimator used before ``fit`` (also scikit-learn's NotFittedError,
    │                                     hence ValueError and AttributeError)
    ├── TrainingError (RuntimeError)      optimisation diverged (NaN/inf loss)
    └── CheckpointError (OSError)         corrupted, missing or mismatched checkpoint

    DataWarning (UserWarning)             data were altered in a documented way (rows dropped, ...)
    ConvergenceWarning                    an iterative fit stopped at its iteration limit (also scikit-learn's)

Every message names the argument or column, the offending value or first offending date, and what to do.
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "CheckpointError",
    "ConfigError",
    "ConvergenceWarning",
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


class NotFittedError(LatentQuantError, _SklearnNotFittedError):
    """An estimator or model was used before being fitted.

    Also a :class:`sklearn.exceptions.NotFittedError`, so code written for scikit-learn estimators catches it.
    """


class TrainingError(LatentQuantError, RuntimeError):
    """Training diverged or could not proceed."""


class CheckpointError(LatentQuantError, OSError):
    """A checkpoint is missing, corrupted or does not match the model."""


class DataWarning(UserWarning):
    """Data were modified in a documented way (for example rows dropped)."""


class ConvergenceWarning(_SklearnConvergenceWarning):
    """An iterative fit stopped at ``max_iter`` before meeting its tolerance; raise ``max_iter`` or loosen ``tol``.

    Also a :class:`sklearn.exceptions.ConvergenceWarning`, so ``warnings.filterwarnings`` on either silences it.
    """
