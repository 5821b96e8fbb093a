"""Why a cold task token does not learn Direction here, and what the warm start does ->
results/tasktokens/warm_start.json.

    python experiments/tasktokens_warm_start.py [--iterations 40] [--episodes 256]

Measures, on the shipped BFM:
- the BFM's speed with no token, with random tokens, and with a velocity prompt's own token fed as
  the extra token (the solution exists in token space);
- Direction success of the untrained (zero-initialised) token and after the warm start, with its
  env steps and wall time;
- the learning-curve evaluations of the exploratory cold-start PPO runs, read from their logs
  when present (``--cold-logs``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import torch

from frozenfit.bfm.policy import load_bfm
from frozenfit.bfm.prompt import BFMController
from frozenfit.bfm.tokens import PROMPT_SLICES
from frozenfit.common.results import write_result
from frozenfit.common.script import run_main
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.tasktokens.evaluate import TaskEvalConfig, evaluate_actor
from frozenfit.tasktokens.policies import TaskTokenActor
from frozenfit.tasktokens.tasks import make_task
from frozenfit.tasktokens.warm_start import WARM_ENVS, WARM_HORIZON, warm_start

OUT = Path(__file__).resolve().parents[1] / "results" / "tasktokens"


@torch.no_grad()
def mean_speed(bfm, token_fn, n: int = 64, steps: int = 150) -> float:
    """Mean planar pelvis speed (m/s) of ``n`` unprompted humanoids over ``steps`` control steps."""
    ctl = BFMController(bfm, n, seed=2)
    start = ctl.env.frame.body_pos[:, 0, :2].clone()
    for _ in range(steps):
        ctl.step(extra_tokens=token_fn(ctl))
    speed = ((ctl.env.frame.body_pos[:, 0, :2] - start) / (steps * ctl.env.dt)).norm(dim=-1).mean()
    ctl.close()
    return float(speed)


def velocity_token(bfm, ctl, command=(1.5, 0.0)) -> torch.Tensor:
    goal = ctl.inputs().goal.clone()
    goal[:, PROMPT_SLICES["velocity"]] = torch.tensor(command)   # heading frame: straight ahead
    return bfm.tokenizers["velocity"](goal[:, PROMPT_SLICES["velocity"]]) + bfm.type_embed["velocity"]


def cold_logs(paths: list[str]) -> list[dict]:
    out = []
    for p in paths:
        if not Path(p).exists():
            continue
        rows = list(csv.DictReader(open(p)))
        out.append({"log": p, "env_steps": int(rows[-1]["step"]),
                    "max_mean_step_reward": max(float(r["reward/direction"]) for r in rows),
                    "eval_success": [[int(r["step"]), float(r["eval/success"])] for r in rows if r.get("eval/success")]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--episodes", type=int, default=256)
    ap.add_argument("--cold-logs", nargs="*", default=["runs/tt_dir_a/log.csv", "runs/tt_dir_b/log.csv"])
    a = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    bfm = load_bfm()
    gen = torch.Generator().manual_seed(0)
    probe = {"no_token": mean_speed(bfm, lambda c: None),
             "velocity_prompt_token_1.5mps": mean_speed(bfm, lambda c: velocity_token(bfm, c))}
    for scale in (1.0, 10.0):
        z = torch.randn(64, bfm.cfg.width, generator=gen) * scale
        probe[f"random_token_scale_{scale:g}"] = mean_speed(bfm, lambda c, z=z: z)

    actor = TaskTokenActor(bfm, ObsLayout(bfm.history_len, make_task("direction", 1).obs_dim))
    ev = TaskEvalConfig(episodes=a.episodes, batch=a.episodes)
    cold = evaluate_actor(actor, "direction", False, bfm.cfg.history_offsets, ev)
    t1 = time.perf_counter()
    losses = warm_start(actor, "direction", a.iterations)
    warm_wall = time.perf_counter() - t1
    warm = evaluate_actor(actor, "direction", False, bfm.cfg.history_offsets, ev)
    payload = {"task": "direction", "speed_probe_mps": probe,
               "untrained_token": {"success": cold["success"], "episodes": cold["episodes"]},
               "warm_start": {"iterations": a.iterations, "env_steps": a.iterations * WARM_ENVS * WARM_HORIZON,
                              "train_wall_s": round(warm_wall, 1), "loss_first": losses[0], "loss_last": losses[-1],
                              "success": warm["success"], "fall_rate": warm["fall_rate"], "episodes": warm["episodes"]},
               "cold_start_ppo_runs": {"runs": cold_logs(a.cold_logs),
                                       "note": "exploratory runs trained at commit 2296bac with the default "
                                               "TaskTokensConfig (log std -2.9, then -2.0), no prompt"}}
    write_result(OUT / "warm_start.json", payload, wall_s=time.perf_counter() - t0)
    print(payload)


if __name__ == "__main__":
    sys.exit(run_main(main))
