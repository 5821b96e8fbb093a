"""Randomised worlds: each environment in its own physics and ground, the nominal world untouched."""

import mujoco
import numpy as np
import pytest
import torch

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import TERRAIN_RADIUS, PhysicsConfig, build_model, model_hash
from frozenfit.humanoid.worlds import WorldRandomization, build_worlds, draw_worlds, ground_height
from frozenfit.teacher.goals import GoalConfig, GoalTask


def test_worlds_are_drawn_within_their_ranges_and_deterministically():
    cfg = WorldRandomization(worlds=64, seed=3)
    ws = draw_worlds(cfg, PhysicsConfig(gravity_scale=2.0))
    g = np.array([w.physics.gravity_scale for w in ws]) / 2.0       # scales multiply the base
    f = np.array([w.physics.friction_scale for w in ws])
    h = np.array([w.terrain_height for w in ws])
    assert g.min() >= 0.9 and g.max() <= 1.1 and g.std() > 0.03
    assert f.min() >= 0.6 and f.max() <= 1.4 and h.min() >= 0 and h.max() <= 0.05
    assert draw_worlds(cfg, PhysicsConfig(gravity_scale=2.0)) == ws
    assert draw_worlds(WorldRandomization(worlds=64, seed=4)) != draw_worlds(WorldRandomization(worlds=64, seed=3))
    with pytest.raises(FrozenfitError, match="friction_scale: the lower bound 1.2 is above"):
        draw_worlds(WorldRandomization(worlds=2, friction_scale=(1.2, 0.8)))


def test_nominal_model_is_unchanged_and_ground_is_flat_at_the_start():
    assert model_hash(1) == "df6c1da113925395" and model_hash(2) == "c348febf672bdf58"
    assert build_model().nhfield == 0
    m = build_worlds(WorldRandomization(worlds=2, terrain_height=(0.04, 0.04), seed=1))[0]
    assert ground_height(m, np.zeros((1, 2)))[0] == 0.0                  # flat where episodes start
    pts = np.random.default_rng(0).uniform(-20, 20, (200, 2))
    h = ground_height(m, pts)
    assert h.max() <= 0.04 + 1e-9 and h.max() > 0.03 and h.min() >= 0
    # the bilinear lookup matches MuJoCo's own ground: a ray cast down onto the heightfield
    d = mujoco.MjData(m)
    mujoco.mj_forward(m, d)
    terrain = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "terrain")
    hits = 0
    for (x, y), z in zip(pts[:20], h[:20]):
        gid = np.zeros(1, np.int32)
        dist = mujoco.mj_ray(m, d, np.array([x, y, 1.0]), np.array([0, 0, -1.0]), None, 1, -1, gid)
        if gid[0] == terrain:
            hits += 1
            assert 1.0 - dist == pytest.approx(z, abs=3e-3)
    assert hits >= 15
    assert ground_height(m, np.array([[TERRAIN_RADIUS + 1, 0.0]]))[0] == 0.0


def test_environments_step_in_their_own_worlds():
    n = 4
    cfg = EnvConfig(num_envs=n, worlds=WorldRandomization(worlds=2, gravity_scale=(0.5, 0.5), mass_scale=(1, 1),
                                                          friction_scale=(1, 1), terrain_height=(0, 0)))
    env = HumanoidEnv(cfg, GoalTask(GoalConfig(), n))
    assert env.sim.model_of(0) is env.sim.model_of(2) and env.sim.model_of(0) is not env.sim.model_of(1)
    assert env.sim.model_of(1).opt.gravity[2] == pytest.approx(-9.81 * 0.5)
    env.reset()
    # drop everyone from 30 cm, limp: half gravity falls slower in every world
    ref = HumanoidEnv(EnvConfig(num_envs=n), GoalTask(GoalConfig(), n))
    ref.reset()
    for e in (env, ref):
        e.sim.state[:, 3] += 0.3
    for _ in range(5):
        r = env.step(torch.zeros(n, env.num_actions))
        ref.step(torch.zeros(n, env.num_actions))
    assert torch.isfinite(r.obs).all()
    fell_here = 0.3 + 0.93 - env.frame.body_pos[:, 0, 2]
    fell_ref = 0.3 + 0.93 - ref.frame.body_pos[:, 0, 2]
    assert (fell_here < fell_ref - 0.05).all()
    env.close()
    ref.close()
