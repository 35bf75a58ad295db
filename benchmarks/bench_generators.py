"""Neural generators benchmark: training time per epoch and sampling throughput on the SPX generation set, and the
flows against the same networks built with the ``zuko`` normalizing-flow library.

Data: ``latentquant.datasets.load_spx_generation()`` (daily log return and log Garman–Klass variance, 2000–2018),
windows of 20 days × 2 features, time-ordered 80/20 split (``latentquant.data.window_split``, no shared row, raw
units: every model standardises with its training rows itself).

* **Flows vs zuko** — ours ``RealNVP(mask="feature", n_layers=8, hidden_dims=(64, 64))`` and ``MAF(n_layers=5,
  hidden_dims=(64, 64))``; peer ``zuko.flows.RealNVP(40, transforms=8, hidden_features=(64, 64))`` (masks
  alternating over the flattened values = over the 2 features, affine coupling, a ReLU MLP outputting a shift and a
  log-scale per transformed value: the same network) and ``zuko.flows.MAF(40, transforms=5, hidden_features=(64,
  64))`` (MADE blocks with alternating orders). Only the log-scale's soft clamp differs (ours ``b tanh(s/b)`` with a
  learned ``b``, zuko's ``s / (1 + |s / ln 1e-3|)``). The peer is trained by a bare loop (``randperm``, Adam, same
  lr, batch, epochs, seed; no gradient clipping, where our Trainer clips at norm 10) on the windows standardised
  with the same training mean/std (ddof 1). Both are scored on the held-out windows in the data's units (the
  standardisation Jacobian subtracted from zuko's log-density). Target: held-out mean log-likelihood within 1 %.
* **Every registered TorchGenerator** (``latentquant.models.generative.available()``, built by name with
  ``create(name, epochs=E)`` — TimeVAE / DDPM when present; NICE, RealNVP, MAF from
  ``latentquant.models.generative.flows`` if not yet registered): seconds per epoch (whole ``fit`` / epochs, and the
  training loop alone, ``history_.seconds`` / epochs) and windows per second of ``sample(n, seed=0)`` (float64 in
  the data's units, best of 3 after a warm-up). Target ≥ 100,000 windows/s per model on 2 cores; a diffusion model
  reports its sampler steps and the time per step instead.

Usage::

    python benchmarks/bench_generators.py            # full run: 20 epochs, 100,000 samples, appends RESULTS.md
    python benchmarks/bench_generators.py --quick    # 2 epochs, 10,000 samples; no RESULTS.md unless --write

The benchmark asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import append_results, load_average, machine_info, machine_markdown

from latentquant.data import window_split
from latentquant.datasets import load_spx_generation
from latentquant.models import generative
from latentquant.models.generative._torch import TorchGenerator
from latentquant.models.generative.flows import MAF, NICE, RealNVP

LENGTH = 20
FLOWS = {"nice": NICE, "realnvp": RealNVP, "maf": MAF}
PEERS = {"realnvp": {"n_layers": 8, "mask": "feature"}, "maf": {"n_layers": 5}}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 2 epochs, 10,000 samples, no RESULTS.md")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 20, quick 2)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--samples", type=int, default=None, help="windows per sampling call (default 100,000)")
    p.add_argument("--diffusion-samples", type=int, default=1_000, help="windows per call for diffusion models")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="append RESULTS.md also in --quick mode")
    p.add_argument("--no-write", action="store_true", help="do not append RESULTS.md")
    args = p.parse_args(argv)
    args.epochs = args.epochs or (2 if args.quick else 20)
    args.samples = args.samples or (10_000 if args.quick else 100_000)
    args.threads = args.threads or torch.get_num_threads()
    return args


def best_of(fn: Any, repeats: int = 3) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# ------------------------------------------------------------------------------------------------ zuko peer
def fit_peer(name: str, train: np.ndarray, args: argparse.Namespace) -> tuple[Any, float, np.ndarray, np.ndarray]:
    """The zuko flow of ``name`` trained by a bare loop on the standardised flattened windows."""
    import zuko

    rows = np.concatenate([train[0], train[1:, -1]])  # stride-1 windows: the rows they were cut from
    mean, scale = rows.mean(axis=0), rows.std(axis=0, ddof=1)
    x = torch.from_numpy(((train - mean) / scale).reshape(len(train), -1).astype(np.float32))
    torch.manual_seed(args.seed)
    dims = x.shape[1]
    if name == "realnvp":
        flow = zuko.flows.RealNVP(dims, transforms=PEERS[name]["n_layers"], hidden_features=(64, 64))
    else:
        flow = zuko.flows.MAF(dims, transforms=PEERS[name]["n_layers"], hidden_features=(64, 64))
    opt = torch.optim.Adam(flow.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        for idx in torch.randperm(len(x), generator=gen).split(args.batch_size):
            loss = -flow().log_prob(x[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return flow.eval(), time.perf_counter() - t0, mean, scale


def peer_log_prob(flow: Any, windows: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(((windows - mean) / scale).reshape(len(windows), -1).astype(np.float32))
    with torch.no_grad():
        lp = flow().log_prob(x).double().numpy()
    return lp - windows.shape[1] * np.log(scale).sum()  # type: ignore[no-any-return]


def peer_sample(flow: Any, n: int, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        z = flow().sample((n,)).double().numpy()
    return z.reshape(n, LENGTH, -1) * scale + mean  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------ measurements
def generators(epochs: int) -> dict[str, TorchGenerator]:
    """Every registered TorchGenerator by name, plus the flows when they are not registered yet."""
    out: dict[str, TorchGenerator] = {}
    for name in generative.available():
        model = generative.create(name, epochs=epochs) if _takes_epochs(name) else None
        if isinstance(model, TorchGenerator):
            out[name] = model
    for name, cls in FLOWS.items():
        out.setdefault(name, cls(epochs=epochs))
    return out


def _takes_epochs(name: str) -> bool:
    try:
        generative.create(name, epochs=1)
    except Exception:
        return False
    return True


def measure(name: str, model: TorchGenerator, train: np.ndarray, test: np.ndarray, args: argparse.Namespace
            ) -> dict[str, Any]:
    model.set_params(batch_size=args.batch_size, seed=args.seed, verbose=False, device="cpu")
    t0 = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - t0
    steps = None
    if hasattr(model, "n_steps"):  # diffusion: steps × time
        steps = int(model.ddim_steps if getattr(model, "sampler", "ddpm") == "ddim" else model.n_steps)
    n = args.diffusion_samples if steps else args.samples
    sample_s = best_of(lambda: model.sample(n, seed=0), repeats=1 if steps else 3)
    row = {"name": name, "cls": type(model).__name__, "epoch_s": fit_s / args.epochs,
           "loop_s": model.history_.seconds / args.epochs, "n": n, "sample_s": sample_s, "steps": steps,
           "windows_per_s": n / sample_s}
    if hasattr(model, "log_prob"):
        row["heldout_ll"] = float(model.log_prob(test).mean())
    return row


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], tuple[int, int]]:
    frame = load_spx_generation()
    split = window_split(frame, LENGTH, test_size=0.2, standardize=False)
    train, test = np.asarray(split.train, dtype=np.float64), np.asarray(split.test, dtype=np.float64)
    print(f"SPX windows: train {train.shape}, test {test.shape}; {args.epochs} epochs, batch {args.batch_size}, "
          f"torch threads {args.threads}", flush=True)

    rows = []
    models = generators(args.epochs)
    for name, model in models.items():
        if name in PEERS:
            model.set_params(**PEERS[name])
        row = measure(name, model, train, test, args)
        rows.append(row)
        print(f"  {name:<10} {row['epoch_s']:.3f} s/epoch (loop {row['loop_s']:.3f}), "
              f"{row['windows_per_s']:,.0f} windows/s" + (f", held-out ll {row['heldout_ll']:.3f}"
                                                          if "heldout_ll" in row else ""), flush=True)

    peers: dict[str, dict[str, Any]] = {}
    for name in PEERS:
        flow, loop_s, mean, scale = fit_peer(name, train, args)
        ll = float(peer_log_prob(flow, test, mean, scale).mean())
        sample_s = best_of(lambda flow=flow, mean=mean, scale=scale: peer_sample(flow, args.samples, mean, scale))
        ours = next(r for r in rows if r["name"] == name)
        peers[name] = {"loop_s": loop_s / args.epochs, "heldout_ll": ll, "windows_per_s": args.samples / sample_s,
                       "rel_diff": abs(ours["heldout_ll"] - ll) / abs(ll)}
        print(f"  zuko {name:<6} {peers[name]['loop_s']:.3f} s/epoch, {peers[name]['windows_per_s']:,.0f} "
              f"windows/s, held-out ll {ll:.3f} (ours {ours['heldout_ll']:.3f}, |Δ| {peers[name]['rel_diff']:.2%})",
              flush=True)
    return rows, peers, (len(train), len(test))


def report(rows: list[dict[str, Any]], peers: dict[str, dict[str, Any]], sizes: tuple[int, int],
           args: argparse.Namespace, info: dict[str, Any]) -> str:
    lines = ["| model | s / epoch (fit) | s / epoch (loop) | windows / s | sampling | held-out log-lik / window |",
             "|---|---:|---:|---:|---|---:|"]
    for r in rows:
        if r["steps"]:
            how = (f"{r['steps']} steps × {r['sample_s'] / r['steps'] * 1e3:.1f} ms ({r['n']:,} windows)")
        else:
            how = f"{r['n']:,} windows, target ≥ 100,000/s: {'met' if r['windows_per_s'] >= 1e5 else 'NOT met'}"
        ll = f"{r['heldout_ll']:.2f}" if "heldout_ll" in r else "—"
        lines.append(f"| {r['name']} (`{r['cls']}`) | {r['epoch_s']:.3f} | {r['loop_s']:.3f} | "
                     f"{r['windows_per_s']:,.0f} | {how} | {ll} |")
    lines += ["", "| flow vs zuko | ours s/epoch (loop) | zuko s/epoch | ours / zuko | ours windows/s | "
              "zuko windows/s | ours / zuko | ours ll | zuko ll | rel. diff (target ≤ 1 %) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, p in peers.items():
        r = next(r for r in rows if r["name"] == name)
        lines.append(f"| {name} | {r['loop_s']:.3f} | {p['loop_s']:.3f} | {r['loop_s'] / p['loop_s']:.2f}× | "
                     f"{r['windows_per_s']:,.0f} | {p['windows_per_s']:,.0f} | "
                     f"{r['windows_per_s'] / p['windows_per_s']:.2f}× | {r['heldout_ll']:.2f} | "
                     f"{p['heldout_ll']:.2f} | {p['rel_diff']:.2%} ({'met' if p['rel_diff'] <= 0.01 else 'NOT met'}) |")
    import zuko

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python benchmarks/bench_generators.py " + shlex.join(sys.argv[1:])
    return "\n".join([
        f"## Generators: training time, sampling throughput, flows vs zuko {zuko.__version__} — {stamp}", "",
        machine_markdown(info), "", f"Command: `{cmd.strip()}`", "",
        f"Data: `load_spx_generation()`, windows of {LENGTH} days × 2 features, time-ordered 80/20 split: "
        f"{sizes[0]:,} training / {sizes[1]:,} test windows (raw units). {args.epochs} epochs, batch "
        f"{args.batch_size}, Adam lr {args.lr}, seed {args.seed}, torch threads {args.threads}. s / epoch (fit): whole "
        "`fit` / epochs; (loop): the training loop alone. Sampling: `sample(n, seed=0)` → float64 windows in the "
        "data's units, best of 3 after a warm-up (diffusion: one call). Held-out log-likelihood: mean log-density "
        "of the test windows in the data's units (nats per window). Peers: the same flows built with zuko, trained "
        "by a bare loop with the same data, standardisation, epochs, batch, lr and seed.", "",
        *lines, ""])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    load = load_average()
    rows, peers, sizes = run(args)
    info = machine_info(("torch", "numpy", "zuko"), torch_threads=args.threads, load_avg=load)
    section = report(rows, peers, sizes, args, info)
    print(section)
    if not args.no_write and (not args.quick or args.write):
        append_results(section)
        print("appended to benchmarks/RESULTS.md")
    return 0 if all(math.isfinite(r["windows_per_s"]) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
