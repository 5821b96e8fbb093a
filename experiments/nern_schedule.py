"""Experiment: joint loss vs reconstruction-first schedules, at equal iterations.

Three schedules of the same total iterations on the shipped ResNet-20 (h=160, cross-filter):
* ``joint``: reconstruction + α·FMD + β·KL from the first iteration (the paper's ResNet-20 setup,
  with α = β = 1e-2);
* ``warmup_joint``: reconstruction only, then the joint loss (frozenfit's default recipe);
* ``decoupled``: reconstruction only, then α·FMD + β·KL only (reconstruction dropped).

    .venv/bin/python experiments/nern_schedule.py

Writes results/nern/schedule.json and results/nern/schedule.png. Equal iterations are not equal
compute: a distillation step costs several reconstruction-only steps, so wall time is reported too.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import tyro

from nern_runs import recipe, run_fit, strip
from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main


@dataclass
class Args:
    iterations: int = 4000
    warmup: int = 3000
    hidden: int = 160
    out: str = "results/nern/schedule.json"


def schedule_runs(args: Args) -> dict[str, dict]:
    """The three runs (shared by name with the data-free study)."""
    h, n, w = args.hidden, args.iterations, args.warmup
    return {
        "joint": run_fit(f"h{h}-cross-n{n}-joint", recipe(h, iterations=n, warmup=0)),
        "warmup_joint": run_fit(f"h{h}-cross-n{n}-w{w}-joint", recipe(h, iterations=n, warmup=w)),
        "decoupled": run_fit(f"h{h}-cross-n{n}-w{w}-decoupled",
                             recipe(h, iterations=n, warmup=w, schedule="decoupled")),
    }


def main(args: Args) -> None:
    runs = schedule_runs(args)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rec in runs.items():
        steps = [h["step"] for h in rec["history"]]
        a.plot(steps, [h["val_acc"] for h in rec["history"]], label=name)
        b.semilogy(steps, [h["rmse_all"] for h in rec["history"]], label=name)
    a.axhline(next(iter(runs.values()))["original_acc"], color="k", ls="--", label="original (test)")
    a.set(xlabel="iteration", ylabel="validation accuracy (%)", ylim=(0, 101),
          title=f"ResNet-20 / digits, h={args.hidden}, {args.iterations} iterations")
    b.set(xlabel="iteration", ylabel="RMSE over all kernels", title="weight reconstruction")
    a.legend()
    b.legend()
    save_figure(fig, Path(args.out).with_suffix(".png"))
    table = {name: {"schedule": name, **strip(rec)} for name, rec in runs.items()}
    best = max(table.values(), key=lambda r: (r["reconstructed_acc"], -r["wall_s"]))
    write_result(args.out, {
        "model": "resnet20", "dataset": "digits (embedded)", "hidden": args.hidden,
        "iterations": args.iterations, "warmup": args.warmup, "runs": list(table.values()),
        "best": best["schedule"],
        "selection": "best validation accuracy; accuracy on the 359-image test split",
    }, wall_s=sum(r["wall_s"] for r in table.values()))
    print(json.dumps([{k: r[k] for k in ("schedule", "reconstructed_acc", "final_rmse", "wall_s")}
                      for r in table.values()], indent=1))


if __name__ == "__main__":
    sys.exit(run_main(lambda: main(tyro.cli(Args))))
