"""Short pilots of teacher v2's recipe, to choose its motion prior before the long run ->
results/teacher/v2_pilots.json (+ v2_pilots.png).

Each pilot is `frozenfit teacher train-v2` with the overrides below (512 environments and one
thread each, so that two pilots share the 2 cores), trained to STEPS env steps in resumable chunks
under runs/teacher-v2-pilot<NAME>/. The record keeps, per pilot, its command and a curve every
~250 k env steps: the goal and style rewards per step, the episode length and fall rate, the
discriminator's mean scores of mocap and policy windows (its logits for 'bce') and the curriculum's
top speed. What decides between priors is whether the style reward recovers once the policy stops
falling, while the goal reward keeps rising.

    python experiments/teacher_v2_pilots.py [--pilots C D] [--steps 6000000] [--collect-only]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from frozenfit.common.checkpoint import load_checkpoint
from frozenfit.common.logging import read_csv_log
from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "teacher"
STEPS = 6_000_000
COMMON = ["--env.num-envs", "512", "--env.nthread", "1", "--torch-threads", "1", "--no-progress"]
PILOTS: dict[str, tuple[str, list[str]]] = {   # name -> (what it tries, overrides of the v2 recipe)
    "C": ("least-squares discriminator with the implementation's L2 terms and replay",
          ["--amp-cfg.loss", "lsgan", "--amp-cfg.reward-scale", "1.0", "--amp-cfg.style-max-offset", "180"]),
    "D": ("logistic discriminator, reward -log(1 - sigmoid(D)) x 2, L2 terms and replay",
          ["--amp-cfg.loss", "bce", "--amp-cfg.reward-scale", "2.0", "--amp-cfg.style-max-offset", "180"]),
}
KEYS = {"goal": "reward/goal", "style": "reward/style", "episode_length": "episode/length",
        "fall_rate": "episode/fall_rate", "d_mocap": "amp/d_mocap", "d_policy": "amp/d_policy",
        "max_speed": "curriculum/max_speed"}
EVERY = 250_000


def run_dir(name: str) -> Path:
    return ROOT / "runs" / f"teacher-v2-pilot{name}"


def command(name: str, steps: int) -> list[str]:
    return ["frozenfit", "teacher", "train-v2", "--run-dir", f"runs/teacher-v2-pilot{name}",
            "--ppo.total-env-steps", str(steps), *COMMON, *PILOTS[name][1]]


def train(name: str, steps: int) -> None:
    """Train (or resume) a pilot to ``steps``; refuses a run directory trained with other settings."""
    ckpt = run_dir(name) / "checkpoint.safetensors"
    cmd = command(name, steps) + (["--resume"] if ckpt.exists() else [])
    if ckpt.exists() and load_checkpoint(ckpt).state["global_step"] >= steps:
        return
    exe = Path(sys.executable).with_name("frozenfit")
    subprocess.run([str(exe), *cmd[1:]], cwd=ROOT, check=True)


def curve(name: str, upto: int | None = None) -> list[dict[str, float]]:
    """The pilot's log up to ``upto`` env steps (its checkpoint's), thinned to a point every
    ~EVERY env steps and its last row (a replayed step keeps its last row)."""
    return log_curve(run_dir(name) / "log.csv", upto, EVERY, KEYS)


def log_curve(log: Path, upto: int | None, every: int, keys: dict[str, str]) -> list[dict[str, float]]:
    """A training log.csv up to ``upto`` env steps, thinned to a point every ~``every`` env steps and
    its last row, each point {"step", name: value for name, column in ``keys``}."""
    rows = {}
    for r in read_csv_log(log):
        if upto is None or r["step"] <= upto:
            rows[int(r["step"])] = r
    out, next_at = [], 0
    steps = sorted(rows)
    for step in steps:
        if step >= next_at or step == steps[-1]:        # the last row too: where the pilot stands
            r = rows[step]
            out.append({"step": step, **{k: round(r[c], 4) for k, c in keys.items() if c in r}})
            next_at = step + every
    return out


def plot(payload: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("goal", "goal reward / step"), ("style", "style reward / step"), ("fall_rate", "episodes ending in a fall"),
              ("d_policy", "D(policy windows)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (key, label) in zip(axes, panels):
        for name, p in payload["pilots"].items():
            pts = [(c["step"] / 1e6, c[key]) for c in p["curve"] if key in c]
            if pts:
                ax.plot(*zip(*pts), label=f"{name}: {p['tries'].split(' discriminator')[0]}")
        ax.set(xlabel="env steps (M)", title=label)
    axes[0].legend(fontsize=7)
    fig.suptitle("Teacher v2 pilots (512 envs, one thread each)")
    save_figure(fig, OUT / "v2_pilots.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pilots", nargs="+", default=list(PILOTS), choices=list(PILOTS))
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--collect-only", action="store_true", help="record the pilots' logs as they are; train nothing")
    a = ap.parse_args()
    if a.steps <= 0:
        ap.error("--steps must be positive")
    t0 = time.time()
    pilots = {}
    for name in a.pilots:
        if not a.collect_only:
            train(name, a.steps)
        if not (run_dir(name) / "log.csv").exists():
            print(f"pilot {name}: no log under {run_dir(name)}; run without --collect-only")
            continue
        ckpt = run_dir(name) / "checkpoint.safetensors"
        done = int(load_checkpoint(ckpt).state["global_step"]) if ckpt.exists() else 0
        pilots[name] = {"tries": PILOTS[name][0], "command": " ".join(command(name, a.steps)), "steps": done,
                        "budget": a.steps, "curve": curve(name, done or None)}
    write_result(OUT / "v2_pilots.json", {"pilots": pilots, "curve_every_env_steps": EVERY}, wall_s=time.time() - t0)
    plot({"pilots": pilots})


if __name__ == "__main__":
    sys.exit(run_main(main))
