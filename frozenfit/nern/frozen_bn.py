"""Eval-mode batch norm as the per-channel affine map it is, for distillation's CNN passes.

A frozen BatchNorm2d computes y = x·s + t with s = γ/√(σ²+ε) and t = β − μ·s. torch's batch-norm
kernels do not know the statistics are constant: on CPU their backward alone took a fifth of a
NeRN iteration on ResNet-20 (results/nern/throughput.json). As one broadcast multiply-add, the
forward is one pass over the map and the backward one multiply.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class FrozenBatchNorm2d(nn.Module):
    """y = x·scale + shift per channel: a BatchNorm2d's eval-mode function, with constant buffers."""

    def __init__(self, bn: nn.BatchNorm2d):
        super().__init__()
        with torch.no_grad():
            mean = bn.running_mean if bn.running_mean is not None else torch.zeros(bn.num_features)
            var = bn.running_var if bn.running_var is not None else torch.ones(bn.num_features)
            scale = torch.rsqrt(var + bn.eps)
            if bn.weight is not None:
                scale = scale * bn.weight
            shift = -mean * scale
            if bn.bias is not None:
                shift = shift + bn.bias
        self.register_buffer("scale", scale.detach().clone().view(1, -1, 1, 1))
        self.register_buffer("shift", shift.detach().clone().view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.shift, x, self.scale)


def with_frozen_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) with every BatchNorm2d that normalises by its running
    statistics replaced by a FrozenBatchNorm2d of the same name: the same function up to float
    rounding, the same module and parameter names (feature-map hooks and functional weight swaps
    apply unchanged), cheaper passes. Batch norms without running statistics stay as they are."""
    out = copy.deepcopy(model).eval()
    for name, mod in list(out.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, nn.BatchNorm2d) and child.track_running_stats:
                setattr(mod, child_name, FrozenBatchNorm2d(child))
    for p in out.parameters():
        p.requires_grad_(False)
    return out
