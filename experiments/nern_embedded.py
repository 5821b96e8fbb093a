"""Experiment: NeRN on the embedded default for each permutation mode.

ResNet-20 trained here on the embedded digits (the shipped original), predictor h=160 (43% of the
represented conv parameters). Each run: a reconstruction-only warm-up, then the joint loss
(reconstruction + α·FMD + β·KL); best predictor chosen on the held-out validation split; accuracy
reported on the test split. Runs are resumable: finished modes are skipped when restarted.

    .venv/bin/python experiments/nern_embedded.py [--iterations N --warmup N ...]

Writes results/nern/embedded.json and results/nern/embedded.png.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import tyro

from frozenfit.common.logging import read_csv_log
from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.nern.fit import FitConfig, fit
from frozenfit.nern.original import SHIPPED_ORIGINAL, load_original


@dataclass
class Args:
    hidden: int = 160
    iterations: int = 9500
    warmup: int = 8000
    alpha: float = 1e-2
    beta: float = 1e-2
    modes: tuple[str, ...] = ("none", "in_filter", "cross_filter")
    run_root: str = "runs/nern-embedded"
    out: str = "results/nern/embedded.json"


def main(args: Args) -> None:
    _, ocfg = load_original(SHIPPED_ORIGINAL)
    done_path = Path(args.run_root) / "finished.json"
    finished = json.loads(done_path.read_text()) if done_path.exists() else {}
    runs, histories = [], {}
    original_acc = ocfg["test_acc"]  # measured on the test split when the original was trained
    for mode in args.modes:
        run_dir = Path(args.run_root) / mode
        if mode in finished:
            rec = finished[mode]
        else:
            cfg = FitConfig(original=str(SHIPPED_ORIGINAL), hidden=args.hidden, permutation=mode,
                            iterations=args.iterations, warmup=args.warmup, alpha=args.alpha,
                            beta=args.beta, out_dir=str(run_dir), resume=True, progress=True)
            r = fit(cfg)
            rec = {"permutation": mode, "hidden": args.hidden, "predictor_params": r.predictor_params,
                   "represented_params": r.represented_params,
                   "reconstructed_acc": round(r.reconstructed_test_acc, 2),
                   "final_iteration_acc": round(r.final_test_acc, 2), "best_iteration": r.best_iteration,
                   "iterations": r.iterations, "warmup": args.warmup, "alpha": args.alpha,
                   "beta": args.beta, "artifact_bytes": r.artifact_bytes,
                   "permutation_s": round(r.permutation_s, 2), "wall_s": round(r.wall_s, 1)}
            finished[mode] = rec
            done_path.write_text(json.dumps(finished))
        rec = {k: v for k, v in rec.items() if k not in ("history", "original_test_acc")}
        histories[mode] = [h for h in read_csv_log(run_dir / "logs" / "log.csv") if "val_acc" in h]
        rec["final_rmse"] = round(histories[mode][-1]["rmse_all"], 5)
        # the learning curve travels with the result: the plot never needs runs/ again
        rec["curve"] = [[int(h["step"]), round(h["val_acc"], 2), round(h["rmse_all"], 6)] for h in histories[mode]]
        runs.append(rec)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for mode, hist in histories.items():
        steps = [h["step"] for h in hist]
        a.plot(steps, [h["val_acc"] for h in hist], label=mode)
        b.semilogy(steps, [h["rmse_all"] for h in hist], label=mode)
    a.axhline(original_acc, color="k", ls="--", label="original (test)")
    a.axvline(args.warmup, color="grey", ls=":", label="distillation starts")
    a.set(xlabel="iteration", ylabel="validation accuracy (%)", ylim=(0, 101),
          title=f"ResNet-20 / digits, h={args.hidden}")
    b.set(xlabel="iteration", ylabel="RMSE over all kernels", title="weight reconstruction")
    a.legend()
    b.legend()
    save_figure(fig, Path(args.out).with_suffix(".png"))
    best = max(runs, key=lambda r: r["reconstructed_acc"])
    write_result(args.out, {
        "model": "resnet20", "dataset": "digits (scikit-learn 8x8, embedded)",
        "original_acc": round(original_acc, 2), "runs": runs,
        "best_permutation": best["permutation"],
        "best_gap_points": round(original_acc - best["reconstructed_acc"], 2),
        "selection": "best validation accuracy (held-out part of the training data); test reported",
        "test_images": 359,
    }, wall_s=sum(r["wall_s"] for r in runs))
    print(json.dumps(runs, indent=1))


if __name__ == "__main__":
    sys.exit(run_main(lambda: main(tyro.cli(Args))))
