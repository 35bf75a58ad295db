"""latentquant.executors: serial / local / ray execution, the JSON result store and resuming."""

from __future__ import annotations

import json
import sys
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_index_equal, assert_series_equal

from conftest import deadline
from latentquant.exceptions import ConfigError, LatentQuantError
from latentquant.executors import StoreWarning, Task, TaskError, decode_result, encode_result, run_tasks

# a guard against hangs, not a speed test: Ray's first workers start slowly on a loaded 2-core machine (a run of the
# suite beside other jobs took over 120 s)
RAY_RUN_TIMEOUT_S = 300

# ---------------------------------------------------------------------------------------------------------------
# module-level task functions (picklable for the process pool)


def square(x: float) -> dict:
    return {"x": x, "y": x * x}


def rich_result(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2021-01-04", periods=4, freq="B")
    idx = pd.MultiIndex.from_product([dates, ["AAA", "BBB", "CCC"]], names=["date", "asset"])
    frame = pd.DataFrame(rng.normal(size=(12, 2)), index=idx, columns=["beta", "alpha"])
    series = pd.Series(rng.normal(size=4), index=dates, name="ret")
    return {"frame": frame, "series": series, "weights": rng.normal(size=(2, 3)), "seed": seed,
            "nested": {"scores": [1.0, float("nan")], "n": np.int64(seed)}}


def counted(x: int, counter_dir: str) -> int:
    """Return x * 10 and leave one file per call in counter_dir (counts calls across processes)."""
    Path(counter_dir, f"call-{x}-{uuid.uuid4().hex}").touch()
    return x * 10


def flaky(x: int, counter_dir: str, poison_dir: str) -> int:
    """Fail while a file named after x exists in poison_dir (the failure is outside the kwargs)."""
    if Path(poison_dir, str(x)).exists():
        raise ValueError(f"boom on {x}")
    return counted(x, counter_dir)


def must_not_run(**kwargs: object) -> None:
    raise AssertionError("this task should have been loaded from the store")


def n_calls(counter_dir: Path) -> int:
    return len(list(counter_dir.iterdir()))


def assert_deep_equal(a: object, b: object) -> None:
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, pd.DataFrame):
        assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        assert_series_equal(a, b, check_exact=True, check_freq=True)
    elif isinstance(a, pd.Index):
        assert_index_equal(a, b, exact=True)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape  # type: ignore[union-attr]
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)  # type: ignore[arg-type]
        for k in a:
            assert_deep_equal(a[k], b[k])  # type: ignore[index]
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)  # type: ignore[arg-type]
        for x, y in zip(a, b, strict=True):  # type: ignore[call-overload]
            assert_deep_equal(x, y)
    elif a is pd.NaT:
        assert b is pd.NaT
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)  # type: ignore[arg-type]
    else:
        assert a == b, (a, b)


# ---------------------------------------------------------------------------------------------------------------
# encoding


def test_round_trip_pandas_numpy_nested():
    dates = pd.date_range("2020-01-01", periods=3, freq="B")
    mi = pd.MultiIndex.from_product([dates, ["AAA", "BBB"]], names=["date", "asset"])
    frame = pd.DataFrame({"r": [0.1, np.nan, np.inf, -np.inf, -0.0, 1e-300], "n": np.arange(6),
                          "s": list("abcdef"), "b": [True, False] * 3,
                          "o": np.array(["x", 1, None, 2.5, "y", "z"], dtype=object),
                          "d": pd.date_range("2021", periods=6, freq="h", unit="ns"),
                          "tz": pd.date_range("2021", periods=6, tz="Europe/London")}, index=mi)
    obj = {
        "frame": frame,
        "wide": pd.DataFrame(np.random.default_rng(0).normal(size=(3, 2)), index=dates,
                             columns=pd.Index(["AAA", "BBB"], name="asset")),
        "series": pd.Series([1.5, -0.0, np.nan], index=dates, name="ret"),
        "ns_series": pd.Series([1, 2], index=pd.DatetimeIndex(["2020-01-01", "2020-01-02 00:00:00.000000001"])),
        "mi_columns": pd.DataFrame([[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)])),
        "empty": pd.DataFrame(index=pd.RangeIndex(0, 4, 2)),
        "obj_str_series": pd.Series(["a", "b"], dtype=object),
        "obj_str_frame": pd.DataFrame({"c": pd.Series(["a", None], dtype=object), "v": [1.0, 2.0]}, index=[7, 7]),
        "str_frame": pd.DataFrame({"c": ["a", None]}, dtype="string"),
        "arrays": [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([[True], [False]]),
                   np.array(["ab", "c"]), np.array(3.5)],
        "scalars": (1, 2.5, np.float64(2.0), np.int32(3), np.bool_(True), None, "s", float("nan"), float("-inf")),
        "timestamps": [pd.Timestamp("2020-01-01 10:00", tz="US/Eastern"), pd.Timestamp("2020-01-02"), pd.NaT],
        1: "int key",
        "__frame__": "a key that looks like a marker",
        "index": pd.Index([3, 1, 2], name="k"),
    }
    text = encode_result(obj)
    json.loads(text)  # plain, strict JSON
    assert "NaN" not in text and "Infinity" not in text
    assert_deep_equal(obj, decode_result(text))


def test_unsupported_result_type_is_named():
    with pytest.raises(TypeError, match=r"cannot store a builtins.set at result\['a'\]"):
        encode_result({"a": {1, 2}})
    with pytest.raises(TypeError, match="dtype category"):
        encode_result(pd.Series(["a", "b"], dtype="category"))


# ---------------------------------------------------------------------------------------------------------------
# executors


def test_serial_and_local_identical_and_ordered():
    tasks = [Task(f"t{i}", rich_result, {"seed": i}) for i in (3, 0, 2, 1)]
    serial = run_tasks(tasks, executor="serial")
    local = run_tasks(tasks, executor="local", n_jobs=2)
    assert list(serial) == list(local) == ["t3", "t0", "t2", "t1"]
    assert_deep_equal(serial, local)


def test_progress_and_empty():
    calls: list[tuple[int, int, str]] = []
    run_tasks([Task("a", square, {"x": 1}), Task("b", square, {"x": 2})], executor="serial",
              progress=lambda d, t, k: calls.append((d, t, k)))
    assert calls == [(1, 2, "a"), (2, 2, "b")]
    assert run_tasks([], executor="local") == {}


def test_store_round_trip_and_resume(tmp_path):
    tasks = [Task(f"fit-{i}", rich_result, {"seed": i}) for i in range(3)]
    first = run_tasks(tasks, executor="serial", store=tmp_path / "store")
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["fit-0.json", "fit-1.json", "fit-2.json"]
    # same keys and kwargs, a function that fails if called: everything is loaded, nothing recomputed
    again = [Task(t.key, must_not_run, t.kwargs) for t in tasks]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = run_tasks(again, executor="serial", store=tmp_path / "store")
    assert_deep_equal(first, second)
    assert_deep_equal(first, run_tasks(again, executor="local", n_jobs=2, store=tmp_path / "store"))


def test_interrupted_run_resumes(tmp_path):
    counter, poison, store = tmp_path / "calls", tmp_path / "poison", tmp_path / "store"
    counter.mkdir()
    poison.mkdir()
    tasks = [Task(f"x{i}", flaky, {"x": i, "counter_dir": str(counter), "poison_dir": str(poison)}) for i in range(5)]

    (poison / "2").touch()
    with pytest.raises(TaskError, match=r"task 'x2' failed: ValueError: boom on 2; finished tasks are saved") as err:
        run_tasks(tasks, executor="serial", store=store)
    assert err.value.key == "x2" and isinstance(err.value.__cause__, ValueError)
    assert isinstance(err.value, LatentQuantError)
    assert sorted(p.name for p in store.iterdir()) == ["x0.json", "x1.json"]  # no temporary file left
    assert n_calls(counter) == 2

    (poison / "2").unlink()  # the fix
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = run_tasks(tasks, executor="local", n_jobs=2, store=store)
    assert n_calls(counter) == 5  # only x2, x3, x4 were computed
    assert list(resumed) == [t.key for t in tasks]
    assert resumed == run_tasks(tasks, executor="serial", store=tmp_path / "fresh") == {f"x{i}": i * 10 for i in range(5)}


def test_local_failure_keeps_finished_results(tmp_path):
    counter, poison = tmp_path / "calls", tmp_path / "poison"
    counter.mkdir()
    poison.mkdir()
    (poison / "0").touch()
    tasks = [Task(f"x{i}", flaky, {"x": i, "counter_dir": str(counter), "poison_dir": str(poison)}) for i in range(4)]
    with pytest.raises(TaskError, match=r"task 'x0' failed: ValueError: boom on 0") as err:
        run_tasks(tasks, executor="local", n_jobs=2, store=tmp_path / "store")
    assert isinstance(err.value.__cause__, ValueError)
    stored = {p.stem for p in (tmp_path / "store").glob("*.json")}
    assert "x0" not in stored and stored
    assert n_calls(counter) == len(stored)  # whatever finished was saved (not-started tasks were cancelled)


def test_changed_kwargs_recomputed_with_warning(tmp_path):
    counter = tmp_path / "calls"
    counter.mkdir()
    store = tmp_path / "store"
    run_tasks([Task("a", counted, {"x": 1, "counter_dir": str(counter)})], executor="serial", store=store)
    with pytest.warns(StoreWarning, match=r"computed with different arguments; recomputing task 'a'"):
        out = run_tasks([Task("a", counted, {"x": 2, "counter_dir": str(counter)})], executor="serial", store=store)
    assert out == {"a": 20} and n_calls(counter) == 2
    # the new result replaced the old one: a third run loads it
    run_tasks([Task("a", must_not_run, {"x": 2, "counter_dir": str(counter)})], executor="serial", store=store)


def test_corrupted_store_file_recomputed(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.warns(StoreWarning, match="is unreadable"):
        assert run_tasks([Task("a", square, {"x": 3})], executor="serial", store=tmp_path) == {"a": {"x": 3, "y": 9}}


def test_unstorable_result_fails_with_key(tmp_path):
    with pytest.raises(TaskError, match=r"task 'a' failed: TypeError: cannot store a builtins.set"):
        run_tasks([Task("a", set, {})], executor="serial", store=tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("key", ["", "a/b", "../x", ".hidden", "a b", "é", "x" * 151, 3])
def test_bad_keys(key):
    with pytest.raises(ConfigError, match="is not a valid key: use 1-150 characters among letters, digits"):
        Task(key, square, {"x": 1})  # type: ignore[arg-type]


def test_duplicate_keys_and_bad_arguments():
    with pytest.raises(ConfigError, match="duplicate task key 'a'"):
        run_tasks([Task("a", square, {"x": 1}), Task("a", square, {"x": 2})], executor="serial")
    with pytest.raises(ConfigError, match="task keys 'a' and 'A' differ only by case"):
        run_tasks([Task("a", square, {"x": 1}), Task("A", square, {"x": 2})], executor="serial")
    with pytest.raises(ConfigError, match=r"executor must be one of \['local', 'serial', 'ray'\], got 'dask'\."):
        run_tasks([Task("a", square, {"x": 1})], executor="dask")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_jobs must be a positive integer or None, got 0"):
        run_tasks([Task("a", square, {"x": 1})], n_jobs=0)
    with pytest.raises(ConfigError, match=r"store must be a string or a PathLike or None, got 3\."):
        run_tasks([Task("a", square, {"x": 1})], store=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="kwargs must be a dict"):
        Task("a", square, [1])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"needs a module-level function, got '.*<locals>.<lambda>'"):
        run_tasks([Task("a", lambda: 1, {})], executor="local")


# ---------------------------------------------------------------------------------------------------------------
# ray


def test_ray_missing_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as when it is not installed
    with pytest.raises(ConfigError, match=r"executor='ray' needs the optional package ray, which is not installed: "
                                          r"install it with `pip install 'latentquant\[ray\]'` \(or `pip install ray`\)"):
        run_tasks([Task("a", square, {"x": 1})], executor="ray")


def test_ray_local(ray_local, tmp_path):
    assert ray_local.is_initialized()  # run_tasks reuses the session instead of starting its own
    tasks = [Task(f"t{i}", rich_result, {"seed": i}) for i in (2, 0, 1)]
    with deadline(RAY_RUN_TIMEOUT_S, "run_tasks on ray"):
        out = run_tasks(tasks, executor="ray", n_jobs=2, store=tmp_path)
    assert list(out) == ["t2", "t0", "t1"]
    assert_deep_equal(out, run_tasks(tasks, executor="serial"))
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["t0.json", "t1.json", "t2.json"]
    # a second run loads every result from the store: nothing is sent to ray
    again = [Task(t.key, must_not_run, t.kwargs) for t in tasks]
    assert_deep_equal(out, run_tasks(again, executor="ray", store=tmp_path))


def test_ray_failure_names_the_task_and_keeps_finished_results(ray_local, tmp_path):
    counter, poison = tmp_path / "calls", tmp_path / "poison"
    counter.mkdir()
    poison.mkdir()
    (poison / "2").touch()
    tasks = [Task(f"x{i}", flaky, {"x": i, "counter_dir": str(counter), "poison_dir": str(poison)}) for i in range(3)]
    # the message is the one of the other executors (Ray's wrapper with the remote traceback is unwrapped)
    expected = r"^task 'x2' failed: ValueError: boom on 2; finished tasks are saved in "
    with deadline(RAY_RUN_TIMEOUT_S, "run_tasks on ray"), pytest.raises(TaskError, match=expected) as err:
        run_tasks(tasks, executor="ray", n_jobs=1, store=tmp_path / "store")  # one in flight: x0, x1 finish first
    assert err.value.key == "x2" and isinstance(err.value.__cause__, ValueError)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["x0.json", "x1.json"]
    (poison / "2").unlink()
    with deadline(RAY_RUN_TIMEOUT_S, "run_tasks on ray"):
        assert run_tasks(tasks, executor="ray", store=tmp_path / "store") == {"x0": 0, "x1": 10, "x2": 20}
    assert n_calls(counter) == 3  # the resumed run computed x2 only


TINY_PRICING = {
    "data": "simulated",
    "simulation": {"n_assets": 40, "n_periods": 60, "n_chars": 3, "n_factors": 1, "beta": "linear", "seed": 0},
    "models": ["PCA", "IPCA"],
    "k_grid": [1],
    "val_years": 1,
    "first_test_year": 2004,  # the panel spans 2000-2004: one window (train 2000-2002, validation 2003, test 2004)
    "verbose": False,
}


def test_pricing_study_on_ray_matches_serial(ray_local, tmp_path):
    from latentquant.experiments.asset_pricing import PricingStudyConfig
    from latentquant.experiments.asset_pricing import run as run_study

    serial = run_study(PricingStudyConfig.from_dict({**TINY_PRICING, "executor": "serial",
                                                     "out": str(tmp_path / "serial")}))
    with deadline(RAY_RUN_TIMEOUT_S, "the pricing study on ray"):
        on_ray = run_study(PricingStudyConfig.from_dict({**TINY_PRICING, "executor": "ray",
                                                         "out": str(tmp_path / "ray")}))
    assert len(on_ray.metrics["windows"]) == 1
    assert sorted(p.name for p in (tmp_path / "ray" / "fits").glob("w*.json")) == sorted(
        p.name for p in (tmp_path / "serial" / "fits").glob("w*.json"))
    assert set(on_ray.tables) == set(serial.tables) and "total_r2_stock" in on_ray.tables
    for name, table in serial.tables.items():
        assert_frame_equal(on_ray.tables[name], table, check_exact=True)
    assert on_ray.tables["total_r2_stock"].loc["IPCA", "K=1"] > 5  # a real fit, not an empty table


def test_price_run_executor_ray_matches_serial(ray_local, tmp_path):
    """`--executor ray` on a local Ray instance (the ray_local fixture; the study reuses it) gives the serial numbers."""
    import yaml
    from typer.testing import CliRunner

    from latentquant.cli import app

    runner = CliRunner()
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({k: v for k, v in TINY_PRICING.items() if k != "verbose"}))
    metrics = {}
    for executor in ("serial", "ray"):
        with deadline(RAY_RUN_TIMEOUT_S, f"price run --executor {executor}"):
            res = runner.invoke(app, ["price", "run", "--config", str(config), "--executor", executor,
                                      "--out", str(tmp_path / executor)])
        assert res.exit_code == 0, res.output
        assert "1 test windows, models ['PCA', 'IPCA']" in res.stdout
        metrics[executor] = json.loads((tmp_path / executor / "metrics.json").read_text())
    assert metrics["ray"]["total_r2_stock"] == metrics["serial"]["total_r2_stock"]
    assert metrics["ray"]["predictive_r2_stock"] == metrics["serial"]["predictive_r2_stock"]


def test_local_workers_exit_when_the_parent_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "slowmod.py").write_text(
        "import os, time\n"
        "def nap(seconds, where):\n"
        "    open(os.path.join(where, 'worker.pid'), 'w').write(str(os.getpid()))\n"
        "    time.sleep(seconds)\n"
        "    return 1\n"
    )
    script = ("from latentquant.executors import Task, run_tasks\nfrom slowmod import nap\n"
              f"run_tasks([Task('a', nap, {{'seconds': 120, 'where': {str(tmp_path)!r}}})], executor='local', "
              "n_jobs=1)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    pid_file = tmp_path / "worker.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pid_file.exists(), "the worker never started"
    worker = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(worker, signal.SIGKILL)
    raise AssertionError("the worker outlived its killed parent")
