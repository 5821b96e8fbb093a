"""The realism judge: its AUC and judged-human rate on synthetic samples, and on mocap itself."""

import numpy as np

from frozenfit.motion.judge import JudgeConfig, auc, frame_features, judge, mocap_windows, pairwise, windows

FAST = JudgeConfig(epochs=150, folds=3)


def test_auc_counts_pairs_and_ties():
    assert auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auc(np.array([1.0]), np.array([2.0])) == 0.0
    assert auc(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.5


def test_the_judge_is_calibrated_on_synthetic_samples():
    rng = np.random.default_rng(0)
    mocap = rng.normal(size=(300, 20))
    same = judge(rng.normal(size=(300, 20)), mocap, FAST)
    assert abs(same["auc"] - 0.5) < 0.1 and abs(same["judged_human"] - 0.5) < 0.12
    far = judge(rng.normal(size=(300, 20)) + 3.0, mocap, FAST)
    assert far["auc"] > 0.99 and far["judged_human"] < 0.02
    # pairwise: the motion nearer to mocap wins most pairs
    assert pairwise(rng.normal(size=(150, 20)) + 0.3, rng.normal(size=(150, 20)) + 3.0, mocap, FAST) > 0.9


def test_held_out_mocap_against_mocap_is_near_chance_and_standing_still_is_not():
    m = mocap_windows(FAST)
    idx = np.random.default_rng(1).permutation(len(m))
    half = judge(m[idx[: len(m) // 2]], m[idx[len(m) // 2:]], FAST)
    assert abs(half["auc"] - 0.5) < 0.15
    from frozenfit.humanoid.model import build_model, nominal_qpos
    standing = np.repeat(nominal_qpos(build_model())[None], 200, 0)
    assert judge(windows(standing, FAST), m, FAST)["auc"] > 0.95


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
