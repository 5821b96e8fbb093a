"""Task Tokens on a goal set 2 BFM (humanoid 2): train, export, load, evaluate; no mixing with v1."""

from contextlib import contextmanager

import pytest

from frozenfit.bfm.policy import load_bfm
from frozenfit.bfm.tokens import PROMPT_LAYOUTS
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig
from frozenfit.humanoid.model import LAYOUTS, model_hash
from frozenfit.tasktokens.artifact import export_policy, load_policy
from frozenfit.tasktokens.evaluate import TaskEvalConfig, eval_env, evaluate_actor
from frozenfit.tasktokens.train import TaskTokensConfig, build, train_task


@contextmanager
def reset_eval_env(task: str, n: int, use_prior: bool, seed: int, version: int):
    """(task, env) of ``n`` reset evaluation environments on humanoid ``version``; closed after."""
    t, env = eval_env(task, n, (2, 5, 10), use_prior, seed=seed, humanoid_version=version)
    try:
        env.reset()
        yield t, env
    finally:
        env.close()


@pytest.mark.parametrize("method", ["task_tokens", "ppo_scratch"])
def test_task_tokens_train_and_evaluate_on_a_v2_bfm(tmp_path, v2_bfm_file, method):
    cfg = TaskTokensConfig(task="direction", method=method, bfm=str(v2_bfm_file),
                           env=EnvConfig(num_envs=8, episode_seconds=30.0), run_dir=str(tmp_path / "run"),
                           progress=False, eval_every=0)
    use_prior = cfg.use_prior
    cfg.ppo.num_steps, cfg.ppo.total_env_steps = 4, 64
    _, env, agent, ppo = build(cfg)
    try:
        assert env.cfg.humanoid_version == 2 and env.layout is LAYOUTS[2]
        lay = env.task.layout
        assert lay.goal_version == 2
        assert lay.slice("goal").stop - lay.slice("goal").start == PROMPT_LAYOUTS[2].dim
        assert ppo.config_extra["model_hash"] == model_hash(2)
    finally:
        env.close()
    train_task(cfg)
    out = export_policy(tmp_path / "run" / "checkpoint.safetensors", tmp_path / "p.safetensors")
    bfm = load_bfm(v2_bfm_file)
    actor = load_policy(out, bfm)
    r = evaluate_actor(actor, "direction", use_prior, bfm.cfg.history_offsets,
                       TaskEvalConfig(episodes=2, batch=2, steps=20))
    assert r["episodes"] == 2 and 0 <= r["success"] <= 100
    with pytest.raises(FrozenfitError, match="humanoid model"):
        load_policy(out, load_bfm())        # the shipped (v1) BFM cannot run it


@pytest.mark.parametrize("version", [1, 2])
def test_steering_facings_follow_the_goal_set_of_the_humanoid(version):
    import math
    from frozenfit.humanoid.rotations import wrap_angle
    with reset_eval_env("steering", 2000, False, 1, version) as (task, env):
        off = wrap_angle(task.face_yaw - task.dir_yaw).abs()
        brisk = (task.speed > 1.6) & (task.speed < 2.0)
        free, narrow = (1.0, 3.0) if version == 1 else (2.0, 3.5)
        cone = math.pi - 0.75 * math.pi * ((task.speed - free) / (narrow - free)).clamp(0, 1)
        assert (off <= cone + 1e-5).all()
        assert (off[brisk].max() > 2.8) == (version == 2)   # backward at a brisk walk: goal set 2 only


@pytest.mark.parametrize("version", [1, 2])
def test_direction_speeds_reach_the_goal_sets_top_command(version):
    with reset_eval_env("direction", 2000, False, 1, version) as (task, env):
        moving = task.speed[task.speed > 0]
        top = 3.0 if version == 1 else 3.5
        assert moving.min() >= 1.2 and moving.max() <= top and moving.max() > top - 0.05


@pytest.mark.parametrize("version", [1, 2])
def test_long_jump_prompt_asks_goal_set_2_for_a_jump_before_the_line(version):
    import torch
    from frozenfit.bfm.masking import J
    with reset_eval_env("long_jump", 2, True, 0, version) as (task, env):
        goal, vis = task.prior(env)
        lay = PROMPT_LAYOUTS[version]
        assert goal.shape == (2, lay.dim) and vis.shape == (2, len(lay.names))
        if version == 1:
            return
        c = task.cfg
        jump = goal[:, lay.slices["jump"]]
        assert vis[:, J].all() and jump[:, 0].tolist() == [1.0, 1.0]
        assert jump[:, 3].tolist() == pytest.approx([c.prior_jump_length] * 2)
        wait = (c.run_up - c.prior_jump_lead) / c.prior_speed             # seconds of run-up left
        assert jump[:, 4].tolist() == pytest.approx([min(wait, 3.0)] * 2, abs=0.05)
        env.frame.body_pos[:, 0, :2] = task.origin - 0.3 * torch.stack([torch.cos(task.track_yaw),
                                                                        torch.sin(task.track_yaw)], -1)
        goal, _ = task.prior(env)                  # 0.3 m before the line: the window is open
        assert goal[0, lay.slices["jump"]][5] == 1.0


def test_reach_prompt_on_goal_set_2_asks_for_the_point_itself_once_near():
    import torch
    from frozenfit.bfm.tokens import PROMPT_SLICES
    from frozenfit.humanoid.observations import root_heading
    from frozenfit.humanoid.rotations import rotate_z
    with reset_eval_env("reach", 2, True, 0, 2) as (task, env):
        p, yaw = env.frame.body_pos[:, 0], root_heading(env.frame)
        near = torch.tensor([[0.3, -0.1, 0.1], [2.0, 0.0, 0.1]])          # heading frame offsets (x, y), world z
        task.target[:, :2] = p[:, :2] + rotate_z(torch.cat([near[:, :2], torch.zeros(2, 1)], 1), yaw)[:, :2]
        task.target[:, 2] = near[:, 2]
        goal, vis = task.prior(env)
        body = goal[:, PROMPT_SLICES["body"]]
        rel = task.relative_target(env)
        torch.testing.assert_close(body[:, :3], rel[:, :3] * body[:, 6:7])   # the right hand's target, on
        assert body[0, 6] == 1.0 and goal[0, :2].norm() < 1e-6               # near: stand and reach
        assert goal[1, :2].norm() > 0.5                                       # far: walk there first
