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
    """Base class of all errors raised deliberately by latentquant.

    Catch it to handle every documented failure of the library at once (bad data, bad options, unfitted models,
    diverged training, unreadable checkpoints) while letting programming errors through.

    Examples
    --------
    >>> import pandas as pd
    >>> from latentquant.data import log_returns
    >>> prices = pd.DataFrame({"SPY": [100.0, 0.0]}, index=pd.date_range("2024-01-01", periods=2))
    >>> try:
    ...     log_returns(prices)
    ... except LatentQuantError as err:
    ...     print(type(err).__name__)
    DataValidationError
    """


class DataValidationError(LatentQuantError, ValueError):
    """Input data violate a documented contract (values, index, shape).

    Also a :class:`ValueError`. The message names the column and the first offending date or value.

    Examples
    --------
    >>> import pandas as pd
    >>> from latentquant.data import log_returns
    >>> prices = pd.DataFrame({"SPY": [100.0, 0.0]}, index=pd.date_range("2024-01-01", periods=2))
    >>> try:
    ...     log_returns(prices)
    ... except DataValidationError as err:
    ...     print(err)
    prices column 'SPY' has a non-positive value: first at 2024-01-02 (value 0.0); log returns need strictly positive \
prices; check the column, or if the data are returns, not prices, say so (input: returns, --input returns).
    """


class ConfigError(LatentQuantError, ValueError):
    """A hyperparameter or argument has an invalid value.

    Also a :class:`ValueError`. Estimators raise it from ``fit`` (never from ``__init__``), naming the parameter,
    the bad value and what is allowed.

    Examples
    --------
    >>> import numpy as np
    >>> from latentquant.evaluation import var_es
    >>> try:
    ...     var_es(np.zeros(10), level=0.7)
    ... except ConfigError as err:
    ...     print(err)
    level must be in (0, 0.5), got 0.7.
    """


class NotFittedError(LatentQuantError, _SklearnNotFittedError):
    """An estimator or model was used before being fitted.

    Also a :class:`sklearn.exceptions.NotFittedError`, so code written for scikit-learn estimators catches it.

    Examples
    --------
    >>> import pandas as pd
    >>> import sklearn.exceptions
    >>> from latentquant.data import Standardizer
    >>> try:
    ...     Standardizer().transform(pd.DataFrame({"A": [1.0]}))
    ... except sklearn.exceptions.NotFittedError as err:
    ...     print(type(err).__name__, "-", err)
    NotFittedError - This Standardizer is not fitted yet; call fit(train_data) first or Standardizer.load(path).
    """


class TrainingError(LatentQuantError, RuntimeError):
    """Training diverged or could not proceed.

    Also a :class:`RuntimeError`. The shared :class:`~latentquant.training.Trainer` raises it as soon as a loss is
    NaN or infinite, naming the epoch and batch.

    Examples
    --------
    >>> import torch
    >>> from latentquant.training import Trainer
    >>> def broken_loss(model, batch):
    ...     return {"loss": model(batch[0]).mean() + float("nan")}
    >>> try:
    ...     Trainer(epochs=1, verbose=False).fit(torch.nn.Linear(2, 1), broken_loss, torch.ones(8, 2))
    ... except TrainingError as err:
    ...     print(err)
    Training diverged: the loss is nan at epoch 1, batch 1. Lower the learning rate (lr=0.001), standardise the \
inputs, or set grad_clip.
    """


class CheckpointError(LatentQuantError, OSError):
    """A checkpoint is missing, corrupted or does not match the model.

    Also an :class:`OSError`.

    Examples
    --------
    >>> from latentquant.data import Standardizer
    >>> try:
    ...     Standardizer.load("no_such_model")
    ... except CheckpointError as err:
    ...     print(err)
    no_such_model/estimator.json is missing; pass the directory written by model.save(path).
    """


class DataWarning(UserWarning):
    """Data were modified in a documented way (for example rows dropped).

    A :class:`UserWarning`; the functions that emit it take ``warn=False`` to silence it.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np, pandas as pd
    >>> from latentquant.features import feature_matrix
    >>> close = pd.Series(100.0 + np.sin(np.arange(260) / 5.0), index=pd.bdate_range("2020-01-01", periods=260))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     X, y, report = feature_matrix(close)  # the first 199 rows lack a 200-day average
    >>> [w.category.__name__ for w in caught], report["n_dropped"]
    (['DataWarning'], 200)
    """


class ConvergenceWarning(_SklearnConvergenceWarning):
    """An iterative fit stopped at ``max_iter`` before meeting its tolerance; raise ``max_iter`` or loosen ``tol``.

    Also a :class:`sklearn.exceptions.ConvergenceWarning`, so ``warnings.filterwarnings`` on either silences it.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np, pandas as pd
    >>> from latentquant.data import Panel
    >>> from latentquant.models.pricing import InstrumentedPCA
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.MultiIndex.from_product([pd.date_range("2000-01-31", periods=24, freq="ME"), range(20)])
    >>> panel = Panel(pd.Series(rng.normal(size=len(idx)), index=idx),
    ...               pd.DataFrame(rng.uniform(-1, 1, (len(idx), 2)), index=idx, columns=["a", "b"]))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     model = InstrumentedPCA(n_factors=1, max_iter=1).fit(panel)
    >>> [w.category.__name__ for w in caught], bool(model.converged_)
    (['ConvergenceWarning'], False)
    """
