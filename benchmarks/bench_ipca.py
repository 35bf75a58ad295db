"""IPCA benchmark: latentquant's ``InstrumentedPCA`` vs the ``ipca`` package's ``InstrumentedPCA``, in one run.

Both fit the *same* simulated balanced panel — a linear IPCA data-generating process ``r_{i,t} = z_{i,t-1}' Γ f_t +
e_{i,t}`` with N = 1,000 assets, T = 240 months, L = 50 characteristics uniform in [−1, 1] and K = 5 factors — with
the restricted model (no intercept) and a tight convergence tolerance, so both reach the same fixed point:

* **ours** — ``Panel(returns, characteristics)`` (a ``(date, asset)`` MultiIndex) and
  ``InstrumentedPCA(n_factors=5, intercept=False, max_iter=5000, tol=1e-8).fit(panel)``;
* **peer** — ``ipca.InstrumentedPCA(n_factors=5, intercept=False, max_iter=5000, iter_tol=1e-8).fit(X, y,
  quiet=True)`` (its default ``data_type='portfolio'`` ALS, numba-compiled helpers) on the same characteristics and
  returns with the index levels swapped to the ``(entity, time)`` order it expects.

Measured:

1. agreement: the uncentred total R² 1 − Σ(r − β̂'f̂)² / Σr² of each fit (ours: ``InstrumentedPCA.score``; the
   peer: its own in-sample ``predict()``, since its ``score`` is scikit-learn's *centred* R²) — target |ΔR²| < 1e-6 —
   and the largest principal angle between the two Γ column spaces (``scipy.linalg.subspace_angles``) — target
   < 1e-4 rad; iterations of each;
2. fit wall time, median (min–max) of interleaved repeats after warm-up fits of both (the first peer fit compiles its
   numba helpers): ours end-to-end (``Panel(...)`` + ``fit``) and ``fit`` alone; the peer's ``fit`` (input
   preparation, the managed-portfolio moments and the ALS) and, for information, its ALS alone. Target: ours
   end-to-end ≥ 10× faster.

Usage::

    python benchmarks/bench_ipca.py              # full run (N = 1,000, T = 240, L = 50, K = 5), appends RESULTS.md
    python benchmarks/bench_ipca.py --quick      # 200 assets × 60 months, L = 10, K = 2; no RESULTS.md unless --write
    python benchmarks/bench_ipca.py --threads 1  # BLAS threads for both (use on a loaded or 2-core machine)

See ``benchmarks/README.md`` for what is compared and the fairness rules. There are no assertions on timings.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shlex
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipca
import numpy as np
import pandas as pd
from scipy.linalg import subspace_angles
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (
    RESULTS_FILE,
    append_results,
    fmt_range,
    load_average,
    machine_info,
    machine_markdown,
    package_version,
    timed,
)

from latentquant.data.panel import Panel
from latentquant.models.pricing.ipca import InstrumentedPCA

FACTOR_MEAN = 0.005  # monthly factor premium
FACTOR_VOL = (0.06, 0.05, 0.04, 0.03, 0.02)  # distinct monthly factor vols (cycled for K > 5), so Γ is identified
NOISE_VOL = 0.10  # monthly idiosyncratic vol
R2_TARGET, ANGLE_TARGET, SPEED_TARGET = 1e-6, 1e-4, 10.0
NOISY_SPREAD = 1.25  # slowest / fastest repeat above this: flag the timings as disturbed
PEER_LABEL = f"ipca {package_version('ipca')} InstrumentedPCA"
OURS_LABEL = "latentquant InstrumentedPCA"


# ------------------------------------------------------------------------------------------------------------ data
@dataclass
class Data:
    returns: pd.Series  # (date, asset), ours
    characteristics: pd.DataFrame  # (date, asset), ours
    peer_X: pd.DataFrame  # (asset, date), the peer's order
    peer_y: pd.Series
    oracle_r2: float  # uncentred total R² of the true β'f (the ceiling)


def make_data(n_assets: int, n_months: int, n_chars: int, n_factors: int, seed: int) -> Data:
    """Balanced panel from the linear IPCA DGP ``r = z' Γ f + e``.

    ``z_{i,t-1}`` i.i.d. uniform in [−1, 1] (row ``(t, i)`` already holds the lagged characteristics, as a panel after
    ``lag(1)``); Γ a random L×K matrix with orthonormal columns; ``f_t ~ N(FACTOR_MEAN, diag(FACTOR_VOL²))``;
    ``e ~ N(0, NOISE_VOL²)``; float64.
    """
    rng = np.random.default_rng(seed)
    gamma, _ = np.linalg.qr(rng.standard_normal((n_chars, n_factors)))
    vols = np.resize(np.asarray(FACTOR_VOL), n_factors)
    f = FACTOR_MEAN + rng.standard_normal((n_months, n_factors)) * vols
    z = rng.uniform(-1.0, 1.0, (n_months, n_assets, n_chars))
    signal = np.einsum("tnl,lk,tk->tn", z, gamma, f)
    r = signal + NOISE_VOL * rng.standard_normal((n_months, n_assets))
    dates = pd.date_range("2000-01-31", periods=n_months, freq="ME", name="date")
    assets = pd.RangeIndex(n_assets, name="asset")
    index = pd.MultiIndex.from_product([dates, assets])
    chars = pd.DataFrame(z.reshape(-1, n_chars), index=index, columns=[f"c{j + 1:02d}" for j in range(n_chars)])
    returns = pd.Series(r.reshape(-1), index=index, name="ret")
    peer_index = index.swaplevel(0, 1)  # (entity, time) as ipca expects; same rows, same order
    peer_X = chars.set_axis(peer_index, axis=0)
    peer_y = returns.set_axis(peer_index, axis=0)
    oracle = float(1.0 - ((r - signal) ** 2).sum() / (r**2).sum())
    return Data(returns, chars, peer_X, peer_y, oracle)


# ------------------------------------------------------------------------------------------------------ the peer
class CountingPeer(ipca.InstrumentedPCA):
    """The peer unchanged, plus an ALS step counter and the time spent in its ALS loop (two Python calls of overhead
    per fit and one per iteration, negligible)."""

    def _fit_ipca(self, *args: Any, **kwargs: Any) -> Any:
        self.n_iter_ = 0
        t0 = time.perf_counter()
        out = super()._fit_ipca(*args, **kwargs)
        self.als_seconds_ = time.perf_counter() - t0
        return out

    def _ALS_fit_portfolio(self, *args: Any, **kwargs: Any) -> Any:
        self.n_iter_ += 1
        return super()._ALS_fit_portfolio(*args, **kwargs)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null: the peer prints the panel dimensions and draws a progress bar on
    the stderr object it bound at import, which ``contextlib.redirect_stderr`` would not catch."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def fit_peer(data: Data, k: int, max_iter: int, tol: float) -> CountingPeer:
    model = CountingPeer(n_factors=k, intercept=False, max_iter=max_iter, iter_tol=float(tol))
    with silenced():
        model.fit(X=data.peer_X, y=data.peer_y, quiet=True)
    return model


def peer_total_r2(model: CountingPeer) -> float:
    """Uncentred total R² of the peer's in-sample fit ``z' Γ f_t`` (its own ``predict``) on its training data."""
    y = np.asarray(model.y, dtype=np.float64)
    yhat = model.predict()
    return float(1.0 - ((y - yhat) ** 2).sum() / (y**2).sum())


# ------------------------------------------------------------------------------------------------------- ours
def fit_ours(data: Data, k: int, max_iter: int, tol: float) -> tuple[InstrumentedPCA, Panel, float]:
    """``Panel(...)`` + ``fit``; returns the model, the panel and the seconds of ``fit`` alone."""
    panel = Panel(data.returns, data.characteristics)
    model = InstrumentedPCA(n_factors=k, intercept=False, max_iter=max_iter, tol=tol)
    t0 = time.perf_counter()
    model.fit(panel)
    return model, panel, time.perf_counter() - t0


# --------------------------------------------------------------------------------------------------------- timing






# ----------------------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 200 assets × 60 months, L = 10, K = 2, 2 repeats; RESULTS.md only with --write")
    p.add_argument("--assets", type=int, help="number of assets N (default 1,000; --quick 200)")
    p.add_argument("--months", type=int, help="number of months T (default 240; --quick 60)")
    p.add_argument("--chars", type=int, help="number of characteristics L (default 50; --quick 10)")
    p.add_argument("--factors", type=int, help="number of factors K (default 5; --quick 2)")
    p.add_argument("--repeats", type=int, help="timed fits per method, median reported (default 5; --quick 2)")
    p.add_argument("--max-iter", type=int, default=5000, help="ALS iteration cap for both (default 5,000)")
    p.add_argument("--tol", type=float, default=1e-8, help="ALS tolerance: ours tol, the peer's iter_tol (1e-8)")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads for both methods (default: the CPUs available to this process)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated panel")
    p.add_argument("--write", action="store_true", help="append to RESULTS.md even with --quick")
    p.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--results", type=Path, default=RESULTS_FILE, help="results file (default benchmarks/RESULTS.md)")
    args = p.parse_args(argv)
    args.assets = args.assets or (200 if args.quick else 1_000)
    args.months = args.months or (60 if args.quick else 240)
    args.chars = args.chars or (10 if args.quick else 50)
    args.factors = args.factors or (2 if args.quick else 5)
    args.repeats = args.repeats or (2 if args.quick else 5)
    for name in ("assets", "months", "chars", "factors", "repeats", "max_iter"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.factors > args.chars or args.assets <= args.chars or args.months <= args.factors:
        p.error("need K <= L < N and T > K")
    if not 0 < args.tol < 1:
        p.error("--tol must be in (0, 1)")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    args.threads = args.threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                    else os.cpu_count() or 1)
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    k, it, tol = args.factors, args.max_iter, args.tol
    data = make_data(args.assets, args.months, args.chars, k, args.seed)
    print(f"{args.assets:,} assets × {args.months} months, L = {args.chars}, K = {k} ({len(data.returns):,} rows, "
          f"oracle total R² {data.oracle_r2:.4f}); tol {tol:g}, max_iter {it}; BLAS threads {args.threads}",
          flush=True)

    # warm-up, untimed: the peer's first fit compiles its numba helpers; both get a small fit first
    warm = make_data(min(args.assets, 100), min(args.months, 24), args.chars, k, args.seed + 1)
    seconds, _ = timed(lambda: fit_peer(warm, k, it, tol))
    print(f"  warm-up: peer first fit incl. numba compilation {seconds:.2f} s", flush=True)
    fit_ours(warm, k, it, tol)

    t_ours: list[float] = []
    t_ours_fit: list[float] = []
    t_peer: list[float] = []
    t_peer_als: list[float] = []
    ours: InstrumentedPCA | None = None
    panel: Panel | None = None
    peer: CountingPeer | None = None
    for r in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        seconds, (ours, panel, fit_only) = timed(lambda: fit_ours(data, k, it, tol))
        t_ours.append(seconds)
        t_ours_fit.append(fit_only)
        seconds, peer = timed(lambda: fit_peer(data, k, it, tol))
        t_peer.append(seconds)
        t_peer_als.append(peer.als_seconds_)
        print(f"  repeat {r + 1}/{args.repeats}  ours {t_ours[-1]:8.3f} s (fit {fit_only:.3f} s, {ours.n_iter_} it)"
              f"   peer {t_peer[-1]:8.3f} s (ALS {peer.als_seconds_:.3f} s, {peer.n_iter_} it)", flush=True)
    assert ours is not None and panel is not None and peer is not None

    r2_ours = ours.score(panel)
    r2_peer = peer_total_r2(peer)
    gamma_peer = np.asarray(peer.Gamma, dtype=np.float64)
    angle = float(np.max(subspace_angles(ours.gamma_.to_numpy(), gamma_peer)))
    # after both normalisations (Γ'Γ = I, ordered by factor variance, mean(f) ≥ 0) the matrices themselves agree too
    gamma_diff = float(np.abs(ours.gamma_.to_numpy() - gamma_peer).max())
    return {
        "data": data, "t_ours": t_ours, "t_ours_fit": t_ours_fit, "t_peer": t_peer, "t_peer_als": t_peer_als,
        "r2_ours": r2_ours, "r2_peer": r2_peer, "angle": angle, "gamma_diff": gamma_diff,
        "iter_ours": ours.n_iter_, "converged_ours": bool(ours.converged_), "iter_peer": peer.n_iter_,
        "converged_peer": peer.n_iter_ <= it,
    }


def build_report(res: dict[str, Any], args: argparse.Namespace) -> tuple[str, list[str], bool]:
    med = {name: statistics.median(res[name]) for name in ("t_ours", "t_ours_fit", "t_peer", "t_peer_als")}
    speed = med["t_peer"] / med["t_ours"]
    speed_fit = med["t_peer"] / med["t_ours_fit"]
    d_r2 = abs(res["r2_ours"] - res["r2_peer"])
    conv = {True: "yes", False: "**no**"}
    lines = [
        f"| method | fit wall s, median (min–max) of {args.repeats} | iterations | converged | uncentred total R² |",
        "|---|---:|---:|---:|---:|",
        f"| {OURS_LABEL}: `Panel(...)` + `fit` | {fmt_range(res['t_ours'])} | {res['iter_ours']} "
        f"| {conv[res['converged_ours']]} | {res['r2_ours']:.10f} |",
        f"| {OURS_LABEL}: `fit` alone | {fmt_range(res['t_ours_fit'])} | — | — | — |",
        f"| {PEER_LABEL}: `fit` | {fmt_range(res['t_peer'])} | {res['iter_peer']} "
        f"| {conv[res['converged_peer']]} | {res['r2_peer']:.10f} |",
        f"| {PEER_LABEL}: its ALS loop alone (information) | {fmt_range(res['t_peer_als'])} | — | — | — |",
        f"| true β'f (oracle, reference) | — | — | — | {res['data'].oracle_r2:.10f} |",
    ]
    table = "\n".join(lines)
    ok_r2 = d_r2 < R2_TARGET
    ok_angle = res["angle"] < ANGLE_TARGET
    ok_speed = speed >= SPEED_TARGET
    mark = {True: "met", False: "**NOT met**"}
    notes = [
        f"- speed, peer / ours end-to-end: **{speed:.1f}×** ({med['t_peer']:.3f} s vs {med['t_ours']:.3f} s; "
        f"target ≥ {SPEED_TARGET:.0f}×: {mark[ok_speed]}); peer / ours `fit` alone: {speed_fit:.1f}×; the peer's "
        f"ALS alone / ours end-to-end: {med['t_peer_als'] / med['t_ours']:.1f}×",
        f"- |ΔR²| ours − peer: **{d_r2:.2e}** (target < {R2_TARGET:.0e}: {mark[ok_r2]})",
        f"- largest principal angle between the Γ column spaces: **{res['angle']:.2e} rad** (target < "
        f"{ANGLE_TARGET:.0e}: {mark[ok_angle]}); max |Γ_ours − Γ_peer| after both normalisations "
        f"{res['gamma_diff']:.2e}",
        f"- iterations: ours {res['iter_ours']}, peer {res['iter_peer']} (tol {args.tol:g} for both; ours measures "
        "the change of the unnormalised Γ and factors, the peer of its per-iteration normalised ones)",
    ]
    noisy = {label: max(v) / min(v) for label, v in ((OURS_LABEL, res["t_ours"]), (PEER_LABEL, res["t_peer"]))
             if len(v) > 1 and max(v) / min(v) > NOISY_SPREAD}
    if noisy:
        worst = ", ".join(f"{label} {v:.1f}×" for label, v in noisy.items())
        notes.append(f"- ⚠ unstable fit timings (slowest/fastest repeat: {worst}); another process was probably "
                     "competing for the cores — rerun on a quiet machine"
                     + (" or with --threads 1" if args.threads > 1 else ""))
    return table, notes, ok_r2 and ok_angle and ok_speed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_at_start = load_average()
    with threadpool_limits(limits=args.threads, user_api="blas"):
        res = run(args)
    table, notes, all_met = build_report(res, args)
    print()
    print(table)
    print()
    print("\n".join(notes))
    print(f"\nall targets met: {'yes' if all_met else 'NO'}")

    write = (args.write or not args.quick) and not args.no_write
    if write:
        info = machine_info(("numpy", "pandas", "scipy", "ipca", "numba"), torch_threads=args.threads,
                            load_avg=load_at_start)
        machine = machine_markdown(info).replace("- torch threads:", "- BLAS threads (both methods):")
        cmd = " ".join(["python", "benchmarks/bench_ipca.py", *map(shlex.quote, sys.argv[1:])]) \
            if argv is None else "main(" + repr(argv) + ")"
        stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        vols = ", ".join(f"{v:g}" for v in np.resize(np.asarray(FACTOR_VOL), args.factors))
        section = "\n".join([
            f"## IPCA: InstrumentedPCA vs the ipca package — {stamp}",
            "",
            machine,
            "",
            f"Command: `{cmd}`",
            "",
            f"Simulated balanced panel from the linear IPCA DGP r = z'Γf + e: N = {args.assets:,} assets × T = "
            f"{args.months} months, L = {args.chars} characteristics i.i.d. uniform in [−1, 1], K = {args.factors} "
            f"factors (Γ with orthonormal columns, f ~ N({FACTOR_MEAN}, diag({vols})²), e ~ N(0, {NOISE_VOL}²), "
            f"float64, seed {args.seed}). Ours: `Panel(returns, characteristics)` + `InstrumentedPCA(n_factors="
            f"{args.factors}, intercept=False, max_iter={args.max_iter}, tol={args.tol:g}).fit(panel)`. Peer: "
            f"`ipca.InstrumentedPCA(n_factors={args.factors}, intercept=False, max_iter={args.max_iter}, "
            f"iter_tol={args.tol:g}).fit(X, y, quiet=True)` (default `data_type='portfolio'`) on the same data with "
            "the index levels swapped to (asset, date); its console output is sent to /dev/null. R²: uncentred "
            "total R² of each in-sample fit (ours `score`, the peer's own `predict()`). Wall: median (min–max) of "
            "interleaved repeats after an untimed warm-up fit of each (the peer's first fit compiles its numba "
            f"helpers). BLAS threads: {args.threads} for both.",
            "",
            table,
            "",
            *notes,
            f"- all targets met: **{'yes' if all_met else 'NO'}**",
            "",
        ])
        append_results(section, args.results)
        print(f"\nappended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
