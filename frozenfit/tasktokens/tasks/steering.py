"""Steering: move along direction d at speed s while facing f (direction + facing).

Observation: the Direction observation + f in the heading frame (2). Reward (paper):
0.7 r_direction + 0.3 max(0, f . forward), forward = the pelvis heading. Success (paper): after an
80-step grace period from each target change, every frame has |e| <= 0.2 and a heading error of at
most 45 deg.
Facing offsets from d are drawn inside the cone our teacher was trained on (any offset up to
1 m/s, narrowing to +-45 deg at 3 m/s: running sideways at 3 m/s is not a human gait); the
paper draws f freely. This is a reduced range, stated with the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from frozenfit.humanoid.observations import root_heading
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.tasktokens.tasks.direction import DirectionConfig, DirectionTask, direction_reward
from frozenfit.teacher.goals import facing_cone


@dataclass
class SteeringConfig(DirectionConfig):
    grace_steps: int = 80
    max_heading_error_deg: float = 45.0


class SteeringTask(DirectionTask):
    name = "steering"
    obs_dim = 5

    def __init__(self, num_envs: int, cfg: SteeringConfig | None = None):
        super().__init__(num_envs, cfg or SteeringConfig())
        self.face_yaw = torch.zeros(num_envs)

    def _new_targets(self, env, idx: torch.Tensor, fresh: bool) -> None:
        super()._new_targets(env, idx, fresh)
        k = idx.numel()
        offset = (env.rand(k) * 2 - 1) * facing_cone(self.speed[idx])
        self.face_yaw[idx] = wrap_angle(self.dir_yaw[idx] + offset)

    def facing(self) -> torch.Tensor:
        return torch.stack([torch.cos(self.face_yaw), torch.sin(self.face_yaw)], -1)

    def observe(self, env) -> torch.Tensor:
        return torch.cat([super().observe(env), self.heading_vec(env, self.facing())], 1)

    def reward(self, env):
        r_dir, _ = direction_reward(env.root_planar_vel, self.direction(), self.speed)
        yaw = root_heading(env.frame)
        forward = torch.stack([torch.cos(yaw), torch.sin(yaw)], -1)
        r_face = (self.facing() * forward).sum(-1).clamp(min=0)
        terms = {"direction": 0.7 * r_dir, "facing": 0.3 * r_face}
        return sum(terms.values()), terms

    def frame_success(self, env) -> torch.Tensor:
        _, e = direction_reward(env.root_planar_vel, self.direction(), self.speed)
        heading_err = wrap_angle(root_heading(env.frame) - self.face_yaw).abs()
        ok = (e.abs() <= self.cfg.max_rel_error) & (heading_err <= math.radians(self.cfg.max_heading_error_deg))
        return (self.since_change < self.cfg.grace_steps) | ok

    def prior(self, env):
        """Velocity along d at the commanded speed, facing f."""
        return self.prompt.build(env, velocity=self.speed[:, None] * self.direction(), facing=self.face_yaw)
