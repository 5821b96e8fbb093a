"""Train a task on the frozen BFM (or a baseline) with PPO: `frozenfit tasktokens train`.

One run = one (task, method, seed). The PPO module is the humanoid issue's, unchanged in spirit:
the actor is one of `policies.py`, only parameters with ``requires_grad`` are optimised (the BFM's
stay frozen), the critic is a fresh MLP on the normalised observation. Every ``eval_every``
iterations the deterministic policy is evaluated in the paper's protocol on a small batch: that is
the learning curve (``eval/success`` in log.csv).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import ClassVar
from pathlib import Path

import torch

from frozenfit.bfm.policy import SHIPPED_BFM, bfm_digest, load_bfm
from frozenfit.common.distributed import init_from_env, rank_env_config
from frozenfit.common.checks import check_numbers
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig
from frozenfit.common.logging import RunLogger
from frozenfit.humanoid.model import model_hash
from frozenfit.rl.ppo import PPO, Agent, PPOConfig
from frozenfit.tasktokens.env import make_env
from frozenfit.tasktokens.evaluate import TaskEvalConfig, evaluate_actor
from frozenfit.tasktokens.policies import METHODS, MethodName, build_actor, method, trainable_params
from frozenfit.tasktokens.tasks import TaskName, make_task, task_class, task_config


def task_tokens_ppo() -> PPOConfig:
    """PPO as in the reference (horizon 32, gamma .99, lambda .95, clip .2, fixed log std -2.9,
    bounds loss 10, grad clip 50, critic lr 1e-4), with fewer update epochs and a larger actor
    learning rate to fit a CPU budget of a few million steps instead of ~120M."""
    return PPOConfig(total_env_steps=4_000_000, num_steps=32, update_epochs=3, num_minibatches=4,
                     lr=1e-4, lr_final=3e-5, critic_lr=3e-4, max_grad_norm=50.0, bounds_coef=10.0,
                     action_bound=1.0, learn_std=False, init_log_std=-2.9, target_kl=0.2,
                     critic_hidden=(512, 512), checkpoint_every=10)


@dataclass
class TaskTokensConfig:
    """One training run: a task, a method and a seed."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("warm_start", "eval_every", "stop_at")  # see common.checks

    task: TaskName = "direction"
    method: MethodName = "task_tokens"
    seed: int = 0
    bfm: str = str(SHIPPED_BFM)
    encoder_hidden: tuple[int, ...] = (256, 256)
    """Task encoder MLP widths ((512, 512, 512): the reference's bigger variant)."""
    env: EnvConfig = field(default_factory=lambda: EnvConfig(num_envs=512, episode_seconds=30.0))
    ppo: PPOConfig = field(default_factory=task_tokens_ppo)
    warm_start: int = 0
    """DAgger iterations imitating the hand-made prompt before PPO (warm-startable methods,
    warm_start.py); 0: the paper's cold start."""
    eval_every: int = 20
    """PPO iterations between learning-curve evaluations (20: 0.33 M env steps at the defaults, an
    evaluation costing 9-14 % of the wall time, results/rl/throughput.json); 0 disables them."""
    eval_episodes: int = 256
    """Episodes per learning-curve evaluation."""
    run_dir: str | None = None
    """Default runs/tasktokens/<task>/<method>/seed<seed>."""
    resume: bool = False
    """Continue from the run directory's checkpoint."""
    stop_at: int | None = None
    """Stop (checkpointed) at this many env steps; the schedule still spans ppo.total_env_steps,
    so a run can be trained in chunks."""
    task_set: tuple[str, ...] = ()
    """Task config overrides FIELD=VALUE, e.g. w_facing=0.5 grace_steps=40."""
    torch_threads: int = 2
    """Intra-op threads of torch."""
    progress: bool = True
    """Show a progress bar."""

    def __post_init__(self):
        check_numbers(self)   # the Python API gets the command line's checks

    def directory(self) -> Path:
        return Path(self.run_dir or f"runs/tasktokens/{self.task}/{self.method}/seed{self.seed}")

    @property
    def use_prior(self) -> bool:
        return method(self.method).use_prior


def method_ppo(cfg: TaskTokensConfig) -> PPOConfig:
    """The run's PPO settings with the method's adjustments (`Method.ppo`), unless the run already
    asks for a learnable std itself."""
    ppo = replace(cfg.ppo, seed=cfg.seed)
    m = method(cfg.method)
    if m.ppo and not ppo.learn_std:
        ppo = replace(ppo, **m.ppo)
    return ppo


def build(cfg: TaskTokensConfig):
    """BFM, environments, agent and PPO; under ``torchrun`` this process's share (data-parallel PPO)."""
    shard = init_from_env()
    torch.manual_seed(cfg.seed)   # the same warm start and initial weights on every rank
    torch.set_num_threads(max(1, cfg.torch_threads // shard.world))
    bfm = load_bfm(cfg.bfm)
    env_cfg = rank_env_config(replace(cfg.env, seed=cfg.seed, humanoid_version=bfm.humanoid_version), shard)
    task = make_task(cfg.task, env_cfg.num_envs, task_config(cfg.task, cfg.task_set))
    env, adapter = make_env(task, env_cfg, bfm.cfg.history_offsets, cfg.use_prior)
    ppo_cfg = method_ppo(cfg)
    actor = build_actor(cfg.method, bfm, adapter.layout, env.num_actions, cfg.encoder_hidden)
    agent = Agent(env.obs_dim, env.num_actions, ppo_cfg, actor=actor)
    extra = {"task": cfg.task, "method": cfg.method, "encoder_hidden": list(cfg.encoder_hidden),
             "env": asdict(cfg.env), "model_hash": model_hash(bfm.humanoid_version), "bfm_digest": bfm_digest(bfm),
             "history_offsets": list(bfm.cfg.history_offsets), "use_prior": cfg.use_prior,
             "warm_start": cfg.warm_start, "task_version": task.version, "task_config": task.config_dict()}
    if shard.world > 1:   # identical weights (PPO broadcasts rank 0's), each rank's own exploration noise
        torch.manual_seed(cfg.seed + 1000 * shard.rank)
    return bfm, env, agent, PPO(env, agent, ppo_cfg, cfg.directory(), config_extra=extra, shard=shard)


def steps_done(checkpoint: Path) -> int:
    """Env steps a run checkpoint has trained (0 when there is none)."""
    from frozenfit.common.checkpoint import load_checkpoint

    return int(load_checkpoint(checkpoint).state["global_step"]) if checkpoint.exists() else 0


def trained_task_version(checkpoint: Path) -> int:
    """The task version a run checkpoint was trained on (files from before versions existed: 1)."""
    from frozenfit.common.checkpoint import load_checkpoint

    return int(load_checkpoint(checkpoint).config.get("task_version", 1))


def train_task(cfg: TaskTokensConfig) -> dict:
    """Train (or, for ``prompt_only``, only evaluate) one run; returns the last stats."""
    ckpt = cfg.directory() / "checkpoint.safetensors"
    version = task_class(cfg.task).version
    if cfg.resume and ckpt.exists() and (old := trained_task_version(ckpt)) != version:
        raise FrozenfitError(f"{ckpt} was trained on version {old} of the {cfg.task} task, which has changed "
                             f"since (now version {version}); start a fresh run directory")
    bfm, env, agent, ppo = build(cfg)
    history = bfm.cfg.history_offsets
    eval_cfg = TaskEvalConfig(episodes=cfg.eval_episodes, batch=cfg.eval_episodes, nthread=cfg.env.nthread)
    task_cfg = task_config(cfg.task, cfg.task_set)
    n_trainable = float(trainable_params(agent.actor))

    def on_iteration(p: PPO, stats: dict) -> None:
        rate = env.task.task.pop_success_rate()
        if rate is not None:
            stats["train/success"] = 100.0 * rate
        if cfg.eval_every and p.iteration % cfg.eval_every == 0 and p.shard.is_main:
            r = evaluate_actor(agent.actor, cfg.task, cfg.use_prior, history, eval_cfg, task_cfg)
            stats["eval/success"] = r["success"]
            stats["eval/fall_rate"] = r["fall_rate"]
        stats["trainable_params"] = n_trainable

    def stop(p: PPO) -> bool:
        """A chunk of a longer schedule ends at stop_at (PPO checkpoints it after logging)."""
        return cfg.stop_at is not None and cfg.stop_at <= p.global_step < p.cfg.total_env_steps

    def log_eval(step: int) -> None:
        """A learning-curve point outside the PPO loop (the start, the end of a warm start)."""
        r = evaluate_actor(agent.actor, cfg.task, cfg.use_prior, history, eval_cfg, task_cfg)
        logger = RunLogger(cfg.directory())
        logger.log(step, **{"eval/success": r["success"], "eval/fall_rate": r["fall_rate"]})
        logger.close()

    try:
        if not method(cfg.method).trains:  # the prompt alone: nothing to train
            return evaluate_actor(agent.actor, cfg.task, cfg.use_prior, history, eval_cfg, task_cfg)
        if cfg.eval_every and not cfg.resume and ppo.shard.is_main:
            log_eval(0)
        if cfg.warm_start and not cfg.resume:
            if not method(cfg.method).warm_startable:
                starters = [m.name for m in METHODS.values() if m.warm_startable]
                raise FrozenfitError(f"--warm-start applies to --method {' or '.join(starters)}")
            from frozenfit.tasktokens.warm_start import WARM_ENVS, WARM_HORIZON, warm_start
            t0 = time.perf_counter()
            losses = warm_start(agent.actor, cfg.task, cfg.warm_start, seed=cfg.seed, nthread=cfg.env.nthread,
                                task_cfg=task_cfg)
            # the warm start's env steps and time count against the run's budget
            ppo.global_step += cfg.warm_start * WARM_ENVS * WARM_HORIZON
            ppo.wall_s += time.perf_counter() - t0
            ppo.save(cfg.directory() / "checkpoint.safetensors")   # a resumed run never warm-starts twice
            print(f"warm start: imitation loss {losses[0]:.4f} -> {losses[-1]:.4f} in {len(losses)} iterations")
            if cfg.eval_every and ppo.shard.is_main:
                log_eval(ppo.global_step)
        stats = ppo.train(resume=cfg.resume, on_iteration=on_iteration, progress=cfg.progress, stop=stop)
    finally:
        env.close()
    if ppo.global_step >= ppo.cfg.total_env_steps:
        ppo.save(cfg.directory() / "final.safetensors")
    return stats
