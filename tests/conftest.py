import os

# Headless rendering for the video tests; must be set before anything imports mujoco.
os.environ.setdefault("MUJOCO_GL", "egl")

import pytest  # noqa: E402
import torch  # noqa: E402

# Two cores on CI: keep torch from oversubscribing when pytest runs things in one process.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)



@pytest.fixture(scope="session")
def v2_teacher_file(tmp_path_factory):
    """A tiny goal set 2 teacher (humanoid 2, motion prior), trained for two PPO iterations."""
    from dataclasses import replace
    from frozenfit.teacher.policy import export_teacher
    from frozenfit.teacher.train import TeacherV2Config, train_teacher
    tmp = tmp_path_factory.mktemp("teacher2")
    cfg = TeacherV2Config(run_dir=str(tmp / "run"), progress=False, amp_clips=("walk",))
    cfg.env.num_envs, cfg.ppo.num_steps, cfg.ppo.total_env_steps = 8, 4, 64
    cfg.amp_cfg = replace(cfg.amp_cfg, window=4, hidden=(16,), batch=8)
    train_teacher(cfg)
    return export_teacher(tmp / "run" / "checkpoint.safetensors", tmp / "teacher.safetensors")


@pytest.fixture(scope="session")
def v2_bfm_file(tmp_path_factory, v2_teacher_file):
    """A tiny goal set 2 BFM distilled from `v2_teacher_file` for two iterations."""
    from frozenfit.bfm.distill import DistillConfig, distill_bfm
    from frozenfit.bfm.model import BFMConfig
    from frozenfit.bfm.policy import export_bfm
    tmp = tmp_path_factory.mktemp("bfm2")
    model = BFMConfig.v2(width=32, layers=1, heads=2, ff=64, tokenizer_hidden=32, latent=8,
                         encoder_hidden=(32,), decoder_hidden=(32,))
    distill_bfm(DistillConfig(model=model, teacher=str(v2_teacher_file), num_envs=16, num_steps=4,
                              total_env_steps=128, minibatch=32, run_dir=str(tmp / "run"), progress=False,
                              checkpoint_every=1, beta_steps=64))
    return export_bfm(tmp / "run" / "checkpoint.safetensors", tmp / "bfm.safetensors")
