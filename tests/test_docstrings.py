"""Every public class and function documents its parameters and shows a runnable example (issue #10, §5).

The public API is found by walking the package, so a new public function or class is checked without touching this
file: a module is public when no component of its dotted name starts with ``_``; its public objects are the classes
and functions listed in ``__all__`` (when it has one; re-exports from private modules count, they are public through
it) or else the public names it defines itself. Each object needs a numpydoc ``Examples`` section (the examples run
as doctests in ``test_docs_and_reports.py``) and, when it takes parameters, a ``Parameters`` section naming exactly
the parameters of its signature. Exceptions and warnings need no ``Parameters``; immutable results (frozen
dataclasses, named tuples) that users receive rather than build may list their fields under ``Attributes``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from typing import Any, NamedTuple

import pytest

import latentquant

# ``latentquant.cli`` is documented by its ``--help`` text (typer builds it from the commands), not by numpydoc.
SKIPPED_MODULES = {"latentquant.cli"}

_SECTION = re.compile(r"^([A-Z][A-Za-z ]*)\n-{3,}[ \t]*$", re.M)


def _public_modules() -> list[str]:
    found = pkgutil.walk_packages(latentquant.__path__, "latentquant.")
    names = ["latentquant", *sorted(m.name for m in found)]
    return [n for n in names if not any(part.startswith("_") for part in n.split(".")) and n not in SKIPPED_MODULES]


def _public_objects() -> dict[str, Any]:
    """Fully-qualified name (where the object is defined) -> every public class and function of the package."""
    objects: dict[str, Any] = {}
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        exported = getattr(module, "__all__", None)
        names = exported if exported is not None else [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants, type aliases
            defined_in = getattr(obj, "__module__", "") or ""
            if not defined_in.startswith("latentquant"):
                continue  # third-party names imported for use
            if exported is None and defined_in != module_name:
                continue  # without __all__, an import is not an export
            objects.setdefault(f"{defined_in}.{obj.__qualname__}", obj)
    return objects


def _sections(doc: str) -> dict[str, str]:
    """numpydoc section title -> its body."""
    heads = list(_SECTION.finditer(doc))
    return {m.group(1).strip(): doc[m.end():(heads[i + 1].start() if i + 1 < len(heads) else len(doc))]
            for i, m in enumerate(heads)}


def _documented_names(body: str) -> set[str]:
    """The names of a Parameters/Attributes body: the unindented ``name : type`` (or ``a, b : type``) lines."""
    names: set[str] = set()
    for line in body.splitlines():
        if line and not line[0].isspace():
            names |= {part.strip().lstrip("*") for part in line.split(" : ")[0].split(",")}
    return names


def _parameters(obj: Any) -> list[str]:
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return []  # exceptions and warnings are raised by the library, not built by users
    try:
        signature = inspect.signature(obj)
    except ValueError:  # a class with a builtin constructor only (e.g. a dict subclass): nothing of ours to document
        return []
    return [p for p in signature.parameters if p != "self"]


def _is_result(obj: Any) -> bool:
    """Immutable results that users receive: frozen dataclasses and named tuples."""
    if not inspect.isclass(obj):
        return False
    frozen = dataclasses.is_dataclass(obj) and obj.__dataclass_params__.frozen  # type: ignore[attr-defined]
    return bool(frozen) or (issubclass(obj, tuple) and hasattr(obj, "_fields"))


def _problems(obj: Any) -> list[str]:
    """What the docstring of ``obj`` lacks; empty when it is complete."""
    sections = _sections(inspect.getdoc(obj) or "")
    problems = [] if "Examples" in sections else ["no Examples section"]
    params = _parameters(obj)
    if not params:
        return problems
    if "Parameters" in sections:
        documented = _documented_names(sections["Parameters"])
        stale = sorted(documented - set(params))
        if stale:
            problems.append(f"Parameters documents {stale}, which the signature does not have")
    elif _is_result(obj) and "Attributes" in sections:
        documented = _documented_names(sections["Attributes"])
    else:
        return [*problems, f"no Parameters section (parameters: {params})"]
    missing = [p for p in params if p not in documented]
    if missing:
        problems.append(f"parameters {missing} are not documented")
    return problems


OBJECTS = _public_objects()


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_public_object_has_parameters_and_examples(name):
    assert not _problems(OBJECTS[name]), f"{name}: {'; '.join(_problems(OBJECTS[name]))}"


def test_the_walk_finds_the_public_api():
    # re-exports of private modules are found through the public package's __all__; cli and private modules are not
    # walked; the count keeps the walk from silently finding nothing
    assert {"latentquant.datasets._bundled.load_ff3", "latentquant.models.factor.estimator.VAEFactorModel",
            "latentquant.evaluation.pricing.grs_test", "latentquant.base.BaseModel",
            "latentquant.exceptions.ConfigError"} <= set(OBJECTS)
    assert not any(name.startswith("latentquant.cli.") for name in OBJECTS)
    assert "latentquant.experiments._config.study_options" not in OBJECTS  # defined in and exported by private code
    assert len(OBJECTS) > 150


def _documented(x: int, *, scale: float = 1.0) -> float:
    """Scale a number.

    Parameters
    ----------
    x : int
        The number.
    scale : float, default 1.0
        The factor.

    Examples
    --------
    >>> _documented(2, scale=0.5)
    1.0
    """
    return x * scale


def _no_examples(x: int) -> int:
    """Identity.

    Parameters
    ----------
    x : int
        The number.
    """
    return x


def _stale_parameters(y: int) -> int:
    """Identity.

    Parameters
    ----------
    x : int
        The number (renamed to ``y``, docstring not updated).

    Examples
    --------
    >>> _stale_parameters(1)
    1
    """
    return y


class _Result(NamedTuple):
    """A result users receive.

    Attributes
    ----------
    value : float
        The value.

    Examples
    --------
    >>> _Result(1.0).value
    1.0
    """

    value: float


class _Config:
    """A class users build, documenting its fields as attributes only.

    Attributes
    ----------
    value : float
        The value.

    Examples
    --------
    >>> _Config(1.0).value
    1.0
    """

    def __init__(self, value: float) -> None:
        self.value = value


def test_the_check_flags_what_is_missing():
    assert _problems(_documented) == []
    assert _problems(_no_examples) == ["no Examples section"]
    assert _problems(_stale_parameters) == ["Parameters documents ['x'], which the signature does not have",
                                            "parameters ['y'] are not documented"]
    assert _problems(_Result) == []  # a result may list its fields under Attributes
    assert _problems(_Config) == ["no Parameters section (parameters: ['value'])"]  # a class users build may not
    assert _problems(ValueError) == ["no Examples section"]  # exceptions: Examples only
