"""The compressed NeRN artifact: predictor + bit-packed permutation tables + kept tensors, one file.

Its size on disk *is* the compressed size we report. ``load_artifact`` rebuilds the reconstructed
network in one call: built-in architectures from the stored config, any other ``nn.Module`` by
passing an instance of it.
"""

from __future__ import annotations

import math
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
from frozenfit.nern.quantize import (SCHEMES, Scheme, bits_for, blobs_under, decode_group, decode_state, encode_group, encode_state,
                                     pack_bits, unpack_bits)

ARTIFACT_KIND = "nern-artifact"
ARTIFACT_VERSION = 2


def _table_layout(layer: ConvLayer, mode: str) -> list[tuple[str, tuple[int, ...], int]]:
    """(table name, shape, bits per entry) of the permutation tables one layer stores."""
    o, i = layer.shape[:2]
    if mode == "in_filter":
        return [("filter_rank", (o,), bits_for(o)), ("channel_rank", (o, i), bits_for(i))]
    if mode == "cross_filter":
        return [("position", (o * i,), bits_for(o * i))]
    return []


def _pack_tables(layers: list[ConvLayer], perms, mode: str) -> torch.Tensor:
    parts = [pack_bits(perm.tables[name], bits) for layer, perm in zip(layers, perms)
             for name, _, bits in _table_layout(layer, mode)]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.uint8)


def _unpack_tables(blob: torch.Tensor, layers: list[ConvLayer], mode: str) -> dict[str, torch.Tensor]:
    tables, pos = {}, 0
    for layer in layers:
        for name, shape, bits in _table_layout(layer, mode):
            count = math.prod(shape)
            nbytes = (count * bits + 7) // 8
            tables[f"{layer.name}.{name}"] = unpack_bits(blob[pos:pos + nbytes], bits, count).reshape(shape)
            pos += nbytes
    if pos != blob.numel():
        raise FrozenfitError(f"permutation blob has {blob.numel()} bytes, the layers need {pos}")
    return tables


def _kept_names(state: dict[str, torch.Tensor], layers: list[ConvLayer]) -> list[str]:
    """Tensors stored verbatim (BN, classifier, ...): all but the represented conv weights."""
    represented = {layer.param_name for layer in layers}
    return [k for k in state if k not in represented]


def export_artifact(rep, path: str | Path, model_config: dict, predictor_scheme: Scheme = "fp32",
                    kept_scheme: Scheme | None = None) -> int:
    """Write the artifact of a ``NeRNRepresentation``; returns its exact size in bytes.

    ``predictor_scheme`` stores the predictor's weight matrices in fp32, fp16, or int8/int4
    (per tensor or per output channel); biases and kept tensors (BN, classifier) use
    ``kept_scheme`` (default: fp32 for an fp32 predictor, else fp16). Permutation tables are
    bit-packed with ⌈log2 n⌉ bits per entry.
    """
    kept_scheme = kept_scheme or ("fp32" if predictor_scheme == "fp32" else "fp16")
    if kept_scheme not in ("fp32", "fp16"):
        raise FrozenfitError("kept tensors are stored in fp32 or fp16")
    linears = rep.predictor.linears
    state = rep.original.state_dict()
    tensors, digest = encode_state(state, _kept_names(state, rep.layers), kept_scheme, "kept")
    groups = {"predictor_w": encode_group([m.weight.detach() for m in linears], predictor_scheme),
              "predictor_b": encode_group([m.bias.detach() for m in linears], kept_scheme)}
    tensors.update({f"{g}.{k}": v for g, blobs in groups.items() for k, v in blobs.items()})
    tensors["perm"] = _pack_tables(rep.layers, rep.perms, rep.mode)
    config = {**model_config, "layers": [[l.name, list(l.shape)] for l in rep.layers],
              "hidden": rep.predictor.hidden, "kernel_size": rep.kernel_size,
              "permutation": rep.mode, "encoding": {"K": NUM_FREQUENCIES, "b": BASE},
              "storage": {"predictor": predictor_scheme, "kept": kept_scheme},
              "kept_layout": digest}
    save_checkpoint(path, ARTIFACT_KIND, ARTIFACT_VERSION, config, tensors)
    return Path(path).stat().st_size


def size_warning(artifact_bytes: int, original: nn.Module) -> str | None:
    """A one-line warning when an artifact is no smaller than the original's tensors (a predictor
    larger than the few weights it represents, e.g. a depthwise network), else None."""
    original_bytes = sum(v.numel() * v.element_size() for v in original.state_dict().values())
    if artifact_bytes < original_bytes:
        return None
    return (f"warning: the artifact ({artifact_bytes:,} bytes) is not smaller than the original's tensors "
            f"({original_bytes:,} bytes): the predictor outweighs the weights it represents; try a smaller "
            "--hidden or a quantised --predictor-scheme")


def load_artifact(path: str | Path, model: nn.Module | None = None) -> tuple[nn.Module, dict]:
    """Rebuild the reconstructed network from an artifact (pass ``model`` for custom modules)."""
    ck = load_checkpoint(path, kind=ARTIFACT_KIND, format_version=ARTIFACT_VERSION)
    cfg = ck.config
    if "perm" not in ck.tensors:
        raise FrozenfitError(f"{path}: no permutation blob ('perm'); not a complete NeRN artifact")
    store = cfg.get("storage") or {}
    if store.get("predictor") not in SCHEMES or store.get("kept") not in ("fp32", "fp16"):
        raise FrozenfitError(f"{path}: unknown storage schemes {store}")
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
    linears = predictor.linears
    weights = decode_group(blobs_under(ck.tensors, "predictor_w"), [tuple(m.weight.shape) for m in linears],
                           store["predictor"])
    biases = decode_group(blobs_under(ck.tensors, "predictor_b"), [tuple(m.bias.shape) for m in linears],
                          store["kept"])
    with torch.no_grad():
        for m, w, b in zip(linears, weights, biases):
            m.weight.copy_(w)
            m.bias.copy_(b)
    perms = permutations_from_tables(layers, cfg["permutation"],
                                     _unpack_tables(ck.tensors["perm"], layers, cfg["permutation"]))
    state = decode_state(ck.tensors, expected, _kept_names(expected, layers), store["kept"], "kept",
                         cfg.get("kept_layout"), str(path))
    # Kernel values are not needed to assemble predictions: an all-zero table has the layout.
    table = KernelTable(layers, {l.param_name: torch.zeros(l.shape) for l in layers}, cfg["kernel_size"])
    rows = predictor.predict_chunked(positional_encoding(permuted_coordinates(table, perms)))
    state.update(table.assemble(rows))
    missing = sorted(set(expected) - set(state))
    if missing:
        raise FrozenfitError(f"{path}: artifact lacks tensors the model needs: {missing[:3]}")
    model.load_state_dict(state)
    return model.eval(), cfg


def artifact_parts(path: str | Path) -> dict[str, int]:
    """Payload bytes of an artifact by part: predictor, perm, kept (the rest is the header)."""
    parts = {"predictor": 0, "perm": 0, "kept": 0}
    for k, v in load_checkpoint(path).tensors.items():
        part = k.split(".", 1)[0].split("_", 1)[0]
        parts[part] = parts.get(part, 0) + v.numel() * v.element_size()
    return parts
