"""DeepMimic's human motion clips, read from the installed ``pybullet`` package (``frozenfit[motion]``).

The pybullet wheel ships DeepMimic's mocap clips (``pybullet_data/data/motions/``) and the
skeleton they drive (``pybullet_data/humanoid/humanoid.urdf``). A clip file is JSON:
``{"Loop": "wrap" | "none", "Frames": [[dt, root xyz, root quat, chest quat, neck quat, right hip
quat, right knee angle, right ankle quat, right shoulder quat, right elbow angle, left hip quat,
left knee, left ankle quat, left shoulder quat, left elbow], ...]}``: 44 numbers a frame,
quaternions w-first, the world y axis up. `load_clip` checks all of it and returns the clip in
our frame (x forward, y left, z up): every rotation R becomes C R C^T with C the +90 deg turn about
x that takes y-up to z-up. Nothing is downloaded; the files are read where pip installed them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from frozenfit.errors import FrozenfitError

MOTION_EXTRA = "frozenfit[motion]"
# clip name -> file under pybullet_data/data/motions/
CLIPS = {**{n: f"humanoid3d_{n}.txt" for n in (
    "walk", "run", "jump", "backflip", "cartwheel", "crawl", "dance_a", "dance_b", "getup_facedown",
    "getup_faceup", "kick", "punch", "roll", "spin", "spinkick")},
    **{f"walker_{n}": f"walker/{n}.txt" for n in ("0walk_forward", "turn_left0", "turn_left1", "turn_right0",
                                                   "turn_right1")}}
SPHERICAL = ("chest", "neck", "right_hip", "right_ankle", "right_shoulder", "left_hip", "left_ankle",
             "left_shoulder")
REVOLUTE = ("right_knee", "right_elbow", "left_knee", "left_elbow")
# the frame layout after dt and the root: (joint, number of values)
LAYOUT = (("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
          ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4),
          ("left_shoulder", 4), ("left_elbow", 1))
FRAME_SIZE = 1 + 3 + 4 + sum(n for _, n in LAYOUT)   # 44
# y-up (DeepMimic) -> z-up (ours): x stays forward, y_ours = -z_dm (left), z_ours = y_dm (up)
C = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
Q_C = np.array([math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0])


def data_dir() -> Path:
    """pybullet_data's folder (one clear error when the optional extra is not installed)."""
    try:
        import pybullet_data
    except ImportError:
        raise FrozenfitError(f"the motion clips come with the pybullet package: pip install '{MOTION_EXTRA}'") from None
    return Path(pybullet_data.getDataPath())


# -- quaternions (numpy, w-first, float64: offline motion processing) --------------------------------
def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], -1)


def qconj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def qmat(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4)."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
                     np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
                     np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def axis_angle(axis, angle: np.ndarray) -> np.ndarray:
    """Quaternions of rotations by ``angle`` (...,) about the unit ``axis``."""
    a = np.asarray(angle, dtype=float)[..., None] / 2
    return np.concatenate([np.cos(a), np.sin(a) * np.asarray(axis, dtype=float)], -1)


def to_z_up(q: np.ndarray) -> np.ndarray:
    """A rotation given in DeepMimic's y-up frame, expressed in ours: C R C^T."""
    return qmul(qmul(np.broadcast_to(Q_C, q.shape), q), np.broadcast_to(qconj(Q_C), q.shape))


@dataclass
class Clip:
    """One motion clip in our frame: root pose, local joint rotations (quaternions) and angles."""

    name: str
    dt: np.ndarray                   # (T,) seconds from each frame to the next
    loop: bool
    root_pos: np.ndarray             # (T, 3)
    root_quat: np.ndarray            # (T, 4)
    rotations: dict[str, np.ndarray] = field(default_factory=dict)   # spherical joint -> (T, 4)
    angles: dict[str, np.ndarray] = field(default_factory=dict)      # revolute joint -> (T,) rad
    repaired: int = 0                # quaternions read more than 1 % off unit length (normalised)

    @property
    def frames(self) -> int:
        return len(self.dt)

    @property
    def seconds(self) -> float:
        return float(self.dt[:-1].sum())

    def mirrored(self) -> "Clip":
        """The left-right mirror image (reflection through the x-z plane): positions y -> -y, a
        rotation (w, x, y, z) -> (w, -x, y, -z), left and right joints swapped."""
        flip = np.array([1.0, -1.0, 1.0, -1.0])
        swap = {"left": "right", "right": "left"}

        def other(name: str) -> str:
            side, _, rest = name.partition("_")
            return f"{swap[side]}_{rest}" if side in swap else name

        return Clip(f"{self.name}_mirror", self.dt.copy(), self.loop, self.root_pos * np.array([1.0, -1.0, 1.0]),
                    self.root_quat * flip, {other(k): v * flip for k, v in self.rotations.items()},
                    {other(k): v.copy() for k, v in self.angles.items()}, self.repaired)


def clip_path(name: str) -> Path:
    """The file of clip ``name`` (a name of CLIPS, or a path to a clip file)."""
    if name in CLIPS:
        return data_dir() / "data" / "motions" / CLIPS[name]
    if Path(name).suffix in (".txt", ".json"):
        return Path(name)
    raise FrozenfitError(f"unknown clip '{name}'; known: {', '.join(CLIPS)} (or a path to a DeepMimic .txt file)")


def load_clip(name: str) -> Clip:
    """Read and check one DeepMimic clip; every problem is one clear error naming the file."""
    path = clip_path(name)
    if not path.exists():
        raise FrozenfitError(f"clip file not found: {path}")
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FrozenfitError(f"{path}: not a DeepMimic clip (invalid JSON: {e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("Frames"), list) or not doc["Frames"]:
        raise FrozenfitError(f"{path}: a clip is a JSON object with a non-empty 'Frames' list")
    loop = doc.get("Loop", "none")
    if loop not in ("wrap", "none"):
        raise FrozenfitError(f"{path}: 'Loop' must be 'wrap' or 'none', not {loop!r}")
    bad = [i for i, f in enumerate(doc["Frames"]) if not isinstance(f, list) or len(f) != FRAME_SIZE]
    if bad:
        raise FrozenfitError(f"{path}: frame {bad[0]} does not hold {FRAME_SIZE} numbers")
    try:
        frames = np.array(doc["Frames"], dtype=float)
    except (TypeError, ValueError):
        raise FrozenfitError(f"{path}: frames must hold numbers only") from None
    if not np.isfinite(frames).all():
        raise FrozenfitError(f"{path}: frame {int(np.nonzero(~np.isfinite(frames).all(1))[0][0])} holds a NaN or inf")
    if (frames[:-1, 0] <= 0).any():
        raise FrozenfitError(f"{path}: frame {int(np.nonzero(frames[:-1, 0] <= 0)[0][0])} has a duration <= 0")
    cols = iter(range(FRAME_SIZE))
    take = lambda n: frames[:, [next(cols) for _ in range(n)]]   # noqa: E731
    dt, root_pos, root_quat = take(1)[:, 0], take(3), take(4)
    quats, angles = {"root": root_quat}, {}
    for joint, n in LAYOUT:
        (quats if n == 4 else angles)[joint] = take(n) if n == 4 else take(1)[:, 0]
    repaired = 0
    for joint, q in quats.items():
        norm = np.linalg.norm(q, axis=1)
        off = np.abs(norm - 1)
        if (off > 0.5).any():
            raise FrozenfitError(f"{path}: the {joint} quaternion of frame {int(np.argmax(off))} is not a rotation "
                                 f"(norm {norm[int(np.argmax(off))]:.3f}); quaternions are w-first, unit length")
        # the shipped clips hold a few off-unit quaternions (kick: norm 0.58 once; backflip: 1.09):
        # their direction is kept, and they are counted
        repaired += int((off > 0.01).sum())
        quats[joint] = to_z_up(q / norm[:, None])
    name = path.stem.removeprefix("humanoid3d_") if name not in CLIPS else name
    return Clip(name, dt, loop == "wrap", root_pos @ C.T, quats.pop("root"), quats, angles, repaired)
