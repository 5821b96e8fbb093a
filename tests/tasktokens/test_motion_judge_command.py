"""`frozenfit motion judge`: a shipped task policy judged end to end, and its one-line refusals."""

import json

import pytest

from frozenfit.errors import FrozenfitError
from frozenfit.tasktokens.realism import MotionJudgeConfig, run_judge


def test_judges_the_shipped_direction_policy(tmp_path):
    out = tmp_path / "verdict.json"
    v = run_judge(MotionJudgeConfig(task="direction", envs=3, seconds=2.5, out=str(out)))
    assert 0.0 <= v["auc"] <= 1.0 and 0.0 <= v["judged_human"] <= 1.0
    assert v["groups"] == 3 and v["mocap_groups"] == 5
    saved = json.loads(out.read_text())
    assert saved["auc"] == v["auc"] and "hands_above_shoulder" in json.dumps(saved["proxies"])


@pytest.mark.parametrize("kw, match", [
    ({"task": "dance"}, "unknown task"),
    ({"envs": 1}, "at least 2"),
    ({"seconds": 0.5}, "above 1"),
    ({"policy": "no/such/file.safetensors"}, "no policy file"),
])
def test_refuses_bad_arguments(kw, match):
    with pytest.raises(FrozenfitError, match=match):
        run_judge(MotionJudgeConfig(**kw))


def test_refuses_another_tasks_policy():
    from frozenfit.tasktokens.artifact import shipped_policy
    with pytest.raises(FrozenfitError, match="policy for 'steering'"):
        run_judge(MotionJudgeConfig(task="direction", policy=str(shipped_policy("steering")), envs=2, seconds=2.0))
