"""Evaluation in the paper's protocol: deterministic actions, fixed-length episodes (300 steps),
falling does not end an episode, success judged by each task's strict criterion.

`eval_env` builds the evaluation environments (every evaluation path uses it: the protocol,
videos, experiment probes, the teacher's ceiling). An environment reset in the middle of an
evaluation episode (its state went non-finite) counts that episode as a failure; a fall is the
humanoid's one fall definition (`frozenfit.humanoid.model.fallen`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from frozenfit.bfm.model import BFM
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import PhysicsConfig, fallen
from frozenfit.tasktokens.artifact import load_policy
from frozenfit.tasktokens.env import ObsLayout, make_env
from frozenfit.tasktokens.policies import PromptOnlyActor
from frozenfit.tasktokens.tasks import make_task, task_class
from frozenfit.tasktokens.tasks.base import TokenTask


@dataclass
class TaskEvalConfig:
    episodes: int = 1024
    steps: int = 300
    batch: int = 512          # environments stepped together
    seed: int = 10_000        # evaluation seeds never overlap training seeds (validation: VALIDATION_SEED)
    physics: PhysicsConfig | None = None
    nthread: int = 2

    def __post_init__(self):
        for name in ("episodes", "steps", "batch", "nthread"):
            if getattr(self, name) <= 0:
                raise FrozenfitError(f"--eval.{name} must be positive, got {getattr(self, name)}")


# Seeds of the episodes a shipped policy is *selected* on; reported figures use TaskEvalConfig.seed.
VALIDATION_SEED = 50_000


def eval_env(task: str | TokenTask, num_envs: int, history_offsets: tuple[int, ...], use_prior: bool,
             seed: int, physics: PhysicsConfig | None = None, nthread: int = 2,
             task_cfg=None, humanoid_version: int = 1) -> tuple[TokenTask, HumanoidEnv]:
    """``num_envs`` evaluation-mode environments of ``task`` (falls do not end an episode, no time
    limit) on the BFM's humanoid (``humanoid_version``); returns (task, env); close env."""
    t = make_task(task, num_envs, task_cfg) if isinstance(task, str) else task
    t.eval_mode = True
    env, _ = make_env(t, EnvConfig(num_envs=num_envs, episode_seconds=1e6, physics=physics or PhysicsConfig(),
                                   nthread=nthread, seed=seed, humanoid_version=humanoid_version),
                      tuple(history_offsets), use_prior)
    return t, env


@torch.no_grad()
def run_episodes(actor: nn.Module, task: TokenTask, env: HumanoidEnv, steps: int,
                 bar: tqdm | None = None) -> dict[str, torch.Tensor]:
    """Run one batch of evaluation episodes; per episode: success, fell, aborted (reset mid-episode
    for a non-finite state: a failure whatever the task's own judgement). ``bar`` advances per step."""
    n = env.num_envs
    obs = env.reset()
    fell = torch.zeros(n, dtype=torch.bool)
    aborted = torch.zeros(n, dtype=torch.bool)
    for _ in range(steps):
        r = env.step(actor(obs))
        obs = r.obs
        aborted |= r.terminated | r.truncated   # no time limit or fall ends an evaluation episode
        fell |= fallen(env.frame.body_pos)
        if bar is not None:
            bar.update(1)
    return {"success": task.success.clone() & ~aborted, "fell": fell, "aborted": aborted}


def actor_humanoid(actor) -> int:
    """The humanoid version an actor runs on: its observation layout's goal set (1 for a plain
    function of the observation)."""
    return getattr(getattr(actor, "layout", None), "goal_version", 1)


@torch.no_grad()
def evaluate_actor(actor: nn.Module, task: str, use_prior: bool, history_offsets: tuple[int, ...],
                   cfg: TaskEvalConfig, task_cfg=None, progress: bool = False) -> dict:
    """Success rate (%) of ``actor`` over ``cfg.episodes`` episodes, plus falls (%) and wall time;
    ``progress`` shows a bar over the simulated steps (a long evaluation takes minutes on 2 cores)."""
    t0 = time.perf_counter()
    successes, falls, aborted, done = 0, 0, 0, 0
    chunk = 0
    chunks = -(-cfg.episodes // cfg.batch)
    bar = tqdm(total=chunks * cfg.steps, desc=f"eval {task} ({cfg.episodes} episodes)", unit="step",
               disable=not progress, leave=False)
    while done < cfg.episodes:
        n = min(cfg.batch, cfg.episodes - done)
        t, env = eval_env(task, n, history_offsets, use_prior, cfg.seed + chunk, cfg.physics, cfg.nthread, task_cfg,
                          actor_humanoid(actor))
        try:
            r = run_episodes(actor, t, env, cfg.steps, bar)
        finally:
            env.close()
        successes += int(r["success"].sum())
        falls += int(r["fell"].sum())
        aborted += int(r["aborted"].sum())
        done += n
        chunk += 1
    bar.close()
    return {"success": 100.0 * successes / done, "fall_rate": 100.0 * falls / done, "aborted": aborted,
            "episodes": done, "wall_s": time.perf_counter() - t0}


def probe_setup(task: str, episodes: int, bfm: BFM, policy: Path | None = None, seed: int = 10_000,
                nthread: int = 2):
    """One batch of ``episodes`` evaluation-mode environments of ``task`` (the protocol above, for
    experiment scripts that measure more than success) and the actor to drive them: the policy
    file's, or the task's hand-made prompt alone. Returns (task, env, actor); close env."""
    if policy is not None:
        actor = load_policy(policy, bfm)
        use_prior = bool(actor.meta["use_prior"])
    else:
        actor = PromptOnlyActor(bfm, ObsLayout(bfm.history_len, task_class(task).obs_dim, bfm.cfg.goal_version))
        use_prior = True
    t, env = eval_env(task, episodes, bfm.cfg.history_offsets, use_prior, seed, nthread=nthread,
                      humanoid_version=bfm.humanoid_version)
    return t, env, actor
