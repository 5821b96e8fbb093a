"""The skeleton DeepMimic's clips drive (pybullet_data/humanoid/humanoid.urdf) and its forward
kinematics, in our frame (x forward, y left, z up) and in metres.

pybullet loads that URDF with ``globalScaling=0.25`` (pybullet_envs/deep_mimic), so its offsets are
in quarter-metres; the clips' root positions are already in metres. Every joint's rest frame is
aligned with the world (all ``rpy`` are zero), spherical joints rotate by the clip's quaternion,
revolute ones (knees, elbows) about their URDF axis (z in y-up: our -y).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from frozenfit.errors import FrozenfitError
from frozenfit.motion.clips import C, Clip, axis_angle, data_dir, qmat

URDF_SCALE = 0.25
# the points whose positions retargeting matches: joint name, or (joint, offset in that joint's frame)
HEAD_OFFSET = np.array([0.0, 0.0, 0.7 * URDF_SCALE])   # the head geometry's centre above the neck joint


@dataclass(frozen=True)
class SourceJoint:
    name: str
    parent: str | None
    offset: np.ndarray        # from the parent joint, in the parent's rest frame (ours, metres)
    kind: str                 # "spherical", "revolute", "fixed"
    axis: np.ndarray          # revolute axis (ours)


@lru_cache(maxsize=1)
def source_skeleton() -> tuple[SourceJoint, ...]:
    """DeepMimic's joints, parents first, read from the installed URDF."""
    path = data_dir() / "humanoid" / "humanoid.urdf"
    if not path.exists():
        raise FrozenfitError(f"the DeepMimic skeleton is missing from the pybullet install: {path}")
    text = path.read_bytes().decode("latin-1")
    joints = []
    for m in re.finditer(r'<joint\s+name\s*=\s*"(\w+)"\s+type\s*=\s*"(\w+)"\s*>(.*?)</joint>', text, re.S):
        name, kind, body = m.groups()
        parent = re.search(r'<parent\s+link\s*=\s*"(\w+)"', body).group(1)
        xyz = re.search(r'<origin[^>]*xyz\s*=\s*"([^"]+)"', body)
        axis = re.search(r'<axis\s+xyz\s*=\s*"([^"]+)"', body)
        joints.append(SourceJoint(name, None if parent == "base" else parent,
                                  C @ (np.array(xyz.group(1).split(), dtype=float) * URDF_SCALE),
                                  kind, C @ np.array(axis.group(1).split(), dtype=float) if axis else np.zeros(3)))
    names = {j.name for j in joints}
    missing = {"root", "chest", "neck", "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow",
               "right_wrist", "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow", "left_wrist"} - names
    if missing:
        raise FrozenfitError(f"{path}: joints {sorted(missing)} not found; is this DeepMimic's humanoid.urdf?")
    return tuple(joints)


def source_fk(clip: Clip) -> dict[str, np.ndarray]:
    """World positions (T, 3) of every source joint, plus ``head``, for every frame of ``clip``."""
    T = clip.frames
    pos, rot = {}, {}
    for j in source_skeleton():
        if j.parent is None:
            pos[j.name], rot[j.name] = clip.root_pos, qmat(clip.root_quat)
            continue
        pos[j.name] = pos[j.parent] + np.einsum("tij,j->ti", rot[j.parent], j.offset)
        if j.kind == "spherical":
            local = qmat(clip.rotations[j.name])
        elif j.kind == "revolute":
            local = qmat(axis_angle(j.axis, clip.angles[j.name]))
        else:
            local = np.broadcast_to(np.eye(3), (T, 3, 3))
        rot[j.name] = rot[j.parent] @ local
    pos["head"] = pos["neck"] + np.einsum("tij,j->ti", rot["neck"], HEAD_OFFSET)
    return pos


def leg_length() -> float:
    """Hip joint to ankle joint at rest (m): what retargeting scales the root's motion by."""
    s = {j.name: j for j in source_skeleton()}
    return float(np.linalg.norm(s["right_knee"].offset) + np.linalg.norm(s["right_ankle"].offset))

