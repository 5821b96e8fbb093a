"""Proprioception in the root heading frame (batched).

Everything is expressed relative to the pelvis position and rotated by minus the pelvis heading
(yaw), so turning or translating the whole world leaves the observation unchanged. Absolute root
height is kept: it is physically meaningful (gravity is along z).
"""

from __future__ import annotations

import torch

from frozenfit.humanoid.model import BODIES
from frozenfit.humanoid.rotations import heading, quat_mul, quat_to_tan_norm, rotate_z, yaw_quat
from frozenfit.humanoid.sim import Frame

NUM_BODIES = len(BODIES)
NUM_JOINTS = 23
PROPRIO_DIM = 1 + 3 * (NUM_BODIES - 1) + 6 * NUM_BODIES + 3 * NUM_BODIES * 2 + NUM_JOINTS * 3 + 2


def root_heading(frame: Frame) -> torch.Tensor:
    """Heading (yaw) of the pelvis, (N,)."""
    return heading(frame.body_quat[:, 0])


def to_heading_frame(v: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """Rotate world vectors (N, ..., 3 or 2) into the heading frame of yaw (N,)."""
    angle = -yaw.reshape(yaw.shape + (1,) * (v.dim() - 2))
    return rotate_z(v, angle)


def local_body_pos(frame: Frame, yaw: torch.Tensor | None = None) -> torch.Tensor:
    """Body positions relative to the pelvis in its heading frame, (N, B, 3)."""
    yaw = root_heading(frame) if yaw is None else yaw
    return to_heading_frame(frame.body_pos - frame.body_pos[:, :1], yaw)


def proprioception(frame: Frame, prev_action: torch.Tensor) -> torch.Tensor:
    """The state observation: (N, PROPRIO_DIM)."""
    yaw = root_heading(frame)
    n = yaw.shape[0]
    inv = yaw_quat(-yaw)[:, None, :].expand(-1, NUM_BODIES, -1)
    rot = quat_to_tan_norm(quat_mul(inv, frame.body_quat))
    parts = [frame.body_pos[:, 0, 2:3],
             local_body_pos(frame, yaw)[:, 1:].reshape(n, -1),
             rot.reshape(n, -1),
             to_heading_frame(frame.body_linvel, yaw).reshape(n, -1),
             to_heading_frame(frame.body_angvel, yaw).reshape(n, -1),
             frame.joint_pos, 0.1 * frame.joint_vel, prev_action,
             (frame.foot_touch > 1.0).float()]
    return torch.cat(parts, dim=1)
