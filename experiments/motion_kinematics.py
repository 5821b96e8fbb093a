"""Which joints of our humanoid keep the DeepMimic clips from fitting, and would another hinge
order or wider ranges fix them? -> results/motion/kinematics.json (+ kinematics.png).

The key-point errors of results/motion/retarget.json mix two causes: body proportions (about 6.6 cm
on every clip, the floor of any retargeting onto our body) and joint rotations our hinges cannot
make. This measures the second alone, per spherical source joint (chest -> abdomen, shoulders,
hips): the source rotation is decomposed onto three hinges in a given order, each angle clipped to
our range for its axis, recomposed, and the angle between the source rotation and the recomposed
one is the joint's rotation error. Three hinges in any order represent every rotation; only the
ranges clip, and which order keeps a motion inside the ranges is what the order decides (a
decomposition's middle angle spans only +-90 degrees: version 1's intrinsic x-y-z puts flexion
there, so flexion beyond 90 degrees comes out with the other two angles swung by 180, out of range). Candidates: version 1's ranges in all six orders, and version 1's order
with every range unlimited (the proportions-only floor). Ankles (two hinges, twist dropped) and
one-axis knees and elbows are left out.

    python experiments/motion_kinematics.py
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np

from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.model import joint_table
from frozenfit.motion.clips import CLIPS, load_clip, qmat
from frozenfit.motion.retarget import euler, euler_matrix

OUT = Path(__file__).resolve().parents[1] / "results" / "motion"
GROUPS = {"abdomen": "chest", "right_shoulder": "right_shoulder", "left_shoulder": "left_shoulder",
          "right_hip": "right_hip", "left_hip": "left_hip"}
ORDERS = ["".join(p) for p in itertools.permutations("xyz")]
BAD_DEG = 15.0   # a frame whose worst joint misses by more than this is "not represented"


def rotation_error_deg(R: np.ndarray, order: str, ranges: dict[str, tuple[float, float]] | None) -> np.ndarray:
    """(T,) angle between R and its best-effort hinge version: decomposed in ``order``, clipped."""
    ang = euler(R, order)
    if ranges is not None:
        for n, ax in enumerate(order):
            lo, hi = ranges[ax]
            ang[..., n] = np.clip(ang[..., n], lo, hi)
    d = np.swapaxes(euler_matrix(ang, order), -1, -2) @ R
    return np.degrees(np.arccos(np.clip((np.trace(d, axis1=-2, axis2=-1) - 1) / 2, -1.0, 1.0)))


def main() -> None:
    t0 = time.time()
    table = {name: (lo, hi) for name, lo, hi, *_ in joint_table()}
    ranges = {g: {ax: table[f"{g}_{ax}"] for ax in "xyz"} for g in GROUPS}
    candidates = {f"v1_ranges_{o}": (o, True) for o in ORDERS}
    candidates["unlimited_xyz"] = ("xyz", False)
    clips: dict = {}
    for name in CLIPS:
        clip = load_clip(name)
        per = {}
        for cand, (order, limited) in candidates.items():
            errs = {g: rotation_error_deg(qmat(clip.rotations[src]), order, ranges[g] if limited else None)
                    for g, src in GROUPS.items()}
            worst = np.max(np.stack(list(errs.values())), 0)
            per[cand] = {"worst_joint_mean_deg": round(float(worst.mean()), 2),
                         "worst_joint_max_deg": round(float(worst.max()), 1),
                         "frames_over_15deg": round(float((worst > BAD_DEG).mean()), 3),
                         "by_joint_max_deg": {g: round(float(e.max()), 1) for g, e in errs.items()}}
        clips[name] = per
    summary = {c: {"clips_represented": sum(clips[n][c]["frames_over_15deg"] == 0 for n in CLIPS),
                   "mean_frames_over_15deg": round(float(np.mean([clips[n][c]["frames_over_15deg"] for n in CLIPS])), 3)}
               for c in candidates}
    write_result(OUT / "kinematics.json", {"clips": clips, "summary": summary, "bad_deg": BAD_DEG,
                                           "candidates": {c: {"order": o, "v1_ranges": l} for c, (o, l) in candidates.items()}},
                 wall_s=time.time() - t0)
    for c, v in summary.items():
        print(c, v)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(CLIPS)
    fig, ax = plt.subplots(figsize=(11, 3.8))
    w = 0.8 / len(candidates)
    for n, c in enumerate(candidates):
        ax.bar(np.arange(len(names)) + n * w, [100 * clips[k][c]["frames_over_15deg"] for k in names], w, label=c)
    ax.set_xticks(np.arange(len(names)) + 0.4, names, rotation=45, ha="right", fontsize=7)
    ax.set(ylabel=f"% of frames with a joint off by > {BAD_DEG:.0f} deg",
           title="Rotations our hinges cannot make, by hinge order (v1 ranges) and without ranges")
    ax.legend(fontsize=6, ncol=4)
    save_figure(fig, OUT / "kinematics.png")


if __name__ == "__main__":
    sys.exit(run_main(main))
