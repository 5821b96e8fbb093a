"""Where teacher v2's long run stands -> results/teacher/v2_training.json (+ v2_training.png).

The run is `frozenfit teacher train-v2 --run-dir runs/teacher-v2` (300 M env steps by default; its
checkpoint and log are committed at session ends so that another machine resumes it with
--resume). This records what its checkpoint holds: the env steps done, the budget, the training
wall time (summed over every resumed chunk), the whole training config, and a curve every ~1 M
env steps of the log up to the checkpoint: goal and style rewards per step, episode length and fall
rate, the discriminator's scores, the curriculum's top speed and the throughput. ``--train``
resumes (or starts) the run first, with ``--threads`` for physics and torch (the budget stays the
recipe's: PPO's learning-rate decay is laid over it).

    python experiments/teacher_v2_training.py [--train [--threads 2]]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from frozenfit.common.checkpoint import load_checkpoint
from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main

from teacher_v2_pilots import KEYS, log_curve   # experiments/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "teacher"
RUN = Path("runs/teacher-v2")
EVERY = 1_000_000
CURVE_KEYS = {**KEYS, "env_steps_per_s": "env_steps_per_s"}


def train(threads: int) -> None:
    """Start or resume the run."""
    ckpt = ROOT / RUN / "checkpoint.safetensors"
    cmd = [str(Path(sys.executable).with_name("frozenfit")), "teacher", "train-v2", "--run-dir", str(RUN),
           "--env.nthread", str(threads), "--torch-threads", str(threads), "--no-progress"]
    subprocess.run(cmd + (["--resume"] if ckpt.exists() else []), cwd=ROOT, check=True)


def record() -> dict | None:
    ckpt = ROOT / RUN / "checkpoint.safetensors"
    if not ckpt.exists():
        return None
    c = load_checkpoint(ckpt)
    steps = int(c.state["global_step"])
    return {"run_dir": str(RUN), "steps": steps, "budget": int(c.config["ppo"]["total_env_steps"]),
            "train_wall_s": round(float(c.state["wall_s"]), 1), "config": c.config,
            "curve_every_env_steps": EVERY,
            "curve": log_curve(ROOT / RUN / "log.csv", steps, EVERY, CURVE_KEYS)}


def plot(rec: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("goal", "goal reward / step"), ("style", "style reward / step"),
              ("fall_rate", "episodes ending in a fall"), ("max_speed", "curriculum top speed (m/s)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (key, label) in zip(axes, panels):
        pts = [(p["step"] / 1e6, p[key]) for p in rec["curve"] if key in p]
        if pts:
            ax.plot(*zip(*pts))
        ax.set(xlabel="env steps (M)", title=label)
    fig.suptitle(f"Teacher v2: {rec['steps'] / 1e6:.1f} M of {rec['budget'] / 1e6:.0f} M env steps")
    save_figure(fig, OUT / "v2_training.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="store_true", help="start or resume the run before recording it")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.threads <= 0:
        ap.error("--threads must be positive")
    t0 = time.time()
    if a.train:
        train(a.threads)
    rec = record()
    if rec is None:
        raise SystemExit(f"no checkpoint under {RUN}: run with --train first")
    write_result(OUT / "v2_training.json", rec, wall_s=time.time() - t0)
    plot(rec)
    print(f"teacher v2: {rec['steps']:,} of {rec['budget']:,} env steps, {rec['train_wall_s'] / 3600:.1f} h of training")


if __name__ == "__main__":
    sys.exit(run_main(main))
