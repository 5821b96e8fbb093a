"""NeRN's three losses: weight reconstruction, feature-map distillation, output distillation."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reconstruction_rmse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """RMSE over the real (unpadded) entries of predicted vs original kernels, rows [B, K*K]."""
    sq = (pred - target).square() * mask
    return (sq.sum() / mask.sum().clamp_min(1)).sqrt()


def feature_map_distillation(orig: list[torch.Tensor], rec: list[torch.Tensor]) -> torch.Tensor:
    """Σ over maps of batch-mean ‖a/‖a‖ − b/‖b‖‖², each sample's whole map L2-normalised."""
    total = orig[0].new_zeros(())
    for a, b in zip(orig, rec, strict=True):
        a = F.normalize(a.flatten(1), dim=1)
        b = F.normalize(b.flatten(1), dim=1)
        total = total + (a - b).square().sum(1).mean()
    return total


def kl_distillation(orig_logits: torch.Tensor, rec_logits: torch.Tensor) -> torch.Tensor:
    """KL(softmax(z_orig) ‖ softmax(z_rec) + 1e-4), batch mean (the reference's smoothed form)."""
    p = orig_logits.softmax(1)
    q = rec_logits.softmax(1) + 1e-4
    return (p * (p.clamp_min(1e-12).log() - q.log())).sum(1).mean()
