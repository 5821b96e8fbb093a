"""Humanoid versions 1 and 2 build side by side: version 1 is byte for byte what the shipped
checkpoints were trained on; version 2 orders the abdomen's, shoulders' and hips' hinges x-z-y."""

import mujoco
import numpy as np
import pytest

from frozenfit.common.checkpoint import read_metadata
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import (JOINT_QPOS, LAYOUTS, SHOULDER_OFFSET, PELVIS_HEIGHT, build_model, joint_table,
                                      model_hash, nominal_qpos)
from frozenfit.teacher.policy import SHIPPED_TEACHER


def test_version_1_is_what_the_shipped_checkpoints_record():
    import json
    config = json.loads(read_metadata(SHIPPED_TEACHER)["config"])
    assert config["model_hash"] == model_hash() == model_hash(1) != model_hash(2)
    assert PELVIS_HEIGHT == LAYOUTS[1].pelvis_height and SHOULDER_OFFSET == LAYOUTS[1].shoulder_offset


@pytest.mark.parametrize("version", [1, 2])
def test_each_version_stands_on_the_floor_with_its_joints_in_table_order(version):
    m = build_model(version=version)
    names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(1, m.njnt)]
    assert names == [r[0] for r in joint_table(version)]
    assert [int(m.jnt_qposadr[j]) for j in range(1, m.njnt)] == list(range(JOINT_QPOS.start, JOINT_QPOS.stop))
    d = mujoco.MjData(m)
    d.qpos[:] = nominal_qpos(m, version)
    mujoco.mj_kinematics(m, d)
    feet = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, g) for g in ("right_foot", "left_foot")]
    sole = min(d.geom_xpos[g][2] - np.abs(d.geom_xmat[g].reshape(3, 3)[2]) @ m.geom_size[g] for g in feet)
    assert abs(sole) < 1e-9
    shoulder = d.xpos[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "right_upper_arm")] - d.xpos[1]
    assert np.allclose(shoulder, LAYOUTS[version].shoulder_offset[0])


def test_version_2_orders_the_three_hinge_groups_x_z_y():
    names = [r[0] for r in joint_table(2)]
    for group in ("abdomen", "right_shoulder", "left_hip"):
        i = names.index(f"{group}_x")
        assert names[i:i + 3] == [f"{group}_x", f"{group}_z", f"{group}_y"]
    assert sorted(joint_table(1)) == sorted(joint_table(2))      # the same joints, ranges and gains


def test_an_unknown_version_is_refused():
    with pytest.raises(FrozenfitError, match="unknown humanoid version 3"):
        build_model(version=3)
