"""Experiment: accuracy vs exact bytes — NeRN (hidden sizes × storage dtypes) vs int8/int4 PTQ.

NeRN fits of the shipped ResNet-20 at several predictor widths (same recipe each), each exported
in the compressed format with the predictor in fp32, fp16, int8 per-tensor and int8 per-channel;
the baseline is post-training int8 / int4 weight quantisation of the original. Every point's
size is the size of the file written, and its accuracy is measured on the network loaded back
from that file (359-image test split).

    .venv/bin/python experiments/nern_size_accuracy.py [--fits-only]

Writes results/nern/size_accuracy.json and results/nern/size_accuracy.png.
"""

from __future__ import annotations

import json
import sys

import time
from dataclasses import dataclass
from pathlib import Path

import tyro

from nern_runs import recipe, run_fit, strip

from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.nern.artifact import artifact_parts, export_artifact, load_artifact
from frozenfit.nern.data import load_digits
from frozenfit.nern.fit import representation_from_run
from frozenfit.nern.original import SHIPPED_ORIGINAL, accuracy, load_original
from frozenfit.nern.ptq import export_ptq, load_ptq


@dataclass
class Args:
    hiddens: tuple[int, ...] = (48, 96, 160)
    """Predictor widths fitted with cross-filter permutation."""
    unpermuted: tuple[int, ...] = (96,)
    """Widths also fitted without permutation (no tables to store)."""
    iterations: int = 6000
    warmup: int = 5000
    fits_only: bool = False
    plot_only: bool = False
    """Redraw size_accuracy.png from the results file; fit and measure nothing."""
    out: str = "results/nern/size_accuracy.json"
    work_dir: str = "runs/nern-studies/size-accuracy"


def size_runs(args: Args) -> list[dict]:
    specs = [(h, "cross_filter") for h in args.hiddens] + [(h, "none") for h in args.unpermuted]
    n, w = args.iterations, args.warmup
    return [run_fit(f"h{h}-{'cross' if p == 'cross_filter' else p}-n{n}-w{w}-joint",
                    recipe(h, permutation=p, iterations=n, warmup=w)) for h, p in specs]


NERN_SCHEMES = ("fp32", "fp16", "int8_tensor", "int8_channel", "int4_channel")
PTQ_SCHEMES = ("fp32", "fp16", "int8_tensor", "int8_channel", "int4_channel")


def nern_points(runs: list[dict], work: Path, data) -> list[dict]:
    points = []
    for rec in runs:
        rep, model_config = representation_from_run(Path(rec["artifact"]).parent)
        for scheme in NERN_SCHEMES:
            path = work / f"{rec['name']}-{scheme}.nern"
            size = export_artifact(rep, path, model_config, predictor_scheme=scheme)
            model, _ = load_artifact(path)
            parts = artifact_parts(path)
            h, perm = rec["settings"]["hidden"], rec["settings"]["permutation"]
            points.append({"method": f"nern h={h} {perm} {scheme}", "family": "nern", "fit": rec["name"], "hidden": h,
                           "permutation": perm, "scheme": scheme, "bytes": size,
                           "accuracy": round(accuracy(model, data.test), 2),
                           "predictor_bytes": parts["predictor"], "permutation_bytes": parts["perm"],
                           "kept_bytes": parts["kept"]})
    return points


def ptq_points(work: Path, data, original: Path = SHIPPED_ORIGINAL) -> list[dict]:
    model, model_config = load_original(original)
    points = []
    for scheme in PTQ_SCHEMES:
        path = work / f"ptq-{original.stem}-{scheme}.ptq"
        size = export_ptq(model, model_config, path, scheme, other_scheme="fp32" if scheme == "fp32" else "fp16")
        q, _ = load_ptq(path)
        points.append({"method": f"ptq {scheme}", "family": "ptq", "scheme": scheme, "bytes": size,
                       "accuracy": round(accuracy(q, data.test), 2)})
    return points


def dominated(p: dict, others: list[dict]) -> bool:
    """Some other point is at least as small and at least as accurate, and strictly better in one."""
    return any(o["bytes"] <= p["bytes"] and o["accuracy"] >= p["accuracy"]
               and (o["bytes"] < p["bytes"] or o["accuracy"] > p["accuracy"]) for o in others)


def plot(points: list[dict], original_acc: float, path: Path,
         title: str = "ResNet-20 / digits: NeRN artifacts vs post-training quantisation") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    # left: every point; right: the top of the axis, where the interesting points sit
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1, 1.25]})
    markers = {"fp32": "o", "fp16": "s", "int8_tensor": "^", "int8_channel": "v", "int4_channel": "D"}
    ptq = sorted((p for p in points if p["family"] == "ptq"), key=lambda p: p["bytes"])
    top = original_acc - 4
    for a, zoomed in ((ax, False), (zoom, True)):
        for perm, color in (("cross_filter", "tab:blue"), ("none", "tab:orange")):
            for scheme, mk in markers.items():
                pts = [p for p in points if p["family"] == "nern" and p["permutation"] == perm
                       and p["scheme"] == scheme and (not zoomed or p["accuracy"] >= top)]
                if pts:
                    a.scatter([p["bytes"] / 1024 for p in pts], [p["accuracy"] for p in pts], marker=mk,
                              color=color, alpha=0.8, label=f"NeRN {perm} {scheme}")
        a.plot([p["bytes"] / 1024 for p in ptq], [p["accuracy"] for p in ptq], "k*-", ms=11, label="PTQ of the original")
        a.axhline(original_acc, color="grey", ls="--", lw=1, label="original fp32")
        a.set(xscale="log", xlabel="file size (KiB, exact, log scale)", ylabel="test accuracy (%)")
    # PTQ labels alternate above and below their point, so neighbours (int8 per tensor / per channel) stay apart
    for k, p in enumerate(ptq):
        zoom.annotate(p["scheme"], (p["bytes"] / 1024, p["accuracy"]), textcoords="offset points",
                      xytext=(-10, 9 if k % 2 else -15), fontsize=8)
    for p in points:
        if p["family"] == "nern" and p["scheme"] == "int8_channel" and p["accuracy"] >= top:
            zoom.annotate(f"h={p['hidden']}", (p["bytes"] / 1024, p["accuracy"]), textcoords="offset points",
                          xytext=(5, 3), fontsize=7, color="tab:blue" if p["permutation"] == "cross_filter" else "tab:orange")
    ax.set(title="all files", ylim=(max(0, min(p["accuracy"] for p in points) - 2), 100.5))
    zoom.set(title=f"zoom: accuracy >= {top:.1f}%", ylim=(top, original_acc + 0.6))
    zoom.legend(fontsize=7, ncol=2, loc="lower right")
    fig.suptitle(title)
    save_figure(fig, path)


def main(args: Args) -> None:
    if args.plot_only:   # redraw the figure from the committed results file
        r = json.loads(Path(args.out).read_text())
        plot(r["points"], r["original_acc"], Path(args.out).with_suffix(".png"))
        return
    t0 = time.time()
    runs = size_runs(args)
    if args.fits_only:
        return
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    data = load_digits()
    _, ocfg = load_original(SHIPPED_ORIGINAL)
    points = nern_points(runs, work, data) + ptq_points(work, data)
    ptq = [p for p in points if p["family"] == "ptq"]
    for p in points:
        if p["family"] == "nern":
            p["dominated_by_ptq"] = dominated(p, ptq)
    plot(points, ocfg["test_acc"], Path(args.out).with_suffix(".png"))
    winners = [p["method"] for p in points if p["family"] == "nern" and not p["dominated_by_ptq"]]
    write_result(args.out, {
        "model": "resnet20", "dataset": "digits (embedded)", "original_acc": round(ocfg["test_acc"], 2),
        "original_bytes": SHIPPED_ORIGINAL.stat().st_size, "test_images": len(data.test),
        "recipe": {"iterations": args.iterations, "warmup": args.warmup, "alpha": 1e-2, "beta": 1e-2,
                   "weights": "final iteration (no model selection)"},
        "points": points, "nern_not_dominated_by_ptq": winners,
        "fits": [strip(r) for r in runs],
    }, wall_s=time.time() - t0 + sum(r["wall_s"] for r in runs))
    for p in points:
        print(f"{p['method']:>36}  {p['bytes']:>9,} B  {p['accuracy']:6.2f}%")


if __name__ == "__main__":
    sys.exit(run_main(lambda: main(tyro.cli(Args))))
