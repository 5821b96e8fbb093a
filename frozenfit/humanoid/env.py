"""The batched humanoid environment: physics + proprioception + a pluggable task.

A task (the teacher's goal task, or one of the Task Tokens tasks) supplies its own observation,
named reward terms, termination and goal schedule; the environment owns stepping, resets (falls,
time limits, exploded simulations) and the action-to-PD-target mapping. Everything is batched over
environments: no per-environment Python loop runs on the step path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np
import torch

from frozenfit.humanoid.model import CONTROL_DT, JOINT_QPOS, LAYOUTS, PhysicsConfig, joint_table
from frozenfit.humanoid.observations import NUM_JOINTS, PROPRIO_DIM, proprioception
from frozenfit.humanoid.rotations import yaw_quat
from frozenfit.humanoid.sim import BatchedSim, Frame
from frozenfit.humanoid.worlds import WorldRandomization


class Task(Protocol):
    """What a task adds to the environment."""

    obs_dim: int

    def reset(self, env: "HumanoidEnv", idx: torch.Tensor) -> None: ...
    def observe(self, env: "HumanoidEnv") -> torch.Tensor: ...
    def reward(self, env: "HumanoidEnv") -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...
    def terminated(self, env: "HumanoidEnv") -> torch.Tensor: ...
    def advance(self, env: "HumanoidEnv") -> None: ...


# Optional task attributes the environment reads:
#   box: BoxSpec -- the scene gets a free box (e.g. the Strike task);
#   place_objects(env, idx, qpos, qvel) -- edit the reset states (numpy, (k, nq) / (k, nv)) of the
#   environments ``idx`` in place before they are set, e.g. to put the box somewhere.

@dataclass
class EnvConfig:
    """Batched environment settings."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("init_joint_noise",)  # see common.checks

    num_envs: int = 256
    episode_seconds: float = 20.0
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    nthread: int = 2
    init_joint_noise: float = 0.05  # rad, uniform around the nominal pose at reset
    seed: int = 0
    humanoid_version: int = 1
    """1: the humanoid the shipped checkpoints were trained on; 2: hinges ordered x-z-y and
    DeepMimic's proportions (README, "Human motion data")."""
    worlds: WorldRandomization = field(default_factory=WorldRandomization)
    """Randomised physics and rough ground per environment (`frozenfit.humanoid.worlds`; off by default)."""


def humanoid_version_of(env) -> int:
    """The humanoid version an environment runs (1 for a stand-in without a config, as tests build)."""
    return getattr(getattr(env, "cfg", None), "humanoid_version", 1)


@dataclass
class StepResult:
    obs: torch.Tensor          # next observation (first observation of a new episode where done)
    reward: torch.Tensor
    terminated: torch.Tensor   # fell / exploded: no bootstrapping
    truncated: torch.Tensor    # time limit: bootstrap from final_obs
    final_obs: torch.Tensor    # observation before the reset (rows valid where done)
    terms: dict[str, torch.Tensor]


class HumanoidEnv:
    """N humanoids and one task, stepped together."""

    def __init__(self, cfg: EnvConfig, task: Task):
        self.cfg = cfg
        self.task = task
        self.num_envs = cfg.num_envs
        self.sim = BatchedSim(cfg.num_envs, cfg.physics, cfg.nthread, box=getattr(task, "box", None),
                              version=cfg.humanoid_version, worlds=cfg.worlds)
        self.layout = LAYOUTS[cfg.humanoid_version]
        table = joint_table(cfg.humanoid_version)
        self.nominal = torch.tensor([r[4] for r in table], dtype=torch.float32)
        self.action_scale = torch.tensor([r[5] for r in table], dtype=torch.float32)
        self.num_actions = NUM_JOINTS
        self.obs_dim = PROPRIO_DIM + task.obs_dim
        self.max_steps = int(round(cfg.episode_seconds / CONTROL_DT))
        self.dt = CONTROL_DT
        self.gen = torch.Generator().manual_seed(cfg.seed)
        n = cfg.num_envs
        self.action = torch.zeros(n, NUM_JOINTS)
        self.last_action = torch.zeros(n, NUM_JOINTS)
        self.step_count = torch.zeros(n, dtype=torch.long)
        self.root_planar_vel = torch.zeros(n, 2)  # pelvis displacement over the control step / dt
        self.nan_resets = 0
        self.frame: Frame | None = None

    # -- helpers -------------------------------------------------------------------------------
    def rand(self, *shape: int) -> torch.Tensor:
        """Uniform [0, 1) numbers from the environment's generator."""
        return torch.rand(*shape, generator=self.gen)

    def targets(self, action: torch.Tensor) -> torch.Tensor:
        """PD targets for normalised actions: nominal pose + scale * action."""
        return self.nominal + self.action_scale * action

    def _reset_envs(self, idx: torch.Tensor) -> None:
        k = idx.numel()
        if k == 0:
            return
        qpos = np.repeat(self.sim.nominal_qpos[None], k, axis=0)
        yaw = (self.rand(k) * 2 - 1) * torch.pi
        qpos[:, 3:7] = yaw_quat(yaw).double().numpy()
        qpos[:, JOINT_QPOS] += ((self.rand(k, NUM_JOINTS) * 2 - 1) * self.cfg.init_joint_noise).double().numpy()
        qvel = np.zeros((k, self.sim.model.nv))
        if hasattr(self.task, "place_objects"):
            self.task.place_objects(self, idx, qpos, qvel)
        ctrl = qpos[:, JOINT_QPOS]
        frame = self.sim.set_states(idx.numpy(), qpos, qvel, ctrl)
        self.frame.assign(idx, frame)
        self.action[idx] = 0
        self.last_action[idx] = 0
        self.step_count[idx] = 0
        self.root_planar_vel[idx] = 0
        self.task.reset(self, idx)

    def observe(self) -> torch.Tensor:
        return torch.cat([proprioception(self.frame, self.action), self.task.observe(self)], dim=1)

    # -- API -----------------------------------------------------------------------------------
    def reset(self) -> torch.Tensor:
        """Reset every environment; returns the first observation (N, obs_dim)."""
        n = self.num_envs
        qpos = np.repeat(self.sim.nominal_qpos[None], n, axis=0)
        self.frame = self.sim.set_states(np.arange(n), qpos, np.zeros((n, self.sim.model.nv)), qpos[:, JOINT_QPOS])
        self._reset_envs(torch.arange(n))
        return self.observe()

    def step(self, action: torch.Tensor) -> StepResult:
        """Apply normalised actions (N, num_actions) for one control step."""
        if self.frame is None:
            raise RuntimeError("call reset() before step()")
        action = torch.nan_to_num(action.detach().float(), nan=0.0).clamp(-3.0, 3.0)
        self.last_action, self.action = self.action, action
        prev_xy = self.frame.body_pos[:, 0, :2].clone()
        frame, exploded = self.sim.step(self.targets(action).double().numpy())
        self.frame = frame
        self.step_count += 1
        self.root_planar_vel = (frame.body_pos[:, 0, :2] - prev_xy) / self.dt

        reward, terms = self.task.reward(self)
        exploded_t = torch.from_numpy(exploded)
        reward = torch.where(exploded_t, torch.zeros_like(reward), reward)
        if exploded.any():   # an exploded state's terms are not a reward either (they reach the logs)
            terms = {k: torch.where(exploded_t, torch.zeros_like(v), v) for k, v in terms.items()}
        terminated = self.task.terminated(self) | exploded_t
        truncated = (self.step_count >= self.max_steps) & ~terminated
        self.nan_resets += int(exploded.sum())
        self.task.advance(self)

        obs = self.observe()
        final_obs = obs.clone()
        done = torch.nonzero(terminated | truncated).flatten()
        if done.numel():
            self._reset_envs(done)
            obs[done] = self.observe()[done]
        return StepResult(obs, reward, terminated, truncated, final_obs, terms)

    def close(self) -> None:
        self.sim.close()
