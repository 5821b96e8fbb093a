import math

import pytest
import torch

from frozenfit.nern.losses import feature_map_distillation, kl_distillation, reconstruction_rmse
from frozenfit.nern.ranger import Ranger, cosine_lr
from frozenfit.nern.sampling import MagnitudeSampler


def test_uniform_sampling_is_a_subset_without_replacement():
    s = MagnitudeSampler(torch.rand(1000), batch=100, p_magnitude=0.0, generator=torch.Generator().manual_seed(0))
    idx = s.sample()
    assert idx.numel() == 100 == idx.unique().numel() and idx.max() < 1000


def test_magnitude_sampling_follows_kernel_norms():
    norms = torch.tensor([1.0, 2.0, 4.0, 8.0] * 25)  # 100 kernels
    gen = torch.Generator().manual_seed(0)
    s = MagnitudeSampler(norms, batch=1, p_magnitude=1.0, generator=gen)
    counts = torch.zeros(4)
    for _ in range(6000):
        counts[s.sample().item() % 4] += 1
    freq = counts / counts.sum()
    assert torch.allclose(freq, torch.tensor([1, 2, 4, 8]) / 15.0, atol=0.02)


def test_fraction_of_magnitude_steps_is_p():
    norms = torch.cat([torch.full((10,), 1e-6), torch.ones(10)])
    s = MagnitudeSampler(norms, batch=1, p_magnitude=0.2, generator=torch.Generator().manual_seed(1))
    # tiny-norm kernels are only drawn by uniform steps: P(tiny) = 0.8 * 0.5 = 0.4
    tiny = sum(int(s.sample().item() < 10) for _ in range(5000)) / 5000
    assert tiny == pytest.approx(0.4, abs=0.03)


def test_batch_larger_than_table_returns_everything():
    assert MagnitudeSampler(torch.ones(7), batch=100).sample().tolist() == list(range(7))


def test_rmse_ignores_padding():
    pred = torch.tensor([[1.0, 100.0], [3.0, 100.0]])
    target = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    mask = torch.tensor([[True, False], [True, False]])
    assert reconstruction_rmse(pred, target, mask).item() == pytest.approx(math.sqrt((1 + 4) / 2))


def test_fmd_is_scale_invariant_and_zero_for_equal_maps():
    a = torch.randn(4, 3, 5, 5)
    assert feature_map_distillation([a], [3.0 * a]).item() == pytest.approx(0.0, abs=1e-6)
    b = torch.randn(4, 3, 5, 5)
    an, bn = a.flatten(1) / a.flatten(1).norm(dim=1, keepdim=True), b.flatten(1) / b.flatten(1).norm(dim=1, keepdim=True)
    expected = 2 * ((an - bn) ** 2).sum(1).mean()
    assert feature_map_distillation([a, a], [b, b]).item() == pytest.approx(expected.item(), rel=1e-5)


def _fmd_by_definition(orig, rec):
    """Normalise every map first, then the squared distance: the spec's formula, term by term."""
    import torch.nn.functional as F
    return sum((F.normalize(a.flatten(1), dim=1) - F.normalize(b.flatten(1), dim=1)).square().sum(1).mean()
               for a, b in zip(orig, rec))


def test_fmd_value_and_gradient_match_the_normalise_first_definition_in_any_layout():
    torch.manual_seed(0)
    a = [torch.randn(8, 4, 5, 5).contiguous(memory_format=torch.channels_last), torch.randn(8, 10),
         torch.zeros(8, 3, 2, 2)]                                    # an all-zero map counts 0 or 1
    b = [a[0] + 0.05 * torch.randn_like(a[0]), torch.randn(8, 10), torch.randn(8, 3, 2, 2)]
    b1 = [t.clone().requires_grad_() for t in b]
    b2 = [t.clone().requires_grad_() for t in b]
    v1, v2 = feature_map_distillation(a, b1), _fmd_by_definition(a, b2)
    v1.backward()
    v2.backward()
    assert v1.item() == pytest.approx(v2.item(), rel=1e-5)
    for g1, g2 in zip(b1, b2):
        assert torch.allclose(g1.grad, g2.grad, rtol=1e-4, atol=1e-7)
    zero = torch.zeros(2, 3)
    assert feature_map_distillation([zero], [zero]).item() == 0.0
    assert feature_map_distillation([zero], [torch.ones(2, 3)]).item() == pytest.approx(1.0)


def test_fmd_stays_finite_when_a_map_overflows_its_norm():
    """An untrained predictor can make maps of ~1e21 whose squared norm is inf in fp32."""
    a, b = torch.randn(4, 50), 1e21 * torch.randn(4, 50)
    v = feature_map_distillation([a], [b])
    assert torch.isfinite(v) and v.item() == pytest.approx(_fmd_by_definition([a], [b]).item(), rel=1e-5)


def test_kl_matches_formula():
    zo, zr = torch.randn(6, 10), torch.randn(6, 10)
    p, q = zo.softmax(1), zr.softmax(1) + 1e-4
    expected = (p * (p.log() - q.log())).sum(1).mean()
    assert kl_distillation(zo, zr).item() == pytest.approx(expected.item(), rel=1e-5)
    assert kl_distillation(zo, zo).item() < 1e-3


def test_lookahead_pulls_fast_weights_halfway_every_k_steps():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(3))
    q = torch.nn.Parameter(p.detach().clone())  # same trajectory under plain RAdam
    start = p.detach().clone()
    opt = Ranger([p], lr=0.1, weight_decay=0.0, k=3, alpha=0.5)
    plain = torch.optim.RAdam([q], lr=0.1, betas=(0.5, 0.999), decoupled_weight_decay=True)
    grads = [torch.randn(3) for _ in range(3)]
    for g in grads:
        p.grad, q.grad = g.clone(), g.clone()
        opt.step()
        plain.step()
    expected = start + 0.5 * (q.detach() - start)
    assert torch.allclose(p.detach(), expected, atol=1e-6)
    assert torch.allclose(opt.slow[0], expected, atol=1e-6)


def test_cosine_lr_endpoints():
    assert cosine_lr(0, 100, 5e-3, 1e-6) == pytest.approx(5e-3)
    assert cosine_lr(50, 100, 5e-3, 1e-6) == pytest.approx((5e-3 + 1e-6) / 2)
    assert cosine_lr(100, 100, 5e-3, 1e-6) == pytest.approx(1e-6)
