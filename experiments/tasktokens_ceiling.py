"""How far can a prompted BFM go on each task? The teacher's own success on the hand-made prompts.

    python experiments/tasktokens_ceiling.py [--teacher v1=frozenfit/assets/teacher.safetensors ...]
                                             [--tasks direction steering ...] [--episodes 512]

The prompt priors ask the BFM for what the teacher was trained to do (velocity, facing, hand
targets), and the BFM imitates that teacher; so the teacher, given the same prompts as its full
goal, is what a prompt can at best achieve. A prompt token the prior hides gives the teacher the
default the BFM was distilled with (frozenfit/bfm/masking.py): no velocity = stand; no facing = face
the way the velocity moves, or, standing, hold the heading anchored when the hold began (re-anchored
past 15 deg of drift: `HiddenFacing`); no body token = no body target. Each task is run in the
paper's protocol (deterministic, 300-step episodes, `eval_env`) with the teacher acting on the
prior's goal. For Steering the successes are split by the largest facing offset from the travel
direction an episode asks for (at most 45 deg, or more), since that is where strict success is lost;
for Reach by whether an episode has a target below 0.6 m (lower than the teacher's crouched right
hand was trained to go), on our range and on the paper's.
Writes results/tasktokens/ceiling.json: one entry per teacher (keyed by the name given, "v1" for
the shipped one), each task with the settings it was measured at (task config, episodes, seed,
hidden-prompt rule) and the commit; entries of teachers and tasks not run this time are kept.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

from frozenfit.bfm.masking import J, HiddenFacing, MaskingConfig
from frozenfit.bfm.policy import load_bfm
from frozenfit.bfm.tokens import PROMPT_SLICES, PROMPTS, prompt_layout
from frozenfit.common.results import git_commit, portable_path, write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.observations import root_heading
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.tasktokens.evaluate import eval_env
from frozenfit.tasktokens.tasks import TASKS, ReachConfig, StrikeConfig, make_task
from frozenfit.teacher.goals import GOAL_OBS_DIM
from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher

REACH_LOW = 0.6  # m: below the lowest point the teacher's right hand was trained to reach (crouched)
OUT = Path(__file__).resolve().parents[1] / "results" / "tasktokens"
HIDDEN_RULE = ("hidden velocity: stand; hidden facing: face the velocity's direction, or standing hold the "
               f"heading anchored at the hold's start (re-anchored past {MaskingConfig.hold_tolerance_deg:g} deg); "
               "hidden body: no body target")


def teacher_goal(obs: torch.Tensor, layout: ObsLayout, facing: HiddenFacing, heading: torch.Tensor) -> torch.Tensor:
    """The prior's goal as the BFM reads it, hidden tokens replaced by the distillation defaults, laid
    out as the teacher's goal observation (goal set 2: the jump prompt, zero when hidden, appended)."""
    prompt = obs[:, layout.slice("goal")]
    g = prompt[:, :GOAL_OBS_DIM].clone()
    vis = obs[:, layout.slice("visible")] > 0.5
    for name in ("velocity", "body"):
        sl = PROMPT_SLICES[name]
        g[:, sl] = torch.where(vis[:, PROMPTS.index(name), None], g[:, sl], torch.zeros_like(g[:, sl]))
    g = facing.fill(g, vis, heading)
    if layout.goal_version >= 2:
        jump = prompt[:, prompt_layout(layout.goal_version).slices["jump"]]
        g = torch.cat([g, jump * vis[:, J, None]], 1)
    return g


@torch.no_grad()
def run_task(teacher, task_name: str, history_offsets: tuple[int, ...], episodes: int, steps: int = 300,
             seed: int = 10_000, cfg=None) -> dict:
    """Success of the teacher acting on the task's prior goal, over ``episodes`` episodes."""
    task = make_task(task_name, episodes, cfg)
    version = teacher.goal_cfg.version           # the teacher's goal set and humanoid
    task, env = eval_env(task, episodes, history_offsets, True, seed, humanoid_version=version)
    layout = ObsLayout(len(history_offsets), task.obs_dim, version)
    facing = HiddenFacing(episodes)
    obs = env.reset()
    max_offset = torch.zeros(episodes)
    lowest = torch.full((episodes,), float("inf"))
    aborted = torch.zeros(episodes, dtype=torch.bool)
    try:
        for _ in range(steps):
            g = teacher_goal(obs, layout, facing, root_heading(env.frame))
            r = env.step(teacher.act(torch.cat([obs[:, layout.slice("state")], g], 1)))
            obs = r.obs
            aborted |= r.terminated | r.truncated
            if task_name == "steering":
                offset = wrap_angle(task.face_yaw - task.dir_yaw).abs() * (task.speed > 0)
                max_offset = torch.maximum(max_offset, offset)
            if task_name == "reach":
                lowest = torch.minimum(lowest, task.target[:, 2])
    finally:
        env.close()
    success = task.success & ~aborted
    out = {"success": 100.0 * float(success.float().mean()), "episodes": episodes, "aborted": int(aborted.sum()),
           "settings": {"task_config": task.config_dict(), "task_version": task.version, "steps": steps,
                        "seed": seed, "hidden_prompts": HIDDEN_RULE}}
    if task_name == "steering":
        out.update(_split(success, max_offset > math.radians(45), "offset_le_45deg", "offset_gt_45deg"))
    if task_name == "reach":
        out.update(_split(success, lowest < REACH_LOW, f"targets_ge_{REACH_LOW}m", f"a_target_below_{REACH_LOW}m"))
    return out


def _split(success: torch.Tensor, flag: torch.Tensor, off_name: str, on_name: str) -> dict:
    """Episodes and success % of the episodes without and with ``flag``."""
    return {name: {"episodes": int(sel.sum()),
                   "success": 100.0 * float(success[sel].float().mean()) if sel.any() else None}
            for name, sel in ((off_name, ~flag), (on_name, flag))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", nargs="+", default=[f"v1={portable_path(SHIPPED_TEACHER)}"],
                    help="NAME=FILE pairs (NAME keys the entry)")
    ap.add_argument("--tasks", nargs="+", default=[t for t in TASKS if make_task(t, 1).has_prior],
                    choices=list(TASKS))
    ap.add_argument("--episodes", type=int, default=512)
    a = ap.parse_args()
    if a.episodes <= 0:
        ap.error("--episodes must be positive")
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    offsets = tuple(load_bfm().cfg.history_offsets)
    out = OUT / "ceiling.json"
    commit = git_commit()  # per entry: a file merged over several runs still says where each came from
    # entries for other teachers / tasks are kept, so a run may cover only some of them
    teachers = json.loads(out.read_text())["teachers"] if out.exists() else {}
    for pair in a.teacher:
        name, sep, path = pair.partition("=")
        if not sep:
            ap.error(f"--teacher wants NAME=FILE, got {pair!r}")
        teacher = load_teacher(path)
        res = teachers.get(name, {}).get("tasks", {})
        for task in a.tasks:
            res[task] = {**run_task(teacher, task, offsets, a.episodes), "commit": commit}
            print(f"teacher {name}, {task}: {res[task]['success']:.1f} %", flush=True)
            if task == "reach":  # our default range is scaled down; this measures why
                res["reach_paper_range"] = {**run_task(teacher, task, offsets, a.episodes, cfg=ReachConfig.paper()),
                                            "commit": commit}
                print(f"teacher {name}, reach (paper range): {res['reach_paper_range']['success']:.1f} %")
            if task == "strike":  # the paper's J.C. prompt stops 2 m from the box; ours keeps walking into it
                res["strike_paper_prompt"] = {**run_task(teacher, task, offsets, a.episodes,
                                                         cfg=StrikeConfig(prior_radius=2.0)), "commit": commit}
                print(f"teacher {name}, strike (prompt off within 2 m): {res['strike_paper_prompt']['success']:.1f} %")
        teachers[name] = {"file": portable_path(path), "env_steps": int(teacher.meta["global_step"]), "tasks": res}
    write_result(out, {"teachers": teachers}, wall_s=time.perf_counter() - t0)


if __name__ == "__main__":
    sys.exit(run_main(main))
