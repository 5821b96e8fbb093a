"""Hand-made humanoid states for task tests: a stand-in environment with a chosen frame."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from frozenfit.humanoid.model import BODIES, NUM_ACTUATED, PELVIS_HEIGHT
from frozenfit.humanoid.rotations import yaw_quat
from frozenfit.humanoid.sim import Frame


def fake_env(n: int = 4, yaw=0.0, pelvis_xy=(0.0, 0.0), vel=(0.0, 0.0), seed: int = 0,
             box_xy=(3.0, 0.0)) -> SimpleNamespace:
    """Everyone standing upright at ``pelvis_xy`` with heading ``yaw`` and planar velocity ``vel``;
    the scene's free box (used by Strike) stands upright and still at ``box_xy``."""
    nb = len(BODIES)
    yaw_t = torch.as_tensor(yaw, dtype=torch.float32).expand(n).clone()
    pos = torch.zeros(n, nb, 3)
    pos[:, :, 2] = torch.linspace(PELVIS_HEIGHT + 0.6, 0.05, nb)
    pos[:, 0, :2] = torch.tensor(pelvis_xy, dtype=torch.float32)
    pos[:, 0, 2] = PELVIS_HEIGHT
    pos[:, 2, 2] = PELVIS_HEIGHT + 0.6   # head
    qpos, qvel = torch.zeros(n, 7 + NUM_ACTUATED + 7), torch.zeros(n, 6 + NUM_ACTUATED + 6)
    box = 7 + NUM_ACTUATED
    qpos[:, box:box + 3] = torch.tensor([*box_xy, 0.9])
    qpos[:, box + 3] = 1.0
    frame = Frame(qpos=qpos, qvel=qvel, body_pos=pos,
                  body_quat=yaw_quat(yaw_t)[:, None].expand(n, nb, 4).clone(),
                  body_linvel=torch.zeros(n, nb, 3), body_angvel=torch.zeros(n, nb, 3),
                  foot_touch=torch.full((n, 2), 300.0))
    gen = torch.Generator().manual_seed(seed)
    return SimpleNamespace(frame=frame, num_envs=n, dt=1 / 33.0, gen=gen,
                           root_planar_vel=torch.tensor(vel, dtype=torch.float32).expand(n, 2).clone(),
                           rand=lambda *shape: torch.rand(*shape, generator=gen))


import pytest  # noqa: E402


@pytest.fixture(name="fake_env")
def _fake_env_fixture():
    return fake_env
