"""Running a study's grid of fits through :mod:`latentquant.executors`: progress lines.

Threads are set by the executors themselves (one fixed count per task, see :mod:`latentquant.executors`).
"""

from __future__ import annotations

import sys
import time

from latentquant.executors import ProgressCallback

__all__ = ["progress_printer"]


def progress_printer(verbose: bool | None) -> ProgressCallback:
    """``[done/total] key (elapsed s)`` on stderr for every finished task, unless ``verbose`` is False."""
    t0 = time.perf_counter()

    def progress(done: int, total: int, key: str) -> None:
        if verbose is not False:
            print(f"[{done}/{total}] {key} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    return progress
