"""A NeRN representation: frozen original CNN + kernel table + permutation + predictor.

This is the object ``fit`` trains and ``export`` saves. The reconstructed network is never built
by copying modules on the hot path: ``reconstructed_params`` gives predicted weight tensors that a
functional forward (``torch.func.functional_call``) swaps into the frozen original, so gradients
from distillation losses flow back into the predictor.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import torch
from torch import nn

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.common.distributed import Shard, gather_rows
from frozenfit.nern.encoding import positional_encoding
from frozenfit.nern.frozen_bn import with_frozen_batchnorm
from frozenfit.nern.layers import ConvLayer, KernelTable
from frozenfit.nern.permutation import (LayerPermutation, Mode, permutations_from_tables, permute_table,
                                        permuted_coordinates)
from frozenfit.nern.predictor import KernelPredictor


class NeRNRepresentation(nn.Module):
    """Holds everything needed to turn the predictor into conv weights for ``model``."""

    def __init__(self, model: nn.Module, layers: list[ConvLayer], hidden: int, kernel_size: int,
                 mode: Mode, perms: list[LayerPermutation] | None = None, progress: bool = False,
                 table: KernelTable | None = None):
        super().__init__()
        self.original = model.eval()
        for p in self.original.parameters():
            p.requires_grad_(False)
        # What distillation runs: the same function with batch norm as a per-channel affine map
        self.cnn = with_frozen_batchnorm(self.original)
        self.layers, self.mode, self.kernel_size = layers, mode, kernel_size
        self.table = table or KernelTable(layers, dict(model.named_parameters()), kernel_size)
        self.perms = perms if perms is not None else permute_table(self.table, mode, progress)
        self.coords = permuted_coordinates(self.table, self.perms)
        # The encoding of every coordinate never changes: compute it once.
        self.register_buffer("encoded", positional_encoding(self.coords), persistent=False)
        self.predictor = KernelPredictor(hidden, kernel_size)

    @property
    def represented_params(self) -> int:
        return self.table.num_weights

    @property
    def predictor_params(self) -> int:
        return sum(p.numel() for p in self.predictor.parameters())

    def predict_rows(self, grad: bool = False) -> torch.Tensor:
        """Predicted kernels [N, K*K] in table order (chunked and grad-free unless ``grad``)."""
        return self.predictor(self.encoded) if grad else self.predictor.predict_chunked(self.encoded)

    def predict_rows_with(self, idx: torch.Tensor, pred_sub: torch.Tensor, shard: Shard = Shard()) -> torch.Tensor:
        """All rows, ``pred_sub`` (with gradients) at ``idx`` and grad-free predictions elsewhere.

        Only the kernels outside ``idx`` are predicted here: the subset is never computed twice.
        Under data parallelism each rank predicts its share of them and the shares are gathered.
        """
        rest = torch.ones(self.table.num_kernels, dtype=torch.bool)
        rest[idx] = False
        rest_idx = rest.nonzero().squeeze(1)
        rows = pred_sub.new_empty(self.table.num_kernels, pred_sub.shape[1])
        if shard.world > 1:
            shares = rest_idx.tensor_split(shard.world)
            local = self.predictor.predict_chunked(self.encoded[shares[shard.rank]])
            rows[rest_idx] = gather_rows(local, [len(s) for s in shares])
        else:
            rows[rest_idx] = self.predictor.predict_chunked(self.encoded[rest_idx])
        return rows.index_put((idx,), pred_sub)

    def reconstructed_params(self, rows: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """{conv weight name: predicted tensor} to pass to a functional forward of the original."""
        return self.table.assemble(self.predict_rows() if rows is None else rows)

    @torch.no_grad()
    def reconstructed_model(self) -> nn.Module:
        """A standalone copy of the original with every represented conv replaced by predictions."""
        model = copy.deepcopy(self.original)
        params = dict(model.named_parameters())
        for name, w in self.reconstructed_params().items():
            params[name].copy_(w)
        return model


PERM_KIND = "nern-permutation"


def save_permutations(path: str | Path, rep: NeRNRepresentation, seconds: float) -> None:
    """Store a representation's permutation tables (reused by --resume and export)."""
    tensors = {f"{l.name}.{k}": v for l, p in zip(rep.layers, rep.perms) for k, v in p.tables.items()}
    config = {"mode": rep.mode, "layers": [[l.name, list(l.shape)] for l in rep.layers],
              "weights_sha256": weights_digest(rep.table)}
    save_checkpoint(path, PERM_KIND, 1, config, tensors, extra={"seconds": seconds})


def weights_digest(table: KernelTable) -> str:
    """SHA-256 of the represented kernels: stored permutations are only valid for these weights."""
    return hashlib.sha256(table.targets.numpy().tobytes()).hexdigest()


def load_permutations(path: str | Path, table: KernelTable,
                      mode: Mode) -> tuple[list[LayerPermutation], float] | None:
    """Stored permutations if ``path`` holds them for exactly these kernels and mode, else None."""
    if not Path(path).exists():
        return None
    ck = load_checkpoint(path, kind=PERM_KIND, format_version=1)
    layers = table.layers
    if (ck.config.get("mode") != mode
            or ck.config.get("layers") != [[l.name, list(l.shape)] for l in layers]
            or ck.config.get("weights_sha256") != weights_digest(table)):
        return None
    return permutations_from_tables(layers, mode, ck.tensors), float(ck.extra.get("seconds", 0.0))
