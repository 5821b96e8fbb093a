"""experiments/tasktokens_ceiling.py: the teacher driven by a task's prompt, for either goal set."""

import pytest
import torch

from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher
from experiment_helper import experiment


@pytest.fixture(scope="module")
def ceiling():
    with experiment("tasktokens_ceiling") as mod:
        yield mod


@pytest.mark.parametrize("which", ["v1", "v2"])
def test_ceiling_runs_the_teacher_on_the_prompt(ceiling, which, v2_teacher_file):
    teacher = load_teacher(SHIPPED_TEACHER if which == "v1" else v2_teacher_file)
    r = ceiling.run_task(teacher, "steering", (2, 5, 10), episodes=3, steps=12)
    assert r["episodes"] == 3 and 0 <= r["success"] <= 100
    assert set(r) >= {"offset_le_45deg", "offset_gt_45deg", "settings"}


def test_hidden_prompts_get_the_distillation_defaults_and_set_2_appends_the_jump(ceiling):
    from frozenfit.bfm.masking import HiddenFacing
    from frozenfit.bfm.tokens import PROMPT_LAYOUTS
    from frozenfit.tasktokens.env import ObsLayout
    from frozenfit.teacher.goals import GOAL_OBS_DIM
    for version in (1, 2):
        lay = ObsLayout(3, 4, version)
        obs = torch.randn(2, lay.dim)
        vis = torch.zeros(2, len(PROMPT_LAYOUTS[version].names))
        vis[0] = 1.0                                     # env 0 sees everything, env 1 nothing
        obs[:, lay.slice("visible")] = vis
        g = ceiling.teacher_goal(obs, lay, HiddenFacing(2), torch.zeros(2))
        assert g.shape == (2, GOAL_OBS_DIM + (7 if version == 2 else 0))
        prompt = obs[:, lay.slice("goal")]
        torch.testing.assert_close(g[0, :GOAL_OBS_DIM], prompt[0, :GOAL_OBS_DIM])
        assert g[1, :2].abs().sum() == 0 and g[1, 4:GOAL_OBS_DIM].abs().sum() == 0   # stand, no body target
        if version == 2:
            torch.testing.assert_close(g[0, GOAL_OBS_DIM:], prompt[0, PROMPT_LAYOUTS[2].slices["jump"]])
            assert g[1, GOAL_OBS_DIM:].abs().sum() == 0
