"""Threads: CPUs available to the process, threads per fit, no nested parallelism, numbers independent of n_jobs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from latentquant._threads import (
    THREADS_ENV,
    _cgroup_cpus,
    available_cpus,
    fit_threads,
    limit_threads,
    set_process_threads,
)
from latentquant.cli import app
from latentquant.exceptions import ConfigError
from latentquant.executors import Task, run_tasks


def thread_counts() -> dict[str, int]:
    """A task: the torch and BLAS thread counts it runs with (module level: picklable for worker processes)."""
    import torch as t
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return {"torch": t.get_num_threads(), "blas": max(blas) if blas else -1}


def small_fit(seed: int) -> list[float]:
    """A task: a small VAE factor model fitted on fixed data; its factors, rounded to nothing."""
    from latentquant.models.factor import VAEFactorModel

    rng = np.random.default_rng(123)
    z = rng.standard_normal((400, 2))
    x = z @ rng.standard_normal((2, 8)) * 0.01 + rng.standard_normal((400, 8)) * 0.004
    frame = pd.DataFrame(x, index=pd.bdate_range("2015-01-01", periods=400), columns=[f"a{i}" for i in range(8)])
    model = VAEFactorModel(n_factors=2, hidden_dims=(32,), epochs=15, input="log_returns", seed=seed,
                           verbose=False).fit(frame)
    return [float(v) for v in model.transform(frame).to_numpy().ravel()]


def test_cgroup_quota_v2_and_v1(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert _cgroup_cpus(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert _cgroup_cpus(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert _cgroup_cpus(tmp_path) == 3.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    assert _cgroup_cpus(tmp_path) is None
    assert _cgroup_cpus(tmp_path / "absent") is None


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_available_cpus_follows_the_affinity_mask() -> None:
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(before)})
        assert available_cpus() == 1
    finally:
        os.sched_setaffinity(0, before)
    quota = _cgroup_cpus()
    assert available_cpus() == (len(before) if quota is None else max(1, min(len(before), int(quota))))


def test_fit_threads_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert fit_threads() == 1
    monkeypatch.setenv(THREADS_ENV, " 3 ")
    assert fit_threads() == 3
    for bad in ("0", "-2", "two", "1.5", "99999"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ConfigError, match=rf"LATENTQUANT_NUM_THREADS must be a positive integer \(threads per "
                                              rf"fit, e\.g\. 1\), got '{bad}'; unset it for the default of 1\."):
            fit_threads()


def test_limit_threads_sets_and_restores() -> None:
    before = torch.get_num_threads()
    with limit_threads(1):
        assert thread_counts() == {"torch": 1, "blas": thread_counts()["blas"]}
        assert thread_counts()["blas"] in (1, -1)
    assert torch.get_num_threads() == before
    with pytest.raises(ConfigError, match="threads must be a positive integer, got 0"):
        with limit_threads(0):
            pass


def test_set_process_threads_before_torch_is_imported() -> None:
    code = ("import os; from latentquant._threads import set_process_threads; set_process_threads(2); "
            "import torch; print(torch.get_num_threads(), os.environ['OMP_NUM_THREADS'], os.environ['OMP_WAIT_POLICY'])")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["2", "2", "PASSIVE"]
    with pytest.raises(ConfigError, match="threads must be a positive integer, got True"):
        set_process_threads(True)  # type: ignore[arg-type]


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_every_task_runs_with_the_fixed_thread_count(executor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    tasks = [Task(f"t{i}", thread_counts) for i in range(2)]
    # one worker process: before, it was given every core (nested parallelism); now each task has 1 thread
    got = run_tasks(tasks, executor=executor, n_jobs=1)
    assert {v["torch"] for v in got.values()} == {1}
    assert {v["blas"] for v in got.values()} <= {1, -1}
    got = run_tasks(tasks, executor=executor, n_jobs=2, threads=2)
    assert {v["torch"] for v in got.values()} == {2}
    with pytest.raises(ConfigError, match="threads must be"):
        run_tasks(tasks, executor=executor, threads=0)


def test_numbers_do_not_depend_on_the_executor_or_n_jobs() -> None:
    tasks = [Task(f"fit{s}", small_fit, {"seed": s}) for s in (0, 1)]
    serial = run_tasks(tasks, executor="serial")
    one = run_tasks(tasks, executor="local", n_jobs=1)
    two = run_tasks(tasks, executor="local", n_jobs=2)
    assert serial == one == two  # bit for bit
    assert serial["fit0"] != serial["fit1"]


def test_cli_threads_option_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    before = torch.get_num_threads()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["--threads", "2", "datasets", "list"])
        assert result.exit_code == 0, result.output
        assert os.environ[THREADS_ENV] == "2" and torch.get_num_threads() == 2
        monkeypatch.setenv(THREADS_ENV, "zero")
        result = runner.invoke(app, ["datasets", "list"])
        assert result.exit_code == 2
        assert "error: LATENTQUANT_NUM_THREADS must be a positive integer" in result.output
        assert "Traceback" not in result.output
    finally:
        torch.set_num_threads(before)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            monkeypatch.delenv(var, raising=False)
