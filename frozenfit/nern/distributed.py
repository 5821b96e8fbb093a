"""Data-parallel NeRN fitting under ``torchrun`` (gloo on CPU, NCCL-free).

Every rank holds the full predictor and draws the same kernel subset and the same global image
batch from identically seeded generators, so ranks stay in lockstep without communicating
indices. Per step each rank
* predicts its share of the grad-free kernels and all-gathers the rest (the dominant cost on
  small images is split across ranks),
* distils on its slice of the global image batch (the CNN passes are split),
* all-reduces the predictor's gradient (one flat buffer), so the step equals the single-process
  step on the global batch: the losses are batch means, the slices are equal.
Only rank 0 writes checkpoints, artifacts and logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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
    return Shard(dist.get_rank(), dist.get_world_size())


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
