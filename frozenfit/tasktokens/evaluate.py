"""Evaluation in the paper's protocol: deterministic actions, fixed-length episodes (300 steps),
falling does not end an episode, success judged by each task's strict criterion."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from frozenfit.bfm.model import BFM
from frozenfit.humanoid.env import EnvConfig
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.tasktokens.artifact import load_policy
from frozenfit.tasktokens.env import ObsLayout, make_env
from frozenfit.tasktokens.policies import PromptOnlyActor
from frozenfit.tasktokens.tasks import make_task
from frozenfit.teacher.goals import HEAD_IDX

FELL_HEAD_HEIGHT = 0.5  # m; head this low during an evaluation episode counts as a fall


@dataclass
class TaskEvalConfig:
    episodes: int = 1024
    steps: int = 300
    batch: int = 512          # environments stepped together
    seed: int = 10_000        # evaluation seeds never overlap training seeds
    physics: PhysicsConfig | None = None
    nthread: int = 2


@torch.no_grad()
def evaluate_actor(actor: nn.Module, task: str, use_prior: bool, history_offsets: tuple[int, ...],
                   cfg: TaskEvalConfig) -> dict:
    """Success rate (%) of ``actor`` over ``cfg.episodes`` episodes, plus falls and wall time."""
    t0 = time.perf_counter()
    successes, falls, done = 0, 0, 0
    chunk = 0
    while done < cfg.episodes:
        n = min(cfg.batch, cfg.episodes - done)
        t = make_task(task, n)
        t.eval_mode = True
        env, _ = make_env(t, EnvConfig(num_envs=n, episode_seconds=1e6, physics=cfg.physics or PhysicsConfig(),
                                       nthread=cfg.nthread, seed=cfg.seed + chunk), history_offsets, use_prior)
        try:
            obs = env.reset()
            fell = torch.zeros(n, dtype=torch.bool)
            for _ in range(cfg.steps):
                obs = env.step(actor(obs)).obs
                fell |= env.frame.body_pos[:, HEAD_IDX, 2] < FELL_HEAD_HEIGHT
            successes += int(t.success.sum())
            falls += int(fell.sum())
        finally:
            env.close()
        done += n
        chunk += 1
    return {"success": 100.0 * successes / done, "fall_rate": falls / done, "episodes": done,
            "wall_s": time.perf_counter() - t0}


def probe_setup(task: str, episodes: int, bfm: BFM, policy: Path | None = None, seed: int = 10_000,
                nthread: int = 2):
    """One batch of ``episodes`` evaluation-mode environments of ``task`` (the protocol above, for
    experiment scripts that measure more than success) and the actor to drive them: the policy
    file's, or the task's hand-made prompt alone. Returns (task, env, actor); close env."""
    t = make_task(task, episodes)
    t.eval_mode = True
    if policy is not None:
        actor = load_policy(policy, bfm)
        use_prior = bool(actor.meta["use_prior"])
    else:
        actor, use_prior = PromptOnlyActor(bfm, ObsLayout(bfm.history_len, t.obs_dim)), True
    env, _ = make_env(t, EnvConfig(num_envs=episodes, episode_seconds=1e6, nthread=nthread, seed=seed),
                      bfm.cfg.history_offsets, use_prior)
    return t, env, actor
