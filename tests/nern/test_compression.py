"""The compressed formats: bit packing, quantisation codecs, NeRN artifact schemes, PTQ files."""

import math

import pytest
import torch

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.nern.artifact import export_artifact, load_artifact
from frozenfit.nern.layers import discover_convs
from frozenfit.nern.models import CifarResNet
from frozenfit.nern.ptq import export_ptq, load_ptq
from frozenfit.nern.quantize import SCHEMES, bits_for, decode_group, encode_group, pack_bits, quantize, unpack_bits
from frozenfit.nern.representation import NeRNRepresentation

CFG = {"model": "resnet20", "num_classes": 10, "in_channels": 1, "dataset": "digits", "image_size": 8}


@pytest.mark.parametrize("bits", [1, 3, 4, 9, 12, 17])
def test_bit_packing_round_trips_and_is_tight(bits):
    g = torch.Generator().manual_seed(bits)
    v = torch.randint(0, 1 << bits, (1001,), generator=g)
    packed = pack_bits(v, bits)
    assert packed.dtype == torch.uint8 and packed.numel() == math.ceil(1001 * bits / 8)
    assert torch.equal(unpack_bits(packed, bits, 1001), v)


def test_bits_for_counts():
    assert [bits_for(n) for n in (1, 2, 3, 4, 5, 256, 257, 4096)] == [1, 1, 2, 2, 3, 8, 9, 12]
    with pytest.raises(ValueError):
        pack_bits(torch.tensor([4]), 2)


@pytest.mark.parametrize("scheme,levels", [("int8_tensor", 127), ("int8_channel", 127), ("int4_channel", 7)])
def test_quantisation_error_within_half_a_step(scheme, levels):
    w = torch.randn(16, 8, 3, 3) * torch.logspace(-3, 0, 16)[:, None, None, None]
    codes, scales = quantize(w, scheme)
    assert codes.abs().max() <= levels
    assert scales.numel() == (16 if scheme.endswith("channel") else 1)
    deq = (codes.reshape(scales.numel(), -1).float() * scales[:, None]).reshape(w.shape)
    # Clipped values may be off by more than half a step; the rest are within it.
    step = scales[:, None].expand(scales.numel(), w[0].numel() * 16 // scales.numel()).reshape(w.shape)
    inside = w.abs() <= levels * step
    assert ((deq - w).abs()[inside] <= step[inside] / 2 + 1e-7).all()
    # The searched clipping never does worse than plain max-abs scaling.
    rows = w.reshape(scales.numel(), -1)
    s_max = rows.abs().amax(1, keepdim=True) / levels
    err_max = ((rows / s_max).round().clamp(-levels, levels) * s_max - rows).square().sum()
    assert (deq - w).square().sum() <= err_max + 1e-9


def test_per_channel_beats_per_tensor_on_mixed_scales():
    w = torch.randn(16, 32) * torch.logspace(-3, 0, 16)[:, None]
    err = {}
    for scheme in ("int8_tensor", "int8_channel"):
        (out,) = decode_group(encode_group([w], scheme), [tuple(w.shape)], scheme)
        err[scheme] = ((out - w).norm(dim=1) / w.norm(dim=1)).mean().item()  # mean relative row error
    assert err["int8_channel"] < err["int8_tensor"] / 10


@pytest.mark.parametrize("scheme", SCHEMES)
def test_group_codec_round_trip(scheme):
    ts = [torch.randn(4, 3, 3, 3), torch.randn(7, 5), torch.randn(3)]
    blobs = encode_group(ts, scheme)
    out = decode_group(blobs, [tuple(t.shape) for t in ts], scheme)
    tol = {"fp32": 0, "fp16": 2e-3, "int8_tensor": 0.05, "int8_channel": 0.05, "int4_channel": 0.6}[scheme]
    for a, b in zip(ts, out):
        assert a.shape == b.shape and (a - b).abs().max() <= tol
    with pytest.raises(FrozenfitError, match="holds|too short"):
        decode_group(blobs, [(4, 3, 3, 3), (7, 5), (4,)], scheme)


def _rep(mode):
    torch.manual_seed(0)
    model = CifarResNet(20, num_classes=10, in_channels=1).eval()
    return NeRNRepresentation(model, discover_convs(model, torch.zeros(1, 1, 8, 8)), 24, 3, mode)


@pytest.mark.parametrize("mode", ["none", "in_filter", "cross_filter"])
def test_artifact_schemes_shrink_and_reload_close_to_fp32(tmp_path, mode):
    rep = _rep(mode)
    ref = rep.reconstructed_params()
    sizes = {}
    for scheme in SCHEMES:
        path = tmp_path / f"{scheme}.nern"
        sizes[scheme] = export_artifact(rep, path, CFG, predictor_scheme=scheme)
        assert sizes[scheme] == path.stat().st_size
        model, cfg = load_artifact(path)
        state = model.state_dict()
        err = max((state[k] - v).abs().max().item() for k, v in ref.items())
        assert err < {"fp32": 1e-6, "fp16": 1e-2, "int8_tensor": 5e-2, "int8_channel": 5e-2, "int4_channel": 0.5}[scheme]
        assert cfg["storage"]["predictor"] == scheme
    assert sizes["fp32"] > sizes["fp16"] > sizes["int8_channel"] > sizes["int4_channel"]


def test_permutation_tables_are_bit_packed(tmp_path):
    rep = _rep("cross_filter")
    export_artifact(rep, tmp_path / "a.nern", CFG)
    blob = load_checkpoint(tmp_path / "a.nern").tensors["perm"]
    expected = sum(math.ceil(l.num_kernels * bits_for(l.num_kernels) / 8) for l in rep.layers)
    assert blob.numel() == expected
    naive = sum(l.num_kernels * (1 if l.num_kernels <= 256 else 2) for l in rep.layers)
    assert blob.numel() < 0.8 * naive


def test_artifact_for_another_architecture_is_refused(tmp_path):
    rep = _rep("in_filter")
    export_artifact(rep, tmp_path / "a.nern", CFG)
    with pytest.raises(FrozenfitError, match="does not exist|shape|stored layout"):
        load_artifact(tmp_path / "a.nern", model=CifarResNet(56, num_classes=10, in_channels=1))
    with pytest.raises(FrozenfitError, match="stored layout"):  # same convs, different classifier
        load_artifact(tmp_path / "a.nern", model=CifarResNet(20, num_classes=7, in_channels=1))


def test_truncated_permutation_blob_is_a_clear_error(tmp_path):
    rep = _rep("cross_filter")
    export_artifact(rep, tmp_path / "a.nern", CFG)
    ck = load_checkpoint(tmp_path / "a.nern")
    ck.tensors["perm"] = ck.tensors["perm"][:-5]
    save_checkpoint(tmp_path / "b.nern", ck.kind, ck.format_version, ck.config, ck.tensors)
    with pytest.raises(FrozenfitError, match="bit stream too short|permutation blob"):
        load_artifact(tmp_path / "b.nern")


@pytest.mark.parametrize("scheme", ["fp32", "int8_channel", "int4_channel"])
def test_ptq_round_trip(tmp_path, scheme):
    torch.manual_seed(0)
    model = CifarResNet(20, num_classes=10, in_channels=1).eval()
    size = export_ptq(model, CFG, tmp_path / "q.ptq", scheme, other_scheme="fp32")
    q, cfg = load_ptq(tmp_path / "q.ptq")
    a, b = model.state_dict(), q.state_dict()
    assert set(a) == set(b)
    conv = "layer2.0.conv1.weight"
    tol = {"fp32": 0.0, "int8_channel": 0.02, "int4_channel": 0.3}[scheme] * a[conv].abs().max().item()
    assert (a[conv] - b[conv]).abs().max() <= tol + 1e-7
    assert torch.equal(a["layer1.0.bn1.running_mean"], b["layer1.0.bn1.running_mean"])
    params = sum(v.numel() for k, v in a.items() if v.is_floating_point())
    assert size < params * {"fp32": 4.1, "int8_channel": 1.1, "int4_channel": 0.6}[scheme]
    with pytest.raises(FrozenfitError, match="stored layout"):
        load_ptq(tmp_path / "q.ptq", model=CifarResNet(20, num_classes=7, in_channels=1))
