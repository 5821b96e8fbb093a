"""How much slower do frozenfit's commands get when another process takes one of the cores?
-> results/ux/contention.json (+ contention.png).

Each command runs as a user would run it (a fresh `frozenfit` process, default threads): a
128-episode Direction evaluation, and a short Task Tokens training run (cold start, no
learning-curve evaluations). First on the idle machine, then next to one busy process (a
single-threaded spin loop, the kind of neighbour a laptop has); both twice, keeping the faster
time. On 2 cores losing one core can at best double a job that uses both, so a ratio near 2 is
ideal; oversubscribed threads spin-waiting on a descheduled peer give 10-30x. Run it on an
otherwise idle machine.

    python benchmarks/contention.py
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main

OUT = Path(__file__).resolve().parents[1] / "results" / "ux"
TARGET = 2.5


def _spin() -> None:
    while True:
        pass


def timed(args: list[str], env: dict) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "frozenfit.cli", *args], env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{r.stderr[-2000:]}")
    return time.perf_counter() - t


def measure(args: list[str], env: dict, repeats: int) -> dict:
    idle = min(timed(args, env) for _ in range(repeats))
    busy_proc = mp.Process(target=_spin, daemon=True)
    busy_proc.start()
    try:
        time.sleep(0.5)
        busy = min(timed(args, env) for _ in range(repeats))
    finally:
        busy_proc.terminate()
        busy_proc.join()
    return {"idle_s": round(idle, 2), "busy_s": round(busy, 2), "ratio": round(busy / idle, 2),
            "command": "frozenfit " + " ".join(args)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--train-steps", type=int, default=40960)
    a = ap.parse_args()
    if a.repeats <= 0 or a.train_steps <= 0:
        ap.error("--repeats and --train-steps must be positive")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.pop("GOMP_SPINCOUNT", None)
    t0 = time.time()
    work = Path(tempfile.mkdtemp(prefix="contention-"))
    eval_args = ["tasktokens", "eval", "--task", "direction", "--eval.episodes", "128", "--no-progress"]
    train_args = ["tasktokens", "train", "--task", "direction", "--ppo.total-env-steps", str(a.train_steps),
                  "--eval-every", "0", "--no-progress", "--run-dir", str(work / "run")]
    # before: libgomp's default spin (300,000), which frozenfit now shortens (frozenfit/__init__.py)
    before_env = {**env, "GOMP_SPINCOUNT": "300000"}
    try:
        ev = measure(eval_args, env, a.repeats)
        print("eval", ev, flush=True)
        tr = measure(train_args, env, a.repeats)
        print("train", tr, flush=True)
        before = {"eval": measure(eval_args, before_env, a.repeats), "train": measure(train_args, before_env, a.repeats),
                  "setting": "GOMP_SPINCOUNT=300000 (libgomp's default)"}
        print("before", before, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for r in (tr, before["train"]):
        r["command"] = r["command"].replace(str(work), "<tmp>")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    names = ["evaluation (128 episodes)", f"training ({a.train_steps:,} env steps)"]
    for k, (name, r, b) in enumerate(zip(names, (ev, tr), (before["eval"], before["train"]))):
        xs = [k - 0.3, k - 0.1, k + 0.1, k + 0.3]
        ax.bar(xs, [b["idle_s"], b["busy_s"], r["idle_s"], r["busy_s"]], 0.2,
               color=["lightgrey", "grey", "tab:blue", "tab:orange"],
               label=["before, idle", "before, one core busy", "now, idle", "now, one core busy"] if k == 0 else None)
        ax.text(xs[1], b["busy_s"], f"x{b['ratio']:.1f}", ha="center", va="bottom", fontsize=8)
        ax.text(xs[3], r["busy_s"], f"x{r['ratio']:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(2), names)
    ax.set_ylabel("wall time (s)")
    ax.set_title(f"Contention on {os.cpu_count()} cores (target: at most x{TARGET})")
    ax.legend(fontsize=8)
    save_figure(fig, OUT / "contention.png")
    write_result(OUT / "contention.json", {"eval": ev, "train": tr, "before": before, "target_ratio": TARGET,
                                           "cores": os.cpu_count(), "repeats": a.repeats},
                 wall_s=time.time() - t0)


if __name__ == "__main__":
    sys.exit(run_main(main))
