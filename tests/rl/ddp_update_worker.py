"""One PPO update on a fixed synthetic global batch; under torchrun each rank takes its slice.
Run by test_ppo.py as `torchrun --nproc-per-node 2 ddp_update_worker.py OUT` (and in-process for
the single-process reference); rank 0 writes the agent's state to OUT."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from frozenfit.common.distributed import Shard, init_from_env, split_batch
from frozenfit.rl.ppo import PPO, Agent, PPOConfig


class _NoEnv:
    num_envs = 1
    gen = torch.Generator()


def global_batch(n: int = 256, obs_dim: int = 5, act_dim: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    return {"obs": torch.randn(n, obs_dim, generator=g) * 3 + 1, "act": torch.randn(n, act_dim, generator=g),
            "logp": torch.randn(n, generator=g) - 3, "adv": torch.randn(n, generator=g) * 2 + 0.5,
            "ret": torch.randn(n, generator=g) * 4, "val": torch.randn(n, generator=g)}


def one_update(shard: Shard, rows: int | None = None) -> dict[str, torch.Tensor]:
    """Agent state after normaliser updates and one update (2 epochs, 1 minibatch) on this
    rank's slice of the global batch (its first ``rows`` rows only, when given)."""
    b = global_batch()
    b = {k: split_batch(v[:rows] if rows else v, shard) for k, v in b.items()}
    cfg = PPOConfig(num_minibatches=1, update_epochs=2, actor_hidden=(16,), critic_hidden=(16,), lr=1e-2,
                    target_kl=1e9)
    torch.manual_seed(0)
    agent = Agent(5, 3, cfg)
    agent.update_normalizers(b["obs"], shard=shard)
    agent.value_norm.update(b["ret"], shard)
    ppo = PPO(_NoEnv(), agent, cfg, "unused", shard=shard)
    ppo._update(b["obs"], None, b["act"], b["logp"], b["adv"], b["ret"], b["val"], b["obs"].shape[0])
    return {k: v.detach().clone().contiguous() for k, v in agent.state_dict().items()}


if __name__ == "__main__":
    shard = init_from_env()
    state = one_update(shard)
    if shard.is_main:
        save_file(state, str(Path(sys.argv[1])))
