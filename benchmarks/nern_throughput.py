"""Benchmark: NeRN fit iterations per second and where the time goes.

The timed step is ``frozenfit.nern.fit.train_step`` — exactly what ``fit`` runs — on CIFAR-shaped
ResNet-20 and ResNet-56 (3×32×32, 10 classes, kaiming-init weights: speed does not depend on the
values) and on the shipped digits ResNet-20 (1×8×8), image batch 256, 4096 kernels with
gradients, predictor h=160. Phases are timed with wall clocks (CPU torch ops are synchronous).

The prediction of the grad-free kernels is also timed the way frozenfit did it before this
benchmark existed (every kernel predicted, the gradient subset included, through
``nn.Sequential`` in 65,536-row chunks) next to the current path (only the other kernels, fused
bias-add matmuls with in-place ReLU in 4,096-row chunks).

    .venv/bin/python benchmarks/nern_throughput.py

Writes results/nern/throughput.json and results/nern/throughput.png. Run it on an idle machine.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
import tyro

from frozenfit.common.results import save_figure, write_result
from frozenfit.common.timing import PhaseTimer
from frozenfit.nern.fit import train_step
from frozenfit.nern.layers import discover_convs
from frozenfit.nern.models import CifarResNet, default_fmd_modules
from frozenfit.nern.ranger import Ranger
from frozenfit.nern.representation import NeRNRepresentation
from frozenfit.nern.sampling import MagnitudeSampler


@dataclass
class Args:
    batch: int = 256
    hidden: int = 160
    kernel_batch: int = 4096
    steps: int = 8
    """Timed steps per configuration (after 2 untimed ones)."""
    out: str = "results/nern/throughput.json"


SETUPS = (("resnet20", 20, 3, 32), ("resnet56", 56, 3, 32), ("resnet20-digits", 20, 1, 8))


def _old_prediction(rep: NeRNRepresentation, idx: torch.Tensor, pred_sub: torch.Tensor) -> torch.Tensor:
    """The previous grad-free path: all kernels, subset included, 65,536-row Sequential chunks."""
    with torch.no_grad():
        rows = torch.cat([rep.predictor.net(rep.encoded[i:i + 65536])
                          for i in range(0, rep.encoded.shape[0], 65536)])
    return rows.index_put((idx,), pred_sub)


def _median_ms(fn, repeats: int = 7) -> float:
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return round(1000 * statistics.median(ts), 1)


def measure(name: str, depth: int, channels: int, size: int, args: Args) -> dict:
    torch.manual_seed(0)
    model = CifarResNet(depth, 10, channels).eval()
    x = torch.randn(args.batch, channels, size, size)
    rep = NeRNRepresentation(model, discover_convs(model, x[:1]), args.hidden, 3, "none")
    opt = Ranger(rep.predictor.parameters(), lr=1e-3)
    sampler = MagnitudeSampler(rep.table.norms, args.kernel_batch, 0.2, torch.Generator().manual_seed(0))
    names = default_fmd_modules(model)
    for _ in range(2):
        train_step(rep, opt, sampler.sample(), x, 1e-2, 1e-2, names)
    timer = PhaseTimer()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        train_step(rep, opt, sampler.sample(), x, 1e-2, 1e-2, names, timer=timer)
    joint_s = (time.perf_counter() - t0) / args.steps
    t0 = time.perf_counter()
    for _ in range(4 * args.steps):
        train_step(rep, opt, sampler.sample(), None, 0.0, 0.0, names)
    rec_s = (time.perf_counter() - t0) / (4 * args.steps)
    breakdown = {k: {"ms": round(1000 * v / args.steps, 1), "fraction": round(v / args.steps / joint_s, 3)}
                 for k, v in timer.seconds.items()}
    other = joint_s - sum(timer.seconds.values()) / args.steps
    breakdown["other"] = {"ms": round(1000 * other, 1), "fraction": round(other / joint_s, 3)}
    idx = sampler.sample()
    pred_sub = rep.predictor(rep.encoded[idx]).detach()
    return {"model": name, "batch": args.batch, "iterations_per_s": round(1 / joint_s, 3),
            "breakdown": breakdown, "image_shape": [channels, size, size], "kernels": rep.table.num_kernels,
            "represented_params": rep.represented_params, "hidden": args.hidden,
            "kernel_batch": args.kernel_batch, "reconstruction_only_iterations_per_s": round(1 / rec_s, 2),
            "grad_free_prediction_ms": {"before": _median_ms(lambda: _old_prediction(rep, idx, pred_sub)),
                                        "after": _median_ms(lambda: rep.predict_rows_with(idx, pred_sub))}}


def main(args: Args) -> None:
    t0 = time.time()
    runs = [measure(*setup, args) for setup in SETUPS]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    phases = [p for p in runs[0]["breakdown"]]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    left = [0.0] * len(runs)
    for p in phases:
        ms = [r["breakdown"][p]["ms"] for r in runs]
        ax.barh([r["model"] for r in runs], ms, left=left, label=p)
        left = [a + b for a, b in zip(left, ms)]
    for i, r in enumerate(runs):
        ax.text(left[i], i, f" {r['iterations_per_s']:.2f} it/s", va="center", fontsize=8)
    ax.set(xlabel="ms per fit iteration (batch 256, 2 CPU cores)", title="NeRN fit: where an iteration goes")
    ax.legend(fontsize=7, loc="lower right")
    save_figure(fig, args.out.replace(".json", ".png"))
    write_result(args.out, {"runs": runs, "threads": torch.get_num_threads(),
                            "step": "frozenfit.nern.fit.train_step (joint loss, kd_grad=subset)"},
                 wall_s=time.time() - t0)
    for r in runs:
        print(r["model"], r["iterations_per_s"], "it/s;", {k: v["ms"] for k, v in r["breakdown"].items()},
              r["grad_free_prediction_ms"])


if __name__ == "__main__":
    main(tyro.cli(Args))
