"""The distillation-budget study: the grid's headline fit at more distillation steps."""

import json
import sys

import pytest
from experiment_helper import experiment


@pytest.fixture(scope="module")
def study():
    with experiment("nern_distill_budget") as module:
        yield module


@pytest.fixture
def sandbox(study, tmp_path, monkeypatch):
    """The study and the grid writing under tmp_path, the shipped digits ResNet-20 as both originals."""
    from frozenfit.nern.original import SHIPPED_ORIGINAL

    monkeypatch.setattr(study, "OUT", tmp_path / "results")
    monkeypatch.setattr(study, "RUNS", tmp_path / "runs" / "budget")
    monkeypatch.setattr(study.grid, "OUT", tmp_path / "results")
    monkeypatch.setattr(study.grid, "RUNS", tmp_path / "runs" / "grid")
    monkeypatch.setattr(study.grid, "ORIGINALS", {"resnet20": SHIPPED_ORIGINAL, "resnet56": SHIPPED_ORIGINAL})
    (tmp_path / "results").mkdir()
    return tmp_path


def test_the_headline_is_the_grids_cross_filter_warmup_joint_fit_at_its_larger_size(study):
    assert study.headline("resnet20")["name"] == "resnet20-cross_filter-kd-warmup_joint-p53-block-seed0"
    assert study.headline("resnet56")["name"] == "resnet56-cross_filter-kd-warmup_joint-p46-block-seed0"


def test_each_budget_is_fitted_and_recorded_with_its_curve(study, sandbox, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["nern_distill_budget.py", "--warmup", "2", "--distill", "2", "1"])
    study.main()
    got = json.loads((sandbox / "results" / "distill_budget.json").read_text())
    assert [p["distill"] for p in got["points"]] == [1, 2]
    for p in got["points"]:
        assert p["source"] == "fitted here" and p["warmup"] == 2 and 0 <= p["test_acc"] <= 100
        assert p["val_curve"][-1][0] == 2 + p["distill"]   # evaluated at the fit's last iteration
    assert (sandbox / "results" / "distill_budget.png").exists()
    assert {"command", "commit", "machine", "wall_s"} <= set(got)


def test_the_grids_budget_reuses_the_grids_fit_of_the_same_code(study, sandbox, monkeypatch):
    spec = study.headline("resnet20")
    row = {"name": spec["name"], "iterations": 5, "warmup": 2, "code_digest": study.nern_runs.code_digest(),
           "test_acc": 90.5, "original_acc": 91.0, "hidden": 180, "wall_s": 60.0, "commit": "abc"}
    (sandbox / "results" / "ablations.json").write_text(json.dumps({"runs": [row]}))
    monkeypatch.setattr(study.nern_runs, "run_fit", lambda *a: pytest.fail("refitted the grid's fit"))
    p = study.measure("resnet20", 2, 3)
    assert p["source"] == f"the grid's fit {spec['name']}" and p["test_acc"] == 90.5
    # another code digest: not the same fit, so it is fitted (here: refused by the stand-in)
    (sandbox / "results" / "ablations.json").write_text(json.dumps({"runs": [{**row, "code_digest": "other"}]}))
    with pytest.raises(pytest.fail.Exception):
        study.measure("resnet20", 2, 3)


def test_bad_budgets_are_refused(study, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["nern_distill_budget.py", "--distill", "0"])
    with pytest.raises(SystemExit):
        study.main()


def test_the_table_gives_each_budgets_gap_to_the_original_and_the_target(study):
    points = [{"model": "resnet20", "distill": d, "test_acc": acc, "original_acc": 91.78, "wall_s": w}
              for d, acc, w in ((2400, 91.5, 5400.0), (800, 91.07, 2400.0))]
    lines = study.table(points).splitlines()
    assert lines[0] == study.TABLE_HEADER and len(lines) == 4
    assert lines[2] == "| resnet20 | 800 | 91.07 | 0.71 | <= 0.2 | 40 |"
    assert lines[3] == "| resnet20 | 2,400 | 91.50 | 0.28 | <= 0.2 | 90 |"
