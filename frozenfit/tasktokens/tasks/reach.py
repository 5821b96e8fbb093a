"""Reach: bring the right hand to a point in space.

Targets (paper): x, y ~ U[-0.75, 0.75] m around the root in its heading frame, height
z ~ U[0.05, 1.6] m, fixed in the world and re-drawn every 90-119 steps. Observation: target - root
in the heading frame (3). Reward: exp(-4 |p_target - p_hand|^2). Success: from 60 steps after a
target appears, the hand stays within 0.2 m of it on every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from frozenfit.humanoid.render import Marker

from frozenfit.humanoid.observations import root_heading, to_heading_frame
from frozenfit.humanoid.rotations import rotate_z
from frozenfit.tasktokens.prior import PromptPrior
from frozenfit.tasktokens.tasks.base import RetargetingTask
from frozenfit.teacher.goals import HAND_IDX


@dataclass
class ReachConfig:
    xy_range: float = 0.75
    z_range: tuple[float, float] = (0.05, 1.6)
    change_steps: tuple[int, int] = (90, 119)
    grace_steps: int = 60
    success_radius: float = 0.2


class ReachTask(RetargetingTask):
    name = "reach"
    obs_dim = 3
    has_prior = True

    def __init__(self, num_envs: int, cfg: ReachConfig | None = None):
        super().__init__(num_envs, cfg or ReachConfig())
        self.target = torch.zeros(num_envs, 3)
        self.prompt = PromptPrior(num_envs)

    def new_targets(self, env, idx: torch.Tensor, fresh: bool) -> None:
        k, c = idx.numel(), self.cfg
        f = env.frame
        local = torch.stack([self.uniform(env, k, -c.xy_range, c.xy_range),
                             self.uniform(env, k, -c.xy_range, c.xy_range), torch.zeros(k)], -1)
        world = rotate_z(local, root_heading(f)[idx]) + f.body_pos[idx, 0]
        world[:, 2] = self.uniform(env, k, *c.z_range)
        self.target[idx] = world

    def hand_error(self, env) -> torch.Tensor:
        return (env.frame.body_pos[:, HAND_IDX[0]] - self.target).norm(dim=-1)

    def relative_target(self, env) -> torch.Tensor:
        f = env.frame
        return to_heading_frame(self.target - f.body_pos[:, 0], root_heading(f))

    def observe(self, env) -> torch.Tensor:
        return self.relative_target(env)

    def reward(self, env):
        r = torch.exp(-4 * self.hand_error(env) ** 2)
        return r, {"reach": r}

    def frame_success(self, env) -> torch.Tensor:
        return self.in_grace() | (self.hand_error(env) <= self.cfg.success_radius)

    def markers(self, env, i: int) -> list:
        """A red sphere at the target."""
        return [Marker(self.target[i].numpy().astype(float), (1.0, 0.2, 0.2, 0.9), 0.05)]

    def prior(self, env):
        """A right-hand target at the point (relative to the pelvis, heading frame)."""
        return self.prompt.build(env, right_hand=self.relative_target(env))
