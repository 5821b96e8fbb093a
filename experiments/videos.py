"""The videos a person would rather watch than read, and one still frame of each for the README.

Renders (MP4, 640x360, captioned) the shipped teacher on its scripted goals, the shipped BFM on
its prompt script, each shipped Task Tokens policy on one evaluation episode and the Direction
comparison (Task Tokens beside the prompt alone) into runs/videos/ (not committed: regenerate
them with this script), and writes the still frames to results/videos/<name>.png with
results/videos/videos.json (what each shows, its seed and the success the task judged).

    MUJOCO_GL=egl python experiments/videos.py [--v2 TEACHER_V2 BFM_V2 [--v1 TEACHER_V1 BFM_V1]]

With --v2, also version 1 beside version 2 on goal set 2's demo scripts (walk, run, walk backward,
run sideways, turn, reach the floor, run up and jump): the teacher (`teacher-v1-vs-v2`) and the BFM
(`bfm-v1-vs-v2`); version 1 plays the nearest goals it has (a floor reach as a hand target, no
jump). Version 1's files default to the shipped ones.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import imageio.v3 as iio

from tasktokens_sweep import DEFAULT_STEPS, DEFAULT_WARM, RunSpec

from frozenfit.bfm.policy import bfm_digest, load_bfm
from frozenfit.bfm.policy import SHIPPED_BFM
from frozenfit.bfm.prompt import DEMO_PROMPTS_V2, play
from frozenfit.common.results import git_commit, machine_info, portable_path, write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.render import render_rollout, side_by_side, write_video
from frozenfit.tasktokens.commands import TaskCompareCommand, load_task_policy, record, run_compare, video_title
from frozenfit.tasktokens.policies import METHODS
from frozenfit.tasktokens.tasks import TASKS
from frozenfit.teacher.evaluate import DEMO_SCRIPT_V2, play_script
from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher

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
    ap.add_argument("--v2", nargs=2, metavar=("TEACHER", "BFM"), help="version 2's teacher and BFM files")
    ap.add_argument("--v1", nargs=2, metavar=("TEACHER", "BFM"), help="version 1's (default: the shipped files)")
    args = ap.parse_args()
    for p in (args.v2 or []) + (args.v1 or []):
        if not Path(p).is_file():
            ap.error(f"no file at {p}")
    OUT.mkdir(parents=True, exist_ok=True)
    t0, rows = time.time(), {}
    commit = git_commit()

    if args.only_compare:
        rows = {k: v for k, v in json.loads((OUT / "videos.json").read_text())["videos"].items()
                if k != "compare-direction"}
    else:
        rows = render_all(rows, args.seed)
    compare(rows, args.seed)
    if args.v2:
        versions(rows, *args.v2, *(args.v1 or (SHIPPED_TEACHER, SHIPPED_BFM)))
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


def versions(rows: dict, teacher_v2: str, bfm_v2: str, teacher_v1, bfm_v1, seconds: float | None = None) -> None:
    """Version 1 (left) beside version 2 (right), the teacher and the BFM, on goal set 2's scripts
    (``seconds``: their lengths unless given)."""
    for name, v1, v2 in (("teacher", play_script(load_teacher(teacher_v1), seconds, script=DEMO_SCRIPT_V2, title="teacher v1"),
                                      play_script(load_teacher(teacher_v2), seconds, title="teacher v2")),
                         ("bfm", play(load_bfm(bfm_v1), DEMO_PROMPTS_V2, seconds, title="BFM v1 (frozen, prompted)"),
                                 play(load_bfm(bfm_v2), DEMO_PROMPTS_V2, seconds, title="BFM v2 (frozen, prompted)"))):
        if (v1.humanoid_version, v2.humanoid_version) != (1, 2):
            raise SystemExit(f"the {name} files are humanoid versions {v1.humanoid_version} and {v2.humanoid_version}, "
                             "not 1 and 2")
        frames = side_by_side([render_rollout(v1, 480, 270), render_rollout(v2, 480, 270)])
        key = f"{name}-v1-vs-v2"
        rows[key] = {"video": str(write_video(frames, VIDEOS / f"{key}.mp4", v2.fps)), "still": still(frames, key),
                     "shows": f"the {name}, version 1 (left) beside version 2 (right), on goal set 2's demo script",
                     "files": [portable_path(str(p)) for p in ((teacher_v1, teacher_v2) if name == "teacher" else (bfm_v1, bfm_v2))],
                     "seconds": round(len(frames) / v2.fps, 1)}
        print(key, "written", flush=True)


if __name__ == "__main__":
    sys.exit(run_main(main))
