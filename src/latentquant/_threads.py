"""Threads: how many CPUs this process may use, and how many threads a fit runs with.

The networks of this library are small (a few thousand to a few hundred thousand parameters, batches of ~100 rows):
one thread trains them as fast as two, and a second thread only adds synchronisation, which turns into spinning
when the machine is shared. So the library's own parallelism is across fits (worker processes of
:mod:`latentquant.executors`), each fit runs with a fixed number of threads (``LATENTQUANT_NUM_THREADS``, default
1), and the numbers it reports do not depend on how many cores the machine has.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from latentquant.exceptions import ConfigError

__all__ = ["THREADS_ENV", "available_cpus", "fit_threads", "limit_threads", "set_process_threads"]

THREADS_ENV = "LATENTQUANT_NUM_THREADS"
_MAX_THREADS = 4096
# read by OpenMP (torch), MKL and OpenBLAS when they load; a process that sets them before importing torch or numpy
# starts with that many threads
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (``None``: no quota or not readable)."""
    try:  # cgroup v2: "max 100000" or "<quota> <period>"
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def _check_threads(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"threads must be a positive integer, got {n!r}.")


def available_cpus() -> int:
    """The CPUs this process may use: its affinity mask (``taskset``, a batch scheduler's allocation), capped by a
    container's CPU quota; not the machine's core count, which ``os.cpu_count()`` gives.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> import os
    >>> 1 <= available_cpus() <= (os.cpu_count() or 1)
    True
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        n = os.cpu_count() or 1
    quota = _cgroup_cpus()
    if quota is not None:
        n = min(n, max(1, math.floor(quota)))
    return max(1, n)


def fit_threads() -> int:
    """Threads per fit: the environment variable ``LATENTQUANT_NUM_THREADS``, default 1.

    With one thread a fit gives the same numbers on every machine. More threads can speed up large networks; the
    results may then differ in the last digits between machines with different thread counts (the order of floating
    point sums changes).

    Returns
    -------
    int

    Raises
    ------
    ConfigError
        ``LATENTQUANT_NUM_THREADS`` is set to something other than a positive integer.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("LATENTQUANT_NUM_THREADS", None) and None
    >>> fit_threads()
    1
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return 1
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if not 1 <= n <= _MAX_THREADS:
        raise ConfigError(f"{THREADS_ENV} must be a positive integer (threads per fit, e.g. 1), got {raw!r}; "
                          f"unset it for the default of 1.")
    return n


@contextmanager
def limit_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` threads in torch and in the BLAS/OpenMP libraries numpy and scipy use, then restore
    the previous settings.

    Parameters
    ----------
    n : int
        Threads, at least 1.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with limit_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    import torch
    from threadpoolctl import threadpool_limits

    _check_threads(n)
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(previous)


def set_process_threads(n: int) -> None:
    """Use ``n`` threads for the rest of this process (a worker process, the command line), in the libraries already
    loaded and in those loaded later; idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``,
    unless set already; it takes effect where torch is not imported yet).

    Parameters
    ----------
    n : int
        Threads, at least 1.

    Examples
    --------
    >>> import subprocess, sys
    >>> code = ("from latentquant._threads import set_process_threads; set_process_threads(1); "
    ...         "import torch; print(torch.get_num_threads())")
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    '1'
    """
    from threadpoolctl import threadpool_limits

    _check_threads(n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for var in _THREAD_VARS:
        os.environ[var] = str(n)
    threadpool_limits(limits=n)  # the pools already loaded (numpy's BLAS, torch's OpenMP if imported)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
