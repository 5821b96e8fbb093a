"""The long-budget study's bookkeeping: its plateau rule, steps to 90 % and the summary it derives."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def study(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("tasktokens_long_budget",
                                                  ROOT / "experiments" / "tasktokens_long_budget.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "tasktokens_long_budget", module)
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))   # its sibling, the sweep
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    return module


def _curve(values, every=500_000):
    return [[i * every, v] for i, v in enumerate(values)]


def test_a_flat_curve_past_the_minimum_plateaus_and_a_rising_one_does_not(study):
    flat = _curve([10, 40] + [80 + (i % 2) for i in range(14)])   # 7.5 M steps, ~80 % for the last 6 M
    assert study.plateaued(flat)
    rising = _curve([2 * i for i in range(16)])                   # +12 points between the two windows
    assert not study.plateaued(rising)
    early = _curve([80] * 12)                                      # flat but only 5.5 M steps
    assert not study.plateaued(early)
    zero = _curve([0.0] * 16)                                      # flat at zero: not started, not converged
    assert not study.plateaued(zero)


def test_steps_to_90pct_is_the_first_point_at_90_percent_of_the_final(study):
    pts = [[0, 0.0], [500_000, 50.0], [1_000_000, 89.0], [1_500_000, 91.0], [2_000_000, 95.0]]
    assert study.steps_to_90pct(pts, 100.0) == 1_500_000   # 89 < 90 <= 91
    assert study.steps_to_90pct(pts, 55.0) == 500_000      # 50 >= 49.5
    assert study.steps_to_90pct(pts, 0.0) is None          # nothing to reach
    assert study.steps_to_90pct(pts, 0.8) is None          # under the 5 % floor: never learned


def test_the_summary_gives_the_ratio_and_the_warm_starts_gain_at_equal_steps(study):
    runs = {"direction": {
        "task_tokens_cold": {"steps_to_90pct": 2_000_000, "curve": [[0, 0.0], [1_000_000, 40.0], [2_000_000, 90.0]]},
        "ppo_scratch": {"steps_to_90pct": 8_000_000, "curve": [[0, 0.0]]},
        "task_tokens_warm": {"steps_to_90pct": 200_000, "curve": [[0, 5.0], [163_840, 95.0], [1_163_840, 97.0]]}}}
    s = study.summary(runs)["direction"]
    assert s["scratch_over_cold_steps_to_90pct"] == 4.0
    # each cold point against the warm curve's last point at or before it, only where both trained:
    # the warm run stopped at 1.16 M steps, so the cold point at 2 M has no partner
    assert s["warm_minus_cold"] == [[0, 5.0], [1_000_000, 55.0]]
    runs["direction"]["task_tokens_warm"]["curve"].append([2_163_840, 98.0])
    assert study.summary(runs)["direction"]["warm_minus_cold"] == [[0, 5.0], [1_000_000, 55.0], [2_000_000, 7.0]]


def test_each_write_stamps_its_own_provenance_not_the_first_writes(study, tmp_path, monkeypatch):
    """The record is reloaded before each write; its command/commit/machine/date must not carry over
    (write_result only fills fields that are absent)."""
    import json

    monkeypatch.setattr(study, "OUT", tmp_path)
    old = {"runs": {"direction": {}}, "summary": {}, "commit": "abc-dirty", "machine": "old", "command": "x",
           "wall_s": 1.0, "written_at": "2026-01-01"}
    (tmp_path / "long_budget.json").write_text(json.dumps(old))
    fresh = study.fresh_payload()
    assert fresh == {"runs": {"direction": {}}, "summary": {}}
