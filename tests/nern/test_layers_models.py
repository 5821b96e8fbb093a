import pytest
import torch
from torch import nn

from frozenfit.errors import FrozenfitError
from frozenfit.nern.layers import KernelTable, discover_convs
from frozenfit.nern.models import CifarResNet, ResNet18, build_model, default_fmd_modules


def test_resnet_param_counts():
    n = lambda m: sum(p.numel() for p in m.parameters())
    assert 0.26e6 < n(CifarResNet(20)) < 0.29e6  # ResNet-20 ~0.27M
    assert 0.84e6 < n(CifarResNet(56)) < 0.88e6  # ResNet-56 ~0.86M
    assert n(ResNet18()) == 11_689_512  # torchvision resnet18's exact count


def test_resnet18_state_dict_matches_torchvision_layout():
    sd = ResNet18().state_dict()
    assert len(sd) == 122  # torchvision resnet18: 62 params + 60 BN buffers
    expected = {
        "conv1.weight": (64, 3, 7, 7), "bn1.running_mean": (64,), "layer1.0.conv1.weight": (64, 64, 3, 3),
        "layer2.0.downsample.0.weight": (128, 64, 1, 1), "layer2.0.downsample.1.weight": (128,),
        "layer4.1.bn2.num_batches_tracked": (), "fc.weight": (1000, 512), "fc.bias": (1000,),
    }
    for k, shape in expected.items():
        assert tuple(sd[k].shape) == shape
    assert "layer1.0.downsample.0.weight" not in sd


def test_discovery_in_forward_order_and_fmd_modules():
    m = CifarResNet(20, in_channels=1)
    layers = discover_convs(m, torch.zeros(1, 1, 8, 8))
    names = [l.name for l in layers]
    assert names[:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
    assert names.index("layer2.0.downsample.0") == names.index("layer2.0.conv2") + 1
    assert len(layers) == 21 and layers[0].shape == (16, 1, 3, 3)
    fmd = default_fmd_modules(m)
    assert fmd[0] == "bn1" and "layer3.2.merge" in fmd and len(fmd) == 1 + 9 * 3


class Custom(nn.Module):
    def __init__(self, groups=1, k=3):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, k, padding=k // 2, groups=groups)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.bn(self.dw(self.a(x))).mean((2, 3)))


def test_unsupported_layers_are_named_or_kept():
    with pytest.raises(FrozenfitError, match=r"'dw'.*grouped"):
        discover_convs(Custom(groups=8))
    with pytest.raises(FrozenfitError, match=r"'dw'.*5×5 is larger"):
        discover_convs(Custom(k=5))
    kept = discover_convs(Custom(groups=8), keep_unsupported=True)
    assert [l.name for l in kept] == ["a"]
    assert [l.name for l in discover_convs(Custom(k=5), max_kernel=7)] == ["a", "dw"]
    assert default_fmd_modules(Custom()) == ["bn"]


def test_unknown_model_is_a_clear_error():
    with pytest.raises(FrozenfitError, match="unknown model 'vgg'"):
        build_model("vgg", 10, 3)


def test_kernel_table_round_trip_mixed_kernel_sizes():
    m = ResNet18(num_classes=4)
    layers = discover_convs(m, torch.zeros(1, 3, 32, 32), max_kernel=7)
    table = KernelTable(layers, dict(m.named_parameters()), 7)
    rebuilt = table.assemble(table.targets)
    for l in layers:
        assert torch.equal(rebuilt[l.param_name], m.get_parameter(l.param_name))
    assert table.num_weights == sum(m.get_parameter(l.param_name).numel() for l in layers)
    one = layers[[l.name for l in layers].index("layer2.0.downsample.0")]
    assert one.kernel_size == 1


class TwoGrouped(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.dw1 = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.dw2 = nn.Conv2d(8, 8, 3, padding=1, groups=4)

    def forward(self, x):
        return self.dw2(self.dw1(self.a(x)))


def test_every_refused_layer_is_named_with_the_fix_that_applies():
    with pytest.raises(FrozenfitError) as e:
        discover_convs(TwoGrouped())
    msg = str(e.value)
    assert "2 layer(s)" in msg and "'dw1'" in msg and "'dw2'" in msg and "\n" not in msg
    assert "--keep-unsupported" in msg and "--kernel-size" not in msg   # no kernel size helps a grouped conv
    with pytest.raises(FrozenfitError, match="--kernel-size"):
        discover_convs(Custom(k=5))


def test_the_predictor_output_is_the_largest_representable_kernel():
    from frozenfit.nern.fit import predictor_kernel_size

    only5 = nn.Sequential(nn.Conv2d(3, 4, 5), nn.Conv2d(4, 4, 5))
    assert predictor_kernel_size(only5) == 5                       # not the reference's 7
    assert predictor_kernel_size(ResNet18(num_classes=4)) == 7     # its 7×7 stem
    assert predictor_kernel_size(CifarResNet(20, in_channels=1)) == 3
    assert predictor_kernel_size(Custom(groups=8, k=5)) == 3       # a grouped 5×5 is copied, not predicted
    assert predictor_kernel_size(only5, requested=7) == 7


def test_an_artifact_larger_than_the_original_is_warned_about():
    from frozenfit.nern.artifact import size_warning

    tiny = nn.Conv2d(1, 1, 3)
    assert "not smaller" in size_warning(10_000, tiny)
    assert size_warning(10, tiny) is None


def test_the_reference_feature_maps_replace_bn2_with_the_sum():
    m = CifarResNet(20, in_channels=1)
    ours, ref = default_fmd_modules(m), default_fmd_modules(m, "reference")
    assert ours[1:4] == ["layer1.0.bn1", "layer1.0.bn2", "layer1.0.merge"]
    assert ref[1:4] == ["layer1.0.bn1", "layer1.0.merge", "layer1.0.merge"]
    assert len(ours) == len(ref)
