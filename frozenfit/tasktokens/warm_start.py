"""Warm start: fit the task token to imitate the task's hand-made prompt before PPO (beyond the paper).

The unprompted BFM stands still, and for a standing humanoid a tracking reward such as Direction's
exp(-10 e^2) is ~0 everywhere near it, so PPO with the reference's tiny fixed action noise finds no
signal in a CPU budget. The hand-made prompt, though, already makes the BFM do roughly the right
thing. Online DAgger moves that knowledge into the token: the token-only BFM acts, the
same frozen BFM *with the prompt* labels each state, and the encoder regresses the labels through
the frozen transformer. PPO then starts from a token that walks, and the final policy needs no
prompt at run time. The same fit serves the fine-tuning baseline (its token; PPO then trains every
weight) and the latent-space policy (its latent head, through the frozen decoder), so every
BFM-based method starts from the prompt's behaviour.
"""

from __future__ import annotations

import torch

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig
from frozenfit.tasktokens.env import make_env
from frozenfit.tasktokens.policies import LatentActor, TaskTokenActor
from frozenfit.tasktokens.tasks import make_task


WARM_ENVS, WARM_HORIZON = 256, 16


def warm_start(actor: TaskTokenActor | LatentActor, task: str, iterations: int, num_envs: int = WARM_ENVS,
               horizon: int = WARM_HORIZON,
               lr: float = 1e-3, epochs: int = 4, minibatch: int = 1024, seed: int = 0,
               nthread: int = 2, task_cfg=None) -> list[float]:
    """Online DAgger of the actor's warm parameters (token encoder or latent head) toward the prompted
    BFM; returns the loss per iteration."""
    t = make_task(task, num_envs, task_cfg)
    if not t.has_prior:
        raise FrozenfitError(f"task '{task}' has no hand-made prompt to warm-start from")
    env, adapter = make_env(t, EnvConfig(num_envs=num_envs, episode_seconds=30.0, seed=seed + 7, nthread=nthread,
                                         humanoid_version=actor.bfm.humanoid_version),
                            actor.bfm.cfg.history_offsets, use_prior=True)
    layout, bfm = adapter.layout, actor.bfm
    vis = layout.slice("visible")
    opt = torch.optim.Adam(actor.warm_parameters(), lr=lr)
    losses = []
    try:
        obs = env.reset()
        for it in range(iterations):
            batch = []
            for _ in range(horizon):
                plain = obs.clone()
                plain[:, vis] = 0.0           # the student sees no prompt, only its token
                actor.update_normalizers(plain)
                with torch.no_grad():
                    label = bfm(layout.bfm_input(obs))
                    act = actor(plain) if it > 0 else label
                batch.append((plain, label))
                obs = env.step(act).obs
            plain = torch.cat([b[0] for b in batch])
            label = torch.cat([b[1] for b in batch])
            total = 0.0
            for _ in range(epochs):
                for idx in torch.randperm(plain.shape[0]).split(minibatch):
                    loss = (actor(plain[idx]) - label[idx]).pow(2).mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += loss.item()
            losses.append(total / (epochs * -(-plain.shape[0] // minibatch)))
    finally:
        env.close()
    return losses
