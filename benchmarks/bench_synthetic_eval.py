"""50-draw discriminative + predictive evaluation: one batched model vs 50 sequential plain-PyTorch runs.

The evaluation of one generator on the SPX generation set (issue #13, §6): for each of ``--draws`` synthetic draws,
the discriminative score (GRU classifier, real vs synthetic) and the predictive score (GRU regressor trained on the
draw, TSTR, and on real windows, TRTR, both tested on real windows). Two ways of running it, in one process:

* **sequential** — a plain PyTorch loop: ``nn.GRU`` + ``nn.Linear``, Adam, ``torch.randperm`` batches, one network
  after the other (``--draws`` classifiers, ``--draws`` TSTR regressors and one TRTR regressor, which is the same for
  every draw), each network starting from the same initial weights and drawing the same batches as the library's;
* **batched** — ``latentquant.evaluation.synthetic.discriminative_scores`` and ``predictive_scores``: the same
  networks (1-layer GRU, 24 hidden units, same split, scaling, loss, optimiser, epochs and batch size) trained as one
  module of stacked weights.

Data: ``latentquant.datasets.load_spx_generation()`` (S&P 500 daily log return and log Garman–Klass variance,
2000-01 … 2018-12), windows of 24 days
(stride 1). Split of both sets: the first 80% of the windows train, the last 20% test, 23 windows dropped between;
features standardised with the real training windows' mean and std. Synthetic draws: the standardised real windows
plus 0.1·N(0, 1) noise, a fresh noise draw per synthetic draw (a "good" generator: the scores should show a small
but non-zero difference).

Usage::

    python benchmarks/bench_synthetic_eval.py            # full run: 50 draws, 20 epochs, 1 thread, appends RESULTS.md
    python benchmarks/bench_synthetic_eval.py --quick    # 4 draws, 1 epoch, no RESULTS.md unless --write
    python benchmarks/bench_synthetic_eval.py --draws 10 --epochs 5 --threads 1 --no-write

Target (issue #13): the batched evaluation ≥ 10× faster than the sequential one, at equal scores (the difference of
the means within the draw-to-draw standard deviation).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import RESULTS_FILE, append_results, load_average, machine_info, machine_markdown

from latentquant._threads import THREADS_ENV, limit_threads
from latentquant.data import sliding_windows
from latentquant.data.splits import tail_split
from latentquant.evaluation.synthetic import discriminative_scores, predictive_scores
from latentquant.evaluation.synthetic._recurrent import StackedLinear, StackedRNN

LENGTH = 24
HIDDEN = 24
NOISE = 0.1
TRAIN_FRACTION = 0.8
LR = 1e-3
TARGET_SPEEDUP = 10.0
WHY_NOT = ("- why not 10×: one stacked step does the same arithmetic as the separate steps; batching removes the "
           "per-operation overhead (PyTorch dispatch, autograd bookkeeping, ~30 small kernels per time step and "
           "network), not the work. In the stacked step the batched matrix products alone (9 per time step) take about "
           "a third of the time and the element-wise passes over (k, 64, 24) blocks run at cache speed rather than the "
           "L1 speed of a single network's small blocks. More would need fused element-wise kernels (a compiled GRU "
           "cell) or a GPU.")


# ------------------------------------------------------------------------------------------------------------ data
def spx_frame() -> tuple[pd.DataFrame, str]:
    """Log return and log Garman–Klass variance, 2000–2018, and where they came from."""
    from latentquant.datasets import load_spx_generation

    return load_spx_generation(), "`latentquant.datasets.load_spx_generation()`"


def make_sets(draws: int, seed: int, quick: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """Standardised real windows (n, 24, 2) and ``draws`` noisy copies (draws, n, 24, 2), float32."""
    frame, source = spx_frame()
    if quick:
        frame = frame.iloc[-1000:]
    real = np.asarray(sliding_windows(frame, LENGTH)).astype(np.float32)
    train, _ = tail_split(real.shape[0], 1.0 - TRAIN_FRACTION, gap=LENGTH - 1)
    flat = real[train].reshape(-1, real.shape[2]).astype(np.float64)
    real = ((real - flat.mean(0)) / flat.std(0)).astype(np.float32)  # the library's standardisation is then ~identity
    rng = np.random.default_rng(seed + 1000)
    synthetic = np.stack([real + NOISE * rng.standard_normal(real.shape).astype(np.float32) for _ in range(draws)])
    return real, synthetic, source


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    return tail_split(n, 1.0 - TRAIN_FRACTION, gap=LENGTH - 1)


def scale_like_library(real: np.ndarray, sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The library's standardisation (real training windows' mean and std), applied by the plain loop too."""
    train, _ = split(real.shape[0])
    flat = real[train].reshape(-1, real.shape[2]).astype(np.float64)
    mean, std = flat.mean(0), flat.std(0)
    return ((real - mean) / std).astype(np.float32), ((sets - mean) / std).astype(np.float32)


# ------------------------------------------------------------------------------------------- the plain PyTorch loop
class PlainGRU(nn.Module):
    """``nn.GRU`` (batch first) → final hidden state → ``nn.Linear``, starting from the library's initial weights
    for ``seed`` (the same U(−1/√H, 1/√H) scheme as ``nn.GRU``, drawn in the library's order), so that both methods
    train the very same networks."""

    def __init__(self, n_inputs: int, n_outputs: int, seed: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(n_inputs, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, n_outputs)
        gen = torch.Generator().manual_seed(seed)
        rnn, head = StackedRNN(1, n_inputs, HIDDEN, 1, gen), StackedLinear(1, HIDDEN, n_outputs, gen)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(rnn.w_ih[0][0].T)
            self.rnn.weight_hh_l0.copy_(rnn.w_hh[0][0].T)
            self.rnn.bias_ih_l0.copy_(rnn.b_ih[0][0, 0])
            self.rnn.bias_hh_l0.copy_(rnn.b_hh[0][0, 0])
            self.head.weight.copy_(head.weight[0].T)
            self.head.bias.copy_(head.bias[0, 0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x)
        return self.head(h[-1])


def plain_fit(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None, n_out: int, epochs: int,
              batch_size: int, seed: int) -> PlainGRU:
    """Adam on ``torch.randperm`` batches (the batch order the library's Trainer draws for ``seed``)."""
    net = PlainGRU(x.shape[2], n_out, seed)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            out = net(x[idx])
            if weight is None:
                loss = ((out - y[idx]) ** 2).mean()
            else:
                loss = (nn.functional.binary_cross_entropy_with_logits(out.squeeze(-1), y[idx], reduction="none")
                        * weight[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


@torch.no_grad()
def plain_out(net: PlainGRU, x: torch.Tensor) -> np.ndarray:
    return torch.cat([net(x[s:s + 1024]) for s in range(0, x.shape[0], 1024)]).double().numpy()


def sequential(real: np.ndarray, synthetic: np.ndarray, epochs: int, batch_size: int, seed: int
               ) -> tuple[pd.DataFrame, pd.DataFrame, float, float]:
    real, synthetic = scale_like_library(real, synthetic)
    tr, te = split(real.shape[0])
    s_tr, s_te = split(synthetic.shape[1])
    t0 = time.perf_counter()
    disc = []
    for draw in synthetic:
        x = torch.from_numpy(np.concatenate([real[tr], draw[s_tr]]))
        y = torch.cat([torch.ones(tr.size), torch.zeros(s_tr.size)])
        w = torch.cat([torch.full((tr.size,), x.shape[0] / (2 * tr.size)),
                       torch.full((s_tr.size,), x.shape[0] / (2 * s_tr.size))])
        net = plain_fit(x, y, w, 1, epochs, batch_size, seed)
        lr_, ls_ = plain_out(net, torch.from_numpy(real[te]))[:, 0], plain_out(net, torch.from_numpy(draw[s_te]))[:, 0]
        acc = 0.5 * ((lr_ > 0).mean() + (ls_ <= 0).mean())
        auc = roc_auc_score(np.r_[np.ones(lr_.size), np.zeros(ls_.size)], np.r_[lr_, ls_])
        disc.append({"auc": auc, "accuracy": acc, "score": abs(acc - 0.5)})
    t_disc = time.perf_counter() - t0

    t0 = time.perf_counter()
    x_te, y_te = real[te, :-1], real[te, -1].astype(np.float64)

    def regress(windows: np.ndarray) -> tuple[float, float]:
        net = plain_fit(torch.from_numpy(windows[:, :-1].copy()), torch.from_numpy(windows[:, -1].copy()), None,
                        windows.shape[2], epochs, batch_size, seed)
        err = plain_out(net, torch.from_numpy(x_te.copy())) - y_te
        return float(np.abs(err).mean()), float((err**2).mean())

    trtr_mae, trtr_mse = regress(real[tr])
    pred = []
    for draw in synthetic:
        mae, mse = regress(draw[s_tr])
        pred.append({"tstr_mae": mae, "trtr_mae": trtr_mae, "tstr_mse": mse, "trtr_mse": trtr_mse,
                     "ratio": mae / trtr_mae})
    t_pred = time.perf_counter() - t0
    return pd.DataFrame(disc), pd.DataFrame(pred), t_disc, t_pred


def batched(real: np.ndarray, synthetic: np.ndarray, epochs: int, batch_size: int, seed: int
            ) -> tuple[pd.DataFrame, pd.DataFrame, float, float]:
    options: dict[str, Any] = {"seed": seed, "hidden": HIDDEN, "epochs": epochs, "batch_size": batch_size, "lr": LR}
    t0 = time.perf_counter()
    disc = discriminative_scores(real, synthetic, **options)
    t_disc = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = predictive_scores(real, synthetic, **options)
    t_pred = time.perf_counter() - t0
    return disc.to_frame(), pred.to_frame(), t_disc, t_pred


# ---------------------------------------------------------------------------------------------------------- report
def pm(values: pd.Series) -> str:
    return f"{values.mean():.4f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.4f}"


def speed_of(res: dict[str, Any]) -> float:
    """Sequential / batched wall time of the whole evaluation."""
    return float((res["seq"][2] + res["seq"][3]) / (res["bat"][2] + res["bat"][3]))


def build_report(res: dict[str, Any], args: argparse.Namespace) -> tuple[str, list[str], bool]:
    seq_total = res["seq"][2] + res["seq"][3]
    bat_total = res["bat"][2] + res["bat"][3]
    speed = speed_of(res)
    lines = ["| | sequential plain PyTorch | batched (latentquant) | ratio |", "|---|---:|---:|---:|",
             f"| discriminative, {args.draws} classifiers (s) | {res['seq'][2]:.1f} | {res['bat'][2]:.1f} | "
             f"{res['seq'][2] / res['bat'][2]:.1f}× |",
             f"| predictive, {args.draws} TSTR + 1 TRTR regressors (s) | {res['seq'][3]:.1f} | {res['bat'][3]:.1f} | "
             f"{res['seq'][3] / res['bat'][3]:.1f}× |",
             f"| **whole evaluation (s)** | **{seq_total:.1f}** | **{bat_total:.1f}** | **{speed:.1f}×** |"]
    agree = True
    for frame_i, metrics in ((0, ("auc", "accuracy", "score")), (1, ("tstr_mae", "tstr_mse", "trtr_mae", "ratio"))):
        for m in metrics:
            s, b = res["seq"][frame_i][m], res["bat"][frame_i][m]
            lines.append(f"| {m} (mean ± std over draws) | {pm(s)} | {pm(b)} | |")
            if m.startswith("trtr"):
                continue  # one network in each: no draw-to-draw spread to compare with
            spread = max(s.std(ddof=1), b.std(ddof=1)) if len(s) > 1 else 0.0
            agree &= bool(abs(s.mean() - b.mean()) <= spread)
    mark = {True: "met", False: "**NOT met**"}
    diff_auc = float((res["seq"][0]["auc"] - res["bat"][0]["auc"]).abs().max())
    diff_mae = float((res["seq"][1]["tstr_mae"] - res["bat"][1]["tstr_mae"]).abs().max())
    notes = [f"- speed-up of the whole evaluation: **{speed:.1f}×** (target ≥ {TARGET_SPEEDUP:.0f}×: "
             f"{mark[speed >= TARGET_SPEEDUP]})",
             f"- equal scores (|difference of the means| ≤ the larger draw-to-draw std, TSTR/discriminative metrics): "
             f"{mark[agree]}; largest per-draw difference between the methods: AUC {diff_auc:.1e}, TSTR MAE "
             f"{diff_mae:.1e} (the same networks, initial weights and batches; only floating-point rounding differs)"]
    return "\n".join(lines), notes, speed >= TARGET_SPEEDUP and agree


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: last 1,000 days, 4 draws, 1 epoch, no file")
    p.add_argument("--draws", type=int, help="synthetic draws (default 50; --quick 4)")
    p.add_argument("--epochs", type=int, help="epochs of every network (default 20, the library's; --quick 1)")
    p.add_argument("--batch-size", type=int, default=64, help="windows per step (default 64, the library's)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for both (default 1, the library's default per fit; 2 on a quiet machine)")
    p.add_argument("--seed", type=int, default=0, help="seed of the networks and the noise")
    p.add_argument("--skip-sequential", action="store_true", help="time the batched evaluation only (no file)")
    p.add_argument("--write", action="store_true", help="append to RESULTS.md even with --quick")
    p.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--results", type=Path, default=RESULTS_FILE, help="results file (default benchmarks/RESULTS.md)")
    args = p.parse_args(argv)
    args.draws = args.draws or (4 if args.quick else 50)
    args.epochs = args.epochs or (1 if args.quick else 20)
    for name in ("draws", "epochs", "batch_size", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_at_start = load_average()
    os.environ[THREADS_ENV] = str(args.threads)  # the library's fits run with this many threads
    real, synthetic, source = make_sets(args.draws, args.seed, args.quick)
    print(f"real windows {real.shape}, synthetic draws {synthetic.shape}; {args.epochs} epochs, batch "
          f"{args.batch_size}, {args.threads} thread(s)", flush=True)
    res: dict[str, Any] = {}
    with limit_threads(args.threads):
        # untimed warm-up of both (first calls pay for lazy initialisation in torch and the BLAS)
        batched(real[:300], synthetic[:2, :300], 1, args.batch_size, args.seed)
        sequential(real[:300], synthetic[:1, :300], 1, args.batch_size, args.seed)
        res["bat"] = batched(real, synthetic, args.epochs, args.batch_size, args.seed)
        print(f"batched: discriminative {res['bat'][2]:.1f} s, predictive {res['bat'][3]:.1f} s", flush=True)
        if args.skip_sequential:
            return 0
        res["seq"] = sequential(real, synthetic, args.epochs, args.batch_size, args.seed)
        print(f"sequential: discriminative {res['seq'][2]:.1f} s, predictive {res['seq'][3]:.1f} s", flush=True)
    table, notes, all_met = build_report(res, args)
    print()
    print(table)
    print()
    print("\n".join(notes))

    write = (args.write or not args.quick) and not args.no_write
    if write:
        info = machine_info(("torch", "numpy"), torch_threads=args.threads, load_avg=load_at_start)
        cmd = " ".join(["python", "benchmarks/bench_synthetic_eval.py", *map(shlex.quote, sys.argv[1:])]) \
            if argv is None else "main(" + repr(argv) + ")"
        stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        section = "\n".join([
            f"## Synthetic-data evaluation: {args.draws} draws, batched vs sequential — {stamp}",
            "",
            machine_markdown(info),
            "",
            f"Command: `{cmd}`",
            "",
            f"Data: {source}, windows of {LENGTH} days (stride 1): real {real.shape}, synthetic {synthetic.shape} "
            f"(standardised real windows + {NOISE}·N(0, 1), one noise draw per synthetic draw). Both methods: "
            f"1-layer GRU with {HIDDEN} hidden units, Adam lr {LR:g}, {args.epochs} epochs, batches of "
            f"{args.batch_size}, time-blocked 80/20 split with a gap of {LENGTH - 1} windows, standardisation on the "
            "real training windows; classifier: class-weighted BCE on the final state; regressor: MSE, the last step "
            "from the first 23. Sequential: `nn.GRU` + `nn.Linear` and a `torch.randperm` loop, one network after "
            "the other (the TRTR regressor once); batched: `discriminative_scores` + `predictive_scores` (all "
            "networks of a score as one stacked module, through the library's Trainer). One run each; "
            f"{args.threads} torch thread(s) for both.",
            "",
            table,
            "",
            *notes,
            f"- all targets met: **{'yes' if all_met else 'NO'}**",
            *([WHY_NOT] if speed_of(res) < TARGET_SPEEDUP else []),
            "",
        ])
        append_results(section, args.results)
        print(f"\nappended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
