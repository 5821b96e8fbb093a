"""The actors compared on every task; each maps the Task Tokens observation to an action mean.

- `TaskTokenActor`: frozen BFM + trainable task encoder whose output joins the BFM's token set
  (method ``task_tokens``; with the hand-made prompt visible too, ``task_tokens_prior``). With
  ``finetune=True`` every BFM weight trains as well (method ``finetune``); the BFM's normaliser
  statistics stay frozen in both.
- `PromptOnlyActor`: the frozen BFM with the task's hand-made prompt and nothing trained.
- `LatentActor`: a PULSE-style high-level policy that drives the BFM's latent space: an MLP outputs
  a latent (added to the frozen prior's unprompted mean) decoded by the frozen decoder.
- `ScratchActor`: an MLP on proprioception + task observation, no BFM (``ppo_scratch``).
Each actor keeps its own input normaliser and updates it through `update_normalizers`.

`METHODS` is the one registry of methods: how each is built, whether it warm-starts from the
task's prompt, whether it trains (and so owns) a copy of the BFM, whether the prompt is shown, its
PPO adjustments and how many seeds the protocol runs. Training, task-policy files and the sweep
read it; a new method is one entry here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Literal

import torch
from torch import nn

from frozenfit.bfm.model import BFM
from frozenfit.common.distributed import Shard
from frozenfit.common.nets import mlp
from frozenfit.common.normalizer import RunningNorm
from frozenfit.errors import FrozenfitError
from frozenfit.tasktokens.encoder import TaskEncoder
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.humanoid.observations import PROPRIO_DIM



def freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class TaskTokenActor(nn.Module):
    def __init__(self, bfm: BFM, layout: ObsLayout, hidden: tuple[int, ...] = (256, 256), finetune: bool = False):
        super().__init__()
        self.layout = layout
        self.finetune = finetune
        # fine-tuning trains a private copy; Task Tokens keeps the (shared) BFM frozen
        self.bfm = copy.deepcopy(bfm) if finetune else freeze(bfm)
        if finetune:
            for p in self.bfm.parameters():
                p.requires_grad_(True)
        self.encoder = TaskEncoder(layout.encoder_dim, bfm.cfg.width, hidden)

    def token(self, obs: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.layout.encoder_input(obs))

    def cache(self, obs: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
        """The frozen BFM's input tokens of a batch: they depend on the stored observation alone,
        so PPO computes them once per update and reuses them in every epoch (None when fine-tuning,
        where the tokenizers train)."""
        if self.finetune:
            return None
        with torch.no_grad():
            return self.bfm.input_tokens(self.layout.bfm_input(obs))

    def forward(self, obs: torch.Tensor, cached: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
        x = self.layout.bfm_input(obs)
        h, keep = cached if cached is not None else self.bfm.input_tokens(x)
        mu, _ = self.bfm.prior_from_tokens(*self.bfm.append_tokens(h, keep, self.token(obs)))
        return self.bfm.decode(x.state, mu)

    def warm_parameters(self) -> list[nn.Parameter]:
        """What a warm start fits: the encoder (fine-tuning too; its BFM trains only under PPO)."""
        return list(self.encoder.parameters())

    @torch.no_grad()
    def update_normalizers(self, obs: torch.Tensor, shard: Shard = Shard()) -> None:
        self.encoder.norm.update(self.layout.encoder_input(obs), shard)

    def train(self, mode: bool = True):  # the BFM has no dropout/batch-norm, but keep it in eval
        super().train(mode)
        self.bfm.eval()
        return self


class PromptOnlyActor(nn.Module):
    def __init__(self, bfm: BFM, layout: ObsLayout):
        super().__init__()
        self.layout = layout
        self.bfm = freeze(bfm)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.bfm(self.layout.bfm_input(obs))


class LatentActor(nn.Module):
    def __init__(self, bfm: BFM, layout: ObsLayout, hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        self.layout = layout
        self.bfm = freeze(bfm)
        inp = PROPRIO_DIM + layout.task_dim
        self.norm = RunningNorm(inp)
        self.net = mlp(inp, hidden, bfm.cfg.latent)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = self.layout.bfm_input(obs)
        with torch.no_grad():
            mu, _ = self.bfm.prior(x)
        z = mu + self.net(self.norm(self.layout.scratch_input(obs)))
        return self.bfm.decode(x.state, z)

    def warm_parameters(self) -> list[nn.Parameter]:
        """What a warm start fits: the latent head."""
        return list(self.net.parameters())

    @torch.no_grad()
    def update_normalizers(self, obs: torch.Tensor, shard: Shard = Shard()) -> None:
        self.norm.update(self.layout.scratch_input(obs), shard)


class ScratchActor(nn.Module):
    def __init__(self, layout: ObsLayout, act_dim: int, hidden: tuple[int, ...] = (512, 256)):
        super().__init__()
        self.layout = layout
        inp = PROPRIO_DIM + layout.task_dim
        self.norm = RunningNorm(inp)
        self.net = mlp(inp, hidden, act_dim)
        nn.init.orthogonal_(self.net[-1].weight, 0.01)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(self.layout.scratch_input(obs)))

    @torch.no_grad()
    def update_normalizers(self, obs: torch.Tensor, shard: Shard = Shard()) -> None:
        self.norm.update(self.layout.scratch_input(obs), shard)


def trainable_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@dataclass(frozen=True)
class Method:
    """One method of the comparison: how its actor is built and how the protocol runs it."""

    name: str
    build: Callable[[BFM, ObsLayout, int, tuple[int, ...]], nn.Module]   # (bfm, layout, act_dim, hidden)
    seeds: int                       # seeds the protocol (the sweep) runs
    trains: bool = True              # False: evaluated as built (the prompt alone)
    use_prior: bool = False          # the task's hand-made prompt is shown to the BFM
    warm_startable: bool = False     # can start by imitating the prompt (warm_start.py)
    owns_bfm: bool = False           # trains a private BFM copy: its policy file keeps those weights
    ppo: dict = field(default_factory=dict)   # PPOConfig fields this method overrides
    label: str = ""                  # the name figures and videos show


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("task_tokens", lambda b, lay, a, h: TaskTokenActor(b, lay, h), seeds=3, warm_startable=True,
           label="Task Tokens"),
    Method("task_tokens_prior", lambda b, lay, a, h: TaskTokenActor(b, lay, h), seeds=1, use_prior=True,
           label="Task Tokens + prompt"),
    Method("prompt_only", lambda b, lay, a, h: PromptOnlyActor(b, lay), seeds=1, trains=False, use_prior=True,
           label="prompt only"),
    Method("finetune", lambda b, lay, a, h: TaskTokenActor(b, lay, h, finetune=True), seeds=3,
           warm_startable=True, owns_bfm=True, label="fine-tuning"),
    # from scratch the policy needs its own, learnable exploration noise
    Method("ppo_scratch", lambda b, lay, a, h: ScratchActor(lay, a), seeds=3,
           ppo={"learn_std": True, "init_log_std": -1.0, "lr": 3e-4, "lr_final": 5e-5, "bounds_coef": 1.0,
                "action_bound": 1.2}, label="PPO from scratch"),
    Method("latent_policy", lambda b, lay, a, h: LatentActor(b, lay, h), seeds=1, warm_startable=True,
           label="latent policy"),
)}

MethodName = Literal[tuple(METHODS)]   # a config field of this type lists the methods in --help


def method(name: str) -> Method:
    """The registered method ``name`` (a clear error listing the known ones otherwise)."""
    if name not in METHODS:
        raise FrozenfitError(f"unknown method '{name}'; known: {', '.join(METHODS)}")
    return METHODS[name]


def build_actor(name: str, bfm: BFM, layout: ObsLayout, act_dim: int,
                encoder_hidden: tuple[int, ...] = (256, 256)) -> nn.Module:
    """A fresh actor of method ``name`` on ``bfm``."""
    return method(name).build(bfm, layout, act_dim, tuple(encoder_hidden))
