"""Declarative parameter constraints: what a valid hyperparameter or argument is, and the check that says so.

An estimator lists, per parameter, the constraints a valid value meets (:class:`Interval`, :class:`Options`,
:class:`SequenceOf`, a type, ``"boolean"`` or ``None``); :func:`check_params` raises one
:class:`~latentquant.exceptions.ConfigError` naming the parameter, the bad value and what is allowed, and functions
check their arguments with :func:`check_arg`. Everything here is re-exported by :mod:`latentquant.validation`, the
public home of these names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np

from latentquant.exceptions import ConfigError

__all__ = [
    "Constraint",
    "Interval",
    "Options",
    "SequenceOf",
    "check_arg",
    "check_params",
]


def _is_integer(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


@dataclass(frozen=True)
class Interval:
    """Numbers of one kind (``Integral`` or ``Real``) in an interval; ``None`` bounds are unbounded.

    ``Real`` accepts integers too, never booleans, and only finite values.

    Parameters
    ----------
    kind : {numbers.Integral, numbers.Real}
        The kind of number.
    low, high : float or None
        The bounds; ``None`` leaves that side unbounded.
    closed : {"left", "right", "both", "neither"}, default "left"
        Which bounds belong to the interval.

    Examples
    --------
    >>> Interval(Integral, 1, None).describe()
    'a positive integer'
    >>> Interval(Real, 0, 1, closed="right").accepts(0.0)
    False
    """

    kind: type
    low: float | None
    high: float | None
    closed: Literal["both", "left", "right", "neither"] = "left"

    def accepts(self, value: Any) -> bool:
        if self.kind is Integral:
            if not _is_integer(value):
                return False
        elif not _is_real(value) or not math.isfinite(float(value)):
            return False
        v = float(value)
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and (v < self.low or (v == self.low and not left)):
            return False
        return not (self.high is not None and (v > self.high or (v == self.high and not right)))

    def describe(self) -> str:
        noun = "integer" if self.kind is Integral else "number"
        lo, hi = self.low, self.high
        if hi is None and lo == 0:
            if self.closed in ("left", "both"):
                return f"a non-negative {noun}" if noun == "integer" else "a number >= 0"
            return f"a positive {noun}"
        if hi is None and lo == 1 and noun == "integer" and self.closed in ("left", "both"):
            return "a positive integer"
        if hi is None and lo is not None:
            return f"an {noun} >= {lo:g}" if self.closed in ("left", "both") and noun == "integer" else \
                f"a{'n' if noun == 'integer' else ''} {noun} {'>=' if self.closed in ('left', 'both') else '>'} {lo:g}"
        if lo is None and hi is not None:
            return f"a{'n' if noun == 'integer' else ''} {noun} {'<=' if self.closed in ('right', 'both') else '<'} " \
                f"{hi:g}"
        if lo is None and hi is None:
            return f"a{'n' if noun == 'integer' else ' finite'} {noun}"
        bra = "[" if self.closed in ("left", "both") else "("
        ket = "]" if self.closed in ("right", "both") else ")"
        return f"a{'n' if noun == 'integer' else ''} {noun} in {bra}{lo:g}, {hi:g}{ket}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (compared with ``==``; booleans never match numbers).

    Parameters
    ----------
    *values
        The allowed values.

    Examples
    --------
    >>> device = Options("cpu", "cuda", "auto")
    >>> device.accepts("cuda"), device.accepts("gpu")
    (True, False)
    >>> Options(0, 1).accepts(True)  # True == 1 in Python, but a boolean is not a number here
    False
    >>> device.describe()
    "one of ['cpu', 'cuda', 'auto']"
    """

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        is_bool = isinstance(value, bool | np.bool_)
        try:
            return any(is_bool == isinstance(v, bool) and bool(value == v) for v in self.values)
        except (TypeError, ValueError):  # arrays and other values without a truth value
            return False

    def describe(self) -> str:
        return f"one of {list(self.values)}"


@dataclass(frozen=True)
class SequenceOf:
    """A list or tuple (never a string) whose every item meets ``item``; ``min_len`` items at least.

    Parameters
    ----------
    item : Interval, Options or type
        The constraint every item meets.
    min_len : int, default 0
        The fewest items allowed.

    Examples
    --------
    >>> hidden = SequenceOf(Interval(Integral, 1, None), min_len=1)
    >>> hidden.accepts([64, 32]), hidden.accepts([]), hidden.accepts([64, 0])
    (True, False, False)
    >>> hidden.describe()
    'a list of positive integers (at least 1)'
    """

    item: Interval | Options | type
    min_len: int = 0

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
            return False
        if len(value) < self.min_len:
            return False
        return all(_accepts(self.item, v) for v in value)

    def describe(self) -> str:
        inner = _describe(self.item)
        for article in ("a ", "an "):
            if inner.startswith(article):
                inner = inner[len(article):]
                break
        plural = inner.replace("integer", "integers").replace("number", "numbers").replace("string", "strings")
        empty = "" if self.min_len == 0 else f" (at least {self.min_len})"
        return f"a list of {plural}{empty}"


Constraint = Interval | Options | SequenceOf | type | str | None


def _accepts(constraint: Constraint, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if isinstance(constraint, str):
        raise TypeError(f"unknown constraint {constraint!r}")
    if isinstance(constraint, type):
        return isinstance(value, constraint) and not (constraint in (int, float) and isinstance(value, bool))
    return constraint.accepts(value)


def _describe(constraint: Constraint) -> str:
    if constraint is None:
        return "None"
    if constraint == "boolean":
        return "a boolean (True or False)"
    if isinstance(constraint, type):
        name = {"str": "string", "dict": "mapping", "DataFrame": "pandas DataFrame"}.get(
            constraint.__name__, constraint.__name__)
        return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
    assert not isinstance(constraint, str)
    return constraint.describe()


def check_arg(name: str, value: Any, *constraints: Constraint, owner: str | None = None) -> None:
    """Raise :class:`~latentquant.exceptions.ConfigError` unless ``value`` meets one of ``constraints``.

    Parameters
    ----------
    name : str
        The argument's name, as the caller wrote it.
    value : object
        Its value.
    *constraints
        :class:`Interval`, :class:`Options`, :class:`SequenceOf`, a type, ``"boolean"`` or ``None``.
    owner : str, optional
        Who takes the argument (an estimator's class name), put in front of the message.

    Examples
    --------
    >>> check_arg("n_factors", 3, Interval(Integral, 1, None))
    >>> check_arg("n_factors", 0, Interval(Integral, 1, None), owner="PCAFactors")
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: PCAFactors: n_factors must be a positive integer, got 0.
    """
    if any(_accepts(c, value) for c in constraints):
        return
    allowed = " or ".join(_describe(c) for c in constraints)
    prefix = f"{owner}: " if owner else ""
    raise ConfigError(f"{prefix}{name} must be {allowed}, got {value!r}.")


def check_params(owner: Any, constraints: Mapping[str, Sequence[Constraint]],
                 params: Mapping[str, Any] | None = None) -> None:
    """Check every parameter named in ``constraints`` (an estimator's ``_parameter_constraints``).

    Parameters
    ----------
    owner : object
        The estimator; its class name prefixes the message and, without ``params``, ``owner.get_params(deep=False)``
        supplies the values.
    constraints : mapping
        Parameter name → the constraints a valid value meets (one is enough).
    params : mapping, optional
        Values to check instead of the owner's parameters.

    Raises
    ------
    ConfigError
        For the first parameter, in the mapping's order, whose value meets none of its constraints.

    Examples
    --------
    >>> class Toy:
    ...     def get_params(self, deep=False):
    ...         return {"alpha": -1.0}
    >>> check_params(Toy(), {"alpha": [Interval(Real, 0, None)]})
    Traceback (most recent call last):
    ...
    latentquant.exceptions.ConfigError: Toy: alpha must be a number >= 0, got -1.0.
    """
    values = owner.get_params(deep=False) if params is None else params
    name = type(owner).__name__
    for key, allowed in constraints.items():
        if key in values:
            check_arg(key, values[key], *allowed, owner=name)
