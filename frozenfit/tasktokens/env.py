"""The Task Tokens environment: a task plus everything the frozen BFM reads, in one observation.

PPO treats the policy as a function of the observation, so the BFM's recurrent inputs (the history
ring buffer) and the task's hand-made prompt are part of it. `ObsLayout` names every slice:

    [ proprioception | history tokens' inputs | prompt goal | prompt visible | current pose (6) | task obs ]

The current pose is the paper's 6 proprioceptive encoder inputs, made heading-invariant: pelvis
height, pelvis planar velocity in the heading frame (2) and head position relative to the pelvis
in the heading frame (3).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from frozenfit.bfm.tokens import HISTORY_DIM, BFMInput, History, prompt_layout
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import CONTROL_DT
from frozenfit.humanoid.observations import PROPRIO_DIM, local_body_pos, root_heading, to_heading_frame
from frozenfit.tasktokens.tasks.base import TokenTask
from frozenfit.humanoid.model import HEAD_IDX

POSE_DIM = 6


@dataclass(frozen=True)
class ObsLayout:
    """Where each part lives in the Task Tokens observation."""

    history_len: int
    task_dim: int
    goal_version: int = 1   # the BFM's goal set: its prompt layout (`frozenfit.bfm.tokens.PROMPT_LAYOUTS`)

    @cached_property
    def _bounds(self) -> dict[str, tuple[int, int]]:  # computed once: slice() runs on every forward
        prompt = prompt_layout(self.goal_version)
        sizes = {"state": PROPRIO_DIM, "history": self.history_len * HISTORY_DIM, "goal": prompt.dim,
                 "visible": len(prompt.names), "pose": POSE_DIM, "task": self.task_dim}
        out, start = {}, 0
        for name, size in sizes.items():
            out[name] = (start, start + size)
            start += size
        return out

    def slice(self, name: str) -> slice:
        return slice(*self._bounds[name])

    @property
    def dim(self) -> int:
        return self._bounds["task"][1]

    @property
    def encoder_dim(self) -> int:
        """Task-encoder input: task observation + current pose."""
        return self.task_dim + POSE_DIM

    def bfm_input(self, obs: torch.Tensor) -> BFMInput:
        n = obs.shape[0]
        return BFMInput(obs[:, self.slice("state")],
                        obs[:, self.slice("history")].reshape(n, self.history_len, HISTORY_DIM),
                        obs[:, self.slice("goal")], obs[:, self.slice("visible")] > 0.5)

    def encoder_input(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.cat([obs[:, self.slice("task")], obs[:, self.slice("pose")]], 1)

    def scratch_input(self, obs: torch.Tensor) -> torch.Tensor:
        """What a policy without the BFM reads: proprioception + task observation."""
        return torch.cat([obs[:, self.slice("state")], obs[:, self.slice("task")]], 1)


def current_pose(env) -> torch.Tensor:
    """The encoder's 6 proprioceptive inputs (see the module docstring)."""
    f = env.frame
    yaw = root_heading(f)
    head = local_body_pos(f, yaw)[:, HEAD_IDX]
    return torch.cat([f.body_pos[:, 0, 2:3], to_heading_frame(env.root_planar_vel, yaw), head], 1)


class BFMTaskAdapter:
    """Wraps a `TokenTask` so `HumanoidEnv` emits the Task Tokens observation (see `ObsLayout`).

    ``use_prior`` shows the task's hand-made prompt to the BFM; otherwise every prompt is masked.
    """

    def __init__(self, task: TokenTask, history_offsets: tuple[int, ...], dt: float, use_prior: bool = False,
                 goal_version: int = 1):
        if use_prior and not task.has_prior:
            raise ValueError(f"task '{task.name}' has no hand-made prompt prior")
        self.task, self.use_prior = task, use_prior
        self.history = History(task.num_envs, history_offsets, dt)
        self.layout = ObsLayout(len(history_offsets), task.obs_dim, goal_version)
        self.obs_dim = self.layout.dim - PROPRIO_DIM  # HumanoidEnv prepends proprioception
        self.box = getattr(task, "box", None)          # scene objects pass through to HumanoidEnv

    def place_objects(self, env, idx: torch.Tensor, qpos, qvel) -> None:
        if hasattr(self.task, "place_objects"):
            self.task.place_objects(env, idx, qpos, qvel)

    def reset(self, env, idx: torch.Tensor) -> None:
        self.task.reset(env, idx)
        self.history.reset(env.frame, idx)

    def advance(self, env) -> None:
        self.history.push(env.frame)
        self.task.advance(env)

    def observe(self, env) -> torch.Tensor:
        n = env.num_envs
        if self.use_prior:
            goal, vis = self.task.prior(env)
        else:
            sizes = self.layout.slice("goal"), self.layout.slice("visible")
            goal = torch.zeros(n, sizes[0].stop - sizes[0].start)
            vis = torch.zeros(n, sizes[1].stop - sizes[1].start, dtype=torch.bool)
        return torch.cat([self.history.features().reshape(n, -1), goal, vis.float(), current_pose(env),
                          self.task.observe(env)], 1)

    def reward(self, env):
        return self.task.reward(env)

    def terminated(self, env) -> torch.Tensor:
        return self.task.terminated(env)

    def state_dict(self) -> dict:
        return self.task.state_dict()

    def load_state_dict(self, d: dict) -> None:
        self.task.load_state_dict(d)


def make_env(task: TokenTask, env_cfg: EnvConfig, history_offsets: tuple[int, ...],
             use_prior: bool = False) -> tuple[HumanoidEnv, BFMTaskAdapter]:
    """A batched humanoid environment emitting the Task Tokens observation for ``task``; the BFM's
    goal set is the humanoid version's (each goal set is laid out for its own humanoid)."""
    adapter = BFMTaskAdapter(task, history_offsets, CONTROL_DT, use_prior, env_cfg.humanoid_version)
    return HumanoidEnv(env_cfg, adapter), adapter
