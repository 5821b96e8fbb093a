"""Play a retargeted clip: kinematically (the clip's poses as they are), or under physics by
PD-tracking the clip's joint angles open-loop from its first frame, to show how far physics lets
it go without a policy (our humanoid's position actuators, the control rate of the environment)."""

from __future__ import annotations

import mujoco
import numpy as np

from frozenfit.humanoid.model import CONTROL_DT, DECIMATION, JOINT_QPOS, build_model, fallen
from frozenfit.motion.clips import load_clip, qconj, qmul
from frozenfit.motion.retarget import Retargeted, retarget


def looped(r: Retargeted, seconds: float) -> np.ndarray:
    """Frames (at the clip's rate) covering ``seconds``: a clip is repeated, each repeat moved on by
    the root's planar displacement over the clip (a standing clip stays where it is)."""
    n = max(1, int(round(seconds * r.fps)))
    shift = np.zeros(r.qpos.shape[1])
    shift[:2] = r.qpos[-1, :2] - r.qpos[0, :2]
    reps = int(np.ceil(n / len(r.qpos)))
    return np.concatenate([r.qpos + i * shift for i in range(reps)])[:n]


def at_control_rate(qpos: np.ndarray, fps: float) -> np.ndarray:
    """The clip's joint angles resampled (linearly) at the environment's control rate."""
    t_src = np.arange(len(qpos)) / fps
    t = np.arange(0.0, t_src[-1] + 1e-9, CONTROL_DT)
    cols = range(JOINT_QPOS.start, JOINT_QPOS.stop)
    return np.stack([np.interp(t, t_src, qpos[:, c]) for c in cols], 1)


def initial_velocity(q0: np.ndarray, q1: np.ndarray, dt: float) -> np.ndarray:
    """qvel that moves the humanoid from pose q0 towards q1 in dt (root angular velocity in the
    body frame, as MuJoCo's free joint wants it)."""
    qvel = np.zeros(6 + (JOINT_QPOS.stop - JOINT_QPOS.start))
    qvel[:3] = (q1[:3] - q0[:3]) / dt
    dq = qmul(qconj(q0[3:7]), q1[3:7])               # body-frame rotation over dt
    if dq[0] < 0:      # q and -q are one rotation: take the short way (else a sign flip reads as 2 pi)
        dq = -dq
    angle = 2 * np.arctan2(np.linalg.norm(dq[1:]), dq[0])
    axis = dq[1:] / max(np.linalg.norm(dq[1:]), 1e-12)
    qvel[3:6] = axis * angle / dt
    qvel[6:] = (q1[JOINT_QPOS] - q0[JOINT_QPOS]) / dt
    return qvel


def track(r: Retargeted, seconds: float, model: mujoco.MjModel | None = None) -> tuple[np.ndarray, dict]:
    """PD-track ``r`` open-loop under physics for ``seconds``; returns (qpos per control step, a
    summary: seconds before the first fall, mean joint-tracking error in degrees while up)."""
    model = model or build_model()
    data = mujoco.MjData(model)
    clip = looped(r, seconds + 2 * CONTROL_DT)
    targets = at_control_rate(clip, r.fps)
    data.qpos[:] = clip[0]
    data.qvel[: 6 + targets.shape[1]] = initial_velocity(clip[0], clip[1], 1.0 / r.fps)
    mujoco.mj_forward(model, data)
    out, err, fell_at = [], [], None
    for k in range(min(len(targets), int(round(seconds / CONTROL_DT)))):
        data.ctrl[:] = targets[k]
        for _ in range(DECIMATION):
            mujoco.mj_step(model, data)
        out.append(data.qpos.copy())
        if fell_at is None and bool(fallen(data.xpos[None, 1:])[0]):
            fell_at = (k + 1) * CONTROL_DT
        if fell_at is None:
            err.append(np.abs(data.qpos[JOINT_QPOS] - targets[k]).mean())
    summary = {"seconds": round(len(out) * CONTROL_DT, 3), "fell_after_s": None if fell_at is None else round(fell_at, 3),
               "joint_error_deg": float(np.degrees(np.mean(err))) if err else None}
    return np.array(out), summary


def clip_trajectory(name: str, seconds: float = 3.0, mirror: bool = False, version: int = 1) -> np.ndarray:
    """A clip retargeted onto humanoid ``version`` as a qpos trajectory at the control rate (looped
    to ``seconds``; quaternions renormalised after the linear resampling)."""
    clip = load_clip(name)
    r = retarget(clip.mirrored() if mirror else clip, version=version)
    q = looped(r, seconds)
    t_src = np.arange(len(q)) / r.fps
    t = np.arange(0.0, t_src[-1] + 1e-9, CONTROL_DT)
    out = np.stack([np.interp(t, t_src, q[:, c]) for c in range(q.shape[1])], 1)   # joints included
    quat = out[:, 3:7]
    out[:, 3:7] = quat / np.linalg.norm(quat, axis=1, keepdims=True)
    return out
