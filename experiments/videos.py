"""The videos a person would rather watch than read, and one still frame of each for the README.

Renders (MP4, 640x360, captioned) the shipped teacher on its scripted goals, the shipped BFM on
its prompt script, each shipped Task Tokens policy on one evaluation episode and the Direction
comparison (Task Tokens beside the prompt alone) into runs/videos/ (not committed: regenerate
them with this script), and writes the still frames to results/videos/<name>.png with
results/videos/videos.json (what each shows, its seed and the success the task judged).

    MUJOCO_GL=egl python experiments/videos.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import imageio.v3 as iio

from frozenfit.bfm.policy import SHIPPED_BFM, load_bfm
from frozenfit.bfm.prompt import play
from frozenfit.common.results import git_commit, machine_info, write_result
from frozenfit.humanoid.render import render_rollout, write_video
from frozenfit.tasktokens.commands import TaskCompareCommand, load_task_policy, record, run_compare, video_title
from frozenfit.tasktokens.tasks import TASKS
from frozenfit.teacher.evaluate import play_script
from frozenfit.teacher.policy import load_teacher

VIDEOS = Path("runs/videos")
OUT = Path("results/videos")
STILL_AT = 0.6          # the still is this fraction into the video


def still(frames, name: str) -> str:
    path = OUT / f"{name}.png"
    iio.imwrite(path, frames[int(STILL_AT * (len(frames) - 1))])
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=3, help="evaluation episode seed of the task videos")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    t0, rows = time.time(), {}
    commit = git_commit()

    rec = play_script(load_teacher())
    frames = render_rollout(rec)
    rows["teacher"] = {"video": str(write_video(frames, VIDEOS / "teacher.mp4", rec.fps)), "still": still(frames, "teacher"),
                       "shows": "the shipped teacher on its scripted goals", "seconds": round(len(frames) / rec.fps, 1)}
    rec = play(load_bfm())
    frames = render_rollout(rec)
    rows["bfm"] = {"video": str(write_video(frames, VIDEOS / "bfm.mp4", rec.fps)), "still": still(frames, "bfm"),
                   "shows": "the shipped BFM on its prompt script", "seconds": round(len(frames) / rec.fps, 1)}
    for task in TASKS:
        actor = load_task_policy(task, None, str(SHIPPED_BFM))
        m = actor.meta
        rec, ok, scene = record(actor, task, m["use_prior"], m["history_offsets"], 15.0, 2, args.seed,
                                title=video_title(task, m["method"]))
        frames = render_rollout(rec, model=scene)
        rows[f"tasktokens-{task}"] = {"video": str(write_video(frames, VIDEOS / f"tasktokens-{task}.mp4", rec.fps)),
                                      "still": still(frames, f"tasktokens-{task}"), "seed": args.seed,
                                      "success": ok, "shows": f"the shipped {task} policy, one evaluation episode",
                                      "seconds": round(len(frames) / rec.fps, 1)}
        print(f"{task}: {'succeeded' if ok else 'failed'}", flush=True)
    cmp = run_compare(TaskCompareCommand(task="direction", out=str(VIDEOS / "compare-direction.mp4"), seed=args.seed))
    frames = iio.imread(cmp, plugin="FFMPEG")
    rows["compare-direction"] = {"video": str(cmp), "still": still(list(frames), "compare-direction"),
                                 "seed": args.seed, "shows": "Direction: Task Tokens beside the prompt alone"}
    write_result(OUT / "videos.json", {"videos": rows, "command": "MUJOCO_GL=egl python experiments/videos.py",
                                       "commit": commit, "machine": machine_info(), "wall_s": round(time.time() - t0, 1)})


if __name__ == "__main__":
    main()
