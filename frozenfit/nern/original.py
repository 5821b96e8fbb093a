"""The original (pretrained, frozen) CNN: train it, save it, load it, evaluate it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import ClassVar, Literal
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.common.logging import RunLogger
from frozenfit.common.results import portable_path
from frozenfit.common.seeding import seed_everything
from frozenfit.errors import FrozenfitError
from frozenfit.nern.data import DataSplits, InfiniteLoader, augment, batches, load_data
from frozenfit.nern.models import build_model

ORIGINAL_KIND = "nern-original"
ORIGINAL_VERSION = 1
ASSETS = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_ORIGINAL = ASSETS / "resnet20_digits.safetensors"


@dataclass
class TrainOriginalConfig:
    """Train the CNN that NeRN will represent (SGD + Nesterov, cosine LR, best-on-val kept)."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("weight_decay",)  # see common.checks

    model: str = "resnet20"
    """resnet20 | resnet56 | resnet18"""
    dataset: str = "digits"
    """digits (embedded) | shapes32 (procedural, ships as code) | cifar10 | cifar100 | imagefolder"""
    data_root: str | None = None
    epochs: int = 120
    batch_size: int = 128
    lr: float = 0.1
    weight_decay: float = 5e-4
    seed: int = 0
    out: str = "runs/original/resnet20_digits.safetensors"
    """Final checkpoint (best validation accuracy); training state sits beside it."""
    resume: bool = False
    threads: int = 0
    """torch threads (0 = leave the default)."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """Training forward/backward in fp32 or under CPU bfloat16 autocast (about 2x faster on CPUs
    with AMX; the weights, the optimizer and every evaluation stay fp32)."""


def accuracy(model: nn.Module, ds, batch: int = 512, params: dict[str, torch.Tensor] | None = None) -> float:
    """Top-1 accuracy in percent; ``params`` overrides weights through a functional forward."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in batches(ds, batch):
            if x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            logits = model(x) if params is None else torch.func.functional_call(model, params, (x,))
            correct += int((logits.argmax(1) == y).sum())
            total += len(y)
    return 100.0 * correct / max(total, 1)


def save_original(path: str | Path, model: nn.Module, config: dict) -> Path:
    return save_checkpoint(path, ORIGINAL_KIND, ORIGINAL_VERSION, config, model.state_dict())


def load_original(path: str | Path | None = None) -> tuple[nn.Module, dict]:
    """Rebuild an original CNN from its checkpoint (default: the shipped ResNet-20 on digits)."""
    path = Path(path) if path else SHIPPED_ORIGINAL
    ck = load_checkpoint(path, kind=ORIGINAL_KIND, format_version=ORIGINAL_VERSION)
    cfg = ck.config
    for key in ("model", "num_classes", "in_channels", "dataset"):
        if key not in cfg:
            raise FrozenfitError(f"{path}: checkpoint config lacks '{key}'")
    model = build_model(cfg["model"], cfg["num_classes"], cfg["in_channels"])
    expected = model.state_dict()
    missing = sorted(set(expected) - set(ck.tensors))
    if missing:
        raise FrozenfitError(f"{path}: not a {cfg['model']} checkpoint, missing {missing[:3]}")
    for k, v in expected.items():
        if tuple(ck.tensors[k].shape) != tuple(v.shape):
            raise FrozenfitError(f"{path}: '{k}' has shape {tuple(ck.tensors[k].shape)}, "
                                 f"{cfg['model']} expects {tuple(v.shape)}")
    model.load_state_dict(ck.tensors)
    model.eval()
    return model, cfg


def train_original(cfg: TrainOriginalConfig, data: DataSplits | None = None) -> dict:
    """Train from scratch (or resume), keep the best-on-val weights; returns a summary."""
    if cfg.precision not in ("fp32", "bf16"):
        raise FrozenfitError(f"precision must be 'fp32' or 'bf16', not '{cfg.precision}'")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    gen = seed_everything(cfg.seed)
    data = data or load_data(cfg.dataset, cfg.data_root, seed=cfg.seed)
    model = build_model(cfg.model, data.num_classes, data.in_channels)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True,
                          weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(data.train) // cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=total, pct_start=0.15)
    out = Path(cfg.out)
    state_path = out.with_suffix(".train-state.safetensors")
    best_val, epoch0 = -1.0, 0
    if cfg.resume and state_path.exists():
        st = load_checkpoint(state_path, kind=ORIGINAL_KIND + "-train-state").state
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        gen.set_state(st["gen"])
        best_val, epoch0 = st["best_val"], st["epoch"]
    logger = RunLogger(out.parent / (out.stem + "_logs"))
    loader = InfiniteLoader(data.train, cfg.batch_size, gen)
    meta = {"model": cfg.model, "num_classes": data.num_classes, "in_channels": data.in_channels,
            "dataset": data.name, "image_size": data.image_size,
            # the checkpoint ships: no machine's folders in it
            "train_config": {**asdict(cfg), "out": portable_path(cfg.out),
                             "data_root": portable_path(cfg.data_root) if cfg.data_root else None}}
    t0 = time.time()
    for epoch in tqdm(range(epoch0, cfg.epochs), desc=f"train {cfg.model} on {data.name}",
                      initial=epoch0, total=cfg.epochs):
        model.train()
        for _ in range(steps_per_epoch):
            x, y = next(loader)
            # channels-last images: oneDNN's fastest CPU layout (the weights stay as they are)
            x = augment(x, data.pad, data.flip, gen).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", torch.bfloat16, enabled=cfg.precision == "bf16"):
                loss = F.cross_entropy(model(x).float(), y)
            if not torch.isfinite(loss):
                raise FrozenfitError(f"training loss became {loss.item()} at epoch {epoch}; lower --lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        val = accuracy(model, data.val)
        logger.log(epoch + 1, loss=loss.item(), val_acc=val, lr=sched.get_last_lr()[0])
        if val >= best_val:
            best_val = val
            save_original(out, model, {**meta, "val_acc": val, "epoch": epoch + 1})
        save_checkpoint(state_path, ORIGINAL_KIND + "-train-state", 1, meta,
                        {}, state={"model": model.state_dict(), "opt": opt.state_dict(),
                                   "sched": sched.state_dict(), "gen": gen.get_state(),
                                   "best_val": best_val, "epoch": epoch + 1})
    logger.close()
    best, best_cfg = load_original(out)
    test = accuracy(best, data.test)
    save_original(out, best, {**best_cfg, "test_acc": test})
    return {"checkpoint": str(out), "val_acc": best_val, "test_acc": test, "wall_s": time.time() - t0}
