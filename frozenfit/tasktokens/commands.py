"""`frozenfit tasktokens ...` commands (train lives in train.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
import torch

from frozenfit.bfm.model import BFM
from frozenfit.bfm.policy import SHIPPED_BFM, load_bfm
from frozenfit.common.assets import export_target
from frozenfit.common.checks import check_numbers
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.humanoid.render import Recording, render_rollout, scene_model, side_by_side, write_video
from frozenfit.tasktokens.artifact import export_policy, load_policy, shipped_policy
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.tasktokens.evaluate import TaskEvalConfig, actor_humanoid, eval_env, evaluate_actor
from frozenfit.tasktokens.policies import METHODS, PromptOnlyActor
from frozenfit.tasktokens.tasks import TaskName, task_class


def load_task_policy(task: str, policy: str | None, bfm: str | BFM):
    """The actor of ``policy`` (default: the shipped one for ``task``) on ``bfm`` (a loaded BFM, or
    its file); a policy trained for another task than ``task`` is refused."""
    actor = load_policy(policy_path(task, policy), load_bfm(bfm) if isinstance(bfm, str) else bfm)
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
    out: str | None = None             # default runs/tasktokens-<task>.mp4 (.gif also works)
    seconds: float = 15.0
    frame_every: int = 2
    width: int = 640
    height: int = 360
    seed: int = 3
    physics: PhysicsConfig | None = None

    def __post_init__(self):
        check_numbers(self)   # the Python API gets the command line's checks


@torch.no_grad()
def record(actor, task_name: str, use_prior: bool, history_offsets, seconds: float, frame_every: int = 2,
           seed: int = 3, physics: PhysicsConfig | None = None,
           title: str = "") -> tuple[Recording, bool, mujoco.MjModel]:
    """One evaluation-mode episode with the task's markers, captions (its command or target) and
    success state per frame; returns (recording, success, the render model: the humanoid plus the
    task's objects)."""
    task, env = eval_env(task_name, 1, tuple(history_offsets), use_prior, seed, physics,
                         humanoid_version=actor_humanoid(actor))
    qpos, markers, captions, status = [], [], [], []
    try:
        obs = env.reset()
        for t in range(int(seconds / env.dt)):
            obs = env.step(actor(obs)).obs
            if t % frame_every == 0:
                qpos.append(env.frame.qpos[0].double().numpy().copy())
                markers.append(task.markers(env, 0))
                captions.append(task.caption(env, 0))
                status.append(task.status(0))
    finally:
        env.close()
    version = actor_humanoid(actor)
    rec = Recording(qpos=np.stack(qpos), fps=1.0 / (env.dt * frame_every), markers=markers, title=title,
                    captions=captions, status=status, humanoid_version=version)
    return rec, bool(task.success[0]), scene_model(getattr(task, "box", None), version)


def video_title(task: str, method: str) -> str:
    """The title a video of ``method`` on ``task`` shows, e.g. "Direction - Task Tokens"."""
    return f"{task_class(task).label} - {METHODS[method].label if method in METHODS else method}"


def run_render(cfg: TaskRenderCommand) -> Path:
    actor = load_task_policy(cfg.task, cfg.policy, cfg.bfm)
    m = actor.meta
    rec, ok, scene = record(actor, m["task"], m["use_prior"], m["history_offsets"], cfg.seconds, cfg.frame_every,
                            cfg.seed, cfg.physics, video_title(m["task"], m["method"]))
    path = write_video(render_rollout(rec, cfg.width, cfg.height, model=scene),
                       cfg.out or f"runs/tasktokens-{m['task']}.mp4", rec.fps)
    print(f"wrote {path} ({m['task']}, {m['method']}; episode {'succeeded' if ok else 'failed'})")
    return path


@dataclass
class TaskCompareCommand:
    """Render the methods side by side on the same episode (the same seed: the same targets): Task
    Tokens (the shipped policy or --policy), the prompt alone, and any policy files given for
    fine-tuning and PPO from scratch."""

    task: TaskName = "direction"
    policy: str | None = None          # the Task Tokens policy; default: the shipped one
    finetune: str | None = None        # a fine-tuning policy file (`tasktokens train --method finetune`)
    ppo_scratch: str | None = None     # a PPO-from-scratch policy file
    bfm: str = str(SHIPPED_BFM)
    out: str | None = None             # default runs/tasktokens-compare-<task>.mp4
    seconds: float = 12.0
    frame_every: int = 2
    width: int = 480                   # of each panel
    height: int = 270
    seed: int = 3
    physics: PhysicsConfig | None = None


def run_compare(cfg: TaskCompareCommand) -> Path:
    bfm = load_bfm(cfg.bfm)   # once: every panel's policy runs on it (fine-tuning's own copy aside)
    actors = [load_task_policy(cfg.task, cfg.policy, bfm)]
    if task_class(cfg.task).has_prior:
        actors.append(PromptOnlyActor(bfm, ObsLayout(bfm.history_len, task_class(cfg.task).obs_dim, bfm.cfg.goal_version)))
        actors[-1].meta = {"task": cfg.task, "method": "prompt_only", "use_prior": True,
                           "history_offsets": list(bfm.cfg.history_offsets)}
    for method, path in (("finetune", cfg.finetune), ("ppo_scratch", cfg.ppo_scratch)):
        if path:
            actor = load_task_policy(cfg.task, path, bfm)
            if actor.meta["method"] != method:
                raise FrozenfitError(f"--{method.replace('_', '-')} {path} is a {actor.meta['method']} policy")
            actors.append(actor)
    panels, verdicts = [], []
    for actor in actors:
        m = actor.meta
        rec, ok, scene = record(actor, cfg.task, m["use_prior"], m["history_offsets"], cfg.seconds,
                                cfg.frame_every, cfg.seed, cfg.physics, video_title(cfg.task, m["method"]))
        panels.append(render_rollout(rec, cfg.width, cfg.height, model=scene))
        verdicts.append(f"{m['method']}: {'succeeded' if ok else 'failed'}")
    path = write_video(side_by_side(panels), cfg.out or f"runs/tasktokens-compare-{cfg.task}.mp4", rec.fps)
    missing = [f"--{k.replace('_', '-')} FILE" for k in ("finetune", "ppo_scratch") if not getattr(cfg, k)]
    print(f"wrote {path} (seed {cfg.seed}; {', '.join(verdicts)})"
          + (f"; add {' and '.join(missing)} for the other baselines" if missing else ""))
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
