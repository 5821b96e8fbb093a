"""experiments/teacher_v2_pilots.py: the record of the pilots' logs."""

import json
import sys

from experiment_helper import experiment


def test_pilot_curves_are_thinned_from_the_log_and_stop_at_the_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "runs" / "teacher-v2-pilotC"
    run.mkdir(parents=True)
    lines = ["step,reward/goal,reward/style,episode/fall_rate,amp/d_policy"]
    lines += [f"{s},{s / 1e6:.3f},0.1,0.5,-0.9" for s in range(0, 1_100_000, 100_000)]
    lines.insert(5, "300000,9.0,0.2,0.5,-0.9")         # a replayed step after a resume: its last row counts
    (run / "log.csv").write_text("\n".join(lines) + "\n")
    with experiment("teacher_v2_pilots") as m:
        monkeypatch.setattr(m, "ROOT", tmp_path)
        monkeypatch.setattr(m, "OUT", tmp_path / "results")
        c = m.curve("C", upto=800_000)
        assert [p["step"] for p in c] == [0, 300_000, 600_000, 800_000] and c[0]["goal"] == 0.0
        assert m.curve("C")[1]["step"] == 300_000 and m.curve("C")[-1]["step"] == 1_000_000
        assert dict(zip(*zip(*[(p["step"], p["goal"]) for p in m.curve("C")])))[300_000] == 9.0
        monkeypatch.setattr(sys, "argv", ["teacher_v2_pilots.py", "--pilots", "C", "--collect-only"])
        m.main()
    d = json.loads((tmp_path / "results" / "v2_pilots.json").read_text())
    assert d["pilots"]["C"]["steps"] == 0 and "--amp-cfg.style-max-offset 180" in d["pilots"]["C"]["command"]
    assert (tmp_path / "results" / "v2_pilots.png").is_file()


def test_the_long_run_is_recorded_from_its_checkpoint_and_log(tmp_path, monkeypatch):
    """teacher_v2_training.py: steps, budget, wall time and config from the checkpoint; the curve from
    the log stops at the checkpoint's step; no checkpoint is a one-line refusal."""
    import pytest
    import torch
    from frozenfit.common.checkpoint import save_checkpoint

    with experiment("teacher_v2_training") as m:
        monkeypatch.setattr(m, "ROOT", tmp_path)
        monkeypatch.setattr(m, "OUT", tmp_path / "results")
        monkeypatch.setattr(sys, "argv", ["teacher_v2_training.py"])
        with pytest.raises(SystemExit, match="no checkpoint under runs/teacher-v2"):
            m.main()
        run = tmp_path / "runs" / "teacher-v2"
        run.mkdir(parents=True)
        lines = ["step,reward/goal,reward/style,episode/fall_rate,env_steps_per_s"]
        lines += [f"{s},{s / 1e7:.3f},0.1,0.5,3000" for s in range(0, 5_000_001, 500_000)]
        (run / "log.csv").write_text("\n".join(lines) + "\n")
        save_checkpoint(run / "checkpoint.safetensors", "ppo-agent", 1, {"ppo": {"total_env_steps": 300_000_000}},
                        {"w": torch.zeros(1)}, state={"global_step": 3_000_000, "wall_s": 1234.56})
        m.main()
    d = json.loads((tmp_path / "results" / "v2_training.json").read_text())
    assert (d["steps"], d["budget"], d["train_wall_s"]) == (3_000_000, 300_000_000, 1234.6)
    assert [p["step"] for p in d["curve"]] == [0, 1_000_000, 2_000_000, 3_000_000]
    assert d["curve"][-1]["env_steps_per_s"] == 3000 and d["config"]["ppo"]["total_env_steps"] == 300_000_000
    assert (tmp_path / "results" / "v2_training.png").is_file()
