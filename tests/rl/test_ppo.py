from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from frozenfit.common.checkpoint import save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.common.normalizer import RunningNorm
from frozenfit.rl.ppo import PPO, Agent, PPOConfig, _gae
from torchrun_helper import run_torchrun


@dataclass
class _Step:
    obs: torch.Tensor
    reward: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor
    final_obs: torch.Tensor
    terms: dict


class PointEnv:
    """Trivial task: output the 2-d target shown in the observation; reward = -squared error."""

    def __init__(self, n=64, horizon=16):
        self.num_envs, self.horizon = n, horizon
        self.gen = torch.Generator().manual_seed(0)
        self.t = torch.zeros(n, dtype=torch.long)

    def _sample(self, k):
        return torch.rand(k, 2, generator=self.gen) * 2 - 1

    def reset(self):
        self.target = self._sample(self.num_envs)
        return self.target.clone()

    def step(self, action):
        err = ((action - self.target) ** 2).sum(-1)
        self.t += 1
        trunc = self.t >= self.horizon
        final = self.target.clone()
        self.target = self._sample(self.num_envs)
        self.t[trunc] = 0
        return _Step(self.target.clone(), -err, torch.zeros_like(trunc), trunc, final, {"err": err})


def _cfg(**kw):
    base = dict(total_env_steps=64 * 16 * 30, num_steps=16, lr=3e-3, lr_final=3e-3, actor_hidden=(32,),
                critic_hidden=(32,), checkpoint_every=10, init_log_std=-0.5)
    base.update(kw)
    return PPOConfig(**base)


def test_ppo_learns_a_trivial_task_within_seconds(tmp_path):
    torch.manual_seed(0)
    env = PointEnv()
    agent = Agent(2, 2, _cfg())
    obs = env.reset()
    before = float(((agent.act(obs) - env.target) ** 2).sum(-1).mean())
    stats = PPO(env, agent, _cfg(), tmp_path).train(progress=False)
    obs = env.reset()
    after = float(((agent.act(obs) - env.target) ** 2).sum(-1).mean())
    assert after < 0.1 * before and after < 0.05
    assert stats["reward/step"] > -0.5
    assert (tmp_path / "log.csv").exists() and (tmp_path / "checkpoint.safetensors").exists()


def test_frozen_actor_parameters_stay_bit_identical(tmp_path):
    torch.manual_seed(0)
    backbone = torch.nn.Linear(2, 2)
    for p in backbone.parameters():
        p.requires_grad_(False)
    head = torch.nn.Linear(2, 2)
    actor = torch.nn.Sequential(backbone, head)
    frozen = {k: v.clone() for k, v in backbone.state_dict().items()}
    head_before = head.weight.clone()
    agent = Agent(2, 2, _cfg(), actor=actor)
    PPO(PointEnv(), agent, _cfg(total_env_steps=64 * 16 * 3), tmp_path).train(progress=False)
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, frozen[k])
    assert not torch.equal(head.weight, head_before)


def test_checkpoint_round_trip_and_resume(tmp_path):
    torch.manual_seed(0)
    cfg = _cfg(total_env_steps=64 * 16 * 10, checkpoint_every=5)
    agent = Agent(2, 2, cfg)
    ppo = PPO(PointEnv(), agent, cfg, tmp_path)
    ppo.train(progress=False)
    assert ppo.global_step == 64 * 16 * 10
    # a fresh process picks up exactly where the checkpoint left off
    agent2 = Agent(2, 2, cfg)
    ppo2 = PPO(PointEnv(), agent2, cfg, tmp_path)
    ppo2.resume(tmp_path / "checkpoint.safetensors")
    assert ppo2.global_step == ppo.global_step and ppo2.iteration == 10
    for (k, a), b in zip(agent.state_dict().items(), agent2.state_dict().values()):
        assert torch.equal(a, b), k
    # resume + longer budget continues training and logs after the old rows
    cfg_long = _cfg(total_env_steps=64 * 16 * 12, checkpoint_every=5)
    ppo3 = PPO(PointEnv(), Agent(2, 2, cfg_long), cfg_long, tmp_path)
    ppo3.train(resume=True, progress=False)
    assert ppo3.iteration == 12
    rows = (tmp_path / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 10 + 2


def test_resume_refuses_missing_or_mismatched_checkpoints(tmp_path):
    cfg = _cfg()
    with pytest.raises(FrozenfitError, match="no checkpoint"):
        PPO(PointEnv(), Agent(2, 2, cfg), cfg, tmp_path).train(resume=True, progress=False)
    PPO(PointEnv(), Agent(2, 2, cfg), cfg, tmp_path).save(tmp_path / "checkpoint.safetensors")
    with pytest.raises(FrozenfitError, match="obs_dim"):
        PPO(PointEnv(), Agent(3, 2, cfg), cfg, tmp_path).resume(tmp_path / "checkpoint.safetensors")
    # a run adapting another frozen model (its recorded identity differs) is refused too
    PPO(PointEnv(), Agent(2, 2, cfg), cfg, tmp_path / "a", config_extra={"bfm_digest": "aaaa"}).save(
        tmp_path / "a.safetensors")
    with pytest.raises(FrozenfitError, match="bfm_digest"):
        PPO(PointEnv(), Agent(2, 2, cfg), cfg, tmp_path / "b", config_extra={"bfm_digest": "bbbb"}).resume(
            tmp_path / "a.safetensors")
    save_checkpoint(tmp_path / "other.safetensors", "nern-run", 1, {}, {"x": torch.zeros(1)})
    with pytest.raises(FrozenfitError, match="expected 'ppo-agent'"):
        PPO(PointEnv(), Agent(2, 2, cfg), cfg, tmp_path).resume(tmp_path / "other.safetensors")


def test_gae_matches_hand_computation():
    r = torch.tensor([[1.0], [2.0]])
    v = torch.tensor([[0.5], [1.0]])
    nv = torch.tensor([3.0])
    d = torch.tensor([[0.0], [1.0]])  # the second step ends the episode: no bootstrap from nv
    adv, ret = _gae(r, v, nv, d, gamma=0.9, lam=0.8)
    d1 = 2.0 - 1.0
    d0 = 1.0 + 0.9 * 1.0 - 0.5
    assert adv[1, 0] == pytest.approx(d1)
    assert adv[0, 0] == pytest.approx(d0 + 0.9 * 0.8 * d1)
    torch.testing.assert_close(ret, adv + v)


def test_running_norm_matches_batch_statistics():
    x = torch.randn(1000, 3) * torch.tensor([1.0, 5.0, 0.1]) + torch.tensor([2.0, -1.0, 0.0])
    n = RunningNorm(3)
    for chunk in x.split(137):
        n.update(chunk)
    torch.testing.assert_close(n.mean.float(), x.mean(0), atol=1e-4, rtol=0)
    torch.testing.assert_close(n.var.float(), x.var(0, unbiased=False), atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(n.denormalize(n(x)), x, atol=1e-4, rtol=1e-4)


def test_nan_loss_is_a_clear_error(tmp_path):
    class NaNEnv(PointEnv):
        def step(self, action):
            s = super().step(action)
            s.reward[:] = float("nan")
            return s
    cfg = _cfg(norm_value=False)
    with pytest.raises(FrozenfitError, match="not finite"):
        PPO(NaNEnv(), Agent(2, 2, cfg), cfg, tmp_path).train(progress=False)


def test_adaptive_lr_follows_the_kl(tmp_path):
    """A tiny lr gives a tiny KL, so the adaptive schedule raises it; a huge lr is cut back."""
    from frozenfit.common.logging import read_csv_log
    for lr, rising in ((1e-6, True), (5e-2, False)):
        torch.manual_seed(0)
        cfg = _cfg(lr=lr, lr_schedule="adaptive", total_env_steps=64 * 16 * 4, target_kl=1e9)
        ppo = PPO(PointEnv(), Agent(2, 2, cfg), cfg, tmp_path / str(lr))
        ppo.train(progress=False)
        lrs = [r["lr"] for r in read_csv_log(tmp_path / str(lr) / "log.csv")]
        assert (ppo.adaptive_lr > lr) == rising and ppo.adaptive_lr != lr
        assert lrs[0] == lr and len(set(lrs)) > 1
    with pytest.raises(FrozenfitError, match="lr_schedule"):
        PPO(PointEnv(), Agent(2, 2, cfg), _cfg(lr_schedule="cosine"), tmp_path)


def test_two_process_update_equals_the_single_process_update_on_the_same_global_batch(tmp_path):
    import os
    import sys

    from safetensors.torch import load_file

    from frozenfit.common.distributed import Shard
    from ddp_update_worker import one_update

    out = tmp_path / "ddp.safetensors"
    worker = Path(__file__).with_name("ddp_update_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(worker), str(out)]
    proc = run_torchrun(cmd, {**os.environ, "OMP_NUM_THREADS": "1"}, 240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    ddp, single, half = load_file(str(out)), one_update(Shard()), one_update(Shard(), rows=128)
    diff = max((ddp[k] - single[k]).abs().max().item() for k in single)
    other = max((half[k] - single[k]).abs().max().item() for k in single)
    assert diff < 1e-5, diff                              # equal up to float summation order
    assert other > 100 * max(diff, 1e-7), (diff, other)   # half the batch is a different update
    for k in ("obs_norm.mean", "obs_norm.var", "obs_norm.count", "value_norm.var"):
        assert torch.allclose(ddp[k], single[k], atol=1e-9), k


def test_bf16_rollout_and_update_compute_the_same_log_probabilities():
    """Under bf16 the ratio compares the network with itself: a sample's log-probability from the
    update's minibatch equals the rollout's (fp32 accumulation only), unlike an fp32 rollout."""
    torch.manual_seed(0)
    agent = Agent(40, 6, _cfg(actor_hidden=(256, 256), init_log_std=-2.9))
    obs = torch.randn(512, 40)
    agent.update_normalizers(obs)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        d = agent.dist(obs[:64])                      # the rollout step's batch
        act = d.sample()
        rollout = d.log_prob(act).sum(-1)
        (x,), _ = agent.batch_inputs(obs)             # the update's stored batch
        update = torch.distributions.Normal(agent.mean_from((x[:64],)), agent.log_std.exp()).log_prob(act).sum(-1)
    with torch.no_grad():
        fp32 = agent.dist(obs[:64]).log_prob(act).sum(-1)
    assert (update - rollout).abs().max() < 1e-3
    assert (fp32 - rollout).abs().max() > 10 * (update - rollout).abs().max()


def test_bf16_training_learns_and_keeps_fp32_weights(tmp_path):
    torch.manual_seed(0)
    env = PointEnv()
    cfg = _cfg(precision="bf16")
    agent = Agent(2, 2, cfg)
    PPO(env, agent, cfg, tmp_path).train(progress=False)
    obs = env.reset()
    assert float(((agent.act(obs) - env.target) ** 2).sum(-1).mean()) < 0.05
    assert all(p.dtype == torch.float32 for p in agent.parameters())


def test_an_unknown_precision_is_a_clear_error(tmp_path):
    with pytest.raises(FrozenfitError, match="precision"):
        PPO(PointEnv(), Agent(2, 2, _cfg()), _cfg(precision="fp16"), tmp_path)
