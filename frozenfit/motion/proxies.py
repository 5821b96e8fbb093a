"""Interpretable human-likeness proxies of a motion (a qpos trajectory of our humanoid at the
control rate), beside the realism judge:

- ``arm_leg_swing_corr``: while walking, the correlation of each shoulder's forward swing with the
  opposite hip's (people swing an arm with the other leg: positive);
- ``hands_above_shoulder``: the fraction of walking frames with a hand above its shoulder;
- ``foot_skating_cm``: the horizontal distance a foot slides while it stands flat on the ground
  (sole below 2 cm, sole within 10 deg of level: a rolling heel or toe is not sliding), per stance
  phase;
- ``joint_jerk``: mean |third time derivative| of the joint angles (rad/s^3);
- ``energy_per_metre``: positive mechanical work of the joints (inverse dynamics of the motion,
  torque times joint velocity) per metre the pelvis travels (J/m; None when it does not travel).
Walking frames: pelvis planar speed between 0.5 and 2.5 m/s, head up.
"""

from __future__ import annotations

import mujoco
import numpy as np

from frozenfit.humanoid.model import CONTROL_DT, FALL_HEAD_HEIGHT, JOINT_QPOS, JOINT_QVEL, build_model, joint_table

STANCE_HEIGHT = 0.02       # m: a sole this low is on the ground ...
FLAT_COS = np.cos(np.radians(10.0))   # ... and standing flat when its normal is within 10 deg of up
WALK_SPEED = (0.5, 2.5)    # m/s


def _kinematics(model: mujoco.MjModel, qpos: np.ndarray):
    """Per frame: body positions (T, nbody, 3), each foot's lowest sole point (T, 2, 3) and centre
    (T, 2, 3), and whether each sole is level (T, 2)."""
    data = mujoco.MjData(model)
    feet = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, g) for g in ("right_foot", "left_foot")]
    xpos, soles, centres, level = [], [], [], []
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        xpos.append(data.xpos.copy())
        row, crow, lrow = [], [], []
        for g in feet:
            R = data.geom_xmat[g].reshape(3, 3)
            c = data.geom_xpos[g].copy()
            crow.append(c.copy())
            c[2] -= np.abs(R[2]) @ model.geom_size[g]
            row.append(c)
            lrow.append(R[2, 2] > FLAT_COS)
        soles.append(row)
        centres.append(crow)
        level.append(lrow)
    return np.array(xpos), np.array(soles), np.array(centres), np.array(level)


def _work(model: mujoco.MjModel, qpos: np.ndarray, dt: float) -> float:
    """Positive joint work (J) of the motion by inverse dynamics (finite-difference velocities and
    accelerations)."""
    data = mujoco.MjData(model)
    qvel = np.stack([_diff(model, qpos[i], qpos[i + 1], dt) for i in range(len(qpos) - 1)])
    work = 0.0
    for i in range(1, len(qvel)):
        data.qpos[:] = qpos[i]
        data.qvel[:] = qvel[i]
        data.qacc[:] = (qvel[i] - qvel[i - 1]) / dt
        mujoco.mj_inverse(model, data)
        power = data.qfrc_inverse[JOINT_QVEL] * qvel[i][JOINT_QVEL]
        work += float(np.clip(power, 0, None).sum()) * dt
    return work


def _diff(model: mujoco.MjModel, q0: np.ndarray, q1: np.ndarray, dt: float) -> np.ndarray:
    v = np.zeros(model.nv)
    mujoco.mj_differentiatePos(model, v, dt, q0, q1)
    return v


def proxies(qpos: np.ndarray, dt: float = CONTROL_DT, model: mujoco.MjModel | None = None, version: int = 1) -> dict:
    """The proxies of one trajectory (T, nq) of humanoid ``version`` (``model``, when given, is
    that version's); see the module docstring."""
    model = model or build_model(version=version)
    q = np.asarray(qpos, dtype=float)
    xpos, soles, centres, level = _kinematics(model, q)
    ids = {n: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, n) for n in
           ("pelvis", "head", "right_hand", "left_hand", "right_upper_arm", "left_upper_arm")}
    speed = np.linalg.norm(np.diff(xpos[:, ids["pelvis"], :2], axis=0), axis=1) / dt
    up = xpos[1:, ids["head"], 2] > FALL_HEAD_HEIGHT
    walking = (speed > WALK_SPEED[0]) & (speed < WALK_SPEED[1]) & up
    names = [r[0] for r in joint_table(version)]
    col = {n: JOINT_QPOS.start + i for i, n in enumerate(names)}
    out: dict = {"walking_frames": int(walking.sum())}
    if walking.sum() >= 10:
        w = np.nonzero(walking)[0] + 1
        # shoulder_y and hip_y both swing the limb forward with a negative angle
        pairs = [(q[w, col[f"{a}_shoulder_y"]], q[w, col[f"{b}_hip_y"]]) for a, b in (("right", "left"), ("left", "right"))]
        corr = [np.corrcoef(x, y)[0, 1] for x, y in pairs if x.std() > 1e-9 and y.std() > 1e-9]
        out["arm_leg_swing_corr"] = float(np.mean(corr)) if corr else None    # a limb that never moves: none
        above = [(xpos[w, ids[f"{s}_hand"], 2] > xpos[w, ids[f"{s}_upper_arm"], 2]) for s in ("right", "left")]
        out["hands_above_shoulder"] = float(np.mean(above[0] | above[1]))
    else:
        out["arm_leg_swing_corr"] = out["hands_above_shoulder"] = None
    slides = []
    for f in range(2):
        stance = (soles[:, f, 2] < STANCE_HEIGHT) & level[:, f]
        start = None
        for t in range(len(stance) + 1):
            on = t < len(stance) and stance[t]
            if on and start is None:
                start = t
            elif not on and start is not None:
                if t - start >= 2:
                    path = np.diff(centres[start:t, f, :2], axis=0)
                    slides.append(float(np.linalg.norm(path, axis=1).sum()) * 100)
                start = None
    out["foot_skating_cm"] = float(np.mean(slides)) if slides else None
    out["stance_phases"] = len(slides)
    joints = q[:, JOINT_QPOS]
    out["joint_jerk"] = float(np.abs(np.diff(joints, n=3, axis=0)).mean() / dt ** 3) if len(q) > 4 else None
    travel = float(np.linalg.norm(np.diff(xpos[:, ids["pelvis"], :2], axis=0), axis=1).sum())
    out["energy_per_metre"] = _work(model, q, dt) / travel if travel > 0.5 else None
    return out


def mean_proxies(trajectories, dt: float = CONTROL_DT, version: int = 1) -> dict:
    """The proxies averaged over several trajectories of humanoid ``version`` (each weighted
    equally; None where no trajectory defines one)."""
    model = build_model(version=version)
    rows = [proxies(t, dt, model, version) for t in trajectories]
    keys = rows[0].keys()
    mean = {}
    for k in keys:
        vals = [r[k] for r in rows if r[k] is not None]
        mean[k] = float(np.mean(vals)) if vals else None
    return mean
