import math

import numpy as np
import torch

from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.observations import PROPRIO_DIM, proprioception
from frozenfit.humanoid.rotations import quat_mul, yaw_quat
from frozenfit.teacher.goals import GoalConfig, GoalTask


def _rotate_world(qpos: np.ndarray, qvel: np.ndarray, angle: float, shift=(3.0, -2.0)):
    """The same physical state turned by ``angle`` about world z and moved on the ground."""
    c, s = math.cos(angle), math.sin(angle)
    q, v = qpos.copy(), qvel.copy()
    q[:, 0], q[:, 1] = c * qpos[:, 0] - s * qpos[:, 1] + shift[0], s * qpos[:, 0] + c * qpos[:, 1] + shift[1]
    q[:, 3:7] = quat_mul(yaw_quat(torch.full((len(q),), angle, dtype=torch.float64)),
                         torch.from_numpy(qpos[:, 3:7])).numpy()
    v[:, 0], v[:, 1] = c * qvel[:, 0] - s * qvel[:, 1], s * qvel[:, 0] + c * qvel[:, 1]
    return q, v  # the free joint's angular velocity is in the body frame: unchanged


def test_observations_are_invariant_to_turning_the_world():
    n = 6
    task = GoalTask(GoalConfig(), n)
    env = HumanoidEnv(EnvConfig(num_envs=n, seed=3), task)
    env.reset()
    g = torch.Generator().manual_seed(1)
    for _ in range(10):  # reach a moving, non-trivial state
        env.step(0.5 * torch.randn(n, env.num_actions, generator=g))
    qpos, qvel = env.frame.qpos.double().numpy(), env.frame.qvel.double().numpy()
    ctrl = env.targets(env.action).double().numpy()
    obs_a = env.sim.set_states(np.arange(n), qpos, qvel, ctrl)
    env.frame = obs_a
    before = env.observe()
    angle = 1.234
    q2, v2 = _rotate_world(qpos, qvel, angle)
    env.frame = env.sim.set_states(np.arange(n), q2, v2, ctrl)
    task.move_yaw += angle  # goals are world-frame quantities: they turn with the world
    task.facing_yaw += angle
    after = env.observe()
    assert before.shape == (n, PROPRIO_DIM + task.obs_dim)
    torch.testing.assert_close(after, before, atol=2e-4, rtol=0)
    # and a turn is visible when only the humanoid turns (goals stay put)
    task.move_yaw -= angle
    task.facing_yaw -= angle
    assert (env.observe() - before).abs().max() > 0.1
    env.close()


def test_proprioception_ignores_position_on_the_ground():
    env = HumanoidEnv(EnvConfig(num_envs=2), GoalTask(GoalConfig(), 2))
    env.reset()
    a = proprioception(env.frame, env.action)
    env.frame.body_pos[..., :2] += torch.tensor([5.0, -7.0])
    torch.testing.assert_close(proprioception(env.frame, env.action), a)
    env.frame.body_pos[..., 2] += 0.1  # height is absolute
    assert not torch.allclose(proprioception(env.frame, env.action), a)
    env.close()
