"""Weight-importance pruning from a NeRN reconstruction (the paper's application).

Each original conv weight is scored by how badly NeRN reconstructs it, |W − Ŵ| / |W|: the
predictor spends its capacity on what matters, so the worst-reconstructed weights are taken to be
the least important and are zeroed first (one-shot, no fine-tuning). Baselines: magnitude
(smallest |W| first) and random pruning at the same ratio, per layer or globally.
"""

from __future__ import annotations

from typing import Literal

import torch

from frozenfit.errors import FrozenfitError

Method = Literal["nern", "magnitude", "random"]
Scope = Literal["layer", "global"]


def prune_scores(original: torch.Tensor, reconstructed: torch.Tensor | None, method: Method,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-weight score, higher = pruned first."""
    if method == "nern":
        if reconstructed is None or reconstructed.shape != original.shape:
            raise FrozenfitError("NeRN pruning needs the reconstructed weights, shaped like the original")
        return (original - reconstructed).abs() / original.abs().clamp_min(1e-12)
    if method == "magnitude":
        return -original.abs()
    if method == "random":
        return torch.rand(original.shape, generator=generator)
    raise FrozenfitError(f"unknown pruning method '{method}'; choose nern, magnitude or random")


def _top_k_mask(scores: torch.Tensor, ratio: float) -> torch.Tensor:
    """True at exactly round(ratio·n) highest scores (ties broken by position, never more)."""
    drop = torch.zeros(scores.numel(), dtype=torch.bool)
    drop[scores.topk(int(round(ratio * scores.numel()))).indices] = True
    return drop


def prune_weights(original: dict[str, torch.Tensor], reconstructed: dict[str, torch.Tensor] | None,
                  ratio: float, method: Method, scope: Scope = "layer",
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Pruned copies of ``original`` (name → weight): the ``ratio`` highest-scored weights of each
    layer (``scope="layer"``) or of all layers together (``"global"``) set to zero."""
    if not 0.0 <= ratio < 1.0:
        raise FrozenfitError(f"pruning ratio must be in [0, 1), got {ratio}")
    names = list(original)
    scores = {n: prune_scores(original[n], None if reconstructed is None else reconstructed.get(n),
                              method, generator) for n in names}
    if scope == "global":
        flat = torch.cat([scores[n].reshape(-1) for n in names])
        drops = _top_k_mask(flat, ratio).split([original[n].numel() for n in names])
        masks = {n: d.reshape(original[n].shape) for n, d in zip(names, drops)}
    elif scope == "layer":
        masks = {n: _top_k_mask(scores[n].reshape(-1), ratio).reshape(original[n].shape) for n in names}
    else:
        raise FrozenfitError(f"unknown pruning scope '{scope}'; choose layer or global")
    return {n: original[n].masked_fill(masks[n], 0.0) for n in names}
