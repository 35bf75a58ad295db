"""The estimator base every latentquant model stands on, and its persistence.

:class:`BaseModel` is a scikit-learn :class:`~sklearn.base.BaseEstimator`: ``__init__`` stores hyperparameters and
nothing else, so ``clone``, ``get_params`` and ``set_params`` work and a grid search can copy any model. A subclass
declares what a valid hyperparameter is in ``_parameter_constraints`` (see :mod:`latentquant.validation`) and calls
:meth:`BaseModel._check_params` at the start of ``fit``; learned state lives in attributes ending in ``_``, which
:meth:`BaseModel._check_fitted` looks for.

Persistence (:meth:`BaseModel.save`, :meth:`BaseModel.load`) writes a directory::

    estimator.json   class, hyperparameters, learned state (numbers, strings, labels), versions
    arrays.npz       every numeric array of the state (read back with ``allow_pickle=False``)
    weights.pt       the ``state_dict`` of every torch network of the state (read with ``weights_only=True``)

Nothing is pickled. Networks are rebuilt from the configuration recorded by
:func:`~latentquant.training.checkpoint.register_model`; nested estimators (a fitted scaler, ensemble members) are
saved the same way, recursively. Only classes defined in latentquant can be named by a file.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from latentquant._io import atomic_write
from latentquant._persistence import _CLASSES, T, _class_key, load_estimator, register_codec, save_estimator
from latentquant._persistence import ARRAYS_FILE as ARRAYS_FILE  # re-exported (these six): importers of base use them
from latentquant._persistence import ESTIMATOR_FILE as ESTIMATOR_FILE
from latentquant._persistence import FORMAT_VERSION as FORMAT_VERSION
from latentquant._persistence import WEIGHTS_FILE as WEIGHTS_FILE
from latentquant._persistence import _Decoder as _Decoder
from latentquant._persistence import _Encoder as _Encoder
from latentquant.exceptions import NotFittedError
from latentquant.validation import Constraint, check_params

__all__ = ["BaseModel", "atomic_write", "load_estimator", "register_codec", "save_estimator"]


class BaseModel(BaseEstimator):  # type: ignore[misc]
    """Base of every latentquant estimator: scikit-learn's contract, declarative checks, JSON + arrays persistence.

    Subclasses set ``_parameter_constraints`` (parameter name → list of constraints; one must hold) and call
    :meth:`_check_params` in ``fit``. They never validate or derive anything in ``__init__``.

    Examples
    --------
    >>> from numbers import Integral
    >>> import numpy as np
    >>> from latentquant.validation import Interval
    >>> class Shrink(BaseModel):
    ...     _parameter_constraints = {"k": [Interval(Integral, 1, None)]}
    ...     def __init__(self, k=1):
    ...         self.k = k
    ...     def fit(self, X, y=None):
    ...         self._check_params()
    ...         self.mean_ = np.asarray(X).mean(axis=0) / self.k
    ...         return self
    >>> from sklearn.base import clone
    >>> clone(Shrink(k=2)).get_params()
    {'k': 2}
    >>> Shrink(k=0).fit([[1.0]])
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: Shrink: k must be a positive integer, got 0.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {}
    #: what to tell a user who calls a method before fitting
    _fit_hint: ClassVar[str] = "call fit(...) first"
    #: renamed hyperparameters, old name → new name: the old keyword still works for one release, with a
    #: FutureWarning, and is invisible to get_params/clone (the signature scikit-learn reads has the new names only)
    _renamed_params: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _CLASSES[_class_key(cls)] = cls
        if cls._renamed_params and "__init__" in cls.__dict__:
            cls.__init__ = _accept_renamed(cls, cls.__dict__["__init__"])  # type: ignore[method-assign]

    # ------------------------------------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        """Raise :class:`~latentquant.exceptions.ConfigError` for the first hyperparameter that breaks its
        constraints (merged over the class hierarchy, so a subclass adds to its parent's table)."""
        merged: dict[str, list[Constraint]] = {}
        for klass in reversed(type(self).__mro__):
            merged.update(getattr(klass, "_parameter_constraints", {}) if klass is not object else {})
        check_params(self, merged)

    def _check_fitted(self, *attributes: str) -> None:
        """Raise :class:`~latentquant.exceptions.NotFittedError` unless fitted (``attributes``, or any ``*_``)."""
        try:
            check_is_fitted(self, list(attributes) or None)
        except _SklearnNotFittedError:
            name = type(self).__name__
            raise NotFittedError(f"This {name} is not fitted yet; {self._fit_hint} or {name}.load(path).") from None

    # ------------------------------------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator to directory ``path`` (JSON + arrays + weights, no pickle); returns it."""
        self._check_fitted()
        return save_estimator(self, path)

    @classmethod
    def load(cls: type[T], path: str | Path) -> T:
        """Rebuild an estimator written by :meth:`save`; raises ``CheckpointError`` on missing or corrupted files
        or when the directory holds another class."""
        return load_estimator(path, expected=cls)

    def _persisted_state(self) -> dict[str, Any]:
        """Attributes that make up the fitted state (default: every instance attribute that is not a
        hyperparameter). Override to drop caches that can be recomputed."""
        params = set(self.get_params(deep=False))
        state = {k: v for k, v in vars(self).items() if k not in params}
        if "device_" in state:  # where the networks run is not saved: it is decided again on load
            state["device_"] = None
        return state

    def _restore_state(self, state: dict[str, Any]) -> None:
        """Set the attributes returned by :meth:`_persisted_state` (override to rebuild derived caches).

        An estimator that records where its networks run (``device_``) gets it resolved again from its ``device``
        parameter on this machine, and its networks moved there in evaluation mode."""
        for key, value in state.items():
            setattr(self, key, value)
        if "device_" in state:
            from torch import nn

            from latentquant.training.trainer import resolve_device

            self.device_ = resolve_device(getattr(self, "device", "auto"))
            for value in state.values():
                if isinstance(value, nn.Module):
                    value.to(self.device_).eval()


def _accept_renamed(cls: type[BaseModel], init: Callable[..., None]) -> Callable[..., None]:
    """Wrap ``init`` so that the old names in ``cls._renamed_params`` map to the new ones, with a FutureWarning."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        for old, new in type(self)._renamed_params.items():
            if old in kwargs:
                name = type(self).__name__
                if new in kwargs:
                    raise TypeError(f"{name} got both {old}= (its old name) and {new}=; pass {new}= only.")
                warnings.warn(f"{name}({old}=...) is deprecated and will be removed in the next release; use "
                              f"{name}({new}=...).", FutureWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
        init(self, *args, **kwargs)

    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    return wrapper

