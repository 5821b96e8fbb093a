import numpy as np
import pytest

from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.teacher.goals import GoalConfig, GoalTask

gymnasium = pytest.importorskip("gymnasium")
from frozenfit.humanoid.vector_env import GymVectorEnv  # noqa: E402


def test_gymnasium_vector_api():
    venv = GymVectorEnv(HumanoidEnv(EnvConfig(num_envs=3, episode_seconds=0.09), GoalTask(GoalConfig(), 3)))
    assert isinstance(venv, gymnasium.vector.VectorEnv)
    obs, info = venv.reset(seed=0)
    assert obs.shape == venv.observation_space.shape and obs.dtype == np.float32
    for t in range(3):
        obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
        assert obs.shape == (3, venv.single_observation_space.shape[0]) and rew.shape == (3,)
    assert trunc.all()  # 0.09 s = 3 control steps
    assert info["_final_obs"].all() and np.isfinite(info["final_obs"]).all()
    with pytest.raises(Exception, match="shape"):
        venv.step(np.zeros((2, 23)))
    venv.close()
