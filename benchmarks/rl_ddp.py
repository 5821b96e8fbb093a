"""Data-parallel PPO: one update's equivalence and env-step throughput against the process count
-> results/rl/ddp.json (+ ddp.png).

Equivalence: tests/rl/ddp_update_worker.py runs one PPO update (normalisers, 2 epochs) on a fixed
global batch split over 2 torchrun processes, against the single process on the whole batch; the
figure is the largest absolute difference of any parameter or statistic. Scaling: a cold-start
Direction Task Tokens run (512 environments in all, no learning-curve evaluations) with 1 process
(all cores' threads) and with P processes under torchrun (the cores split among them), timed on
its own training-loop rate (the PPO log's env_steps_per_s after the first iteration), ROUNDS
interleaved rounds (1, 2, 1, 2, ...), the median per process count (``rounds`` keeps every
round's). Run it on an otherwise idle machine.

    python benchmarks/rl_ddp.py [--procs 1 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from frozenfit.common.script import run_main

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "rl"


def equivalence(work: Path) -> float:
    sys.path.insert(0, str(ROOT / "tests" / "rl"))   # the worker is shared with the test
    from ddp_update_worker import one_update
    from safetensors.torch import load_file

    from frozenfit.common.distributed import Shard
    out = work / "ddp.safetensors"
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                    str(ROOT / "tests" / "rl" / "ddp_update_worker.py"), str(out)], check=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True)
    ddp, single = load_file(str(out)), one_update(Shard())
    return max(float((ddp[k].double() - single[k].double()).abs().max()) for k in single)


def rate(procs: int, steps: int, work: Path, tag: str = "") -> float:
    run = work / f"p{procs}{tag}"
    args = ["tasktokens", "train", "--task", "direction", "--ppo.total-env-steps", str(steps), "--eval-every", "0",
            "--no-progress", "--run-dir", str(run), "--env.num-envs", "512"]
    cores = os.cpu_count() or 1
    if procs == 1:
        cmd = [sys.executable, "-m", "frozenfit.cli", *args, "--torch-threads", str(cores), "--env.nthread", str(cores)]
    else:   # cores split over the processes (train.py divides the thread counts by the world size)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}",
               "-m", "frozenfit.cli", *args, "--torch-threads", str(cores), "--env.nthread", str(cores)]
    subprocess.run(cmd, check=True, capture_output=True, env={k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"})
    rows = list(csv.DictReader((run / "log.csv").open()))
    rates = [float(r["env_steps_per_s"]) for r in rows[1:] if r.get("env_steps_per_s")]
    return sum(rates) / len(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=81920, help="env steps per timed run")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (the median is recorded)")
    a = ap.parse_args()
    if a.steps <= 0 or a.rounds <= 0 or any(p <= 0 for p in a.procs):
        ap.error("--steps, --rounds and --procs must be positive")
    from frozenfit.common.results import save_figure, write_result
    t0 = time.time()
    work = Path(tempfile.mkdtemp(prefix="ddp-"))
    try:
        diff = equivalence(work)
        print(f"equivalence: max abs diff {diff:.2e}", flush=True)
        rounds: dict[str, list[float]] = {str(p): [] for p in a.procs}
        for k in range(a.rounds):
            for p in a.procs:
                rounds[str(p)].append(round(rate(p, a.steps, work, f"-r{k}"), 1))
                print(f"round {k}: {p} process(es): {rounds[str(p)][-1]:.0f} env steps/s", flush=True)
        scaling = {p: statistics.median(v) for p, v in rounds.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(list(scaling), list(scaling.values()), color="tab:blue")
    ax.set(xlabel="processes (torchrun, gloo)", ylabel="env steps/s (training loop)",
           title=f"Task Tokens PPO on {os.cpu_count()} cores")
    save_figure(fig, OUT / "ddp.png")
    write_result(OUT / "ddp.json", {"equivalence_max_abs_diff": diff, "scaling": scaling, "rounds": rounds, "steps_per_run": a.steps,
                                    "task": "direction", "num_envs": 512, "cores": os.cpu_count()},
                 wall_s=time.time() - t0)


if __name__ == "__main__":
    sys.exit(run_main(main))
