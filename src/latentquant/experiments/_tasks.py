"""Running a study's grid of fits through :mod:`latentquant.executors`: thread shares and progress lines."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from latentquant.executors import ProgressCallback

__all__ = ["apply_worker_threads", "progress_printer", "worker_threads"]

_THREADS_ENV = "LATENTQUANT_TORCH_THREADS"


def apply_worker_threads() -> None:
    """In a task function: use the torch thread share set by :func:`worker_threads` (no-op outside it)."""
    threads = os.environ.get(_THREADS_ENV)
    if threads:
        import torch

        torch.set_num_threads(int(threads))  # several worker processes share the cores: no oversubscription


@contextmanager
def worker_threads(executor: str, n_jobs: int | None) -> Iterator[None]:
    """With the ``local`` executor, give each worker process an equal share of the cores for torch."""
    previous = os.environ.get(_THREADS_ENV)
    if executor == "local":
        os.environ[_THREADS_ENV] = str(max(1, (os.cpu_count() or 1) // (n_jobs or os.cpu_count() or 1)))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_THREADS_ENV, None)
        else:
            os.environ[_THREADS_ENV] = previous


def progress_printer(verbose: bool | None) -> ProgressCallback:
    """``[done/total] key (elapsed s)`` on stderr for every finished task, unless ``verbose`` is False."""
    t0 = time.perf_counter()

    def progress(done: int, total: int, key: str) -> None:
        if verbose is not False:
            print(f"[{done}/{total}] {key} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    return progress
