"""Scale benchmark of the asset-pricing study: peak memory and wall time of the full rolling study on a GKX-sized panel.

Target (issue): the full rolling study on a simulated 2,000 assets × 360 months × 94 characteristics panel (K = 5;
IPCA + CA1, one seed) stays under **4 GB peak RSS**; wall time and memory are recorded in ``RESULTS.md``.

What runs — in a *fresh* subprocess, so that its peak RSS is the study's and nothing else's::

    latentquant.experiments.asset_pricing.run(PricingStudyConfig(
        data='simulated',
        simulation={'n_assets': 2000, 'n_periods': 360, 'n_chars': 94, 'n_factors': 5, 'beta': 'nonlinear', 'seed': 0},
        models=['IPCA', 'CA1'], k_grid=[5],
        ca={'n_seeds': 1, 'epochs': E, 'lr': 0.01, 'batch_size': 1024, 'patience': 5, 'dropout': 0.0},
        executor='serial', refit_every=R, first_test_year=Y, out=<temporary directory>), resume=True)

i.e. the whole study: simulation (plus a constant characteristic: 95 instruments), the panel written to
``fits/panel.parquet`` and read back by the fit tasks, one task per (window, model), every result persisted as JSON,
pooling of the test predictions, R² / pricing errors / characteristic importance and the HTML report with figures.

* **Memory.** ``executor='serial'`` runs every fit in the worker process itself, so one process holds everything and
  its peak RSS is the number checked against the target: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at the end
  of the worker, cross-checked by ``RUSAGE_CHILDREN`` read in the parent after the worker exited. A sampler thread
  reads ``VmRSS`` every 50 ms to attribute the peak to a phase (simulation, parquet write, each fit task,
  aggregation + report). With ``--executor local`` the fits run in a process pool instead (one process per task,
  ``n_jobs`` at a time): each pool process re-reads the parquet panel, so the machine-wide footprint is roughly the
  parent plus ``n_jobs`` × one fit process; the worker then also reports its children's peak (``RUSAGE_CHILDREN``).
* **Wall time.** End to end in the worker (imports excluded, reported separately), plus phases: simulation
  (``_load_panel``), fits (``run_tasks``, per task too) and the rest (parquet write + fingerprint before the fits,
  pooling + report after).
* **Budget choices.** The memory target concerns the *data size*, which is the full 2,000 × 360 × 94 panel; the
  compute budget is cut so that the run finishes in a few minutes on 2 cores: CA1 trains a fixed small number of
  epochs (``--epochs``, default 4; early stopping on the validation years may stop it earlier) with one seed, and
  the model is refitted every ``--refit-every`` years (default 5) over ``--windows`` windows (default 3), so the
  first test year is ``last year − windows × refit_every + 1`` (2015 for 2000–2029). Validation: 3 years (the
  study's default), expanding windows. The choices are printed and recorded with the result.

Usage::

    python benchmarks/bench_pricing_scale.py                 # full: 2,000 × 360 × 94, appends RESULTS.md
    python benchmarks/bench_pricing_scale.py --quick         # 200 × 120 × 20, refit every 2 years; no RESULTS.md
    python benchmarks/bench_pricing_scale.py --executor local --no-write   # fits in a process pool (see above)

There are no assertions; the table states whether the < 4 GiB target is met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import RESULTS_FILE, append_results, load_average, machine_info, machine_markdown, maxrss_kib, rss_now_kib

TARGET_GIB = 4.0
START_YEAR = 2000  # simulate_panel's first month is 2000-01-31
VAL_YEARS = 3  # the study's default
CA_SETTINGS = {"lr": 0.01, "batch_size": 1024, "patience": 5, "dropout": 0.0}  # the study's defaults but n_seeds/epochs


# ------------------------------------------------------------------------------------------------------ helpers




class PhaseSampler:
    """Samples the resident set every ``interval`` s in a thread; keeps the maximum per named phase."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self.order: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _record(self) -> None:
        rss = rss_now_kib()
        if rss is not None:
            phase = self.phase
            if phase not in self.peaks:
                self.order.append(phase)
            self.peaks[phase] = max(self.peaks.get(phase, 0.0), rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._record()

    def enter(self, phase: str) -> None:
        self._record()  # closes the previous phase at its current RSS
        self.phase = phase
        self._record()

    def start(self) -> PhaseSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._record()


def first_test_year(n_periods: int, windows: int, refit_every: int) -> tuple[int, int]:
    """(first test year, last year) so that ``windows`` windows of ``refit_every`` test years end at the last year."""
    last = START_YEAR + (n_periods - 1) // 12
    return last - windows * refit_every + 1, last


# ------------------------------------------------------------------------------------------------------- worker
def worker(args: argparse.Namespace) -> int:
    """The study in this (fresh) process; prints one JSON line with peak RSS, wall times and phase peaks."""
    t_import = time.perf_counter()
    import torch
    from threadpoolctl import threadpool_limits

    import latentquant.experiments.asset_pricing as ap

    import_seconds = time.perf_counter() - t_import
    torch.set_num_threads(args.threads)
    rss_after_imports = rss_now_kib()
    sampler = PhaseSampler().start()
    phases: dict[str, float] = {}
    tasks: list[dict[str, Any]] = []

    original_load, original_run_tasks, original_fit = ap._load_panel, ap.run_tasks, ap.fit_window

    def load_panel(cfg: Any) -> Any:
        sampler.enter("simulation")
        t0 = time.perf_counter()
        out = original_load(cfg)
        phases["simulation"] = time.perf_counter() - t0
        sampler.enter("parquet write + fingerprint")
        phases["_t_after_load"] = time.perf_counter()
        return out

    def run_tasks(task_list: Any, **kwargs: Any) -> Any:
        phases["parquet write + fingerprint"] = time.perf_counter() - phases.pop("_t_after_load")
        sampler.enter("fits")
        t0 = time.perf_counter()
        out = original_run_tasks(task_list, **kwargs)
        phases["fits"] = time.perf_counter() - t0
        sampler.enter("pooling + report")
        phases["_t_after_fits"] = time.perf_counter()
        return out

    def fit_window(**kwargs: Any) -> Any:  # serial executor only: a closure does not pickle to a process pool
        label = f"fit {kwargs['model']} train {kwargs['window']['train'][0]}–{kwargs['window']['train'][1]}"
        sampler.enter(label)
        t0 = time.perf_counter()
        out = original_fit(**kwargs)
        tasks.append({"task": label, "seconds": time.perf_counter() - t0, "fit_seconds": out["seconds"],
                      "maxrss_kib": maxrss_kib()})
        sampler.enter("fits")
        return out

    ap._load_panel, ap.run_tasks = load_panel, run_tasks  # type: ignore[assignment]
    if args.executor == "serial":
        ap.fit_window = fit_window  # type: ignore[assignment]
    first, last = first_test_year(args.periods, args.windows, args.refit_every)
    config = ap.PricingStudyConfig(
        data="simulated",
        simulation={"n_assets": args.assets, "n_periods": args.periods, "n_chars": args.chars,
                    "n_factors": args.k, "beta": "nonlinear", "seed": args.seed},
        models=["IPCA", "CA1"], k_grid=[args.k], val_years=VAL_YEARS, first_test_year=first, last_test_year=last,
        refit_every=args.refit_every, scheme="expanding",
        ca={"n_seeds": 1, "epochs": args.epochs, **CA_SETTINGS}, seeds=[args.seed],
        executor=args.executor, n_jobs=args.n_jobs, out=args.out, verbose=False)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        t0 = time.perf_counter()
        result = ap.run(config, resume=True)
        wall = time.perf_counter() - t0
    phases["pooling + report"] = time.perf_counter() - phases.pop("_t_after_fits")
    sampler.stop()
    peak = maxrss_kib()
    out_dir = Path(args.out)
    parquet = out_dir / "fits" / "panel.parquet"
    print(json.dumps({
        "wall_seconds": wall, "import_seconds": import_seconds, "phases": phases, "tasks": tasks,
        "peak_kib": peak, "children_peak_kib": maxrss_kib(resource.RUSAGE_CHILDREN),
        "rss_after_imports_kib": rss_after_imports,
        "phase_peaks_kib": [(name, sampler.peaks[name]) for name in sampler.order],
        "n_windows": len(result.metrics["windows"]), "n_tasks": result.metrics["n_tasks"],
        "first_test_year": first, "last_year": last,
        "total_r2_stock": {m: float(v) for m, v in result.tables["total_r2_stock"].iloc[:, 0].items()},
        "parquet_mib": parquet.stat().st_size / 2**20 if parquet.exists() else None,
        "torch_threads": torch.get_num_threads(),
    }))
    return 0


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the worker in a fresh process; add the parent's view (RUSAGE_CHILDREN, wall including start-up)."""
    with tempfile.TemporaryDirectory(prefix="bench_pricing_scale_") as tmp:
        out = args.out or tmp
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--out", out,
               "--assets", str(args.assets), "--periods", str(args.periods), "--chars", str(args.chars),
               "--k", str(args.k), "--epochs", str(args.epochs), "--refit-every", str(args.refit_every),
               "--windows", str(args.windows), "--threads", str(args.threads), "--seed", str(args.seed),
               "--executor", args.executor, *(["--n-jobs", str(args.n_jobs)] if args.n_jobs else [])]
        before = maxrss_kib(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        process_wall = time.perf_counter() - t0
        children = maxrss_kib(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"the study worker failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}")
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_wall_seconds"] = process_wall
    res["parent_children_peak_kib"] = children if children > before else None
    return res


# --------------------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 200 assets × 120 months × 20 characteristics, 2 epochs, refit every 2 years; "
                        "RESULTS.md only with --write")
    p.add_argument("--assets", type=int, help="N (default 2,000; --quick 200)")
    p.add_argument("--periods", type=int, help="T in months from 2000-01 (default 360; --quick 120)")
    p.add_argument("--chars", type=int, help="L, characteristics before the constant (default 94; --quick 20)")
    p.add_argument("--k", type=int, default=5, help="number of factors K (default 5)")
    p.add_argument("--epochs", type=int, help="CA1 epoch budget (default 4; --quick 2)")
    p.add_argument("--refit-every", type=int, help="years between refits = test years per window (default 5; "
                                                   "--quick 2)")
    p.add_argument("--windows", type=int, default=3, help="number of rolling windows (default 3)")
    p.add_argument("--executor", choices=("serial", "local"), default="serial",
                   help="'serial' (default): all fits in the measured process; 'local': a process pool")
    p.add_argument("--n-jobs", type=int, default=None, help="process-pool size with --executor local")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op and BLAS threads in the study process (default: the CPUs available)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulation and of CA1")
    p.add_argument("--out", default=None, help="run directory (default: a temporary directory, deleted after)")
    p.add_argument("--write", action="store_true", help="append to RESULTS.md even with --quick")
    p.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--results", type=Path, default=RESULTS_FILE, help="results file (default benchmarks/RESULTS.md)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.assets = args.assets or (200 if args.quick else 2_000)
    args.periods = args.periods or (120 if args.quick else 360)
    args.chars = args.chars or (20 if args.quick else 94)
    args.epochs = args.epochs or (2 if args.quick else 4)
    args.refit_every = args.refit_every or (2 if args.quick else 5)
    for name in ("assets", "periods", "chars", "k", "epochs", "refit_every", "windows"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.k > args.chars:
        p.error("--k must not exceed --chars")
    first, _ = first_test_year(args.periods, args.windows, args.refit_every)
    if first - VAL_YEARS - 1 < START_YEAR:
        p.error(f"{args.windows} windows of {args.refit_every} years leave no training year in {args.periods} months "
                f"(first test year {first}, {VAL_YEARS} validation years); use fewer windows or more months")
    avail = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    args.threads = args.threads or avail
    return args


def build_report(res: dict[str, Any], args: argparse.Namespace) -> tuple[str, list[str]]:
    gib = 2**20  # KiB per GiB
    peak = res["peak_kib"] / gib
    met = peak < TARGET_GIB
    size = f"{args.assets:,} × {args.periods} × {args.chars}"
    table = "\n".join([
        "| panel N × T × L | windows | fits | executor | wall s (study) | peak RSS GiB | target < 4 GiB met? |",
        "|---|---:|---:|---|---:|---:|---|",
        f"| {size} | {res['n_windows']} | {res['n_tasks']} | {args.executor} | {res['wall_seconds']:,.1f} "
        f"| {peak:.2f} | {'yes' if met else '**NO**'} |",
    ])
    ph = res["phases"]
    notes = [
        f"- peak RSS (`ru_maxrss`, RUSAGE_SELF at the end of the study process): **{peak:.2f} GiB** "
        f"({res['peak_kib'] / 1024:,.0f} MiB); the parent's RUSAGE_CHILDREN after the process exited: "
        + (f"{res['parent_children_peak_kib'] / gib:.2f} GiB" if res["parent_children_peak_kib"] else "n/a")
        + f"; RSS after imports {res['rss_after_imports_kib'] / 1024:,.0f} MiB",
        f"- wall: study {res['wall_seconds']:,.1f} s (simulation {ph.get('simulation', float('nan')):.1f} s, parquet "
        f"write + fingerprint {ph.get('parquet write + fingerprint', float('nan')):.1f} s, fits "
        f"{ph.get('fits', float('nan')):.1f} s, pooling + report {ph.get('pooling + report', float('nan')):.1f} s); "
        f"imports {res['import_seconds']:.1f} s; whole process incl. start-up {res['process_wall_seconds']:,.1f} s",
        "- peak RSS by phase (max of 50 ms `VmRSS` samples, MiB): "
        + "; ".join(f"{name} {kib / 1024:,.0f}" for name, kib in res["phase_peaks_kib"]),
    ]
    if res["tasks"]:
        notes.append("- fit tasks (wall s incl. reading the panel, predictions and importance / model fit s / "
                     "`ru_maxrss` after, MiB): "
                     + "; ".join(f"{t['task']} {t['seconds']:.1f} / {t['fit_seconds']:.1f} / "
                                 f"{t['maxrss_kib'] / 1024:,.0f}" for t in res["tasks"]))
    if args.executor == "local":
        notes.append(f"- executor 'local': the fits ran in a process pool; its largest process peaked at "
                     f"{res['children_peak_kib'] / gib:.2f} GiB (the study process's RUSAGE_CHILDREN); the machine-"
                     "wide footprint is about the parent plus n_jobs such processes")
    r2 = ", ".join(f"{m} {v:.2f} %" for m, v in res["total_r2_stock"].items())
    notes += [
        f"- pooled out-of-sample total R² (stocks, K = {args.k}; a sanity check, not a tuned result): {r2}",
        f"- panel parquet on disk: {res['parquet_mib']:,.0f} MiB" if res["parquet_mib"] else "- panel parquet: n/a",
        f"- target (peak RSS < {TARGET_GIB:g} GiB): **{'met' if met else 'NOT met'}**",
    ]
    return table, notes




def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    load_start = load_average()
    first, last = first_test_year(args.periods, args.windows, args.refit_every)
    choices = (f"simulated panel N = {args.assets:,} assets × T = {args.periods} months ({START_YEAR}–{last}) × "
               f"L = {args.chars} characteristics (+ a constant), nonlinear betas, K = {args.k}, seed {args.seed}; "
               f"models IPCA + CA1 (one seed, {args.epochs} epochs, lr {CA_SETTINGS['lr']}, batch "
               f"{CA_SETTINGS['batch_size']}, patience {CA_SETTINGS['patience']}, dropout {CA_SETTINGS['dropout']}); "
               f"{args.windows} expanding windows, refit every {args.refit_every} years, first test year {first}, "
               f"{VAL_YEARS} validation years; executor '{args.executor}'"
               + (f" (n_jobs {args.n_jobs})" if args.n_jobs else "") + f"; torch/BLAS threads {args.threads}")
    print(choices, flush=True)
    res = measure(args)
    table, notes = build_report(res, args)
    print()
    print(table)
    print()
    print("\n".join(notes))
    write = not args.no_write and (not args.quick or args.write)
    if write:
        info = machine_info(("torch", "numpy", "pandas", "pyarrow"), torch_threads=res["torch_threads"],
                            load_avg=load_start)
        argv_shown = sys.argv[1:] if argv is None else argv
        cmd = "python benchmarks/bench_pricing_scale.py" + ("" if not argv_shown else " " + shlex.join(argv_shown))
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = "\n".join([
            f"## Pricing study at scale: peak memory and wall time — {stamp}",
            "",
            machine_markdown(info),
            "",
            f"Command: `{cmd}`",
            "",
            "The whole `latentquant.experiments.asset_pricing.run(config, resume=True)` in a fresh process: "
            f"{choices}. "
            "Simulation, panel parquet round trip, one task per (window, model) with results persisted as JSON, "
            "pooling, R², pricing errors, characteristic importance (last window) and the HTML report. The epoch "
            "budget and the refit interval are cut to keep the run short; the data size is the full one, which is "
            "what the memory target is about.",
            "",
            table,
            "",
            *notes,
            "",
        ])
        append_results(section, args.results)
        print(f"\nappended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
