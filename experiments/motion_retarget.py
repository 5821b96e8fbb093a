"""Retarget every DeepMimic clip onto our humanoid -> results/motion/retarget.json, clips.gif.

    python experiments/motion_retarget.py

Per clip (and its mirror image): frames, the key-point error against the scaled source skeleton
(mean and max, cm; frozenfit/motion/retarget.py), the (frame, joint) pairs clipped to our joint
ranges, the per-key-point mean error, the quaternions the loader had to renormalise, and whether
physics lets it go (``physics_open_loop``: PD-tracked from its first frame with no policy, seconds
before the first fall), and whether the clip is ``used`` for motion priors: at most 2 % of its (frame, joint) pairs clipped and no key
point off by more than 15 cm (a clip our humanoid cannot represent would teach a prior the
clipped motion instead). The figures decide whether our humanoid's kinematics are good enough
(see the README's "Human motion data"). ``clips``/``used`` are version 1's (the shipped humanoid);
``v2`` holds the same for version 2 (hinges ordered x-z-y, DeepMimic's proportions).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
from frozenfit.common.results import write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.model import build_model, joint_table
from frozenfit.humanoid.render import Recording, render_rollout, write_video
from frozenfit.motion.clips import CLIPS, load_clip
from frozenfit.motion.playback import track
from frozenfit.motion.retarget import KEY_POINTS, retarget

OUT = Path(__file__).resolve().parents[1] / "results" / "motion"
MAX_CLIPPED = 0.02
MAX_ERROR_CM = 15.0
VIDEO_CLIPS = ("walk", "run", "jump", "walker_turn_left0")


def clip_record(c, r, model, joints: int) -> dict:
    """One clip's figures on one humanoid version."""
    clipped = r.limit_violations / (c.frames * joints)
    return {"frames": c.frames, "seconds": round(c.seconds, 3),
            "error_mean_cm": round(float(r.error_cm.mean()), 2),
            "error_max_cm": round(float(r.error_cm.max()), 2),
            "limit_violations": r.limit_violations,
            "used": bool(clipped <= MAX_CLIPPED and r.error_cm.max() <= MAX_ERROR_CM),
            "clipped_fraction": round(clipped, 4), "clipped_joints": r.clipped_joints,
            "error_mean_cm_by_point": {k: round(float(v), 2) for k, v in zip(KEY_POINTS, r.error_cm.mean(0))},
            "repaired_quaternions": c.repaired,
            # PD-tracking the clip open-loop from its first frame (no policy): how long it stays up
            "physics_open_loop": track(r, 3.0, model)[1]}


def measure(version: int, video_seconds: float) -> tuple[dict, list]:
    """Every clip and its mirror on humanoid ``version``; frames of VIDEO_CLIPS when video_seconds > 0."""
    model = build_model(version=version)
    joints = len(joint_table(version))
    out, frames = {}, []
    for name in CLIPS:
        clip = load_clip(name)
        for c in (clip, clip.mirrored()):
            r = retarget(c, model, version)
            out[c.name] = clip_record(c, r, model, joints)
            print(f"v{version} {c.name:28s} error {out[c.name]['error_mean_cm']:5.1f} / {out[c.name]['error_max_cm']:5.1f} cm, "
                  f"{r.limit_violations} clipped, used {out[c.name]['used']}", flush=True)
            if video_seconds > 0 and c is clip and name in VIDEO_CLIPS:    # loop the clip, moving on
                reps = int(np.ceil(video_seconds / max(c.seconds, 1e-3)))
                q = np.concatenate([r.qpos + np.array([i * (r.qpos[-1, 0] - r.qpos[0, 0]), i * (r.qpos[-1, 1] - r.qpos[0, 1])]
                                                      + [0.0] * (r.qpos.shape[1] - 2)) for i in range(reps)])
                q = q[: int(video_seconds * r.fps): 2]              # 15 frames/s keeps the GIF small
                frames += render_rollout(Recording(q, r.fps / 2, humanoid_version=version), 320, 240, model)
    return out, frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video-seconds", type=float, default=2.5, help="per clip in clips.gif")
    a = ap.parse_args()
    t0 = time.perf_counter()
    out, frames = measure(1, a.video_seconds)
    v2, _ = measure(2, 0.0)
    write_video(frames, OUT / "clips.gif", 15.0)
    used = [k for k, v in out.items() if v["used"]]
    write_result(OUT / "retarget.json", {
        "clips": out, "used": used,
        "v2": {"clips": v2, "used": [k for k, v in v2.items() if v["used"]]},
        "rule": f"used: at most {MAX_CLIPPED:.0%} of (frame, joint) pairs clipped and every key point within {MAX_ERROR_CM:g} cm",
        "source": "pybullet_data/data/motions (DeepMimic), skeleton pybullet_data/humanoid/humanoid.urdf at scale 0.25",
        "video": "results/motion/clips.gif: " + ", ".join(VIDEO_CLIPS)}, wall_s=time.perf_counter() - t0)
    print(f"{len(used)} of {len(out)} clips used (version 1), "
          f"{sum(v['used'] for v in v2.values())} on version 2")


if __name__ == "__main__":
    sys.exit(run_main(main))
