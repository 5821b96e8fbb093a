"""Online DAgger: the BFM acts, the frozen teacher labels every visited state with the full goal.

Each iteration rolls out ``num_steps`` control steps in ``num_envs`` environments. Early on the
teacher's action is executed with probability beta (annealed to 0, classic DAgger mixing) so the
student starts on sensible states; afterwards the student's inference action (decoder at the prior
mean) drives. Then a few epochs of minibatch regression on the rollout:

    loss = |dec(s, z_post) - a_teacher|^2 + w_prior |dec(s, mu_prior) - a_teacher|^2 + w_kl KL(post || prior)

with z_post sampled from the encoder's posterior (MaskedMimic) and the KL weight ramped up. The
extra prior-mean term supervises exactly the path used at inference. Checkpoints are atomic and a
run resumes with ``--resume``; logs go to CSV and TensorBoard.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import ClassVar
from pathlib import Path

import torch
from tqdm import tqdm

from frozenfit.bfm.masking import MaskingConfig, PromptedGoalTask
from frozenfit.bfm.model import BFM, BFMConfig, kl_divergence
from frozenfit.bfm.policy import RUN_KIND, RUN_VERSION, load_bfm
from frozenfit.bfm.tokens import BFMInput, History
from frozenfit.common.distributed import (all_mean, average_gradients, broadcast_params, init_from_env,
                                          random_states, rank_env_config, restore_random_states)
from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.common.logging import RunLogger
from frozenfit.common.results import portable_path
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.worlds import WorldRandomization
from frozenfit.humanoid.model import model_hash
from frozenfit.humanoid.observations import PROPRIO_DIM
from frozenfit.teacher.policy import SHIPPED_TEACHER, Teacher, load_teacher



@dataclass
class DistillConfig:
    """A distillation run; the defaults are the committed BFM's recipe."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("lr_final", "weight_decay", "prior_action_weight", "kl_weight", "kl_weight_start", "kl_ramp_steps", "beta_steps")  # see common.checks

    model: BFMConfig = field(default_factory=BFMConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    teacher: str = str(SHIPPED_TEACHER)
    init_from: str | None = None      # start from this BFM's weights (e.g. the shipped one for a new teacher)
    hand_prob: float = 0.4            # per hand and goal resample (the teacher trained with 0.35)
    num_envs: int = 512
    num_steps: int = 16               # rollout length per iteration
    total_env_steps: int = 20_000_000
    epochs: int = 1
    minibatch: int = 2048
    lr: float = 5e-4
    lr_final: float = 1e-4
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    prior_action_weight: float = 1.0
    kl_weight: float = 1e-3           # final KL weight ...
    kl_weight_start: float = 1e-5     # ... ramped geometrically from this ...
    kl_ramp_steps: int = 5_000_000    # ... over these env steps
    beta_steps: int = 1_000_000       # teacher-mixing probability decays 1 -> 0 over these env steps
    checkpoint_every: int = 20        # iterations
    run_dir: str = "runs/bfm"
    resume: bool = False
    seed: int = 0
    torch_threads: int = 2
    progress: bool = True
    worlds: WorldRandomization = field(default_factory=WorldRandomization)
    """Randomised physics and ground during distillation (off by default; `frozenfit.humanoid.worlds`)."""


@dataclass
class DistillV2Config(DistillConfig):
    """BFM v2's recipe: goal set 2's prompts (the jump's included) distilled from teacher v2 in the
    randomised worlds teacher v2 trained in (16 of them, `frozenfit.humanoid.worlds`)."""

    model: BFMConfig = field(default_factory=BFMConfig.v2)
    teacher: str = "runs/teacher-v2/teacher.safetensors"
    run_dir: str = "runs/bfm-v2"
    worlds: WorldRandomization = field(default_factory=lambda: WorldRandomization(worlds=16))


def init_from_bfm(bfm: BFM, path: str | Path) -> list[str]:
    """Copy every weight and statistic of the BFM file at ``path`` that ``bfm`` also has (same name
    and shape), so a new distillation (a better teacher, a new prompt type) starts from a trained
    model; returns the names left fresh. Refuses a file whose shared weights differ in shape."""

    src = load_bfm(path).state_dict()
    own = bfm.state_dict()
    bad = [k for k in own if k in src and src[k].shape != own[k].shape]
    if bad:
        raise FrozenfitError(f"--init-from {path}: weights {bad[:3]} differ in shape from this BFM config; "
                             "use the same --model sizes")
    bfm.load_state_dict({**own, **{k: v for k, v in src.items() if k in own}})
    return [k for k in own if k not in src]


def _schedules(cfg: DistillConfig, step: int) -> dict[str, float]:
    frac = min(1.0, step / max(1, cfg.total_env_steps))
    ramp = min(1.0, step / max(1, cfg.kl_ramp_steps))
    return {"lr": cfg.lr + frac * (cfg.lr_final - cfg.lr),
            "kl_weight": cfg.kl_weight_start * (cfg.kl_weight / cfg.kl_weight_start) ** ramp,
            "beta": max(0.0, 1.0 - step / max(1, cfg.beta_steps))}


def distill_loss(bfm: BFM, x: BFMInput, teacher_obs: torch.Tensor, target: torch.Tensor,
                 prior_action_weight: float, kl_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The DAgger regression loss of one minibatch and its parts."""
    mu_p, lv_p = bfm.prior(x)
    mu_q, lv_q = bfm.posterior(x, teacher_obs, mu_p)
    z = mu_q + torch.randn_like(mu_q) * (0.5 * lv_q).exp()
    post = ((bfm.decode(x.state, z) - target) ** 2).mean()
    prior = ((bfm.decode(x.state, mu_p) - target) ** 2).mean()
    kl = kl_divergence(mu_q, lv_q, mu_p, lv_p).mean()
    loss = post + prior_action_weight * prior + kl_weight * kl
    parts = {"loss/action_posterior": post.item(), "loss/action_prior": prior.item(), "loss/kl": kl.item()}
    return loss, parts


class Distiller:
    """Owns the environments, the teacher, the BFM and the optimiser of one run."""

    def __init__(self, cfg: DistillConfig):
        if not 0 < cfg.kl_weight_start <= cfg.kl_weight:
            raise FrozenfitError(f"need 0 < kl_weight_start <= kl_weight, got {cfg.kl_weight_start}, {cfg.kl_weight}")
        if cfg.minibatch > cfg.num_envs * cfg.num_steps:
            raise FrozenfitError(f"minibatch {cfg.minibatch} exceeds the rollout batch {cfg.num_envs * cfg.num_steps}")
        self.cfg = cfg
        self.shard = shard = init_from_env()     # rank 0 of 1 unless launched by torchrun
        if cfg.minibatch % shard.world:
            raise FrozenfitError(f"--minibatch {cfg.minibatch} must be divisible by the {shard.world} processes")
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(max(1, cfg.torch_threads // shard.world))
        if cfg.masking.p_keyframe > 0 and "keyframe" not in cfg.model.prompts:
            raise FrozenfitError("--masking.p-keyframe > 0 needs 'keyframe' in --model.prompts")
        self.teacher: Teacher = load_teacher(cfg.teacher)
        goals = self.teacher.goal_cfg
        if goals.version != cfg.model.goal_version:
            raise FrozenfitError(f"the teacher follows goal set {goals.version}: distill with --model.goal-version "
                                 f"{goals.version} (a goal set 2 BFM: BFMConfig.v2())")
        goals.hand_prob = cfg.hand_prob
        env_cfg = rank_env_config(EnvConfig(num_envs=cfg.num_envs, episode_seconds=self.teacher.env_cfg.episode_seconds,
                                            seed=cfg.seed, humanoid_version=self.teacher.env_cfg.humanoid_version,
                                            worlds=cfg.worlds),
                                  shard)
        self.num_envs = env_cfg.num_envs           # this rank's
        self.task = PromptedGoalTask(goals, cfg.masking, self.num_envs)
        self.task.cur_max_speed = goals.max_speed  # the teacher finished its curriculum
        self.env = HumanoidEnv(env_cfg, self.task)
        self.bfm = BFM(cfg.model)
        self.fresh: list[str] = []
        if cfg.init_from and not cfg.resume:
            self.fresh = init_from_bfm(self.bfm, cfg.init_from)
        self.opt = torch.optim.Adam(self.bfm.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.history = History(self.num_envs, cfg.model.history_offsets, self.env.dt)
        if shard.world > 1:   # identical weights (rank 0's are broadcast), each rank's own DAgger coin flips
            torch.manual_seed(cfg.seed + 1000 * shard.rank)
        self.global_step, self.iteration, self.wall_s = 0, 0, 0.0
        self.run_dir = Path(cfg.run_dir)

    # -- checkpoints ----------------------------------------------------------------------------
    def run_config(self) -> dict:
        return {"model": asdict(self.cfg.model), "masking": asdict(self.cfg.masking), "model_hash": model_hash(self.env.cfg.humanoid_version),
                # the BFM ships: its files named relative to the repository, not by this machine's folders
                "teacher": portable_path(self.cfg.teacher), "teacher_steps": self.teacher.meta.get("global_step"),
                "init_from": portable_path(self.cfg.init_from) if self.cfg.init_from else None,
                "worlds": asdict(self.cfg.worlds)}

    def save(self, path: Path) -> Path:
        """Every rank calls this (the random states are gathered); rank 0 writes the one checkpoint."""
        state = {"optimizer": self.opt.state_dict(), "global_step": self.global_step, "iteration": self.iteration,
                 "wall_s": self.wall_s, **random_states(self.env.gen, self.shard)}
        if not self.shard.is_main:
            return path
        return save_checkpoint(path, RUN_KIND, RUN_VERSION, self.run_config(), self.bfm.state_dict(), state=state)

    def resume(self, path: Path) -> None:
        ck = load_checkpoint(path, kind=RUN_KIND, format_version=RUN_VERSION)
        if ck.config["model"] != json.loads(json.dumps(asdict(self.cfg.model))):  # tuples stored as lists
            raise FrozenfitError(f"{path} was written for BFM config {ck.config['model']}, "
                                 f"this run has {self.run_config()['model']}")
        self.bfm.load_state_dict(ck.tensors)
        s = ck.state
        self.opt.load_state_dict(s["optimizer"])
        self.global_step, self.iteration, self.wall_s = s["global_step"], s["iteration"], s["wall_s"]
        restore_random_states(s, self.env.gen, self.shard, path)

    # -- training -------------------------------------------------------------------------------
    def student_input(self, obs: torch.Tensor) -> BFMInput:
        prompt = self.task.prompt(self.env.frame, obs[:, PROPRIO_DIM:])
        return BFMInput(obs[:, :PROPRIO_DIM], self.history.features(), prompt, self.task.visible)

    def _rollout(self, obs: torch.Tensor, beta: float) -> tuple[torch.Tensor, BFMInput, torch.Tensor, torch.Tensor, dict]:
        cfg, env = self.cfg, self.env
        xs, tobs, labels = [], [], []
        term_sums: dict[str, float] = {}
        falls = episodes = 0
        for _ in range(cfg.num_steps):
            x = self.student_input(obs)
            with torch.no_grad():
                a_student = self.bfm(x)
                a_teacher = self.teacher.act(obs)
            xs.append(x)
            tobs.append(obs)
            labels.append(a_teacher)
            use_teacher = (torch.rand(self.num_envs) < beta)[:, None]
            r = env.step(torch.where(use_teacher, a_teacher, a_student))
            self.history.push(env.frame)
            done = torch.nonzero(r.terminated | r.truncated).flatten()
            self.history.reset(env.frame, done)
            falls += int(r.terminated.sum())
            episodes += int(done.numel())
            for k, v in r.terms.items():
                term_sums[k] = term_sums.get(k, 0.0) + float(v.mean()) / cfg.num_steps
            obs = r.obs
        stats = {f"reward/{k}": v for k, v in term_sums.items()}
        if episodes:
            stats["rollout/fall_rate"] = falls / episodes
        stats["rollout/falls_per_1k_steps"] = 1000 * falls / (cfg.num_steps * self.num_envs)
        return obs, BFMInput.cat(xs), torch.cat(tobs), torch.cat(labels), stats

    def _update(self, x: BFMInput, tobs: torch.Tensor, labels: torch.Tensor, sched: dict) -> dict[str, float]:
        cfg = self.cfg
        for g in self.opt.param_groups:
            g["lr"] = sched["lr"]
        self.bfm.update_normalizers(x, tobs, self.shard)
        n = len(x)
        mb = cfg.minibatch // self.shard.world    # this rank's share of the global minibatch
        sums: dict[str, float] = {}
        count = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(n)
            for i in range(0, n - mb + 1, mb):
                j = perm[i:i + mb]
                loss, parts = distill_loss(self.bfm, x.index(j), tobs[j], labels[j],
                                           cfg.prior_action_weight, sched["kl_weight"])
                if not math.isfinite(all_mean([float(loss.detach())], self.shard)[0]):   # every rank stops together
                    raise FrozenfitError(f"distillation loss is {float(loss)} at step {self.global_step}; "
                                         "lower --lr or resume from the last checkpoint")
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                average_gradients(list(self.bfm.parameters()), self.shard)
                parts["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.bfm.parameters(), cfg.max_grad_norm))
                self.opt.step()
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
        return {k: v / max(count, 1) for k, v in sums.items()}

    def train(self) -> dict[str, float]:
        cfg = self.cfg
        last = self.run_dir / "checkpoint.safetensors"
        if cfg.resume:
            if not last.exists():
                raise FrozenfitError(f"--resume: no checkpoint at {last}")
            self.resume(last)
        shard = self.shard
        broadcast_params(list(self.bfm.parameters()) + list(self.bfm.buffers()), shard)   # identical start
        logger = RunLogger(self.run_dir, resume_from=self.global_step if cfg.resume else None) if shard.is_main else None
        obs = self.env.reset()
        self.history.reset(self.env.frame)
        batch = self.num_envs * cfg.num_steps * shard.world     # global
        bar = tqdm(total=cfg.total_env_steps, initial=self.global_step, unit="step",
                   disable=not (cfg.progress and shard.is_main), dynamic_ncols=True)
        stats: dict[str, float] = {}
        while self.global_step < cfg.total_env_steps:
            t0 = time.perf_counter()
            sched = _schedules(cfg, self.global_step)
            obs, x, tobs, labels, stats = self._rollout(obs, sched["beta"])
            t1 = time.perf_counter()
            stats.update(self._update(x, tobs, labels, sched))
            self.global_step += batch
            self.iteration += 1
            now = time.perf_counter()
            self.wall_s += now - t0
            stats.update(sched)
            stats["rollout_s"], stats["update_s"] = t1 - t0, now - t1
            stats["env_steps_per_s"] = batch / (now - t0)
            stats["nan_resets"] = float(self.env.nan_resets)
            for i, name in enumerate(self.task.layout.names):
                stats[f"prompt/{name}_visible"] = float(x.visible[:, i].float().mean())
            if logger is not None:
                logger.log(self.global_step, **stats)
            bar.update(batch)
            bar.set_postfix(loss=f"{stats['loss/action_prior']:.4f}", fall=f"{stats['rollout/falls_per_1k_steps']:.2f}",
                            sps=f"{stats['env_steps_per_s']:.0f}")
            if self.iteration % cfg.checkpoint_every == 0 or self.global_step >= cfg.total_env_steps:
                self.save(last)
        bar.close()
        if logger is not None:
            logger.close()
        return stats

    def close(self) -> None:
        self.env.close()


def distill_bfm(cfg: DistillConfig) -> dict[str, float]:
    """`frozenfit bfm distill`: run (or resume) DAgger distillation; returns the last iteration's stats."""
    d = Distiller(cfg)
    try:
        return d.train()
    finally:
        d.close()

