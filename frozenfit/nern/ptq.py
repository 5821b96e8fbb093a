"""Post-training weight quantisation of the original CNN: the baseline NeRN must beat.

Every conv and linear weight is stored in int8 or int4 (symmetric, per output channel, clipping
searched for least squared error); BN parameters, biases and buffers in fp16 (or fp32). No
calibration data and no fine-tuning: what a user gets from one call, like NeRN's export. The
file is as compact as the NeRN artifact (one blob per group), so bytes compare fairly.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.nern.models import build_model
from frozenfit.nern.quantize import SCHEMES, Scheme, decode_state, encode_state

PTQ_KIND = "nern-ptq"
PTQ_VERSION = 1


def _weight_names(model: nn.Module) -> list[str]:
    """Weights of every Conv2d and Linear, in state-dict order."""
    return [f"{n}.weight" for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def export_ptq(model: nn.Module, model_config: dict, path: str | Path, scheme: Scheme = "int8_channel",
               other_scheme: Scheme = "fp16") -> int:
    """Write the quantised original; returns its exact size in bytes."""
    if other_scheme not in ("fp32", "fp16"):
        raise FrozenfitError("non-weight tensors are stored in fp32 or fp16")
    state = model.state_dict()
    weights = _weight_names(model)
    others = [k for k in state if k not in set(weights)]
    tensors, w_digest = encode_state(state, weights, scheme, "weights")
    rest, o_digest = encode_state(state, others, other_scheme, "other")
    tensors.update(rest)
    config = {**model_config, "storage": {"weights": scheme, "other": other_scheme},
              "layout": {"weights": w_digest, "other": o_digest}}
    save_checkpoint(path, PTQ_KIND, PTQ_VERSION, config, tensors)
    return Path(path).stat().st_size


def load_ptq(path: str | Path, model: nn.Module | None = None) -> tuple[nn.Module, dict]:
    """The dequantised network of a PTQ file (pass ``model`` for custom architectures)."""
    ck = load_checkpoint(path, kind=PTQ_KIND, format_version=PTQ_VERSION)
    cfg = ck.config
    store, layout = cfg.get("storage") or {}, cfg.get("layout") or {}
    if store.get("weights") not in SCHEMES or store.get("other") not in ("fp32", "fp16"):
        raise FrozenfitError(f"{path}: unknown storage schemes {store}")
    if model is None:
        if "model" not in cfg:
            raise FrozenfitError(f"{path} holds a custom model: pass model=<an instance>")
        model = build_model(cfg["model"], cfg["num_classes"], cfg["in_channels"])
    like = model.state_dict()
    weights = _weight_names(model)
    others = [k for k in like if k not in set(weights)]
    state = decode_state(ck.tensors, like, weights, store["weights"], "weights", layout.get("weights"), str(path))
    state.update(decode_state(ck.tensors, like, others, store["other"], "other", layout.get("other"), str(path)))
    model.load_state_dict(state)
    return model.eval(), cfg
