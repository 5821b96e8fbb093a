"""Reach prompt with and without a memory, imitated by the token -> results/tasktokens/reach_memory.json.

    python experiments/tasktokens_reach_memory.py [--seeds 0 1 2 3] [--episodes 512] [--iterations 40]

Near the point, version 2 of the Reach prompt held the facing it had commanded when the point was
last farther than ``turn_radius``: a state from an earlier step, which a task token (it sees
only the current observation) may fail to imitate in the warm start (online DAgger toward the
prompted BFM).
Version 3 (``ReachTask.facing_command``) turns the heading ``near_gain`` of the way toward the
point instead, a function of the state. For each rule, on the shipped BFM: the prompt's success
alone, and per seed the token alone right after the warm start (no PPO), with the final
imitation loss. Everything else (walking, hand target, crouch) is the same in both.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from frozenfit.bfm.policy import load_bfm
from frozenfit.common.results import write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.observations import NUM_JOINTS, root_heading
from frozenfit.tasktokens import tasks as task_registry
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.tasktokens.evaluate import TaskEvalConfig, evaluate_actor
from frozenfit.tasktokens.policies import PromptOnlyActor
from frozenfit.tasktokens.tasks.reach import ReachConfig, ReachTask
from frozenfit.tasktokens.policies import build_actor
from frozenfit.tasktokens.warm_start import WARM_ENVS, WARM_HORIZON, warm_start

OUT = Path(__file__).resolve().parents[1] / "results" / "tasktokens" / "reach_memory.json"


class HeldFacingReach(ReachTask):
    """Version 2's prompt: near the point, the facing command keeps its last far-away value."""

    version = 2

    def __init__(self, num_envs: int, cfg: ReachConfig | None = None):
        super().__init__(num_envs, cfg)
        self.held_facing = torch.zeros(num_envs)

    def new_targets(self, env, idx: torch.Tensor, fresh: bool) -> None:
        super().new_targets(env, idx, fresh)
        if fresh:
            self.held_facing[idx] = root_heading(env.frame)[idx]

    def facing_command(self, yaw: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
        far = rel[:, :2].norm(dim=-1) > self.cfg.turn_radius
        bearing = yaw + torch.atan2(rel[:, 1], rel[:, 0])
        self.held_facing = torch.where(far, bearing + self.cfg.face_left, self.held_facing)
        return self.held_facing


@contextmanager
def reach_rule(cls: type[ReachTask]):
    """Every Reach task built inside (warm start, evaluation) is a ``cls``."""
    saved = task_registry.TASKS["reach"]
    task_registry.TASKS["reach"] = (cls, ReachConfig)
    try:
        yield
    finally:
        task_registry.TASKS["reach"] = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--episodes", type=int, default=512)
    ap.add_argument("--iterations", type=int, default=40, help="warm-start DAgger iterations (the sweep's)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    bfm = load_bfm()
    layout = ObsLayout(bfm.history_len, ReachTask.obs_dim)
    ev = TaskEvalConfig(episodes=a.episodes)
    rules = {}
    for name, cls in (("held_v2", HeldFacingReach), ("state_v3", ReachTask)):
        with reach_rule(cls):
            prompt = evaluate_actor(PromptOnlyActor(bfm, layout), "reach", True, bfm.cfg.history_offsets, ev)
            seeds = []
            for seed in a.seeds:
                torch.manual_seed(seed)
                actor = build_actor("task_tokens", bfm, layout, NUM_JOINTS)
                losses = warm_start(actor, "reach", a.iterations, seed=seed)
                r = evaluate_actor(actor, "reach", False, bfm.cfg.history_offsets, ev)
                seeds.append({"seed": seed, "final_imitation_loss": round(losses[-1], 5),
                              "token_alone_success": r["success"]})
                print(name, seeds[-1], flush=True)
        rules[name] = {"prompt_only_success": prompt["success"], "after_warm_start": seeds,
                       "token_alone_mean": sum(s["token_alone_success"] for s in seeds) / len(seeds)}
        print(name, "prompt only", prompt["success"], flush=True)
    payload = {"episodes": a.episodes, "warm_start_iterations": a.iterations,
               "warm_start_env_steps": a.iterations * WARM_ENVS * WARM_HORIZON,
               "near_gain": ReachConfig().near_gain, "rules": rules}
    write_result(OUT, payload, wall_s=time.perf_counter() - t0)
    print(payload)


if __name__ == "__main__":
    sys.exit(run_main(main))
