"""Train the goal-conditioned teacher with PPO: `frozenfit teacher train`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from frozenfit.common.distributed import init_from_env, rank_env_config
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.worlds import WorldRandomization
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import JOINT_QPOS, model_hash
from frozenfit.motion.judge import JUDGE_CLIPS
from frozenfit.rl.ppo import PPO, Agent, PPOConfig
from frozenfit.teacher.amp import AMPConfig, AMPPrior, MotionLibrary, StyledTask
from frozenfit.teacher.goals import GoalConfig, GoalTask


@dataclass
class TeacherConfig:
    """Everything a teacher run needs; the defaults are the committed teacher's recipe."""

    env: EnvConfig = field(default_factory=lambda: EnvConfig(num_envs=1024))
    goals: GoalConfig = field(default_factory=GoalConfig)
    ppo: PPOConfig = field(default_factory=lambda: PPOConfig(total_env_steps=40_000_000, num_steps=24))
    run_dir: str = "runs/teacher"
    resume: bool = False
    torch_threads: int = 2
    progress: bool = True
    amp: bool = False
    """Mix an adversarial motion prior's style reward into the goal rewards (teacher v2)."""
    amp_cfg: AMPConfig = field(default_factory=AMPConfig)
    amp_clips: tuple[str, ...] = ("walk", "run", "jump", "dance_b", "crawl", "kick", "punch", "cartwheel")
    """Clips the prior imitates (and their mirrors): version 2's usable clips less the judge's."""
    amp_steps: int = 2
    """Discriminator steps per PPO iteration."""


@dataclass
class TeacherV2Config(TeacherConfig):
    """Teacher v2's recipe: humanoid version 2, goal set 2, the adversarial motion prior (styling
    commands of at least 0.5 m/s that face within 45 degrees of where they go: what the clips
    cover; the public implementation's logistic discriminator and reward x 2, since in the pilots
    (results/teacher/v2_pilots.json) the least-squares discriminator pinned every policy window
    at D = -0.94, where its clamped reward is flat), 16 randomised worlds (physics and rough
    ground, `frozenfit.humanoid.worlds`)."""

    env: EnvConfig = field(default_factory=lambda: EnvConfig(num_envs=1024, humanoid_version=2,
                                                             worlds=WorldRandomization(worlds=16)))
    goals: GoalConfig = field(default_factory=GoalConfig.v2)
    ppo: PPOConfig = field(default_factory=lambda: PPOConfig(total_env_steps=300_000_000, num_steps=24))
    run_dir: str = "runs/teacher-v2"
    amp: bool = True
    amp_cfg: AMPConfig = field(default_factory=lambda: AMPConfig(style_min_speed=0.5, style_max_offset=45.0, loss="bce",
                                                                 reward_scale=2.0))


def build(cfg: TeacherConfig) -> tuple[HumanoidEnv, Agent, PPO]:
    """Environments, agent and PPO; under ``torchrun`` this process's share (data-parallel PPO)."""
    if cfg.goals.version != cfg.env.humanoid_version:
        raise FrozenfitError(f"goal set {cfg.goals.version} is laid out for humanoid version {cfg.goals.version}, "
                             f"not {cfg.env.humanoid_version}: set --goals.version and --env.humanoid-version alike")
    shard = init_from_env()
    torch.manual_seed(cfg.ppo.seed + 1000 * shard.rank)   # each rank explores with its own noise
    torch.set_num_threads(max(1, cfg.torch_threads // shard.world))
    env_cfg = rank_env_config(cfg.env, shard)
    task = GoalTask(cfg.goals, env_cfg.num_envs, shard=shard)
    extra = {"env": asdict(cfg.env), "goals": asdict(cfg.goals), "model_hash": model_hash(cfg.env.humanoid_version)}
    if cfg.amp:
        held_out = sorted(set(cfg.amp_clips) & set(JUDGE_CLIPS))
        if held_out:
            raise FrozenfitError(f"{', '.join(held_out)}: held out for the realism judge; no prior trains on them")
        library = MotionLibrary(cfg.amp_clips, cfg.amp_cfg.window, cfg.env.humanoid_version)
        task = StyledTask(task, AMPPrior(library, cfg.amp_cfg, cfg.ppo.seed, shard), env_cfg.num_envs, JOINT_QPOS.stop)
        extra.update(amp=asdict(cfg.amp_cfg), amp_clips=list(cfg.amp_clips), amp_steps=cfg.amp_steps)
    env = HumanoidEnv(env_cfg, task)
    agent = Agent(env.obs_dim, env.num_actions, cfg.ppo)
    return env, agent, PPO(env, agent, cfg.ppo, cfg.run_dir, config_extra=extra, shard=shard)


def curriculum(ppo: PPO, stats: dict) -> None:
    """After each PPO iteration: grow the command speed range when tracking is good, and train the
    motion prior's discriminator on the iteration's windows (with --amp)."""
    task: GoalTask = ppo.env.task
    if isinstance(task, StyledTask):
        stats.update(task.update_prior(ppo.config_extra["amp_steps"]))
    stats["curriculum/velocity_score"] = task.update_curriculum()
    stats["curriculum/max_speed"] = task.cur_max_speed


def train_teacher(cfg: TeacherConfig) -> dict:
    env, agent, ppo = build(cfg)
    try:
        stats = ppo.train(resume=cfg.resume, on_iteration=curriculum, progress=cfg.progress)
    finally:
        env.close()
    ppo.save(Path(cfg.run_dir) / "final.safetensors")
    return stats
