"""The realism judge: its AUC and judged-human rate on synthetic samples, and on mocap itself."""

import numpy as np

import pytest

from frozenfit.errors import FrozenfitError
from frozenfit.motion.judge import JudgeConfig, WindowSet, auc, frame_features, judge, mocap_windows, pairwise

FAST = JudgeConfig(epochs=150, folds=3)


def test_auc_counts_pairs_and_ties():
    assert auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auc(np.array([1.0]), np.array([2.0])) == 0.0
    assert auc(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.5


def _grouped(x: np.ndarray, groups: int) -> WindowSet:
    return WindowSet(x, np.arange(len(x)) % groups)


def test_the_judge_is_calibrated_on_synthetic_samples():
    rng = np.random.default_rng(0)
    mocap = _grouped(rng.normal(size=(300, 20)), 6)
    same = judge(_grouped(rng.normal(size=(300, 20)), 6), mocap, FAST)
    assert abs(same["auc"] - 0.5) < 0.1 and abs(same["judged_human"] - 0.5) < 0.12
    far = judge(_grouped(rng.normal(size=(300, 20)) + 3.0, 6), mocap, FAST)
    assert far["auc"] > 0.99 and far["judged_human"] < 0.02
    # pairwise: the motion nearer to mocap wins most pairs
    near, off = _grouped(rng.normal(size=(150, 20)) + 0.3, 4), _grouped(rng.normal(size=(150, 20)) + 3.0, 4)
    assert pairwise(near, off, mocap, FAST) > 0.9


def test_folds_are_over_groups_so_a_group_signature_is_not_a_verdict():
    """Each group has its own offset (a clip's signature) but neither side differs on average:
    folded window by window, the judge tells the sides apart; folded by group, it cannot."""
    rng = np.random.default_rng(0)
    def side(n_groups=16):
        g = np.arange(240) % n_groups
        return WindowSet(rng.normal(size=(n_groups, 20))[g] + 0.3 * rng.normal(size=(240, 20)), g)
    by_group, by_window = [], []
    for s in range(4):
        cfg = JudgeConfig(epochs=150, folds=4, seed=s)
        a, b = side(), side()
        by_group.append(judge(a, b, cfg)["auc"])
        by_window.append(judge(WindowSet(a.x, np.arange(240)), WindowSet(b.x, np.arange(240)), cfg)["auc"])
    assert abs(np.mean(by_group) - 0.5) < 0.1 and min(by_window) > 0.95


def test_the_judge_refuses_a_side_with_one_group():
    rng = np.random.default_rng(0)
    with pytest.raises(FrozenfitError, match="at least 2 groups"):
        judge(WindowSet(rng.normal(size=(50, 4)), np.zeros(50, int)), _grouped(rng.normal(size=(50, 4)), 3), FAST)


def test_standing_still_is_told_from_the_judge_clips():
    m = mocap_windows(FAST)
    assert m.num_groups == 5
    from frozenfit.humanoid.model import build_model, nominal_qpos
    standing = np.repeat(nominal_qpos(build_model())[None], 200, 0)
    jitter = np.random.default_rng(0).normal(scale=1e-3, size=(4,) + standing.shape)
    assert judge(WindowSet.of(list(standing + jitter), FAST), m, FAST)["auc"] > 0.95


def test_features_are_heading_invariant():
    from frozenfit.motion.judge import clip_trajectory
    q = clip_trajectory("walk", seconds=1.5)
    turned = q.copy()
    yaw = 1.0   # turn the whole motion about the world z axis
    c, s = np.cos(yaw), np.sin(yaw)
    turned[:, :2] = q[:, :2] @ np.array([[c, s], [-s, c]])
    from frozenfit.motion.clips import qmul
    turned[:, 3:7] = qmul(np.broadcast_to([np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)], q[:, 3:7].shape), q[:, 3:7])
    assert np.allclose(frame_features(q), frame_features(turned), atol=1e-6)


def test_frame_features_match_their_formulas_on_a_hand_made_motion():
    """A humanoid turning at 0.5 rad/s while moving 1 m/s forward along its heading and lifting
    one joint at 1 rad/s: velocity (1, 0, 0) in the heading frame, yaw rate 0.5, joint rate 1."""
    from frozenfit.humanoid.model import CONTROL_DT, JOINT_QPOS, build_model, nominal_qpos
    q0 = nominal_qpos(build_model())
    T, dt = 12, CONTROL_DT
    yaw = 0.3 + 0.5 * dt * np.arange(T)
    q = np.repeat(q0[None], T, 0)
    q[:, 3:7] = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], 1)
    step = np.stack([np.cos(yaw[:-1]), np.sin(yaw[:-1])], 1) * dt
    q[1:, :2] = q[0, :2] + np.cumsum(step, 0)
    q[:, JOINT_QPOS.start] = 0.1 + dt * np.arange(T)
    f = frame_features(q)
    n = JOINT_QPOS.stop - JOINT_QPOS.start
    height, tilt, vel, yaw_rate, jvel = f[:, n], f[:, n + 1:n + 7], f[:, n + 7:n + 10], f[:, n + 10], f[:, n + 11:]
    assert np.allclose(height, q0[2]) and np.allclose(tilt, [1, 0, 0, 0, 0, 1], atol=1e-12)
    assert np.allclose(vel, [1, 0, 0], atol=1e-9) and np.allclose(yaw_rate, 0.5)
    assert np.allclose(jvel[:, 0], 1.0) and np.allclose(jvel[:, 1:], 0.0)
    assert np.allclose(f[:, 0], q[:-1, JOINT_QPOS.start])
