import pytest
import torch

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.teacher.evaluate import EvalConfig, evaluate_teacher, play_script
from frozenfit.teacher.policy import SHIPPED_TEACHER, TEACHER_KIND, TEACHER_VERSION, export_teacher, load_teacher
from frozenfit.teacher.train import TeacherConfig, build, train_teacher


def _tiny(tmp_path, steps=2):
    cfg = TeacherConfig(run_dir=str(tmp_path / "run"), progress=False)
    cfg.env.num_envs = 8
    cfg.ppo.num_steps = 4
    cfg.ppo.total_env_steps = 8 * 4 * steps
    cfg.ppo.checkpoint_every = 1
    return cfg


def test_teacher_smoke_train_resume_export_load(tmp_path):
    cfg = _tiny(tmp_path)
    train_teacher(cfg)
    cfg2 = _tiny(tmp_path, steps=3)
    cfg2.resume = True
    train_teacher(cfg2)
    ck = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert ck.state["global_step"] == 8 * 4 * 3
    out = export_teacher(tmp_path / "run" / "final.safetensors", tmp_path / "teacher.safetensors")
    t = load_teacher(out)
    assert t.meta["global_step"] == 8 * 4 * 3
    env, agent, _ = build(cfg)
    obs = env.reset()
    env.close()
    a = t.act(obs)
    assert a.shape == (8, 23) and torch.isfinite(a).all()
    # the loaded agent carries its normaliser statistics
    assert t.agent.obs_norm.count > 8


def test_load_teacher_refuses_bad_files(tmp_path):
    cfg = _tiny(tmp_path)
    train_teacher(cfg)
    good = export_teacher(tmp_path / "run" / "final.safetensors", tmp_path / "t.safetensors")
    ck = load_checkpoint(good)
    with pytest.raises(FrozenfitError, match="not found"):
        load_teacher(tmp_path / "missing.safetensors")
    save_checkpoint(tmp_path / "nern.safetensors", "nern-run", 1, {}, {"x": torch.zeros(1)})
    with pytest.raises(FrozenfitError, match="expected 'teacher'"):
        load_teacher(tmp_path / "nern.safetensors")
    other = dict(ck.config, model_hash="0123456789abcdef")
    save_checkpoint(tmp_path / "other.safetensors", TEACHER_KIND, TEACHER_VERSION, other, ck.tensors)
    with pytest.raises(FrozenfitError, match="humanoid model"):
        load_teacher(tmp_path / "other.safetensors")
    bad = dict(ck.tensors)
    bad["actor.0.weight"] = torch.zeros(3, 3)
    save_checkpoint(tmp_path / "shape.safetensors", TEACHER_KIND, TEACHER_VERSION, ck.config, bad)
    with pytest.raises(FrozenfitError, match="actor.0.weight"):
        load_teacher(tmp_path / "shape.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint at all")
    with pytest.raises(FrozenfitError):
        load_teacher(tmp_path / "junk.safetensors")


@pytest.mark.skipif(not SHIPPED_TEACHER.exists(), reason="teacher asset not built yet")
def test_shipped_teacher_stands_and_walks():
    t = load_teacher()
    r = evaluate_teacher(t, EvalConfig(episodes=4, speeds=4, max_speed=1.5), progress=False)
    assert r["fall_rate"] <= 0.25
    # it walks: over the moving commands (0.5, 1.0, 1.5 m/s) the pelvis's 1-s displacement misses
    # the commanded velocity by less than half the command on average (a standing policy misses by
    # all of it; single episodes vary with their facing offsets and hand targets)
    moving = [(float(s), d["velocity_error_mps"]) for s, d in r["per_speed"].items() if float(s) > 0]
    assert len(moving) == 3 and sum(e for _, e in moving) < 0.5 * sum(s for s, _ in moving)
    # and it stands: at the 0 m/s command the pelvis moves less than 0.15 m/s on average
    assert r["per_speed"]["0.00"]["velocity_error_mps"] < 0.15
    rec = play_script(t, seconds=3.0)
    assert rec.qpos.shape[1] == 30 and len(rec.markers) == len(rec.qpos)
