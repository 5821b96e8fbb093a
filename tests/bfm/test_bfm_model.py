import pytest
import torch

from frozenfit.bfm.model import BFM, BFMConfig, kl_divergence
from frozenfit.bfm.tokens import HISTORY_DIM, LEGACY_PROMPTS, PROMPT_DIM, PROMPT_SLICES, PROMPTS, BFMInput
from frozenfit.humanoid.observations import PROPRIO_DIM

TINY = BFMConfig(width=32, layers=2, heads=4, ff=64, tokenizer_hidden=32, latent=8,
                 encoder_hidden=(32,), decoder_hidden=(32,))


def _input(n=6, visible=None):
    h = len(TINY.history_offsets)
    vis = torch.ones(n, len(PROMPTS), dtype=torch.bool) if visible is None else visible
    return BFMInput(torch.randn(n, PROPRIO_DIM), torch.randn(n, h, HISTORY_DIM), torch.randn(n, PROMPT_DIM), vis)


def _randomise_norms(bfm):
    with torch.no_grad():
        for m in bfm.modules():
            if hasattr(m, "mean") and hasattr(m, "var"):
                m.mean.normal_()
                m.var.uniform_(0.5, 2.0)
        bfm.prior_head.weight.normal_(0, 0.1)  # zero-initialised: give the prior something to say


def test_masked_prompt_tokens_do_not_influence_the_action():
    bfm = BFM(TINY).eval()
    _randomise_norms(bfm)
    vis = torch.ones(6, len(PROMPTS), dtype=torch.bool)
    vis[:, PROMPTS.index("facing")] = False
    vis[:3, PROMPTS.index("body")] = False
    vis[:2, PROMPTS.index("keyframe")] = False
    x = _input(visible=vis)
    a = bfm(x)
    y = BFMInput(x.state, x.history, x.goal.clone(), x.visible)
    y.goal[:, PROMPT_SLICES["facing"]] = torch.randn(6, 2) * 100
    y.goal[:3, PROMPT_SLICES["body"]] = torch.randn(3, 31) * 100
    y.goal[:2, PROMPT_SLICES["keyframe"]] = torch.randn(2, 12) * 100
    assert torch.equal(bfm(y), a)  # bit-identical
    # ... while a visible token's content does change it (the test above is not vacuous)
    y.goal[:, PROMPT_SLICES["velocity"]] += 1.0
    assert not torch.allclose(bfm(y), a)
    y = BFMInput(x.state, x.history, x.goal.clone(), x.visible)
    y.goal[3:, PROMPT_SLICES["body"]] += 1.0
    changed = (bfm(y) - a).abs().sum(1) > 0
    assert changed.tolist() == [False] * 3 + [True] * 3
    y = BFMInput(x.state, x.history, x.goal.clone(), x.visible)
    y.goal[:, PROMPT_SLICES["keyframe"]] += 1.0
    changed = (bfm(y) - a).abs().sum(1) > 0
    assert changed.tolist() == [False] * 2 + [True] * 4


def test_a_bfm_without_keyframe_prompts_refuses_them_clearly():
    from dataclasses import replace
    bfm = BFM(replace(TINY, prompts=LEGACY_PROMPTS)).eval()
    assert "keyframe" not in bfm.tokenizers
    vis = torch.ones(4, len(PROMPTS), dtype=torch.bool)
    vis[:, PROMPTS.index("keyframe")] = False
    assert bfm(_input(4, vis)).shape == (4, 23)      # everything else works as before
    with pytest.raises(ValueError, match="without 'keyframe' prompts"):
        bfm(_input(4))
    with pytest.raises(ValueError, match="unknown prompt token types"):
        BFMConfig(prompts=("velocity", "text"))


def test_extra_tokens_change_the_output_without_touching_weights():
    bfm = BFM(TINY).eval()
    _randomise_norms(bfm)
    before = {k: v.clone() for k, v in bfm.state_dict().items()}
    x = _input()
    a = bfm(x)
    extra = torch.randn(6, TINY.width)
    b = bfm(x, extra)
    assert not torch.allclose(a, b)
    assert bfm(x, torch.randn(6, 2, TINY.width)).shape == (6, 23)  # several tokens
    assert all(torch.equal(v, bfm.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ValueError, match="extra tokens"):
        bfm(x, torch.randn(6, TINY.width + 1))


def test_gradients_reach_an_extra_token_through_a_frozen_bfm():
    bfm = BFM(TINY)
    _randomise_norms(bfm)
    for p in bfm.parameters():
        p.requires_grad_(False)
    token = torch.zeros(6, TINY.width, requires_grad=True)
    bfm(_input(), token).sum().backward()
    assert token.grad is not None and token.grad.abs().sum() > 0


def test_input_shapes_are_checked():
    bfm = BFM(TINY)
    x = _input()
    bad = BFMInput(x.state[:, :10], x.history, x.goal, x.visible)
    with pytest.raises(ValueError, match="state"):
        bfm(bad)
    bad = BFMInput(x.state, x.history[:, :1], x.goal, x.visible)
    with pytest.raises(ValueError, match="history"):
        bfm(bad)


def test_kl_divergence_matches_closed_form():
    mu_q, lv_q = torch.tensor([[0.5]]), torch.tensor([[0.2]])
    mu_p, lv_p = torch.tensor([[-0.3]]), torch.tensor([[-0.4]])
    var_q, var_p = lv_q.exp(), lv_p.exp()
    want = 0.5 * (torch.log(var_p / var_q) + (var_q + (mu_q - mu_p) ** 2) / var_p - 1)
    assert torch.allclose(kl_divergence(mu_q, lv_q, mu_p, lv_p), want.sum(-1))
    assert float(kl_divergence(mu_p, lv_p, mu_p, lv_p)) == pytest.approx(0.0, abs=1e-7)
