"""Direction: move at speed s along direction d (both re-sampled every ~200 steps).

Observation: d in the heading frame (2), s (1). Reward (paper): u = root speed along d,
w = root velocity across d, e = (s - u) / s, r = exp(-(10 e^2 + 0.1 |w|^2)), 0 if u < -0.5.
We take |w| (the reference sums the two sideways components, a known quirk) and divide by
max(s, 1) so that the occasional stop command (s = 0) is defined. Success (paper): after a 60-step
grace period from every target change, every frame must have |e| <= 0.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from frozenfit.humanoid.env import humanoid_version_of
from frozenfit.humanoid.render import Marker

from frozenfit.tasktokens.prior import PromptPrior
from frozenfit.tasktokens.tasks.base import RetargetingTask


@dataclass
class DirectionConfig:
    ZERO_OK: ClassVar[tuple[str, ...]] = ("grace_steps",)  # see common.checks
    # The paper samples U[1.2, 6] m/s; our BFM's teacher tracks up to 3.0 m/s (results/teacher),
    # so the default range stops there (the measured reason the README states) ...
    speed: tuple[float, float] = (1.2, 3.0)
    # ... and on a version 2 BFM at goal set 2's top command, 3.5 m/s (the run clip's speed)
    speed_v2: tuple[float, float] = (1.2, 3.5)
    stop_prob: float = 0.05
    fresh_heading_prob: float = 0.2       # otherwise the direction turns by U(-pi/2, pi/2)
    change_steps: tuple[int, int] = (180, 220)
    grace_steps: int = 60
    max_rel_error: float = 0.2
    w_direction: float = 1.0              # reward scale (the task's reward is the weighted sum of its terms)


def direction_reward(vel: torch.Tensor, d: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(reward, relative speed error e) for planar velocity ``vel`` (N, 2), unit direction ``d`` (N, 2)
    and target speed ``s`` (N,)."""
    u = (vel * d).sum(-1)
    w = vel - u[:, None] * d
    e = (s - u) / s.clamp(min=1.0)
    r = torch.exp(-(10 * e ** 2 + 0.1 * (w ** 2).sum(-1)))
    return torch.where(u < -0.5, torch.zeros_like(r), r), e


class DirectionTask(RetargetingTask):
    name = "direction"
    label = "Direction"
    obs_dim = 3
    has_prior = True

    def __init__(self, num_envs: int, cfg: DirectionConfig | None = None):
        super().__init__(num_envs, cfg or DirectionConfig())
        self.dir_yaw = torch.zeros(num_envs)
        self.speed = torch.zeros(num_envs)
        self.prompt = PromptPrior(num_envs)

    def direction(self) -> torch.Tensor:
        return torch.stack([torch.cos(self.dir_yaw), torch.sin(self.dir_yaw)], -1)

    def new_targets(self, env, idx: torch.Tensor, fresh: bool) -> None:
        k, c = idx.numel(), self.cfg
        turn = self.uniform(env, k, -math.pi / 2, math.pi / 2)
        new = self.uniform(env, k, -math.pi, math.pi)
        fresh_t = torch.full((k,), fresh) | (env.rand(k) < c.fresh_heading_prob)
        self.dir_yaw[idx] = torch.where(fresh_t, new, self.dir_yaw[idx] + turn)
        speed = self.uniform(env, k, *(c.speed_v2 if humanoid_version_of(env) >= 2 else c.speed))
        self.speed[idx] = torch.where(env.rand(k) < c.stop_prob, torch.zeros(k), speed)

    def observe(self, env) -> torch.Tensor:
        return torch.cat([self.heading_vec(env, self.direction()), self.speed[:, None]], 1)

    def reward_terms(self, env):
        r, _ = direction_reward(env.root_planar_vel, self.direction(), self.speed)
        return {"direction": r}

    def frame_success(self, env) -> torch.Tensor:
        _, e = direction_reward(env.root_planar_vel, self.direction(), self.speed)
        return self.in_grace() | (e.abs() <= self.cfg.max_rel_error)

    def markers(self, env, i: int) -> list:
        """A blue arrow from the pelvis along d, as long as the commanded speed (m/s -> m)."""
        pelvis = env.frame.body_pos[i, 0].numpy().astype(float)
        d = self.direction()[i].numpy()
        tip = pelvis + np.array([d[0], d[1], 0.0]) * max(float(self.speed[i]), 0.2)
        return [Marker.of("velocity", pelvis, 0.03, arrow_to=tip)]

    def caption(self, env, i: int) -> str:
        s = float(self.speed[i])
        along = float((env.root_planar_vel[i] * self.direction()[i]).sum())
        if s == 0:
            return f"stand still (moving {float(env.root_planar_vel[i].norm()):.1f} m/s)"
        return (f"go {math.degrees(float(self.dir_yaw[i])):+.0f} deg at {s:.1f} m/s "
                f"(now {along:.1f} m/s along it; within {100 * self.cfg.max_rel_error:.0f} %)")

    def prior(self, env):
        """Velocity along d at the commanded speed, facing d."""
        return self.prompt.build(env, velocity=self.speed[:, None] * self.direction(), facing=self.dir_yaw)
