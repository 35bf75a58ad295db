"""Atomic file writes: a file is either complete or absent, whatever happens while it is written."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Create or replace the file ``path`` all at once: ``write(tmp)`` fills a temporary file in the same directory,
    which is flushed to disk and renamed over ``path`` (:func:`os.replace`).

    A failure in ``write`` (a full disk, an exception) or a kill leaves the previous ``path`` intact, or no file if
    there was none, never a truncated one; the temporary file is removed when ``write`` raises.

    Parameters
    ----------
    path : str or path-like
        The file to write; its directory must exist.
    write : callable
        ``write(tmp)`` writes the whole content to the :class:`pathlib.Path` ``tmp`` (its return value is ignored).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> target = Path(tempfile.mkdtemp()) / "metrics.json"
    >>> _ = atomic_write(target, lambda tmp: tmp.write_text('{"r2": 0.5}'))
    >>> def fail(tmp):
    ...     tmp.write_text('{"r2": 0.')
    ...     raise OSError("No space left on device")
    >>> atomic_write(target, fail)
    Traceback (most recent call last):
    ...
    OSError: No space left on device
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('{"r2": 0.5}', ['metrics.json'])
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    open(tmp, "xb").close()  # exclusive creation, with the usual permissions (mkstemp would give 0o600)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
