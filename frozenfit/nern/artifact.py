"""The compressed NeRN artifact: predictor + permutation tables + kept tensors, one file.

Its size on disk *is* the compressed size we report. ``load_artifact`` rebuilds the reconstructed
network in one call: built-in architectures from the stored config, any other ``nn.Module`` by
passing an instance of it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.nern.encoding import BASE, NUM_FREQUENCIES, positional_encoding
from frozenfit.nern.layers import ConvLayer, KernelTable
from frozenfit.nern.models import build_model
from frozenfit.nern.permutation import permutations_from_tables, permuted_coordinates
from frozenfit.nern.predictor import KernelPredictor

ARTIFACT_KIND = "nern-artifact"
ARTIFACT_VERSION = 1


def _smallest_int(t: torch.Tensor) -> torch.Tensor:
    """Store an index table in the narrowest integer dtype that holds it."""
    hi = int(t.max()) if t.numel() else 0
    dtype = torch.uint8 if hi < 2**8 else torch.int16 if hi < 2**15 else torch.int32
    return t.to(dtype)


def export_artifact(rep, path: str | Path, model_config: dict) -> int:
    """Write the artifact for a ``NeRNRepresentation``; returns its exact size in bytes."""
    represented = {layer.param_name for layer in rep.layers}
    tensors = {f"predictor.{k}": v for k, v in rep.predictor.state_dict().items()}
    for layer, perm in zip(rep.layers, rep.perms):
        for k, v in perm.tables.items():
            tensors[f"perm.{layer.name}.{k}"] = _smallest_int(v)
    for k, v in rep.original.state_dict().items():
        if k not in represented:
            tensors[f"kept.{k}"] = v
    config = {**model_config, "layers": [[l.name, list(l.shape)] for l in rep.layers],
              "hidden": rep.predictor.hidden, "kernel_size": rep.kernel_size,
              "permutation": rep.mode, "encoding": {"K": NUM_FREQUENCIES, "b": BASE}}
    save_checkpoint(path, ARTIFACT_KIND, ARTIFACT_VERSION, config, tensors)
    return Path(path).stat().st_size


def load_artifact(path: str | Path, model: nn.Module | None = None) -> tuple[nn.Module, dict]:
    """Rebuild the reconstructed network from an artifact (pass ``model`` for custom modules)."""
    ck = load_checkpoint(path, kind=ARTIFACT_KIND, format_version=ARTIFACT_VERSION)
    cfg = ck.config
    if model is None:
        if "model" not in cfg or "num_classes" not in cfg:
            raise FrozenfitError(f"{path} was exported from a custom model: pass model=<an instance>")
        model = build_model(cfg["model"], cfg["num_classes"], cfg["in_channels"])
    enc = cfg.get("encoding", {})
    if enc.get("K") != NUM_FREQUENCIES or enc.get("b") != BASE:
        raise FrozenfitError(f"{path} uses encoding {enc}, this frozenfit uses K={NUM_FREQUENCIES}, b={BASE}")
    layers = [ConvLayer(n, tuple(s)) for n, s in cfg["layers"]]
    expected = model.state_dict()
    for layer in layers:
        if layer.param_name not in expected:
            raise FrozenfitError(f"{path}: layer '{layer.name}' does not exist in the given model")
        if tuple(expected[layer.param_name].shape) != layer.shape:
            raise FrozenfitError(f"{path}: layer '{layer.name}' has shape {layer.shape} in the artifact, "
                                 f"{tuple(expected[layer.param_name].shape)} in the model")
    predictor = KernelPredictor(cfg["hidden"], cfg["kernel_size"])
    pstate = {k[len("predictor."):]: v for k, v in ck.tensors.items() if k.startswith("predictor.")}
    try:
        predictor.load_state_dict(pstate)
    except RuntimeError as e:
        raise FrozenfitError(f"{path}: predictor weights do not match hidden={cfg['hidden']} ({e})")
    perms = permutations_from_tables(layers, cfg["permutation"], ck.tensors, prefix="perm.")
    kept = {k[len("kept."):]: v for k, v in ck.tensors.items() if k.startswith("kept.")}
    state = dict(kept)
    # Kernel values are not needed to assemble predictions: an all-zero table has the layout.
    table = KernelTable(layers, {l.param_name: torch.zeros(l.shape) for l in layers}, cfg["kernel_size"])
    rows = predictor.predict_chunked(positional_encoding(permuted_coordinates(table, perms)))
    state.update(table.assemble(rows))
    missing = sorted(set(expected) - set(state))
    if missing:
        raise FrozenfitError(f"{path}: artifact lacks tensors the model needs: {missing[:3]}")
    model.load_state_dict(state)
    return model.eval(), cfg
