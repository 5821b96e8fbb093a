"""The environment runs either humanoid version; a teacher records and checks its version's model."""

import torch

from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import LAYOUTS, joint_table, model_hash
from frozenfit.teacher.goals import GoalConfig, GoalTask


def test_a_version_2_environment_steps_its_own_humanoid():
    env = HumanoidEnv(EnvConfig(num_envs=4, humanoid_version=2, seed=1), GoalTask(GoalConfig(), 4))
    try:
        obs = env.reset()
        assert env.layout == LAYOUTS[2]
        assert abs(float(env.sim.nominal_qpos[2]) - LAYOUTS[2].pelvis_height) < 1e-12
        nominal = torch.tensor([r[4] for r in joint_table(2)], dtype=torch.float32)
        assert torch.equal(env.nominal, nominal)
        for _ in range(5):
            r = env.step(torch.zeros(4, env.num_actions))
        assert torch.isfinite(r.obs).all() and obs.shape == r.obs.shape
    finally:
        env.close()


def test_teacher_training_records_the_version_it_trained_on(tmp_path):
    from frozenfit.teacher.goals import GoalConfig
    from frozenfit.teacher.train import TeacherConfig, build
    cfg = TeacherConfig(run_dir=str(tmp_path), goals=GoalConfig.v2())
    cfg.env.num_envs, cfg.env.humanoid_version = 4, 2
    env, _, ppo = build(cfg)
    env.close()
    assert ppo.config_extra["model_hash"] == model_hash(2) != model_hash(1)
