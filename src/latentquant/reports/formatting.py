"""Formatting of reported numbers: one way to write a mean over seeds with its spread.

Studies repeat a fit over seeds and report ``mean ± std``. With one seed the standard deviation is not defined, and a
printed ``± 0.000`` or ``± nan`` would pass for a result; :func:`format_mean_std` writes only the mean then.
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = ["format_mean_std"]


def _finite(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def format_mean_std(mean: float | None, std: float | None = None, n: int | None = None, *, digits: int = 3,
                    unit: str = "seed") -> str:
    """``mean ± std`` of a result repeated ``n`` times (e.g. over seeds), without pretending to a spread it lacks.

    The rules, in order:

    * ``mean`` is ``None``, NaN or infinite: ``"n/a"``;
    * ``n == 1``: the mean and ``"(1 seed)"`` (a standard deviation over one value is not defined);
    * ``std`` is ``None``, NaN or infinite (e.g. ``ddof=1`` over one value, or ``n`` not passed): the mean only;
    * ``std == 0`` exactly: the mean, with ``"(identical over n seeds)"`` when ``n`` is given — never ``± 0.000``;
    * ``std`` positive but rounding to zero at ``digits``: ``mean ± <0.001`` (for ``digits=3``);
    * otherwise ``mean ± std``, both with ``digits`` decimals.

    Pass ``n`` where the text should say how many fits there were (summaries); leave it out in table cells, where
    the caption says it, to get the bare mean for a single fit.

    Parameters
    ----------
    mean : float or None
        The mean over the repetitions.
    std : float or None, optional
        Their standard deviation (``None`` or NaN: not defined, e.g. over one seed).
    n : int or None, optional
        The number of repetitions; ``1`` adds ``"(1 seed)"``.
    digits : int, default 3
        Decimals of the mean and of the standard deviation.
    unit : str, default "seed"
        What is repeated, in the singular (``"seed"``, ``"window"``); a plural adds ``s``.

    Returns
    -------
    str
        The formatted text; never contains ``nan``, ``inf`` or ``± 0.000``.

    Raises
    ------
    ValueError
        ``std`` is negative, ``n`` is smaller than 1 or ``digits`` is negative.

    Examples
    --------
    Three seeds, one seed, and the spread of one seed as ``numpy.std(..., ddof=1)`` gives it (NaN):

    >>> format_mean_std(0.41234, 0.00456, 3)
    '0.412 ± 0.005'
    >>> format_mean_std(0.41234, 0.0, 1)
    '0.412 (1 seed)'
    >>> format_mean_std(0.41234, float("nan"))
    '0.412'

    A table cell (no ``n``), identical seeds, a spread below the last digit, and an undefined mean:

    >>> format_mean_std(81.234, 1.52, digits=1), format_mean_std(0.5, 0.0, 4), format_mean_std(0.5, 1e-5, 4)
    ('81.2 ± 1.5', '0.500 (identical over 4 seeds)', '0.500 ± <0.001')
    >>> format_mean_std(None), format_mean_std(float("inf"), 0.1, 3)
    ('n/a', 'n/a')
    """
    if digits < 0:
        raise ValueError(f"digits must be a non-negative integer, got {digits!r}.")
    if n is not None and n < 1:
        raise ValueError(f"n must be a positive number of repetitions, got {n!r}.")
    if std is not None and _finite(std) and float(std) < 0:
        raise ValueError(f"std must be non-negative, got {std!r}.")
    if mean is None or not _finite(mean):
        return "n/a"
    text = f"{float(mean):.{digits}f}"
    if n == 1:
        return f"{text} (1 {unit})"
    if std is None or not _finite(std):
        return text
    s = float(std)
    if s == 0.0:
        return text if n is None else f"{text} (identical over {n} {unit}s)"
    spread = f"{s:.{digits}f}"
    if float(spread) == 0.0:  # what would print as ± 0.000
        return f"{text} ± <{10.0 ** -digits:.{digits}f}"
    return f"{text} ± {spread}"
