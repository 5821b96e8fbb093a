"""Which convolutions NeRN represents, and the flat table of their kernels.

``discover_convs`` finds every ``nn.Conv2d`` of any ``nn.Module`` in forward-execution order (via
hooks on one example input). ``KernelTable`` holds all represented kernels as rows of a
[N, K·K] matrix (smaller kernels centred, with a mask), so prediction, losses and sampling are
single tensor operations; ``assemble`` turns predictor rows back into per-layer weight tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from frozenfit.errors import FrozenfitError


@dataclass(frozen=True)
class ConvLayer:
    """One represented convolution: module path and weight shape (out, in, k, k)."""

    name: str
    shape: tuple[int, int, int, int]

    @property
    def param_name(self) -> str:
        return f"{self.name}.weight"

    @property
    def num_kernels(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def kernel_size(self) -> int:
        return self.shape[2]


def _unsupported_reason(conv: nn.Conv2d, max_kernel: int) -> tuple[str, bool] | None:
    """Why the predictor cannot represent ``conv`` and whether another --kernel-size would help."""
    kh, kw = conv.kernel_size
    if conv.groups != 1:
        return f"grouped convolution (groups={conv.groups})", False
    if kh != kw:
        return f"non-square kernel {kh}×{kw}", False
    if kh > max_kernel:
        return f"kernel {kh}×{kh} is larger than the predictor output {max_kernel}×{max_kernel}", True
    if (max_kernel - kh) % 2:
        return f"kernel {kh}×{kh} cannot be centre-cropped from a {max_kernel}×{max_kernel} output", True
    return None


def execution_order(model: nn.Module, example_input: torch.Tensor) -> list[str]:
    """Names of modules in the order they first run on ``example_input``."""
    order: list[str] = []
    handles = []
    for name, mod in model.named_modules():
        if name:
            handles.append(mod.register_forward_hook(
                lambda m, i, o, name=name: order.append(name) if name not in order else None))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(example_input)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return order


def discover_convs(model: nn.Module, example_input: torch.Tensor | None = None,
                   max_kernel: int = 3, keep_unsupported: bool = False,
                   exclude: tuple[str, ...] = ()) -> list[ConvLayer]:
    """Every Conv2d the predictor can represent, in forward order.

    An unsupported conv (grouped, non-square, larger than ``max_kernel``) raises a
    ``FrozenfitError`` naming it, unless ``keep_unsupported`` — then it is copied verbatim.
    Names in ``exclude`` are always copied verbatim.
    """
    convs = {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    if not convs:
        raise FrozenfitError("the model has no nn.Conv2d layers for NeRN to represent")
    names = list(convs)
    if example_input is not None:
        ran = execution_order(model, example_input)
        names = [n for n in ran if n in convs] + [n for n in names if n not in ran]
    layers, refused = [], []
    for n in names:
        if n in exclude:
            continue
        why = _unsupported_reason(convs[n], max_kernel)
        if why is not None:
            refused.append((n, *why))
            continue
        layers.append(ConvLayer(n, tuple(convs[n].weight.shape)))
    if refused and not keep_unsupported:   # every such layer in one line, with the fix that applies
        shown = "; ".join(f"'{n}' ({why})" for n, why, _ in refused[:4])
        more = f"; and {len(refused) - 4} more" if len(refused) > 4 else ""
        fix = "pass keep_unsupported (--keep-unsupported) to copy them verbatim"
        if any(sized for _, _, sized in refused):
            fix += ", or choose a --kernel-size that fits the sized ones"
        raise FrozenfitError(f"{len(refused)} layer(s) cannot be represented: {shown}{more}; {fix}")
    if not layers:
        raise FrozenfitError("no convolution left to represent after exclusions")
    return layers


class KernelTable:
    """All represented kernels as rows: padded targets, masks, norms, layer offsets, base coords."""

    def __init__(self, layers: list[ConvLayer], weights: dict[str, torch.Tensor], kernel_size: int):
        self.layers, self.K = layers, kernel_size
        rows, masks, coords, self.offsets = [], [], [], [0]
        kk = kernel_size * kernel_size
        for li, layer in enumerate(layers):
            w = weights[layer.param_name].detach().to(torch.float32)
            if tuple(w.shape) != layer.shape:
                raise FrozenfitError(f"weight of '{layer.name}' has shape {tuple(w.shape)}, "
                                     f"expected {layer.shape}")
            o, i, k, _ = layer.shape
            s = (kernel_size - k) // 2
            padded = torch.zeros(o * i, kernel_size, kernel_size)
            padded[:, s:s + k, s:s + k] = w.reshape(o * i, k, k)
            m = torch.zeros(kernel_size, kernel_size, dtype=torch.bool)
            m[s:s + k, s:s + k] = True
            rows.append(padded.reshape(o * i, kk))
            masks.append(m.reshape(1, kk).expand(o * i, kk))
            oo, ii = torch.meshgrid(torch.arange(o), torch.arange(i), indexing="ij")
            coords.append(torch.stack([torch.full((o * i,), li), oo.reshape(-1), ii.reshape(-1)], 1))
            self.offsets.append(self.offsets[-1] + o * i)
        self.targets = torch.cat(rows)  # [N, K*K]
        self.masks = torch.cat(masks).contiguous()  # [N, K*K] bool
        self.base_coords = torch.cat(coords)  # [N, 3] (layer, filter, channel), no permutation
        self.norms = self.targets.norm(dim=1)  # [N]

    @property
    def num_kernels(self) -> int:
        return self.offsets[-1]

    @property
    def num_weights(self) -> int:
        """Represented conv parameters (1×1 kernels count 1, 3×3 count 9)."""
        return int(self.masks.sum())

    def layer_weight(self, li: int) -> torch.Tensor:
        """The original weight of layer ``li`` rebuilt from the table (used by permutations)."""
        o, i, k, _ = self.layers[li].shape
        s = (self.K - k) // 2
        rows = self.targets[self.offsets[li]:self.offsets[li + 1]].reshape(o, i, self.K, self.K)
        return rows[:, :, s:s + k, s:s + k]

    def assemble(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predicted rows [N, K*K] (table order) → {param name: weight [out, in, k, k]}."""
        out = {}
        for li, layer in enumerate(self.layers):
            o, i, k, _ = layer.shape
            s = (self.K - k) // 2
            r = rows[self.offsets[li]:self.offsets[li + 1]].reshape(o, i, self.K, self.K)
            out[layer.param_name] = r[:, :, s:s + k, s:s + k]
        return out
