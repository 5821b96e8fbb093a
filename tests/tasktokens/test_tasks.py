import math

import pytest
import torch

from frozenfit.bfm.tokens import PROMPT_DIM, PROMPTS

from frozenfit.humanoid.model import JOINT_QPOS, JOINT_QVEL
from frozenfit.humanoid.rotations import quat_mul, rotate_z
from frozenfit.tasktokens.tasks import TASKS, make_task
from frozenfit.tasktokens.tasks.direction import direction_reward
from frozenfit.tasktokens.tasks.long_jump import LongJumpConfig, LongJumpTask, jump_reward
from frozenfit.tasktokens.tasks.path_follow import PathFollowConfig, PathFollowTask
from frozenfit.tasktokens.tasks.reach import ReachConfig, ReachTask
from frozenfit.tasktokens.tasks.steering import SteeringTask
from frozenfit.tasktokens.tasks.strike import StrikeConfig, StrikeTask, box_up_z, strike_reward
from frozenfit.humanoid.model import FOOT_IDX, HAND_IDX, SHOULDER_OFFSET


def test_direction_reward_matches_the_formula():
    d = torch.tensor([[1.0, 0.0]] * 4)
    s = torch.tensor([2.0, 2.0, 2.0, 0.0])
    vel = torch.tensor([[2.0, 0.0], [1.0, 0.3], [-0.6, 0.0], [0.0, 0.0]])
    r, e = direction_reward(vel, d, s)
    assert torch.allclose(e, torch.tensor([0.0, 0.5, 1.3, 0.0]))
    assert torch.allclose(r[:2], torch.tensor([1.0, math.exp(-(10 * 0.25 + 0.1 * 0.09))]))
    assert r[2] == 0                       # moving backwards faster than 0.5 m/s: no reward
    assert r[3] == 1                       # a stop command, standing still


def test_direction_success_after_the_grace_period_only(fake_env):
    env = fake_env(2, vel=(0.0, 0.0))
    task = make_task("direction", 2)
    task.reset(env, torch.arange(2))
    task.dir_yaw[:] = 0.0
    task.speed[:] = 2.0
    task.timer[:] = 10_000
    for _ in range(task.cfg.grace_steps):          # standing still inside the grace period: fine
        task.advance(env)
    assert task.success.all()
    env.root_planar_vel[0] = torch.tensor([1.9, 0.0])   # |e| = 0.05
    task.advance(env)
    assert task.success.tolist() == [True, False]


def test_direction_observation_is_heading_invariant(fake_env):
    outs = []
    for yaw in (0.0, 1.3):
        env = fake_env(1, yaw=yaw)
        task = make_task("direction", 1)
        task.reset(env, torch.arange(1))
        task.dir_yaw[:] = 0.4 + yaw
        outs.append(task.observe(env))
    assert torch.allclose(outs[0], outs[1], atol=1e-6)


def test_steering_reward_and_heading_criterion(fake_env):
    env = fake_env(2, yaw=0.0, vel=(2.0, 0.0))
    task = SteeringTask(2)
    task.reset(env, torch.arange(2))
    task.dir_yaw[:], task.speed[:], task.timer[:] = 0.0, 2.0, 10_000
    task.face_yaw[:] = torch.tensor([0.0, math.radians(60)])
    r, terms = task.reward(env)
    assert torch.allclose(terms["direction"], torch.full((2,), 0.7))
    assert torch.allclose(terms["facing"], 0.3 * torch.tensor([1.0, math.cos(math.radians(60))]))
    task.since_change[:] = task.cfg.grace_steps
    task.advance(env)
    assert task.success.tolist() == [True, False]   # 60 deg off the facing target


def test_reach_reward_and_success_radius(fake_env):
    env = fake_env(2)
    task = ReachTask(2)
    task.reset(env, torch.arange(2))
    hand = env.frame.body_pos[:, HAND_IDX[0]]
    task.target[:] = hand + torch.tensor([[0.1, 0.0, 0.0], [0.0, 0.3, 0.0]])
    r, _ = task.reward(env)
    assert torch.allclose(r, torch.exp(-4 * torch.tensor([0.01, 0.09])))
    task.since_change[:] = task.cfg.grace_steps
    task.timer[:] = 100
    task.advance(env)
    assert task.success.tolist() == [True, False]


def test_reach_targets_follow_the_configured_ranges(fake_env):
    env = fake_env(256, yaw=0.7, pelvis_xy=(3.0, -1.0))
    for cfg, lo in ((ReachConfig(), 0.6), (ReachConfig.paper(), 0.05)):
        task = ReachTask(256, cfg)
        task.reset(env, torch.arange(256))
        local = rotate_z(task.target - env.frame.body_pos[:, 0], torch.full((256,), -0.7))
        assert local[:, :2].abs().max() <= 0.75 + 1e-5
        assert task.target[:, 2].min() >= lo and task.target[:, 2].max() <= 1.6
        assert task.target[:, 2].min() < lo + 0.1    # the whole range is used


def test_reach_prior_walks_to_far_points_and_crouches_for_low_near_ones(fake_env):
    env = fake_env(3, yaw=0.0)
    task = ReachTask(3)
    task.reset(env, torch.arange(3))
    pelvis = env.frame.body_pos[:, 0]
    shoulder = torch.tensor(SHOULDER_OFFSET[0])
    # 1: 2 m ahead (walk); 2: within reach, low (crouch, stand); 3: within reach at shoulder height
    task.target[:] = pelvis + torch.tensor([[2.0, 0.0, 0.3], [0.15, -0.2, 0.0], [0.3, -0.3, 0.4]])
    task.target[1, 2] = 0.7
    goal, vis = task.prior(env)
    g = task.prompt.goal
    speed = g.vel_cmd().norm(dim=-1)
    assert speed[0] == task.cfg.prior_speed and speed[1] == 0 and speed[2] == 0
    assert g.height_mask.tolist() == [0.0, 1.0, 0.0]
    assert abs(float(g.height_target[1]) - 0.75) < 1e-5
    hand = g.hand_target[:, 0]
    assert torch.all((hand - shoulder).norm(dim=-1) <= task.cfg.arm_reach + 1e-5)   # within arm's length
    torch.testing.assert_close(hand[2], task.relative_target(env)[2])               # reachable: the point itself
    assert vis[:, PROMPTS.index("body")].all() and vis[:, PROMPTS.index("velocity")].all()
    assert goal.shape == (3, PROMPT_DIM)


def test_reach_prior_judges_arms_length_in_3d_from_where_the_shoulder_will_be(fake_env):
    """A point 0.45 m ahead of the shoulder (planar) but 0.3 m below it is 0.54 m away: step closer,
    to where it is within the stop reach in 3-D and at most max_planar ahead; a low point is judged
    from the crouched shoulder."""
    env = fake_env(2, yaw=0.0)
    task = ReachTask(2)
    task.reset(env, torch.arange(2))
    shoulder = env.frame.body_pos[0, 0] + torch.tensor(SHOULDER_OFFSET[0])
    task.target[0] = shoulder + torch.tensor([0.45, 0.0, -0.3])
    task.target[1] = torch.tensor([0.35, -0.19, 0.7])    # low: crouched pelvis 0.75, shoulder 1.15
    task.prior(env)
    c = task.cfg
    speed = task.prompt.goal.vel_cmd().norm(dim=-1)
    expect0 = c.prior_gain * (0.45 - min(c.max_planar, (c.stop_reach ** 2 - 0.3 ** 2) ** 0.5))
    expect1 = c.prior_gain * (0.35 - min(c.max_planar, (c.stop_reach ** 2 - 0.45 ** 2) ** 0.5))
    torch.testing.assert_close(speed, torch.tensor([expect0, expect1]), atol=1e-4, rtol=0)
    assert task.prompt.goal.height_mask.tolist() == [0.0, 0.0]    # still walking: no crouch yet


def _jump_frames(task, env, feet_x, contact, root_x=None):
    """Put both feet at track x ``feet_x`` with ``contact`` (bool pair) and step the jump logic."""
    for i, fi in enumerate(FOOT_IDX):
        env.frame.body_pos[:, fi, :2] = task.origin + torch.tensor([feet_x[i], 0.0])
    env.frame.body_pos[:, 0, :2] = task.origin + torch.tensor([root_x if root_x is not None else max(feet_x), 0.0])
    env.frame.foot_touch[:] = torch.tensor([300.0 if c else 0.0 for c in contact])
    r, terms = task.reward(env)
    task.advance(env)
    return terms


def test_long_jump_success_on_a_landed_jump_and_fault_on_foot(fake_env):
    env = fake_env(1, yaw=0.0)
    task = LongJumpTask(1)
    task.reset(env, torch.arange(1))
    assert torch.allclose(task.origin, torch.tensor([[task.cfg.run_up, 0.0]]))
    _jump_frames(task, env, (-0.3, -0.1), (True, True))     # run-up
    _jump_frames(task, env, (-0.2, -0.05), (False, False))  # take-off before the line
    _jump_frames(task, env, (0.8, 0.9), (False, False))     # flight
    terms = _jump_frames(task, env, (1.8, 1.7), (True, True))  # landing
    assert task.landed.all() and torch.allclose(task.length, torch.tensor([1.7]))
    assert torch.allclose(terms["landing"], torch.tensor([30 * 1.7]))
    assert task.success.all() and task.terminated(env).all()

    task.reset(env, torch.arange(1))
    _jump_frames(task, env, (0.2, -0.1), (True, True))      # stepped over the line on foot
    assert task.fault.all() and not task.success.any() and task.terminated(env).all()


def test_long_jump_running_strides_before_the_line_are_not_jumps(fake_env):
    env = fake_env(1, yaw=0.0)
    task = LongJumpTask(1)
    task.reset(env, torch.arange(1))
    for _ in range(3):                                          # three running strides with flight phases
        _jump_frames(task, env, (-3.0, -2.6), (True, False))
        _jump_frames(task, env, (-2.8, -2.4), (False, False))
        terms = _jump_frames(task, env, (-2.5, -2.2), (False, True))
        assert not task.landed.any() and not task.jumped.any() and terms["landing"] == 0
        assert not task.terminated(env).any()
    _jump_frames(task, env, (-0.2, -0.05), (False, False))     # the real take-off
    _jump_frames(task, env, (0.9, 1.0), (False, False))
    _jump_frames(task, env, (1.6, 1.9), (True, False))
    assert task.landed.all() and torch.allclose(task.length, torch.tensor([1.6])) and task.success.all()


def test_long_jump_prior_runs_toward_the_goal_facing_down_the_track(fake_env):
    env = fake_env(2, yaw=torch.tensor([0.0, math.pi / 2]))
    task = LongJumpTask(2)
    task.reset(env, torch.arange(2))
    env.frame.body_pos[0, 0, :2] = torch.tensor([0.0, 0.4])   # drifted sideways: steer back to the centre
    goal, vis = task.prior(env)
    g = task.prompt.goal
    v = g.vel_cmd()
    torch.testing.assert_close(v.norm(dim=-1), torch.full((2,), task.cfg.prior_speed))
    expect0 = torch.tensor([task.cfg.run_up + task.cfg.goal_past_line, -0.4])
    torch.testing.assert_close(v[0], task.cfg.prior_speed * expect0 / expect0.norm())
    torch.testing.assert_close(v[1], torch.tensor([0.0, task.cfg.prior_speed]), atol=1e-5, rtol=0)
    torch.testing.assert_close(g.facing_yaw, task.track_yaw)
    assert vis[:, PROMPTS.index("velocity")].all() and vis[:, PROMPTS.index("facing")].all()
    assert not vis[:, PROMPTS.index("body")].any()


def test_long_jump_reward_terms_formula():
    t = jump_reward(torch.tensor([5.0]), torch.tensor([4.9]), torch.tensor([3.0]), torch.tensor([1.0]),
                    torch.tensor([True]), torch.tensor([0.0]))
    assert torch.allclose(t["progress"], torch.tensor([0.1])) and torch.allclose(t["speed"], torch.tensor([3.0]))
    assert torch.allclose(t["height"], torch.tensor([1.0])) and t["landing"] == 0
    c = LongJumpConfig()
    total = sum(getattr(c, f"w_{k}") * v for k, v in t.items())
    assert torch.allclose(total, torch.tensor([0.1 + 0.03 + 0.1]))


def test_every_task_observes_rewards_and_has_a_prior_when_it_claims_one(fake_env):
    for name in TASKS:
        env = fake_env(3)
        task = make_task(name, 3)
        task.reset(env, torch.arange(3))
        assert task.observe(env).shape == (3, task.obs_dim)
        r, terms = task.reward(env)
        assert r.shape == (3,) and torch.isfinite(r).all()
        if task.has_prior:
            goal, vis = task.prior(env)
            assert goal.shape == (3, PROMPT_DIM) and vis.shape == (3, len(PROMPTS)) and vis.any()


def test_evaluation_mode_keeps_fallen_humanoids_in_the_episode(fake_env):
    env = fake_env(2)
    env.frame.body_pos[:, 2, 2] = 0.3   # head on the ground
    task = make_task("direction", 2)
    assert task.terminated(env).all()
    task.eval_mode = True
    assert not task.terminated(env).any()


def _box_frame(env, xy, quat=(1.0, 0.0, 0.0, 0.0), linvel=(0.0, 0.0, 0.0), angvel=(0.0, 0.0, 0.0)):
    """Put the fake scene's box at ``xy`` (centre 0.9 m high) with the given orientation and velocities."""
    b, v = JOINT_QPOS.stop, JOINT_QVEL.stop
    env.frame.qpos[:, b:b + 3] = torch.tensor([*xy, 0.9])
    env.frame.qpos[:, b + 3:b + 7] = torch.tensor(quat)
    env.frame.qvel[:, v:v + 3] = torch.tensor(linvel)
    env.frame.qvel[:, v + 3:v + 6] = torch.tensor(angvel)


def test_strike_reward_matches_the_formula(fake_env):
    up = torch.tensor([1.0, 1.0, 1.0, math.cos(math.radians(45)), 0.1])
    u = torch.tensor([1.0, 0.5, -0.2, 0.0, 1.0])
    toppled = torch.tensor([False, False, False, False, True])
    t = strike_reward(up, u, toppled)
    c = StrikeConfig()
    total = sum(getattr(c, f"w_{k}") * v for k, v in t.items())
    assert torch.allclose(total[:3], torch.tensor([0.4, 0.4 * math.exp(-1.0), 0.0]))    # approach only
    assert torch.allclose(total[3], torch.tensor(0.6 * (1 - math.cos(math.radians(45)))))  # tilted, standing still
    assert total[4] == 1.0                                                               # toppled: 1


def test_strike_speed_toward_the_box_and_topple_success(fake_env):
    env = fake_env(2, vel=(1.0, 0.0))
    task = StrikeTask(2)
    task.reset(env, torch.arange(2))
    _box_frame(env, (3.0, 0.0))
    assert torch.allclose(task.toward_speed(env), torch.ones(2))
    r, terms = task.reward(env)
    assert torch.allclose(r, torch.full((2,), 0.4)) and not task.toppled.any()
    task.advance(env)
    assert not task.success.any()
    lying = (math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0)     # 90 deg about x: long axis horizontal
    _box_frame(env, (3.0, 0.0), quat=lying)
    assert box_up_z(env.frame.box_state()[1]).abs().max() < 1e-6
    r, _ = task.reward(env)
    task.advance(env)
    assert torch.allclose(r, torch.ones(2)) and task.toppled.all() and task.success.all()


def test_strike_observation_is_heading_invariant(fake_env):
    outs = []
    for yaw in (0.0, 2.1):
        env = fake_env(1, yaw=yaw)
        task = StrikeTask(1)
        rot = lambda v: rotate_z(torch.tensor(v), torch.tensor(yaw)).tolist()  # noqa: E731
        tilt = (math.cos(0.2), math.sin(0.2), 0.0, 0.0)
        yaw_q = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
        q = quat_mul(torch.tensor(yaw_q), torch.tensor(tilt)).tolist()
        # angular velocity is body-frame in MuJoCo's free joint: unchanged by a world rotation
        _box_frame(env, rot([2.0, 0.5, 0.0])[:2], quat=q, linvel=rot([0.3, -0.1, 0.0]), angvel=(0.1, 0.2, 0.3))
        outs.append(task.observe(env))
    assert outs[0].shape == (1, 15)
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    assert torch.allclose(outs[0][0, :3], torch.tensor([2.0, 0.5, 0.9]))


def test_strike_places_the_box_in_the_paper_ranges(fake_env):
    env = fake_env(2000, pelvis_xy=(1.0, -2.0))
    task = StrikeTask(2000)
    qpos, qvel = torch.zeros(2000, 37).double().numpy(), torch.ones(2000, 35).double().numpy()
    qpos[:, :2] = [1.0, -2.0]
    task.place_objects(env, torch.arange(2000), qpos, qvel)
    box = torch.from_numpy(qpos[:, 30:37]).float()
    dist = (box[:, :2] - torch.tensor([1.0, -2.0])).norm(dim=-1)
    assert dist.min() >= 0.5 - 1e-5 and dist.max() <= 10.0 + 1e-5
    assert 0.5 < (dist <= 1.5).float().mean() < 0.61         # half U[0.5, 1.5] + half U[0.5, 10]: 0.553
    assert torch.allclose(box[:, 2], torch.full((2000,), 0.9)) and torch.allclose(box_up_z(box[:, 3:]), torch.ones(2000))
    assert (qvel[:, 29:] == 0).all() and (qvel[:, :29] == 1).all()


def test_strike_box_stands_in_the_simulated_scene():
    from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
    task = StrikeTask(4, StrikeConfig(near_prob=0.0, far=(3.0, 4.0)))
    env = HumanoidEnv(EnvConfig(num_envs=4, nthread=1), task)
    try:
        env.reset()
        start = env.frame.box_state()[0].clone()
        dist = (start[:, :2] - env.frame.body_pos[:, 0, :2]).norm(dim=-1)
        assert ((dist > 2.9) & (dist < 4.1)).all()
        for _ in range(20):
            env.step(torch.zeros(4, env.num_actions))
        pos, quat, _, _ = env.frame.box_state()
        assert (box_up_z(quat) > 0.999).all() and torch.allclose(pos, start, atol=2e-3)
    finally:
        env.close()


def test_path_target_interpolates_the_nodes_and_observes_ahead(fake_env):
    env = fake_env(1, yaw=math.pi / 2)
    task = PathFollowTask(1, PathFollowConfig(obs_points=3, obs_dt=0.5))
    task.reset(env, torch.arange(1))
    assert torch.allclose(task.nodes[0, 0], torch.zeros(2))                     # the path starts at the pelvis
    task.nodes[0] = torch.arange(task.cfg.num_nodes + 1).float()[:, None] * torch.tensor([1.0, 0.0])  # 1 m/s along +x
    assert torch.allclose(task.target_at(env, 2.5), torch.tensor([[2.5, 0.0]]))
    task.steps[:] = 3
    t = 3 * env.dt
    obs = task.observe(env).reshape(3, 2)
    # world +x is the humanoid's right (-y) when it faces +y
    assert torch.allclose(obs, torch.tensor([[0.0, -t], [0.0, -(t + 0.5)], [0.0, -(t + 1.0)]]), atol=1e-5)


def test_path_reward_and_strict_success(fake_env):
    env = fake_env(2)
    task = PathFollowTask(2)
    task.reset(env, torch.arange(2))
    task.nodes[:] = 0.0                                                    # a target that stays put
    env.frame.body_pos[1, 0, :2] = torch.tensor([0.3, 0.4])               # 0.5 m off
    r, _ = task.reward(env)
    assert torch.allclose(r, torch.tensor([1.0, math.exp(-2 * 0.25)]))
    env.frame.body_pos[1, 0, :2] = torch.tensor([3.0, 0.0])
    for _ in range(task.cfg.grace_steps):                                  # far off inside the grace period
        task.advance(env)
    assert task.success.all()
    task.advance(env)
    assert task.success.tolist() == [True, False]


def test_path_segments_respect_the_speed_range(fake_env):
    env = fake_env(500)
    task = PathFollowTask(500)
    task.reset(env, torch.arange(500))
    seg = (task.nodes[:, 1:] - task.nodes[:, :-1]).norm(dim=-1) / task.cfg.node_seconds
    moving = seg[seg > 0]
    assert moving.min() >= task.cfg.speed[0] - 1e-4 and moving.max() <= task.cfg.speed[1] + 1e-4
    assert 0.05 < (seg == 0).float().mean() < 0.15                        # the stops


def test_reach_prior_turns_part_way_near_the_point_and_has_no_memory(fake_env):
    """Near the point the facing command is the heading turned ``near_gain`` of the way toward
    (left of) the point: never the bare heading (no yaw feedback, the teacher falls), and a
    function of the state alone, so a task token can imitate it; far away it is the bearing."""
    def near_facing(yaw: float, rel_world: tuple[float, float], task: ReachTask) -> float:
        x, y = rel_world
        local = math.atan2(-math.sin(yaw) * x + math.cos(yaw) * y, math.cos(yaw) * x + math.sin(yaw) * y)
        err = math.remainder(local + task.cfg.face_left, 2 * math.pi)
        return yaw + task.cfg.near_gain * err

    env = fake_env(2, yaw=0.0)
    task = ReachTask(2)
    task.reset(env, torch.arange(2))
    pelvis = env.frame.body_pos[:, 0]
    task.target[:] = pelvis + torch.tensor([[0.2, 0.1, 0.5], [2.0, 1.0, 0.5]])
    task.prior(env)
    first = task.prompt.goal.facing_yaw.clone()
    assert abs(float(first[0]) - near_facing(0.0, (0.2, 0.1), task)) < 1e-5
    assert abs(float(first[0])) > 0.2                           # not the bare heading
    drifted = fake_env(2, yaw=0.4)
    drifted.frame.body_pos[:] = env.frame.body_pos
    task.prior(drifted)
    again = task.prompt.goal.facing_yaw.clone()
    assert abs(float(again[0]) - near_facing(0.4, (0.2, 0.1), task)) < 1e-5
    fresh = ReachTask(2)                                        # no history: the same command
    fresh.reset(drifted, torch.arange(2))
    fresh.target[:] = task.target
    fresh.prior(drifted)
    torch.testing.assert_close(fresh.prompt.goal.facing_yaw, again)
    far = math.atan2(1.0, 2.0) + task.cfg.face_left             # far: face (left of) the world bearing
    assert abs(float(first[1]) - far) < 1e-5 and abs(float(again[1]) - far) < 1e-5


def test_strike_prior_walks_into_the_box_by_default(fake_env):
    """The default prompt keeps walking at prior_speed toward the box even next to it (that topples it)."""
    env = fake_env(2)
    task = StrikeTask(2)
    task.reset(env, torch.arange(2))
    _box_frame(env, (0.6, 0.6))
    goal, vis = task.prior(env)
    g = task.prompt.goal
    assert vis[:, PROMPTS.index("velocity")].all()
    torch.testing.assert_close(g.vel_cmd(), torch.full((2, 2), task.cfg.prior_speed / math.sqrt(2)))
    torch.testing.assert_close(g.facing_yaw, torch.full((2,), math.pi / 4))


def test_reward_scales_come_from_the_config_and_are_summed_in_one_place(fake_env):
    """Every task's terms are unscaled; its config's w_<term> scales them, and changing one scale
    changes that term (and the total) by exactly that factor."""
    from dataclasses import replace

    from frozenfit.tasktokens.tasks import TASKS
    for name in TASKS:
        def fresh(cfg=None):
            env = fake_env(3)        # the same generator state: the same targets
            task = make_task(name, 3, cfg)
            task.reset(env, torch.arange(3))
            return env, task

        env, task = fresh()
        raw = task.reward_terms(env)
        env, task = fresh()
        total, scaled = task.reward(env)
        assert set(raw) == set(scaled) and all(hasattr(task.cfg, f"w_{k}") for k in raw)
        assert torch.allclose(total, sum(scaled.values()))
        assert all(torch.allclose(scaled[k], getattr(task.cfg, f"w_{k}") * raw[k]) for k in raw)
        term = next(iter(raw))
        env2, task2 = fresh(replace(task.cfg, **{f"w_{term}": 2 * getattr(task.cfg, f"w_{term}")}))
        _, scaled2 = task2.reward(env2)
        assert torch.allclose(scaled2[term], 2 * scaled[term])
        assert f"w_{term}" in task.config_dict()


def test_task_configs_are_settable_by_name_and_checked():
    from frozenfit.errors import FrozenfitError
    from frozenfit.tasktokens.tasks import task_config

    cfg = task_config("steering", ["w_facing=0.5", "grace_steps=40", "speed=1.0,2.0"])
    assert (cfg.w_facing, cfg.grace_steps, cfg.speed) == (0.5, 40, (1.0, 2.0))
    for bad in (["w_nothing=1"], ["w_facing"], ["grace_steps=many"], ["speed=1.0"]):
        with pytest.raises(FrozenfitError, match="--task-set"):
            task_config("steering", bad)
