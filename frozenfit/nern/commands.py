"""The `frozenfit nern ...` commands: evaluate, export, demo (train-original and fit live with
their own modules). Each takes one typed dataclass config."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import torch
from torch import nn

from frozenfit.common.checkpoint import read_metadata
from frozenfit.nern.artifact import artifact_parts, export_artifact, load_artifact, size_warning
from frozenfit.nern.data import load_data
from frozenfit.nern.fit import FitConfig, fit, representation_from_run
from frozenfit.nern.original import (SHIPPED_ORIGINAL, TrainOriginalConfig, accuracy, load_original, save_original,
                                     train_original)
from frozenfit.errors import FrozenfitError
from frozenfit.nern.pruning import Method, Scope, prune_weights
from frozenfit.nern.ptq import PTQ_KIND, export_ptq, load_ptq
from frozenfit.nern.quantize import Scheme


@dataclass
class EvalConfig:
    """Accuracy of a NeRN artifact's reconstructed network, or of a PTQ file (and of the original)."""

    artifact: str
    original: str | None = None
    data_root: str | None = None
    split: Literal["val", "test"] = "test"


def run_eval(cfg: EvalConfig) -> dict:
    if not Path(cfg.artifact).is_file():
        found = sorted(str(p) for p in Path("runs").glob("*/best.nern")) if Path("runs").is_dir() else []
        raise FrozenfitError(f"no artifact at {cfg.artifact}" + (f"; artifacts under runs/: {', '.join(found)}"
                                                                  if found else "; `frozenfit nern fit` writes one"))
    kind = read_metadata(cfg.artifact).get("kind")
    model, acfg = load_ptq(cfg.artifact) if kind == PTQ_KIND else load_artifact(cfg.artifact)
    data = load_data(acfg.get("dataset", "digits"), cfg.data_root)
    ds = data.test if cfg.split == "test" else data.val
    out = {"reconstructed_acc": accuracy(model, ds), "artifact_bytes": Path(cfg.artifact).stat().st_size}
    if cfg.original:
        orig, _ = load_original(cfg.original)
        out["original_acc"] = accuracy(orig, ds)
    for k, v in out.items():
        print(f"{k:>20}: {v:.2f}" if isinstance(v, float) else f"{k:>20}: {v}")
    return out


@dataclass
class ExportConfig:
    """Write the compressed artifact of a fit run (its latest training state) to one file."""

    run_dir: str
    out: str
    predictor_scheme: Scheme = "fp32"
    """Storage of the predictor's weight matrices: fp32, fp16, int8 (per tensor / channel), int4."""
    kept_scheme: Literal["fp32", "fp16"] | None = None
    """Storage of biases and kept tensors (BN, classifier); default fp32 iff the predictor is fp32."""


def run_export(cfg: ExportConfig) -> int:
    rep, model_config = representation_from_run(cfg.run_dir)
    size = export_artifact(rep, cfg.out, model_config, cfg.predictor_scheme, cfg.kept_scheme)
    parts = artifact_parts(cfg.out)
    print(f"wrote {cfg.out}: {size} bytes (predictor {parts['predictor']}, permutation tables "
          f"{parts['perm']}, kept tensors {parts['kept']}, header {size - sum(parts.values())})")
    if (warning := size_warning(size, rep.original)) is not None:
        print(warning)
    return size


@dataclass
class PruneConfig:
    """One-shot pruning of the original's conv weights, scored by a NeRN artifact's reconstruction."""
    FRACTIONS: ClassVar[tuple[str, ...]] = ("ratio",)  # see common.checks

    artifact: str
    """NeRN artifact of the original (needed for --method nern)."""
    ratio: float = 0.5
    method: Method = "nern"
    scope: Scope = "layer"
    original: str | None = None
    """Original checkpoint (default: the shipped ResNet-20)."""
    data_root: str | None = None
    out: str | None = None
    """Write the pruned original here (same format as the original checkpoint)."""
    seed: int = 0


def reconstructed_conv_weights(artifact: str | Path, model: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """{conv weight name: NeRN-reconstructed weight} of every layer an artifact represents."""
    rec, acfg = load_artifact(artifact, model)
    state = rec.state_dict()
    return {f"{name}.weight": state[f"{name}.weight"] for name, _ in acfg["layers"]}


def run_prune(cfg: PruneConfig) -> dict:
    model, ocfg = load_original(cfg.original)
    recon = reconstructed_conv_weights(cfg.artifact, copy.deepcopy(model))
    state = model.state_dict()
    pruned = prune_weights({k: state[k] for k in recon}, recon, cfg.ratio, cfg.method, cfg.scope,
                           torch.Generator().manual_seed(cfg.seed))
    data = load_data(ocfg.get("dataset", "digits"), cfg.data_root)
    out = {"original_acc": accuracy(model, data.test), "pruned_acc": accuracy(model, data.test, params=pruned)}
    print(f"{cfg.method} pruning ({cfg.scope}) of {100 * cfg.ratio:.0f}% of {sum(v.numel() for v in recon.values()):,} "
          f"conv weights: test accuracy {out['original_acc']:.2f}% -> {out['pruned_acc']:.2f}%")
    if cfg.out:
        model.load_state_dict({**state, **pruned})
        save_original(cfg.out, model, {**ocfg, "pruned": {"ratio": cfg.ratio, "method": cfg.method, "scope": cfg.scope}})
        print(f"wrote {cfg.out}")
    return out


@dataclass
class PTQConfig:
    """Post-training weight quantisation of the original (the baseline NeRN is compared with)."""

    out: str
    scheme: Scheme = "int8_channel"
    original: str | None = None
    data_root: str | None = None


def run_ptq(cfg: PTQConfig) -> dict:
    model, ocfg = load_original(cfg.original)
    size = export_ptq(model, ocfg, cfg.out, cfg.scheme, other_scheme="fp32" if cfg.scheme == "fp32" else "fp16")
    q, _ = load_ptq(cfg.out)
    data = load_data(ocfg.get("dataset", "digits"), cfg.data_root)
    out = {"bytes": size, "original_acc": accuracy(model, data.test), "quantised_acc": accuracy(q, data.test)}
    print(f"wrote {cfg.out}: {size:,} bytes; test accuracy {out['original_acc']:.2f}% -> {out['quantised_acc']:.2f}%")
    return out


@dataclass
class DemoConfig:
    """NeRN on the embedded default: load (or train) the shipped ResNet-20, fit, report, plot."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("alpha", "beta", "warmup")  # see common.checks

    iterations: int = 6000
    warmup: int = 5000
    """Reconstruction-only iterations first (cheap: no CNN forward), then the joint loss."""
    alpha: float = 1e-2
    beta: float = 1e-2
    hidden: int = 160
    permutation: Literal["none", "in_filter", "cross_filter"] = "cross_filter"
    out_dir: str = "runs/nern-demo"
    retrain_original: bool = False
    """Train the original from scratch instead of loading the shipped checkpoint."""


def run_demo(cfg: DemoConfig) -> dict:
    t0 = time.time()
    original = str(SHIPPED_ORIGINAL)
    if cfg.retrain_original or not SHIPPED_ORIGINAL.exists():
        original = str(Path(cfg.out_dir) / "original.safetensors")
        print("training the original ResNet-20 on the embedded digits ...")
        train_original(TrainOriginalConfig(out=original))
    res = fit(FitConfig(original=original, hidden=cfg.hidden, permutation=cfg.permutation,
                        iterations=cfg.iterations, warmup=cfg.warmup, alpha=cfg.alpha, beta=cfg.beta,
                        out_dir=cfg.out_dir))
    plot = plot_fit_history(res.history, Path(cfg.out_dir) / "fit_curve.png", res.original_val_acc, cfg.warmup)
    pct = 100 * res.predictor_params / res.represented_params
    rows = [
        ("original test accuracy", f"{res.original_test_acc:.2f} %"),
        ("reconstructed test accuracy", f"{res.reconstructed_test_acc:.2f} %  (predictor chosen on "
                                        f"validation, iteration {res.best_iteration})"),
        ("represented conv parameters", f"{res.represented_params:,}"),
        ("predictor parameters", f"{res.predictor_params:,}  ({pct:.1f} % of represented)"),
        ("original tensor bytes", f"{res.original_bytes:,}  (fp32 tensors, no file header)"),
        ("NeRN artifact bytes", f"{res.artifact_bytes:,}  ({res.artifact})"),
        ("permutation time", f"{res.permutation_s:.1f} s ({cfg.permutation})"),
        ("learning curve", str(plot)),
        ("wall time", f"{time.time() - t0:.0f} s"),
    ]
    print("\nNeRN demo — ResNet-20 on the embedded digits")
    for k, v in rows:
        print(f"  {k:<30} {v}")
    return {k: v for k, v in rows}


def plot_fit_history(history: list[dict[str, float]], path: Path, original_val: float | None = None,
                     warmup: int | None = None) -> Path:
    """Validation accuracy and full-table RMSE against iterations, from a fit's eval rows, with a
    line where distillation starts (after ``warmup`` reconstruction-only iterations)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from frozenfit.common.results import save_figure

    steps = [r["step"] for r in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(steps, [r["val_acc"] for r in history], marker="o", label="reconstructed")
    if original_val is not None:
        a.axhline(original_val, color="k", ls="--", label="original")
    b.semilogy(steps, [r["rmse_all"] for r in history], marker="o")
    if warmup:
        for ax in (a, b):
            ax.axvline(warmup, color="grey", ls=":", label="distillation starts")
    a.set(xlabel="iteration", ylabel="validation accuracy (%)", title="accuracy")
    a.legend()
    b.set(xlabel="iteration", ylabel="RMSE over all kernels", title="reconstruction error")
    return save_figure(fig, path)
