"""Per-frame motion features in the heading frame, from qpos alone: what the realism judge reads
and what an adversarial motion prior compares (one definition for both).

Per frame t (from frames t and t+1 at the control rate): joint angles, pelvis height, the pelvis
tilt (its x and z axes with the yaw removed: 6 continuous numbers), the pelvis velocity in the
heading frame, the yaw rate and the joint velocities. Everything is invariant to where the
humanoid stands and which way it faces; velocities are finite differences, so a policy's states
and a clip's frames are measured the same way.
"""

from __future__ import annotations

import torch

from frozenfit.humanoid.model import CONTROL_DT, JOINT_QPOS
from frozenfit.humanoid.rotations import heading, quat_mul, quat_to_tan_norm, rotate_z, wrap_angle, yaw_quat


def motion_features(qpos: torch.Tensor, dt: float = CONTROL_DT) -> torch.Tensor:
    """Features (..., T - 1, F) of qpos trajectories (..., T, nq) (batched over leading dims)."""
    yaw = heading(qpos[..., 3:7])
    conj = yaw_quat(-yaw)
    tilt = quat_to_tan_norm(quat_mul(conj, qpos[..., 3:7]))        # the pelvis rotation without its yaw
    v = (qpos[..., 1:, :3] - qpos[..., :-1, :3]) / dt
    v_local = rotate_z(v, -yaw[..., :-1])
    yaw_rate = wrap_angle(yaw[..., 1:] - yaw[..., :-1]) / dt
    joints = qpos[..., JOINT_QPOS]
    joint_vel = (joints[..., 1:, :] - joints[..., :-1, :]) / dt
    return torch.cat([joints[..., :-1, :], qpos[..., :-1, 2:3], tilt[..., :-1, :], v_local, yaw_rate[..., None],
                      joint_vel], -1)


def num_features(nq_joints: int = JOINT_QPOS.stop - JOINT_QPOS.start) -> int:
    """F: joints, height, tilt (6), planar-and-vertical velocity (3), yaw rate, joint velocities."""
    return 2 * nq_joints + 1 + 6 + 3 + 1
