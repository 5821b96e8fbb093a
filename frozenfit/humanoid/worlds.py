"""Randomised worlds: every environment simulates in one of K physics variants (gravity, friction,
masses) on its own rough ground, drawn once from ranges, so that a policy trained there does not
rely on the nominal world's exact numbers.

MuJoCo's `rollout` steps a batch in which each trajectory has its own `MjModel` (same sizes), so
the variants cost nothing beyond the heightfield's collisions. Environment i lives in world
i mod K for the whole run. Off by default (``worlds=0``: the nominal world, no heightfield).
Rough ground is a sum of random plane waves of ``terrain_wavelength`` scale, at most
``terrain_height`` high, flat within ``flat_radius`` of the origin where every episode starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import mujoco
import numpy as np

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import TERRAIN_CELLS, TERRAIN_RADIUS, BoxSpec, PhysicsConfig, build_model


@dataclass
class WorldRandomization:
    """How many worlds and the ranges their parameters are drawn from (uniform; scales multiply the
    run's `PhysicsConfig`)."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("worlds", "terrain_height", "flat_radius")  # see common.checks

    worlds: int = 0
    """Distinct worlds (0: off, every environment in the nominal world)."""
    gravity_scale: tuple[float, float] = (0.9, 1.1)
    friction_scale: tuple[float, float] = (0.6, 1.4)
    mass_scale: tuple[float, float] = (0.85, 1.15)
    terrain_height: tuple[float, float] = (0.0, 0.05)   # m, highest point of a world's ground
    terrain_wavelength: float = 3.0     # m, typical distance between bumps
    flat_radius: float = 1.5            # m around the origin kept flat (the start)
    seed: int = 0

    def check(self) -> None:
        """Refuse a range whose lower bound is above its upper (one line)."""
        for name in ("gravity_scale", "friction_scale", "mass_scale", "terrain_height"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise FrozenfitError(f"worlds.{name}: the lower bound {lo} is above the upper {hi}")


@dataclass(frozen=True)
class World:
    """One drawn world: its physics and its ground's highest point."""
    physics: PhysicsConfig
    terrain_height: float


def draw_worlds(cfg: WorldRandomization, base: PhysicsConfig | None = None) -> list[World]:
    """The ``cfg.worlds`` worlds of a run, deterministic from ``cfg.seed``."""
    cfg.check()
    base = base or PhysicsConfig()
    rng = np.random.default_rng(cfg.seed)
    out = []
    for _ in range(cfg.worlds):
        g, f, m, h = (float(rng.uniform(*r)) for r in (cfg.gravity_scale, cfg.friction_scale, cfg.mass_scale,
                                                        cfg.terrain_height))
        out.append(World(replace(base, gravity_scale=base.gravity_scale * g, friction_scale=base.friction_scale * f,
                                 mass_scale=base.mass_scale * m), h))
    return out


def rough_ground(rng: np.random.Generator, wavelength: float, flat_radius: float, waves: int = 12) -> np.ndarray:
    """Heights in [0, 1] on the terrain grid (TERRAIN_CELLS^2, row = y), zero within ``flat_radius``
    of the origin and rising smoothly over the next metre."""
    axis = np.linspace(-TERRAIN_RADIUS, TERRAIN_RADIUS, TERRAIN_CELLS)
    x, y = np.meshgrid(axis, axis)
    z = np.zeros_like(x)
    for _ in range(waves):
        k = 2 * np.pi / (wavelength * rng.uniform(0.5, 2.0))
        a = rng.uniform(0, 2 * np.pi)
        z += np.sin(k * (np.cos(a) * x + np.sin(a) * y) + rng.uniform(0, 2 * np.pi))
    z = (z - z.min()) / max(z.max() - z.min(), 1e-9)
    r = np.hypot(x, y)
    return z * np.clip(r - flat_radius, 0.0, 1.0)


def build_worlds(cfg: WorldRandomization, base: PhysicsConfig | None = None, box: BoxSpec | None = None,
                 version: int = 1) -> list[mujoco.MjModel]:
    """One compiled model per drawn world, each with its physics scales and rough ground."""
    rng = np.random.default_rng([cfg.seed, 1])
    models = []
    for w in draw_worlds(cfg, base):
        m = build_model(w.physics, box, version, terrain=True)
        m.hfield_size[0, 2] = max(w.terrain_height, 1e-4)        # MuJoCo wants a positive elevation
        m.hfield_data[:] = rough_ground(rng, cfg.terrain_wavelength, cfg.flat_radius).ravel()
        models.append(m)
    return models


def ground_height(model: mujoco.MjModel, xy: np.ndarray) -> np.ndarray:
    """Height (m) of a world's ground under world points ``xy`` (..., 2): its heightfield, bilinear
    (0 outside it and for a model without one)."""
    if model.nhfield == 0:
        return np.zeros(xy.shape[:-1])
    n = TERRAIN_CELLS
    data = model.hfield_data.reshape(n, n)
    u = (np.asarray(xy) + TERRAIN_RADIUS) / (2 * TERRAIN_RADIUS) * (n - 1)
    inside = ((u >= 0) & (u <= n - 1)).all(-1)
    u = np.clip(u, 0, n - 1 - 1e-9)
    i, j = u[..., 1].astype(int), u[..., 0].astype(int)          # row = y, column = x
    fy, fx = u[..., 1] - i, u[..., 0] - j
    h = (data[i, j] * (1 - fx) * (1 - fy) + data[i, j + 1] * fx * (1 - fy)
         + data[i + 1, j] * (1 - fx) * fy + data[i + 1, j + 1] * fx * fy)
    return np.where(inside, h * model.hfield_size[0, 2], 0.0)
