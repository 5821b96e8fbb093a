import mujoco
import numpy as np
import pytest
import torch

from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import (BODIES, CONTROL_DT, DECIMATION, KEY_BODIES, PHYSICS_DT, PhysicsConfig,
                                      build_model, joint_table, model_hash, nominal_qpos)
from frozenfit.humanoid.sim import BatchedSim
from frozenfit.teacher.goals import GoalConfig, GoalTask


def test_model_matches_the_spec():
    m = build_model()
    assert 21 <= m.nu <= 36
    assert m.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    assert 1 / 240 <= PHYSICS_DT <= 1 / 200 and 30 <= 1 / CONTROL_DT <= 40
    assert CONTROL_DT == pytest.approx(PHYSICS_DT * DECIMATION)
    assert (m.dof_armature[6:] >= 0.05).all()
    for name in KEY_BODIES:
        assert m.body(name).id > 0
    assert all(m.actuator_trntype == mujoco.mjtTrn.mjTRN_JOINT)
    assert [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, m.actuator_trnid[i, 0]) for i in range(m.nu)] == \
        [r[0] for r in joint_table()]
    # position actuators: force = kp * (ctrl - q) - kv * qdot
    assert (m.actuator_gainprm[:, 0] > 0).all() and (m.actuator_biasprm[:, 2] < 0).all()


def test_physics_scales_apply():
    base, scaled = build_model(), build_model(PhysicsConfig(gravity_scale=2.0, friction_scale=0.4, mass_scale=1.5))
    assert scaled.opt.gravity[2] == pytest.approx(2 * base.opt.gravity[2])
    assert scaled.geom_friction[0, 0] == pytest.approx(0.4 * base.geom_friction[0, 0])
    assert scaled.body_mass[1:].sum() == pytest.approx(1.5 * base.body_mass[1:].sum())
    assert len(model_hash()) == 16


def test_nominal_pose_stands_still_under_pd():
    m = build_model()
    d = mujoco.MjData(m)
    d.qpos[:] = nominal_qpos(m)
    d.ctrl[:] = d.qpos[7:]
    for _ in range(200):  # one second
        mujoco.mj_step(m, d)
    assert d.qpos[2] == pytest.approx(0.93, abs=0.02)


def test_random_actions_stay_finite_for_thousands_of_steps():
    task = GoalTask(GoalConfig(), 8)
    env = HumanoidEnv(EnvConfig(num_envs=8, seed=1), task)
    env.reset()
    g = torch.Generator().manual_seed(0)
    for _ in range(1500):  # 12,000 control steps = 72,000 physics steps
        r = env.step(torch.randn(8, env.num_actions, generator=g))
        assert torch.isfinite(r.obs).all() and torch.isfinite(r.reward).all()
    assert env.nan_resets == 0
    env.close()


def test_observed_sensors_belong_to_the_paired_state():
    """Sensors are read at the last substep; they must match a fresh mj_forward of the paired state."""
    sim = BatchedSim(2, nthread=1)
    q = np.repeat(sim.nominal_qpos[None], 2, 0)
    frame = sim.set_states(np.arange(2), q, np.zeros((2, sim.model.nv)), q[:, 7:])
    ctrl = q[:, 7:] + 0.3
    frame, exploded = sim.step(ctrl)
    assert not exploded.any()
    d = mujoco.MjData(sim.model)
    d.qpos[:] = frame.qpos[0].double().numpy()
    d.qvel[:] = frame.qvel[0].double().numpy()
    d.ctrl[:] = ctrl[0]
    mujoco.mj_forward(sim.model, d)
    for i, name in enumerate(BODIES):
        np.testing.assert_allclose(frame.body_pos[0, i].numpy(), d.xpos[sim.model.body(name).id], atol=1e-5)
    sim.close()


def test_nan_state_is_reset_and_counted():
    env = HumanoidEnv(EnvConfig(num_envs=4), GoalTask(GoalConfig(), 4))
    env.reset()
    for _ in range(3):
        env.step(torch.zeros(4, env.num_actions))
    env.sim.corrupt(np.array([1]))
    r = env.step(torch.zeros(4, env.num_actions))
    assert r.terminated.tolist() == [False, True, False, False]
    assert env.nan_resets == 1
    assert torch.isfinite(r.obs).all() and r.reward[1] == 0
    assert all(float(v[1]) == 0 for v in r.terms.values())   # nor do its reward terms reach the logs
    assert env.step_count[1] == 0 and env.step_count[0] == 4
    assert np.isfinite(env.sim.state).all()
    r = env.step(torch.zeros(4, env.num_actions))  # and the run carries on
    assert env.nan_resets == 1 and torch.isfinite(r.obs).all()
    env.close()


def test_nan_actions_do_not_reach_the_simulator():
    env = HumanoidEnv(EnvConfig(num_envs=2), GoalTask(GoalConfig(), 2))
    env.reset()
    r = env.step(torch.full((2, env.num_actions), float("nan")))
    assert torch.isfinite(r.obs).all() and env.nan_resets == 0
    env.close()
