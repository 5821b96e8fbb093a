"""Ranger = RAdam + Lookahead, and the per-iteration cosine learning-rate schedule."""

from __future__ import annotations

import math
from typing import Any

import torch


class Ranger:
    """RAdam (decoupled weight decay) whose fast weights are pulled towards slow weights every k
    steps: slow ← slow + α(fast − slow); fast ← slow (Lookahead, Zhang et al. 2019)."""

    def __init__(self, params, lr: float = 5e-3, betas: tuple[float, float] = (0.5, 0.999),
                 weight_decay: float = 1e-3, k: int = 6, alpha: float = 0.5):
        self.params = [p for p in params if p.requires_grad]
        self.inner = torch.optim.RAdam(self.params, lr=lr, betas=betas, weight_decay=weight_decay,
                                       decoupled_weight_decay=True)
        self.k, self.alpha, self.steps = k, alpha, 0
        self.slow = [p.detach().clone() for p in self.params]

    @property
    def param_groups(self):
        return self.inner.param_groups

    def set_lr(self, lr: float) -> None:
        for g in self.inner.param_groups:
            g["lr"] = lr

    def zero_grad(self) -> None:
        self.inner.zero_grad(set_to_none=True)

    @torch.no_grad()
    def step(self) -> None:
        self.inner.step()
        self.steps += 1
        if self.steps % self.k == 0:
            for p, s in zip(self.params, self.slow):
                s.add_(p - s, alpha=self.alpha)
                p.copy_(s)

    def state_dict(self) -> dict[str, Any]:
        return {"inner": self.inner.state_dict(), "slow": [s.clone() for s in self.slow],
                "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner.load_state_dict(state["inner"])
        for s, v in zip(self.slow, state["slow"]):
            s.copy_(v)
        self.steps = int(state["steps"])


def cosine_lr(iteration: int, total: int, lr: float, min_lr: float) -> float:
    """Cosine decay from ``lr`` at iteration 0 to ``min_lr`` at ``total``."""
    t = min(max(iteration, 0), total) / max(total, 1)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * t))
