"""The shipped teacher: one self-describing file and one loader.

The file holds the PPO agent's weights with its observation/value normaliser statistics, the
environment and goal configs it was trained with, and the hash of the humanoid MJCF. Loading
refuses files of another kind or version, files for another humanoid model, and shape mismatches.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import torch

from frozenfit.common.checkpoint import check_shapes, load_checkpoint, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig
from frozenfit.humanoid.model import model_hash
from frozenfit.rl.ppo import AGENT_KIND, AGENT_VERSION, Agent, PPOConfig
from frozenfit.teacher.goals import GoalConfig

TEACHER_KIND = "teacher"
TEACHER_VERSION = 1
SHIPPED_TEACHER = Path(__file__).resolve().parents[1] / "assets" / "teacher.safetensors"


def _dataclass_from(cls, d: dict[str, Any]):
    """Rebuild a (nested) config dataclass from its asdict() form, tuples restored."""
    kwargs = {}
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        if is_dataclass(hints[f.name]) and isinstance(v, dict):
            v = _dataclass_from(hints[f.name], v)
        elif isinstance(v, list):
            v = tuple(v)
        kwargs[f.name] = v
    return cls(**kwargs)


@dataclass
class Teacher:
    agent: Agent
    env_cfg: EnvConfig
    goal_cfg: GoalConfig
    ppo_cfg: PPOConfig
    meta: dict[str, Any]

    @torch.no_grad()
    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """Deterministic action (the mean) for a batch of observations."""
        return self.agent.action_mean(obs)


def export_teacher(run_checkpoint: str | Path, out: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Strip a PPO run checkpoint to the shippable teacher file (no optimizer state)."""
    ck = load_checkpoint(run_checkpoint, kind=AGENT_KIND, format_version=AGENT_VERSION)
    task = ck.state["task"]
    if "disc" in task:      # a motion-prior run (StyledTask): the goal task's curriculum, not the discriminator
        task = task["task"]
    meta = {"global_step": ck.state["global_step"], "train_wall_s": ck.state["wall_s"],
            "curriculum": task, **(extra or {})}
    return save_checkpoint(out, TEACHER_KIND, TEACHER_VERSION, ck.config, ck.tensors, extra=meta)


def load_teacher(path: str | Path = SHIPPED_TEACHER) -> Teacher:
    """Load a teacher file; clear errors for another kind, version, humanoid model or shape."""
    ck = load_checkpoint(path, kind=TEACHER_KIND, format_version=TEACHER_VERSION)
    cfg = ck.config
    version = cfg.get("env", {}).get("humanoid_version", 1)
    if cfg.get("model_hash") != model_hash(version):
        raise FrozenfitError(f"{path} was trained on humanoid model {cfg.get('model_hash')}, but this frozenfit "
                             f"builds model {model_hash(version)} for version {version}; retrain the teacher for this model")
    ppo_cfg = _dataclass_from(PPOConfig, cfg["ppo"])
    agent = Agent(cfg["obs_dim"], cfg["act_dim"], ppo_cfg, critic_obs_dim=cfg.get("critic_obs_dim", 0))
    check_shapes(path, ck.tensors, {k: tuple(v.shape) for k, v in agent.state_dict().items()})
    agent.load_state_dict(ck.tensors)
    agent.eval()
    return Teacher(agent, _dataclass_from(EnvConfig, cfg["env"]), _dataclass_from(GoalConfig, cfg["goals"]),
                   ppo_cfg, ck.extra)
