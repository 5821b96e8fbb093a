"""The NeRN ablation grid: every comparison the issue asks for, seeds, and the paper's size ratios."""

import pytest
from experiment_helper import experiment


@pytest.fixture(scope="module")
def study():
    with experiment("nern_ablations") as module:
        yield module


def test_the_predictor_width_gives_the_paper_size_ratios(study):
    from frozenfit.nern.predictor import KernelPredictor

    for fraction, represented in ((0.43, 270_256), (0.53, 270_256), (0.36, 850_864), (0.46, 850_864)):
        h = study.hidden_for(fraction, represented)
        got = sum(p.numel() for p in KernelPredictor(h, 3).parameters()) / represented
        assert abs(got - fraction) < 0.005


def test_every_comparison_has_three_seeds_at_equal_size(study):
    specs = study.grid(3, ["resnet20", "resnet56"])
    names = [s["name"] for s in specs]
    assert len(names) == len(set(names))
    count = lambda **kw: sum(all(s[k] == v for k, v in kw.items()) for s in specs)
    for perm in ("none", "in_filter", "cross_filter"):
        assert count(model="resnet20", permutation=perm, fraction=0.53, schedule="warmup_joint", distillation=True,
                     feature_maps="block") == 3
    assert count(model="resnet20", distillation=False) == 3
    for schedule in ("joint", "warmup_joint", "decoupled"):
        assert count(model="resnet20", permutation="cross_filter", schedule=schedule, fraction=0.53,
                     feature_maps="block", distillation=True) == 3
    for model, fractions in (("resnet20", (0.43, 0.53)), ("resnet56", (0.36, 0.46))):
        for f in fractions:
            assert count(model=model, fraction=f, distillation=True, feature_maps="block",
                         permutation="cross_filter", schedule="warmup_joint") == 3
    assert count(feature_maps="reference") == 1


def test_the_comparison_groups_average_their_seeds(study):
    rows = [{"model": "resnet20", "permutation": p, "distillation": "kd+fmd", "schedule": "warmup_joint",
             "hidden": 180, "feature_maps": "block", "test_acc": acc, "original_acc": 90.0, "seed": 0,
             "predictor_params": 53, "represented_params": 100}
            for p, acc in (("none", 80.0), ("none", 82.0), ("cross_filter", 88.0))]
    g = study.groups(rows)["permutation (ResNet-20)"]
    assert g == {"none": [80.0, 82.0], "cross_filter": [88.0]}


def test_size_accuracy_measures_every_nern_file_against_ptq(study, tmp_path, monkeypatch):
    """--size-accuracy on a tiny recorded fit (digits stand in for Shapes-32): every scheme's file is
    written, loaded back and measured, and each NeRN point knows whether PTQ dominates it."""
    import json
    import nern_runs
    import frozenfit.nern.data as data_mod
    from frozenfit.nern.fit import FitConfig
    from frozenfit.nern.original import SHIPPED_ORIGINAL

    monkeypatch.setattr(study, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(study, "OUT", tmp_path / "results")
    monkeypatch.setattr(study, "ORIGINALS", {"resnet20": SHIPPED_ORIGINAL})
    monkeypatch.setattr(data_mod, "load_data", lambda name, *a, **k: data_mod.load_digits())
    spec = {"name": "resnet20-cross_filter-kd-warmup_joint-p53-block-seed0", "model": "resnet20",
            "permutation": "cross_filter", "distillation": True, "schedule": "warmup_joint", "fraction": 0.53,
            "seed": 0, "feature_maps": "block"}
    cfg = FitConfig(original=str(SHIPPED_ORIGINAL), hidden=16, permutation="cross_filter", iterations=2, warmup=1,
                    eval_every=2, checkpoint_every=2, resume=True, progress=False)
    nern_runs.run_fit(spec["name"], cfg, study.RUNS)
    study.size_accuracy([spec], ["resnet20"], {})
    got = json.loads((tmp_path / "results" / "size_accuracy_shapes32.json").read_text())["models"]["resnet20"]
    nern = [p for p in got["points"] if p["family"] == "nern"]
    ptq = [p for p in got["points"] if p["family"] == "ptq"]
    assert len(nern) == 5 and len(ptq) == 5 and all(p["seed"] == 0 for p in nern)
    assert all(isinstance(p["dominated_by_ptq"], bool) for p in nern)
    assert all(p["bytes"] > 0 and 0 <= p["accuracy"] <= 100 for p in got["points"])
    assert (tmp_path / "results" / "size_accuracy_shapes32_resnet20.png").exists()


def test_the_iteration_plan_spends_the_same_distillation_steps(study):
    """Warm-up then joint or decoupled: W cheap steps then D distillation steps; joint from the start:
    the same D distillation steps, no warm-up; no distillation: W + D reconstruction steps."""
    spec = lambda **kw: {"distillation": True, "schedule": "warmup_joint", **kw}
    assert study.iteration_plan(spec(), 8000, 600) == (8600, 8000)
    assert study.iteration_plan(spec(schedule="decoupled"), 8000, 600) == (8600, 8000)
    assert study.iteration_plan(spec(schedule="joint"), 8000, 600) == (600, 0)
    assert study.iteration_plan(spec(distillation=False), 8000, 600) == (8600, 8600)
    from frozenfit.nern.original import SHIPPED_ORIGINAL   # a ResNet-20 stands in for Shapes-32's

    cfg = study.fit_config({**spec(schedule="joint"), "permutation": "in_filter", "fraction": 0.53, "seed": 1,
                            "feature_maps": "block"}, SHIPPED_ORIGINAL, 8000, 600)
    assert (cfg.iterations, cfg.warmup, cfg.schedule, cfg.permutation, cfg.seed) == (600, 0, "joint", "in_filter", 1)


def test_an_interrupted_fit_keeps_its_folder_and_another_settings_one_starts_over(study, tmp_path):
    """run_fit resumes an unfinished fit of the same settings and code (its folder is kept) and wipes
    one left by other settings."""
    import json
    import nern_runs
    from frozenfit.nern.fit import FitConfig
    from frozenfit.nern.original import SHIPPED_ORIGINAL

    def cfg(hidden):
        return FitConfig(original=str(SHIPPED_ORIGINAL), hidden=hidden, iterations=2, warmup=2, eval_every=2,
                         checkpoint_every=2, resume=True, progress=False)

    folder = tmp_path / "fit"
    folder.mkdir()
    (folder / "keep.txt").write_text("from the interrupted run")
    settings = {k: getattr(cfg(16), k) for k in nern_runs.RECORDED}
    (folder / "started.json").write_text(json.dumps({"settings": settings, "code_digest": nern_runs.code_digest()}))
    nern_runs.run_fit("fit", cfg(16), tmp_path)
    assert (folder / "keep.txt").exists()
    # finished: a rerun with other settings refits from an empty folder
    (tmp_path / "finished.json").unlink()
    nern_runs.run_fit("fit", cfg(12), tmp_path)
    assert not (folder / "keep.txt").exists()
    assert json.loads((tmp_path / "finished.json").read_text())["fit"]["settings"]["hidden"] == 12


def test_a_resumed_fit_records_the_time_of_every_process_that_worked_on_it(study, tmp_path):
    """The record's wall_s sums the chunks in chunks.json (a killed process's last count included),
    not only the process that finished; the running chunk is rewritten while the fit runs."""
    import json
    import time
    import nern_runs
    from frozenfit.nern.fit import FitConfig
    from frozenfit.nern.original import SHIPPED_ORIGINAL

    cfg = FitConfig(original=str(SHIPPED_ORIGINAL), hidden=16, iterations=2, warmup=2, eval_every=2,
                    checkpoint_every=2, resume=True, progress=False)
    folder = tmp_path / "fit"
    folder.mkdir()
    settings = {k: getattr(cfg, k) for k in nern_runs.RECORDED}
    (folder / "started.json").write_text(json.dumps({"settings": settings, "code_digest": nern_runs.code_digest()}))
    killed = {"wall_s": 1000.0, "source": "clock"}    # a process killed after 1000 s of work
    (folder / "chunks.json").write_text(json.dumps({"chunks": [killed]}))
    rec = nern_runs.run_fit("fit", cfg, tmp_path)
    chunks = json.loads((folder / "chunks.json").read_text())["chunks"]
    assert len(chunks) == rec["chunks"] == 2 and chunks[0] == killed and chunks[1]["ended"]
    assert rec["wall_s"] == round(1000.0 + chunks[1]["wall_s"], 1) and chunks[1]["wall_s"] > 0

    other = tmp_path / "other"
    other.mkdir()
    (other / "chunks.json").write_text(json.dumps({"chunks": [{"wall_s": 5.0, "source": "tensorboard"}]}))
    with nern_runs.ChunkClock(other, every=0.05) as clock:
        time.sleep(0.3)
        mid = json.loads((other / "chunks.json").read_text())["chunks"]
    assert len(mid) == 2 and mid[1]["wall_s"] >= 0.1 and "ended" not in mid[1]
    assert clock.totals()["wall_s"] >= 5.3


def test_the_table_gives_mean_std_and_the_gap_to_the_original_per_setting(study):
    def r(acc, seed, permutation="cross_filter", model="resnet20", hidden=180, feature_maps="block"):
        return {"model": model, "permutation": permutation, "distillation": "kd+fmd", "schedule": "warmup_joint",
                "hidden": hidden, "feature_maps": feature_maps, "test_acc": acc, "seed": seed,
                "original_acc": 91.0 if model == "resnet20" else 93.0, "predictor_params": 53 * hidden,
                "represented_params": 100 * hidden}
    rows = [r(90.0, 0), r(91.0, 1), r(89.0, 2), r(80.0, 0, "none"), r(89.5, 0, feature_maps="reference"),
            r(92.0, 0, model="resnet56", hidden=300)]
    lines = study.table(rows).splitlines()
    assert lines[0] == study.TABLE_HEADER
    assert "| permutation (ResNet-20) | cross_filter | 90.00 ± 1.00 | 3 | 1.00 |" in lines
    assert "| permutation (ResNet-20) | none | 80.00 | 1 | 11.00 |" in lines
    # the reference feature maps are measured once: seed 0 of ours beside it
    assert "| feature maps (ResNet-20) | block | 90.00 | 1 | 1.00 |" in lines
    assert "| feature maps (ResNet-20) | reference | 89.50 | 1 | 1.50 |" in lines
    assert "| size (resnet56) | 53 % (h=300) | 92.00 | 1 | 1.00 |" in lines


def test_shard_parses_i_of_n_and_refuses_the_rest(study):
    import argparse
    assert study.shard("1/3") == (1, 3)
    for bad in ("3/3", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(argparse.ArgumentTypeError):
            study.shard(bad)


def test_parallel_shards_split_the_grid_and_keep_each_others_rows(study, tmp_path, monkeypatch):
    """Two shards (0/2, 1/2) fit disjoint halves of the grid and record into one file; a shard's
    write keeps the rows another shard recorded after it started (no lost updates)."""
    import json
    import sys
    import nern_runs
    from frozenfit.nern.fit import FitConfig

    monkeypatch.setattr(study, "OUT", tmp_path / "results")
    (tmp_path / "results").mkdir()
    monkeypatch.setattr(study, "RUNS", tmp_path / "runs")
    fake_original = tmp_path / "original.safetensors"
    fake_original.write_bytes(b"x")
    monkeypatch.setattr(study, "ORIGINALS", {"resnet20": fake_original, "resnet56": fake_original})
    monkeypatch.setattr(study, "plot", lambda rows: None)
    monkeypatch.setattr(study, "fit_config", lambda spec, original, w, d: FitConfig(
        original=str(original), hidden=8, iterations=study.iteration_plan(spec, w, d)[0],
        warmup=study.iteration_plan(spec, w, d)[1]))
    digest = nern_runs.code_digest()
    fitted = {}

    def fake_fit(name, cfg, root):
        fitted.setdefault(shard_now[0], []).append(name)
        return {"predictor_params": 1, "represented_params": 2, "original_acc": 91.0, "reconstructed_acc": 90.0,
                "artifact_bytes": 3, "final_rmse": 0.01, "wall_s": 1.0, "chunks": 1, "commit": "c",
                "code_digest": digest}
    monkeypatch.setattr(study.nern_runs, "run_fit", fake_fit)
    shard_now = ["0/2"]
    grid = [s["name"] for s in study.grid(1, ["resnet20"])]
    for shard in ("0/2", "1/2"):
        shard_now[0] = shard
        monkeypatch.setattr(sys, "argv", ["nern_ablations.py", "--seeds", "1", "--models", "resnet20",
                                          "--shard", shard])
        study.main()
    assert sorted(fitted["0/2"] + fitted["1/2"]) == sorted(grid)
    assert not set(fitted["0/2"]) & set(fitted["1/2"])
    rows = json.loads((tmp_path / "results" / "ablations.json").read_text())["runs"]
    assert sorted(r["name"] for r in rows) == sorted(grid)

    # a shard that read the file before another shard's write keeps that write
    path = tmp_path / "results" / "ablations.json"
    payload = json.loads(path.read_text())
    payload["runs"] = [r for r in payload["runs"] if r["name"] != grid[0]]
    path.write_text(json.dumps(payload))
    stolen = next(r for r in rows if r["name"] == grid[1])

    def fit_while_another_shard_writes(name, cfg, root):
        p = json.loads(path.read_text())
        p["runs"] = [r for r in p["runs"] if r["name"] != grid[1]] + [stolen]
        path.write_text(json.dumps(p))
        return fake_fit(name, cfg, root)
    payload["runs"] = [r for r in payload["runs"] if r["name"] != grid[1]]
    path.write_text(json.dumps(payload))
    monkeypatch.setattr(study.nern_runs, "run_fit", fit_while_another_shard_writes)
    monkeypatch.setattr(sys, "argv", ["nern_ablations.py", "--seeds", "1", "--models", "resnet20", "--shard", "0/2"])
    study.main()
    names = [r["name"] for r in json.loads(path.read_text())["runs"]]
    assert grid[0] in names and grid[1] in names


def test_extra_seeds_are_skipped_only_where_seed_0_is_a_point_or_more_from_every_neighbour(study):
    """The issue's rule: >= 3 seeds where a difference is under 1 point. A seed-1+ fit runs until
    seed 0 of its setting and of every one-factor neighbour is recorded; it is skipped when all of
    them are at least SEED_GAP away; the reference feature maps (measured once) do not count."""
    specs = study.grid(3, ["resnet20", "resnet56"])
    by = {s["name"]: s for s in specs}

    def rows(**acc):   # short setting name -> seed-0 accuracy
        name = {"base": "resnet20-cross_filter-kd-warmup_joint-p53-block-seed0",
                "inf": "resnet20-in_filter-kd-warmup_joint-p53-block-seed0",
                "none": "resnet20-none-kd-warmup_joint-p53-block-seed0",
                "nokd": "resnet20-cross_filter-nokd-warmup_joint-p53-block-seed0",
                "joint": "resnet20-cross_filter-kd-joint-p53-block-seed0",
                "dec": "resnet20-cross_filter-kd-decoupled-p53-block-seed0",
                "p43": "resnet20-cross_filter-kd-warmup_joint-p43-block-seed0",
                "ref": "resnet20-cross_filter-kd-warmup_joint-p53-reference-seed0",
                "r36": "resnet56-cross_filter-kd-warmup_joint-p36-block-seed0",
                "r46": "resnet56-cross_filter-kd-warmup_joint-p46-block-seed0"}
        return {name[k]: {"test_acc": v} for k, v in acc.items()}

    assert study.skipped(specs, {}) == set()
    # joint's neighbours are the base and decoupled (one factor, the schedule): 50 points below both
    # -> its seeds 1 and 2 go; none is within a point of in-filter, so its seeds stay; ResNet-56's
    # two sizes are 2 points apart -> their extra seeds go
    full = rows(base=91.0, inf=90.6, none=89.8, nokd=90.3, joint=40.0, dec=90.8, p43=90.1, ref=91.5, r36=90.0, r46=92.0)
    left = study.skipped(specs, full)
    assert left == {f"resnet20-cross_filter-kd-joint-p53-block-seed{s}" for s in (1, 2)} | \
        {f"resnet56-cross_filter-kd-warmup_joint-p{p}-block-seed{s}" for p in (36, 46) for s in (1, 2)}
    assert all(by[n]["seed"] > 0 for n in left)
    # a neighbour not recorded yet keeps the seeds (decoupled missing: joint is compared with it)
    partial = {k: v for k, v in full.items() if "decoupled" not in k}
    assert "resnet20-cross_filter-kd-joint-p53-block-seed1" not in study.skipped(specs, partial)
    # ResNet-56's sizes within a point of each other: all their seeds run
    close = {**full, **rows(r36=91.5, r46=92.0)}
    assert not any("resnet56" in n for n in study.skipped(specs, close))
    # a recorded seed-1 fit is never "skipped"
    done1 = {**full, "resnet20-cross_filter-kd-joint-p53-block-seed1": {"test_acc": 41.0}}
    assert "resnet20-cross_filter-kd-joint-p53-block-seed1" not in study.skipped(specs, done1)


def test_a_grid_at_another_plan_refuses_to_discard_the_recorded_one(study, tmp_path, monkeypatch, capsys):
    """`--distill 1600` over a grid recorded at 800 distillation steps would drop its rows and refit
    its folders: the script refuses in one line and fits nothing; the recorded plan runs."""
    import json
    import sys
    from frozenfit.common.script import run_main

    monkeypatch.setattr(study, "OUT", tmp_path / "results")
    (tmp_path / "results").mkdir()
    monkeypatch.setattr(study, "RUNS", tmp_path / "runs")
    spec = study.grid(1, ["resnet20"])[0]
    iterations, warmup = study.iteration_plan(spec, 10, 8)
    recorded = tmp_path / "results" / "ablations.json"
    recorded.write_text(json.dumps({"runs": [{"name": spec["name"], "iterations": iterations, "warmup": warmup}]}))
    before = recorded.read_text()
    fitted = []
    monkeypatch.setattr(study.nern_runs, "run_fit", lambda *a: fitted.append(a))
    assert study.other_plan(recorded, {spec["name"]: (iterations, warmup)}) == []
    monkeypatch.setattr(sys, "argv", ["nern_ablations.py", "--models", "resnet20", "--warmup", "10",
                                      "--distill", "16"])
    assert run_main(study.main) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and spec["name"] in err and "aside" in err
    assert fitted == [] and recorded.read_text() == before


def test_a_killed_grid_fit_loses_at_most_100_iterations(study):
    """The grid's distillation phase (800 steps, over an hour of ResNet-56) is checkpointed within,
    not only at its end; the interval does not change what a fit is."""
    import nern_runs
    from frozenfit.nern.original import SHIPPED_ORIGINAL

    spec = study.grid(1, ["resnet20"])[0]
    cfg = study.fit_config(spec, SHIPPED_ORIGINAL, study.WARMUP, study.DISTILL)
    assert cfg.checkpoint_every <= 100 and cfg.resume
    assert "checkpoint_every" not in nern_runs.RECORDED


def test_a_fit_another_process_is_running_is_refused_not_joined(study, tmp_path):
    """Two processes on one fit would interleave its checkpoints and logs: the second is refused
    in one line and leaves the folder alone."""
    import nern_runs
    from frozenfit.common.filelock import locked
    from frozenfit.errors import FrozenfitError
    from frozenfit.nern.fit import FitConfig
    from frozenfit.nern.original import SHIPPED_ORIGINAL

    cfg = FitConfig(original=str(SHIPPED_ORIGINAL), hidden=8, iterations=2, warmup=2, eval_every=2,
                    checkpoint_every=2, resume=True, progress=False)
    with locked(tmp_path / "fit", wait=False):   # stands in for the other process (flock is per open file)
        with pytest.raises(FrozenfitError, match="in use by another process"):
            nern_runs.run_fit("fit", cfg, tmp_path)
    assert not (tmp_path / "fit").exists()
    assert nern_runs.run_fit("fit", cfg, tmp_path)["name"] == "fit"
