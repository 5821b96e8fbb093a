"""PPO for batched torch environments, end to end in one file (in the spirit of CleanRL).

Rollout -> GAE -> clipped policy + clipped value loss (+ bounds loss) over minibatch epochs.
Observation normalisation, value normalisation, advantage normalisation, grad-norm clipping,
fixed or learnable action std, a linearly annealed learning rate with a KL early stop,
time-limit bootstrapping, atomic checkpoints with `--resume`, CSV + TensorBoard logs, tqdm.
Under ``torchrun`` (``shard``) every rank steps its own environments and one update equals the
single-process update on the union of the ranks' batches (`frozenfit.common.distributed`); rank 0
alone logs and writes the one checkpoint, which holds every rank's random state.

The actor is any module mapping observations to action means. Only parameters with
``requires_grad`` are optimised, so a frozen backbone inside the actor stays untouched; the
critic may read extra inputs that the actor never sees (``critic_obs`` from the environment).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.common.distributed import (Shard, all_mean, average_gradients, broadcast_params, global_moments,
                                          random_states, restore_random_states)
from frozenfit.common.logging import RunLogger
from frozenfit.errors import FrozenfitError
from frozenfit.common.nets import mlp
from frozenfit.common.normalizer import RunningNorm

AGENT_KIND = "ppo-agent"
AGENT_VERSION = 1


RESUME_IDENTITY = ("model_hash", "bfm_digest", "task", "method")  # config_extra keys a resume must match


@dataclass
class PPOConfig:
    """PPO hyper-parameters and run bookkeeping."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("lr_final", "kl_target", "value_clip", "ent_coef", "bounds_coef", "target_kl")  # see common.checks
    FRACTIONS: ClassVar[tuple[str, ...]] = ("gamma", "gae_lambda")  # see common.checks
    ANY_SIGN: ClassVar[tuple[str, ...]] = ("init_log_std",)  # see common.checks

    total_env_steps: int = 20_000_000
    num_steps: int = 32               # rollout length per environment
    gamma: float = 0.99
    gae_lambda: float = 0.95
    lr: float = 3e-4
    lr_final: float = 5e-5            # linear annealing target at total_env_steps
    lr_schedule: str = "linear"
    """"linear" (lr -> lr_final) or "adaptive": the lr is scaled by 1.5 when the update's KL is
    below kl_target / 2, and divided by 1.5 above 2 kl_target (rl_games)."""
    kl_target: float = 0.008
    """The adaptive schedule's KL target."""
    critic_lr: float | None = None    # a separate critic learning rate (annealed alongside); None: lr
    update_epochs: int = 4
    num_minibatches: int = 4
    clip_coef: float = 0.2
    value_clip: float = 0.2
    vf_coef: float = 1.0
    ent_coef: float = 0.0
    bounds_coef: float = 1.0
    action_bound: float = 1.2         # bounds loss penalises action means beyond this
    max_grad_norm: float = 1.0
    target_kl: float = 0.05           # stop the epoch loop early above this approximate KL
    learn_std: bool = True
    init_log_std: float = -1.0
    actor_hidden: tuple[int, ...] = (256, 256)
    critic_hidden: tuple[int, ...] = (256, 256)
    norm_obs: bool = True
    norm_value: bool = True
    precision: Literal["fp32", "bf16"] = "fp32"
    """"fp32", or "bf16": the actor's and critic's forward (and so backward) passes run under CPU
    bfloat16 autocast, in the rollout and the update alike, so PPO's probability ratio compares a
    network with itself; weights, optimiser, advantages and log-probabilities stay fp32. Fast only
    on CPUs with AMX or AVX-512-BF16."""
    checkpoint_every: int = 20        # iterations
    seed: int = 0


def _elu() -> nn.Module:
    """ELU in place: its backward reads its output, so overwriting the input is safe and saves
    one activation-sized allocation per layer in every minibatch."""
    return nn.ELU(inplace=True)


class Agent(nn.Module):
    """Gaussian actor + critic.

    The default actor is an MLP on normalised observations. A custom ``actor`` receives the raw
    observations (it owns its normalisation, e.g. a frozen BFM). The critic reads the normalised
    observations plus optional extra inputs (``critic_obs``, normalised separately).
    """

    def __init__(self, obs_dim: int, act_dim: int, cfg: PPOConfig, actor: nn.Module | None = None,
                 critic_obs_dim: int = 0):
        super().__init__()
        self.obs_dim, self.act_dim, self.critic_obs_dim = obs_dim, act_dim, critic_obs_dim
        self.norm_obs = cfg.norm_obs
        self.obs_norm = RunningNorm(obs_dim)
        self.critic_norm = RunningNorm(max(critic_obs_dim, 1))
        self.custom_actor = actor is not None
        self.actor = actor if actor is not None else mlp(obs_dim, cfg.actor_hidden, act_dim, _elu)
        if not self.custom_actor:
            nn.init.orthogonal_(self.actor[-1].weight, 0.01)
            nn.init.zeros_(self.actor[-1].bias)
        self.log_std = nn.Parameter(torch.full((act_dim,), cfg.init_log_std), requires_grad=cfg.learn_std)
        self.critic = mlp(obs_dim + critic_obs_dim, cfg.critic_hidden, 1, _elu)
        self.value_norm = RunningNorm(())

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.obs_norm(x) if self.norm_obs else x

    @torch.no_grad()
    def update_normalizers(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None,
                           shard: Shard = Shard()) -> None:
        if self.norm_obs:
            self.obs_norm.update(obs, shard)
            if critic_obs is not None:
                self.critic_norm.update(critic_obs, shard)
        if hasattr(self.actor, "update_normalizers"):  # a custom actor owning trainable-input statistics
            self.actor.update_normalizers(obs, shard)

    def action_mean(self, obs: torch.Tensor) -> torch.Tensor:
        return self.mean_from(self.actor_input(obs))

    def value(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised value prediction."""
        return self.value_from(self.critic_input(obs, critic_obs))

    # The update reads every stored sample in several epochs; what depends on the sample alone
    # (normalised inputs -- the statistics do not move during an update -- and a custom actor's
    # `cache`, e.g. a frozen BFM's input tokens) is computed once by these and indexed per minibatch.
    def actor_input(self, obs: torch.Tensor, cache: bool = False) -> tuple[torch.Tensor, ...]:
        if not self.custom_actor:
            return (self._mlp_input(self._norm(obs)),)
        extra = self.actor.cache(obs) if cache and hasattr(self.actor, "cache") else None
        return (obs,) if extra is None else (obs, *extra)

    def batch_inputs(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None):
        """(actor inputs, critic input) of a stored batch; one tensor when both read the same."""
        actor_in = self.actor_input(obs, cache=True)
        shared = not self.custom_actor and not self.critic_obs_dim
        return actor_in, actor_in[0] if shared else self.critic_input(obs, critic_obs)

    def critic_input(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None) -> torch.Tensor:
        x = self._norm(obs)
        if self.critic_obs_dim:
            x = torch.cat([x, self.critic_norm(critic_obs) if self.norm_obs else critic_obs], 1)
        return self._mlp_input(x)

    @staticmethod
    def _mlp_input(x: torch.Tensor) -> torch.Tensor:
        """Under bf16 autocast an MLP's first layer rounds its input to bf16 anyway: rounding once
        here is exact and halves what the update's minibatches gather."""
        return x.to(torch.bfloat16) if torch.is_autocast_enabled("cpu") else x

    def mean_from(self, actor_in: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if not self.custom_actor:
            return self.actor(actor_in[0]).float()
        obs, *cached = actor_in
        return (self.actor(obs, tuple(cached)) if cached else self.actor(obs)).float()

    def value_from(self, critic_in: torch.Tensor) -> torch.Tensor:
        return self.critic(critic_in).squeeze(-1).float()

    def dist(self, obs: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.action_mean(obs), self.log_std.exp().expand(obs.shape[0], -1),
                                          validate_args=False)   # finite by construction; the checks cost

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        return self.action_mean(obs) if deterministic else self.dist(obs).sample()


def _gae(rewards, values, next_value, dones, gamma, lam):
    """Generalised advantage estimation over a (T, N) rollout; ``dones`` cut the bootstrap."""
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        nv = next_value if t == T - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * nv * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + values


class PPO:
    """Trains ``agent`` on ``env`` (a batched env with reset() and step() -> StepResult)."""

    def __init__(self, env, agent: Agent, cfg: PPOConfig, run_dir: str | Path,
                 config_extra: dict[str, Any] | None = None, shard: Shard = Shard()):
        self.env, self.agent, self.cfg, self.shard = env, agent, cfg, shard
        self.run_dir = Path(run_dir)
        self.params = [p for p in agent.parameters() if p.requires_grad]
        groups: list[dict] = [{"params": self.params, "scale": 1.0}]
        if cfg.critic_lr is not None:  # two groups only then, so older one-group checkpoints still resume
            critic_ids = {id(p) for p in agent.critic.parameters()}
            groups = [{"params": [p for p in self.params if id(p) not in critic_ids], "scale": 1.0},
                      {"params": [p for p in self.params if id(p) in critic_ids], "scale": cfg.critic_lr / cfg.lr}]
        self.opt = torch.optim.Adam([g for g in groups if g["params"]], lr=cfg.lr, eps=1e-5, fused=True)
        self.iteration = 0
        self.global_step = 0
        self.wall_s = 0.0
        self.config_extra = config_extra or {}
        self.timing = {"sim": 0.0, "policy": 0.0, "update": 0.0}
        if cfg.lr_schedule not in ("linear", "adaptive"):
            raise FrozenfitError(f"lr_schedule must be 'linear' or 'adaptive', not '{cfg.lr_schedule}'")
        self.adaptive_lr = cfg.lr                     # the adaptive schedule's current lr
        if cfg.precision not in ("fp32", "bf16"):
            raise FrozenfitError(f"precision must be 'fp32' or 'bf16', not '{cfg.precision}'")
        if cfg.precision == "bf16" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            print("warning: --ppo.precision bf16 on a CPU without bfloat16 instructions is slower than fp32")

    def autocast(self) -> torch.autocast:
        """The forward passes' precision context (`PPOConfig.precision`)."""
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.cfg.precision == "bf16")

    # -- checkpoints ----------------------------------------------------------------------------
    def checkpoint_config(self) -> dict[str, Any]:
        return {"ppo": asdict(self.cfg), "obs_dim": self.agent.obs_dim, "act_dim": self.agent.act_dim,
                "critic_obs_dim": self.agent.critic_obs_dim, **self.config_extra}

    def save(self, path: Path) -> Path:
        """Write the checkpoint (every rank calls this: the random states are gathered; rank 0 writes)."""
        task = getattr(self.env, "task", None)
        state = {"optimizer": self.opt.state_dict(), "iteration": self.iteration,
                 "global_step": self.global_step, "wall_s": self.wall_s, "adaptive_lr": self.adaptive_lr,
                 **random_states(self.env.gen, self.shard),   # every rank's streams continue after a resume
                 "task": task.state_dict() if hasattr(task, "state_dict") else {}}
        if not self.shard.is_main:
            return path
        return save_checkpoint(path, AGENT_KIND, AGENT_VERSION, self.checkpoint_config(),
                               self.agent.state_dict(), state=state)

    def resume(self, path: Path) -> None:
        ck = load_checkpoint(path, kind=AGENT_KIND, format_version=AGENT_VERSION)
        mine = self.checkpoint_config()
        # shapes always; identities (e.g. the frozen BFM a run adapts) where both record them
        keys = ["obs_dim", "act_dim", "critic_obs_dim"] + [k for k in RESUME_IDENTITY if k in mine and k in ck.config]
        for key in keys:
            if ck.config.get(key) != mine[key]:
                raise FrozenfitError(f"{path}: {key}={ck.config.get(key)} but this run has {mine[key]}")
        self.agent.load_state_dict(ck.tensors)
        s = ck.state
        self.opt.load_state_dict(s["optimizer"])
        self.iteration, self.global_step, self.wall_s = s["iteration"], s["global_step"], s["wall_s"]
        self.adaptive_lr = s.get("adaptive_lr", self.cfg.lr)
        restore_random_states(s, self.env.gen, self.shard, path)
        task = getattr(self.env, "task", None)
        if s["task"] and hasattr(task, "load_state_dict"):
            task.load_state_dict(s["task"])

    # -- training -------------------------------------------------------------------------------
    def _lr(self) -> float:
        if self.cfg.lr_schedule == "adaptive":
            return self.adaptive_lr
        frac = min(1.0, self.global_step / max(1, self.cfg.total_env_steps))
        return self.cfg.lr + frac * (self.cfg.lr_final - self.cfg.lr)

    def train(self, resume: bool = False, on_iteration: Callable[["PPO", dict], None] | None = None,
              progress: bool = True, stop: Callable[["PPO"], bool] | None = None) -> dict[str, float]:
        """Train to ``cfg.total_env_steps``; ``on_iteration`` may add to each iteration's logged
        stats, and ``stop`` ends the run early (checkpointed, after that iteration is logged)."""
        cfg, env, agent = self.cfg, self.env, self.agent
        last_path = self.run_dir / "checkpoint.safetensors"
        if resume:
            if not last_path.exists():
                raise FrozenfitError(f"--resume: no checkpoint at {last_path}")
            self.resume(last_path)
        shard = self.shard
        broadcast_params(list(agent.parameters()) + list(agent.buffers()), shard)   # identical start
        logger = RunLogger(self.run_dir, resume_from=self.global_step if resume else None) if shard.is_main else None
        n, T = env.num_envs, cfg.num_steps
        batch = n * T                       # this rank's; the global batch is world x batch
        mb = batch // cfg.num_minibatches
        obs = env.reset()
        cdim = agent.critic_obs_dim
        cobs = env.critic_obs() if cdim else None  # extra critic inputs, e.g. task observations
        ep_ret, ep_len = torch.zeros(n), torch.zeros(n)
        stats: dict[str, float] = {}
        bar = tqdm(total=cfg.total_env_steps, initial=self.global_step, unit="step",
                   disable=not (progress and shard.is_main), dynamic_ncols=True)
        while self.global_step < cfg.total_env_steps:
            t_iter = time.perf_counter()
            b_obs = torch.empty(T, n, agent.obs_dim)   # every row is written below
            b_act = torch.empty(T, n, agent.act_dim)
            b_cobs = torch.empty(T, n, cdim) if cdim else None
            b_logp, b_rew, b_done, b_val = (torch.empty(T, n) for _ in range(4))
            finished_ret, finished_len, falls, episodes = [], [], 0, 0
            term_sums: dict[str, float] = {"step": 0.0}
            for t in range(T):
                t0 = time.perf_counter()
                with torch.no_grad(), self.autocast():
                    d = agent.dist(obs)
                    action = d.sample()
                    b_logp[t] = d.log_prob(action).sum(-1)
                    b_val[t] = agent.value_norm.denormalize(agent.value(obs, cobs))
                t1 = time.perf_counter()
                r = env.step(action)
                t2 = time.perf_counter()
                self.timing["policy"] += t1 - t0
                self.timing["sim"] += t2 - t1
                b_obs[t], b_act[t] = obs, action
                if cdim:
                    b_cobs[t] = cobs
                reward = r.reward
                if r.truncated.any():  # time limit: bootstrap from the value of the final state
                    with torch.no_grad(), self.autocast():
                        v_final = agent.value_norm.denormalize(
                            agent.value(r.final_obs, r.final_critic_obs if cdim else None))
                    reward = reward + cfg.gamma * v_final * r.truncated.float()
                b_rew[t] = reward
                done = r.terminated | r.truncated
                b_done[t] = done.float()
                term_sums["step"] += float(r.reward.mean())
                for k, v in r.terms.items():
                    term_sums[k] = term_sums.get(k, 0.0) + float(v.mean())
                ep_ret += r.reward
                ep_len += 1
                if done.any():
                    finished_ret += ep_ret[done].tolist()
                    finished_len += ep_len[done].tolist()
                    falls += int(r.terminated.sum())
                    episodes += int(done.sum())
                    ep_ret[done], ep_len[done] = 0, 0
                obs = r.obs
                cobs = env.critic_obs() if cdim else None
                agent.update_normalizers(obs, cobs, shard)
            t_upd = time.perf_counter()
            with torch.no_grad(), self.autocast():
                next_val = agent.value_norm.denormalize(agent.value(obs, cobs))
            adv, returns = _gae(b_rew, b_val, next_val, b_done, cfg.gamma, cfg.gae_lambda)
            if cfg.norm_value:
                agent.value_norm.update(returns, shard)
            stats = self._update(b_obs.reshape(batch, -1), b_cobs.reshape(batch, -1) if cdim else None,
                                 b_act.reshape(batch, -1), b_logp.reshape(-1),
                                 adv.reshape(-1), returns.reshape(-1), b_val.reshape(-1), mb)
            self.timing["update"] += time.perf_counter() - t_upd
            stats["lr"] = self._lr()             # the lr this update used
            if cfg.lr_schedule == "adaptive":   # KL-driven step size, bounded to [1e-6, 1e-2]
                if stats["approx_kl"] > 2 * cfg.kl_target:
                    self.adaptive_lr = max(1e-6, self.adaptive_lr / 1.5)
                elif stats["approx_kl"] < cfg.kl_target / 2:
                    self.adaptive_lr = min(1e-2, self.adaptive_lr * 1.5)
            self.global_step += batch * shard.world
            self.iteration += 1
            self.wall_s += time.perf_counter() - t_iter
            stats.update({f"reward/{k}": v / T for k, v in term_sums.items()})
            stats["env_steps_per_s"] = batch * shard.world / (time.perf_counter() - t_iter)
            if episodes:
                stats["episode/return"] = float(np.mean(finished_ret))
                stats["episode/length"] = float(np.mean(finished_len))
                stats["episode/fall_rate"] = falls / episodes
            stats["nan_resets"] = float(getattr(env, "nan_resets", 0))
            if on_iteration is not None:
                on_iteration(self, stats)
            if logger is not None:
                logger.log(self.global_step, **stats)
            bar.update(batch * shard.world)
            bar.set_postfix(ret=f"{stats.get('episode/return', float('nan')):.1f}",
                            fall=f"{stats.get('episode/fall_rate', float('nan')):.2f}",
                            sps=f"{stats['env_steps_per_s']:.0f}")
            stopping = stop is not None and stop(self)
            if stopping or self.iteration % cfg.checkpoint_every == 0 or self.global_step >= cfg.total_env_steps:
                self.save(last_path)
            if stopping:
                break
        bar.close()
        if logger is not None:
            logger.close()
        return stats

    def _update(self, obs, cobs, act, old_logp, adv, returns, old_val, mb) -> dict[str, float]:
        cfg, agent = self.cfg, self.agent
        for g in self.opt.param_groups:
            g["lr"] = self._lr() * g.get("scale", 1.0)
        shard = self.shard
        vn = agent.value_norm if cfg.norm_value else None
        ret_n = vn(returns) if vn is not None else returns
        old_val_n = vn(old_val) if vn is not None else old_val
        n = obs.shape[0]
        log = {"loss/policy": 0.0, "loss/value": 0.0, "loss/bounds": 0.0, "approx_kl": 0.0, "clipfrac": 0.0}
        count = 0
        with torch.no_grad(), self.autocast():   # computed once, reused in every epoch
            actor_in, critic_in = agent.batch_inputs(obs, cobs)
        for _ in range(cfg.update_epochs):
            perm = torch.randperm(n)
            kl_epoch = 0.0
            for start in range(0, n - mb + 1, mb):
                i = perm[start:start + mb]
                with self.autocast():
                    x_actor = tuple(x[i] for x in actor_in)
                    mean = agent.mean_from(x_actor)   # the MLP actor and critic may read one tensor: gather it once
                    v = agent.value_from(x_actor[0] if critic_in is actor_in[0] else critic_in[i])
                std = agent.log_std.exp()
                dist = torch.distributions.Normal(mean, std, validate_args=False)
                logp = dist.log_prob(act[i]).sum(-1)
                ratio = torch.exp(logp - old_logp[i])
                a = adv[i]
                # statistics of the global minimbatch (every rank's share; unbiased std as torch's)
                a_mean, a_var, a_n = global_moments(a[:, None], shard)
                a_std = (a_var * a_n / max(a_n - 1, 1)).sqrt().to(a.dtype)
                a = (a - a_mean.to(a.dtype)) / (a_std + 1e-8)
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
                v_clip = old_val_n[i] + (v - old_val_n[i]).clamp(-cfg.value_clip, cfg.value_clip)
                v_loss = torch.max((v - ret_n[i]) ** 2, (v_clip - ret_n[i]) ** 2).mean()
                bound = cfg.action_bound
                b_loss = ((mean - bound).clamp(min=0) ** 2 + (mean + bound).clamp(max=0) ** 2).sum(-1).mean()
                loss = pg + cfg.vf_coef * v_loss + cfg.bounds_coef * b_loss
                if cfg.ent_coef:
                    loss = loss - cfg.ent_coef * dist.entropy().sum(-1).mean()
                if not torch.isfinite(loss):
                    raise FrozenfitError("PPO loss is not finite (NaN/inf); lower the learning rate or check "
                                         "the rewards and observations")
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                average_gradients(self.params, shard)      # the mean over ranks: the global minibatch's gradient
                nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
                self.opt.step()
                with torch.no_grad():
                    lr_ = logp - old_logp[i]
                    kl = float(((torch.exp(lr_) - 1) - lr_).mean())
                    log["clipfrac"] += float(((ratio - 1).abs() > cfg.clip_coef).float().mean())
                kl_epoch += kl
                log["loss/policy"] += pg.item()
                log["loss/value"] += v_loss.item()
                log["loss/bounds"] += b_loss.item()
                log["approx_kl"] += kl
                count += 1
            # every rank takes the same decision (else the next all-reduce would wait forever)
            if all_mean([kl_epoch], shard)[0] / cfg.num_minibatches > cfg.target_kl:
                break
        out = {k: v / max(count, 1) for k, v in log.items()}
        out["action_std"] = float(agent.log_std.detach().exp().mean())
        out["epochs_run"] = count / cfg.num_minibatches
        return out
