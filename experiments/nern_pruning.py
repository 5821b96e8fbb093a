"""Experiment: weight-importance pruning from NeRN vs magnitude and random pruning.

The original ResNet-20's conv weights are pruned one-shot (no fine-tuning) at ratios 10–70%,
per layer and globally. NeRN's score is the relative reconstruction error |W − Ŵ|/|W| of a fit
(h=160, cross-filter; the size–accuracy study's run, fitted here if missing): the worst
reconstructed weights go first. Random pruning is averaged over seeds.

    .venv/bin/python experiments/nern_pruning.py

Writes results/nern/pruning.json and results/nern/pruning.png.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import tyro
from nern_runs import recipe, run_fit, strip

from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.nern.commands import reconstructed_conv_weights
from frozenfit.nern.data import load_digits
from frozenfit.nern.original import SHIPPED_ORIGINAL, accuracy, load_original
from frozenfit.nern.pruning import prune_weights


@dataclass
class Args:
    ratios: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    random_seeds: int = 5
    hidden: int = 160
    iterations: int = 6000
    warmup: int = 5000
    out: str = "results/nern/pruning.json"


def main(args: Args) -> None:
    t0 = time.time()
    n, w, h = args.iterations, args.warmup, args.hidden
    fit_rec = run_fit(f"h{h}-cross-n{n}-w{w}-joint", recipe(h, iterations=n, warmup=w))
    model, ocfg = load_original(SHIPPED_ORIGINAL)
    data = load_digits()
    recon = reconstructed_conv_weights(fit_rec["artifact"])
    state = model.state_dict()
    orig = {k: state[k] for k in recon}
    curves: dict[str, dict[str, list]] = {}
    for scope in ("layer", "global"):
        curves[scope] = {"nern": [], "magnitude": [], "random_mean": [], "random_std": []}
        for ratio in args.ratios:
            for method in ("nern", "magnitude"):
                pruned = prune_weights(orig, recon, ratio, method, scope)
                curves[scope][method].append(round(accuracy(model, data.test, params=pruned), 2))
            rand = [accuracy(model, data.test, params=prune_weights(orig, None, ratio, "random", scope,
                                                                     torch.Generator().manual_seed(s)))
                    for s in range(args.random_seeds)]
            curves[scope]["random_mean"].append(round(statistics.mean(rand), 2))
            curves[scope]["random_std"].append(round(statistics.stdev(rand), 2))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    pct = [100 * r for r in args.ratios]
    for ax, (scope, c) in zip(axes, curves.items()):
        ax.plot(pct, c["nern"], "o-", label="NeRN (worst reconstructed first)")
        ax.plot(pct, c["magnitude"], "s-", label="magnitude")
        ax.errorbar(pct, c["random_mean"], yerr=c["random_std"], fmt="^-", capsize=3,
                    label=f"random (mean ± std, {args.random_seeds} seeds)")
        ax.axhline(ocfg["test_acc"], color="k", ls="--", lw=1, label="unpruned")
        ax.set(xlabel="conv weights pruned (%)", title=f"{scope}-wise, one-shot, no fine-tuning")
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(fontsize=8)
    save_figure(fig, Path(args.out).with_suffix(".png"))
    write_result(args.out, {
        "model": "resnet20", "dataset": "digits (embedded)", "original_acc": round(ocfg["test_acc"], 2),
        "pruned_weights": "all represented conv weights (269,968); BN and classifier untouched",
        "ratios": list(args.ratios), "curves": curves, "random_seeds": args.random_seeds,
        "nern_fit": strip(fit_rec), "test_images": len(data.test),
    }, wall_s=time.time() - t0)
    for scope, c in curves.items():
        print(scope, c)


if __name__ == "__main__":
    sys.exit(run_main(lambda: main(tyro.cli(Args))))
