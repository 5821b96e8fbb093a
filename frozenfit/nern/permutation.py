"""Permutation smoothness: re-assign each kernel the coordinate of its place in a greedy chain.

The network is never permuted. A greedy most-similar-next chain (start at item 0, repeatedly jump
to the most similar unvisited item) orders kernels so neighbouring coordinates hold similar
kernels, which a smooth predictor fits more easily.

* ``in_filter``: order the channels inside each filter (all filters' chains run in lockstep, one
  batched matmul per step), then order the filters (compared in their channel-permuted layout).
* ``cross_filter``: one chain over all kernels of a layer, laid out row-major.

Similarity is cosine; for 1-dim items (1×1 kernels) cosine is ±1, so we use negative squared
distance instead ("value distance"). The chain is exact: each step scans the unvisited set, kept
compact by swap-removal in a [d, n] matrix, so a step costs one vector-matrix product over the
remaining items (a 512×512×3×3 layer takes about a minute on 2 cores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from frozenfit.nern.layers import KernelTable

Mode = Literal["none", "in_filter", "cross_filter"]
MODES: tuple[str, ...] = ("none", "in_filter", "cross_filter")


def _score_vectors(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(candidate vectors z, query vectors q) with score(y | c) = z_y · q_c, larger = more similar.

    Cosine for d > 1; for d == 1, -(y - c)² up to a constant: z = [2y, -y²], q = [c, 1].
    """
    x = x.to(torch.float32)
    if x.shape[1] > 1:
        q = F.normalize(x, dim=1, eps=1e-12)
        return q, q
    return torch.cat([2 * x, -x * x], 1), torch.cat([x, torch.ones_like(x)], 1)


def greedy_chain(x: torch.Tensor) -> torch.Tensor:
    """Greedy most-similar-next chain over the rows of ``x`` [n, d]; returns the visiting order."""
    n = x.shape[0]
    order = np.zeros(n, dtype=np.int64)
    if n <= 1:
        return torch.from_numpy(order)
    z, q = _score_vectors(x)
    zt = z.T.contiguous()  # [d', n]: columns are the unvisited items, kept compact
    ids = np.arange(n)
    m = n - 1
    zt[:, 0] = zt[:, m]
    ids[0] = ids[m]
    cur = 0
    for t in range(1, n):
        j = int(torch.argmax(q[cur] @ zt[:, :m]))
        cur = int(ids[j])
        order[t] = cur
        m -= 1
        zt[:, j] = zt[:, m]
        ids[j] = ids[m]
    return torch.from_numpy(order)


def batched_greedy_chains(x: torch.Tensor) -> torch.Tensor:
    """Independent greedy chains for each of B sets [B, n, d], run in lockstep; returns [B, n]."""
    b, n, _ = x.shape
    z, q = _score_vectors(x.reshape(b * n, -1))
    z, q = z.reshape(b, n, -1), q.reshape(b, n, -1)
    order = torch.zeros(b, n, dtype=torch.long)
    visited = torch.zeros(b, n, dtype=torch.bool)
    visited[:, 0] = True
    cur = torch.zeros(b, dtype=torch.long)
    rows = torch.arange(b)
    for t in range(1, n):
        scores = torch.bmm(z, q[rows, cur].unsqueeze(2)).squeeze(2)
        scores.masked_fill_(visited, float("-inf"))
        cur = scores.argmax(1)
        visited[rows, cur] = True
        order[:, t] = cur
    return order


def _ranks(order: torch.Tensor) -> torch.Tensor:
    """Inverse of an ordering along the last dim: rank[..., order[..., t]] = t."""
    ranks = torch.empty_like(order)
    ranks.scatter_(-1, order, torch.arange(order.shape[-1]).expand_as(order).contiguous())
    return ranks


@dataclass
class LayerPermutation:
    """Where each kernel (o, i) of one layer sits in coordinate space, plus what must be stored."""

    filter_pos: torch.Tensor  # [out, in] new filter coordinate of kernel (o, i)
    channel_pos: torch.Tensor  # [out, in] new channel coordinate of kernel (o, i)
    tables: dict[str, torch.Tensor]  # the minimal tables that reproduce the two above


def permute_layer(weight: torch.Tensor, mode: Mode) -> LayerPermutation:
    """Coordinates of every kernel of ``weight`` [out, in, k, k] under a permutation mode."""
    o, i = weight.shape[:2]
    flat = weight.reshape(o, i, -1)
    if mode == "none":
        oo, ii = torch.meshgrid(torch.arange(o), torch.arange(i), indexing="ij")
        return LayerPermutation(oo, ii, {})
    if mode == "in_filter":
        chan_order = batched_greedy_chains(flat)  # [out, in]
        chan_rank = _ranks(chan_order)
        permuted = torch.gather(flat, 1, chan_order.unsqueeze(2).expand_as(flat)).reshape(o, -1)
        filt_rank = _ranks(greedy_chain(permuted))  # [out]
        return LayerPermutation(filt_rank[:, None].expand(o, i).contiguous(), chan_rank,
                                {"filter_rank": filt_rank, "channel_rank": chan_rank})
    if mode == "cross_filter":
        pos = _ranks(greedy_chain(flat.reshape(o * i, -1)))  # [out*in]
        return LayerPermutation((pos // i).reshape(o, i), (pos % i).reshape(o, i), {"position": pos})
    raise ValueError(f"unknown permutation mode '{mode}', choose from {MODES}")


def positions_from_tables(shape: tuple[int, ...], mode: Mode,
                          tables: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Rebuild (filter_pos, channel_pos) from stored tables (the inverse of ``permute_layer``)."""
    o, i = shape[:2]
    if mode == "none":
        oo, ii = torch.meshgrid(torch.arange(o), torch.arange(i), indexing="ij")
        return oo, ii
    if mode == "in_filter":
        return tables["filter_rank"].long()[:, None].expand(o, i), tables["channel_rank"].long()
    pos = tables["position"].long()
    return (pos // i).reshape(o, i), (pos % i).reshape(o, i)


def permutations_from_tables(layers, mode: Mode, tensors: dict[str, torch.Tensor],
                             prefix: str = "") -> list[LayerPermutation]:
    """Per-layer permutations from stored tables named ``{prefix}{layer name}.{table}``."""
    perms = []
    for layer in layers:
        head = f"{prefix}{layer.name}."
        tables = {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
        fpos, cpos = positions_from_tables(layer.shape, mode, tables)
        perms.append(LayerPermutation(fpos, cpos, tables))
    return perms


def permuted_coordinates(table: KernelTable, perms: list[LayerPermutation]) -> torch.Tensor:
    """Coordinates [N, 3] in table order: (layer, permuted filter, permuted channel)."""
    parts = []
    for li, p in enumerate(perms):
        n = p.filter_pos.numel()
        parts.append(torch.stack([torch.full((n,), li), p.filter_pos.reshape(-1).long(),
                                  p.channel_pos.reshape(-1).long()], 1))
    return torch.cat(parts)


def permute_table(table: KernelTable, mode: Mode, progress: bool = False) -> list[LayerPermutation]:
    """Permutations of every layer of a kernel table."""
    from tqdm import tqdm

    it = range(len(table.layers))
    if progress:
        it = tqdm(it, desc=f"permutation ({mode})", unit="layer")
    return [permute_layer(table.layer_weight(li), mode) for li in it]
