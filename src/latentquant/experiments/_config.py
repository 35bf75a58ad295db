"""The one base of every study's configuration and result.

* :class:`StudyConfig` — a dataclass of every choice of a study, read from a mapping (parsed YAML) with
  :meth:`StudyConfig.from_dict` (unknown keys are errors, never silently ignored), checked by ``validate()``,
  written to the run directory with :meth:`StudyConfig.to_dict`.
* :class:`StudyResult` — what ``run(config)`` returns: the run directory, the headline metrics and the tables,
  immutable, with ``summary()`` and ``to_dict()`` (the ExperimentResult contract).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import pandas as pd

from latentquant.exceptions import ConfigError

__all__ = ["StudyConfig", "StudyResult", "section_options", "study_options"]

C = TypeVar("C", bound="StudyConfig")


def study_options(cls: type, raw: Any) -> dict[str, Any]:
    """``raw`` as keyword arguments of the dataclass ``cls``, after checking it is a mapping of known options."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"the study config must be a mapping of options, got {type(raw).__name__}.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown study option(s) {unknown}; known options: {sorted(known)}.")
    return dict(raw)


def section_options(section: str, value: Any, known: Iterable[str], what: str = "options") -> dict[str, Any]:
    """``value`` as a dict, after checking it is a mapping whose keys are a subset of ``known``.

    The one check of every nested config section (``simulation``, ``params.ridge``, ``vae`` ...): a value that is
    not a mapping, or a key outside ``known``, is a :class:`ConfigError` naming the section, the bad key(s) and
    the valid keys.

    Parameters
    ----------
    section : str
        The section's place in the config, as the user writes it (``'simulation'``, ``'params.ridge'``).
    value : Any
        The section as read (parsed YAML).
    known : iterable of str
        The valid keys.
    what : str, default "options"
        What the keys are, for the message (``'model options'``, ``'VAE options'``).

    Returns
    -------
    dict
        A shallow copy of ``value``.

    Examples
    --------
    >>> section_options("simulation", {"n_assets": 50}, ["n_assets", "seed"])
    {'n_assets': 50}
    >>> section_options("simulation", {"bogus": 1}, ["n_assets", "seed"])
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: simulation: unknown option(s) ['bogus']; known options: ['n_assets', 'seed'].
    >>> section_options("simulation", [1, 2], ["n_assets", "seed"])
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: simulation must be a mapping of options, got [1, 2] (type list); valid keys: \
['n_assets', 'seed'].
    """
    valid = sorted(known)
    if not isinstance(value, Mapping):
        raise ConfigError(f"{section} must be a mapping of {what}, got {value!r} (type {type(value).__name__}); "
                          f"valid keys: {valid}.")
    unknown = sorted((key for key in value if key not in set(valid)), key=str)
    if unknown:
        raise ConfigError(f"{section}: unknown option(s) {unknown}; known options: {valid}.")
    return dict(value)


@dataclass
class StudyConfig:
    """Base of the study configs: subclasses are dataclasses whose fields are the YAML keys."""

    @classmethod
    def from_dict(cls: type[C], raw: Mapping[str, Any]) -> C:
        """Build a config from a mapping (e.g. parsed YAML); unknown keys are a :class:`ConfigError`."""
        return cls(**study_options(cls, raw))

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first invalid option (subclasses extend this)."""

    def to_dict(self) -> dict[str, Any]:
        """Every option as plain Python values (what ``config.json`` of the run directory holds)."""
        return asdict(self)


@dataclass(frozen=True)
class StudyResult:
    """What a study's ``run`` returns: the run directory, headline metrics and tables (read-only).

    Attributes
    ----------
    path : pathlib.Path
        The run directory (``report.html``, ``metrics.json``, ``tables/``, ``figures/``).
    metrics : mapping
        Headline numbers, as written to ``metrics.json``.
    tables : mapping of str to pandas.DataFrame
        The report's tables by name (copies are handed out: changing one does not change the result).
    """

    path: Path
    metrics: Mapping[str, Any]
    tables: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))

    @property
    def report(self) -> Path:
        """The self-contained HTML report."""
        return self.path / "report.html"

    def table(self, name: str) -> pd.DataFrame:
        """A copy of table ``name``; a :class:`ConfigError` lists the names otherwise."""
        if name not in self.tables:
            raise ConfigError(f"no table {name!r}; tables: {sorted(self.tables)}.")
        value = self.tables[name]
        return value.copy() if hasattr(value, "copy") else value

    def summary(self) -> str:
        """One paragraph of headline results (subclasses say more)."""
        return f"{len(self.tables)} tables; report: {self.report}"

    def to_dict(self) -> dict[str, Any]:
        """Path, metrics and tables as plain Python values (tables as ``DataFrame.to_dict()``)."""
        return {"path": str(self.path), "metrics": dict(self.metrics),
                "tables": {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in self.tables.items()}}
