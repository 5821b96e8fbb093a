import json
import math

import pytest
import torch

from frozenfit.bfm.distill import DistillConfig, Distiller, distill_bfm, distill_loss
from frozenfit.bfm.model import BFMConfig
from frozenfit.bfm.policy import BFM_KIND, BFM_VERSION, export_bfm, load_bfm
from frozenfit.bfm.keyframe import HEAD_ABOVE_PELVIS
from frozenfit.bfm.prompt import BFMController, Prompt, keyframe_markers, load_script, play, script_to_json, DEMO_PROMPTS
from frozenfit.bfm.tokens import PROMPTS
from frozenfit.cli import main
from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.observations import root_heading
from torchrun_helper import run_torchrun

TINY = BFMConfig(width=32, layers=1, heads=2, ff=64, tokenizer_hidden=32, latent=8,
                 encoder_hidden=(32,), decoder_hidden=(32,))


def _cfg(tmp_path, iters=2, **kw):
    return DistillConfig(model=TINY, num_envs=16, num_steps=4, total_env_steps=16 * 4 * iters, minibatch=32,
                         run_dir=str(tmp_path / "run"), progress=False, checkpoint_every=1, beta_steps=64, **kw)


@pytest.fixture(scope="module")
def tiny_bfm(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bfm")
    distill_bfm(_cfg(tmp))
    return export_bfm(tmp / "run" / "checkpoint.safetensors", tmp / "bfm.safetensors")


def test_distill_resume_and_export(tmp_path):
    distill_bfm(_cfg(tmp_path, iters=2))
    distill_bfm(_cfg(tmp_path, iters=3, resume=True))
    ck = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert ck.state["global_step"] == 16 * 4 * 3
    rows = (tmp_path / "run" / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header + one row per iteration, continued after the resume
    bfm = load_bfm(export_bfm(tmp_path / "run" / "checkpoint.safetensors", tmp_path / "b.safetensors"))
    assert bfm.meta["env_steps"] == 16 * 4 * 3
    assert bfm.tokenizers["state"].norm.count > 16 * 4  # normaliser statistics ship with it
    assert not any(p.requires_grad for p in bfm.parameters())
    other = _cfg(tmp_path, iters=4, resume=True)
    other.model = BFMConfig(width=16, heads=2)
    with pytest.raises(FrozenfitError, match="BFM config"):
        distill_bfm(other)


def test_init_from_copies_a_legacy_bfm_and_leaves_new_prompt_types_fresh(tmp_path):
    from dataclasses import replace
    from frozenfit.bfm.masking import MaskingConfig
    from frozenfit.bfm.tokens import LEGACY_PROMPTS
    old = _cfg(tmp_path / "old", iters=1, masking=MaskingConfig(p_keyframe=0.0))
    old.model = replace(TINY, prompts=LEGACY_PROMPTS)
    distill_bfm(old)
    src = export_bfm(tmp_path / "old" / "run" / "checkpoint.safetensors", tmp_path / "old.safetensors")
    d = Distiller(_cfg(tmp_path / "new", init_from=str(src)))
    legacy = load_bfm(src).state_dict()
    own = d.bfm.state_dict()
    assert d.fresh and all(k.startswith(("tokenizers.keyframe.", "type_embed.keyframe")) for k in d.fresh)
    assert all(torch.equal(own[k], v) for k, v in legacy.items())        # every shared weight and statistic
    d.close()
    wide = _cfg(tmp_path / "wide", init_from=str(src))
    wide.model = replace(TINY, width=64, ff=64)
    with pytest.raises(FrozenfitError, match="differ in shape"):
        Distiller(wide)
    no_kf = _cfg(tmp_path / "x")
    no_kf.model = replace(TINY, prompts=LEGACY_PROMPTS)
    with pytest.raises(FrozenfitError, match="p-keyframe"):
        Distiller(no_kf)


def test_dagger_regression_fits_the_teachers_labels(tmp_path):
    d = Distiller(_cfg(tmp_path, lr=3e-3))
    obs = d.env.reset()
    d.history.reset(d.env.frame)
    _, x, tobs, labels, _ = d._rollout(obs, beta=1.0)
    d.bfm.update_normalizers(x, tobs)
    first, _ = distill_loss(d.bfm, x, tobs, labels, 1.0, 1e-3)
    for _ in range(60):
        loss, _ = distill_loss(d.bfm, x, tobs, labels, 1.0, 1e-3)
        d.opt.zero_grad()
        loss.backward()
        d.opt.step()
    assert loss.item() < 0.5 * first.item()
    # every part of the model learns: tokenizers, transformer, prior head, encoder, decoder
    loss, _ = distill_loss(d.bfm, x, tobs, labels, 1.0, 1e-3)
    d.opt.zero_grad()
    loss.backward()
    for name in ("tokenizers.state.net.0.weight", "tokenizers.velocity.net.0.weight", "blocks.0.qkv.weight",
                 "prior_head.weight", "encoder.0.weight", "decoder.0.weight"):
        assert d.bfm.get_parameter(name).grad.abs().sum() > 0, name
    d.close()


def test_load_bfm_refuses_bad_files(tiny_bfm, tmp_path):
    ck = load_checkpoint(tiny_bfm)
    with pytest.raises(FrozenfitError, match="not found"):
        load_bfm(tmp_path / "missing.safetensors")
    from frozenfit.teacher.policy import SHIPPED_TEACHER
    with pytest.raises(FrozenfitError, match="'teacher' checkpoint"):
        load_bfm(SHIPPED_TEACHER)
    save_checkpoint(tmp_path / "other.safetensors", BFM_KIND, BFM_VERSION, dict(ck.config, model_hash="beef"),
                    ck.tensors)
    with pytest.raises(FrozenfitError, match="humanoid model"):
        load_bfm(tmp_path / "other.safetensors")
    bad = dict(ck.tensors)
    bad["decoder.0.weight"] = torch.zeros(2, 2)
    save_checkpoint(tmp_path / "shape.safetensors", BFM_KIND, BFM_VERSION, ck.config, bad)
    with pytest.raises(FrozenfitError, match="decoder.0.weight"):
        load_bfm(tmp_path / "shape.safetensors")
    save_checkpoint(tmp_path / "v9.safetensors", BFM_KIND, 9, ck.config, ck.tensors)
    with pytest.raises(FrozenfitError, match="version"):
        load_bfm(tmp_path / "v9.safetensors")


def test_checkpoint_round_trip_gives_the_same_actions(tiny_bfm, tmp_path):
    a = BFMController(load_bfm(tiny_bfm), 3, seed=1)
    b = BFMController(load_bfm(tiny_bfm), 3, seed=1)
    a.set_prompt(Prompt(velocity=(1.0, 0.0)))
    b.set_prompt(Prompt(velocity=(1.0, 0.0)))
    assert torch.equal(a.action(), b.action())
    a.close()
    b.close()


def test_prompt_api_sets_goals_and_visibility(tiny_bfm):
    ctl = BFMController(load_bfm(tiny_bfm), 2)
    ctl.set_prompt(Prompt(velocity=(0.0, 2.0), right_hand=(0.3, -0.2, 0.5), pelvis_height=0.8))
    t = ctl.task
    assert torch.allclose(t.speed, torch.full((2,), 2.0))
    assert torch.allclose(t.move_yaw, torch.full((2,), math.pi / 2))
    assert torch.allclose(t.facing_yaw, t.move_yaw)            # unprompted facing: the way you move
    assert t.hand_mask.tolist() == [[1.0, 0.0]] * 2 and t.height_mask.tolist() == [1.0, 1.0]
    assert t.visible.tolist() == [[True, False, True, False]] * 2
    ctl.set_prompt(Prompt())                                    # no prompt: stand, keep the heading
    assert (t.speed == 0).all() and not t.visible.any()
    assert torch.allclose(t.facing_yaw, root_heading(ctl.env.frame))
    r = ctl.step(extra_tokens=torch.zeros(2, TINY.width))
    assert r.obs.shape[0] == 2
    ctl.close()
    with pytest.raises(FrozenfitError, match="unknown prompt fields"):
        Prompt.from_dict({"speed": 1})


def test_prompt_api_keyframes(tiny_bfm):
    ctl = BFMController(load_bfm(tiny_bfm), 2)
    here = ctl.env.frame.body_pos[:, 0].clone()
    target = (float(here[0, 0]) + 3.0, float(here[0, 1]), 0.93)
    ctl.set_prompt(Prompt(keyframe_pelvis=target, keyframe_yaw=1.0, keyframe_in=2.0))
    t = ctl.task
    assert t.visible[:, PROMPTS.index("keyframe")].all() and not t.visible[:, PROMPTS.index("velocity")].any()
    assert abs(float(t.speed[0]) - 1.5) < 1e-4 and torch.allclose(t.facing_yaw, torch.ones(2))  # 3 m in 2 s
    x = ctl.inputs()
    assert torch.allclose(x.goal[:, -1], torch.full((2,), 2.0))                   # time to target
    ctl.step()
    ctl.set_prompt(Prompt(keyframe_head=(float(here[0, 0]), float(here[0, 1]), 1.2), keyframe_in=1.0))
    assert t.height_mask[0] == 1 and abs(float(t.height_target[0]) - (1.2 - HEAD_ABOVE_PELVIS)) < 1e-5  # crouch
    with pytest.raises(FrozenfitError, match="either a keyframe"):
        ctl.set_prompt(Prompt(velocity=(1.0, 0.0), keyframe_yaw=0.0))
    rec_markers = keyframe_markers(t.keyframes, 0)
    assert len(rec_markers) == 1                                                   # no rotation channel
    ctl.close()


def test_prompt_scripts_and_play(tiny_bfm, tmp_path):
    path = tmp_path / "script.json"
    path.write_text(script_to_json(DEMO_PROMPTS))
    script = load_script(path)
    assert [t for t, _ in script] == [t for t, _ in DEMO_PROMPTS] and script[1][1].velocity == (1.0, 0.0)
    (tmp_path / "late.json").write_text(json.dumps([{"t": 1.0, "prompt": {}}]))
    with pytest.raises(FrozenfitError, match="t = 0"):
        load_script(tmp_path / "late.json")
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(FrozenfitError, match="not a prompt script"):
        load_script(tmp_path / "bad.json")
    rec = play(load_bfm(tiny_bfm), script, seconds=0.5, frame_every=1)
    assert rec.qpos.shape[0] >= 1 and len(rec.markers) == rec.qpos.shape[0]


def test_cli_bfm_play_renders_and_refuses_missing_files(tiny_bfm, tmp_path, capsys):
    out = tmp_path / "bfm.gif"
    assert main(["bfm", "play", "--checkpoint", str(tiny_bfm), "--out", str(out), "--seconds", "0.4",
                 "--width", "64", "--height", "48"]) == 0
    assert out.stat().st_size > 0
    assert main(["bfm", "play", "--checkpoint", str(tmp_path / "nope.safetensors")]) == 2
    assert "not found" in capsys.readouterr().err


def test_evaluation_reports_every_modality_with_the_teacher_alongside(tiny_bfm):
    from frozenfit.bfm.evaluate import MODALITIES, BFMEvalConfig, evaluate_bfm
    from frozenfit.teacher.policy import load_teacher
    cfg = BFMEvalConfig(episodes=4, seconds=1.2, no_prompt_seconds=1.0, settle_seconds=0.3)
    r = evaluate_bfm(load_bfm(tiny_bfm), load_teacher(), cfg, progress=lambda s: None)
    assert set(r["modalities"]) == set(MODALITIES)
    for name, m in r["modalities"].items():
        assert m["teacher_reward"] > 0, name
    # the untrained tiny BFM does not walk: far below the teacher on velocity tracking
    assert r["modalities"]["velocity"]["ratio"] < 0.9


def test_a_bfm_that_acts_as_the_teacher_scores_a_ratio_of_one(tiny_bfm, monkeypatch):
    """Both policies run on the same goals from the same starts: a 'BFM' that is the teacher gets
    exactly the teacher's rewards, errors and falls in every modality."""
    from frozenfit.bfm import evaluate as ev
    from frozenfit.teacher.policy import load_teacher
    real = ev.run_case
    monkeypatch.setattr(ev, "run_case", lambda policy, *a, **k: real("teacher", *a, **k))
    cfg = ev.BFMEvalConfig(episodes=4, seconds=1.2, no_prompt_seconds=1.0, settle_seconds=0.3)
    r = ev.evaluate_bfm(load_bfm(tiny_bfm), load_teacher(), cfg, progress=lambda s: None)
    for name, m in r["modalities"].items():
        assert m["ratio"] == pytest.approx(1.0, abs=1e-9), name
        assert m["bfm_fall_rate"] == m["teacher_fall_rate"], name
        assert m["error"] == pytest.approx(m["teacher_error"], nan_ok=True), name   # keyframe: none due in 1.2 s
    assert 0 <= r["no_prompt_fall_rate"] <= 1
    assert {"velocity_error_mps", "facing_error_deg", "hands_error_m"} <= set(r["combined"])


def test_distillation_runs_data_parallel_under_torchrun_and_resumes(tmp_path):
    import os
    import sys

    run = tmp_path / "run"
    model = ["--model.width", "32", "--model.layers", "1", "--model.heads", "2", "--model.ff", "64",
             "--model.tokenizer-hidden", "32", "--model.latent", "8", "--model.encoder-hidden", "32",
             "--model.decoder-hidden", "32"]
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "frozenfit.cli",
            "bfm", "distill", *model, "--num-envs", "16", "--num-steps", "4", "--minibatch", "32",
            "--checkpoint-every", "1", "--beta-steps", "64", "--run-dir", str(run), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for steps, extra in ((128, []), (256, ["--resume"])):
        p = run_torchrun(base + ["--total-env-steps", str(steps), *extra], env, 300)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    ck = load_checkpoint(run / "checkpoint.safetensors")
    assert ck.state["global_step"] == 256 and ck.state["world"] == 2
    rows = (run / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["64", "128", "192", "256"]
