"""Storage codecs for compressed files: fp32 / fp16 / int8 / int4 tensor groups and bit packing.

A *group* is an ordered list of tensors stored as one flat blob (plus one blob of scales when
quantised): a file then has a handful of entries instead of one header record per tensor, so its
size is almost all payload. The shapes are not stored — the reader knows them from the model.

Quantisation is symmetric, per tensor or per output channel (dim 0), with the clipping range
chosen per channel to minimise squared error (plain max-abs scaling wastes most int4 levels on
one outlier).
"""

from __future__ import annotations

import hashlib
import math
from typing import Literal, get_args

import numpy as np
import torch

from frozenfit.errors import FrozenfitError

Scheme = Literal["fp32", "fp16", "int8_tensor", "int8_channel", "int4_channel"]
SCHEMES: tuple[str, ...] = get_args(Scheme)
_CLIP_RATIOS = torch.linspace(0.3, 1.0, 36)


def bits_for(count: int) -> int:
    """Bits needed to store any integer in [0, count)."""
    return max(1, math.ceil(math.log2(count))) if count > 1 else 1


def pack_bits(values: torch.Tensor, bits: int) -> torch.Tensor:
    """Non-negative integers < 2**bits → a little-endian bit stream in uint8 (⌈n·bits/8⌉ bytes)."""
    v = values.reshape(-1).to(torch.int64).numpy()
    if v.size and (v.min() < 0 or v.max() >= 1 << bits):
        raise ValueError(f"values outside [0, 2**{bits})")
    bitmat = (v[:, None] >> np.arange(bits, dtype=np.int64)) & 1
    return torch.from_numpy(np.packbits(bitmat.astype(np.uint8).reshape(-1), bitorder="little"))


def unpack_bits(packed: torch.Tensor, bits: int, count: int) -> torch.Tensor:
    """Inverse of ``pack_bits``: the first ``count`` integers of the stream."""
    if packed.numel() * 8 < count * bits:
        raise FrozenfitError(f"bit stream too short: {packed.numel()} bytes for {count}×{bits} bits")
    flat = np.unpackbits(packed.numpy(), count=count * bits, bitorder="little").reshape(count, bits)
    return torch.from_numpy(flat.astype(np.int64) @ (1 << np.arange(bits, dtype=np.int64)))


def _levels(scheme: str) -> int:
    return 127 if scheme.startswith("int8") else 7


def quantize(t: torch.Tensor, scheme: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(integer codes in [-L, L], fp32 scales) with t ≈ codes · scale; one scale per row or one
    per tensor. The clipping ratio of each row is searched for the least squared error."""
    rows = t.reshape(t.shape[0], -1).to(torch.float32) if scheme.endswith("channel") else t.reshape(1, -1).float()
    L = _levels(scheme)
    amax = rows.abs().amax(1, keepdim=True).clamp_min(1e-12)  # [R, 1]
    scales = amax * _CLIP_RATIOS[None, :] / L  # [R, C]
    best_err = torch.full((rows.shape[0],), float("inf"))
    best = scales[:, -1].clone()
    for c in range(scales.shape[1]):  # 36 candidates, each a vectorised pass over all rows
        s = scales[:, c:c + 1]
        err = ((rows / s).round().clamp(-L, L) * s - rows).square().sum(1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best = torch.where(better, s[:, 0], best)
    codes = (rows / best[:, None]).round().clamp(-L, L).to(torch.int8)
    return codes.reshape(t.shape), best


def encode_group(tensors: list[torch.Tensor], scheme: str) -> dict[str, torch.Tensor]:
    """One group of tensors → blobs {"values"[, "scales"]} in the given scheme."""
    if scheme not in SCHEMES:
        raise FrozenfitError(f"unknown storage scheme '{scheme}'; choose from {', '.join(SCHEMES)}")
    if not tensors:
        return {}
    if scheme in ("fp32", "fp16"):
        dtype = torch.float32 if scheme == "fp32" else torch.float16
        return {"values": torch.cat([t.reshape(-1) for t in tensors]).to(dtype)}
    codes, scales = zip(*(quantize(t, scheme) for t in tensors))
    flat = torch.cat([c.reshape(-1) for c in codes])
    values = flat if scheme.startswith("int8") else pack_bits(flat.to(torch.int64) + 8, 4)
    return {"values": values, "scales": torch.cat(scales)}


def decode_group(blobs: dict[str, torch.Tensor], shapes: list[tuple[int, ...]], scheme: str) -> list[torch.Tensor]:
    """Blobs of ``encode_group`` + the tensors' shapes → fp32 tensors."""
    if not shapes:
        return []
    sizes = [math.prod(s) for s in shapes]
    if "values" not in blobs or (scheme not in ("fp32", "fp16") and "scales" not in blobs):
        raise FrozenfitError(f"compressed group is missing its values or scales ({scheme})")
    if scheme == "int4_channel":
        flat = (unpack_bits(blobs["values"], 4, sum(sizes)) - 8).to(torch.float32)
    else:  # fp32, fp16 and int8 codes are stored as they are
        flat = blobs["values"].to(torch.float32)
    if flat.numel() != sum(sizes):
        raise FrozenfitError(f"compressed group holds {flat.numel()} values, the model needs {sum(sizes)}")
    out, pos, spos = [], 0, 0
    for shape, n in zip(shapes, sizes):
        t = flat[pos:pos + n]
        pos += n
        if scheme not in ("fp32", "fp16"):
            rows = shape[0] if scheme.endswith("channel") else 1
            s = blobs["scales"][spos:spos + rows]
            spos += rows
            t = (t.reshape(rows, -1) * s[:, None]).reshape(-1)
        out.append(t.reshape(shape))
    return out


def blobs_under(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The blobs a file stores under ``prefix.`` (one group), keyed without the prefix."""
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def layout_digest(state: dict[str, torch.Tensor], names: list[str]) -> str:
    """Names and shapes of stored tensors: files hold values only, laid out in this order."""
    text = ";".join(f"{n}:{list(state[n].shape)}" for n in names)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_state(state: dict[str, torch.Tensor], names: list[str], scheme: str,
                 prefix: str) -> tuple[dict[str, torch.Tensor], str]:
    """Tensors ``names`` of a state dict → blobs (floats in ``scheme``, integer buffers as int64)
    under ``prefix``, plus the layout digest the reader checks its model against."""
    floats = [n for n in names if state[n].is_floating_point()]
    ints = [n for n in names if not state[n].is_floating_point()]
    blobs = {f"{prefix}.{k}": v for k, v in encode_group([state[n] for n in floats], scheme).items()}
    if ints:
        blobs[f"{prefix}_int"] = torch.cat([state[n].reshape(-1).to(torch.int64) for n in ints])
    return blobs, layout_digest(state, floats + ints)


def decode_state(tensors: dict[str, torch.Tensor], like: dict[str, torch.Tensor], names: list[str],
                 scheme: str, prefix: str, digest: str | None, where: str) -> dict[str, torch.Tensor]:
    """Inverse of ``encode_state``; ``like`` (the target model's state dict) gives shapes/dtypes."""
    floats = [n for n in names if like[n].is_floating_point()]
    ints = [n for n in names if not like[n].is_floating_point()]
    if layout_digest(like, floats + ints) != digest:
        raise FrozenfitError(f"{where}: the model's tensors do not match the stored layout: was the "
                             f"file written for this architecture?")
    out = dict(zip(floats, decode_group(blobs_under(tensors, prefix), [tuple(like[n].shape) for n in floats], scheme)))
    flat = tensors.get(f"{prefix}_int", torch.zeros(0, dtype=torch.int64))
    sizes = [like[n].numel() for n in ints]
    if sum(sizes) != flat.numel():
        raise FrozenfitError(f"{where}: integer buffers hold {flat.numel()} values, the model needs {sum(sizes)}")
    for n, chunk in zip(ints, torch.split(flat, sizes)):
        out[n] = chunk.reshape(like[n].shape).to(like[n].dtype)
    return out
