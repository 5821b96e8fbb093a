"""BFM results -> results/bfm/: eval.json, eval_details.json, distill_curve.png, modalities.png, bfm.gif.

    python experiments/bfm_results.py [--checkpoint frozenfit/assets/bfm.safetensors]
                                      [--teacher frozenfit/assets/teacher.safetensors]
                                      [--log runs/bfm/log.csv] [--episodes 256]

eval.json: per modality the reward ratio (BFM / teacher) beside both policies' fall rates
(``fall_rate``, ``teacher_fall_rate``; every fall rate in %, a fall being the humanoid's one
definition); ``env_steps`` / ``wall_s`` are the distillation budget, the evaluation's own are
``eval_env_steps`` / ``eval_wall_s``. eval_details.json adds the teacher's errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from frozenfit.bfm.evaluate import BFMEvalConfig, evaluate_bfm
from frozenfit.bfm.model import count_params
from frozenfit.bfm.policy import SHIPPED_BFM, load_bfm
from frozenfit.bfm.prompt import play
from frozenfit.common.logging import curve_rows
from frozenfit.common.results import current_command, save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.render import render_rollout, write_video
from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher

OUT = Path(__file__).resolve().parents[1] / "results" / "bfm"
CURVE_KEYS = ["step", "loss/action_prior", "loss/action_posterior", "loss/kl", "kl_weight", "beta",
              "rollout/falls_per_1k_steps", "reward/velocity", "reward/facing", "reward/hands", "env_steps_per_s"]
MODALITY_KEYS = ("bfm_reward", "teacher_reward", "ratio", "error", "error_unit")


def modality_row(m: dict) -> dict:
    """eval.json's row of one modality: rewards, ratio, error and both fall rates (%)."""
    return {**{k: m[k] for k in MODALITY_KEYS}, "fall_rate": 100.0 * m["bfm_fall_rate"],
            "teacher_fall_rate": 100.0 * m["teacher_fall_rate"]}


def plot_curve(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib.pyplot as plt
    steps = [r["step"] / 1e6 for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for k in ("loss/action_prior", "loss/action_posterior"):
        axes[0].plot(steps, [r.get(k, float("nan")) for r in rows], label=k.split("/")[1])
    axes[0].set_yscale("log")
    axes[0].legend()
    axes[0].set_title("action MSE to the teacher")
    axes[1].plot(steps, [r.get("rollout/falls_per_1k_steps", float("nan")) for r in rows], label="falls / 1k steps")
    axes[1].plot(steps, [r.get("beta", float("nan")) for r in rows], label="DAgger beta (teacher acts)")
    axes[1].legend()
    axes[1].set_title("rollouts")
    for k in ("velocity", "facing", "hands"):
        axes[2].plot(steps, [r.get(f"reward/{k}", float("nan")) for r in rows], label=k)
    axes[2].legend()
    axes[2].set_title("tracking reward of the acting policy")
    for ax in axes:
        ax.set_xlabel("env steps (M)")
    save_figure(fig, path)


def plot_modalities(mods: dict, path: Path) -> None:
    import matplotlib.pyplot as plt
    names = list(mods)
    x = torch.arange(len(names)).float()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.bar(x - 0.2, [mods[n]["teacher_reward"] for n in names], 0.4, label="teacher (full goal)")
    ax.bar(x + 0.2, [mods[n]["bfm_reward"] for n in names], 0.4, label="BFM (one prompt modality)")
    for i, n in enumerate(names):
        ax.text(float(x[i]) + 0.2, mods[n]["bfm_reward"], f"{100 * mods[n]['ratio']:.0f}%", ha="center", va="bottom")
    ax.set_xticks(x.tolist(), names)
    ax.set_ylabel("goal-tracking reward / step")
    ax.legend()
    save_figure(fig, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(SHIPPED_BFM))
    ap.add_argument("--teacher", default=str(SHIPPED_TEACHER))
    ap.add_argument("--log", default="runs/bfm/log.csv")
    ap.add_argument("--episodes", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(2)
    bfm, teacher = load_bfm(args.checkpoint), load_teacher(args.teacher)
    r = evaluate_bfm(bfm, teacher, BFMEvalConfig(episodes=args.episodes))
    payload = {
        "modalities": {n: modality_row(m) for n, m in r["modalities"].items()},
        "no_prompt_fall_rate": 100.0 * r["no_prompt_fall_rate"],
        "combined": {k: 100.0 * v if k.endswith("fall_rate") else v for k, v in r["combined"].items()},
        "units": {"fall_rate": "% of episodes", "ratio": "BFM reward / teacher reward"},
        "params": count_params(bfm),
        "checkpoint_bytes": Path(args.checkpoint).stat().st_size,
        "env_steps": int(bfm.meta["env_steps"]),
        "wall_s": round(float(bfm.meta.get("train_wall_s", float("nan"))), 1),
        "eval_env_steps": r["eval_env_steps"], "eval_wall_s": round(r["eval_wall_s"], 1),
        "episodes_per_case": args.episodes,
        "teacher_env_steps": teacher.meta.get("global_step"),
        "command": current_command(),
    }
    write_result(OUT / "eval.json", payload)
    write_result(OUT / "eval_details.json", {"modalities": r["modalities"]})
    plot_modalities(r["modalities"], OUT / "modalities.png")
    rows = curve_rows(args.log, OUT / "distill_log.csv", CURVE_KEYS)
    if rows:
        plot_curve(rows, OUT / "distill_curve.png")
    rec = play(bfm)
    write_video(render_rollout(rec, 320, 240), OUT / "bfm.gif", rec.fps)
    print(payload)


if __name__ == "__main__":
    sys.exit(run_main(main))
