"""Teacher results -> results/teacher/: eval.json, eval_per_speed.json, learning_curve.png, teacher.gif.

    python experiments/teacher_results.py [--checkpoint frozenfit/assets/teacher.safetensors]
                                          [--log runs/teacher/log.csv]

The learning curve is drawn from the training CSV (copied, thinned, to results/teacher/train_log.csv
so the plot can be redrawn from the repository alone). ``env_steps`` and ``wall_s`` in eval.json
are the teacher's training budget; the evaluation's own are ``eval_env_steps`` / ``eval_wall_s``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from frozenfit.common.logging import curve_rows
from frozenfit.common.results import current_command, save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.render import render_rollout, write_video
from frozenfit.teacher.evaluate import EvalConfig, SkillEvalConfig, evaluate_skills, evaluate_teacher, play_script
from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher

OUT = Path(__file__).resolve().parents[1] / "results" / "teacher"
CURVE_KEYS = ["step", "episode/return", "episode/length", "episode/fall_rate", "reward/velocity", "reward/facing",
              "reward/hands", "curriculum/max_speed", "env_steps_per_s", "approx_kl", "action_std", "lr"]


def plot_curve(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib.pyplot as plt
    steps = [r["step"] / 1e6 for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    axes[0].plot(steps, [r.get("episode/return", float("nan")) for r in rows])
    axes[0].set_title("episode return")
    axes[1].plot(steps, [r.get("episode/fall_rate", float("nan")) for r in rows], label="fall rate")
    axes[1].plot(steps, [r.get("curriculum/max_speed", float("nan")) / 3 for r in rows], label="max command speed / 3 m/s")
    axes[1].legend()
    axes[1].set_title("falls and speed curriculum")
    for k in ("velocity", "facing", "hands"):
        axes[2].plot(steps, [r.get(f"reward/{k}", float("nan")) for r in rows], label=k)
    axes[2].legend()
    axes[2].set_title("tracking reward terms (per step)")
    for ax in axes:
        ax.set_xlabel("env steps (M)")
    save_figure(fig, path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=str(SHIPPED_TEACHER))
    ap.add_argument("--log", default="runs/teacher/log.csv")
    ap.add_argument("--episodes", type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(2)
    teacher = load_teacher(args.checkpoint)
    t0 = time.perf_counter()
    r = evaluate_teacher(teacher, EvalConfig(episodes=args.episodes), progress=False)
    per_speed = r.pop("per_speed")
    payload = {
        "velocity_error_mps": r["velocity_error_mps"], "max_speed_mps": r["max_speed_mps"],
        "facing_error_deg": r["facing_error_deg"], "hand_error_m": r["hand_error_m"],
        "fall_rate": r["fall_rate"], "episodes": r["episodes"],
        "env_steps": int(teacher.meta["global_step"]), "wall_s": round(float(teacher.meta["train_wall_s"]), 1),
        "eval_env_steps": r["env_steps"], "eval_wall_s": round(r["eval_wall_s"], 1),
        "command": current_command(),
    }
    if teacher.goal_cfg.version >= 2:     # goal set 2: reach from the floor up, jumps after a run-up
        payload["goal_set"] = teacher.goal_cfg.version
        payload["skills"] = evaluate_skills(teacher, SkillEvalConfig(episodes=min(args.episodes, 256)), progress=False)
    write_result(OUT / "eval.json", payload)
    write_result(OUT / "eval_per_speed.json", {"per_speed": per_speed}, wall_s=time.perf_counter() - t0)
    rows = curve_rows(args.log, OUT / "train_log.csv", CURVE_KEYS)
    if rows:
        plot_curve(rows, OUT / "learning_curve.png")
    rec = play_script(teacher)
    write_video(render_rollout(rec, 320, 240), OUT / "teacher.gif", rec.fps)
    print(payload)


if __name__ == "__main__":
    sys.exit(run_main(main))
