"""Issue "Hardening": kill -9 a study mid-run, truncate and tamper one stored record each, rerun.

The rerun must end with the tables of an uninterrupted run, warn about exactly the two damaged records, and leave
every record that was finished and intact untouched (those tasks are loaded, not recomputed). Unlike the in-process
store tests of ``test_hardening_faults.py``, the study here is a real ``latentquant price run`` process killed with
SIGKILL while it computes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from latentquant.executors import _content_hash

pytestmark = pytest.mark.skipif(os.name != "posix" or not hasattr(os, "killpg"),
                                reason="needs POSIX signals and process groups")

# 4 yearly test windows (2004…2007) × 3 models × 2 K = 24 tasks; PCA and IPCA fit in milliseconds, each CA0 fit
# trains for a fixed number of epochs (no early stopping), which keeps the run busy long enough to be killed.
# The killed run and the rerun use the serial executor (default suite) or 2 local worker processes (slow, the
# reference stays serial: a fit's numbers must not depend on the executor).
CONFIG = {
    "data": "simulated",
    "simulation": {"n_assets": 100, "n_periods": 96, "n_chars": 4, "n_factors": 2, "beta": "linear", "seed": 0},
    "models": ["PCA", "IPCA", "CA0"],
    "seeds": [0],
    "k_grid": [1, 2],
    "val_years": 1,
    "first_test_year": 2004,
    "ca": {"n_seeds": 1, "epochs": 40, "patience": 1000, "batch_size": 1024},
    "executor": "serial",
}
N_TASKS = 4 * 3 * 2
KILL_AFTER = 6  # finished records when the run is killed: 2 to damage, at least 4 left intact
TIMEOUT = 300  # seconds, for every wait on a subprocess
DATA_FILES = {"panel.parquet", "factors.parquet"}
TMP_RE = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9._=+-]*\.tmp$")  # executors._save_result's temporary files
STORE_WARNING_RE = re.compile(r"^warning: stored result (?P<path>\S+) (?P<what>.*); recomputing task '(?P<key>[^']+)'$")


def _command(config: Path, out: Path, executor: str = "serial") -> list[str]:
    return [sys.executable, "-m", "latentquant.cli", "price", "run", "--config", str(config), "--out", str(out),
            "--executor", executor] + (["--n-jobs", "2"] if executor == "local" else [])


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LATENTQUANT_NUM_THREADS": "1",
            "MPLBACKEND": "Agg", "PYTHONWARNINGS": ""}


def _records(out: Path) -> dict[str, Path]:
    fits = out / "fits"
    return {p.stem: p for p in fits.glob("*.json") if not p.name.startswith(".")} if fits.is_dir() else {}


def _valid_record(path: Path) -> dict:
    """The parsed record; fails the test unless it is complete: parseable, its own key, a matching content hash."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["key"] == path.stem
    assert _content_hash(payload["key"], payload["fingerprint"], payload["result"]) == payload["sha256"], path
    return payload


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items()
                if not (k == "timings" or k.endswith("seconds"))}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def _tables(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "tables").glob("*.csv"))}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=TIMEOUT)


@pytest.mark.parametrize("executor", ["serial", pytest.param("local", marks=pytest.mark.slow)])
def test_a_killed_study_with_damaged_records_resumes_to_the_same_tables(tmp_path, executor):
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    ref, out = tmp_path / "ref", tmp_path / "run"
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("ref", "killed")}
    procs: list[subprocess.Popen] = []
    try:
        # the uninterrupted reference runs alongside the run that is killed (the machine's second core)
        procs.append(subprocess.Popen(_command(config, ref), env=_env(), stdout=logs["ref"],
                                      stderr=subprocess.STDOUT, start_new_session=True))
        killed = subprocess.Popen(_command(config, out, executor), env=_env(), stdout=logs["killed"],
                                  stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(killed)

        # --- 1. kill -9 while the study computes -----------------------------------------------------------------
        deadline = time.monotonic() + TIMEOUT
        while len(_records(out)) < KILL_AFTER:
            if killed.poll() is not None:
                pytest.fail(f"the study ended (exit {killed.returncode}) before {KILL_AFTER} of its {N_TASKS} "
                            f"fits were stored:\n{(tmp_path / 'killed.log').read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"fewer than {KILL_AFTER} fits stored after {TIMEOUT} s")
            time.sleep(0.02)
        os.killpg(killed.pid, signal.SIGKILL)
        assert killed.wait(timeout=TIMEOUT) == -signal.SIGKILL
        killed_at = time.time()

        fits = out / "fits"
        records = _records(out)
        assert KILL_AFTER <= len(records) < N_TASKS, sorted(records)  # killed in the middle
        assert not (out / "metrics.json").exists()
        for path in records.values():  # no partial record that looks valid: every record is complete
            _valid_record(path)
        leftovers = {p.name for p in fits.iterdir()} - DATA_FILES - {p.name for p in records.values()}
        assert all(TMP_RE.match(name) for name in leftovers), leftovers  # at most the in-flight temporary file

        # --- 2. damage two finished records -----------------------------------------------------------------------
        finished = sorted(records)
        truncated, tampered = finished[0], finished[-1]
        data = records[truncated].read_bytes()
        records[truncated].write_bytes(data[: len(data) // 2])
        payload = json.loads(records[tampered].read_text())
        values = payload["result"]["fitted"]["__series__"]["values"]
        i = next(i for i, v in enumerate(values) if isinstance(v, float))
        values[i] += 0.5  # valid JSON, one changed number, hash left as written
        records[tampered].write_text(json.dumps(payload))
        intact = {key: (path.read_bytes(), path.stat().st_mtime_ns) for key, path in records.items()
                  if key not in (truncated, tampered)}
        assert len(intact) >= KILL_AFTER - 2

        # --- 3. resume -------------------------------------------------------------------------------------------
        rerun = subprocess.run(_command(config, out, executor), env=_env(), capture_output=True, text=True,
                               timeout=TIMEOUT)
        assert rerun.returncode == 0, rerun.stderr
        store_warnings = {}
        for line in rerun.stderr.splitlines():
            if "stored result" in line:
                match = STORE_WARNING_RE.match(line)
                assert match, line
                assert Path(match["path"]) == fits / f"{match['key']}.json"
                store_warnings[match["key"]] = match["what"]
        assert sorted(store_warnings) == sorted([truncated, tampered]), rerun.stderr
        assert store_warnings[truncated].startswith("is unreadable (JSONDecodeError")
        assert store_warnings[tampered].startswith("is corrupt: its content hash does not match")

        # the intact records were loaded, not recomputed: same bytes (saved_at included), same mtime
        after = _records(out)
        for key, (content, mtime) in intact.items():
            assert after[key].read_bytes() == content, f"task {key} was recomputed although its record was intact"
            assert after[key].stat().st_mtime_ns == mtime, key
        # the damaged ones were recomputed and stored again, complete
        for key in (truncated, tampered):
            assert datetime.fromisoformat(_valid_record(after[key])["saved_at"]).timestamp() >= killed_at - 1

        # --- 4. same results as the uninterrupted run ---------------------------------------------------------------
        assert procs[0].wait(timeout=TIMEOUT) == 0, (tmp_path / "ref.log").read_text()
        reference = _records(ref)
        assert sorted(after) == sorted(reference) and len(after) == N_TASKS
        for key in sorted(after):  # every fit, recomputed or loaded, equals the reference's (timings aside)
            assert (_without_timing(_valid_record(after[key])["result"])
                    == _without_timing(_valid_record(reference[key])["result"])), key
        assert _tables(out) == _tables(ref) and len(_tables(ref)) >= 5
        metrics, ref_metrics = (json.loads((d / "metrics.json").read_text()) for d in (out, ref))
        assert _without_timing(metrics) == _without_timing(ref_metrics)
        assert metrics["n_tasks"] == N_TASKS
    finally:
        for proc in procs:
            _stop(proc)
        for fh in logs.values():
            fh.close()
