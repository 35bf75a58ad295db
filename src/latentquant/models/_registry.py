"""One registry class for every model kind (pricing, selection, generators, forecasters): name → estimator class.

Studies and the CLI build models by name through a kind's registry instead of ``if name == ...`` chains, so a new
model is one ``@REGISTRY.register("name")`` away from every config file.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from latentquant.exceptions import ConfigError

__all__ = ["Registry"]

C = TypeVar("C", bound=type)


class Registry(Generic[C]):
    """Names of one kind of model and the classes (with fixed default arguments) they build.

    Parameters
    ----------
    kind : str
        What the registry holds, for error messages (``"pricing model"``).

    Examples
    --------
    >>> from sklearn.decomposition import PCA
    >>> models = Registry("toy model")
    >>> models.add("PCA3", PCA, n_components=3)
    >>> models.create("PCA3", whiten=True).get_params()["n_components"]
    3
    >>> models.create("PPCA")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: unknown toy model 'PPCA'; choose from ['PCA3'].
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, tuple[type, dict[str, Any]]] = {}

    def register(self, name: str, **defaults: Any) -> Callable[[C], C]:
        """Class decorator (repeatable): ``name`` builds ``cls(**defaults, **params)``."""

        def deco(cls: C) -> C:
            self.add(name, cls, **defaults)
            return cls

        return deco

    def add(self, name: str, cls: type, **defaults: Any) -> None:
        """Register ``cls`` under ``name`` with fixed keyword arguments ``defaults``."""
        if name in self._entries and self._entries[name][0] is not cls:
            raise ConfigError(f"{self.kind} name {name!r} is already registered to "
                              f"{self._entries[name][0].__name__}.")
        self._entries[name] = (cls, dict(defaults))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def get(self, name: str) -> type:
        """The class registered as ``name``; a :class:`ConfigError` lists the known names otherwise."""
        if name not in self._entries:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose from {self.names()}.")
        return self._entries[name][0]

    def defaults(self, name: str) -> dict[str, Any]:
        """The fixed keyword arguments of ``name``."""
        self.get(name)
        return dict(self._entries[name][1])

    def params(self, name: str) -> list[str]:
        """Keyword arguments the class of ``name`` accepts (its hyperparameters)."""
        cls: Any = self.get(name)
        return [p for p in inspect.signature(cls).parameters]

    def create(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """Build ``name`` with its fixed defaults, then ``params`` and ``kwargs`` (later ones win).

        Unknown keyword arguments are a :class:`ConfigError` naming the model and its parameters."""
        cls = self.get(name)
        merged = {**self._entries[name][1], **dict(params or {}), **kwargs}
        allowed = set(self.params(name)) | set(getattr(cls, "_renamed_params", {}))  # old names warn in __init__
        unknown = sorted(set(merged) - allowed)
        if unknown:
            raise ConfigError(f"{self.kind} {name!r} has no parameter(s) {unknown}; its parameters are "
                              f"{sorted(allowed)}.")
        with warnings.catch_warnings(record=True) as caught:  # re-emitted below, attributed to our caller's line
            warnings.simplefilter("always", FutureWarning)
            estimator = cls(**merged)
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=2)
        return estimator
