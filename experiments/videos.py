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
import json
import time
from pathlib import Path

import imageio.v3 as iio

from tasktokens_sweep import DEFAULT_STEPS, DEFAULT_WARM, RunSpec

from frozenfit.bfm.policy import bfm_digest, load_bfm
from frozenfit.bfm.prompt import play
from frozenfit.common.results import git_commit, machine_info, portable_path, write_result
from frozenfit.humanoid.render import render_rollout, write_video
from frozenfit.tasktokens.commands import TaskCompareCommand, load_task_policy, record, run_compare, video_title
from frozenfit.tasktokens.policies import METHODS
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
    ap.add_argument("--only-compare", action="store_true", help="render only the comparison (the others stay)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    t0, rows = time.time(), {}
    commit = git_commit()

    if args.only_compare:
        rows = {k: v for k, v in json.loads((OUT / "videos.json").read_text())["videos"].items()
                if k != "compare-direction"}
    else:
        rows = render_all(rows, args.seed)
    compare(rows, args.seed)
    write_result(OUT / "videos.json", {"videos": rows, "commit": commit, "machine": machine_info()},
                 wall_s=time.time() - t0)


def render_all(rows: dict, seed: int) -> dict:
    """The teacher, BFM and per-task videos and their stills."""
    bfm = load_bfm()
    rec = play_script(load_teacher())
    frames = render_rollout(rec)
    rows["teacher"] = {"video": str(write_video(frames, VIDEOS / "teacher.mp4", rec.fps)), "still": still(frames, "teacher"),
                       "shows": "the shipped teacher on its scripted goals", "seconds": round(len(frames) / rec.fps, 1)}
    rec = play(bfm)
    frames = render_rollout(rec)
    rows["bfm"] = {"video": str(write_video(frames, VIDEOS / "bfm.mp4", rec.fps)), "still": still(frames, "bfm"),
                   "shows": "the shipped BFM on its prompt script", "seconds": round(len(frames) / rec.fps, 1)}
    for task in TASKS:
        actor = load_task_policy(task, None, bfm)
        m = actor.meta
        rec, ok, scene = record(actor, task, m["use_prior"], m["history_offsets"], 15.0, 2, seed,
                                title=video_title(task, m["method"]))
        frames = render_rollout(rec, model=scene)
        rows[f"tasktokens-{task}"] = {"video": str(write_video(frames, VIDEOS / f"tasktokens-{task}.mp4", rec.fps)),
                                      "still": still(frames, f"tasktokens-{task}"), "seed": seed,
                                      "success": ok, "shows": f"the shipped {task} policy, one evaluation episode",
                                      "seconds": round(len(frames) / rec.fps, 1)}
        print(f"{task}: {'succeeded' if ok else 'failed'}", flush=True)
    return rows


def compare(rows: dict, seed: int) -> None:
    """Direction's methods side by side on one episode, and its still."""
    # the baselines' seed-0 policies of the recorded sweep runs, where this machine has them in runs/
    digest = bfm_digest(load_bfm())
    baselines = {m: RunSpec.of("direction", m, 0, DEFAULT_STEPS, DEFAULT_WARM if METHODS[m].warm_startable else 0,
                               digest).run_dir / "policy.safetensors" for m in ("finetune", "ppo_scratch")}
    baselines = {m: str(p) for m, p in baselines.items() if p.exists()}
    cmp = run_compare(TaskCompareCommand(task="direction", out=str(VIDEOS / "compare-direction.mp4"), seed=seed,
                                         **baselines))
    frames = iio.imread(cmp, plugin="FFMPEG")
    shown = ["task_tokens", "prompt_only", *baselines]
    rows["compare-direction"] = {"video": str(cmp), "still": still(list(frames), "compare-direction"),
                                 "seed": seed, "methods": shown,
                                 "baseline_runs": [portable_path(p) for p in baselines.values()],
                                 "shows": "Direction: " + ", ".join(METHODS[m].label for m in shown) + " on one episode"}


if __name__ == "__main__":
    main()
