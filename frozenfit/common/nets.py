"""Small network builders shared by every layer (the BFM's tokenizers, task heads, baselines)."""

from __future__ import annotations

from typing import Callable

from torch import nn


def mlp(inp: int, hidden: tuple[int, ...], out: int, act: Callable[[], nn.Module] = nn.SiLU) -> nn.Sequential:
    """Linear layers with ``act`` between them: ``inp -> hidden... -> out`` (no output activation)."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(inp, h), act()]
        inp = h
    layers.append(nn.Linear(inp, out))
    return nn.Sequential(*layers)
