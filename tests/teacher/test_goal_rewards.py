import math

import pytest
import torch

from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.teacher.goals import GoalConfig, GoalTask, reward_terms
from torchrun_helper import run_torchrun


def _state(**over):
    s = dict(planar_vel=torch.tensor([[1.0, 0.0]]), vel_cmd=torch.tensor([[1.5, 0.0]]),
             facing_err=torch.tensor([0.3]), hand_err=torch.tensor([[0.1, 0.4]]),
             hand_mask=torch.tensor([[1.0, 0.0]]), foot_err=torch.tensor([[0.2, 0.0]]),
             foot_mask=torch.tensor([[0.0, 0.0]]), height_err=torch.tensor([0.05]),
             height_mask=torch.tensor([1.0]), torso_up_z=torch.tensor([0.9]),
             first_contact=torch.tensor([[1.0, 0.0]]), air_time=torch.tensor([[0.45, 0.1]]),
             moving=torch.tensor([1.0]), action=torch.tensor([[0.5, -0.5]]),
             last_action=torch.tensor([[0.0, 0.0]]), joint_vel=torch.tensor([[2.0, 1.0]]),
             pelvis_angvel_xy=torch.tensor([[1.0, 2.0]]))
    s.update(over)
    return s


def test_every_reward_term_matches_its_formula():
    c = GoalConfig()
    t = {k: float(v) for k, v in reward_terms(c, **_state()).items()}
    e = math.exp
    assert t["velocity"] == pytest.approx(c.w_velocity * (0.5 * e(-0.25 / 0.25) + 0.5 * e(-0.25 / 2.0)))
    assert t["facing"] == pytest.approx(c.w_facing * (0.6 * e(-0.09 / 0.06) + 0.2 * (1 + math.cos(0.3))))
    # only the active hand counts
    assert t["hands"] == pytest.approx(c.w_hands * (0.6 * e(-0.01 / 0.01) + 0.4 * e(-0.01 / 0.16)))
    assert t["foot"] == 0.0  # no active foot channel
    assert t["height"] == pytest.approx(c.w_height * (0.5 * e(-0.0025 / 0.01) + 0.5 * e(-0.0025 / 0.09)))
    assert t["alive"] == c.w_alive
    assert t["upright"] == pytest.approx(c.w_upright * 0.9)
    assert t["air_time"] == pytest.approx(c.w_air_time * 0.15)  # (0.45 - 0.3) on the landing foot only
    assert t["action_rate"] == pytest.approx(-c.w_action_rate * 0.5)
    assert t["joint_vel"] == pytest.approx(-c.w_joint_vel * 5.0)
    assert t["ang_vel"] == pytest.approx(-c.w_ang_vel * 5.0)


def test_reward_term_edge_cases():
    c = GoalConfig()
    both = reward_terms(c, **_state(hand_mask=torch.tensor([[1.0, 1.0]])))["hands"]
    def hand(d):
        return 0.6 * math.exp(-d * d / 0.01) + 0.4 * math.exp(-d * d / 0.16)
    assert float(both) == pytest.approx(c.w_hands * (hand(0.1) + hand(0.4)) / 2)
    standing = reward_terms(c, **_state(moving=torch.tensor([0.0])))["air_time"]
    assert float(standing) == 0.0  # no stepping reward while told to stand
    long_air = reward_terms(c, **_state(air_time=torch.tensor([[2.0, 0.0]])))["air_time"]
    assert float(long_air) == pytest.approx(c.w_air_time * 0.2)  # capped: no reward for hopping
    assert float(reward_terms(c, **_state(torso_up_z=torch.tensor([-0.5])))["upright"]) == 0.0


def test_env_reward_is_the_sum_of_named_terms_and_errors_are_physical():
    n = 4
    task = GoalTask(GoalConfig(), n)
    env = HumanoidEnv(EnvConfig(num_envs=n), task)
    env.reset()
    task.set_goals(torch.arange(n), speed=torch.tensor([0.0, 1.0, 2.0, 0.0]), move_yaw=torch.zeros(n),
                   facing_yaw=torch.zeros(n))
    r = env.step(torch.zeros(n, env.num_actions))
    torch.testing.assert_close(r.reward, sum(r.terms.values()))
    err = task.errors(env)
    # a humanoid standing still is off by exactly the commanded speed (to within its sway)
    assert err["velocity"].tolist() == pytest.approx([0.0, 1.0, 2.0, 0.0], abs=0.1)
    env.close()


def test_fall_terminates():
    task = GoalTask(GoalConfig(), 2)
    env = HumanoidEnv(EnvConfig(num_envs=2), task)
    env.reset()
    env.frame.body_pos[1, 2, 2] = 0.5  # head near the ground
    assert task.terminated(env).tolist() == [False, True]
    env.close()


def test_sampled_goals_respect_their_ranges():
    n = 2000
    cfg = GoalConfig()
    task = GoalTask(cfg, n)
    task.cur_max_speed = 3.0
    env = HumanoidEnv(EnvConfig(num_envs=n, nthread=2), task)
    env.reset()
    assert task.speed.min() >= 0 and task.speed.max() <= 3.0
    assert 0.1 < float((task.speed == 0).float().mean()) < 0.25
    off = torch.remainder(task.facing_yaw - task.move_yaw + math.pi, 2 * math.pi) - math.pi
    cone = math.pi - 0.75 * math.pi * ((task.speed - 1) / 2).clamp(0, 1)
    assert (off.abs() <= cone + 1e-5).all()  # narrows to +-45 deg at 3 m/s: no sideways sprinting
    assert off[task.speed < 0.9].abs().max() > 2.5       # free facing when walking
    reach = (task.hand_target - torch.tensor([[0.0, -0.19, 0.40], [0.0, 0.19, 0.40]])).norm(dim=-1)
    assert reach.min() >= cfg.hand_reach[0] - 1e-5 and reach.max() <= cfg.hand_reach[1] + 1e-5
    assert (task.foot_mask.sum(1) <= 1).all() and (task.foot_mask.sum(1)[task.speed > 0] == 0).all()
    assert (task.height_mask[task.speed > 0] == 0).all()
    env.close()


def test_curriculum_grows_only_on_sustained_good_tracking():
    task = GoalTask(GoalConfig(curriculum_patience=3), 1)

    def iteration(score):
        task._vel_score_sum, task._vel_score_n = score, 1
        task.update_curriculum()

    for score in (0.9, 0.9, 0.4, 0.9, 0.9):  # a bad iteration restarts the count
        iteration(score)
    assert task.cur_max_speed == 1.0
    iteration(0.9)
    assert task.cur_max_speed == 1.25
    iteration(0.9)  # the count starts again after growing
    assert task.cur_max_speed == 1.25


def test_teacher_trains_data_parallel_under_torchrun_and_resumes(tmp_path):
    import os
    import sys

    from frozenfit.common.checkpoint import load_checkpoint

    run = tmp_path / "run"
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "frozenfit.cli",
            "teacher", "train", "--env.num-envs", "16", "--ppo.num-steps", "24", "--ppo.checkpoint-every", "1",
            "--run-dir", str(run), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for steps, extra in ((768, []), (1536, ["--resume"])):
        p = run_torchrun(base + ["--ppo.total-env-steps", str(steps), *extra], env, 300)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    ck = load_checkpoint(run / "checkpoint.safetensors")
    # the global step counts both ranks' environments; one checkpoint holds both ranks' random states
    assert ck.state["global_step"] == 1536 and ck.state["world"] == 2 and len(ck.state["torch_rng_ranks"]) == 1
    rows = (run / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["384", "768", "1152", "1536"]
    from frozenfit.cli import main
    assert main(["teacher", "train", "--env.num-envs", "16", "--ppo.num-steps", "24", "--ppo.total-env-steps", "2304",
                 "--run-dir", str(run), "--no-progress", "--resume"]) == 2   # 2 processes wrote it: resume with 2
