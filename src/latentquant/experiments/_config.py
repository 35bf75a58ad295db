"""The one base of every study's configuration and result.

* :class:`StudyConfig` — a dataclass of every choice of a study, read from a mapping (parsed YAML) with
  :meth:`StudyConfig.from_dict` (unknown keys are errors, never silently ignored), checked by ``validate()``,
  written to the run directory with :meth:`StudyConfig.to_dict`.
* :class:`StudyResult` — what ``run(config)`` returns: the run directory, the headline metrics and the tables,
  immutable, with ``summary()`` and ``to_dict()`` (the ExperimentResult contract).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import pandas as pd

from latentquant.exceptions import ConfigError

__all__ = ["StudyConfig", "StudyResult", "study_options"]

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
