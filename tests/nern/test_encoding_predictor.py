import math

import pytest
import torch

from frozenfit.nern.encoding import encoding_dim, positional_encoding
from frozenfit.nern.predictor import KernelPredictor, predictor_param_count


def test_encoding_shape_and_values():
    coords = torch.tensor([[0, 0, 0], [3, 17, 250]])
    enc = positional_encoding(coords)
    assert enc.shape == (2, 240) == (2, encoding_dim())
    # coordinate 0 encodes to sin=0, cos=1 for every frequency
    assert torch.allclose(enc[0, :40], torch.zeros(40)) and torch.allclose(enc[0, 40:80], torch.ones(40))
    # second coordinate (17), frequency j=5: sin(pi * 0.76**5 * 17)
    assert enc[1, 80 + 5].item() == pytest.approx(math.sin(math.pi * 0.76**5 * 17), abs=1e-6)
    assert enc[1, 120 + 5].item() == pytest.approx(math.cos(math.pi * 0.76**5 * 17), abs=1e-6)


def test_encoding_separates_integer_grid():
    # raw integers with frequencies <= pi: distinct integers never collide
    n = torch.arange(0, 2048)
    enc = positional_encoding(torch.stack([n, n, n], 1))[:, :80]
    d = torch.cdist(enc, enc)
    d.fill_diagonal_(float("inf"))
    assert d.min() > 1e-3


def test_encoding_rejects_bad_shape():
    with pytest.raises(ValueError):
        positional_encoding(torch.zeros(4, 2))


@pytest.mark.parametrize("h", [8, 140, 180, 320])
def test_predictor_param_count_matches_paper_formula(h):
    p = KernelPredictor(h)
    n = sum(q.numel() for q in p.parameters())
    assert n == predictor_param_count(h) == 3 * h * h + 253 * h + 9
    assert len([m for m in p.modules() if isinstance(m, torch.nn.Linear)]) == 5


def test_predictor_output_sizes_and_chunking():
    p = KernelPredictor(16, kernel_size=7)
    x = torch.randn(100, 240)
    assert p(x).shape == (100, 49)
    assert torch.allclose(p.predict_chunked(x, chunk=7), p(x), atol=1e-6)
