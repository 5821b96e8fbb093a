"""A thin Gymnasium vector-env view of `HumanoidEnv`, to plug in other RL libraries.

Gymnasium is optional (``pip install frozenfit[gym]``). Environments auto-reset in the same step
(Gymnasium's SAME_STEP mode): the observation returned for a finished environment is the first of
its next episode, and the last one of the finished episode is in ``info["final_obs"]``.
"""

from __future__ import annotations

import numpy as np
import torch

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import HumanoidEnv

try:
    import gymnasium
    from gymnasium.vector import AutoresetMode, VectorEnv
    from gymnasium.vector.utils import batch_space
except ImportError:  # pragma: no cover - exercised only without gymnasium installed
    gymnasium = None
    VectorEnv = object


class GymVectorEnv(VectorEnv):
    """`gymnasium.vector.VectorEnv` over a batched `HumanoidEnv` (numpy in, numpy out)."""

    def __init__(self, env: HumanoidEnv):
        if gymnasium is None:
            raise FrozenfitError("GymVectorEnv needs gymnasium: pip install 'frozenfit[gym]'")
        self.env = env
        self.num_envs = env.num_envs
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
        self.single_observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (env.obs_dim,), np.float32)
        self.single_action_space = gymnasium.spaces.Box(-1.0, 1.0, (env.num_actions,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.env.gen.manual_seed(seed)
        return self.env.reset().numpy(), {}

    def step(self, actions):
        actions = np.asarray(actions, dtype=np.float32)
        if actions.shape != (self.num_envs, self.env.num_actions):
            raise FrozenfitError(f"actions have shape {actions.shape}, expected {(self.num_envs, self.env.num_actions)}")
        r = self.env.step(torch.from_numpy(actions))
        done = (r.terminated | r.truncated).numpy()
        info = {"final_obs": np.where(done[:, None], r.final_obs.numpy(), np.nan).astype(np.float32),
                "_final_obs": done, "nan_resets": self.env.nan_resets,
                **{f"reward_{k}": v.numpy() for k, v in r.terms.items()}}
        return r.obs.numpy(), r.reward.numpy(), r.terminated.numpy(), r.truncated.numpy(), info

    def close_extras(self, **kwargs) -> None:
        self.env.close()
