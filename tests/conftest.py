"""Shared fixtures: simulated factor data with known truth."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
# Under `pytest -n auto` every worker process gets an equal share of the cores (no oversubscription: 2 workers
# with 2 threads each on 2 cores run slower than with 1 each); a plain run keeps 2 threads.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // _workers)))


def simulate_factor_data(n_rows: int = 2000, n_assets: int = 20, n_factors: int = 3, noise: float = 0.3,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x_t = B f_t + e_t with f ~ N(0, diag(3², 2², 1.5²)...) and e ~ N(0, noise²); returns (X, F, B)."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 1.5, n_factors)
    F = rng.normal(size=(n_rows, n_factors)) * scales
    B = rng.normal(size=(n_assets, n_factors))
    X = F @ B.T + noise * rng.normal(size=(n_rows, n_assets))
    return X.astype(np.float64), F, B


@pytest.fixture
def factor_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_factor_data()


# ---------------------------------------------------------------------------------------------------------------
# Ray: one local instance per test process, started under a deadline so that a stuck start-up fails the test
# instead of hanging CI. The tests that use it all live in test_executors.py, so that `pytest -n auto --dist
# loadscope` runs them on one worker, which starts one Ray instance. (pytest-xdist 3.8's loadgroup would say this
# with a marker, but its group tag is lost under pytest 9, which no longer reads Item._nodeid.)

RAY_START_TIMEOUT_S = 120


@contextlib.contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise TimeoutError in the main thread if the block runs longer than ``seconds`` (SIGALRM; Unix only)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what} took longer than {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def ray_local() -> Iterator[Any]:
    """A local Ray instance (2 CPUs, no dashboard) whose workers can import the test modules."""
    if os.environ.get("CI"):
        import ray  # CI installs the dev extra, which has ray: a missing ray must fail there, not skip
    else:
        ray = pytest.importorskip("ray")
    # Ray workers do not inherit sys.path: make the test modules importable there (their task functions live there)
    pythonpath = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report attempts (the machines are offline)
    with deadline(RAY_START_TIMEOUT_S, "ray.init"):
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": pythonpath}})
    try:
        yield ray
    finally:
        ray.shutdown()
