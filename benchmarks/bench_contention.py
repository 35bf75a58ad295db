"""Contention benchmark: the demo's fits on a quiet machine and beside a CPU-bound competitor, in one run.

The demo (``make demo``) fits ``VAEFactorModel`` on the 20 bundled S&P 500 stocks (training span to 2015-12-31,
K = 5, hidden (64, 32), batch 128) once per seed. This script runs those fits (a fixed number of epochs, no early
stopping, so the work is fixed) in a fresh subprocess under two thread policies:

* **latentquant** — what the command line does: ``OMP_WAIT_POLICY=PASSIVE`` and one thread per fit
  (:func:`latentquant._threads.set_process_threads` with ``LATENTQUANT_NUM_THREADS``, default 1);
* **torch defaults** (the peer) — no thread setting at all: torch's default intra-op threads (the machine's cores)
  and the OpenMP runtime's default wait policy, which is what the library did before it fixed the thread count.

Each policy runs quiet, then beside a competitor of ``available_cpus()`` busy processes (pure Python loops, one per
CPU the process may use): the competitor alone fills the machine, so with the peer's threads the cores are 2×
oversubscribed. Measured per run: wall time and CPU time (user + system, all threads) of the fitting process.
Reported: the slowdown (contended wall / quiet wall) of each policy, target ≤ 3× for latentquant, and the ratio of
the two policies' wall times, quiet and contended. A contended run that takes more than ``--max-slowdown`` (20) times
its quiet time (process start to end) is stopped there, and its numbers are reported as lower bounds (``>``).

Usage::

    python benchmarks/bench_contention.py            # 2 seeds × 40 epochs, 2 repeats; appends RESULTS.md
    python benchmarks/bench_contention.py --quick    # 1 seed × 5 epochs, 1 repeat; no RESULTS.md unless --write

There are no assertions on timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import RESULTS_FILE, append_results, load_average, machine_info, machine_markdown

POLICIES = {"latentquant": "latentquant (1 thread per fit, passive wait)",
            "torch": "torch defaults (threads = cores, OpenMP default wait)"}
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY",
                "LATENTQUANT_NUM_THREADS", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def worker(args: argparse.Namespace) -> int:
    """In a fresh process: the demo's fits under ``args.policy``; prints one JSON line."""
    if args.policy == "latentquant":
        from latentquant._threads import fit_threads, set_process_threads

        set_process_threads(fit_threads())
    import torch

    from latentquant.data import log_returns
    from latentquant.datasets import load_sp500_stocks
    from latentquant.models.factor import VAEFactorModel

    prices = load_sp500_stocks()
    returns = log_returns(prices, allow_nan=True).dropna().loc[:"2015-12-31"]
    t0, c0 = time.perf_counter(), os.times()
    scores = []
    for seed in range(args.seeds):
        model = VAEFactorModel(n_factors=5, input="log_returns", hidden_dims=(64, 32), batch_size=128,
                               epochs=args.epochs, early_stopping=False, validation_split=0.0, device="cpu",
                               verbose=False, seed=seed).fit(returns)
        scores.append(model.score(returns))
    wall, c1 = time.perf_counter() - t0, os.times()
    print(json.dumps({"wall": wall, "cpu": (c1.user - c0.user) + (c1.system - c0.system),
                      "threads": torch.get_num_threads(), "r2": scores}))
    return 0


def run_fits(policy: str, args: argparse.Namespace, limit: float) -> dict[str, Any]:
    """One run in a fresh process; stopped after ``limit`` seconds (then ``wall`` is a lower bound)."""
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    if policy == "latentquant":
        env["OMP_WAIT_POLICY"] = "PASSIVE"  # what `latentquant` (cli.main) sets before torch loads
    cmd = [sys.executable, __file__, "--worker", "--policy", policy, "--seeds", str(args.seeds),
           "--epochs", str(args.epochs)]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return {"wall": time.perf_counter() - t0, "cpu": float("nan"), "threads": None, "r2": None, "stopped": True}
    if out.returncode != 0:
        raise SystemExit(f"worker failed ({policy}):\n{out.stderr[-2000:]}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "stopped": False,
            "elapsed": time.perf_counter() - t0}  # the process's whole life, imports included


class Competitor:
    """``n`` busy processes (a pure Python loop each), started on enter and killed on exit."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Competitor:
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True:\n    pass"]) for _ in range(self.n)]
        time.sleep(0.5)  # let them reach the loop
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 seed × 5 epochs, 1 repeat; no RESULTS.md unless --write")
    p.add_argument("--seeds", type=int, default=None, help="fits per run (seeds 0..n-1; default 2)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per fit (default 40)")
    p.add_argument("--repeats", type=int, default=None, help="runs per (policy, condition) (default 2)")
    p.add_argument("--competitors", type=int, default=None, help="busy processes (default: available CPUs)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before any run is stopped")
    p.add_argument("--max-slowdown", type=float, default=20.0,
                   help="a contended run is stopped at this multiple of its quiet time (its time is then a bound)")
    p.add_argument("--write", action="store_true", help="append to RESULTS.md even with --quick")
    p.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--results", type=Path, default=RESULTS_FILE, help="results file (default benchmarks/RESULTS.md)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--policy", default="latentquant", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.seeds = args.seeds or (1 if args.quick else 2)
    args.epochs = args.epochs or (5 if args.quick else 40)
    args.repeats = args.repeats or (1 if args.quick else 2)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from latentquant._threads import available_cpus

    cpus = available_cpus()
    n_comp = args.competitors or cpus
    load_at_start = load_average()
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.repeats):  # interleaved: drift in the machine's load hits both policies alike
        for policy in POLICIES:
            for condition in ("quiet", "contended"):
                if condition == "quiet":
                    res = run_fits(policy, args, args.timeout)
                else:  # a run that takes more than --max-slowdown × its quiet time is stopped there
                    limit = min(args.timeout, args.max_slowdown * statistics.median(
                        r["elapsed"] for r in runs[(policy, "quiet")]))
                    with Competitor(n_comp):
                        res = run_fits(policy, args, limit)
                runs.setdefault((policy, condition), []).append(res)
                print(f"  {policy:<12} {condition:<10} wall {'>' if res['stopped'] else ' '}{res['wall']:7.2f} s  "
                      f"cpu {res['cpu']:7.2f} s  threads {res['threads']}", flush=True)

    def med(policy: str, condition: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[(policy, condition)])

    def bound(policy: str, condition: str) -> str:  # "> " when a run was stopped: its time is a lower bound
        return "> " if any(r["stopped"] for r in runs[(policy, condition)]) else ""

    rows = ["| policy | threads | quiet wall s | contended wall s | slowdown (contended / quiet) | quiet CPU s | "
            "contended CPU s |", "|---|---:|---:|---:|---:|---:|---:|"]
    slow: dict[str, float] = {}
    for policy, label in POLICIES.items():
        q, c = med(policy, "quiet", "wall"), med(policy, "contended", "wall")
        slow[policy] = c / q
        b = bound(policy, "contended")
        cpu_c = med(policy, "contended", "cpu")
        rows.append(f"| {label} | {runs[(policy, 'quiet')][0]['threads']} | {q:.2f} | {b}{c:.2f} | **{b}{c / q:.2f}×** "
                    f"| {med(policy, 'quiet', 'cpu'):.2f} | {'—' if cpu_c != cpu_c else f'{cpu_c:.2f}'} |")
    table = "\n".join(rows)
    finished = [r for r in runs[("latentquant", "contended")] if not r["stopped"]]
    same = "not compared (stopped)" if not finished else (
        "identical" if all(r["r2"] == runs[("latentquant", "quiet")][0]["r2"] for r in finished) else "DIFFERENT")
    ours_b, peer_b = bound("latentquant", "contended"), bound("torch", "contended")
    notes = [
        f"- latentquant slowdown under contention: **{ours_b}{slow['latentquant']:.2f}×** (target ≤ 3×); torch "
        f"defaults: **{peer_b}{slow['torch']:.2f}×**"
        + (f" (stopped at {args.max_slowdown:g}× its quiet time)" if peer_b else ""),
        f"- wall time latentquant / torch defaults (< 1: ours faster): quiet "
        f"**{med('latentquant', 'quiet', 'wall') / med('torch', 'quiet', 'wall'):.2f}×**, contended "
        f"**{'< ' if peer_b and not ours_b else ''}"
        f"{med('latentquant', 'contended', 'wall') / med('torch', 'contended', 'wall'):.2f}×**",
        "- every run's wall time (s, in order): " + "; ".join(
            f"{policy} {condition} " + ", ".join(f"{'>' if r['stopped'] else ''}{r['wall']:.2f}"
                                                 for r in runs[(policy, condition)])
            for policy in POLICIES for condition in ("quiet", "contended")),
        f"- latentquant's fitted numbers quiet vs contended: {same} (in-sample R² "
        f"{runs[('latentquant', 'quiet')][0]['r2']})",
    ]
    print()
    print(table)
    print("\n".join(notes))
    if (args.write or not args.quick) and not args.no_write:
        info = machine_info(("torch", "numpy"), load_avg=load_at_start)
        cmd = " ".join(["python", "benchmarks/bench_contention.py", *map(shlex.quote, sys.argv[1:])]) \
            if argv is None else "main(" + repr(argv) + ")"
        stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        section = "\n".join([
            f"## Contention: the demo's fits beside a CPU-bound competitor — {stamp}", "", machine_markdown(info), "",
            f"Command: `{cmd}`", "",
            f"Workload: `VAEFactorModel(n_factors=5, hidden_dims=(64, 32), batch_size=128, epochs={args.epochs}, "
            f"early_stopping=False)` on the 20 bundled S&P 500 stocks to 2015-12-31, seeds 0..{args.seeds - 1}, in a "
            f"fresh process per run. Competitor: {n_comp} busy Python processes ({cpus} CPU(s) available). Median "
            f"of {args.repeats} interleaved repeat(s); CPU = user + system time of the fitting process.", "",
            table, "", *notes, "",
        ])
        append_results(section, args.results)
        print(f"\nappended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
