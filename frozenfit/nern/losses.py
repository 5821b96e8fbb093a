"""NeRN's three losses: weight reconstruction, feature-map distillation, output distillation."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reconstruction_rmse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """RMSE over the real (unpadded) entries of predicted vs original kernels, rows [B, K*K]."""
    sq = (pred - target).square() * mask
    return (sq.sum() / mask.sum().clamp_min(1)).sqrt()


def feature_map_distillation(orig: list[torch.Tensor], rec: list[torch.Tensor]) -> torch.Tensor:
    """Σ over maps of batch-mean ‖a/‖a‖ − b/‖b‖‖², each sample's whole map L2-normalised.

    Computed as 2 − 2·⟨a,b⟩/(‖a‖‖b‖) (equal for nonzero maps; norms clamped at 1e-12 as
    F.normalize does): three reductions instead of two normalised copies of every map and their
    backward, which cost a tenth of a ResNet-20 iteration."""
    total = orig[0].new_zeros(())
    for a, b in zip(orig, rec, strict=True):
        # reduce over every non-batch dim in place: flattening a channels-last map would copy it
        dims = tuple(range(1, a.dim()))
        with torch.no_grad():
            ra = torch.linalg.vector_norm(a, dim=dims)
            na = ra.clamp_min(1e-12)
        rb = torch.linalg.vector_norm(b, dim=dims)
        if not bool(torch.isfinite(rb).all() and torch.isfinite(ra).all()):
            # a map so large its squared norm overflows (an untrained predictor can make one):
            # normalise first, as the definition reads
            total = total + (F.normalize(a.flatten(1), dim=1) - F.normalize(b.flatten(1), dim=1)).square().sum(1).mean()
            continue
        nb = rb.clamp_min(1e-12)
        dot = (a * b).sum(dims)
        # ‖â − b̂‖² = ‖â‖² + ‖b̂‖² − 2⟨â,b̂⟩, where ‖â‖ = ‖a‖/max(‖a‖, 1e-12) (1 for a nonzero map)
        total = total + ((ra / na).square() + (rb / nb).square() - 2 * dot / na / nb).mean()
    return total


def kl_distillation(orig_logits: torch.Tensor, rec_logits: torch.Tensor) -> torch.Tensor:
    """KL(softmax(z_orig) ‖ softmax(z_rec) + 1e-4), batch mean (the reference's smoothed form)."""
    p = orig_logits.softmax(1)
    q = rec_logits.softmax(1) + 1e-4
    return (p * (p.clamp_min(1e-12).log() - q.log())).sum(1).mean()
