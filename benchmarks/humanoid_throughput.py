"""Raw physics control steps/s vs end-to-end PPO training env steps/s -> results/humanoid/throughput.json.

Raw: `BatchedSim.step` alone (MuJoCo rollout on all cores) with PD targets near the standing pose.
Train: the teacher recipe (`TeacherConfig` defaults) trained from scratch for a few PPO iterations,
counting everything (simulation, observations, rewards, resets, policy, GAE, update, logging).
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.sim import BatchedSim
from frozenfit.teacher.train import TeacherConfig, build, curriculum

OUT = Path(__file__).resolve().parents[1] / "results" / "humanoid"


def raw_rate(num_envs: int, nthread: int, steps: int = 60) -> float:
    sim = BatchedSim(num_envs, nthread=nthread)
    q = np.repeat(sim.nominal_qpos[None], num_envs, 0)
    sim.set_states(np.arange(num_envs), q, np.zeros((num_envs, sim.model.nv)), q[:, 7:])
    rng = np.random.default_rng(0)
    ctrl = q[:, 7:][None] + 0.1 * rng.standard_normal((steps + 5, num_envs, q.shape[1] - 7))
    for k in range(5):
        sim.step(ctrl[k])
    t = time.perf_counter()
    for k in range(steps):
        sim.step(ctrl[5 + k])
    rate = num_envs * steps / (time.perf_counter() - t)
    sim.close()
    return rate


def train_rate(iterations: int = 6) -> tuple[float, dict, int]:
    cfg = TeacherConfig(progress=False)
    run_dir = tempfile.mkdtemp(prefix="ff-throughput-")
    cfg.run_dir = run_dir
    cfg.ppo.total_env_steps = cfg.env.num_envs * cfg.ppo.num_steps * iterations
    cfg.ppo.checkpoint_every = iterations  # one checkpoint write, as a real run would
    env, agent, ppo = build(cfg)
    t = time.perf_counter()
    ppo.train(on_iteration=curriculum, progress=False)
    wall = time.perf_counter() - t
    env.close()
    shutil.rmtree(run_dir, ignore_errors=True)
    return ppo.global_step / wall, {k: round(v, 2) for k, v in ppo.timing.items()}, cfg.env.num_envs


def main() -> None:
    t0 = time.perf_counter()
    torch.set_num_threads(2)
    nthread = os.cpu_count() or 2
    n = TeacherConfig().env.num_envs
    raw = raw_rate(n, nthread)
    raw_1 = raw_rate(n, 1)
    train, timing, n = train_rate()
    payload = {"raw_control_steps_per_s": round(raw, 1), "train_env_steps_per_s": round(train, 1),
               "ratio": round(train / raw, 3), "num_envs": n,
               "raw_control_steps_per_s_one_thread": round(raw_1, 1), "physics_threads": nthread,
               "train_time_split_s": timing}
    write_result(OUT / "throughput.json", payload, wall_s=time.perf_counter() - t0)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.barh(["raw physics, 1 thread", f"raw physics, {nthread} threads", "PPO training (end to end)"],
            [raw_1, raw, train], color=["#999", "#555", "#2a7"])
    ax.set_xlabel("control steps / s")
    ax.set_title(f"humanoid throughput, {n} envs (ratio {train / raw:.2f})")
    save_figure(fig, OUT / "throughput.png")
    print(payload)


if __name__ == "__main__":
    sys.exit(run_main(main))
