"""Weight-importance pruning: exact counts, the right weights, each scope."""

import pytest
import torch

from frozenfit.errors import FrozenfitError
from frozenfit.nern.pruning import prune_scores, prune_weights


def _weights():
    g = torch.Generator().manual_seed(0)
    orig = {"a": torch.randn(8, 4, 3, 3, generator=g), "b": torch.randn(16, 8, 3, 3, generator=g) * 0.1}
    recon = {k: v + 0.05 * torch.randn(v.shape, generator=g) for k, v in orig.items()}
    return orig, recon


@pytest.mark.parametrize("scope", ["layer", "global"])
@pytest.mark.parametrize("method", ["nern", "magnitude", "random"])
def test_prunes_exactly_the_ratio(scope, method):
    orig, recon = _weights()
    out = prune_weights(orig, recon, 0.3, method, scope, torch.Generator().manual_seed(1))
    total = sum(v.numel() for v in orig.values())
    zeros = sum(int((out[k] == 0).sum()) for k in out)
    assert zeros == round(0.3 * total) if scope == "global" else zeros == sum(round(0.3 * v.numel()) for v in orig.values())
    for k in out:  # survivors are untouched
        keep = out[k] != 0
        assert torch.equal(out[k][keep], orig[k][keep])
    if scope == "layer":
        for k in out:
            assert int((out[k] == 0).sum()) == round(0.3 * orig[k].numel())


def test_nern_prunes_the_worst_reconstructed_weights():
    w = torch.tensor([[1.0, 2.0, -4.0, 0.5]])
    rec = torch.tensor([[1.0, 1.0, -4.4, 0.5]])  # relative errors 0, 0.5, 0.1, 0
    assert torch.allclose(prune_scores(w, rec, "nern"), torch.tensor([[0.0, 0.5, 0.1, 0.0]]))
    out = prune_weights({"w": w}, {"w": rec}, 0.5, "nern")["w"]
    assert torch.equal(out, torch.tensor([[1.0, 0.0, 0.0, 0.5]]))
    mag = prune_weights({"w": w}, None, 0.5, "magnitude")["w"]
    assert torch.equal(mag, torch.tensor([[0.0, 2.0, -4.0, 0.0]]))


def test_global_magnitude_prunes_the_small_layer_first():
    orig, _ = _weights()  # layer b is 10x smaller in scale
    out = prune_weights(orig, None, 0.3, "magnitude", "global")
    zeros = {k: int((out[k] == 0).sum()) for k in out}
    assert zeros["a"] + zeros["b"] == round(0.3 * 1440) and zeros["b"] > 10 * zeros["a"]


def test_bad_arguments_are_clear():
    orig, recon = _weights()
    with pytest.raises(FrozenfitError, match="ratio"):
        prune_weights(orig, recon, 1.2, "nern")
    with pytest.raises(FrozenfitError, match="reconstructed"):
        prune_weights(orig, None, 0.2, "nern")
    with pytest.raises(FrozenfitError, match="unknown pruning method"):
        prune_weights(orig, recon, 0.2, "biggest")
