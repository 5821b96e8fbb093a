"""experiments/bfm_ood.py: which variations a BFM has seen, and one short run on the tiny v2 files."""

import json
import sys

from experiment_helper import experiment
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.humanoid.worlds import WorldRandomization


def test_seen_means_inside_the_ranges_it_was_trained_in():
    with experiment("bfm_ood") as m:
        trained = WorldRandomization(worlds=16)
        for name, (phys, worlds) in m.VARIATIONS.items():
            assert m.seen(phys, worlds, trained) == (name in ("nominal", "training_worlds")), name
            assert m.seen(phys, worlds, WorldRandomization()) == (name == "nominal"), name
        assert m.seen(PhysicsConfig(gravity_scale=1.05), None, trained)
        assert not m.seen(PhysicsConfig(gravity_scale=1.05), None, WorldRandomization())


def test_a_short_ood_run_writes_every_variation_asked_for(tmp_path, monkeypatch, v2_teacher_file, v2_bfm_file):
    import shutil
    shutil.copy(v2_bfm_file, tmp_path / "bfm.safetensors")
    shutil.copy(v2_teacher_file, tmp_path / "teacher.safetensors")
    monkeypatch.chdir(tmp_path)      # results record relative paths only
    with experiment("bfm_ood") as m:
        monkeypatch.setattr(m, "OUT", tmp_path)
        monkeypatch.setattr(sys, "argv", ["bfm_ood.py", "--bfm", "bfm.safetensors", "--teacher", "teacher.safetensors",
                                          "--episodes", "2", "--seconds", "2.5", "--only", "terrain_8cm", "--threads", "1"])
        m.main()
    d = json.loads((tmp_path / "ood.json").read_text())
    assert list(d["variations"]) == ["nominal", "terrain_8cm"] and d["humanoid_version"] == 2
    row = d["variations"]["terrain_8cm"]
    assert row["seen"] is False and row["worlds"]["terrain_height"] == [0.08, 0.08]
    assert {"velocity", "jump", "reach"} <= set(row["modalities"])
    assert all("ratio" in v and "fall_rate" in v and "retained" in v for v in row["modalities"].values())
    assert d["variations"]["nominal"]["modalities"]["velocity"]["retained"] in (1.0, None)
    assert (tmp_path / "ood.png").is_file()
