"""The shipped BFM: one self-describing file (weights + normaliser statistics + config + humanoid
model hash) and one loader that refuses anything else with a clear message."""

from __future__ import annotations

from dataclasses import fields
import hashlib
from pathlib import Path
from typing import Any

from frozenfit.bfm.model import BFM, BFMConfig
from frozenfit.bfm.tokens import LEGACY_PROMPTS
from frozenfit.common.checkpoint import check_shapes, load_checkpoint, read_metadata, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import LAYOUTS, model_hash

BFM_KIND = "bfm"
BFM_VERSION = 1
RUN_KIND = "bfm-run"      # a distillation training state (`frozenfit bfm distill`)
RUN_VERSION = 1
SHIPPED_BFM = Path(__file__).resolve().parents[1] / "assets" / "bfm.safetensors"


def _config_from(d: dict[str, Any]) -> BFMConfig:
    names = {f.name for f in fields(BFMConfig)}
    unknown = set(d) - names
    if unknown:
        raise FrozenfitError(f"BFM config has fields this frozenfit does not know: {sorted(unknown)}")
    d = {"prompts": LEGACY_PROMPTS, **d}  # files from before keyframe prompts do not name their prompts
    try:
        return BFMConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
    except ValueError as e:
        raise FrozenfitError(f"BFM config: {e}") from None


def export_bfm(run_checkpoint: str | Path, out: str | Path) -> Path:
    """Strip a distillation checkpoint to the shippable BFM file (no optimiser state)."""
    ck = load_checkpoint(run_checkpoint, kind=RUN_KIND, format_version=RUN_VERSION)
    meta = {"env_steps": ck.state["global_step"], "train_wall_s": ck.state["wall_s"]}
    return save_checkpoint(out, BFM_KIND, BFM_VERSION, ck.config, ck.tensors, extra=meta)


def load_bfm(path: str | Path = SHIPPED_BFM) -> BFM:
    """Load a BFM file (or a distillation run checkpoint) in eval mode; ``.meta`` holds its provenance.

    Refuses other kinds, other format versions, files for another humanoid model and shape
    mismatches, each with a message saying what to do.
    """
    kind = read_metadata(path).get("kind")
    if kind not in (BFM_KIND, RUN_KIND):
        raise FrozenfitError(f"{path} holds a '{kind}' checkpoint, expected a '{BFM_KIND}' file "
                             f"(or a '{RUN_KIND}' distillation checkpoint)")
    version = BFM_VERSION if kind == BFM_KIND else RUN_VERSION
    ck = load_checkpoint(path, kind=kind, format_version=version)
    known = {model_hash(v): v for v in LAYOUTS}
    if ck.config.get("model_hash") not in known:
        raise FrozenfitError(f"{path} was distilled on humanoid model {ck.config.get('model_hash')}, but this "
                             f"frozenfit builds models {', '.join(known)} (versions {', '.join(map(str, known.values()))}); "
                             f"distill a BFM for one of them")
    bfm = BFM(_config_from(ck.config["model"]))
    if known[ck.config["model_hash"]] != bfm.humanoid_version:
        raise FrozenfitError(f"{path}: a goal set {bfm.cfg.goal_version} BFM on humanoid version "
                             f"{known[ck.config['model_hash']]}; each goal set is laid out for its own humanoid")
    check_shapes(path, ck.tensors, {k: tuple(v.shape) for k, v in bfm.state_dict().items()})
    bfm.load_state_dict({k: ck.tensors[k] for k in bfm.state_dict()})
    bfm.eval()
    for p in bfm.parameters():
        p.requires_grad_(False)
    bfm.meta = {"kind": kind, **ck.config, **ck.extra}
    if ck.state is not None:
        bfm.meta["env_steps"] = ck.state.get("global_step")
    return bfm


def bfm_digest(bfm: BFM) -> str:
    """Digest of the BFM's weights and statistics: a task policy only runs on the BFM it was trained on."""
    h = hashlib.sha256()
    for k, v in sorted(bfm.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
