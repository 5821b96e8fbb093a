"""Path following: keep the pelvis on a target that moves along a random 2D path.

The paper lists no sixth task; we follow the path-following setups of the character-animation
literature (e.g. PACER): a piecewise-linear path starts at the humanoid, turns by up to
+-``turn`` every ``node_seconds`` and is travelled at a speed drawn per segment (sometimes 0: a
stop). Observation: the target now and at the next ``obs_points - 1`` times ``obs_dt`` apart,
relative to the pelvis in the heading frame (2 per point). Reward: exp(-2 |p_root - p_target|^2)
(planar). Success (strict, like the paper's tasks): after a ``grace_steps`` start, the pelvis
stays within ``success_radius`` of the target on every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from frozenfit.humanoid.observations import root_heading, to_heading_frame
from frozenfit.humanoid.render import Marker
from frozenfit.tasktokens.prior import PromptPrior
from frozenfit.tasktokens.tasks.base import TokenTask


@dataclass
class PathFollowConfig:
    ZERO_OK: ClassVar[tuple[str, ...]] = ("grace_steps",)  # see common.checks
    node_seconds: float = 1.0
    num_nodes: int = 40                       # covers a 30 s training episode plus the look-ahead
    speed: tuple[float, float] = (0.5, 2.5)   # m/s per segment (our BFM's teacher tops out at 3)
    stop_prob: float = 0.1
    turn: float = math.pi / 3                 # max heading change per node
    obs_points: int = 10
    obs_dt: float = 0.3                       # s between observed points
    grace_steps: int = 60
    success_radius: float = 0.5               # m
    prior_lookahead: float = 1.0              # s: the prompt heads for the target this far ahead
    w_path: float = 1.0                       # reward scale


def path_reward(root_xy: torch.Tensor, target_xy: torch.Tensor) -> torch.Tensor:
    return torch.exp(-2 * ((root_xy - target_xy) ** 2).sum(-1))


class PathFollowTask(TokenTask):
    name = "path_follow"
    label = "Path following"
    has_prior = True

    def __init__(self, num_envs: int, cfg: PathFollowConfig | None = None):
        super().__init__(num_envs)
        self.cfg = cfg or PathFollowConfig()
        self.obs_dim = 2 * self.cfg.obs_points
        self.nodes = torch.zeros(num_envs, self.cfg.num_nodes + 1, 2)   # world xy
        self.steps = torch.zeros(num_envs, dtype=torch.long)
        self.prompt = PromptPrior(num_envs)

    def reset_task(self, env, idx: torch.Tensor) -> None:
        k, c = idx.numel(), self.cfg
        heading = self.uniform(env, k, -math.pi, math.pi)[:, None] + torch.cumsum(
            self.uniform(env, k * c.num_nodes, -c.turn, c.turn).reshape(k, c.num_nodes), 1)
        speed = self.uniform(env, k * c.num_nodes, *c.speed).reshape(k, c.num_nodes)
        speed = torch.where(env.rand(k, c.num_nodes) < c.stop_prob, torch.zeros_like(speed), speed)
        step = torch.stack([torch.cos(heading), torch.sin(heading)], -1) * (speed * c.node_seconds)[..., None]
        start = env.frame.body_pos[idx, 0, :2]
        self.nodes[idx] = torch.cat([start[:, None], start[:, None] + torch.cumsum(step, 1)], 1)
        self.steps[idx] = 0

    def target_at(self, env, seconds_ahead: torch.Tensor | float = 0.0) -> torch.Tensor:
        """World xy of the path target ``seconds_ahead`` from now: (N, 2), or (N, K, 2) for (K,) times."""
        ahead = torch.as_tensor(seconds_ahead, dtype=torch.float32)
        s = (self.steps.float()[:, None] * env.dt + ahead.reshape(1, -1)) / self.cfg.node_seconds   # (N, K)
        s = s.clamp(max=self.cfg.num_nodes - 1e-4)
        i = s.floor().long()
        frac = (s - i)[..., None]
        a = torch.gather(self.nodes, 1, i[..., None].expand(-1, -1, 2))
        b = torch.gather(self.nodes, 1, (i + 1)[..., None].expand(-1, -1, 2))
        out = a + frac * (b - a)
        return out[:, 0] if ahead.dim() == 0 else out

    def distance(self, env) -> torch.Tensor:
        return (env.frame.body_pos[:, 0, :2] - self.target_at(env)).norm(dim=-1)

    def observe(self, env) -> torch.Tensor:
        c = self.cfg
        pts = self.target_at(env, torch.arange(c.obs_points) * c.obs_dt)              # (N, K, 2)
        rel = pts - env.frame.body_pos[:, None, 0, :2]
        return to_heading_frame(rel, root_heading(env.frame)).reshape(env.num_envs, -1)

    def reward_terms(self, env):
        return {"path": path_reward(env.frame.body_pos[:, 0, :2], self.target_at(env))}

    def frame_success(self, env) -> torch.Tensor:
        return (self.steps < self.cfg.grace_steps) | (self.distance(env) <= self.cfg.success_radius)

    def advance_task(self, env) -> None:
        self.steps += 1

    def markers(self, env, i: int) -> list:
        """A red sphere on the target, small white ones on the next observed points."""
        c = self.cfg
        pts = self.target_at(env, torch.arange(c.obs_points) * c.obs_dt)[i].numpy()
        out = [Marker.of("target", np.array([*pts[0], 0.05]), 0.08)]
        out += [Marker.of("path", np.array([*p, 0.03]), 0.03) for p in pts[1:]]
        return out

    def caption(self, env, i: int) -> str:
        return (f"keep with the moving target: {float(self.distance(env)[i]):.2f} m from it "
                f"(within {self.cfg.success_radius:.1f})")

    def prior(self, env):
        """Velocity toward the target ``prior_lookahead`` seconds ahead (capped at 3 m/s), facing it."""
        d = self.target_at(env, self.cfg.prior_lookahead) - env.frame.body_pos[:, 0, :2]
        vel = d / self.cfg.prior_lookahead
        vel = vel * (3.0 / vel.norm(dim=-1, keepdim=True).clamp(min=3.0))
        moving = vel.norm(dim=-1) > 0.2
        face = torch.where(moving, torch.atan2(vel[:, 1], vel[:, 0]), root_heading(env.frame))
        return self.prompt.build(env, velocity=vel, facing=face)
