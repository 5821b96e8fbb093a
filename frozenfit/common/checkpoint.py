"""Self-describing checkpoints: one safetensors file holding tensors plus JSON metadata.

Every file records a ``kind`` (what model it is for), a ``format_version`` and a JSON ``config``.
Non-tensor structure (optimizer state, counters) is stored as a JSON skeleton whose tensor leaves
point at named tensors, so a whole training state round-trips through one file. Writes are atomic
(temp file + rename): a run killed mid-write never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from frozenfit.errors import FrozenfitError

MAGIC = "frozenfit"
_TENSOR_REF = "__tensor__"


@dataclass
class Checkpoint:
    """What a checkpoint file holds once loaded."""

    kind: str
    format_version: int
    config: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    state: Any = None  # arbitrary JSON-able structure with tensors inside (training state)
    extra: dict[str, Any] = field(default_factory=dict)


def _flatten(obj: Any, prefix: str, out: dict[str, torch.Tensor]) -> Any:
    """Replace tensors inside nested dicts/lists by references to entries of ``out``."""
    if isinstance(obj, torch.Tensor):
        key = f"__state__/{prefix}"
        out[key] = obj.detach().cpu().contiguous()
        return {_TENSOR_REF: key}
    if isinstance(obj, dict):
        return {"__dict__": [[_flatten(k, f"{prefix}.k{i}", out), _flatten(v, f"{prefix}.{i}", out)]
                             for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [_flatten(v, f"{prefix}.{i}", out) for i, v in enumerate(obj)],
                "tuple": isinstance(obj, tuple)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint state")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if _TENSOR_REF in obj:
            return tensors[obj[_TENSOR_REF]]
        if "__dict__" in obj:
            return {_unflatten(k, tensors): _unflatten(v, tensors) for k, v in obj["__dict__"]}
        if "__list__" in obj:
            items = [_unflatten(v, tensors) for v in obj["__list__"]]
            return tuple(items) if obj.get("tuple") else items
    return obj


def atomic_write_bytes(path: Path, writer) -> None:
    """Call ``writer(tmp_path)`` then rename onto ``path`` so readers never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_checkpoint(path: str | Path, kind: str, format_version: int, config: dict[str, Any],
                    tensors: dict[str, torch.Tensor], state: Any = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write tensors + config (+ optional training state) atomically to one safetensors file."""
    path = Path(path)
    all_tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    skeleton = _flatten(state, "s", all_tensors) if state is not None else None
    meta = {
        "magic": MAGIC,
        "kind": kind,
        "format_version": str(format_version),
        "config": json.dumps(config, sort_keys=True),
        "state": json.dumps(skeleton),
        "extra": json.dumps(extra or {}, sort_keys=True),
    }
    atomic_write_bytes(path, lambda tmp: save_file(all_tensors, tmp, metadata=meta))
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The raw metadata header of a safetensors file, with clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise FrozenfitError(f"checkpoint not found: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError("file too short")
            n = int.from_bytes(head, "little")
            if n <= 0 or n > 100_000_000 or n > path.stat().st_size - 8:
                raise ValueError("bad header length")
            header = json.loads(f.read(n))
    except (ValueError, UnicodeDecodeError) as e:
        raise FrozenfitError(f"{path} is not a frozenfit checkpoint (unreadable safetensors header: {e})")
    meta = header.get("__metadata__") or {}
    if meta.get("magic") != MAGIC:
        raise FrozenfitError(f"{path} is a safetensors file but not a frozenfit checkpoint (no frozenfit metadata)")
    return meta


def check_shapes(path: str | Path, tensors: dict[str, torch.Tensor], required: dict[str, tuple[int, ...]]) -> None:
    """Refuse, naming the tensor, when one of ``required`` (name -> shape) is missing or mis-shaped."""
    for name, shape in required.items():
        if name not in tensors:
            raise FrozenfitError(f"{path}: missing tensor '{name}'")
        if tuple(tensors[name].shape) != tuple(shape):
            raise FrozenfitError(f"{path}: tensor '{name}' has shape {tuple(tensors[name].shape)}, "
                                 f"expected {tuple(shape)}")


def load_checkpoint(path: str | Path, kind: str | None = None,
                    format_version: int | None = None,
                    required: dict[str, tuple[int, ...]] | None = None) -> Checkpoint:
    """Load a checkpoint, refusing with a clear message if it is for another kind or version.

    ``required`` maps tensor names to expected shapes; a missing tensor or a shape mismatch is an
    error naming the tensor.
    """
    path = Path(path)
    meta = read_metadata(path)
    got_kind = meta.get("kind", "?")
    if kind is not None and got_kind != kind:
        raise FrozenfitError(f"{path} holds a '{got_kind}' checkpoint, expected '{kind}'")
    version = int(meta.get("format_version", "-1"))
    if format_version is not None and version != format_version:
        raise FrozenfitError(f"{path} has format version {version}; this frozenfit reads version "
                             f"{format_version} of '{got_kind}' checkpoints")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise FrozenfitError(f"{path}: corrupt checkpoint data ({e})")
    check_shapes(path, tensors, required or {})
    skeleton = json.loads(meta.get("state", "null"))
    state = _unflatten(skeleton, tensors) if skeleton is not None else None
    plain = {k: v for k, v in tensors.items() if not k.startswith("__state__/")}
    return Checkpoint(kind=got_kind, format_version=version, config=json.loads(meta.get("config", "{}")),
                      tensors=plain, state=state, extra=json.loads(meta.get("extra", "{}")))
