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
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from frozenfit.bfm.model import BFM, _mlp
from frozenfit.rl.normalizer import RunningNorm
from frozenfit.tasktokens.encoder import TaskEncoder
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.humanoid.observations import PROPRIO_DIM

METHODS = ("task_tokens", "task_tokens_prior", "prompt_only", "finetune", "ppo_scratch", "latent_policy")


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

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.bfm(self.layout.bfm_input(obs), self.token(obs))

    def warm_parameters(self) -> list[nn.Parameter]:
        """What a warm start fits: the encoder (fine-tuning too; its BFM trains only under PPO)."""
        return list(self.encoder.parameters())

    @torch.no_grad()
    def update_normalizers(self, obs: torch.Tensor) -> None:
        self.encoder.norm.update(self.layout.encoder_input(obs))

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
        self.net = _mlp(inp, hidden, bfm.cfg.latent)
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
    def update_normalizers(self, obs: torch.Tensor) -> None:
        self.norm.update(self.layout.scratch_input(obs))


class ScratchActor(nn.Module):
    def __init__(self, layout: ObsLayout, act_dim: int, hidden: tuple[int, ...] = (512, 256)):
        super().__init__()
        self.layout = layout
        inp = PROPRIO_DIM + layout.task_dim
        self.norm = RunningNorm(inp)
        self.net = _mlp(inp, hidden, act_dim)
        nn.init.orthogonal_(self.net[-1].weight, 0.01)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(self.layout.scratch_input(obs)))

    @torch.no_grad()
    def update_normalizers(self, obs: torch.Tensor) -> None:
        self.norm.update(self.layout.scratch_input(obs))


def trainable_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
