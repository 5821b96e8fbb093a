"""The behavior foundation model: a masked-prompt transformer prior with a conditional-VAE head.

Tokens (one small tokenizer MLP per type, each with its own running input normalisation, plus a
learned type embedding): the state token first, history tokens, and the visible prompt tokens.
Masked prompt tokens are removed from attention with a key-padding mask, so their content cannot
reach the output. Extra tokens supplied from outside (already of the model's width, e.g. a Task
Token) are appended to the set without touching any weight.

The transformer (pre-LN) output at the state token is the prior's (mu, log var) over a latent z.
During distillation an encoder that sees the full goal adds a residual to mu (MaskedMimic's
posterior); a decoder maps (proprioception, z) to the action. At inference z = prior mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from frozenfit.bfm.tokens import HISTORY_DIM, PROMPT_LAYOUTS, PROMPTS, BFMInput, prompt_layout
from frozenfit.humanoid.observations import NUM_JOINTS, PROPRIO_DIM
from frozenfit.common.nets import mlp
from frozenfit.common.distributed import Shard
from frozenfit.common.normalizer import RunningNorm
from frozenfit.teacher.goals import goal_obs_dim


@dataclass
class BFMConfig:
    """Architecture; the defaults are sized for distillation on a 2-core CPU (checkpoint < 10 MB)."""

    width: int = 128
    layers: int = 3
    heads: int = 4
    ff: int = 256
    tokenizer_hidden: int = 256
    latent: int = 64
    encoder_hidden: tuple[int, ...] = (256, 256)
    decoder_hidden: tuple[int, ...] = (512, 256)
    history_offsets: tuple[int, ...] = (2, 5, 10)   # control steps back (33 Hz): 0.06, 0.15, 0.3 s
    prompts: tuple[str, ...] = PROMPTS              # prompt token types this model reads
    goal_version: int = 1
    """The teacher's goal set (1: the shipped BFM's; 2 adds the jump prompt, `BFMConfig.v2`)."""

    def __post_init__(self):
        if self.goal_version not in PROMPT_LAYOUTS:
            return   # refused where the model is built (a bad number first gets the command line's one-line check)
        known = prompt_layout(self.goal_version).names
        unknown = set(self.prompts) - set(known)
        if unknown:
            raise ValueError(f"unknown prompt token types {sorted(unknown)}; known: {known}")

    @classmethod
    def v2(cls, **over) -> "BFMConfig":
        """A BFM for goal set 2: every prompt type of its layout, the jump's included."""
        return cls(**{"goal_version": 2, "prompts": prompt_layout(2).names, **over})


class Tokenizer(nn.Module):
    """Running-normalised input -> MLP -> one token of the model's width."""

    def __init__(self, inp: int, hidden: int, width: int):
        super().__init__()
        self.norm = RunningNorm(inp)
        self.net = mlp(inp, (hidden,), width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(x))


class Block(nn.Module):
    """Pre-LN transformer block; ``keep`` (N, T) bool removes masked tokens as keys."""

    def __init__(self, width: int, heads: int, ff: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ff = nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Linear(ff, width))

    def forward(self, x: torch.Tensor, keep: torch.Tensor, first_only: bool = False) -> torch.Tensor:
        """``first_only``: compute the output of the first (state) token only; the last block needs
        nothing else, which saves most of its cost."""
        n, t, w = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(n, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        if first_only:
            q, x, t = q[:, :, :1], x[:, :1], 1
        if torch.is_autocast_enabled("cpu"):
            # bfloat16: plain batched matmuls beat the fused CPU kernel ~2x on these few-token sets
            s = (q @ k.transpose(-1, -2)) * (w // self.heads) ** -0.5
            a = s.masked_fill(~keep[:, None, None, :], float("-inf")).softmax(-1).to(v.dtype) @ v
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])
        x = x + self.proj(a.transpose(1, 2).reshape(n, t, w))
        return x + self.ff(self.ln2(x))


class BFM(nn.Module):
    """Masked-prompt transformer prior + encoder + decoder (see the module docstring)."""

    def __init__(self, cfg: BFMConfig):
        super().__init__()
        if cfg.width % cfg.heads:
            raise ValueError(f"width {cfg.width} is not divisible by heads {cfg.heads}")
        self.cfg = cfg
        self.humanoid_version = cfg.goal_version   # each goal set is laid out for its own humanoid
        w = cfg.width
        self.prompt_layout = prompt_layout(cfg.goal_version)
        slices = self.prompt_layout.slices
        dims = {"state": PROPRIO_DIM, "history": HISTORY_DIM}
        dims.update({p: slices[p].stop - slices[p].start for p in cfg.prompts})
        self.tokenizers = nn.ModuleDict({name: Tokenizer(d, cfg.tokenizer_hidden, w) for name, d in dims.items()})
        self.type_embed = nn.ParameterDict({name: nn.Parameter(torch.randn(w) * 0.02) for name in dims})
        self.blocks = nn.ModuleList(Block(w, cfg.heads, cfg.ff) for _ in range(cfg.layers))
        self.out_norm = nn.LayerNorm(w)
        self.prior_head = nn.Linear(w, 2 * cfg.latent)
        teacher_goal = goal_obs_dim(cfg.goal_version)
        self.encoder_norm = RunningNorm(PROPRIO_DIM + teacher_goal)
        self.encoder = mlp(PROPRIO_DIM + teacher_goal, cfg.encoder_hidden, 2 * cfg.latent)
        self.decoder = mlp(PROPRIO_DIM + cfg.latent, cfg.decoder_hidden, NUM_JOINTS)
        for head in (self.prior_head, self.encoder[-1]):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    @property
    def history_len(self) -> int:
        return len(self.cfg.history_offsets)

    # -- tokens ------------------------------------------------------------------------------------
    def input_tokens(self, x: BFMInput) -> tuple[torch.Tensor, torch.Tensor]:
        """The tokens of the model's own inputs (N, T, width) and which are kept (N, T) bool; state
        token first. They depend on ``x`` alone, so a caller adapting a frozen BFM can compute them
        once per sample (`TaskTokenActor.cache`)."""
        x.check(self.history_len, self.prompt_layout)
        n = len(x)
        tk, emb = self.tokenizers, self.type_embed
        seq = [tk["state"](x.state)[:, None] + emb["state"], tk["history"](x.history) + emb["history"]]
        keep = [torch.ones(n, 1 + self.history_len, dtype=torch.bool)]
        slices = self.prompt_layout.slices
        for i, name in enumerate(self.prompt_layout.names):
            if not x.visible[:, i].any():  # masked everywhere: leaving it out is exact and cheaper
                continue
            if name not in tk:
                raise ValueError(f"this BFM was distilled without '{name}' prompts (it reads {self.cfg.prompts})")
            seq.append((tk[name](x.goal[:, slices[name]]) + emb[name])[:, None])
            keep.append(x.visible[:, i:i + 1].bool())
        return torch.cat(seq, 1), torch.cat(keep, 1)

    def append_tokens(self, h: torch.Tensor, keep: torch.Tensor,
                      extra_tokens: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The token set with tokens supplied from outside (N, width) or (N, K, width) appended."""
        if extra_tokens is None:
            return h, keep
        n = h.shape[0]
        if extra_tokens.dim() == 2:
            extra_tokens = extra_tokens[:, None]
        if extra_tokens.shape[0] != n or extra_tokens.shape[-1] != self.cfg.width:
            raise ValueError(f"extra tokens must be (N, K, {self.cfg.width}) with N={n}, "
                             f"got {tuple(extra_tokens.shape)}")
        return (torch.cat([h, extra_tokens.to(h.dtype)], 1),
                torch.cat([keep, torch.ones(n, extra_tokens.shape[1], dtype=torch.bool)], 1))

    def tokens(self, x: BFMInput, extra_tokens: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole token set and its keep mask: the input tokens, then any extra tokens."""
        return self.append_tokens(*self.input_tokens(x), extra_tokens)

    # -- the three parts -----------------------------------------------------------------------------
    def prior(self, x: BFMInput, extra_tokens: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log var) of the prior over the latent, read at the state token."""
        return self.prior_from_tokens(*self.tokens(x, extra_tokens))

    def prior_from_tokens(self, h: torch.Tensor, keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The prior given a token set (`tokens`)."""
        for i, block in enumerate(self.blocks):
            h = block(h, keep, first_only=i == len(self.blocks) - 1)
        mu, logvar = self.prior_head(self.out_norm(h[:, 0])).chunk(2, -1)
        return mu, logvar.clamp(-10, 4)

    def posterior(self, x: BFMInput, teacher_obs: torch.Tensor, mu_p: torch.Tensor):
        """The encoder sees the full goal and adds a residual to the prior mean."""
        d_mu, logvar = self.encoder(self.encoder_norm(teacher_obs)).chunk(2, -1)
        return mu_p + d_mu, logvar.clamp(-10, 4)

    def decode(self, state: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Action (normalised PD offsets) from proprioception and a latent."""
        return self.decoder(torch.cat([self.tokenizers["state"].norm(state), z], -1))

    def forward(self, x: BFMInput, extra_tokens: torch.Tensor | None = None) -> torch.Tensor:
        """Inference action: the decoder applied at the prior mean."""
        mu, _ = self.prior(x, extra_tokens)
        return self.decode(x.state, mu)

    @torch.no_grad()
    def update_normalizers(self, x: BFMInput, teacher_obs: torch.Tensor, shard: Shard = Shard()) -> None:
        """Running statistics from a rollout (every rank's, under data parallelism); prompt
        statistics only from samples that show the prompt."""
        self.tokenizers["state"].norm.update(x.state, shard)
        self.tokenizers["history"].norm.update(x.history.reshape(-1, x.history.shape[-1]), shard)
        for i, (name, sl) in enumerate(self.prompt_layout.slices.items()):
            if name in self.tokenizers:   # called on every rank, even with no sample showing it here
                self.tokenizers[name].norm.update(x.goal[x.visible[:, i].bool()][:, sl], shard)
        self.encoder_norm.update(teacher_obs, shard)


def kl_divergence(mu_q, logvar_q, mu_p, logvar_p) -> torch.Tensor:
    """KL(N(mu_q, var_q) || N(mu_p, var_p)) summed over latent dims, (N,)."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1).sum(-1)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
