"""`frozenfit tasktokens ...` commands (train lives in train.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
import torch

from frozenfit.bfm.policy import SHIPPED_BFM, load_bfm
from frozenfit.common.assets import export_target
from frozenfit.common.checks import require
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.humanoid.render import Recording, render_rollout, write_video
from frozenfit.tasktokens.artifact import export_policy, load_policy, shipped_policy
from frozenfit.tasktokens.tasks import TaskName
from frozenfit.tasktokens.evaluate import TaskEvalConfig, eval_env, evaluate_actor


def load_task_policy(task: str, policy: str | None, bfm_path: str):
    """The actor of ``policy`` (default: the shipped one for ``task``) on the BFM at ``bfm_path``;
    a policy trained for another task than ``task`` is refused."""
    actor = load_policy(policy_path(task, policy), load_bfm(bfm_path))
    if actor.meta["task"] != task:
        raise FrozenfitError(f"{policy} is a policy for the {actor.meta['task']} task, not {task}: "
                             f"pass --task {actor.meta['task']} or another --policy")
    return actor


def policy_path(task: str, policy: str | None) -> Path:
    """The given policy file, or the shipped one for ``task`` (with a clear error when none ships)."""
    if policy:
        return Path(policy)
    path = shipped_policy(task)
    if not path.exists():
        shipped = sorted(p.stem for p in path.parent.glob("*.safetensors"))
        raise FrozenfitError(f"no shipped task policy for '{task}' (shipped: {', '.join(shipped) or 'none'}); "
                             "train one with `frozenfit tasktokens train` and pass --policy FILE")
    return path


@dataclass
class TaskEvalCommand:
    """Success rate of a task policy in the paper's protocol (deterministic, 300-step episodes)."""

    task: TaskName = "direction"
    policy: str | None = None          # a task-policy file; default: the shipped one for the task
    bfm: str = str(SHIPPED_BFM)
    eval: TaskEvalConfig = field(default_factory=TaskEvalConfig)
    progress: bool = True              # a progress bar over the simulated steps (on stderr)


def run_eval(cfg: TaskEvalCommand) -> dict:
    actor = load_task_policy(cfg.task, cfg.policy, cfg.bfm)
    r = evaluate_actor(actor, actor.meta["task"], actor.meta["use_prior"], tuple(actor.meta["history_offsets"]),
                       cfg.eval, progress=cfg.progress)
    r = {"task": actor.meta["task"], "method": actor.meta["method"], **r, "units": {"success": "%", "fall_rate": "%"}}
    print(f"{r['task']} ({r['method']}): success {r['success']:.1f} %, falls {r['fall_rate']:.1f} % "
          f"over {r['episodes']} episodes ({r['wall_s']:.1f} s)")
    print(json.dumps(r, indent=1))
    return r


@dataclass
class TaskRenderCommand:
    """Render one humanoid doing the task with a task policy (default: the shipped one)."""

    task: TaskName = "direction"
    policy: str | None = None
    bfm: str = str(SHIPPED_BFM)
    out: str | None = None             # default runs/tasktokens-<task>.gif
    seconds: float = 15.0
    frame_every: int = 2
    width: int = 320
    height: int = 240
    seed: int = 3
    physics: PhysicsConfig | None = None

    def __post_init__(self):
        require(self, positive=("seconds", "frame_every", "width", "height"), non_negative=("seed",))


@torch.no_grad()
def record(actor, task_name: str, use_prior: bool, history_offsets, seconds: float, frame_every: int = 2,
           seed: int = 3, physics: PhysicsConfig | None = None) -> tuple[Recording, bool, mujoco.MjModel]:
    """One evaluation-mode episode with markers of the task's targets; returns (recording, success,
    the scene's model: the humanoid plus the task's objects, for rendering)."""
    task, env = eval_env(task_name, 1, tuple(history_offsets), use_prior, seed, physics)
    qpos, markers = [], []
    try:
        obs = env.reset()
        for t in range(int(seconds / env.dt)):
            obs = env.step(actor(obs)).obs
            if t % frame_every == 0:
                qpos.append(env.frame.qpos[0].double().numpy().copy())
                markers.append(task.markers(env, 0))
    finally:
        env.close()
    return (Recording(qpos=np.stack(qpos), fps=1.0 / (env.dt * frame_every), markers=markers),
            bool(task.success[0]), env.sim.model)


def run_render(cfg: TaskRenderCommand) -> Path:
    actor = load_task_policy(cfg.task, cfg.policy, cfg.bfm)
    m = actor.meta
    rec, ok, scene = record(actor, m["task"], m["use_prior"], m["history_offsets"], cfg.seconds, cfg.frame_every,
                     cfg.seed, cfg.physics)
    path = write_video(render_rollout(rec, cfg.width, cfg.height, model=scene),
                       cfg.out or f"runs/tasktokens-{m['task']}.gif", rec.fps)
    print(f"wrote {path} ({m['task']}, {m['method']}; episode {'succeeded' if ok else 'failed'})")
    return path


@dataclass
class TaskExportCommand:
    """Strip a training checkpoint to a task-policy file."""

    run_checkpoint: str = "runs/tasktokens/direction/task_tokens/seed0/checkpoint.safetensors"
    out: str | None = None             # default runs/exports/<task>.safetensors
    to_assets: bool = False            # replace the shipped policy of its task (frozenfit/assets/tasktokens/)


def run_export(cfg: TaskExportCommand) -> Path:
    from frozenfit.common.checkpoint import load_checkpoint

    if cfg.out:   # refuse the shipped assets before reading anything
        export_target(cfg.out, cfg.out, Path(cfg.out), cfg.to_assets)
    task = load_checkpoint(cfg.run_checkpoint).config.get("task", "task")
    out = export_target(cfg.out, f"runs/exports/{task}.safetensors", shipped_policy(task), cfg.to_assets)
    path = export_policy(cfg.run_checkpoint, out)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")
    return path
