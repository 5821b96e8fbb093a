"""Benchmark: wall time of in-filter and cross-filter permutation (exact greedy chains).

Writes results/nern/permutation_speed.json + .png. Weights are kaiming-normal initialised (no
pretrained ResNet-18 can be downloaded here); the greedy chain's cost depends on the number of
kernels, not on their values. The reference implementation needs hours for ResNet-18 cross-filter.

    .venv/bin/python benchmarks/nern_permutation_speed.py
"""

from __future__ import annotations

import sys
import time

import torch

from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.nern.layers import KernelTable, discover_convs
from frozenfit.nern.models import ResNet18
from frozenfit.nern.permutation import permute_layer, permute_table


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return round(time.perf_counter() - t, 2)


def main() -> None:
    t0 = time.time()
    torch.manual_seed(0)
    w = torch.empty(512, 512, 3, 3)
    torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    layer = {m + "_s": timed(lambda m=m: permute_layer(w, m)) for m in ("in_filter", "cross_filter")}
    print("512x512x3x3:", layer)
    model = ResNet18()
    layers = discover_convs(model, torch.zeros(1, 3, 224, 224), max_kernel=7)
    table = KernelTable(layers, dict(model.named_parameters()), 7)
    net = {m + "_s": timed(lambda m=m: permute_table(table, m, progress=True)) for m in ("in_filter", "cross_filter")}
    net["kernels"], net["layers"] = table.num_kernels, len(layers)
    print("resnet18:", net)
    layer["kernels"] = 512 * 512

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = ["512×512×3×3 layer", f"ResNet-18 ({net['kernels']:,} kernels)"]
    for k, (mode, off) in enumerate((("in_filter", -0.2), ("cross_filter", 0.2))):
        vals = [layer[mode + "_s"], net[mode + "_s"]]
        ax.bar([i + off for i in range(2)], vals, width=0.4, label=mode.replace("_", "-"))
        for i, v in enumerate(vals):
            ax.text(i + off, v, f"{v:.1f}s", ha="center", va="bottom", fontsize=8)
    ax.axhline(120, color="r", ls=":", label="2-minute target (one layer)")
    ax.set_xticks(range(2), names)
    ax.set_ylabel("seconds (2 CPU cores)")
    ax.set_title("exact greedy-chain permutation time")
    ax.legend(fontsize=8)
    save_figure(fig, "results/nern/permutation_speed.png")
    write_result("results/nern/permutation_speed.json", {
        "layer_512x512x3x3": layer, "resnet18": net,
        "weights": "kaiming-normal init (fan_out); chain cost depends on kernel count, not values",
        "threads": torch.get_num_threads(),
    }, wall_s=time.time() - t0)


if __name__ == "__main__":
    sys.exit(run_main(main))
