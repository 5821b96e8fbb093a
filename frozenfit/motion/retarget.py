"""Retarget DeepMimic clips onto our humanoid: joint angles per frame, and how well they fit.

Both skeletons stand in the same rest pose (limbs hanging, every joint frame aligned with the
world), so a source joint's local rotation is a target joint's local rotation: each spherical
joint is decomposed onto our hinge chain (abdomen, shoulders, hips: in the humanoid version's hinge
order, x-y-z for version 1 and x-z-y for version 2, as MuJoCo composes the hinges of one body;
ankles: y then x, the twist dropped), knees and elbows copy their
angle (their axis is our -y, our hinges turn about +y), and the neck is dropped (our head is fixed
to the torso). Angles outside our joint ranges are clipped and counted. The root moves as the
source root scaled by the leg-length ratio, then the whole clip is lifted so that the feet stand on
the floor (the 5th percentile of the lowest sole point is put at z = 0, and no frame goes below it).
The retargeting error is the distance between matching key points (hips, knees, ankles, shoulders,
elbows, hands, head), relative to the pelvis, of our skeleton and of the scaled source skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from frozenfit.humanoid.model import JOINT_QPOS, LAYOUTS, build_model, joint_table, nominal_qpos
from frozenfit.motion.clips import Clip, qmat
from frozenfit.motion.skeleton import leg_length, source_fk

# our body whose origin is a source joint's position
KEY_POINTS = {"right_thigh": "right_hip", "left_thigh": "left_hip", "right_shin": "right_knee",
              "left_shin": "left_knee", "right_foot": "right_ankle", "left_foot": "left_ankle",
              "right_upper_arm": "right_shoulder", "left_upper_arm": "left_shoulder",
              "right_lower_arm": "right_elbow", "left_lower_arm": "left_elbow", "right_hand": "right_wrist",
              "left_hand": "left_wrist", "head": "head"}
LIMIT_TOLERANCE = np.deg2rad(1.0)   # beyond a joint's range by more than this: a violation


def axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations by ``angle`` about coordinate axis ``axis`` (0: x, 1: y, 2: z)."""
    c, s = np.cos(angle), np.sin(angle)
    R = np.zeros(np.shape(angle) + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    R[..., axis, axis] = 1.0
    R[..., i, i], R[..., j, j], R[..., i, j], R[..., j, i] = c, c, -s, s
    return R


def euler(R: np.ndarray, order: str = "xyz") -> np.ndarray:
    """Angles (..., 3) with R = R_i(a) R_j(b) R_k(c) for the intrinsic order ``order`` (a body's
    three hinges, outermost first). The middle angle spans only +-90 degrees."""
    i, j, k = ("xyz".index(a) for a in order)
    s = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    b = np.arcsin(np.clip(s * R[..., i, k], -1.0, 1.0))
    a = np.arctan2(-s * R[..., j, k], R[..., k, k])
    c = np.arctan2(-s * R[..., i, j], R[..., i, i])
    return np.stack([a, b, c], -1)


def euler_matrix(angles: np.ndarray, order: str = "xyz") -> np.ndarray:
    """The rotation R_i(a) R_j(b) ... of hinge angles (..., len(order)) in ``order``."""
    out = None
    for n, ax in enumerate(order):
        r = axis_rotation("xyz".index(ax), angles[..., n])
        out = r if out is None else out @ r
    return out


def euler_xyz(R: np.ndarray) -> np.ndarray:
    """Angles (a, b, c) with R = Rx(a) Ry(b) Rz(c) (intrinsic x, y, z: version 1's hinges)."""
    return euler(R, "xyz")


def euler_yx(R: np.ndarray) -> np.ndarray:
    """Angles (a, b) of the closest R = Ry(a) Rx(b) (an ankle's two hinges; twist about z dropped)."""
    a = np.arctan2(R[..., 0, 2], R[..., 2, 2])
    b = np.arctan2(-R[..., 1, 2], np.hypot(R[..., 0, 2], R[..., 2, 2]))
    return np.stack([a, b], -1)


@dataclass
class Retargeted:
    """A clip on our humanoid: qpos per frame and how well it matches the source."""

    name: str
    qpos: np.ndarray              # (T, nq) our humanoid's generalised positions
    dt: np.ndarray                # (T,)
    loop: bool
    error_cm: np.ndarray          # (T, len(KEY_POINTS)) key-point distance to the scaled source
    limit_violations: int         # (frame, joint) pairs clipped by more than LIMIT_TOLERANCE
    clipped_joints: dict[str, int]

    @property
    def fps(self) -> float:
        return 1.0 / float(np.median(self.dt[:-1])) if len(self.dt) > 1 else 30.0


def joint_angles(clip: Clip, version: int = 1) -> dict[str, np.ndarray]:
    """Our hinge angles (T,) by joint name (humanoid ``version``), before clipping to the ranges."""
    order = LAYOUTS[version].hinge_order
    out: dict[str, np.ndarray] = {}
    for axis, value in zip(order, np.moveaxis(euler(qmat(clip.rotations["chest"]), order), -1, 0)):
        out[f"abdomen_{axis}"] = value
    for side in ("right", "left"):
        for group, src in (("shoulder", f"{side}_shoulder"), ("hip", f"{side}_hip")):
            for axis, value in zip(order, np.moveaxis(euler(qmat(clip.rotations[src]), order), -1, 0)):
                out[f"{side}_{group}_{axis}"] = value
        ay, ax = np.moveaxis(euler_yx(qmat(clip.rotations[f"{side}_ankle"])), -1, 0)
        out[f"{side}_ankle_y"], out[f"{side}_ankle_x"] = ay, ax
        out[f"{side}_knee"] = -clip.angles[f"{side}_knee"]      # source axis: our -y
        out[f"{side}_elbow"] = -clip.angles[f"{side}_elbow"]
    return out


def _key_positions(model: mujoco.MjModel, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: pelvis position (T, 3), key-body positions (T, K, 3), lowest sole point z (T,)."""
    data = mujoco.MjData(model)
    ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in KEY_POINTS]
    feet = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, g) for g in ("right_foot", "left_foot")]
    pelvis, keys, sole = [], [], []
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        pelvis.append(data.xpos[1].copy())
        keys.append(data.xpos[ids].copy())
        # lowest corner of each foot box: centre z minus the box's vertical half-extent
        sole.append(min(data.geom_xpos[g][2] - np.abs(data.geom_xmat[g].reshape(3, 3)[2]) @ model.geom_size[g]
                        for g in feet))
    return np.array(pelvis), np.array(keys), np.array(sole)


def retarget(clip: Clip, model: mujoco.MjModel | None = None, version: int = 1) -> Retargeted:
    """``clip`` on our humanoid of ``version`` (``model``: that version's, built when not given;
    see the module docstring for the method)."""
    model = model or build_model(version=version)
    table = joint_table(version)
    angles = joint_angles(clip, version)
    T = clip.frames
    qpos = np.repeat(nominal_qpos(model, version)[None], T, 0)
    violations, clipped = 0, {}
    for i, (name, lo, hi, _, _, _) in enumerate(table):
        a = angles[name]
        over = (a < lo - LIMIT_TOLERANCE) | (a > hi + LIMIT_TOLERANCE)
        if over.any():
            clipped[name] = int(over.sum())
            violations += int(over.sum())
        qpos[:, JOINT_QPOS.start + i] = np.clip(a, lo, hi)
    scale = (0.42 + 0.41) / leg_length()       # our hip-to-ankle (thigh 0.42 + shin 0.41 m) over the source's
    qpos[:, :3] = clip.root_pos * scale
    qpos[:, 3:7] = clip.root_quat
    pelvis, keys, sole = _key_positions(model, qpos)
    lift = -np.percentile(sole, 5)
    qpos[:, 2] += lift + np.maximum(0.0, -(sole + lift))     # feet on the floor, never through it
    # (a vertical shift of the root leaves key points relative to the pelvis as they are)
    src = source_fk(clip)
    src_rel = np.stack([src[j] - src["root"] for j in KEY_POINTS.values()], 1) * scale
    error = np.linalg.norm((keys - pelvis[:, None]) - src_rel, axis=-1) * 100
    return Retargeted(clip.name, qpos, clip.dt, clip.loop, error, violations, clipped)
