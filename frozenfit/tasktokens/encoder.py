"""The task encoder: task observation + current pose -> one token of the BFM's width.

Running mean/std input normalisation, then an MLP ([256, 256] ReLU by default, as in the reference;
[512, 512, 512] is the bigger variant). The last layer starts at zero, so training starts from
the BFM's unprompted behaviour plus a token that carries no information yet.
"""

from __future__ import annotations

import torch
from torch import nn

from frozenfit.common.normalizer import RunningNorm


class TaskEncoder(nn.Module):
    def __init__(self, inp: int, width: int, hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        self.norm = RunningNorm(inp)
        layers: list[nn.Module] = []
        d = inp
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        layers.append(nn.Linear(d, width))
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(x))
