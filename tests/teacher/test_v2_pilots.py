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
