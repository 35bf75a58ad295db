"""Training throughput benchmark: latentquant's ``AETrainer`` vs pythae's ``BaseTrainer`` vs a plain DataLoader loop.

All three train the *same* VAE on the *same* data with the *same* optimiser and objective, in one process:

* architecture: encoder MLP 100→80→50→30 (ReLU), heads μ and log σ² to 20; decoder 20→30→50→80→100 (ReLU hidden
  layers, linear output); every trainer starts from identical initial weights (one seed per repeat);
* objective: Σ_j (x_j − x̂_j)² + KL(q(z|x) ‖ N(0, I)), averaged over the batch, one reparameterised sample per row;
* optimiser: Adam, lr 1e-3, no weight decay, no scheduler, no gradient clipping; batch 256, shuffled every epoch;
* no validation, no early stopping, no checkpoints; CPU only, ``torch.set_num_threads`` fixed for the whole run.

Measured: wall time of each fit (median over repeats), samples/s (= rows × epochs / wall), the trainer's own
last-epoch loss, and a *common* final loss: every trained model re-evaluated on all rows with the same function, in
eval mode, with one fixed set of ε draws, so the three numbers are directly comparable.

Usage::

    python benchmarks/bench_training.py            # full run (20,000 rows, 20 epochs, 3 repeats), appends RESULTS.md
    python benchmarks/bench_training.py --quick    # 2,000 rows, 2 epochs, 1 repeat, no RESULTS.md unless --write

See ``benchmarks/README.md`` for the fairness rules and how pythae is installed.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import functools
import logging
import os
import shlex
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# pythae always attaches a tqdm progress bar to its training loop; silence it (like our verbose=False) so that
# neither trainer pays for terminal output. tqdm reads TQDM_* variables when it is first imported.
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import RESULTS_FILE, append_results, load_average, machine_info, machine_markdown, package_version

from latentquant.models.autoencoder import VAE, AETrainer, kl_divergence

INPUT_DIM = 100
LATENT_DIM = 20
HIDDEN = (80, 50, 30)
N_FACTORS = 5
LR = 1e-3
TARGET_SPEEDUP = 3.0  # ours / pythae throughput
TARGET_LOSS_TOL = 0.05  # |ours − pythae| / pythae on the common final loss
NOISY_SPREAD = 1.25  # slowest / fastest repeat above this: flag the run as disturbed

# ---------------------------------------------------------------------------------------------------- pythae import
PYTHAE_ERROR: str | None = None
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pythae
        from pythae.data.datasets import BaseDataset
        from pythae.models import VAE as PythaeVAE
        from pythae.models import VAEConfig
        from pythae.models.base.base_utils import ModelOutput
        from pythae.models.nn import BaseDecoder, BaseEncoder
        from pythae.trainers import BaseTrainer, BaseTrainerConfig
        from pythae.trainers.training_callbacks import TrainingCallback
except Exception as exc:  # ImportError, or an incompatibility with this torch/numpy/pydantic
    PYTHAE_ERROR = f"{type(exc).__name__}: {exc}"
    pythae = None


# ------------------------------------------------------------------------------------------------------------ data
def make_data(n: int, seed: int) -> torch.Tensor:
    """Simulated factor returns: ``N_FACTORS`` latent factors with random loadings plus idiosyncratic noise of
    heterogeneous scale, standardised per column, float32."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n, N_FACTORS))
    loadings = rng.normal(0.0, 1.0, size=(INPUT_DIM, N_FACTORS))
    noise = rng.standard_normal((n, INPUT_DIM)) * rng.uniform(0.3, 1.0, size=INPUT_DIM)
    x = factors @ loadings.T + noise
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return torch.from_numpy(x.astype(np.float32))


def objective_per_row(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """Σ_j (x_j − x̂_j)² + KL per row — the loss all three trainers minimise (batch mean) and are evaluated with."""
    return (recon - x).pow(2).sum(dim=1) + kl_divergence(mu, log_var)


@torch.no_grad()
def common_final_loss(model: VAE, x: torch.Tensor, eps: torch.Tensor) -> tuple[float, float, float]:
    """Mean per-row objective of a trained model on all rows, eval mode, with the fixed draws ``eps``.

    Returns ``(loss, recon, kl)``.
    """
    model.eval()
    mu, log_var = model.encode(x)
    recon = model.decode(mu + torch.exp(0.5 * log_var) * eps)
    rec = (recon - x).pow(2).sum(dim=1)
    kl = kl_divergence(mu, log_var)
    return float((rec + kl).mean()), float(rec.mean()), float(kl.mean())


def fresh_model(seed: int) -> VAE:
    return VAE(INPUT_DIM, LATENT_DIM, list(HIDDEN), seed=seed)


# --------------------------------------------------------------------------------------------------------- runners
@dataclass
class RunResult:
    seconds: float
    own_loss: float  # the trainer's own last-epoch training loss
    model: VAE  # trained weights, in latentquant's VAE layout (for the common evaluation)


def run_ours(init: VAE, x: torch.Tensor, epochs: int, batch_size: int, seed: int) -> RunResult:
    model = copy.deepcopy(init)
    t0 = time.perf_counter()
    trainer = AETrainer(beta=1.0, batch_size=batch_size, lr=LR, validation_split=0.0, early_stopping=False,
                        seed=seed, verbose=False, grad_clip=None, weight_decay=0.0, device="cpu")
    history = trainer.fit(model, x, epochs=epochs)
    seconds = time.perf_counter() - t0
    return RunResult(seconds, history["train_loss"][-1], model)


def run_dataloader(init: VAE, x: torch.Tensor, epochs: int, batch_size: int, seed: int, *,
                   fused_adam: bool = False) -> RunResult:
    """The textbook loop: ``DataLoader(TensorDataset(X), shuffle=True)``, forward, loss, backward, step."""
    model = copy.deepcopy(init)
    t0 = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True if fused_adam else None)
    torch.manual_seed(seed)
    epoch_loss = float("nan")
    for _ in range(epochs):
        model.train()
        total = torch.zeros(())
        for (xb,) in loader:
            recon, mu, log_var = model(xb)
            loss = objective_per_row(recon, xb, mu, log_var).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * xb.shape[0]
        epoch_loss = float(total) / x.shape[0]
    model.eval()
    seconds = time.perf_counter() - t0
    return RunResult(seconds, epoch_loss, model)


if pythae is not None:

    class _Encoder(BaseEncoder):
        """Our encoder layers (deep-copied, same initial weights) behind pythae's encoder interface."""

        def __init__(self, src: VAE) -> None:
            BaseEncoder.__init__(self)
            self.encoder = copy.deepcopy(src.encoder)
            self.fc_mu = copy.deepcopy(src.fc_mu)
            self.fc_log_var = copy.deepcopy(src.fc_log_var)

        def forward(self, x: torch.Tensor) -> ModelOutput:
            h = self.encoder(x)
            return ModelOutput(embedding=self.fc_mu(h), log_covariance=self.fc_log_var(h))

    class _Decoder(BaseDecoder):
        def __init__(self, src: VAE) -> None:
            BaseDecoder.__init__(self)
            self.decoder = copy.deepcopy(src.decoder)

        def forward(self, z: torch.Tensor) -> ModelOutput:
            return ModelOutput(reconstruction=self.decoder(z))

    class _SSEVAE(PythaeVAE):
        """pythae's VAE with the reconstruction term Σ (x − x̂)² instead of its 0.5 · Σ (x − x̂)².

        pythae 0.1.2's ``reconstruction_loss="mse"`` is the unit-variance Gaussian NLL ``0.5 · SSE`` (+ KL); the only
        change here is dropping that 0.5 so the objective equals ours. Forward pass, sampling and trainer are
        untouched.
        """

        def loss_function(self, recon_x: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                          z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            recon_loss = (recon_x.reshape(x.shape[0], -1) - x.reshape(x.shape[0], -1)).pow(2).sum(dim=-1)
            kld = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=-1)
            return (recon_loss + kld).mean(dim=0), recon_loss.mean(dim=0), kld.mean(dim=0)

    class _LossRecorder(TrainingCallback):
        def __init__(self) -> None:
            self.train_loss: list[float] = []

        def on_log(self, training_config: Any, logs: dict[str, Any], **kwargs: Any) -> None:
            if "train_epoch_loss" in logs:
                self.train_loss.append(float(logs["train_epoch_loss"]))


def run_pythae(init: VAE, x: torch.Tensor, epochs: int, batch_size: int, seed: int, *,
               fused_adam: bool = False) -> RunResult:
    """pythae's ``BaseTrainer`` on all rows: no eval set, no checkpoints (``steps_saving=None``), CPU only.

    pythae always writes its final model (weights, configs, cloudpickled encoder/decoder) into ``output_dir`` at
    the end of ``train()``; that happens in a temporary directory and is part of the timed fit, as is the trainer
    construction (data loader set-up and its one-batch sanity check).
    """
    model = _SSEVAE(VAEConfig(input_dim=(INPUT_DIM,), latent_dim=LATENT_DIM, reconstruction_loss="mse"),
                    encoder=_Encoder(init), decoder=_Decoder(init))
    recorder = _LossRecorder()
    with tempfile.TemporaryDirectory(prefix="pythae_bench_") as tmp:
        config = BaseTrainerConfig(output_dir=tmp, per_device_train_batch_size=batch_size,
                                   per_device_eval_batch_size=batch_size, num_epochs=epochs, learning_rate=LR,
                                   optimizer_cls="Adam", optimizer_params={"fused": True} if fused_adam else None,
                                   scheduler_cls=None,
                                   steps_saving=None, steps_predict=None, keep_best_on_train=True, seed=seed,
                                   no_cuda=True)
        logging.disable(logging.INFO)  # pythae logs to the console at INFO level; keep the benchmark output clean
        try:
            t0 = time.perf_counter()
            dataset = BaseDataset(x, torch.zeros(x.shape[0]))
            trainer = BaseTrainer(model=model, train_dataset=dataset, eval_dataset=None, training_config=config,
                                  callbacks=[recorder])
            trainer.train()
            seconds = time.perf_counter() - t0
        finally:
            logging.disable(logging.NOTSET)
    trained = copy.deepcopy(init)  # the *last-epoch* weights (trainer.model), mapped back to our layout
    trained.encoder.load_state_dict(trainer.model.encoder.encoder.state_dict())
    trained.fc_mu.load_state_dict(trainer.model.encoder.fc_mu.state_dict())
    trained.fc_log_var.load_state_dict(trainer.model.encoder.fc_log_var.state_dict())
    trained.decoder.load_state_dict(trainer.model.decoder.decoder.state_dict())
    return RunResult(seconds, recorder.train_loss[-1], trained)


# --------------------------------------------------------------------------------------------------------- report
@dataclass
class Summary:
    name: str
    label: str
    seconds: list[float] = field(default_factory=list)
    own_loss: list[float] = field(default_factory=list)
    final: list[tuple[float, float, float]] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.seconds)

    def throughput(self, rows: int, epochs: int) -> float:
        return rows * epochs / self.wall

    @property
    def final_loss(self) -> float:
        return statistics.median(f[0] for f in self.final)


def fmt_seconds(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:.2f}" if len(values) == 1 else f"{med:.2f} ({min(values):.2f}–{max(values):.2f})"


def build_table(summaries: list[Summary], rows: int, epochs: int) -> str:
    lines = [
        "| trainer | wall s, median (min–max) | samples/s | own last-epoch loss | final loss (common eval) "
        "| recon / KL (common eval) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        rec = statistics.median(f[1] for f in s.final)
        kl = statistics.median(f[2] for f in s.final)
        lines.append(
            f"| {s.label} | {fmt_seconds(s.seconds)} | {s.throughput(rows, epochs):,.0f} "
            f"| {statistics.median(s.own_loss):.3f} | {s.final_loss:.3f} | {rec:.2f} / {kl:.2f} |"
        )
    return "\n".join(lines)


def build_verdict(by_name: dict[str, Summary], rows: int, epochs: int) -> tuple[list[str], str]:
    ours = by_name["ours"]
    lines = []
    dl = by_name.get("dataloader")
    if dl is not None:
        ratio = ours.throughput(rows, epochs) / dl.throughput(rows, epochs)
        lines.append(f"- throughput ours / DataLoader loop: **{ratio:.2f}×**; final-loss difference "
                     f"(ours − DataLoader) / DataLoader: {(ours.final_loss - dl.final_loss) / dl.final_loss:+.2%}")
    spread = {s.label: max(s.seconds) / min(s.seconds) for s in by_name.values() if len(s.seconds) > 1}
    noisy = {label: v for label, v in spread.items() if v > NOISY_SPREAD}
    if noisy:
        worst = ", ".join(f"{label} {v:.1f}×" for label, v in noisy.items())
        lines.append(f"- ⚠ unstable timings (slowest/fastest repeat: {worst}); another process was probably "
                     "competing for the cores — treat the ratios with caution and rerun on a quiet machine, with "
                     "more --repeats or --threads 1")
    py = by_name.get("pythae")
    if py is None:
        lines.append(f"- pythae: not run ({PYTHAE_ERROR or 'disabled with --no-pythae'})")
        return lines, "NOT EVALUATED (pythae not run)"
    speedup = ours.throughput(rows, epochs) / py.throughput(rows, epochs)
    rel = (ours.final_loss - py.final_loss) / py.final_loss
    lines.append(f"- throughput ours / pythae: **{speedup:.2f}×** (target ≥ {TARGET_SPEEDUP:.0f}×)")
    lines.append(f"- final-loss difference (ours − pythae) / pythae: **{rel:+.2%}** (target within "
                 f"±{TARGET_LOSS_TOL:.0%})")
    ok = speedup >= TARGET_SPEEDUP and abs(rel) <= TARGET_LOSS_TOL
    parts = [f"speed {'PASS' if speedup >= TARGET_SPEEDUP else 'FAIL'}",
             f"loss {'PASS' if abs(rel) <= TARGET_LOSS_TOL else 'FAIL'}"]
    verdict = f"{'PASS' if ok else 'FAIL'} ({', '.join(parts)})"
    if noisy:
        verdict = f"INCONCLUSIVE — unstable timings (as measured: {verdict})"
    return lines, verdict




# ----------------------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2,000 rows, 2 epochs, 1 repeat; RESULTS.md only with --write")
    p.add_argument("--samples", type=int, help="rows of simulated data (default 20,000; --quick 2,000)")
    p.add_argument("--epochs", type=int, help="epochs per fit (default 20; --quick 2)")
    p.add_argument("--repeats", type=int, help="fits per trainer, median reported (default 3; --quick 1)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads for every trainer (default: torch's default on this machine)")
    p.add_argument("--seed", type=int, default=0, help="base seed (data, initial weights, training)")
    p.add_argument("--no-pythae", action="store_true", help="skip pythae even if it is installed")
    p.add_argument("--baseline-fused-adam", action="store_true",
                   help="give pythae and the DataLoader loop torch's fused Adam kernel too (default: torch's default "
                        "Adam implementation, as their users get it)")
    p.add_argument("--write", action="store_true", help="append to RESULTS.md even with --quick")
    p.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--results", type=Path, default=RESULTS_FILE, help="results file (default benchmarks/RESULTS.md)")
    args = p.parse_args(argv)
    args.samples = args.samples or (2_000 if args.quick else 20_000)
    args.epochs = args.epochs or (2 if args.quick else 20)
    args.repeats = args.repeats or (1 if args.quick else 3)
    for name in ("samples", "epochs", "repeats", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)

    x = make_data(args.samples, seed=args.seed)
    eps = torch.randn(x.shape[0], LATENT_DIM, generator=torch.Generator().manual_seed(args.seed + 7))

    load_at_start = load_average()
    fused = args.baseline_fused_adam
    suffix = " (fused Adam)" if fused else ""
    runners: list[tuple[str, str, Callable[..., RunResult]]] = [("ours", "latentquant AETrainer", run_ours)]
    if pythae is not None and not args.no_pythae:
        runners.append(("pythae", f"pythae {package_version('pythae')} BaseTrainer{suffix}",
                        functools.partial(run_pythae, fused_adam=fused)))
    runners.append(("dataloader", f"plain DataLoader loop{suffix}",
                    functools.partial(run_dataloader, fused_adam=fused)))
    summaries = {name: Summary(name, label) for name, label, _ in runners}

    print(f"VAE {INPUT_DIM}→{list(HIDDEN)}→{LATENT_DIM}, {args.samples:,} rows, batch {args.batch_size}, "
          f"{args.epochs} epochs, {args.repeats} repeat(s), torch threads {threads}", flush=True)
    if PYTHAE_ERROR and not args.no_pythae:
        print(f"pythae unavailable, running ours vs DataLoader only: {PYTHAE_ERROR}", flush=True)

    # untimed warm-up: first-call costs (allocator, lazy imports, kernel selection) hit no measured run
    warm_x = x[: min(1024, args.samples)]
    for _, _, runner in runners:
        runner(fresh_model(args.seed), warm_x, 1, args.batch_size, args.seed)

    for r in range(args.repeats):
        init = fresh_model(args.seed + 100 + r)  # same initial weights for every trainer in this repeat
        train_seed = args.seed + 200 + r
        for name, label, runner in runners:  # interleaved, so drift in machine load hits all trainers alike
            res = runner(init, x, args.epochs, args.batch_size, train_seed)
            s = summaries[name]
            s.seconds.append(res.seconds)
            s.own_loss.append(res.own_loss)
            s.final.append(common_final_loss(res.model, x, eps))
            print(f"  repeat {r + 1}/{args.repeats}  {label:<28} {res.seconds:7.2f} s  "
                  f"own loss {res.own_loss:.3f}  final loss {s.final[-1][0]:.3f}", flush=True)

    ordered = list(summaries.values())
    table = build_table(ordered, args.samples, args.epochs)
    ratio_lines, verdict = build_verdict(summaries, args.samples, args.epochs)
    print()
    print(table)
    print()
    print("\n".join(ratio_lines))
    print(f"- target (≥ {TARGET_SPEEDUP:.0f}× pythae throughput, final loss within {TARGET_LOSS_TOL:.0%}): {verdict}")

    write = (args.write or not args.quick) and not args.no_write
    if write:
        packages = ("torch", "numpy", "pythae") if pythae is not None else ("torch", "numpy")
        info = machine_info(packages, torch_threads=threads, load_avg=load_at_start)
        if pythae is None:
            info["versions"]["pythae"] = f"unavailable ({PYTHAE_ERROR})"
        cmd = " ".join(["python", "benchmarks/bench_training.py", *map(shlex.quote, sys.argv[1:])]) \
            if argv is None else "main(" + repr(argv) + ")"
        adam_note = ("pythae and the DataLoader loop also given torch's fused Adam kernel" if fused else
                     "pythae and the DataLoader loop use torch's default Adam implementation; latentquant the one its "
                     "Trainer picks")
        stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        section = "\n".join([
            f"## Training: AETrainer vs pythae vs DataLoader — {stamp}",
            "",
            machine_markdown(info),
            "",
            f"Command: `{cmd}`",
            "",
            f"VAE {INPUT_DIM}→{'→'.join(map(str, HIDDEN))}→{LATENT_DIM} (μ, log σ²), {args.samples:,} simulated "
            f"{N_FACTORS}-factor rows (standardised, float32, seed {args.seed}), batch {args.batch_size}, "
            f"{args.epochs} epochs, Adam lr {LR:g} ({adam_note}), objective Σ(x − x̂)² + KL (batch mean), "
            f"{args.repeats} repeat(s) per trainer, interleaved; samples/s = rows × epochs / median wall time. "
            "Final loss: every trained model re-evaluated on all rows, eval mode, same fixed ε.",
            "",
            table,
            "",
            *ratio_lines,
            f"- target (≥ {TARGET_SPEEDUP:.0f}× pythae throughput, final loss within {TARGET_LOSS_TOL:.0%}): "
            f"**{verdict}**",
            "",
        ])
        append_results(section, args.results)
        print(f"\nappended to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
