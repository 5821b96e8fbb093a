"""N humanoids stepped together with MuJoCo's multithreaded `rollout`.

One call of `BatchedSim.step` advances every environment by one control step (DECIMATION physics
steps) in C++ threads with the GIL released. Observations are read at the last physics substep of
the control step: MuJoCo evaluates sensors at the start of a step, so the sensors of substep k
describe the state after k-1 substeps, and we pair them with exactly that state. The simulation
itself continues from the state after all substeps.

Environments whose state turns non-finite, whose speed explodes, or that MuJoCo itself reset after
a solver failure, are flagged so the environment can reset them and count it; a run never crashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
import torch
from mujoco import rollout

from frozenfit.humanoid.model import (BODIES, BOX_QPOS, BOX_QVEL, DECIMATION, JOINT_QPOS, JOINT_QVEL, BoxSpec,
                                      PhysicsConfig, build_model, nominal_qpos)
from frozenfit.humanoid.worlds import WorldRandomization, build_worlds

_STATE = mujoco.mjtState.mjSTATE_FULLPHYSICS
MAX_QVEL = 100.0  # rad/s or m/s: anything faster is treated as an exploded simulation


@dataclass
class Frame:
    """What the environments observe after a control step (batched, float32)."""

    qpos: torch.Tensor        # (N, nq): root position, root quaternion, joint angles, then scene objects
    qvel: torch.Tensor        # (N, nv)
    body_pos: torch.Tensor    # (N, B, 3) world positions of BODIES
    body_quat: torch.Tensor   # (N, B, 4) world orientations (w, x, y, z)
    body_linvel: torch.Tensor  # (N, B, 3) world linear velocities
    body_angvel: torch.Tensor  # (N, B, 3) world angular velocities
    foot_touch: torch.Tensor  # (N, 2) normal contact force on right, left foot

    @property
    def joint_pos(self) -> torch.Tensor:
        return self.qpos[:, JOINT_QPOS]

    @property
    def joint_vel(self) -> torch.Tensor:
        return self.qvel[:, JOINT_QVEL]

    def box_state(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(position, quaternion, world linear velocity, body-frame angular velocity) of the scene's
        free box (a scene built with a `BoxSpec`); MuJoCo's free-joint layout."""
        if self.qpos.shape[1] < BOX_QPOS.stop:
            raise RuntimeError("this scene has no box")
        q, v = self.qpos[:, BOX_QPOS], self.qvel[:, BOX_QVEL]
        return q[:, :3], q[:, 3:], v[:, :3], v[:, 3:]

    def assign(self, idx: torch.Tensor, other: "Frame") -> None:
        for f in self.__dataclass_fields__:
            getattr(self, f)[idx] = getattr(other, f)


class BatchedSim:
    """Batched physics for ``num_envs`` copies of the humanoid."""

    def __init__(self, num_envs: int, physics: PhysicsConfig | None = None, nthread: int = 2,
                 box: BoxSpec | None = None, version: int = 1, worlds: WorldRandomization | None = None):
        if worlds is not None and worlds.worlds > 0:
            # randomised worlds: environment i steps in world i mod K (same sizes, MuJoCo's rollout
            # takes one model per trajectory)
            self.worlds = build_worlds(worlds, physics, box, version)
            self.model = self.worlds[0]
            self._env_models = [self.worlds[i % len(self.worlds)] for i in range(num_envs)]
        else:
            self.worlds = None
            self.model = build_model(physics, box, version)
            self._env_models = None
        self.num_envs = num_envs
        self.nthread = max(1, nthread)
        self._datas = [mujoco.MjData(self.model) for _ in range(self.nthread)]
        self._pool = rollout.Rollout(nthread=self.nthread if self.nthread > 1 else 0)
        self.nstate = mujoco.mj_stateSize(self.model, _STATE)
        self.state = np.zeros((num_envs, self.nstate))
        self.nominal_qpos = nominal_qpos(self.model, version)
        nb = len(BODIES)
        if self.model.nsensordata != nb * 13 + 2:
            raise RuntimeError("sensor layout of the humanoid model changed")

    def close(self) -> None:
        self._pool.close()

    # -- state packing -------------------------------------------------------------------------
    def _full_state(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        st = np.zeros((qpos.shape[0], self.nstate))
        nq, nv = self.model.nq, self.model.nv
        st[:, 1:1 + nq] = qpos
        st[:, 1 + nq:1 + nq + nv] = qvel
        return st

    def _frame(self, state: np.ndarray, sens: np.ndarray) -> Frame:
        nq, nv, nb = self.model.nq, self.model.nv, len(BODIES)
        s = torch.from_numpy(state).float()
        body = torch.from_numpy(sens[:, :nb * 13]).float().reshape(-1, nb, 13)
        return Frame(qpos=s[:, 1:1 + nq], qvel=s[:, 1 + nq:1 + nq + nv],
                     body_pos=body[..., 0:3], body_quat=body[..., 3:7],
                     body_linvel=body[..., 7:10], body_angvel=body[..., 10:13],
                     foot_touch=torch.from_numpy(sens[:, nb * 13:nb * 13 + 2]).float())

    def _run(self, state: np.ndarray, ctrl: np.ndarray, nstep: int, idx: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Roll environments ``idx`` (all when None) forward ``nstep`` physics steps holding ``ctrl``."""
        control = np.repeat(ctrl[:, None, :], nstep, axis=1)
        model = self.model
        if self._env_models is not None:
            model = self._env_models if idx is None else [self._env_models[i] for i in idx]
        return self._pool.rollout(model, self._datas, state, control, skip_checks=False)

    def model_of(self, i: int) -> mujoco.MjModel:
        """The model environment ``i`` steps in (its world's, or the one nominal model)."""
        return self.model if self._env_models is None else self._env_models[i]

    # -- public API ----------------------------------------------------------------------------
    def step(self, ctrl: np.ndarray) -> tuple[Frame, np.ndarray]:
        """Advance all environments one control step with PD targets ``ctrl`` (N, nu).

        Returns the observed frame and a boolean mask of environments whose state exploded.
        """
        bad_input = ~np.isfinite(self.state).all(1)
        t_expected = self.state[:, 0] + DECIMATION * self.model.opt.timestep
        states, sens = self._run(self.state, ctrl, DECIMATION)
        self.state = states[:, -1].copy()
        obs_state, obs_sens = states[:, -2], sens[:, -1]
        nq, nv = self.model.nq, self.model.nv
        exploded = (~np.isfinite(self.state).all(1) | ~np.isfinite(obs_sens).all(1)
                    | (np.abs(self.state[:, 1 + nq:1 + nq + nv]) > MAX_QVEL).any(1)
                    | bad_input | (self.state[:, 0] < t_expected - 1e-6))  # MuJoCo zeroes time on a reset
        if exploded.any():  # keep the frame finite so nothing downstream sees NaN
            obs_state = np.nan_to_num(obs_state, nan=0.0, posinf=0.0, neginf=0.0)
            obs_sens = np.nan_to_num(obs_sens, nan=0.0, posinf=0.0, neginf=0.0)
        return self._frame(obs_state, obs_sens), exploded

    def set_states(self, idx: np.ndarray, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray) -> Frame:
        """Put environments ``idx`` into the given states and return what they observe there.

        One physics substep is simulated (holding ``ctrl``) so that the observed sensors belong to
        the given state, exactly as in `step`.
        """
        st = self._full_state(qpos, qvel)
        states, sens = self._run(st, ctrl, 1, np.asarray(idx))
        self.state[idx] = states[:, -1]
        return self._frame(st, sens[:, -1])

    def corrupt(self, idx: np.ndarray) -> None:
        """Write NaN into the states of ``idx`` (for tests of the recovery path)."""
        self.state[idx, 1:] = np.nan
