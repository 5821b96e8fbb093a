"""The NeRN benchmark: ResNet-20 and ResNet-56 trained on Shapes-32, and how their accuracy
responds to weight noise -> results/nern/benchmark.json (+ benchmark.png).

Shapes-32 (frozenfit/nern/shapes.py) is ours: procedural 32×32 RGB, 10 classes, 50,000 training
and 10,000 test images, generated from code. Each network is trained from scratch here (SGD +
Nesterov, one-cycle lr, flips and 4-pixel shifts, best on validation kept, bf16 autocast by
default (about 2x faster on AMX CPUs; the weights and every evaluation are fp32); resumable), and the
trained checkpoints are what NeRN represents (``--ship`` copies them into `frozenfit/assets/`).
Noise sensitivity: Gaussian noise of relative size sigma (sigma x each layer's weight RMS) added to
every conv weight, test accuracy averaged over NOISE_DRAWS draws; the same curve for the digits
original shows why the digits cannot rank NeRN's ablations.

    python experiments/nern_benchmark.py [--models resnet20 resnet56] [--epochs 30] [--ship]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch

from frozenfit.common.results import portable_path, save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.nern.data import load_data
from frozenfit.nern.original import (SHIPPED_ORIGINAL, TrainOriginalConfig, accuracy, load_original, save_original,
                                      train_original)
from frozenfit.nern.shapes import CLASSES, ShapesConfig

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "nern"
RUNS = ROOT / "runs" / "nern-benchmark"
ASSETS = ROOT / "frozenfit" / "assets"
SIGMAS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
NOISE_DRAWS = 3


def noise_curve(model: torch.nn.Module, test, sigmas=SIGMAS, draws: int = NOISE_DRAWS) -> list[list[float]]:
    """[[sigma, mean test accuracy], ...] under relative Gaussian noise on every conv weight."""
    gen = torch.Generator().manual_seed(0)
    out = []
    for s in sigmas:
        accs = []
        for _ in range(draws if s > 0 else 1):
            noisy = copy.deepcopy(model)
            with torch.no_grad():
                for m in noisy.modules():
                    if isinstance(m, torch.nn.Conv2d):
                        w = m.weight
                        w.add_(s * w.pow(2).mean().sqrt() * torch.randn(w.shape, generator=gen))
            accs.append(accuracy(noisy, test))
        out.append([s, round(sum(accs) / len(accs), 2)])
    return out


def ship(trained: Path, epochs: int) -> str:
    """Copy a finished original into frozenfit/assets/ with its training config's paths relative to
    the repository (a file trained before that fix named this machine's folders); weights unchanged."""
    if not trained.exists():
        raise SystemExit(f"{portable_path(trained)} is missing: run experiments/nern_benchmark.py first")
    model, meta = load_original(trained)
    if meta.get("epoch") is None or "test_acc" not in meta or meta["train_config"]["epochs"] != epochs:
        raise SystemExit(f"{portable_path(trained)} has not finished its {epochs} epochs: run the benchmark first")
    tc = meta["train_config"]
    meta = {**meta, "train_config": {**tc, "out": portable_path(tc["out"]),
                                     "data_root": portable_path(tc["data_root"]) if tc.get("data_root") else None}}
    dest = ASSETS / trained.name
    save_original(dest, model, meta)
    return portable_path(dest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["resnet20", "resnet56"], choices=["resnet20", "resnet56"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--precision", default="bf16", choices=["fp32", "bf16"],
                    help="training precision of the originals (evaluation is always fp32)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 leaves a core to another job)")
    ap.add_argument("--ship", action="store_true",
                    help="only copy the trained checkpoints into frozenfit/assets/ (train and measure nothing)")
    a = ap.parse_args()
    if a.epochs <= 0 or a.threads <= 0:
        ap.error("--epochs and --threads must be positive")
    if a.ship:
        for name in a.models:
            print(f"shipped {ship(RUNS / f'{name}_shapes32.safetensors', a.epochs)}")
        return
    t0 = time.time()
    torch.set_num_threads(a.threads)
    data = load_data("shapes32")
    models, curves = {}, {}
    for name in a.models:
        out = RUNS / f"{name}_shapes32.safetensors"
        cfg = TrainOriginalConfig(model=name, dataset="shapes32", epochs=a.epochs, out=str(out),
                                  resume=True, precision=a.precision, threads=a.threads)
        train_original(cfg, data)   # resumes; a finished run only re-measures its test accuracy
        model, meta = load_original(out)
        models[name] = {"test_acc": round(accuracy(model, data.test), 2), "val_acc": round(meta["val_acc"], 2),
                        "epochs": a.epochs, "best_epoch": meta["epoch"],
                        "params": sum(p.numel() for p in model.parameters())}
        curves[name] = noise_curve(model, data.test)
        print(f"{name}: test {models[name]['test_acc']:.2f} %, noise curve {curves[name]}", flush=True)
    digits_model, _ = load_original(SHIPPED_ORIGINAL)
    digits_curve = noise_curve(digits_model, load_data("digits").test)
    cfg = ShapesConfig()
    payload = {"classes": len(CLASSES), "class_names": list(CLASSES), "train_images": cfg.train,
               "test_images": cfg.test, "image_size": 32, "dataset_seed": cfg.seed, "difficulty": cfg.difficulty,
               "models": models, "noise_sensitivity": curves.get("resnet20", next(iter(curves.values()))),
               "noise_sensitivity_by_model": curves, "noise_sensitivity_digits_resnet20": digits_curve,
               "noise": "relative Gaussian: sigma x the layer's weight RMS, every conv weight",
               "noise_draws": NOISE_DRAWS}
    write_result(OUT / "benchmark.json", payload, wall_s=time.time() - t0)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, c in curves.items():
        ax.plot(*zip(*c), marker="o", label=f"{name}, Shapes-32 ({models[name]['test_acc']:.1f} %)")
    ax.plot(*zip(*digits_curve), marker="s", ls="--", label="resnet20, digits (8×8)")
    ax.set(xlabel="relative weight noise sigma", ylabel="test accuracy (%)",
           title="Accuracy under Gaussian noise on every conv weight")
    ax.legend(fontsize=8)
    save_figure(fig, OUT / "benchmark.png")


if __name__ == "__main__":
    sys.exit(run_main(main))
