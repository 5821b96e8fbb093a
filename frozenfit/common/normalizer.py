"""Running mean / variance normaliser (parallel Welford update), stored as module buffers."""

from __future__ import annotations

import torch
from torch import nn

from frozenfit.common.distributed import Shard, global_moments


class RunningNorm(nn.Module):
    """Normalises inputs by running statistics; `update` is explicit so frozen copies stay frozen."""

    def __init__(self, shape: int | tuple[int, ...], clip: float = 10.0, eps: float = 1e-5):
        super().__init__()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        # float64 so that counts of 1e8+ samples keep their precision
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(shape, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(eps, dtype=torch.float64))
        self.clip, self.eps = clip, eps

    @torch.no_grad()
    def update(self, x: torch.Tensor, shard: Shard = Shard()) -> None:
        """Merge the batch ``x`` into the statistics; under data parallelism (``shard``) the batch is
        every rank's rows, so all ranks keep identical statistics."""
        b_mean, b_var, b = global_moments(x.reshape(-1, *self.mean.shape), shard)
        if b == 0:   # nothing seen (on any rank)
            return
        total = self.count + b
        delta = b_mean - self.mean
        m2 = self.var * self.count + b_var * b + delta ** 2 * self.count * b / total
        self.mean.copy_(self.mean + delta * b / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(self.var + self.eps).to(x.dtype)
        return ((x - self.mean.to(x.dtype)) / std).clamp(-self.clip, self.clip)

    def denormalize(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.sqrt(self.var + self.eps).to(y.dtype) + self.mean.to(y.dtype)
