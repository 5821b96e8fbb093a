"""Kernel coordinates and their positional encoding.

Each k×k kernel has an integer coordinate (layer, filter, channel). Every integer n is encoded as
[sin(π·b^j·n), cos(π·b^j·n)] for j = 0..K-1 (K=40, b=0.76): all frequencies are ≤ π, so the
integer grid never aliases. The integers are fed raw, as in the reference; normalising them while
keeping b=0.76 collapses the encoding.
"""

from __future__ import annotations

import math

import torch

NUM_FREQUENCIES = 40
BASE = 0.76


def encoding_dim(num_frequencies: int = NUM_FREQUENCIES) -> int:
    """Input width of the predictor: 3 integers × (sin, cos) × K frequencies."""
    return 3 * 2 * num_frequencies


def positional_encoding(coords: torch.Tensor, num_frequencies: int = NUM_FREQUENCIES,
                        base: float = BASE) -> torch.Tensor:
    """Encode integer coordinates [N, 3] as [N, 6K] features (per coordinate: K sines, K cosines)."""
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"coordinates must have shape [N, 3], got {tuple(coords.shape)}")
    freqs = math.pi * base ** torch.arange(num_frequencies, dtype=torch.float64)
    angles = coords.to(torch.float64)[:, :, None] * freqs  # [N, 3, K]
    enc = torch.cat([angles.sin(), angles.cos()], dim=2)  # [N, 3, 2K]
    return enc.reshape(coords.shape[0], -1).to(torch.float32)
