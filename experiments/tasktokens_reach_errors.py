"""Where Reach fails -> results/tasktokens/reach_errors.json.

    python experiments/tasktokens_reach_errors.py [--episodes 512] [--method prompt_only]

Runs Reach in the paper's protocol (deterministic, 300-step episodes) with the shipped BFM and the
task's hand-made prompt (``prompt_only``) or the shipped Task Tokens policy (``shipped``), and
measures the right hand's distance to its target on every frame after the 60-step grace period
of each target: the median, and the share of frames beyond the 0.2 m success radius, overall and
by target height. Success needs *every* such frame within 0.2 m.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from frozenfit.bfm.policy import load_bfm
from frozenfit.common.results import write_result
from frozenfit.common.script import run_main
from frozenfit.tasktokens.artifact import shipped_policy
from frozenfit.tasktokens.evaluate import probe_setup

OUT = Path(__file__).resolve().parents[1] / "results" / "tasktokens" / "reach_errors.json"
HEIGHT_BINS = (0.6, 0.9, 1.2, 1.45, 1.6)   # m, target height


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=512)
    ap.add_argument("--method", choices=("prompt_only", "shipped"), default="prompt_only")
    a = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    bfm = load_bfm()
    policy = shipped_policy("reach") if a.method == "shipped" else None
    task, env, actor = probe_setup("reach", a.episodes, bfm, policy)
    errors, heights, judged = [], [], []
    try:
        obs = env.reset()
        for _ in range(300):
            obs = env.step(actor(obs)).obs
            errors.append(task.hand_error(env))
            heights.append(task.target[:, 2].clone())
            judged.append(~task.in_grace())
    finally:
        env.close()
    err, z, m = torch.stack(errors), torch.stack(heights), torch.stack(judged)

    def stats(sel: torch.Tensor) -> dict:
        e = err[sel]
        return {"frames": int(sel.sum()), "median_error_m": round(float(e.median()), 4),
                "frames_beyond_radius": round(float((e > task.cfg.success_radius).float().mean()), 4)}

    by_height = {f"{lo}-{hi}": stats(m & (z >= lo) & (z < hi)) for lo, hi in zip(HEIGHT_BINS[:-1], HEIGHT_BINS[1:])}
    payload = {"method": a.method, "episodes": a.episodes, "success": 100.0 * float(task.success.float().mean()),
               "success_radius_m": task.cfg.success_radius, "all": stats(m), "by_target_height_m": by_height}
    write_result(OUT, payload, wall_s=time.perf_counter() - t0)
    print(payload)


if __name__ == "__main__":
    sys.exit(run_main(main))
