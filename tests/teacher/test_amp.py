"""The adversarial motion prior: its reward and loss formulas, that a discriminator learns to tell
mocap from other motion, the mocap library's windows and start states, the policy-side history."""

import numpy as np
import pytest
import torch
from torch import nn

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import build_model
from frozenfit.motion.features import motion_features, num_features
from frozenfit.teacher.goals import GoalConfig
from frozenfit.teacher.amp import (AMPConfig, AMPPrior, Discriminator, MotionLibrary, QposHistory,
                                   discriminator_loss, style_reward)


def test_style_reward_formula():
    d = torch.tensor([1.0, -1.0, 0.0, 3.0, -2.0])
    assert torch.allclose(style_reward(d), torch.tensor([1.0, 0.0, 0.75, 0.0, 0.0]))


def test_the_logistic_form_reward_and_loss():
    d = torch.tensor([0.0, 2.0, -20.0])
    assert torch.allclose(style_reward(d, "bce"), -torch.log(1 - torch.sigmoid(d)).clamp_max(-torch.log(torch.tensor(1e-4))))
    assert style_reward(torch.tensor([-3.0]), "bce") > style_reward(torch.tensor([-5.0]), "bce") > 0   # never flat
    torch.manual_seed(0)
    disc = Discriminator(3, 2, hidden=())
    real, fake = torch.randn(8, 2, 3), torch.randn(8, 2, 3)
    loss, stats = discriminator_loss(disc, real, fake, grad_penalty=0.0, loss="bce")
    with torch.no_grad():
        expected = 0.5 * (-torch.log(torch.sigmoid(disc(real))).mean() - torch.log(1 - torch.sigmoid(disc(fake))).mean())
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(FrozenfitError, match="unknown discriminator loss"):
        AMPPrior(_Library(), AMPConfig(window=4, loss="wgan"))
    prior = AMPPrior(_Library(), AMPConfig(window=4, hidden=(8,), loss="bce", reward_scale=2.0))
    w = torch.randn(5, 4, 6)
    assert torch.allclose(prior.reward(w), 2.0 * style_reward(prior.disc(w), "bce"))


def test_loss_is_least_squares_plus_the_gradient_penalty_of_a_linear_discriminator():
    torch.manual_seed(0)
    disc = Discriminator(3, 2, hidden=())                      # D(x) = w . x + b on the normalised window
    lin = disc.net[-1] if isinstance(disc.net, nn.Sequential) else disc.net
    real, fake = torch.randn(8, 2, 3), torch.randn(8, 2, 3)
    loss, stats = discriminator_loss(disc, real, fake, grad_penalty=10.0)
    with torch.no_grad():
        d_r, d_f = disc(real), disc(fake)
        expected = (d_r - 1).square().mean() + (d_f + 1).square().mean() + 5.0 * lin.weight.square().sum()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert stats["amp/grad_penalty"] == pytest.approx(lin.weight.square().sum().item(), rel=1e-5)
    loss.backward()
    assert all(p.grad is not None for p in disc.net.parameters())


def test_the_weight_l2_terms_are_the_output_layers_and_every_layers():
    torch.manual_seed(0)
    disc = Discriminator(3, 2, hidden=(5,))
    first, last = [m for m in disc.net.modules() if isinstance(m, nn.Linear)]
    real, fake = torch.randn(8, 2, 3), torch.randn(8, 2, 3)
    base, _ = discriminator_loss(disc, real, fake, grad_penalty=10.0)
    loss, stats = discriminator_loss(disc, real, fake, grad_penalty=10.0, logit_reg=0.05, weight_decay=1e-2)
    l2 = 1e-2 * (first.weight.square().sum() + last.weight.square().sum()) + 0.05 * last.weight.square().sum()
    assert (loss - base).item() == pytest.approx(l2.item(), rel=1e-5)
    assert stats["amp/weight_l2"] == pytest.approx(l2.item(), rel=1e-5)


def test_the_replay_buffer_keeps_earlier_windows_and_feeds_half_the_policy_batch():
    prior = AMPPrior(_Library(), AMPConfig(window=4, hidden=(8,), batch=64, replay=300))
    first = torch.full((200, 4, 6), 1.0)
    prior.update(first)
    assert torch.equal(prior.replay, first)               # room for all of them
    batch = prior.policy_batch(torch.full((50, 4, 6), 2.0))
    assert (batch[:, 0, 0] == 2.0).sum() == 32 and (batch[:, 0, 0] == 1.0).sum() == 32
    prior.update(torch.full((150, 4, 6), 3.0))            # 100 appended, 50 overwrite random slots
    values = prior.replay[:, 0, 0]
    ones, threes = int((values == 1.0).sum()), int((values == 3.0).sum())
    assert len(values) == 300 and ones + threes == 300 and 150 <= ones < 200
    off = AMPPrior(_Library(), AMPConfig(window=4, hidden=(8,), batch=64, replay=0))
    off.update(first)
    assert len(off.replay) == 0 and (off.policy_batch(torch.full((50, 4, 6), 2.0)) == 2.0).all()


class _Library:
    """Stands in for a MotionLibrary: 'mocap' windows are N(0, 1)."""
    window = 4

    def __init__(self):
        self.features = [torch.randn(500, 6)]

    @property
    def num_features(self):
        return 6

    def all_frames(self):
        return self.features[0]

    def sample_windows(self, n, generator=None):
        return torch.randn(n, 4, 6, generator=generator)


def test_the_discriminator_learns_to_tell_mocap_from_other_motion():
    torch.manual_seed(0)
    prior = AMPPrior(_Library(), AMPConfig(window=4, hidden=(64, 32), lr=1e-3, batch=128))
    other = torch.randn(1024, 4, 6) + 1.5
    for _ in range(150):
        prior.update(other)
    assert prior.reward(torch.randn(256, 4, 6)).mean() > 0.6
    assert prior.reward(other[:256]).mean() < 0.2
    mixed = prior.mix(torch.ones(256), other[:256])
    assert torch.allclose(mixed, 0.5 + prior.reward(other[:256]))


def test_a_window_mismatch_is_refused():
    with pytest.raises(FrozenfitError, match="windows"):
        AMPPrior(_Library(), AMPConfig(window=10))


def test_library_windows_are_consecutive_clip_frames_and_states_are_clip_frames():
    lib = MotionLibrary(["walk"], window=5, version=2, seconds=2.0)
    assert lib.names == ["walk", "walk_mirror"] and lib.num_features == num_features()
    w = lib.sample_windows(6, torch.Generator().manual_seed(0))
    assert w.shape == (6, 5, num_features())
    for win in w:   # each window is some clip's frames s..s+4
        assert any(torch.allclose(win, f[s:s + 5]) for f in lib.features for s in range(len(f) - 4))
    qpos, qvel = lib.sample_states(4, torch.Generator().manual_seed(1))
    model = build_model(version=2)
    assert qpos.shape == (4, model.nq) and qvel.shape == (4, model.nv)
    assert np.allclose(np.linalg.norm(qpos[:, 3:7], axis=1), 1.0) and np.isfinite(qvel).all()
    assert any(np.allclose(qpos[0], q[s]) for q in lib.qpos for s in range(len(q)))


def test_history_starts_still_and_shifts_in_new_frames():
    nq = build_model().nq
    h = QposHistory(3, 4, nq)
    with pytest.raises(FrozenfitError, match="before reset"):
        h.push(torch.zeros(3, nq))
    q0 = torch.zeros(3, nq)
    q0[:, 3] = 1.0
    q0[:, 2] = torch.tensor([0.9, 0.8, 0.7])
    h.reset(q0)
    w = h.windows()
    assert w.shape == (3, 4, num_features()) and torch.allclose(w, motion_features(q0[:, None].repeat(1, 5, 1)))
    q1 = q0.clone()
    q1[:, 0] += 0.03                          # one control step forward
    h.push(q1)
    assert torch.allclose(h.buf[:, -1], q1) and torch.allclose(h.buf[:, -2], q0)
    q2 = q1.clone()
    q2[1, 2] = 0.5
    h.reset(q2, torch.tensor([1]))            # environment 1 restarts; the others keep their frames
    assert torch.allclose(h.buf[1], q2[1].expand(5, -1)) and torch.allclose(h.buf[0, -1], q1[0])


class _ConstantTask:
    """A goal task whose goal reward is 1 everywhere (and which has a curriculum attribute)."""
    obs_dim = 2
    cur_max_speed = 1.5

    def reset(self, env, idx):
        pass

    def observe(self, env):
        return torch.zeros(env.num_envs, 2)

    def reward(self, env):
        return torch.ones(env.num_envs), {"alive": torch.ones(env.num_envs)}

    def terminated(self, env):
        return torch.zeros(env.num_envs, dtype=torch.bool)

    def advance(self, env):
        pass


def test_styled_task_mixes_the_style_reward_into_every_step():
    from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
    from frozenfit.humanoid.model import JOINT_QPOS
    from frozenfit.teacher.amp import StyledTask
    lib = MotionLibrary(["walk"], window=4, version=1, seconds=2.0)
    prior = AMPPrior(lib, AMPConfig(window=4, hidden=(32,), batch=16))
    task = StyledTask(_ConstantTask(), prior, 3, JOINT_QPOS.stop)
    env = HumanoidEnv(EnvConfig(num_envs=3, seed=0), task)
    try:
        env.reset()
        assert torch.allclose(task.history.buf, env.frame.qpos[:, None, :JOINT_QPOS.stop].expand(-1, 5, -1))
        for _ in range(3):
            r = env.step(torch.zeros(3, env.num_actions))
        style = prior.reward(task.history.windows())
        assert torch.allclose(r.terms["style"], style) and torch.allclose(r.reward, 0.5 + style)
        assert torch.equal(r.terms["goal"], torch.ones(3)) and "alive" in r.terms
        assert task.cur_max_speed == 1.5                           # the wrapped task's attributes
        before = [p.clone() for p in prior.disc.net.parameters()]
        stats = task.update_prior(steps=2)
        assert "amp/loss" in stats and task.update_prior() == {}   # windows are used once
        assert any(not torch.equal(a, b) for a, b in zip(before, prior.disc.net.parameters()))
    finally:
        env.close()


def test_style_applies_only_where_the_clips_cover_the_command():
    from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
    from frozenfit.humanoid.model import JOINT_QPOS
    from frozenfit.teacher.amp import StyledTask

    class _Commanded(_ConstantTask):
        speed = torch.tensor([0.0, 0.4, 0.5, 2.0])

    lib = MotionLibrary(["walk"], window=4, version=1, seconds=2.0)
    prior = AMPPrior(lib, AMPConfig(window=4, hidden=(32,), batch=16, style_min_speed=0.5))
    task = StyledTask(_Commanded(), prior, 4, JOINT_QPOS.stop)
    env = HumanoidEnv(EnvConfig(num_envs=4, seed=0), task)
    try:
        env.reset()
        for _ in range(3):
            r = env.step(torch.zeros(4, env.num_actions))
        style = prior.reward(task.history.windows())
        assert r.terms["style"][:2].tolist() == [0.0, 0.0] and torch.allclose(r.terms["style"][2:], style[2:])
        assert sum(len(w) for w in task._windows) == 3 * 2        # only styled windows train the discriminator
        task.task.speed = torch.zeros(4)                          # nobody styled: no update, no error
        task._windows.clear()
        env.step(torch.zeros(4, env.num_actions))
        assert task.update_prior() == {}
    finally:
        env.close()


def test_style_applies_only_to_gaits_facing_where_they_go():
    import math
    from frozenfit.humanoid.model import JOINT_QPOS
    from frozenfit.teacher.amp import StyledTask

    class _Commanded(_ConstantTask):
        speed = torch.tensor([1.0, 1.0, 1.0, 0.2])
        move_yaw = torch.tensor([0.0, 0.0, 3.0, 0.0])
        facing_yaw = torch.tensor([0.5, math.pi, -3.0, 0.0])        # 29 deg, backward, 16 deg over the seam

    lib = MotionLibrary(["walk"], window=4, version=1, seconds=2.0)
    prior = AMPPrior(lib, AMPConfig(window=4, hidden=(8,), style_min_speed=0.5, style_max_offset=45.0))
    assert StyledTask(_Commanded(), prior, 4, JOINT_QPOS.stop).styled().tolist() == [True, False, True, False]
    prior.cfg.style_min_speed = 0.0
    assert StyledTask(_Commanded(), prior, 4, JOINT_QPOS.stop).styled().tolist() == [True, False, True, True]


def _amp_teacher(tmp_path, iterations: int):
    from frozenfit.teacher.train import TeacherConfig
    cfg = TeacherConfig(run_dir=str(tmp_path / "run"), progress=False, amp=True, amp_clips=("walk",),
                        amp_cfg=AMPConfig(window=4, hidden=(16,), batch=8), amp_steps=1)
    cfg.env.num_envs, cfg.env.humanoid_version = 4, 2
    cfg.goals = GoalConfig.v2()
    cfg.ppo.num_steps, cfg.ppo.checkpoint_every = 4, 1
    cfg.ppo.total_env_steps = 4 * 4 * iterations
    return cfg


def test_a_teacher_trains_with_the_motion_prior_and_resumes_it(tmp_path):
    import dataclasses
    from frozenfit.common.checkpoint import load_checkpoint
    from frozenfit.teacher.train import train_teacher
    from frozenfit.humanoid.model import model_hash
    stats = train_teacher(_amp_teacher(tmp_path, 2))
    assert "amp/loss" in stats and "reward/style" in stats
    ck = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert ck.config["model_hash"] == model_hash(2) and ck.config["amp_clips"] == ["walk"]
    disc = ck.state["task"]["disc"]
    # resuming restores the discriminator before training on
    cfg = dataclasses.replace(_amp_teacher(tmp_path, 3), resume=True)
    from frozenfit.teacher.train import build
    env, _, ppo = build(cfg)
    try:
        ppo.resume(tmp_path / "run" / "checkpoint.safetensors")
        now = ppo.env.task.prior.disc.state_dict()
        assert all(torch.equal(now[k], v) for k, v in disc.items())
    finally:
        env.close()


def test_the_judge_clips_are_refused_as_prior_clips(tmp_path):
    from frozenfit.teacher.train import build
    cfg = _amp_teacher(tmp_path, 1)
    cfg.amp_clips = ("walk", "walker_turn_left0")
    with pytest.raises(FrozenfitError, match="held out for the realism judge"):
        build(cfg)


def test_a_goal_set_for_another_humanoid_is_refused(tmp_path):
    from frozenfit.teacher.train import build
    cfg = _amp_teacher(tmp_path, 1)
    cfg.goals = GoalConfig()
    with pytest.raises(FrozenfitError, match="goal set 1 is laid out for humanoid version 1, not 2"):
        build(cfg)


@pytest.mark.parametrize("rsi", [0.0, 1.0])
def test_reference_state_initialisation_starts_episodes_from_clip_frames(rsi):
    from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
    from frozenfit.humanoid.model import JOINT_QPOS
    from frozenfit.teacher.amp import StyledTask
    lib = MotionLibrary(["run"], window=4, version=1, seconds=1.0)
    prior = AMPPrior(lib, AMPConfig(window=4, hidden=(16,), batch=8, rsi_prob=rsi))
    env = HumanoidEnv(EnvConfig(num_envs=6, seed=2), StyledTask(_ConstantTask(), prior, 6, JOINT_QPOS.stop))
    try:
        env.reset()
        q = env.frame.qpos.double().numpy()
        frames = np.concatenate(lib.qpos)
        for row in q:
            from_clip = np.abs(frames[:, JOINT_QPOS] - row[JOINT_QPOS]).max(1).min() < 1e-5
            assert from_clip == (rsi == 1.0)
            if rsi == 1.0:
                assert np.allclose(row[:2], 0.0, atol=1e-6) and abs(np.linalg.norm(row[3:7]) - 1) < 1e-6
        moving = env.frame.qvel[:, :3].norm(dim=1) > 0.5        # running clips start in motion
        assert bool(moving.all()) == (rsi == 1.0)
    finally:
        env.close()


def test_windows_and_start_states_never_cross_a_loop_seam():
    from frozenfit.motion.playback import initial_velocity
    from frozenfit.teacher.amp import MAX_CLIP_RATE
    lib = MotionLibrary(["kick"], window=10, version=2, seconds=4.0, mirror=False)   # kick does not cycle
    q = lib.qpos[0]
    rate = np.array([np.abs(initial_velocity(q[t], q[t + 1], 0.03)).max() for t in range(len(q) - 1)])
    assert (rate > MAX_CLIP_RATE).any()                            # the looped clip has a seam ...
    starts = lib._starts[:, 1]
    assert len(starts) < len(lib.features[0]) - 9                  # ... whose windows are left out
    for s in starts.tolist():
        assert (rate[s:s + 10] <= MAX_CLIP_RATE).all()
    _, v = lib.sample_states(500, torch.Generator().manual_seed(0))
    assert np.abs(v).max() <= MAX_CLIP_RATE


def test_history_windows_match_the_features_of_its_frames():
    """The incremental feature window equals recomputing the features of the kept frames, across
    pushes and partial resets."""
    nq = build_model().nq
    g = torch.Generator().manual_seed(0)
    h = QposHistory(4, 3, nq)

    def pose(n):
        q = torch.randn(n, nq, generator=g) * 0.1
        q[:, 3] = 1.0
        return q

    h.reset(pose(4))
    for t in range(7):
        h.push(pose(4))
        if t == 3:
            before = h.windows()
            kept = before.clone()
            h.reset(pose(4), torch.tensor([0, 2]))
            assert torch.equal(before, kept)    # a window already handed out (to the discriminator) stays
        assert torch.allclose(h.windows(), motion_features(h.buf), atol=1e-5)


def test_prior_and_curriculum_stay_one_across_torchrun_ranks(tmp_path):
    """Two ranks start from rank 0's discriminator, average their gradients (so they stay
    identical while seeing different windows) and take the curriculum decision on the mean score."""
    import os
    import sys
    from pathlib import Path

    from safetensors.torch import load_file

    from torchrun_helper import run_torchrun

    out = tmp_path / "rank"
    worker = Path(__file__).with_name("ddp_prior_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(worker), str(out)]
    proc = run_torchrun(cmd, {**os.environ, "OMP_NUM_THREADS": "1"}, 240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    r0, r1 = load_file(f"{out}.0"), load_file(f"{out}.1")
    weights = [k for k in r0 if k.startswith("start.net")]
    assert weights and all(torch.equal(r0[k], r1[k]) for k in weights)                  # broadcast start
    ends = [k.replace("start.", "end.") for k in weights]
    assert all(torch.allclose(r0[k], r1[k], atol=1e-6) for k in ends)                    # one discriminator
    assert any(not torch.allclose(r0[k], r0[s]) for k, s in zip(ends, weights))          # and it learned
    assert r0["score"].item() == r1["score"].item() == pytest.approx(0.5)               # (3.6 + 0.4) / 8
    assert r0["max_speed"].item() == r1["max_speed"].item() == GoalConfig().start_max_speed   # rank 0 alone: up
    assert not torch.equal(r0["gen"], r1["gen"])                                         # own windows


def test_teacher_v2_trains_under_torchrun_and_resumes_every_ranks_prior_stream(tmp_path):
    import os
    import sys

    from frozenfit.common.checkpoint import load_checkpoint
    from torchrun_helper import run_torchrun

    run = tmp_path / "run"
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "frozenfit.cli",
            "teacher", "train-v2", "--env.num-envs", "16", "--env.worlds.worlds", "2", "--ppo.num-steps", "24",
            "--ppo.checkpoint-every", "1", "--amp-cfg.batch", "32", "--run-dir", str(run), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    gens = []
    for steps, extra in ((768, []), (1536, ["--resume"])):
        p = run_torchrun(base + ["--ppo.total-env-steps", str(steps), *extra], env, 300)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
        task = load_checkpoint(run / "checkpoint.safetensors").state["task"]
        gens.append((task["gen"], task["gen_ranks"][0]))
    assert all(not torch.equal(a, b) for a, b in gens)          # each rank its own mocap stream ...
    assert not torch.equal(gens[0][1], gens[1][1])              # ... and rank 1's went on after the resume
