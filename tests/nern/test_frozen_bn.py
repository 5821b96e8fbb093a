"""The distillation copy of an original: batch norm as its affine map, the same function and names."""

import torch
from torch import nn

from frozenfit.nern.frozen_bn import FrozenBatchNorm2d, with_frozen_batchnorm
from frozenfit.nern.models import CifarResNet, default_fmd_modules


def _with_random_statistics(model: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))
    return model.eval()


def test_copy_computes_the_originals_function_with_the_same_names():
    torch.manual_seed(0)
    model = _with_random_statistics(CifarResNet(20, 10, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    frozen = with_frozen_batchnorm(model)
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(frozen(x), model(x), rtol=1e-4, atol=1e-4)
    names = dict(frozen.named_modules())
    assert all(n in names for n in default_fmd_modules(model))
    assert isinstance(names["layer1.0.bn1"], FrozenBatchNorm2d)
    assert {n for n, _ in frozen.named_parameters()} <= {n for n, _ in model.named_parameters()}
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())   # the original is untouched
    assert isinstance(model.layer1[0].bn1, nn.BatchNorm2d)
    assert not any(p.requires_grad for p in frozen.parameters())


def test_gradient_through_the_copy_equals_the_gradient_through_batch_norm():
    torch.manual_seed(0)
    bn = _with_random_statistics(nn.Sequential(nn.BatchNorm2d(5)))[0]
    x1 = torch.randn(3, 5, 4, 4).contiguous(memory_format=torch.channels_last).requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    g = torch.randn(3, 5, 4, 4)
    (bn(x1) * g).sum().backward()
    (FrozenBatchNorm2d(bn)(x2) * g).sum().backward()
    assert torch.allclose(x1.grad, x2.grad, rtol=1e-5, atol=1e-6)


def test_batch_norm_without_running_statistics_is_kept():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, track_running_stats=False))
    assert isinstance(with_frozen_batchnorm(model)[1], nn.BatchNorm2d)
