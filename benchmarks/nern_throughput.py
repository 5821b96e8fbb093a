"""Benchmark: NeRN fit iterations per second and where the time goes.

The timed step is ``frozenfit.nern.fit.train_step`` — exactly what ``fit`` runs — on CIFAR-shaped
ResNet-20 and ResNet-56 (3×32×32, 10 classes, kaiming-init weights: speed does not depend on the
values) and on the shipped digits ResNet-20 (1×8×8), image batch 256, 4096 kernels with
gradients, predictor h=160. Phases are timed with wall clocks (CPU torch ops are synchronous).

The prediction of the grad-free kernels is also timed the way frozenfit did it before this
benchmark existed (every kernel predicted, the gradient subset included, through
``nn.Sequential`` in 65,536-row chunks) next to the current path (only the other kernels, fused
bias-add matmuls with in-place ReLU in 4,096-row chunks).

It also times today's code against commit BEFORE (9fdecbd, exported into a scratch folder) on
issue 26's side-by-side setting with the reference (random ResNet-20, predictor hidden 180, image
batch 256, 4,096 kernels with gradients, joint loss): ``benchmarks/nern_step_timer.py`` runs in a
fresh process per side and round, the sides interleaved, medians over rounds ->
``speedup_vs_9fdecbd`` (fp32, the default) and ``speedup_vs_9fdecbd_bf16`` (``--precision bf16``).

    .venv/bin/python benchmarks/nern_throughput.py

Writes results/nern/throughput.json and results/nern/throughput.png. Run it on an idle machine.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import tyro

from frozenfit.common.results import env_running, export_commit, save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.common.timing import PhaseTimer
from frozenfit.nern.fit import train_step
from frozenfit.nern.layers import discover_convs
from frozenfit.nern.losses import reconstruction_rmse
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
    rounds: int = 3
    """Interleaved rounds of the before/after comparison."""
    out: str = "results/nern/throughput.json"


ROOT = Path(__file__).resolve().parents[1]
BEFORE = "9fdecbd"   # the code before the frozen batch norm and the three-reduction FMD
SIDE_BY_SIDE = {"depth": 20, "hidden": 180, "batch": 256, "kernel_batch": 4096}
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
    # a reconstruction-only step as `fit` runs it: the all-weights RMSE given (fit refreshes it
    # every RMSE_REFRESH steps), so only the sampled kernels are predicted
    rmse_all = reconstruction_rmse(rep.predict_rows(), rep.table.targets, rep.table.masks).item()
    t0 = time.perf_counter()
    for _ in range(4 * args.steps):
        train_step(rep, opt, sampler.sample(), None, 0.0, 0.0, names, rmse_all=rmse_all)
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


def _step_seconds(code: Path, steps: int, precision: str) -> float:
    """Median seconds per fit iteration of the frozenfit in ``code`` (a fresh process)."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "nern_step_timer.py"), "--steps", str(steps),
           "--precision", precision, *[f"--{k.replace('_', '-')}={v}" for k, v in SIDE_BY_SIDE.items()]]
    out = subprocess.run(cmd, cwd=code, env=env_running(code), capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"step timer failed in {code.name}:\n{out.stderr[-2000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    if not row["code"].startswith(str(code)):
        raise SystemExit(f"the step timer imported {row['code']}, not the code in {code}")
    return statistics.median(row["s_per_it"])


def versus_before(args: Args) -> dict:
    """Interleaved rounds: BEFORE (fp32), today (fp32), today (bf16); medians over rounds."""
    sides = {"before": [], "after": [], "after_bf16": []}
    with tempfile.TemporaryDirectory(prefix="nern-throughput-") as tmp:
        before = export_commit(BEFORE, Path(tmp) / "before", ROOT)
        for r in range(args.rounds):
            sides["before"].append(_step_seconds(before, args.steps, "fp32"))
            sides["after"].append(_step_seconds(ROOT, args.steps, "fp32"))
            sides["after_bf16"].append(_step_seconds(ROOT, args.steps, "bf16"))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f} s/it" for k, v in sides.items()))
    med = {k: statistics.median(v) for k, v in sides.items()}
    return {"setting": {**SIDE_BY_SIDE, "model": "resnet20 (random init, 3x32x32)", "loss": "joint",
                        "kd_grad": "subset"},
            "before_commit": BEFORE, "rounds": args.rounds, "steps_per_round": args.steps,
            "s_per_it": {k: round(v, 4) for k, v in med.items()},
            "s_per_it_rounds": {k: [round(x, 4) for x in v] for k, v in sides.items()},
            "speedup_vs_9fdecbd": round(med["before"] / med["after"], 3),
            "speedup_vs_9fdecbd_bf16": round(med["before"] / med["after_bf16"], 3)}


def main(args: Args) -> None:
    if min(args.batch, args.hidden, args.kernel_batch, args.steps, args.rounds) <= 0:
        raise SystemExit("--batch, --hidden, --kernel-batch, --steps and --rounds must be positive")
    t0 = time.time()
    versus = versus_before(args)
    runs = [measure(*setup, args) for setup in SETUPS]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    phases = [p for p in runs[0]["breakdown"]]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    left = [0.0] * len(runs)
    for p in phases:
        ms = [r["breakdown"][p]["ms"] for r in runs]
        ax.barh([r["model"] for r in runs], ms, left=left, label=p)
        left = [a + b for a, b in zip(left, ms)]
    for i, r in enumerate(runs):
        ax.text(left[i], i, f" {r['iterations_per_s']:.2f} it/s", va="center", fontsize=8)
    ax.set(xlabel=f"ms per fit iteration (batch {args.batch}, h={args.hidden}, 2 CPU cores)",
           title="NeRN fit: where an iteration goes")
    ax.legend(fontsize=7, loc="lower right")
    labels = {"before": f"{BEFORE} (fp32)", "after": "today (fp32)", "after_bf16": "today (bf16)"}
    secs = versus["s_per_it"]
    ax2.bar(list(labels.values()), [secs[k] for k in labels], color=["0.6", "C0", "C1"])
    for i, k in enumerate(labels):
        ax2.text(i, secs[k], f"{secs['before'] / secs[k]:.2f}x", ha="center", va="bottom", fontsize=8)
    ax2.set(ylabel="s per iteration (median of rounds)",
            title=f"ResNet-20, h={SIDE_BY_SIDE['hidden']}, batch {SIDE_BY_SIDE['batch']}, "
                  f"{SIDE_BY_SIDE['kernel_batch']} kernels")
    ax2.tick_params(axis="x", labelsize=7)
    save_figure(fig, args.out.replace(".json", ".png"))
    write_result(args.out, {"runs": runs, "threads": torch.get_num_threads(),
                            "step": "frozenfit.nern.fit.train_step (joint loss, kd_grad=subset)",
                            "versus_before": versus, "speedup_vs_9fdecbd": versus["speedup_vs_9fdecbd"]},
                 wall_s=time.time() - t0)
    print(f"vs {BEFORE}: {versus['speedup_vs_9fdecbd']}x (fp32), {versus['speedup_vs_9fdecbd_bf16']}x (bf16)")
    for r in runs:
        print(r["model"], r["iterations_per_s"], "it/s;", {k: v["ms"] for k, v in r["breakdown"].items()},
              r["grad_free_prediction_ms"])


if __name__ == "__main__":
    sys.exit(run_main(lambda: main(tyro.cli(Args))))
