"""The sweep's bookkeeping: runs keyed by everything that defines them, and every derived file
rebuilt from runs.json alone."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from frozenfit.tasktokens.tasks.reach import ReachTask

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ROOT / "experiments" / "tasktokens_sweep.py"


@pytest.fixture
def sweep(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("tasktokens_sweep", SWEEP)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "tasktokens_sweep", module)   # dataclasses look their module up
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path / "results")
    monkeypatch.setattr(module, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(module, "ROOT", tmp_path)     # the README synced is tmp_path/README.md
    return module


def _record(sweep, task="direction", method="task_tokens", seed=0, steps=500_000, warm=40, digest="abc",
            success=50.0, machine="AMD EPYC, 2 cores, torch", curve=((0, 0.0), (160_000, 40.0), (500_000, 50.0))):
    spec = sweep.RunSpec.of(task, method, seed, steps, warm, digest)
    trains = sweep.METHODS[method].trains
    return spec, {"task": task, "task_version": spec.task_version, "method": method, "seed": seed,
                  "steps": spec.steps, "warm_start": spec.warm_start, "bfm_digest": digest, "success": success,
                  "fall_rate": 0.0, "episodes": 1024, "env_steps": 507_904 if trains else 0,
                  "trainable_params": 10, "train_wall_s": 60.0, "machine": machine, "commit": "c0ffee",
                  "curve": [list(c) for c in curve] if trains else [[0, success]], "curve_episodes": 256}


def test_a_run_key_holds_everything_that_defines_it(sweep, monkeypatch):
    base = sweep.RunSpec.of("reach", "task_tokens", 0, 500_000, 40, "abc")
    others = [sweep.RunSpec.of("reach", "task_tokens", 1, 500_000, 40, "abc"),
              sweep.RunSpec.of("reach", "task_tokens", 0, 3_000_000, 40, "abc"),
              sweep.RunSpec.of("reach", "task_tokens", 0, 500_000, 0, "abc"),
              sweep.RunSpec.of("reach", "task_tokens", 0, 500_000, 40, "other"),
              sweep.RunSpec.of("reach", "finetune", 0, 500_000, 40, "abc")]
    monkeypatch.setattr(ReachTask, "version", ReachTask.version + 1)
    others.append(sweep.RunSpec.of("reach", "task_tokens", 0, 500_000, 40, "abc"))
    keys = {s.key for s in others} | {base.key}
    dirs = {s.run_dir for s in others} | {base.run_dir}
    assert len(keys) == len(dirs) == len(others) + 1
    # a method that trains nothing has no budget or warm start: one run serves every budget
    assert (sweep.RunSpec.of("reach", "prompt_only", 0, 500_000, 40, "abc").key
            == sweep.RunSpec.of("reach", "prompt_only", 0, 3_000_000, 0, "abc").key)
    # a task without a prompt never warm-starts
    assert sweep.RunSpec.of("long_jump", "ppo_scratch", 0, 500_000, 40, "abc").warm_start == 0


def test_the_table_takes_only_runs_of_its_settings(sweep):
    runs = {}
    for kw in ({}, {"seed": 1, "success": 60.0}, {"steps": 3_000_000, "success": 99.0},
               {"digest": "old", "success": 1.0}, {"method": "prompt_only", "success": 45.0}):
        spec, rec = _record(sweep, **kw)
        runs[spec.key] = rec
    specs = sweep.wanted(["direction"], ["task_tokens", "prompt_only"], 500_000, 40, "abc")
    chosen = sweep.select(runs, specs)
    assert sorted(r["success"] for r in chosen.values()) == [45.0, 50.0, 60.0]
    summary = sweep.summarise(chosen)
    assert summary["direction"]["task_tokens"]["success_mean"] == 55.0
    assert summary["direction"]["task_tokens"]["seeds"] == 2


def test_derived_files_come_from_runs_json_alone(sweep, tmp_path):
    """No runs/ folder at all: table, summary, sample efficiency and plots are still complete."""
    runs = {}
    for seed, machine in ((0, "AMD EPYC, 2 cores"), (1, "Intel(R) Xeon(R) Processor, 2 cores")):
        spec, rec = _record(sweep, seed=seed, machine=machine)
        runs[spec.key] = rec
    specs = sweep.wanted(["direction"], ["task_tokens"], 500_000, 40, "abc")
    header = sweep.table_markdown({}).splitlines()
    (tmp_path / "README.md").write_text("# r\n\n" + "\n".join(header + ["| old | row |"]) + "\n\nafter\n")
    assert not (tmp_path / "runs").exists()
    sweep.derive(runs, specs, ["direction"])
    out = tmp_path / "results"
    se = json.loads((out / "sample_efficiency.json").read_text())["runs"]["direction"]["task_tokens"]
    assert [e["steps_to_90pct"] for e in se] == [500_000, 500_000]      # 0.9 * 50 = 45 > 40
    assert se[0]["curve"] == [[0, 0.0], [160_000, 40.0], [500_000, 50.0]]
    table = (out / "table.md").read_text()
    assert "| direction | task_tokens | **50.0** ± 0.0 | 2 × 1024 |" in table
    assert "AMD EPYC + Intel Xeon" in table           # a row mixing machines says so
    assert (out / "curves_direction.png").stat().st_size > 0
    readme = (tmp_path / "README.md").read_text()
    assert table in readme and "| old | row |" not in readme and readme.endswith("after\n")


def test_a_resumed_log_keeps_the_last_value_of_a_replayed_step(sweep, tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "log.csv").write_text("step,eval/success\n0,0\n16384,10\n16384,12\n32768,20\n")
    assert sweep.log_curve(d) == [[0, 0.0], [16384, 12.0], [32768, 20.0]]


def test_list_names_every_run_the_table_needs(sweep, capsys):
    spec, rec = _record(sweep)
    specs = sweep.wanted(["direction"], ["task_tokens"], 500_000, 40, "abc")
    sweep.list_runs({spec.key: rec}, specs)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[0].startswith("recorded") and "c0ffee" in out[0] and "AMD EPYC" in out[0]
    assert all(line.startswith("MISSING") for line in out[1:])


def test_the_committed_runs_have_budget_commit_machine_and_curve():
    runs = json.loads((ROOT / "results" / "tasktokens" / "runs.json").read_text())
    assert runs
    for key, r in runs.items():
        assert {"steps", "commit", "machine", "curve"} <= set(r), key
        assert r["curve"] and all(len(p) == 2 for p in r["curve"]), key
        assert f"steps{r['steps']}" in key and f"seed{r['seed']}" in key and r["bfm_digest"] in key
