"""Goal set 2: free facing to 2 m/s, speeds to 3.5 m/s, world-fixed reach targets, the jump goal."""

import math
from types import SimpleNamespace

import pytest
import torch

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import BODIES, FOOT_IDX, HEAD_IDX
from frozenfit.teacher.goals import GOAL_OBS_DIM, JUMP_OBS_DIM, GoalConfig, GoalTask, jump_terms


def test_goal_set_1_keeps_its_observation_and_set_2_adds_the_jump():
    assert GoalTask(GoalConfig(), 2).obs_dim == GOAL_OBS_DIM == 35
    assert GoalTask(GoalConfig.v2(), 2).obs_dim == GOAL_OBS_DIM + JUMP_OBS_DIM
    with pytest.raises(FrozenfitError, match="goal set 3"):
        GoalTask(GoalConfig(version=3), 2)


def test_v2_sampled_goals_respect_their_ranges():
    n = 3000
    cfg = GoalConfig.v2()
    task = GoalTask(cfg, n)
    task.cur_max_speed = cfg.max_speed
    env = HumanoidEnv(EnvConfig(num_envs=n, humanoid_version=2), task)
    obs = env.reset()
    assert obs.shape[1] == env.obs_dim and torch.isfinite(obs).all()
    assert task.speed.max() <= 3.5 and task.speed.max() > 3.3
    off = torch.remainder(task.facing_yaw - task.move_yaw + math.pi, 2 * math.pi) - math.pi
    brisk = (task.speed > 1.5) & (task.speed < 2.0) & (task.jump_mask == 0)
    assert off[brisk].abs().max() > 2.8                  # sideways and backward at a brisk walk
    cone = math.pi - 0.75 * math.pi * ((task.speed - 2.0) / 1.5).clamp(0, 1)
    assert (off.abs() <= cone + 1e-5).all()
    # world-fixed reach targets: standing only, one hand, within the height and planar ranges
    anchored = task.hand_anchored.any(1)
    assert anchored.sum() > 50 and (task.speed[anchored] == 0).all()
    assert (task.hand_anchored.sum(1) <= 1).all()
    w = task.hand_world[task.hand_anchored]
    assert w[:, 2].min() >= 0.05 - 1e-6 and w[:, 2].max() <= 1.8 + 1e-6 and w[:, 2].min() < 0.2
    planar = (w[:, :2] - env.frame.body_pos[anchored, 0, :2]).norm(dim=-1)
    assert planar.min() >= 0.15 - 1e-5 and planar.max() <= 0.6 + 1e-5
    assert (task.hand_mask[task.hand_anchored] == 1).all()
    assert (task.height_mask[anchored] == 0).all() and (task.foot_mask[anchored] == 0).all()
    # jumps: only while moving, along the move direction, no longer than the run-up allows
    on = task.jump_mask > 0
    assert on.sum() > 100 and (task.speed[on] > 0).all()
    assert (task.jump_length[on] <= (0.8 + 0.5 * task.speed[on]).clamp(0.5, 2.5) + 1e-5).all()
    assert task.jump_length[on].max() > 2.0
    torch.testing.assert_close(task.jump_yaw[on], task.move_yaw[on])
    assert (task.command_timer[on] >= task.jump_timer[on] + cfg.jump_window).all()
    env.close()


def test_world_fixed_target_is_re_expressed_from_the_pelvis():
    task = GoalTask(GoalConfig.v2(), 1, resample=False)
    env = HumanoidEnv(EnvConfig(num_envs=1, humanoid_version=2), task)
    env.reset()
    pelvis = env.frame.body_pos[0, 0].clone()
    task.set_goals(torch.arange(1), torch.zeros(1), torch.zeros(1), torch.zeros(1))
    task.set_reach(torch.arange(1), (pelvis + torch.tensor([0.0, 0.0, -0.8]))[None], hand=0)
    task.observe(env)
    before = task.hand_target[0, 0].clone()
    assert float(before[2]) == pytest.approx(-0.8, abs=1e-5) and float(before[:2].norm()) < 1e-5
    env.frame.body_pos[0, 0, 2] -= 0.3                   # the pelvis drops 30 cm (a crouch)
    task.observe(env)
    assert float(task.hand_target[0, 0, 2]) == pytest.approx(-0.5, abs=1e-5)
    assert task.hand_mask[0].tolist() == [1.0, 0.0]
    env.close()


def _fake_env(n: int):
    body = torch.zeros(n, len(BODIES), 3)
    body[:, HEAD_IDX, 2] = 1.6
    frame = SimpleNamespace(body_pos=body, foot_touch=torch.full((n, 2), 100.0))
    return SimpleNamespace(frame=frame, dt=0.03)


def test_jump_goal_rewards_a_landing_by_its_length_and_refuses_strides():
    cfg = GoalConfig.v2()
    task = GoalTask(cfg, 3, resample=False)
    env = _fake_env(3)
    task.set_jump(torch.arange(3), length=torch.tensor([1.5, 1.5, 1.5]), delay=torch.zeros(3), yaw=torch.zeros(3))
    feet = env.frame.body_pos[:, list(FOOT_IDX)]
    feet[:, 0, 0], feet[:, 1, 0] = 0.2, -0.1             # the left foot behind: it takes off last
    env.frame.body_pos[:, list(FOOT_IDX)] = feet
    contact = lambda: env.frame.foot_touch > 1.0
    j = task._jump_step(env, contact())                  # on the ground, window open
    assert j["landed"].sum() == 0 and not task.jump_airborne.any()
    env.frame.foot_touch[:] = 0                          # everyone leaves the ground
    task._jump_step(env, contact())
    assert task.jump_airborne.all()
    torch.testing.assert_close(task.jump_takeoff[:, 0], torch.full((3,), -0.1))
    # env 2 comes down after one step (a stride); envs 0 and 1 fly for 0.3 s
    env.frame.foot_touch[2] = 100.0
    j = task._jump_step(env, contact())
    assert j["landed"].tolist() == [0, 0, 0] and task.jump_mask[2] == 1   # a stride: the goal stays
    for _ in range(9):
        task._jump_step(env, contact())
    env.frame.body_pos[0, FOOT_IDX[0], 0] = 1.6          # env 0 lands 1.7 m past the take-off foot
    env.frame.body_pos[1, FOOT_IDX[1], 0] = 0.9          # env 1: 1.0 m
    env.frame.foot_touch[:2, 0], env.frame.foot_touch[:2, 1] = torch.tensor([100.0, 0.0]), torch.tensor([0.0, 100.0])
    j = task._jump_step(env, contact())
    assert j["landed"].tolist() == [1.0, 1.0, 0.0]
    assert j["length_err"][:2].tolist() == pytest.approx([0.2, -0.5], abs=1e-5)
    assert task.jump_mask[:2].tolist() == [0.0, 0.0]     # done: the goal ends at the landing
    r = jump_terms(cfg, landed=j["landed"], length_err=j["length_err"], missed=j["missed"])["jump"]
    kern = lambda e: 0.5 * math.exp(-e * e / 0.04) + 0.5 * math.exp(-e * e / 0.36)
    assert r.tolist() == pytest.approx([cfg.w_jump * kern(0.2), cfg.w_jump * kern(0.5), 0.0], abs=1e-5)


def test_jump_window_closing_without_a_take_off_is_a_miss():
    cfg = GoalConfig.v2()
    task = GoalTask(cfg, 2, resample=False)
    env = _fake_env(2)
    task.set_jump(torch.arange(2), length=torch.ones(2), delay=torch.tensor([0.5, 0.5]), yaw=torch.zeros(2))
    missed = torch.zeros(2)
    for _ in range(int((0.5 + cfg.jump_window) / env.dt) + 3):
        missed += task._jump_step(env, env.frame.foot_touch > 1.0)["missed"]
        task.jump_timer -= env.dt
    assert missed.tolist() == [1.0, 1.0] and task.jump_mask.tolist() == [0.0, 0.0]
    r = jump_terms(cfg, landed=torch.zeros(1), length_err=torch.zeros(1), missed=torch.ones(1))["jump"]
    assert float(r) == -cfg.w_jump_miss


def test_jump_observation_is_zero_without_a_jump_and_reports_the_window():
    cfg = GoalConfig.v2()
    task = GoalTask(cfg, 2, resample=False)
    task.set_jump(torch.tensor([0]), length=torch.tensor([2.0]), delay=torch.tensor([-0.2]), yaw=torch.tensor([math.pi / 2]))
    o = task.jump_observation(torch.zeros(2))
    assert o[1].abs().sum() == 0
    assert o[0].tolist() == pytest.approx([1.0, 0.0, 1.0, 2.0, -0.2, 1.0, 0.0], abs=1e-6)


def test_skill_evaluation_of_a_v2_teacher_and_its_refusal_for_set_1(v2_teacher_file):
    from frozenfit.teacher.evaluate import SkillEvalConfig, evaluate_skills
    from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher
    t = load_teacher(v2_teacher_file)
    assert t.goal_cfg.version == 2 and t.env_cfg.humanoid_version == 2
    r = evaluate_skills(t, SkillEvalConfig(episodes=6, reach_seconds=2.5, run_up_seconds=0.5), progress=False)
    reach, jump = r["reach"], r["jump"]
    assert 0 <= reach["success"] <= 100 and reach["episodes"] == 6
    assert sum(b["episodes"] for b in reach["per_height"].values()) == 6
    assert 0 <= jump["jumped"] <= 100 and jump["success"] <= jump["jumped"]
    assert 0.5 <= jump["goal_lengths_m"][0] <= jump["goal_lengths_m"][1] <= 2.3 + 1e-6   # 0.8 + 0.5 x 3 m/s
    with pytest.raises(FrozenfitError, match="goal set 1"):
        evaluate_skills(load_teacher(SHIPPED_TEACHER))


def test_the_v2_demo_script_reaches_the_floor_and_jumps(v2_teacher_file):
    from frozenfit.humanoid.model import PhysicsConfig
    from frozenfit.teacher.evaluate import play_script
    from frozenfit.teacher.policy import load_teacher
    # nearly no gravity and the nominal pose held: the humanoid stays up, so every row is played
    teacher = load_teacher(v2_teacher_file)
    teacher.act = lambda obs: torch.zeros(obs.shape[0], 23)
    rec = play_script(teacher, seconds=20.0, physics=PhysicsConfig(gravity_scale=0.3), frame_every=10)
    assert len(rec.captions) == 67 and rec.qpos.shape[1] == 30
    text = "\n".join(rec.captions)
    assert "toward +180 deg, face +0 deg" in text                        # the backward walk
    assert "0.10 m above the floor" in text and "jump 2.0 m" in text
