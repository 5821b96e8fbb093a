"""The realism study's version-2 rows: rollouts on humanoid 2, judged against the clips on humanoid
2, and the check that each proxy lies in the clips' own range."""

import numpy as np

from experiment_helper import experiment
from frozenfit.bfm.prompt import Prompt
from frozenfit.humanoid.model import JOINT_QPOS
from frozenfit.motion.judge import JudgeConfig, WindowSet, judge, mocap_windows
from frozenfit.motion.playback import clip_trajectory


def test_a_proxy_is_in_range_between_the_lowest_and_highest_clip_value():
    with experiment("motion_realism") as m:
        clips = {"a": {"arm_leg_swing_corr": 0.8, "hands_above_shoulder": 0.0, "foot_skating_cm": 2.0, "joint_jerk": 50.0},
                 "b": {"arm_leg_swing_corr": 0.95, "hands_above_shoulder": 0.1, "foot_skating_cm": None, "joint_jerk": 90.0}}
        row = {"arm_leg_swing_corr": 0.9, "hands_above_shoulder": 0.5, "foot_skating_cm": 2.0, "joint_jerk": None}
        assert m.in_clip_range(row, clips) == {"arm_leg_swing_corr": True, "hands_above_shoulder": False,
                                               "foot_skating_cm": True, "joint_jerk": None}


def test_version_2_rollouts_are_judged_against_the_clips_on_humanoid_2(v2_teacher_file, v2_bfm_file):
    fast = JudgeConfig(epochs=20, folds=2)
    with experiment("motion_realism") as m:
        trajs = m.prompted("bfm", 2, 2.0, Prompt(velocity=(1.3, 0.0), facing=0.0), v2_teacher_file, v2_bfm_file)
        assert trajs.shape[0] == 2 and trajs.shape[2] == JOINT_QPOS.stop and np.isfinite(trajs).all()
        mocap2 = mocap_windows(fast, clips=("walker_0walk_forward", "walker_turn_left0"), version=2)
        verdict, _ = m.row(trajs, mocap2, fast, version=2)
        assert 0.0 <= verdict["auc"] <= 1.0 and "joint_jerk" in verdict["proxies"]
    # the clips on humanoid 2 are not the clips on humanoid 1 (the hinge order differs)
    q1, q2 = (clip_trajectory("walker_0walk_forward", 1.5, False, v) for v in (1, 2))
    assert not np.allclose(q1[:, JOINT_QPOS], q2[:, JOINT_QPOS])
    # ... and a clip on humanoid 2 judged against itself is human
    mirror = clip_trajectory("walker_0walk_forward", 1.5, True, 2)
    same = judge(WindowSet.of([q2, mirror], fast), mocap2, fast)
    assert same["auc"] < 0.9
