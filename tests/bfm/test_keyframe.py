import math

import torch

from frozenfit.bfm.keyframe import HEAD_ABOVE_PELVIS, KEYFRAME_DIM, Keyframes
from frozenfit.bfm.masking import MaskingConfig, PromptedGoalTask
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import PELVIS_HEIGHT
from frozenfit.humanoid.rotations import yaw_quat
from frozenfit.humanoid.sim import Frame
from frozenfit.humanoid.model import HEAD_IDX
from frozenfit.teacher.goals import GoalConfig


def _frame(n: int, xy, yaw) -> Frame:
    """A stand-in frame: pelvis at (xy, standing height) with heading ``yaw``; only what keyframes read."""
    body_pos = torch.zeros(n, 15, 3)
    body_pos[:, 0, :2] = torch.as_tensor(xy, dtype=torch.float32)
    body_pos[:, 0, 2] = PELVIS_HEIGHT
    body_quat = torch.zeros(n, 15, 4)
    body_quat[..., 0] = 1.0
    body_quat[:, 0] = yaw_quat(torch.as_tensor(yaw, dtype=torch.float32).expand(n))
    return Frame(qpos=None, qvel=None, body_pos=body_pos, body_quat=body_quat, body_linvel=None, body_angvel=None,
                 foot_touch=None)


def test_goal_formula_on_hand_made_states():
    k = Keyframes(5)
    xy = torch.tensor([[2.0, 0.0], [2.0, 0.0], [0.05, 0.0], [0.0, 3.0], [2.0, 0.0]])
    mask = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=torch.bool)
    k.set(torch.arange(5), xy, torch.tensor([PELVIS_HEIGHT] * 3 + [0.7, PELVIS_HEIGHT]),
          torch.tensor([0.0, 1.0, 0.0, 0.0, -2.0]), torch.tensor([1.0, 0.1, 1.0, 2.0, 1.0]), mask)
    g = k.goal(_frame(5, [0.0, 0.0], 0.0), max_speed=3.0)
    # 2 m in 1 s; 2 m in 0.1 s plans over TAU = 0.5 s -> 4 m/s, capped at 3; 5 cm is a stop;
    # the head channel alone places the keyframe (3 m in 2 s); rotation alone: turn on the spot
    assert torch.allclose(g["speed"], torch.tensor([2.0, 3.0, 0.0, 1.5, 0.0]))
    assert torch.allclose(g["move_yaw"][[0, 3]], torch.tensor([0.0, math.pi / 2]))
    assert torch.isnan(g["facing_yaw"][[0, 2, 3]]).all()          # no rotation channel: the default
    assert torch.allclose(g["facing_yaw"][[1, 4]], torch.tensor([1.0, -2.0]))
    assert g["crouch"].tolist() == [False, False, False, True, False]
    k.tick(0.4)
    assert torch.allclose(k.time_left, torch.tensor([0.6, 0.0, 0.6, 1.6, 0.6]))


def test_observation_is_heading_invariant_and_masks_channels():
    k = Keyframes(2)
    k.set(torch.arange(2), torch.tensor([[1.0, 2.0], [1.0, 2.0]]), torch.full((2,), 0.8), torch.tensor([0.5, 0.5]),
          torch.tensor([2.0, 2.0]), torch.tensor([[1, 1, 1], [0, 1, 0]], dtype=torch.bool))
    a = k.observe(_frame(2, [0.0, 0.0], 0.0))
    assert a.shape == (2, KEYFRAME_DIM)
    assert torch.allclose(a[0], torch.tensor([1.0, 2.0, 0.8, 1.0, math.cos(0.5), math.sin(0.5), 1.0,
                                              1.0, 2.0, 0.8 + HEAD_ABOVE_PELVIS, 1.0, 2.0]))
    assert torch.equal(a[1, [0, 1, 2, 3, 7, 8, 9, 10]], torch.zeros(8))  # only the rotation channel shows
    # rotate the world by 1 rad about z (pelvis, keyframe target and yaw): the view is unchanged
    c, s = math.cos(1.0), math.sin(1.0)
    k.xy = k.xy @ torch.tensor([[c, s], [-s, c]])
    k.yaw = k.yaw + 1.0
    b = k.observe(_frame(2, [0.0, 0.0], 1.0))
    assert torch.allclose(a, b, atol=1e-5)
    k.clear(torch.tensor([0]))
    assert torch.equal(k.observe(_frame(2, [0.0, 0.0], 1.0))[0], torch.zeros(KEYFRAME_DIM))


def test_head_offset_matches_the_standing_model():
    task = PromptedGoalTask(GoalConfig(), MaskingConfig(), 2, resample=False)
    env = HumanoidEnv(EnvConfig(num_envs=2, seed=0), task)
    env.reset()
    f = env.frame
    assert torch.allclose(f.body_pos[:, HEAD_IDX, 2] - f.body_pos[:, 0, 2], torch.full((2,), HEAD_ABOVE_PELVIS),
                          atol=0.02)
    env.close()
