"""The NeRN predictor: a 5-layer ReLU MLP from encoded kernel coordinates to kernel values."""

from __future__ import annotations

import torch
from torch import nn

from frozenfit.nern.encoding import encoding_dim


def predictor_param_count(hidden: int, kernel_size: int = 3, in_dim: int = encoding_dim()) -> int:
    """Parameters of the predictor; 3h² + 253h + 9 for 3×3 outputs and the default encoding."""
    out = kernel_size * kernel_size
    return in_dim * hidden + hidden + 3 * (hidden * hidden + hidden) + hidden * out + out


class KernelPredictor(nn.Module):
    """240 → h → h → h → h → k·k; the output is one k×k kernel per coordinate."""

    def __init__(self, hidden: int, kernel_size: int = 3, in_dim: int = encoding_dim()):
        super().__init__()
        self.hidden, self.kernel_size, self.in_dim = hidden, kernel_size, in_dim
        dims = [in_dim, hidden, hidden, hidden, hidden]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(hidden, kernel_size * kernel_size))
        self.net = nn.Sequential(*layers)

    @property
    def linears(self) -> list[nn.Linear]:
        """The five affine layers, in order (for fused inference and compressed storage)."""
        return [m for m in self.net if isinstance(m, nn.Linear)]

    def forward(self, encoded: torch.Tensor) -> torch.Tensor:
        """[N, in_dim] encoded coordinates → [N, k·k] flattened kernels."""
        return self.net(encoded)

    @torch.no_grad()
    def predict_chunked(self, encoded: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """No-grad prediction in cache-sized chunks, written into one preallocated output.

        Fused bias-add matmuls and in-place ReLUs: no activation is kept or re-allocated twice.
        """
        linears = self.linears
        out = encoded.new_empty(encoded.shape[0], linears[-1].out_features)
        for i in range(0, encoded.shape[0], chunk):
            h = encoded[i:i + chunk]
            for j, lin in enumerate(linears):
                h = torch.addmm(lin.bias, h, lin.weight.t())
                if j < len(linears) - 1:
                    h.relu_()
            out[i:i + chunk] = h
        return out
