"""Reading study configs from mappings (parsed YAML): unknown keys are errors, never silently ignored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from latentquant.exceptions import ConfigError

__all__ = ["study_options"]


def study_options(cls: type, raw: Any) -> dict[str, Any]:
    """``raw`` as keyword arguments of the dataclass ``cls``, after checking it is a mapping of known options."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"the study config must be a mapping of options, got {type(raw).__name__}.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown study option(s) {unknown}; known options: {sorted(known)}.")
    return dict(raw)
