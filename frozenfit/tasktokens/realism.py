"""How human does a task policy move? Its rollouts before the realism judge (`frozenfit motion judge`).

The judge and the proxies live in `frozenfit.motion`; this module only makes the motion: a task
policy rolled out in its task's evaluation environments (falls do not end an episode), one qpos
trajectory per environment, each trajectory one group for the judge's cross-validation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from frozenfit.bfm.model import BFM
from frozenfit.bfm.policy import load_bfm
from frozenfit.common.checks import check_numbers
from frozenfit.common.checkpoint import atomic_write_bytes
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import JOINT_QPOS
from frozenfit.motion.judge import JudgeConfig, WindowSet, judge, mocap_windows
from frozenfit.motion.proxies import mean_proxies
from frozenfit.tasktokens.artifact import load_policy, shipped_policy
from frozenfit.tasktokens.evaluate import eval_env
from frozenfit.tasktokens.tasks import TASKS, TaskName


@torch.no_grad()
def policy_trajectories(actor: nn.Module, task: str, use_prior: bool, envs: int, seconds: float,
                        seed: int = 20_000, bfm: BFM | None = None) -> np.ndarray:
    """qpos trajectories (envs, T, nq) of ``actor`` on ``task``'s evaluation environments, on the
    humanoid of ``bfm`` (the BFM the actor drives; the shipped one when None)."""
    nq = JOINT_QPOS.stop     # the humanoid's own qpos (a task's scene bodies follow it)
    bfm = bfm or load_bfm()
    _, env = eval_env(task, envs, bfm.cfg.history_offsets, use_prior, seed, humanoid_version=bfm.humanoid_version)
    obs, out = env.reset(), []
    try:
        for _ in range(int(seconds / env.dt)):
            obs = env.step(actor(obs)).obs
            out.append(env.frame.qpos[:, :nq].double().numpy().copy())
    finally:
        env.close()
    return np.stack(out, 1)


@dataclass
class MotionJudgeConfig:
    """Judge how human a task policy moves: its AUC against held-out mocap (0.5: the judge cannot
    tell it from mocap; 1: always can), judged-human rate and the interpretable proxies."""

    task: TaskName = "direction"
    policy: str = "shipped"
    """a task-policy file, or 'shipped' for the task's shipped policy"""
    bfm: str = "shipped"
    """the BFM the policy drives (a BFM file, or 'shipped'); its humanoid is the one judged"""
    envs: int = 16
    """episodes (one group each in the judge's cross-validation; at least 2)"""
    seconds: float = 10.0
    seed: int = 20_000
    out: str | None = None
    """also write the verdict as JSON here"""

    def __post_init__(self):
        check_numbers(self)   # the Python API gets the command line's checks


def run_judge(cfg: MotionJudgeConfig) -> dict:
    if cfg.task not in TASKS:
        raise FrozenfitError(f"unknown task '{cfg.task}'; choose one of {', '.join(TASKS)}")
    if cfg.envs < 2 or cfg.seconds <= 1.0:
        raise FrozenfitError("--envs must be at least 2 and --seconds above 1 (a judge window is 1 s)")
    path = shipped_policy(cfg.task) if cfg.policy == "shipped" else Path(cfg.policy)
    if not path.exists():
        raise FrozenfitError(f"no policy file at {path}")
    bfm = load_bfm() if cfg.bfm == "shipped" else load_bfm(cfg.bfm)
    actor = load_policy(path, bfm)
    if actor.meta.get("task") not in (None, cfg.task):
        raise FrozenfitError(f"{path} is a policy for '{actor.meta['task']}', not '{cfg.task}'")
    jcfg = JudgeConfig()
    trajs = policy_trajectories(actor, cfg.task, bool(actor.meta["use_prior"]), cfg.envs, cfg.seconds, cfg.seed, bfm)
    v = bfm.humanoid_version
    verdict = {**judge(WindowSet.of(list(trajs), jcfg), mocap_windows(jcfg, version=v), jcfg),
               "proxies": mean_proxies(list(trajs), version=v), "task": cfg.task, "policy": str(cfg.policy),
               "humanoid_version": v,
               "envs": cfg.envs, "seconds": cfg.seconds}
    print(f"{cfg.task} ({cfg.policy}): AUC {verdict['auc']:.3f} against held-out mocap, judged human "
          f"{100 * verdict['judged_human']:.1f} % of windows")
    print(json.dumps(verdict["proxies"], indent=1))
    if cfg.out:
        text = json.dumps(verdict, indent=1) + "\n"
        atomic_write_bytes(Path(cfg.out), lambda tmp: Path(tmp).write_text(text))
    return verdict
