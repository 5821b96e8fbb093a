"""How far can a prompted BFM go on each task? The teacher's own success on the hand-made prompts.

    python experiments/tasktokens_ceiling.py [--teacher frozenfit/assets/teacher.safetensors ...]
                                             [--tasks direction steering ...] [--episodes 512]

The prompt priors ask the BFM for what the teacher was trained to do (velocity, facing, hand
targets), and the BFM imitates that teacher; so the teacher, given the same prompts as its full
goal, is what a prompt can at best achieve (a prompt token the prior hides gives the teacher its
default, as in distillation: stand, do not turn, no body target). Each task is run in the paper's protocol
(deterministic, 300-step episodes) with the teacher acting on the prior's goal. For Steering the
successes are split by the largest facing offset from the travel direction an episode asks for
(at most 45 deg, or more), since that is where strict success is lost; for Reach by whether an
episode has a target below 0.6 m (lower than the teacher's crouched right hand was trained to go).
Writes results/tasktokens/ceiling.json (one entry per teacher file, keyed by its training steps;
entries of teachers and tasks not run this time are kept, each with the commit it was measured at).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from frozenfit.bfm.policy import load_bfm
from frozenfit.bfm.tokens import PROMPT_SLICES, PROMPTS
from frozenfit.common.results import git_commit, write_result
from frozenfit.humanoid.env import EnvConfig
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.tasktokens.env import ObsLayout, make_env
from frozenfit.tasktokens.tasks import ReachConfig, make_task
from frozenfit.teacher.goals import GOAL_OBS_DIM
from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher

REACH_LOW = 0.6  # m: below the lowest point the teacher's right hand was trained to reach (crouched)
OUT = Path(__file__).resolve().parents[1] / "results" / "tasktokens"


def teacher_goal(obs: torch.Tensor, layout: ObsLayout, goal: slice) -> torch.Tensor:
    """The prior's goal as the BFM reads it: a hidden prompt token means its default (no velocity:
    stand; no facing: do not turn; no body token: no body target), as in distillation."""
    g = obs[:, goal].clone()
    vis = obs[:, layout.slice("visible")] > 0.5
    for name, default in (("velocity", 0.0), ("body", 0.0)):
        sl = PROMPT_SLICES[name]
        g[:, sl] = torch.where(vis[:, PROMPTS.index(name), None], g[:, sl], torch.full_like(g[:, sl], default))
    face = PROMPT_SLICES["facing"]
    g[:, face] = torch.where(vis[:, PROMPTS.index("facing"), None], g[:, face], torch.tensor([1.0, 0.0]))
    return g


@torch.no_grad()
def run_task(teacher, task_name: str, history_offsets: tuple[int, ...], episodes: int, steps: int = 300,
             seed: int = 10_000, cfg=None) -> dict:
    """Success of the teacher acting on the task's prior goal, over ``episodes`` episodes."""
    task = make_task(task_name, episodes, cfg)
    task.eval_mode = True
    layout = ObsLayout(len(history_offsets), task.obs_dim)
    env, _ = make_env(task, EnvConfig(num_envs=episodes, episode_seconds=1e6, nthread=2, seed=seed),
                      history_offsets, True)
    goal = slice(layout.slice("goal").start, layout.slice("goal").start + GOAL_OBS_DIM)
    obs = env.reset()
    max_offset = torch.zeros(episodes)
    lowest = torch.full((episodes,), float("inf"))
    try:
        for _ in range(steps):
            obs = env.step(teacher.act(torch.cat([obs[:, layout.slice("state")], teacher_goal(obs, layout, goal)], 1))).obs
            if task_name == "steering":
                offset = wrap_angle(task.face_yaw - task.dir_yaw).abs() * (task.speed > 0)
                max_offset = torch.maximum(max_offset, offset)
            if task_name == "reach":
                lowest = torch.minimum(lowest, task.target[:, 2])
    finally:
        env.close()
    out = {"success": 100.0 * float(task.success.float().mean()), "episodes": episodes}
    if task_name == "steering":
        out.update(_split(task.success, max_offset > math.radians(45), "offset_le_45deg", "offset_gt_45deg"))
    if task_name == "reach":
        out.update(_split(task.success, lowest < REACH_LOW, f"targets_ge_{REACH_LOW}m", f"a_target_below_{REACH_LOW}m"))
    return out


def _split(success: torch.Tensor, flag: torch.Tensor, off_name: str, on_name: str) -> dict:
    """Episodes and success % of the episodes without and with ``flag``."""
    return {name: {"episodes": int(sel.sum()),
                   "success": 100.0 * float(success[sel].float().mean()) if sel.any() else None}
            for name, sel in ((off_name, ~flag), (on_name, flag))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", nargs="+", default=[str(SHIPPED_TEACHER)])
    ap.add_argument("--tasks", nargs="+", default=["direction", "steering", "path_follow", "reach", "strike"])
    ap.add_argument("--episodes", type=int, default=512)
    a = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    offsets = tuple(load_bfm().cfg.history_offsets)
    out = OUT / "ceiling.json"
    commit = git_commit()  # per entry: a file merged over several runs still says where each came from
    # entries for other teachers / tasks are kept, so a run may cover only some of them
    teachers = json.loads(out.read_text())["teachers"] if out.exists() else {}
    for path in a.teacher:
        teacher = load_teacher(path)
        steps = int(teacher.meta["global_step"])
        res = teachers.get(f"{steps / 1e6:.1f}M", {}).get("tasks", {})
        for task in a.tasks:
            res[task] = {**run_task(teacher, task, offsets, a.episodes), "commit": commit}
            print(f"teacher {steps / 1e6:.1f}M steps, {task}: {res[task]}", flush=True)
            if task == "reach":  # our default range is scaled down; this measures why
                res["reach_paper_range"] = {**run_task(teacher, task, offsets, a.episodes, cfg=ReachConfig.paper()),
                                            "commit": commit}
                print(f"teacher {steps / 1e6:.1f}M steps, reach (paper range): {res['reach_paper_range']}")
        teachers[f"{steps / 1e6:.1f}M"] = {"file": path, "env_steps": steps, "tasks": res}
    write_result(out, {"teachers": teachers}, wall_s=time.perf_counter() - t0)


if __name__ == "__main__":
    main()
