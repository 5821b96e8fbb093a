"""An adversarial motion prior (AMP, Peng et al. 2021): a discriminator that tells the policy's
motion from retargeted mocap, whose score is a style reward mixed with the goal rewards.

A sample is a window of ``window`` consecutive frames of heading-frame motion features
(`frozenfit.motion.features`, the realism judge's features; the Task Tokens paper's AMP baseline
uses 10-frame windows). The discriminator is trained with the least-squares GAN loss and a
gradient penalty on mocap windows,

    L_D = E_mocap[(D - 1)^2] + E_policy[(D + 1)^2] + w_gp / 2 * E_mocap[|grad_x D|^2]
          + logit_reg * |W_out|^2 + weight_decay * sum_l |W_l|^2,

(x: the normalised window the network reads; W_out the output layer's weights, W_l every layer's;
``loss='bce'`` puts the public implementation's logistic loss in place of the least-squares terms;
the two L2 terms are the AMP implementation's, which keep the discriminator from overpowering the
policy), the policy side drawn half from this iteration's windows and half from a replay buffer
of earlier ones (also the implementation's), and rewards the policy with
r_style = max(0, 1 - (D - 1)^2 / 4): 1 where D scores a window as mocap, 0 at D <= -1. The goal
reward and the style reward are mixed as task_weight * r_goal + style_weight * r_style (the
paper's baseline: 0.5 and 1.0). `MotionLibrary` holds the clips (windows to compare, and states to
start episodes from: reference state initialisation); `QposHistory` keeps each environment's last
frames so the policy's windows are measured exactly as the clips' are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from frozenfit.common.distributed import Shard, average_gradients, broadcast_params, gather_bytes
from frozenfit.common.nets import mlp
from frozenfit.common.normalizer import RunningNorm
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import CONTROL_DT
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.motion.clips import qmul
from frozenfit.motion.features import motion_features
from frozenfit.motion.playback import clip_trajectory, initial_velocity


@dataclass
class AMPConfig:
    ZERO_OK: ClassVar[tuple[str, ...]] = ("style_min_speed", "style_max_offset", "logit_reg", "weight_decay", "replay")  # see common.checks
    window: int = 10
    """Frames per discriminator sample (the Task Tokens paper's AMP baseline)."""
    hidden: tuple[int, ...] = (1024, 512)
    lr: float = 1e-4
    grad_penalty: float = 10.0
    """w_gp: weight of the gradient penalty on mocap windows."""
    logit_reg: float = 0.05
    """L2 weight on the output layer's weights (AMP's implementation: 0.05)."""
    weight_decay: float = 1e-4
    """L2 weight on every layer's weights (AMP's implementation: 1e-4)."""
    loss: str = "lsgan"
    """'lsgan': the paper's least-squares loss and reward max(0, 1 - (D - 1)^2 / 4); 'bce': the
    public implementation's logistic loss and reward -log(1 - sigmoid(D)) (never flat: windows the
    discriminator is sure about are still ranked, where the clamped least-squares reward is 0)."""
    reward_scale: float = 1.0
    """Multiplies the style reward (the implementation scales its 'bce' reward by 2)."""
    replay: int = 100_000
    """Policy windows kept from earlier iterations; half of each step's policy batch is drawn from
    them (0: this iteration's windows only). Not checkpointed: a resumed run refills it."""
    task_weight: float = 0.5
    style_weight: float = 1.0
    batch: int = 512
    """Windows per side in one discriminator step."""
    rsi_prob: float = 0.5
    """Reference state initialisation: the fraction of episodes that start from a random clip
    frame (turned to a random heading, at the origin) instead of from rest."""
    style_min_speed: float = 0.0
    """The style reward applies only where the commanded speed (a wrapped task's ``speed``) is at
    least this, and only those windows train the discriminator: DeepMimic has no idle clip, so
    standing and shuffling would be told apart from every clip (0: everywhere)."""
    style_max_offset: float = 180.0
    """... and only where the commanded facing is within this many degrees of the commanded travel
    direction (a wrapped task's ``facing_yaw`` and ``move_yaw``): the clips have no backward or
    sideways gait, so the discriminator would score any such gait as not human (180: every offset)."""


MAX_CLIP_RATE = 30.0   # rad/s or m/s between two clip frames: above it, a loop seam, not motion


LOSSES = ("lsgan", "bce")


def style_reward(d: torch.Tensor, loss: str = "lsgan") -> torch.Tensor:
    """AMP's style reward of discriminator scores: max(0, 1 - (d - 1)^2 / 4) for the least-squares
    discriminator, -log(max(1 - sigmoid(d), 1e-4)) for the logistic one."""
    if loss == "bce":
        return -torch.log((1 - torch.sigmoid(d)).clamp_min(1e-4))
    return (1 - 0.25 * (d - 1).square()).clamp_min(0.0)


class MotionLibrary:
    """Retargeted clips at the control rate: feature windows to sample, states to start from."""

    def __init__(self, clips: Sequence[str], window: int = 10, version: int = 2, seconds: float = 4.0,
                 mirror: bool = True):
        if not clips:
            raise FrozenfitError("a motion library needs at least one clip")
        self.window, self.version = window, version
        self.names: list[str] = []
        self.qpos: list[np.ndarray] = []
        for name in clips:
            for m in ((False, True) if mirror else (False,)):
                q = clip_trajectory(name, seconds, m, version)
                if len(q) < window + 2:
                    raise FrozenfitError(f"clip {name} gives {len(q)} frames, fewer than a window of {window} needs")
                self.names.append(name + ("_mirror" if m else ""))
                self.qpos.append(q)
        self.features = [motion_features(torch.as_tensor(q, dtype=torch.float32)) for q in self.qpos]
        # windows start at every frame that leaves a full window, (clip, start) pairs, except windows
        # over a seam: a clip that does not cycle jumps back to its first pose when looped, a step
        # no body makes (faster than MAX_CLIP_RATE)
        starts = []
        for i, (f, q) in enumerate(zip(self.features, self.qpos)):
            rate = np.array([np.abs(initial_velocity(q[t], q[t + 1], CONTROL_DT)).max() for t in range(len(q) - 1)])
            seam = torch.as_tensor(rate > MAX_CLIP_RATE)
            s = torch.arange(len(f) - window + 1)
            clean = ~torch.stack([seam[s + k] for k in range(window)], 1).any(1)
            starts.append(torch.stack([torch.full((int(clean.sum()),), i), s[clean]], 1))
        self._starts = torch.cat(starts)
        if not len(self._starts):
            raise FrozenfitError(f"clips {list(clips)} leave no window of {window} frames without a seam")

    @property
    def num_features(self) -> int:
        return self.features[0].shape[1]

    def all_frames(self) -> torch.Tensor:
        return torch.cat(self.features)

    def sample_windows(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, window, F) windows of consecutive mocap frames, uniformly over every valid start."""
        pick = self._starts[torch.randint(len(self._starts), (n,), generator=generator)]
        return torch.stack([self.features[c][s:s + self.window] for c, s in pick.tolist()])

    def sample_states(self, n: int, generator: torch.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(qpos (n, nq), qvel (n, nv)) of random clip frames, velocities from the next frame: the
        states reference state initialisation starts episodes from."""
        pick = self._starts[torch.randint(len(self._starts), (n,), generator=generator)].tolist()
        qpos = np.stack([self.qpos[c][s] for c, s in pick])
        qvel = np.stack([initial_velocity(self.qpos[c][s], self.qpos[c][s + 1], CONTROL_DT) for c, s in pick])
        return qpos, qvel


class Discriminator(nn.Module):
    """D(window): an MLP on a flattened window of normalised features (statistics of the mocap
    frames, fixed at construction, so the policy's motion never moves the scale)."""

    def __init__(self, num_features: int, window: int, hidden: tuple[int, ...] = (1024, 512),
                 reference: torch.Tensor | None = None):
        super().__init__()
        self.norm = RunningNorm(num_features)
        if reference is not None:
            self.norm.update(reference)
        self.net = mlp(num_features * window, hidden, 1, act=nn.ReLU)

    def normalise(self, windows: torch.Tensor) -> torch.Tensor:
        return self.norm(windows)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """D of already normalised windows (B, window, F) -> (B,)."""
        return self.net(x.flatten(1)).squeeze(1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        return self.score(self.normalise(windows))


def discriminator_loss(disc: Discriminator, mocap: torch.Tensor, policy: torch.Tensor, grad_penalty: float,
                       logit_reg: float = 0.0, weight_decay: float = 0.0,
                       loss: str = "lsgan") -> tuple[torch.Tensor, dict[str, float]]:
    """AMP's least-squares loss (or with ``loss='bce'`` the logistic one: mocap labelled 1, policy
    0) with the gradient penalty on mocap windows and the L2 terms on the weights (module docstring)."""
    x_real = disc.normalise(mocap).detach().requires_grad_(True)
    d_real = disc.score(x_real)
    d_fake = disc(policy.detach())
    grad, = torch.autograd.grad(d_real.sum(), x_real, create_graph=True)
    gp = grad.square().flatten(1).sum(1).mean()
    if loss == "bce":
        bce = nn.functional.binary_cross_entropy_with_logits
        adversarial = 0.5 * (bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake)))
    else:
        adversarial = (d_real - 1).square().mean() + (d_fake + 1).square().mean()
    weights = [m.weight for m in disc.net.modules() if isinstance(m, nn.Linear)]
    l2 = weight_decay * sum(w.square().sum() for w in weights) + logit_reg * weights[-1].square().sum()
    total = adversarial + 0.5 * grad_penalty * gp + l2
    return total, {"amp/d_mocap": d_real.mean().item(), "amp/d_policy": d_fake.mean().item(),
                   "amp/grad_penalty": gp.item(), "amp/weight_l2": l2.item(), "amp/loss": total.item()}


@dataclass
class AMPPrior:
    """The discriminator, its optimizer and the library it compares against.

    Under ``torchrun`` (``shard``) there is one discriminator: every rank starts from rank 0's
    weights, draws its own mocap and policy windows, and the gradients are averaged, so a step is
    the single-process step on the union of the ranks' batches (the ranks stay identical)."""

    library: MotionLibrary
    cfg: AMPConfig = field(default_factory=AMPConfig)
    seed: int = 0
    shard: Shard = field(default_factory=Shard)

    def __post_init__(self):
        if self.cfg.loss not in LOSSES:
            raise FrozenfitError(f"unknown discriminator loss '{self.cfg.loss}'; choose one of {', '.join(LOSSES)}")
        if self.cfg.window != self.library.window:
            raise FrozenfitError(f"the library's windows have {self.library.window} frames, the prior {self.cfg.window}")
        self.disc = Discriminator(self.library.num_features, self.cfg.window, self.cfg.hidden, self.library.all_frames())
        broadcast_params(list(self.disc.parameters()), self.shard)
        self.opt = torch.optim.Adam(self.disc.net.parameters(), lr=self.cfg.lr)
        self.gen = torch.Generator().manual_seed(self.seed + 1000 * self.shard.rank)   # each rank its own windows
        self.replay = torch.zeros(0)      # (<= cfg.replay, window, F) earlier policy windows

    def policy_batch(self, fresh: torch.Tensor) -> torch.Tensor:
        """``batch`` policy windows: half from ``fresh`` and half from the replay buffer (all from
        ``fresh`` while the buffer is empty)."""
        n = self.cfg.batch
        old = n // 2 if len(self.replay) else 0
        parts = [fresh[torch.randint(len(fresh), (n - old,), generator=self.gen)]]
        if old:
            parts.append(self.replay[torch.randint(len(self.replay), (old,), generator=self.gen)])
        return torch.cat(parts)

    def remember(self, fresh: torch.Tensor) -> None:
        """Put ``fresh`` windows into the replay buffer: appended while it has room, then each
        overwriting a random slot (so the buffer holds a spread of earlier iterations)."""
        if not self.cfg.replay:
            return
        room = max(0, self.cfg.replay - len(self.replay))
        self.replay = torch.cat([self.replay.reshape(-1, *fresh.shape[1:]), fresh[:room]])
        rest = fresh[room:]
        if len(rest):
            keep = rest[torch.randperm(len(rest), generator=self.gen)[:self.cfg.replay]]
            self.replay[torch.randperm(len(self.replay), generator=self.gen)[:len(keep)]] = keep

    def update(self, policy_windows: torch.Tensor, steps: int = 1) -> dict[str, float]:
        """``steps`` discriminator steps, each on ``batch`` mocap windows and as many policy windows
        (`policy_batch` of ``policy_windows`` (B, window, F)), then the windows go into the
        replay buffer; returns the last step's statistics."""
        stats: dict[str, float] = {}
        for _ in range(steps):
            loss, stats = discriminator_loss(self.disc, self.library.sample_windows(self.cfg.batch, self.gen),
                                             self.policy_batch(policy_windows), self.cfg.grad_penalty,
                                             self.cfg.logit_reg, self.cfg.weight_decay, self.cfg.loss)
            if not torch.isfinite(loss):
                raise FrozenfitError(f"the AMP discriminator's loss became {loss.item()}; lower its learning rate")
            self.opt.zero_grad()
            loss.backward()
            average_gradients(list(self.disc.net.parameters()), self.shard)
            self.opt.step()
        self.remember(policy_windows)
        return stats

    @torch.no_grad()
    def reward(self, policy_windows: torch.Tensor) -> torch.Tensor:
        """Style reward (B,) of policy windows."""
        return self.cfg.reward_scale * style_reward(self.disc(policy_windows), self.cfg.loss)

    def mix(self, goal_reward: torch.Tensor, policy_windows: torch.Tensor) -> torch.Tensor:
        """task_weight * r_goal + style_weight * r_style."""
        return self.cfg.task_weight * goal_reward + self.cfg.style_weight * self.reward(policy_windows)


class QposHistory:
    """Each environment's last window + 1 qpos frames (the policy's side of the comparison) and
    the window of features they give, kept incrementally: a frame's features depend only on it and
    the next one, so each push computes one new feature row instead of the whole window."""

    def __init__(self, num_envs: int, window: int, nq: int):
        self.buf = torch.zeros(num_envs, window + 1, nq)
        self.feat: torch.Tensor | None = None     # (N, window, F), motion_features(buf)
        self.filled = False

    def reset(self, qpos: torch.Tensor, idx: torch.Tensor | None = None) -> None:
        """Fill the history of environments ``idx`` (all when None) with their current pose, taken
        from ``qpos`` (N, nq), every environment's: a fresh start has stood still."""
        idx = torch.arange(len(self.buf)) if idx is None else idx
        q = qpos[idx].to(self.buf.dtype)
        self.buf[idx] = q[:, None]
        still = motion_features(torch.stack([q, q], 1))                    # (k, 1, F)
        if self.feat is None:
            self.feat = torch.zeros(len(self.buf), self.buf.shape[1] - 1, still.shape[-1])
        self.feat = self.feat.clone()          # windows() handed out before stay as they were
        self.feat[idx] = still.expand(-1, self.feat.shape[1], -1)
        self.filled = True

    def push(self, qpos: torch.Tensor) -> None:
        """Append every environment's newest pose (N, nq)."""
        if not self.filled:
            raise FrozenfitError("QposHistory.push before reset")
        q = qpos.to(self.buf.dtype)
        newest = motion_features(torch.stack([self.buf[:, -1], q], 1))     # (N, 1, F)
        self.buf = torch.cat([self.buf[:, 1:], q[:, None]], 1)
        self.feat = torch.cat([self.feat[:, 1:], newest], 1)   # new tensors: earlier windows() stay valid

    def windows(self) -> torch.Tensor:
        """(N, window, F) feature windows of the current histories (``motion_features(buf)``)."""
        if self.feat is None:
            raise FrozenfitError("QposHistory.windows before reset")
        return self.feat


class StyledTask:
    """A task whose reward is mixed with the AMP style reward of each environment's latest window.

    It wraps any environment task (the teacher's `GoalTask`, say): resets fill the qpos history
    with the new pose, each step's reward pushes the step's pose (the terminal one included, before
    the environment resets it) and scores the window ending there; the windows are kept for the
    discriminator's next update (`update_prior`, once per PPO iteration). Every other attribute is
    the wrapped task's, so code that reads the task (a curriculum, the scene's box) still works."""

    def __init__(self, task, prior: AMPPrior, num_envs: int, nq: int, keep: int = 65_536):
        self.task, self.prior, self.keep = task, prior, keep
        self.history = QposHistory(num_envs, prior.cfg.window, nq)
        self.nq = nq
        self._windows: list[torch.Tensor] = []

    def __getattr__(self, name: str):
        # only reached for attributes StyledTask does not have itself
        if name == "task":
            raise AttributeError(name)
        return getattr(self.task, name)

    def place_objects(self, env, idx: torch.Tensor, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Reference state initialisation for a ``rsi_prob`` share of the resets (the env calls this
        with the reset states before setting them), then the wrapped task's own placement."""
        pick = np.flatnonzero(env.rand(len(idx)).numpy() < self.prior.cfg.rsi_prob)
        if len(pick):
            q, v = self.prior.library.sample_states(len(pick), self.prior.gen)
            yaw = env.rand(len(pick)).double().numpy() * 2 * np.pi - np.pi
            c, s = np.cos(yaw), np.sin(yaw)
            turn = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], 1)
            q = q.copy()
            q[:, :2] = 0.0
            q[:, 3:7] = qmul(turn, q[:, 3:7])
            v = v.copy()
            v[:, :2] = np.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], 1)   # world linear velocity
            qpos[pick, :self.nq] = q
            qvel[pick, :v.shape[1]] = v                      # root angular velocity is body-frame: unchanged
        if hasattr(self.task, "place_objects"):
            self.task.place_objects(env, idx, qpos, qvel)

    def reset(self, env, idx: torch.Tensor) -> None:
        self.task.reset(env, idx)
        self.history.reset(env.frame.qpos[:, :self.nq], idx)

    def observe(self, env) -> torch.Tensor:
        return self.task.observe(env)

    def terminated(self, env) -> torch.Tensor:
        return self.task.terminated(env)

    def advance(self, env) -> None:
        self.task.advance(env)

    def styled(self) -> torch.Tensor | None:
        """(N,) bool: environments whose command the clips cover (``style_min_speed``,
        ``style_max_offset``), None: all."""
        cfg = self.prior.cfg
        speed = getattr(self.task, "speed", None)
        out = None
        if cfg.style_min_speed > 0 and speed is not None:
            out = speed >= cfg.style_min_speed
        face, move = getattr(self.task, "facing_yaw", None), getattr(self.task, "move_yaw", None)
        if cfg.style_max_offset < 180.0 and face is not None and move is not None:
            ahead = wrap_angle(face - move).abs() <= math.radians(cfg.style_max_offset)
            out = ahead if out is None else out & ahead
        return out

    def reward(self, env) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        goal, terms = self.task.reward(env)
        self.history.push(env.frame.qpos[:, :self.nq])
        windows = self.history.windows()
        style = self.prior.reward(windows)
        active = self.styled()
        if active is not None:
            style = style * active
            windows = windows[active]
        self._windows.append(windows)
        while sum(len(w) for w in self._windows) > self.keep and len(self._windows) > 1:
            self._windows.pop(0)
        return (self.prior.cfg.task_weight * goal + self.prior.cfg.style_weight * style,
                {**terms, "goal": goal, "style": style})

    def state_dict(self) -> dict:
        """What a checkpoint keeps (PPO saves its environment task's state): the wrapped task's,
        the discriminator, its optimizer and sampling stream."""
        inner = self.task.state_dict() if hasattr(self.task, "state_dict") else {}
        gens = gather_bytes(self.prior.gen.get_state(), self.prior.shard)   # every rank calls this (PPO.save)
        out = {"task": inner, "disc": self.prior.disc.state_dict(), "opt": self.prior.opt.state_dict(),
               "gen": gens[0]}
        if len(gens) > 1:
            out["gen_ranks"] = [g.clone() for g in gens[1:]]
        return out

    def load_state_dict(self, d: dict) -> None:
        if d.get("task") and hasattr(self.task, "load_state_dict"):
            self.task.load_state_dict(d["task"])
        self.prior.disc.load_state_dict(d["disc"])
        self.prior.opt.load_state_dict(d["opt"])
        r = self.prior.shard.rank           # PPO.resume has checked the checkpoint's world size
        self.prior.gen.set_state(d["gen_ranks"][r - 1] if r else d["gen"])

    def update_prior(self, steps: int = 1) -> dict[str, float]:
        """Train the discriminator on the windows seen since the last update; they are then dropped."""
        windows = torch.cat(self._windows) if self._windows else torch.zeros(0)
        if not len(windows):
            self._windows.clear()
            return {}
        stats = self.prior.update(windows, steps)
        self._windows.clear()
        return stats
