import pytest
import torch

from frozenfit.bfm.policy import load_bfm
from frozenfit.cli import main
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig
from frozenfit.tasktokens.artifact import export_policy, load_policy
from frozenfit.tasktokens.env import make_env
from frozenfit.tasktokens.evaluate import TaskEvalConfig, eval_env, evaluate_actor
from frozenfit.tasktokens.policies import TaskTokenActor, trainable_params
from frozenfit.tasktokens.tasks import make_task
from frozenfit.bfm.policy import bfm_digest
from frozenfit.tasktokens.train import TaskTokensConfig, build, train_task


@pytest.fixture(scope="module")
def bfm():
    return load_bfm()


def _obs(task="direction", n=8, prior=False, steps=12, bfm=None):
    t = make_task(task, n)
    env, adapter = make_env(t, EnvConfig(num_envs=n), bfm.cfg.history_offsets, prior)
    obs = env.reset()
    for _ in range(steps):
        obs = env.step(torch.zeros(n, env.num_actions)).obs
    env.close()
    return obs, adapter.layout


def _cfg(tmp_path, method="task_tokens", iters=2, task="direction", **kw):
    kw.setdefault("eval_every", 0)
    cfg = TaskTokensConfig(task=task, method=method, env=EnvConfig(num_envs=16, episode_seconds=30.0),
                           run_dir=str(tmp_path / method), progress=False, **kw)
    cfg.ppo.num_steps, cfg.ppo.total_env_steps = 8, 16 * 8 * iters
    return cfg


def test_encoder_gets_gradients_through_the_frozen_bfm(bfm):
    obs, layout = _obs(bfm=bfm)
    actor = TaskTokenActor(bfm, layout)
    torch.nn.init.normal_(actor.encoder.net[-1].weight, std=0.1)   # a trained-looking encoder
    actor(obs).pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in actor.encoder.parameters())
    assert all(p.grad is None for p in actor.bfm.parameters())
    assert trainable_params(actor) == sum(p.numel() for p in actor.encoder.parameters()) < 200_000


def test_the_token_changes_the_action_and_the_prior_runs_with_it(bfm):
    obs, layout = _obs(prior=True, bfm=bfm)
    assert layout.bfm_input(obs).visible.any()
    actor = TaskTokenActor(bfm, layout)
    plain = actor(obs)
    torch.nn.init.normal_(actor.encoder.net[-1].weight, std=0.1)
    with_token = actor(obs)
    assert torch.isfinite(with_token).all() and not torch.allclose(plain, with_token)


def test_training_leaves_the_bfm_and_its_statistics_bit_identical(tmp_path, bfm):
    before = {k: v.clone() for k, v in bfm.state_dict().items()}
    _, _, agent, _ = build(_cfg(tmp_path))
    enc_before = {k: v.clone() for k, v in agent.actor.encoder.state_dict().items()}
    train_task(_cfg(tmp_path))
    _, _, agent2, ppo = build(_cfg(tmp_path))
    ppo.resume(tmp_path / "task_tokens" / "checkpoint.safetensors")
    after = agent2.actor.bfm.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    enc_after = agent2.actor.encoder.state_dict()
    assert not torch.equal(enc_before["net.4.weight"], enc_after["net.4.weight"])   # the encoder trained
    assert not torch.equal(enc_before["norm.mean"], enc_after["norm.mean"])           # and its normaliser


def test_finetuning_trains_a_copy_and_never_the_shared_bfm(tmp_path, bfm):
    digest = bfm_digest(bfm)
    _, _, agent, ppo = build(_cfg(tmp_path, method="finetune", iters=1))
    assert trainable_params(agent.actor) > sum(p.numel() for p in bfm.parameters())
    ppo.train(progress=False)
    assert bfm_digest(agent.actor.bfm) != digest
    assert bfm_digest(load_bfm()) == digest


@pytest.mark.parametrize("method", ["ppo_scratch", "latent_policy", "task_tokens_prior"])
def test_every_baseline_trains_its_own_parameters_only(tmp_path, method):
    """One PPO iteration moves every trainable parameter tensor of the method and leaves every
    frozen one (the BFM's weights and statistics) bit-identical."""
    _, env, agent, ppo = build(_cfg(tmp_path, method=method, iters=1))
    params = dict(agent.actor.named_parameters())
    trainable = {k for k, p in params.items() if p.requires_grad}
    before = {k: v.clone() for k, v in agent.actor.state_dict().items()}
    try:
        stats = ppo.train(progress=False)
    finally:
        env.close()
    after = agent.actor.state_dict()
    frozen = [k for k in before if k not in trainable and not k.endswith(("mean", "var", "count"))]
    assert trainable and trainable_params(agent.actor) == sum(params[k].numel() for k in trainable)
    assert all(v == v for v in stats.values())                   # no NaN in any logged statistic
    moved = [k for k in trainable if not torch.equal(before[k], after[k])]
    assert len(moved) >= len(trainable) - 1, sorted(set(trainable) - set(moved))   # a zero-init bias may sit still
    assert all(torch.equal(before[k], after[k]) for k in frozen)
    bfm_stats = [k for k in before if k.startswith("bfm.") and k.endswith(("mean", "var", "count"))]
    assert all(torch.equal(before[k], after[k]) for k in bfm_stats)
    assert (method == "ppo_scratch") == (not bfm_stats)


def test_resume_continues_and_export_round_trips(tmp_path, bfm):
    from frozenfit.common.logging import read_csv_log
    train_task(_cfg(tmp_path, iters=1))
    log = tmp_path / "task_tokens" / "log.csv"
    with open(log, "a") as f:       # a row written after the checkpoint by a run that was then killed
        f.write(",".join(["256"] + ["0"] * (len(log.read_text().splitlines()[0].split(",")) - 1)) + "\n")
    train_task(_cfg(tmp_path, iters=2, resume=True))
    steps = [r["step"] for r in read_csv_log(log)]
    assert steps == [128, 256]                     # one row per iteration: the stale 256 was dropped
    out = export_policy(tmp_path / "task_tokens" / "checkpoint.safetensors", tmp_path / "dir.safetensors")
    actor = load_policy(out, bfm)
    _, _, agent, ppo = build(_cfg(tmp_path))
    ppo.resume(tmp_path / "task_tokens" / "checkpoint.safetensors")
    obs, _ = _obs(bfm=bfm)
    assert torch.equal(actor(obs), agent.actor(obs))
    assert actor.meta["env_steps"] == 16 * 8 * 2


def test_policy_loader_refuses_another_bfm_and_other_files(tmp_path, bfm):
    train_task(_cfg(tmp_path, iters=1))
    out = export_policy(tmp_path / "task_tokens" / "checkpoint.safetensors", tmp_path / "dir.safetensors")
    other = load_bfm()
    with torch.no_grad():
        other.blocks[0].proj.bias.add_(0.01)
    with pytest.raises(FrozenfitError, match="only means something to its own BFM"):
        load_policy(out, other)
    with pytest.raises(FrozenfitError, match="expected a 'task-policy'"):
        load_policy(tmp_path / "task_tokens" / "checkpoint.safetensors", bfm)
    with pytest.raises(FrozenfitError):
        load_policy(tmp_path / "missing.safetensors", bfm)


def test_a_changed_task_refuses_its_old_policies_and_checkpoints(tmp_path, bfm, monkeypatch):
    """Bumping a task's version (its prompt, reward or observation changed) makes its trained files stale."""
    from frozenfit.tasktokens.tasks.direction import DirectionTask

    train_task(_cfg(tmp_path, iters=1))
    out = export_policy(tmp_path / "task_tokens" / "checkpoint.safetensors", tmp_path / "dir.safetensors")
    assert load_policy(out, bfm).meta["task_version"] == DirectionTask.version
    monkeypatch.setattr(DirectionTask, "version", DirectionTask.version + 1)
    with pytest.raises(FrozenfitError, match="version 1 of the direction task"):
        load_policy(out, bfm)
    with pytest.raises(FrozenfitError, match="start a fresh run directory"):
        train_task(_cfg(tmp_path, iters=2, resume=True))


def test_the_protocol_counts_successes_falls_and_reset_episodes(bfm, monkeypatch):
    """Hand-made episodes: even-numbered ones pass every frame; environment 2 is reset mid-episode
    for a non-finite state (a failure though its frames pass); environment 3 falls."""
    from frozenfit.humanoid.env import HumanoidEnv
    from frozenfit.tasktokens import evaluate as ev
    from frozenfit.tasktokens.tasks.direction import DirectionTask

    monkeypatch.setattr(DirectionTask, "frame_success", lambda self, env: torch.arange(env.num_envs) % 2 == 0)
    real_step, calls = HumanoidEnv.step, []

    def step(self, action):
        r = real_step(self, action)
        calls.append(1)
        if len(calls) == 5:
            r.terminated[2] = True
        return r

    monkeypatch.setattr(HumanoidEnv, "step", step)
    monkeypatch.setattr(ev, "fallen", lambda body_pos: torch.arange(body_pos.shape[0]) == 3)
    zero = lambda obs: torch.zeros(obs.shape[0], 23)   # noqa: E731
    r = evaluate_actor(zero, "direction", False, bfm.cfg.history_offsets, TaskEvalConfig(episodes=6, steps=10, batch=6))
    assert r["episodes"] == 6 and r["aborted"] == 1
    assert r["success"] == pytest.approx(100 * 2 / 6)       # episodes 0 and 4
    assert r["fall_rate"] == pytest.approx(100 / 6)


def test_evaluation_protocol_and_cli(tmp_path, bfm, capsys):
    train_task(_cfg(tmp_path, iters=1))
    out = tmp_path / "p.safetensors"
    assert main(["tasktokens", "export", "--run-checkpoint",
                 str(tmp_path / "task_tokens" / "checkpoint.safetensors"), "--out", str(out)]) == 0
    assert main(["tasktokens", "eval", "--policy", str(out), "--eval.episodes", "4", "--eval.steps", "10"]) == 0
    assert '"success"' in capsys.readouterr().out
    assert main(["tasktokens", "eval", "--policy", str(tmp_path / "nope.safetensors")]) == 2
    assert main(["tasktokens", "render", "--policy", str(out), "--seconds", "0.5",
                 "--out", str(tmp_path / "v.gif")]) == 0
    assert (tmp_path / "v.gif").stat().st_size > 0


def test_warm_start_moves_the_prompt_into_the_token(bfm, monkeypatch):
    from frozenfit.tasktokens.tasks.long_jump import LongJumpTask
    from frozenfit.tasktokens.warm_start import warm_start

    obs, layout = _obs(bfm=bfm)
    actor = TaskTokenActor(bfm, layout)
    losses = warm_start(actor, "direction", iterations=6, num_envs=16, horizon=8, minibatch=64)
    assert losses[-1] < losses[0]
    assert all(p.grad is None for p in actor.bfm.parameters())
    monkeypatch.setattr(LongJumpTask, "has_prior", False)     # every shipped task has one now
    with pytest.raises(FrozenfitError, match="no hand-made prompt"):
        warm_start(actor, "long_jump", iterations=1, num_envs=4, horizon=2)


def test_fine_tuning_and_latent_policy_warm_starts_train_their_head_only(tmp_path, bfm):
    from frozenfit.tasktokens.policies import LatentActor
    from frozenfit.tasktokens.warm_start import warm_start
    obs, layout = _obs(bfm=bfm)
    for actor, head in ((TaskTokenActor(bfm, layout, finetune=True), "encoder"), (LatentActor(bfm, layout), "net")):
        before = {k: v.clone() for k, v in actor.bfm.state_dict().items()}
        head_before = [p.clone() for p in getattr(actor, head).parameters()]
        losses = warm_start(actor, "direction", iterations=4, num_envs=8, horizon=4, minibatch=16)
        assert losses[-1] < losses[0]
        assert all(torch.equal(v, before[k]) for k, v in actor.bfm.state_dict().items())  # labels stay the prompt's
        assert any(not torch.equal(a, b) for a, b in zip(head_before, getattr(actor, head).parameters()))
    with pytest.raises(FrozenfitError, match="--warm-start applies to"):
        train_task(_cfg(tmp_path, method="ppo_scratch", warm_start=1))


def test_warm_started_run_counts_its_steps_and_logs_its_curve(tmp_path):
    from frozenfit.common.logging import read_csv_log
    from frozenfit.tasktokens.train import steps_done
    from frozenfit.tasktokens.warm_start import WARM_ENVS, WARM_HORIZON
    warm = WARM_ENVS * WARM_HORIZON
    cfg = _cfg(tmp_path, iters=1, warm_start=1)
    cfg.eval_every, cfg.eval_episodes = 1, 2
    cfg.ppo.total_env_steps += warm                      # one PPO iteration after the warm start
    train_task(cfg)
    assert steps_done(tmp_path / "task_tokens" / "checkpoint.safetensors") >= warm
    rows = read_csv_log(tmp_path / "task_tokens" / "log.csv")
    evals = [r["step"] for r in rows if r.get("eval/success") == r.get("eval/success") and "eval/success" in r]
    assert evals == [0, warm, warm + 128]                # start, after the warm start, after PPO


def test_cli_names_the_shipped_policies_when_a_task_has_none(capsys, tmp_path, monkeypatch):
    from frozenfit.tasktokens import commands
    monkeypatch.setattr(commands, "shipped_policy", lambda task: tmp_path / f"{task}.safetensors")
    (tmp_path / "direction.safetensors").write_bytes(b"")
    assert main(["tasktokens", "eval", "--task", "steering"]) == 2
    err = capsys.readouterr().err
    assert "no shipped task policy for 'steering'" in err and "shipped: direction" in err


def test_every_shipped_task_policy_loads_on_the_shipped_bfm(bfm):
    from frozenfit.tasktokens.artifact import shipped_policy
    from frozenfit.tasktokens.tasks import TASKS
    found = [t for t in TASKS if shipped_policy(t).exists()]
    assert "direction" in found
    for task in found:
        actor = load_policy(shipped_policy(task), bfm)
        assert actor.meta["task"] == task


def test_a_policy_of_another_task_is_refused(capsys):
    from frozenfit.tasktokens.artifact import shipped_policy
    for cmd in ("eval", "render"):
        assert main(["tasktokens", cmd, "--task", "steering", "--policy", str(shipped_policy("direction"))]) == 2
        assert "a policy for the direction task, not steering" in capsys.readouterr().err


def test_every_task_captions_its_target_and_judges_status():
    from frozenfit.humanoid.render import COLORS
    from frozenfit.tasktokens.tasks import TASKS
    for name in TASKS:
        task, env = eval_env(name, 2, (2, 5, 10), True, seed=0)
        try:
            env.reset()
            for _ in range(3):
                env.step(torch.zeros(env.num_envs, env.num_actions))
            text = task.caption(env, 0)
            assert text and any(ch.isdigit() for ch in text), (name, text)
            assert task.label and task.status(0) in ("on track", "failed", "success", "not yet")
            assert all(m.kind in COLORS for m in task.markers(env, 0)), name
        finally:
            env.close()
    task, env = eval_env("direction", 1, (2, 5, 10), True, seed=0)
    task.success[0] = False
    assert task.status(0) == "failed"
    env.close()


def test_compare_renders_methods_side_by_side(tmp_path, bfm, capsys):
    import imageio.v3 as iio
    train_task(_cfg(tmp_path, iters=1))
    out = tmp_path / "p.safetensors"
    assert main(["tasktokens", "export", "--run-checkpoint",
                 str(tmp_path / "task_tokens" / "checkpoint.safetensors"), "--out", str(out)]) == 0
    video = tmp_path / "cmp.mp4"
    assert main(["tasktokens", "compare", "--policy", str(out), "--seconds", "0.3", "--width", "96",
                 "--height", "64", "--out", str(video)]) == 0
    assert "prompt_only" in capsys.readouterr().out
    assert iio.imread(video, plugin="FFMPEG").shape[1:] == (64, 192, 3)
    assert main(["tasktokens", "compare", "--policy", str(out), "--finetune", str(out), "--seconds", "0.3",
                 "--out", str(video)]) == 2
    assert "is a task_tokens policy" in capsys.readouterr().err


def test_the_cached_input_tokens_give_the_uncached_action(bfm):
    obs, layout = _obs(bfm=bfm, n=32)
    actor = TaskTokenActor(bfm, layout)
    torch.nn.init.normal_(actor.encoder.net[-1].weight, std=0.1)
    cached = actor.cache(obs)
    assert cached is not None and not any(t.requires_grad for t in cached)
    idx = torch.tensor([3, 17, 5, 30])   # a minibatch indexes the whole batch's cache
    assert torch.allclose(actor(obs[idx], tuple(t[idx] for t in cached)), actor(obs[idx]), atol=1e-6)
    assert TaskTokenActor(bfm, layout, finetune=True).cache(obs) is None   # its tokenizers train


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_update_with_cached_inputs_equals_the_plain_update(tmp_path, bfm, precision):
    """Caching the frozen tokens and normalised inputs once per update changes no result."""
    results = []
    for cache in (True, False):
        cfg = _cfg(tmp_path / str(cache), iters=1)
        cfg.ppo.precision = precision
        _, env, agent, ppo = build(cfg)
        if not cache:
            agent.actor.cache = lambda obs: None
        ppo.train(progress=False)
        env.close()
        results.append(torch.cat([p.detach().flatten() for p in agent.actor.encoder.parameters()]))
    assert torch.allclose(results[0], results[1], atol=1e-5)


def test_a_run_trained_in_chunks_logs_every_iteration_and_its_curve_once(tmp_path):
    """stop_at ends a chunk after the iteration is logged: no curve point is lost at a boundary."""
    from frozenfit.common.logging import read_csv_log

    cfg = _cfg(tmp_path, iters=4, eval_every=1, eval_episodes=4, stop_at=16 * 8 * 2)
    train_task(cfg)
    assert not (cfg.directory() / "final.safetensors").exists()   # a chunk is not the end
    cfg.resume, cfg.stop_at = True, None
    train_task(cfg)
    rows = read_csv_log(cfg.directory() / "log.csv")
    steps = [int(r["step"]) for r in rows if r.get("eval/success") == r.get("eval/success") and "eval/success" in r]
    assert steps == [0, 128, 256, 384, 512]    # the start, then every iteration, each once
    assert (cfg.directory() / "final.safetensors").exists()
