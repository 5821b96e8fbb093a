"""Magnitude-oriented weight batching: which kernels get gradients this step."""

from __future__ import annotations

import torch


class MagnitudeSampler:
    """Each step draws ``batch`` kernel indices without replacement: with probability
    ``1 - p_magnitude`` uniformly, otherwise with probability proportional to the original
    kernel's L2 norm (large kernels matter more and get fitted more often)."""

    def __init__(self, norms: torch.Tensor, batch: int, p_magnitude: float = 0.2,
                 generator: torch.Generator | None = None):
        self.n, self.batch, self.p = norms.numel(), min(batch, norms.numel()), p_magnitude
        self.weights = norms.to(torch.float64).clamp_min(1e-12)
        self.gen = generator

    def sample(self) -> torch.Tensor:
        if self.batch >= self.n:
            return torch.arange(self.n)
        if torch.rand((), generator=self.gen).item() < self.p:
            return torch.multinomial(self.weights, self.batch, replacement=False, generator=self.gen)
        return torch.randperm(self.n, generator=self.gen)[: self.batch]
