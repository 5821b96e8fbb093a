"""Trained task policies as self-describing files, and the one loader for them.

A task-policy file holds the actor's own weights and input statistics (for Task Tokens: just the
task encoder, about 100k parameters) plus its task, method, encoder size and the digest of the BFM
it was trained on. The frozen BFM itself is not copied: the loader takes a BFM and refuses it when
its digest differs, since a task token is meaningless to any other BFM.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from frozenfit.bfm.model import BFM
from frozenfit.bfm.policy import bfm_digest
from frozenfit.common.checkpoint import check_shapes, load_checkpoint, read_metadata, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import model_hash
from frozenfit.humanoid.observations import NUM_JOINTS
from frozenfit.rl.ppo import AGENT_KIND, AGENT_VERSION
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.tasktokens.policies import build_actor, method
from frozenfit.tasktokens.tasks import make_task

POLICY_KIND = "task-policy"
POLICY_VERSION = 1
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "tasktokens"


def shipped_policy(task: str) -> Path:
    return ASSETS / f"{task}.safetensors"


def _own_weights(tensors: dict, name: str) -> dict:
    """An actor's tensors without the shared frozen BFM (kept where the method trains its own copy)."""
    if method(name).owns_bfm:
        return tensors
    return {k: v for k, v in tensors.items() if not k.startswith("bfm.")}


def export_policy(run_checkpoint: str | Path, out: str | Path) -> Path:
    """Strip a Task Tokens training checkpoint to a task-policy file at ``out``."""
    ck = load_checkpoint(run_checkpoint, kind=AGENT_KIND, format_version=AGENT_VERSION)
    if "task" not in ck.config:
        raise FrozenfitError(f"{run_checkpoint} is a PPO checkpoint but not from `frozenfit tasktokens train`")
    method = ck.config["method"]
    tensors = _own_weights({k[len("actor."):]: v for k, v in ck.tensors.items() if k.startswith("actor.")}, method)
    config = {k: ck.config[k] for k in ("task", "method", "encoder_hidden", "model_hash", "bfm_digest",
                                         "history_offsets", "use_prior")}
    config["task_version"] = ck.config.get("task_version", 1)
    config["task_config"] = ck.config.get("task_config")      # as trained (None: files before task configs)
    extra = {"env_steps": ck.state["global_step"], "train_wall_s": ck.state["wall_s"]}
    return save_checkpoint(out, POLICY_KIND, POLICY_VERSION, config, tensors, extra=extra)


def load_policy(path: str | Path, bfm: BFM) -> nn.Module:
    """The actor of a task-policy file (eval mode) on ``bfm``; ``.meta`` holds its provenance."""
    kind = read_metadata(path).get("kind")
    if kind != POLICY_KIND:
        raise FrozenfitError(f"{path} holds a '{kind}' checkpoint, expected a '{POLICY_KIND}' file "
                             "(`frozenfit tasktokens export` makes one from a training run)")
    ck = load_checkpoint(path, kind=POLICY_KIND, format_version=POLICY_VERSION)
    cfg = ck.config
    if cfg["model_hash"] != model_hash(bfm.humanoid_version):
        raise FrozenfitError(f"{path} was trained on humanoid model {cfg['model_hash']}, but the given BFM runs "
                             f"model {model_hash(bfm.humanoid_version)} (humanoid version {bfm.humanoid_version})")
    if cfg["bfm_digest"] != bfm_digest(bfm):
        raise FrozenfitError(f"{path} was trained on BFM {cfg['bfm_digest']}, but the given BFM is "
                             f"{bfm_digest(bfm)}; a task token only means something to its own BFM")
    task = make_task(cfg["task"], 1)
    if cfg.get("task_version", 1) != task.version:
        raise FrozenfitError(f"{path} was trained on version {cfg.get('task_version', 1)} of the {cfg['task']} task; "
                             f"this frozenfit has version {task.version} (its observation, reward or prompt "
                             "changed): retrain it")
    layout = ObsLayout(len(cfg["history_offsets"]), task.obs_dim, bfm.cfg.goal_version)
    actor = build_actor(cfg["method"], bfm, layout, NUM_JOINTS, tuple(cfg["encoder_hidden"]))
    want = _own_weights(actor.state_dict(), cfg["method"])
    check_shapes(path, ck.tensors, {k: tuple(v.shape) for k, v in want.items()})
    actor.load_state_dict({k: ck.tensors[k] for k in want}, strict=False)
    actor.eval()
    for p in actor.parameters():
        p.requires_grad_(False)
    actor.meta = {**cfg, **ck.extra}
    return actor
