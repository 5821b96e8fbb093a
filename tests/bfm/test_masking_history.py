import math

import torch

from frozenfit.bfm.masking import MaskingConfig, PromptedGoalTask
from frozenfit.bfm.tokens import PROMPTS, History, pose_record
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.observations import root_heading
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.teacher.goals import GoalConfig

V, F, B, K = (PROMPTS.index(p) for p in ("velocity", "facing", "body", "keyframe"))


def _env(n=256, **mask):
    task = PromptedGoalTask(GoalConfig(start_max_speed=3.0), MaskingConfig(**mask), n)
    return HumanoidEnv(EnvConfig(num_envs=n, seed=3), task), task


def test_unprompted_modalities_take_inferable_defaults():
    env, task = _env(p_no_prompt=0.2, gap_prob=0.0)
    env.reset()
    vel, face, kf = task.show[:, V], task.show[:, F], task.show[:, K]
    assert (~vel).any() and (~face).any() and vel.any() and face.any() and kf.any()
    assert not (kf & (vel | face)).any()                       # a keyframe replaces velocity and facing
    assert (task.speed[~vel & ~kf] == 0).all()                 # no velocity prompt: stand
    moving = task.speed > 0
    unfaced = ~face & moving & ~kf
    assert torch.allclose(task.facing_yaw[unfaced], task.move_yaw[unfaced])  # face the way you move
    hold = ~face & ~moving & ~kf
    heading = root_heading(env.frame)
    assert wrap_angle(task.facing_yaw[hold] - heading[hold]).abs().max() < 1e-5  # do not turn ...
    heading0 = heading
    env.step(torch.randn(256, 23) * 0.5)
    still = hold & (task.command_timer > 0) & (env.step_count > 0)
    heading = root_heading(env.frame)
    tol = math.radians(task.mask_cfg.hold_tolerance_deg)
    small = still & (wrap_angle(heading - heading0).abs() <= tol)
    assert small.any()
    # ... the goal stays anchored through small drift (so the teacher damps it) ...
    assert wrap_angle(task.facing_yaw[small] - heading0[small]).abs().max() < 1e-5
    # ... and moves to the heading once the drift passes the tolerance
    task.facing_yaw[still] = wrap_angle(heading[still] + 1.5 * tol)
    task.refresh_goals(env.frame)
    assert wrap_angle(task.facing_yaw[still] - heading[still]).abs().max() < 1e-5
    none = ~task.show.any(1)
    assert none.any()
    assert (task.hand_mask[none] == 0).all() and (task.foot_mask[none] == 0).all()
    assert (task.height_mask[none] == 0).all()
    # the body token is visible only with an active channel
    active = (task.hand_mask.sum(1) + task.foot_mask.sum(1) + task.height_mask) > 0
    assert torch.equal(task.visible[:, B], task.show[:, B] & active)
    env.close()


def test_time_gaps_hide_every_prompt_but_keep_the_teacher_goal():
    env, task = _env(n=64, gap_prob=1.0, gap_seconds=(0.3, 0.3), p_no_prompt=0.0, p_keyframe=0.0)
    env.reset()
    goal_before = env.observe()[:, -35:].clone()
    env.step(torch.zeros(64, 23))
    assert not task.visible.any()                  # every prompt token is hidden in a gap
    assert task.show[:, V].any()                   # ... while still being prompted
    after = env.observe()[:, -35:]
    assert torch.allclose(after[:, :2].norm(dim=1), goal_before[:, :2].norm(dim=1), atol=1e-4)  # same speed
    for _ in range(12):                            # 0.36 s later the gap has ended (and no new one
        task.mask_cfg.gap_prob = 0.0               # starts with gap_prob 0)
        env.step(torch.zeros(64, 23))
    assert task.visible[:, V].equal(task.show[:, V])
    env.close()


def test_history_features_at_reset_and_after_motion():
    env, task = _env(n=4)
    env.reset()
    h = History(4, (1, 3), env.dt)
    h.reset(env.frame)
    f = h.features()
    assert f.shape == (4, 2, 54)
    assert torch.allclose(f[:, :, -5:-3], torch.zeros(4, 2, 2), atol=1e-6)  # no displacement yet
    assert torch.allclose(f[:, :, -3], torch.ones(4, 2), atol=1e-6)          # no turn: cos = 1
    assert torch.allclose(f[:, :, -1], torch.tensor([env.dt, 3 * env.dt]).expand(4, 2))
    records = [pose_record(env.frame)]
    for _ in range(3):
        env.step(torch.randn(4, 23) * 0.3)
        h.push(env.frame)
        records.append(pose_record(env.frame))
    f = h.features()
    assert torch.allclose(f[:, 0, :49], records[2][:, 3:])   # offset 1: the pose one step ago
    assert torch.allclose(f[:, 1, :49], records[0][:, 3:])   # offset 3
    # displacement since then, in today's heading frame, has the world displacement's length
    d_world = records[3][:, :2] - records[0][:, :2]
    assert torch.allclose(f[:, 1, 49:51].norm(dim=1), d_world.norm(dim=1), atol=1e-5)
    turn = wrap_angle(records[3][:, 2] - records[0][:, 2])
    assert torch.allclose(torch.atan2(f[:, 1, 52], f[:, 1, 51]), turn, atol=1e-5)
    # a reset env gets a fresh (standing-start) history
    h.reset(env.frame, torch.tensor([1]))
    f = h.features()
    assert torch.allclose(f[1, :, 49:51], torch.zeros(2, 2), atol=1e-6)
    env.close()


def test_history_is_heading_invariant():
    env, _ = _env(n=2)
    env.reset()
    h = History(2, (2,), env.dt)
    h.reset(env.frame)
    for _ in range(2):
        env.step(torch.randn(2, 23) * 0.3)
        h.push(env.frame)
    base = h.features()
    # rotate and translate the whole stored world about z: the features must not change
    a = 0.7
    buf = h.buf.clone()
    c, s = math.cos(a), math.sin(a)
    x, y = buf[..., 0].clone(), buf[..., 1].clone()
    h.buf[..., 0], h.buf[..., 1] = c * x - s * y + 5.0, s * x + c * y - 2.0
    h.buf[..., 2] = wrap_angle(buf[..., 2] + a)
    assert torch.allclose(h.features(), base, atol=1e-5)
    env.close()


def test_keyframe_commands_give_the_teacher_the_goal_they_imply():
    env, task = _env(n=256, p_keyframe=1.0, p_no_prompt=0.0, gap_prob=0.0)
    env.reset()
    kf = task.keyframes
    assert kf.active.all() and task.visible[:, K].all() and not task.visible[:, V].any()
    assert ((kf.mask[:, 0] + kf.mask[:, 1] + kf.mask[:, 2]) > 0).all()      # every keyframe says something
    obs = kf.observe(env.frame)
    assert torch.allclose(obs[:, -1], kf.time_left)
    lo, hi = task.mask_cfg.keyframe_seconds
    assert ((kf.time_left >= lo) & (kf.time_left <= hi)).all()
    # the teacher's velocity goal is the displacement over the time left (TAU at least), capped
    d = kf.xy - env.frame.body_pos[:, 0, :2]
    want = (d.norm(dim=1) / kf.time_left.clamp(min=0.5)).clamp(max=task.cfg.max_speed)
    want[(want < 0.15) | ((kf.mask[:, 0] + kf.mask[:, 2]) == 0)] = 0
    assert torch.allclose(task.speed, want, atol=1e-5)
    moving = task.speed > 0
    assert torch.allclose(torch.cos(task.move_yaw[moving]), d[moving, 0] / d[moving].norm(dim=1), atol=1e-4)
    rot = kf.mask[:, 1] > 0
    assert torch.allclose(task.facing_yaw[rot], kf.yaw[rot])             # the rotation channel sets facing
    t0 = kf.time_left.clone()
    env.step(torch.zeros(256, 23))
    assert torch.allclose(kf.time_left, (t0 - env.dt).clamp(min=0))
    env.close()


def test_a_hidden_facing_prompt_means_what_distillation_taught():
    """Moving: face the velocity's direction; standing: hold the heading anchored at the hold's
    start (not 'the current heading', which gives no yaw feedback), re-anchored past the tolerance;
    a visible facing stays as prompted."""
    import math

    from frozenfit.bfm.masking import HiddenFacing

    goal = torch.zeros(3, 4)
    goal[0, :2] = torch.tensor([0.0, 1.0])          # moving left in the heading frame, facing hidden
    goal[2, 2:4] = torch.tensor([0.6, 0.8])         # facing visible
    visible = torch.tensor([[1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    hf = HiddenFacing(3, tolerance_deg=15.0)
    out = hf.fill(goal, visible, torch.zeros(3))
    assert torch.allclose(out[0, 2:4], torch.tensor([0.0, 1.0]), atol=1e-6)       # 90 deg: the move direction
    assert torch.allclose(out[1, 2:4], torch.tensor([1.0, 0.0]))                   # anchored at heading 0
    assert torch.equal(out[2, 2:4], goal[2, 2:4])
    drifted = hf.fill(goal, visible, torch.full((3,), math.radians(10)))           # drift within tolerance
    assert math.isclose(math.atan2(drifted[1, 3], drifted[1, 2]), math.radians(-10), abs_tol=1e-5)
    far = hf.fill(goal, visible, torch.full((3,), math.radians(20)))               # past it: re-anchored
    assert torch.allclose(far[1, 2:4], torch.tensor([1.0, 0.0]), atol=1e-6)
