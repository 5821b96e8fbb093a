"""Does the ablation grid's cut budget cost the paper's targets? The grid's headline fit at more
distillation steps -> results/nern/distill_budget.json (+ distill_budget.png).

The grid (experiments/nern_ablations.py) gives every fit WARMUP reconstruction-only steps, then only
DISTILL = 800 distillation steps (the paper: ~68k), to fit 28 fits into its budget; its fits end
0.5-2.6 points below their originals where the paper's targets are 0.2 (ResNet-20, 53 % size) and
0.6 (ResNet-56, 46 %). Here the grid's headline setting (cross-filter, KD+FMD, warm-up then joint,
block feature maps, seed 0) is fitted again with the same warm-up and each of ``--distill`` steps of
distillation, everything else equal (the cosine learning rate spans each fit's own iterations, as in
the grid). A budget equal to the grid's reuses the grid's recorded fit when it ran the same code.
Resumable (experiments/nern_runs.py); cost: a ResNet-20 distillation step took ~1.2 s of one core
(the other core busy), so 4,800 steps is ~1.6 hours after the ~15-minute warm-up.

    python experiments/nern_distill_budget.py [--models resnet20 resnet56] [--distill 800 2400 4800]
    python experiments/nern_distill_budget.py --readme   # the recorded table into the README
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from frozenfit.common.logging import read_csv_log
from frozenfit.common.results import portable_path, save_figure, sync_markdown_table, write_result
from frozenfit.common.script import run_main
from frozenfit.errors import FrozenfitError

import nern_ablations as grid   # experiments/ is the script's folder, so this is its sibling module
import nern_runs

RUNS = grid.ROOT / "runs" / "nern-distill-budget"
OUT = grid.OUT
BUDGETS = (800, 2400, 4800)
# the paper's targets: points below the original at the grid's larger size
TARGET_GAP = {"resnet20": 0.2, "resnet56": 0.6}


def headline(model: str) -> dict:
    """The grid's headline fit of ``model``: cross-filter, KD+FMD, warm-up then joint, larger size, seed 0."""
    return next(s for s in grid.grid(1, [model]) if s["model"] == model and s["permutation"] == "cross_filter"
                and s["distillation"] and s["schedule"] == "warmup_joint" and s["feature_maps"] == "block"
                and s["fraction"] == grid.SIZES[model][1])


def grid_row(spec: dict, warmup: int, distill: int) -> dict | None:
    """The grid's recorded row of ``spec`` if it ran this plan and today's code, else None."""
    path = OUT / "ablations.json"
    rows = json.loads(path.read_text())["runs"] if path.exists() else []
    plan = grid.iteration_plan(spec, warmup, distill)
    return next((r for r in rows if r["name"] == spec["name"] and (r["iterations"], r["warmup"]) == plan
                 and r["code_digest"] == nern_runs.code_digest()), None)


def val_curve(history: list[dict]) -> list[list[float]]:
    """[[iteration, validation accuracy], ...] from a fit's log."""
    return [[int(h["step"]), round(h["val_acc"], 2)] for h in history]


def measure(model: str, warmup: int, distill: int) -> dict:
    """One point: the headline fit of ``model`` with ``distill`` distillation steps."""
    spec = headline(model)
    if (row := grid_row(spec, warmup, distill)) is not None:
        log = grid.RUNS / spec["name"] / "logs" / "log.csv"
        hist = [h for h in read_csv_log(log) if "val_acc" in h] if log.exists() else []
        test_acc, hidden, source, rec = row["test_acc"], row["hidden"], f"the grid's fit {spec['name']}", row
    else:
        cfg = grid.fit_config(spec, grid.original_path(model), warmup, distill)
        rec = nern_runs.run_fit(f"{spec['name']}-w{warmup}-d{distill}", cfg, RUNS)
        test_acc, hidden, source, hist = rec["reconstructed_acc"], cfg.hidden, "fitted here", rec["history"]
    return {"model": model, "distill": distill, "warmup": warmup, "test_acc": test_acc,
            "original_acc": rec["original_acc"], "hidden": hidden, "wall_s": rec["wall_s"],
            "val_curve": val_curve(hist), "source": source, "commit": rec["commit"], "code_digest": rec["code_digest"]}


TABLE_HEADER = "| model | distillation steps | test acc. % | below the original | the paper's target | fit (min of one core) |"


def table(points: list[dict]) -> str:
    """The recorded points as a Markdown table (the README's copy is tested against it)."""
    lines = [TABLE_HEADER, "|---|---|---|---|---|---|"]
    for p in sorted(points, key=lambda p: (p["model"], p["distill"])):
        lines.append(f"| {p['model']} | {p['distill']:,} | {p['test_acc']:.2f} | "
                     f"{p['original_acc'] - p['test_acc']:.2f} | <= {TARGET_GAP[p['model']]} | {p['wall_s'] / 60:.0f} |")
    return "\n".join(lines) + "\n"


def plot(points: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = sorted({p["model"] for p in points})
    fig, axes = plt.subplots(len(models), 2, figsize=(10, 3.6 * len(models)), squeeze=False)
    for (left, right), model in zip(axes, models):
        mine = sorted((p for p in points if p["model"] == model), key=lambda p: p["distill"])
        original = mine[0]["original_acc"]
        left.plot([p["distill"] for p in mine], [p["test_acc"] for p in mine], "o-", label="NeRN (best validation)")
        left.axhline(original, color="k", ls="--", lw=1, label=f"original {original:.2f} %")
        left.axhline(original - TARGET_GAP[model], color="tab:red", ls=":", lw=1,
                     label=f"paper's target (-{TARGET_GAP[model]} points)")
        left.set_xlabel("distillation steps (after the warm-up)")
        left.set_ylabel("test accuracy (%)")
        left.set_title(f"{model} / Shapes-32, {mine[0]['warmup']} reconstruction steps first", fontsize=9)
        left.legend(fontsize=8)
        for p in mine:
            c = p["val_curve"]
            right.plot([s for s, _ in c], [a for _, a in c], ".-", label=f"{p['distill']} distillation steps")
        right.axhline(original, color="k", ls="--", lw=1)
        right.axvline(mine[0]["warmup"], color="grey", ls=":", lw=1, label="distillation starts")
        right.set_ylim(max(0, original - 8), original + 1)
        right.set_xlabel("iteration")
        right.set_ylabel("validation accuracy (%)")
        right.legend(fontsize=8)
    save_figure(fig, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["resnet20"], choices=list(grid.ORIGINALS))
    ap.add_argument("--distill", nargs="+", type=int, default=list(BUDGETS))
    ap.add_argument("--warmup", type=int, default=grid.WARMUP)
    ap.add_argument("--readme", action="store_true", help="copy the recorded table into the README")
    a = ap.parse_args()
    path = OUT / "distill_budget.json"
    if a.readme:
        if not path.exists():
            raise FrozenfitError(f"{portable_path(path)} is missing: run the study first")
        if not sync_markdown_table(grid.ROOT / "README.md", table(json.loads(path.read_text())["points"])):
            raise FrozenfitError("the README has no distillation-budget table to update (its header line changed?)")
        return
    if a.warmup < 0 or any(d <= 0 for d in a.distill):
        ap.error("--distill steps must be positive and --warmup >= 0")
    t0, points = time.time(), []
    for model in a.models:
        for distill in sorted(set(a.distill)):
            p = measure(model, a.warmup, distill)
            points.append(p)
            print(f"{model}, {distill} distillation steps: {p['test_acc']:.2f} % "
                  f"(original {p['original_acc']:.2f} %)", flush=True)
            # written after every point, so an interrupted study keeps what it measured
            write_result(path, {"points": points, "target_gap": {m: TARGET_GAP[m] for m in a.models},
                                "setting": "cross_filter, kd+fmd, warmup_joint, block feature maps, seed 0, "
                                           "the grid's larger size"}, wall_s=time.time() - t0)
            plot(points, OUT / "distill_budget.png")


if __name__ == "__main__":
    sys.exit(run_main(main))
