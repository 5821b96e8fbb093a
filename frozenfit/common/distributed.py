"""Data parallelism under ``torchrun`` (gloo on CPU, NCCL-free): the process group, batch
slices, gradient and statistics all-reduces that NeRN's fit and PPO share.

NeRN: every rank holds the full predictor and draws the same kernel subset and the same global image
batch from identically seeded generators, so ranks stay in lockstep without communicating
indices. Per step each rank
* predicts its share of the grad-free kernels and all-gathers the rest (the dominant cost on
  small images is split across ranks),
* distils on its slice of the global image batch (the CNN passes are split),
* all-reduces the predictor's gradient (one flat buffer), so the step equals the single-process
  step on the global batch: the losses are batch means, the slices are equal.
Only rank 0 writes checkpoints, artifacts and logs.

PPO (`frozenfit.rl.ppo`): every rank steps its own environments; each update's minibatch is the
union of the ranks' local minibatches, so advantage statistics, normaliser statistics, the KL
early stop and the gradients are all-reduced, and one update equals the single-process update on
the same global batch.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass, replace
from datetime import timedelta

import torch
import torch.distributed as dist

from frozenfit.errors import FrozenfitError


@dataclass(frozen=True)
class Shard:
    """This process's place in the data-parallel group (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env() -> Shard:
    """Join the process group ``torchrun`` describes in the environment (gloo), if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Shard()
    if not dist.is_initialized():
        dist.init_process_group("gloo")
        # tear the group down before the interpreter does: gloo's threads still running at exit
        # abort the process ("terminate called without an active exception")
        atexit.register(_shutdown)
    return Shard(dist.get_rank(), dist.get_world_size())


def _shutdown() -> None:
    if not dist.is_initialized():
        return
    try:   # no rank leaves while another still talks to it; a rank that died mid-run costs 60 s, not a hang
        dist.monitored_barrier(timeout=timedelta(seconds=60))
    except RuntimeError:
        pass
    dist.destroy_process_group()


def rank_env_config(env_cfg, shard: Shard):
    """This rank's share of an environment config: num_envs / world environments (the config's
    count is the global one), its own seed, and the simulation threads divided among ranks."""
    if env_cfg.num_envs % shard.world:
        raise FrozenfitError(f"--env.num-envs {env_cfg.num_envs} must be divisible by the {shard.world} processes")
    return replace(env_cfg, num_envs=env_cfg.num_envs // shard.world, seed=env_cfg.seed + 1000 * shard.rank,
                   nthread=max(1, env_cfg.nthread // shard.world))


def split_batch(x: torch.Tensor, shard: Shard) -> torch.Tensor:
    """This rank's equal slice of a global batch."""
    if shard.world == 1:
        return x
    if x.shape[0] % shard.world:
        raise FrozenfitError(f"batch of {x.shape[0]} images does not split evenly over {shard.world} ranks")
    return x.chunk(shard.world)[shard.rank]


def gather_rows(local: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Concatenate every rank's rows (rank r holds ``sizes[r]`` rows) on every rank."""
    pad = max(sizes)
    buf = local.new_zeros(pad, *local.shape[1:])
    buf[:local.shape[0]] = local
    parts = [torch.empty_like(buf) for _ in sizes]
    dist.all_gather(parts, buf)
    return torch.cat([p[:n] for p, n in zip(parts, sizes)])


def average_gradients(params: list[torch.nn.Parameter], shard: Shard) -> None:
    """Mean of every rank's gradient, through one flat all-reduce."""
    if shard.world == 1:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= shard.world
    pos = 0
    for p in params:
        n = p.numel()
        p.grad = flat[pos:pos + n].view_as(p).clone()
        pos += n


def barrier(shard: Shard) -> None:
    if shard.world > 1:
        dist.barrier()


def all_mean(values: list[float], shard: Shard) -> list[float]:
    """The mean over ranks of a few scalars (one all-reduce); unchanged on one process."""
    if shard.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return (t / shard.world).tolist()


def global_moments(x: torch.Tensor, shard: Shard) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(mean, biased variance, count) over dim 0 of the rows of every rank (float64)."""
    x = x.double()
    if shard.world == 1:
        if x.shape[0] == 0:
            return x.new_zeros(x.shape[1:]), x.new_zeros(x.shape[1:]), 0
        return x.mean(0), x.var(0, unbiased=False), x.shape[0]
    s = torch.stack([x.sum(0), (x * x).sum(0)])
    n = torch.tensor(float(x.shape[0]), dtype=torch.float64)
    dist.all_reduce(s)
    dist.all_reduce(n)
    if n == 0:
        return s[0], s[1], 0
    mean = s[0] / n
    return mean, (s[1] / n - mean * mean).clamp(min=0), int(n)


def gather_bytes(t: torch.Tensor, shard: Shard) -> list[torch.Tensor]:
    """Every rank's equally sized uint8 tensor (e.g. an RNG state), on every rank."""
    if shard.world == 1:
        return [t]
    parts = [torch.empty_like(t) for _ in range(shard.world)]
    dist.all_gather(parts, t.contiguous())
    return parts


def broadcast_params(params: list[torch.Tensor], shard: Shard) -> None:
    """Rank 0's values of ``params`` on every rank (the ranks start identical)."""
    if shard.world == 1:
        return
    for p in params:
        dist.broadcast(p.data, 0)


def random_states(gen: torch.Generator, shard: Shard) -> dict:
    """torch's and ``gen``'s (the environments') random states of every rank, for one checkpoint:
    rank 0's under the single-process keys, the others' in lists. Every rank must call it."""
    torch_rngs = gather_bytes(torch.get_rng_state(), shard)
    env_rngs = gather_bytes(gen.get_state(), shard)
    out = {"torch_rng": torch_rngs[0], "env_rng": env_rngs[0], "world": shard.world}
    if shard.world > 1:
        out.update(torch_rng_ranks=[t.clone() for t in torch_rngs[1:]], env_rng_ranks=[t.clone() for t in env_rngs[1:]])
    return out


def restore_random_states(state: dict, gen: torch.Generator, shard: Shard, path) -> None:
    """This rank's random streams from a checkpoint's ``random_states``; written by as many ranks."""
    if state.get("world", 1) != shard.world:
        raise FrozenfitError(f"{path} was written by {state.get('world', 1)} processes; resume it with as many "
                             f"(this run has {shard.world})")
    r = shard.rank
    torch.set_rng_state(state["torch_rng_ranks"][r - 1] if r else state["torch_rng"])
    gen.set_state(state["env_rng_ranks"][r - 1] if r else state["env_rng"])
