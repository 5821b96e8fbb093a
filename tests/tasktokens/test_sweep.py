"""The sweep's bookkeeping: which recorded runs still count."""

import importlib.util
import json
from pathlib import Path

from frozenfit.tasktokens.tasks.direction import DirectionTask
from frozenfit.tasktokens.tasks.reach import ReachTask

SWEEP = Path(__file__).resolve().parents[2] / "experiments" / "tasktokens_sweep.py"


def _sweep_module():
    spec = importlib.util.spec_from_file_location("tasktokens_sweep", SWEEP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runs_on_another_bfm_or_an_older_task_version_are_dropped(tmp_path, monkeypatch):
    sweep = _sweep_module()
    monkeypatch.setattr(sweep, "OUT", tmp_path)
    monkeypatch.setattr(ReachTask, "version", 2)
    monkeypatch.setattr(DirectionTask, "version", 1)
    runs = {"reach/task_tokens/seed0": {"task": "reach", "bfm_digest": "abc", "task_version": 2},
            "reach/task_tokens/seed1": {"task": "reach", "bfm_digest": "abc", "task_version": 1},
            "reach/prompt_only/seed0": {"task": "reach", "bfm_digest": "abc"},      # recorded before versions
            "direction/task_tokens/seed0": {"task": "direction", "bfm_digest": "abc"},
            "direction/task_tokens/seed1": {"task": "direction", "bfm_digest": "old"}}
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    assert set(sweep.load_runs("abc")) == {"reach/task_tokens/seed0", "direction/task_tokens/seed0"}
    assert set(sweep.load_runs()) == set(runs)      # without a digest: everything on record
