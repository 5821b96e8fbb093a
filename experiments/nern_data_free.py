"""Experiment: data-free NeRN (distillation on random noise) vs real images, at equal budget.

Both runs use the same recipe (h=160, cross-filter, reconstruction-only warm-up, then the joint
loss); only the distillation inputs differ: training images vs standard-normal noise images.
The real-data run is the ``warmup_joint`` run of the schedule study (shared by name).

    .venv/bin/python experiments/nern_data_free.py

Writes results/nern/data_free.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import tyro

from nern_runs import recipe, run_fit, strip
from frozenfit.common.results import write_result
from frozenfit.common.script import run_main


@dataclass
class Args:
    iterations: int = 4000
    warmup: int = 3000
    hidden: int = 160
    out: str = "results/nern/data_free.json"


def main(args: Args) -> None:
    h, n, w = args.hidden, args.iterations, args.warmup
    real = run_fit(f"h{h}-cross-n{n}-w{w}-joint", recipe(h, iterations=n, warmup=w))
    noise = run_fit(f"h{h}-cross-n{n}-w{w}-joint-noise", recipe(h, iterations=n, warmup=w, data_free=True))
    # What distillation adds: the best accuracy reached before it starts (reconstruction only).
    before = max((r["val_acc"] for r in real["history"] if r["step"] <= w), default=None)
    runs = [{"inputs": "real", **strip(real)}, {"inputs": "noise", **strip(noise)}]
    write_result(args.out, {
        "model": "resnet20", "dataset": "digits (embedded)", "hidden": h, "iterations": n,
        "warmup": w, "runs": runs, "original_acc": real["original_acc"],
        "val_acc_before_distillation": before,
        "gap_points_noise_vs_real": round(real["reconstructed_acc"] - noise["reconstructed_acc"], 2),
    }, wall_s=real["wall_s"] + noise["wall_s"])
    print(json.dumps([{k: r[k] for k in ("inputs", "reconstructed_acc", "final_rmse")} for r in runs]))


if __name__ == "__main__":
    sys.exit(run_main(lambda: main(tyro.cli(Args))))
