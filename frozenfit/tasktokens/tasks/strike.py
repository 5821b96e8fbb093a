"""Strike: knock over a free-standing box.

Scene (paper): a 0.4 x 0.4 x 1.8 m box of ~8.6 kg at U[0.5, 10] m from the humanoid (half of the
episodes U[0.5, 1.5] m), in a random direction; we turn it to face the humanoid so the nearest
spawn never touches the body. Observation (15): box position relative to the root (heading frame,
z absolute), box rotation as 6D (heading frame), box linear and angular velocity (heading frame).
Reward (paper): 0.6 max(0, 1 - up_z) + 0.4 exp(-4 max(0, 1 - u)^2) with u the root speed toward
the box (the approach term is 0 when u <= 0), and 1 from the step the box has toppled
(up_z < 0.2; up_z is the z component of the box's long axis). Success: the box lies toppled at
the end of the episode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from frozenfit.humanoid.model import BOX_QPOS, BOX_QVEL, BoxSpec
from frozenfit.humanoid.observations import root_heading, to_heading_frame
from frozenfit.humanoid.render import Marker
from frozenfit.humanoid.rotations import quat_mul, quat_rotate, quat_to_tan_norm, yaw_quat
from frozenfit.tasktokens.prior import PromptPrior
from frozenfit.tasktokens.tasks.base import TokenTask


@dataclass
class StrikeConfig:
    ZERO_OK: ClassVar[tuple[str, ...]] = ("prior_radius",)  # see common.checks
    box: BoxSpec = field(default_factory=BoxSpec)
    near_prob: float = 0.5
    near: tuple[float, float] = (0.5, 1.5)     # m, box centre from the pelvis
    far: tuple[float, float] = (0.5, 10.0)
    toppled_up_z: float = 0.2
    w_topple: float = 0.6       # reward scales (the task's reward is their weighted sum)
    w_approach: float = 0.4
    w_toppled: float = 1.0
    prior_speed: float = 1.0                   # the hand-made prompt walks at this speed toward the box ...
    prior_radius: float = 0.0                  # ... while farther than this (0: walk through it; paper J.C.: 2 m)


def box_up_z(quat: torch.Tensor) -> torch.Tensor:
    """World z component of the box's local z (long) axis: 1 upright, 0 lying."""
    x, y = quat[:, 1], quat[:, 2]
    return 1 - 2 * (x * x + y * y)


def strike_reward(up_z: torch.Tensor, toward_speed: torch.Tensor, toppled: torch.Tensor) -> dict[str, torch.Tensor]:
    """The named reward terms, unscaled; once ``toppled`` only the ``toppled`` term is left (1)."""
    topple = (1 - up_z).clamp(min=0)
    approach = torch.where(toward_speed > 0, torch.exp(-4 * (1 - toward_speed).clamp(min=0) ** 2),
                           torch.zeros_like(toward_speed))
    zero = torch.zeros_like(topple)
    return {"topple": torch.where(toppled, zero, topple), "approach": torch.where(toppled, zero, approach),
            "toppled": toppled.float()}


class StrikeTask(TokenTask):
    name = "strike"
    label = "Strike"
    obs_dim = 15
    has_prior = True

    def __init__(self, num_envs: int, cfg: StrikeConfig | None = None):
        super().__init__(num_envs)
        self.cfg = cfg or StrikeConfig()
        self.box = self.cfg.box                      # HumanoidEnv adds the box to the scene
        self.toppled = torch.zeros(num_envs, dtype=torch.bool)
        self.success = torch.zeros(num_envs, dtype=torch.bool)
        self.prompt = PromptPrior(num_envs)

    def place_objects(self, env, idx: torch.Tensor, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Stand the box upright at the sampled distance and direction, facing the humanoid."""
        k, c = idx.numel(), self.cfg
        near = env.rand(k) < c.near_prob
        dist = torch.where(near, self.uniform(env, k, *c.near), self.uniform(env, k, *c.far))
        ang = self.uniform(env, k, -math.pi, math.pi)
        box = qpos[:, BOX_QPOS]                      # a view: writes go into qpos
        box[:, 0] = qpos[:, 0] + (dist * torch.cos(ang)).double().numpy()
        box[:, 1] = qpos[:, 1] + (dist * torch.sin(ang)).double().numpy()
        box[:, 2] = c.box.size[2] / 2
        box[:, 3:] = yaw_quat(ang).double().numpy()
        qvel[:, BOX_QVEL] = 0.0

    def reset_task(self, env, idx: torch.Tensor) -> None:
        self.toppled[idx] = False
        self.success[idx] = False

    def _box(self, env):
        pos, quat, linvel, angvel_local = env.frame.box_state()
        return pos, quat, linvel, quat_rotate(quat, angvel_local)

    def to_box(self, env) -> tuple[torch.Tensor, torch.Tensor]:
        """Planar unit direction (N, 2) and distance (N,) from the pelvis to the box."""
        d = self._box(env)[0][:, :2] - env.frame.body_pos[:, 0, :2]
        dist = d.norm(dim=-1).clamp(min=1e-6)
        return d / dist[:, None], dist

    def toward_speed(self, env) -> torch.Tensor:
        return (env.root_planar_vel * self.to_box(env)[0]).sum(-1)

    def observe(self, env) -> torch.Tensor:
        f = env.frame
        pos, quat, linvel, angvel = self._box(env)
        yaw = root_heading(f)
        rel = to_heading_frame(pos - f.body_pos[:, 0], yaw)
        rel = torch.cat([rel[:, :2], pos[:, 2:3]], 1)                        # z absolute
        rot = quat_to_tan_norm(quat_mul(yaw_quat(-yaw), quat))
        return torch.cat([rel, rot, to_heading_frame(linvel, yaw), to_heading_frame(angvel, yaw)], 1)

    def reward_terms(self, env):
        up = box_up_z(self._box(env)[1])
        self.toppled |= up < self.cfg.toppled_up_z
        return strike_reward(up, self.toward_speed(env), self.toppled)

    def frame_success(self, env) -> torch.Tensor:
        return box_up_z(self._box(env)[1]) < self.cfg.toppled_up_z

    def advance(self, env) -> None:
        self.success = self.frame_success(env)      # judged on the last frame of the episode

    def markers(self, env, i: int) -> list:
        """A red arrow from the pelvis toward the box (the target)."""
        pelvis = env.frame.body_pos[i, 0].numpy().astype(float)
        tip = pelvis + np.array([*self.to_box(env)[0][i].numpy(), 0.0]) * 0.6
        return [Marker.of("target", pelvis, 0.025, arrow_to=tip)]

    judged_at_end = True

    def caption(self, env, i: int) -> str:
        state = "toppled" if bool(self.frame_success(env)[i]) else "standing"
        return f"topple the box: {float(self.to_box(env)[1][i]):.1f} m away, {state}"

    def prior(self, env):
        """Walk toward the box at ``prior_speed``, facing it, while farther than ``prior_radius``;
        no prompt nearer. The default radius 0 keeps walking into the box, which topples it
        (prompt only: 86 % of episodes on the shipped BFM; the paper's 2 m radius leaves the teacher
        itself at 9 %, results/tasktokens/ceiling.json)."""
        u, dist = self.to_box(env)
        return self.prompt.build(env, velocity=self.cfg.prior_speed * u, facing=torch.atan2(u[:, 1], u[:, 0]),
                                 active=dist > self.cfg.prior_radius)
