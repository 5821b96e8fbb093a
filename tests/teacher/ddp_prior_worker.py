"""Under torchrun: two discriminator steps on each rank's own policy windows, and one curriculum
decision on each rank's own velocity scores. Run by test_amp.py as
`torchrun --nproc-per-node 2 ddp_prior_worker.py OUT`; every rank writes OUT.<rank>."""

from __future__ import annotations

import sys

import torch
from safetensors.torch import save_file

from frozenfit.common.distributed import init_from_env
from frozenfit.teacher.amp import AMPConfig, AMPPrior, MotionLibrary
from frozenfit.teacher.goals import GoalConfig, GoalTask

if __name__ == "__main__":
    shard = init_from_env()
    torch.manual_seed(1000 * shard.rank)            # as build(): the ranks' initial weights differ
    lib = MotionLibrary(["walk"], window=4, version=1, seconds=2.0)
    prior = AMPPrior(lib, AMPConfig(window=4, hidden=(32,), batch=16, replay=0), seed=0, shard=shard)
    start = {f"start.{k}": v.detach().clone() for k, v in prior.disc.state_dict().items()}
    mine = lib.sample_windows(64, torch.Generator().manual_seed(7 + shard.rank)) + 0.3 * (shard.rank + 1)
    prior.update(mine, steps=2)
    task = GoalTask(GoalConfig(curriculum_patience=1), 4, shard=shard)
    # rank 0 tracks well and rank 1 badly: each alone would decide differently
    task._vel_score_sum, task._vel_score_n = (3.6, 4) if shard.rank == 0 else (0.4, 4)
    score = task.update_curriculum()
    out = {**start, **{f"end.{k}": v.detach().clone() for k, v in prior.disc.state_dict().items()},
           "score": torch.tensor(score), "max_speed": torch.tensor(task.cur_max_speed),
           "gen": prior.gen.get_state()}
    save_file({k: v.contiguous() for k, v in out.items()}, f"{sys.argv[1]}.{shard.rank}")
