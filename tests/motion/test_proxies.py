"""The human-likeness proxies on hand-made motions whose answers are known."""

import numpy as np
import pytest

from frozenfit.humanoid.model import CONTROL_DT, JOINT_QPOS, build_model, joint_table, nominal_qpos
from frozenfit.motion.proxies import proxies

MODEL = build_model()
COL = {r[0]: JOINT_QPOS.start + i for i, r in enumerate(joint_table())}


def _glide(seconds=2.0, speed=1.0, **angles):
    """The standing pose translated forward at ``speed``: feet flat on the floor, sliding."""
    T = int(seconds / CONTROL_DT)
    q = np.repeat(nominal_qpos(MODEL)[None], T, 0)
    q[:, 0] = speed * CONTROL_DT * np.arange(T)
    for name, value in angles.items():
        q[:, COL[name]] = value
    q[:, 2] -= 0.0   # the nominal pose stands on the floor
    return q


def test_a_gliding_humanoid_skates_the_whole_way_and_a_standing_one_does_not():
    p = proxies(_glide(2.0, 1.0), model=MODEL)
    T = int(2.0 / CONTROL_DT)
    assert p["stance_phases"] == 2                          # each foot, one long stance
    assert p["foot_skating_cm"] == pytest.approx(100 * (T - 1) * CONTROL_DT, rel=0.02)
    still = proxies(_glide(2.0, 0.0), model=MODEL)
    assert still["foot_skating_cm"] == pytest.approx(0.0, abs=1e-6) and still["walking_frames"] == 0
    assert still["energy_per_metre"] is None                 # it does not travel


def test_raised_hands_are_counted_while_walking():
    down = proxies(_glide(1.5, 1.2), model=MODEL)
    up = proxies(_glide(1.5, 1.2, right_shoulder_y=-np.pi * 0.9), model=MODEL)   # right arm overhead
    assert down["hands_above_shoulder"] == 0.0 and up["hands_above_shoulder"] == 1.0


def test_contralateral_swing_correlation_has_the_right_sign():
    T = int(2.0 / CONTROL_DT)
    phase = 2 * np.pi * 1.0 * CONTROL_DT * np.arange(T)
    q = _glide(2.0, 1.2)
    q[:, COL["right_hip_y"]], q[:, COL["left_hip_y"]] = -0.4 * np.sin(phase), 0.4 * np.sin(phase)
    human = q.copy()
    human[:, COL["right_shoulder_y"]], human[:, COL["left_shoulder_y"]] = 0.3 * np.sin(phase), -0.3 * np.sin(phase)
    robot = q.copy()      # each arm swings with the leg on its own side
    robot[:, COL["right_shoulder_y"]], robot[:, COL["left_shoulder_y"]] = -0.3 * np.sin(phase), 0.3 * np.sin(phase)
    assert proxies(human, model=MODEL)["arm_leg_swing_corr"] == pytest.approx(1.0, abs=1e-6)
    assert proxies(robot, model=MODEL)["arm_leg_swing_corr"] == pytest.approx(-1.0, abs=1e-6)


def test_jerk_is_zero_for_constant_velocity_joints_and_grows_with_shaking():
    q = _glide(1.0, 1.0)
    q[:, COL["right_elbow"]] = -0.2 - 0.5 * CONTROL_DT * np.arange(len(q))    # constant joint velocity
    assert proxies(q, model=MODEL)["joint_jerk"] == pytest.approx(0.0, abs=1e-6)
    shaky = q.copy()
    shaky[:, COL["right_elbow"]] += 0.05 * (-1.0) ** np.arange(len(q))
    assert proxies(shaky, model=MODEL)["joint_jerk"] > 100
