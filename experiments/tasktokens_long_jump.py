"""How far the BFM's strides carry on the Long jump track -> results/tasktokens/long_jump.json.

    python experiments/tasktokens_long_jump.py [--episodes 256] [--policy runs/.../policy.safetensors]

Each measurement is stored under its method's name ("prompt_only" or the policy's path) in
``"runs"``, next to the ones already in the file.

Runs Long jump in the paper's protocol (deterministic, 300-step episodes) with the shipped BFM and
the task's run-up prompt (default) or a trained task policy, and measures per episode: whether a
jump (both feet off the ground before the line, first contact past it) landed, whether the line
was crossed on foot or the corridor left (a fault), the jump length, the longest flight (no foot
contact) anywhere in the episode, the peak pelvis height and the speed at the line. Success needs a
jump longer than 1.5 m, i.e. ~0.5 s in the air at 3 m/s: the figure that says whether the BFM's
repertoire holds a long jump at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from frozenfit.bfm.policy import load_bfm
from frozenfit.common.results import current_command, git_commit, write_result
from frozenfit.common.script import run_main
from frozenfit.tasktokens.evaluate import probe_setup

OUT = Path(__file__).resolve().parents[1] / "results" / "tasktokens" / "long_jump.json"


def quantiles(x: torch.Tensor) -> dict:
    x = x.float()
    if x.numel() == 0:
        return {"n": 0}
    q = torch.quantile(x, torch.tensor([0.5, 0.9, 0.99]))
    return {"n": int(x.numel()), "mean": round(float(x.mean()), 4), "median": round(float(q[0]), 4),
            "p90": round(float(q[1]), 4), "p99": round(float(q[2]), 4), "max": round(float(x.max()), 4)}


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=256)
    ap.add_argument("--policy", type=Path, default=None, help="a trained long_jump policy (default: the prompt)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    bfm = load_bfm()
    task, env, actor = probe_setup("long_jump", a.episodes, bfm, a.policy)
    method = str(a.policy) if a.policy is not None else "prompt_only"
    n = a.episodes
    flight, longest = torch.zeros(n), torch.zeros(n)
    peak = torch.zeros(n)
    speed_at_line = torch.full((n,), float("nan"))
    try:
        obs = env.reset()
        for _ in range(300):
            x_before = task.track(env)[:, 0]
            obs = env.step(actor(obs)).obs
            in_air = ~(env.frame.foot_touch > 1.0).any(1)
            flight = torch.where(in_air, flight + env.dt, torch.zeros_like(flight))
            longest = torch.maximum(longest, flight)
            peak = torch.maximum(peak, env.frame.body_pos[:, 0, 2])
            x = task.track(env)[:, 0]
            crossing = (x_before <= 0) & (x > 0) & torch.isnan(speed_at_line)
            speed_at_line = torch.where(crossing, env.root_planar_vel.norm(dim=-1), speed_at_line)
    finally:
        env.close()
    landed = task.landed
    reached = ~torch.isnan(speed_at_line)
    run = {"episodes": n, "success": 100.0 * float(task.success.float().mean()),
               "success_length_m": task.cfg.success_length, "run_up_m": task.cfg.run_up,
               "reached_line": round(float(reached.float().mean()), 4),
               "landed_jump": round(float(landed.float().mean()), 4),
               "fault": round(float(task.fault.float().mean()), 4),
               "jump_length_m": quantiles(task.length[landed]),
               "longest_flight_s": quantiles(longest),
               "peak_pelvis_height_m": quantiles(peak),
               "speed_at_line_mps": quantiles(speed_at_line[reached])}
    runs = json.loads(OUT.read_text()).get("runs", {}) if OUT.exists() else {}
    runs[method] = {**run, "command": current_command(), "commit": git_commit(),
                    "wall_s": round(time.perf_counter() - t0, 2)}
    payload = {"runs": runs}
    write_result(OUT, payload, wall_s=time.perf_counter() - t0)
    print(method, run)


if __name__ == "__main__":
    sys.exit(run_main(main))
