"""Evaluate the teacher in the issue's protocol and render it following a scripted goal sequence.

Evaluation: deterministic actions, every environment runs exactly one 20 s episode with fixed
goals (speed on a grid over [0, 3] m/s, 3.5 in goal set 2, random move direction, facing offset
inside the training cone, one or both hand targets in half of the episodes), starting from rest.
Goal set 2's skills are measured apart (`evaluate_skills`): world-fixed hand targets from the
floor up, and jumps after a run-up. Errors are measured
after a settling time; velocity is the pelvis displacement over 1 s windows (a stride makes the
instantaneous pelvis speed swing by several tenths of a m/s).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from tqdm import tqdm

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import PELVIS_HEIGHT, PhysicsConfig, fallen
from frozenfit.humanoid.render import Marker, Recording
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.humanoid.observations import root_heading
from frozenfit.teacher.goals import GoalTask
from frozenfit.teacher.policy import Teacher


@dataclass
class EvalConfig:
    ZERO_OK: ClassVar[tuple[str, ...]] = ("settle_seconds",)  # see common.checks
    episodes: int = 512
    speeds: int = 16                 # speed grid points over [0, max_speed]
    max_speed: float | None = None   # None: the teacher's goal range (3 m/s in goal set 1, 3.5 in set 2)
    settle_seconds: float = 3.0      # errors are measured after this
    window_seconds: float = 1.0      # velocity averaging window
    hand_prob: float = 0.5
    seed: int = 123
    physics: PhysicsConfig | None = None


def _episode_goals(cfg: EvalConfig, task: GoalTask, n: int, gen: torch.Generator) -> None:
    top = task.cfg.max_speed if cfg.max_speed is None else cfg.max_speed
    speed = torch.linspace(0, top, cfg.speeds).repeat(math.ceil(n / cfg.speeds))[:n]
    move = (torch.rand(n, generator=gen) * 2 - 1) * math.pi
    offset = (torch.rand(n, generator=gen) * 2 - 1) * task.cone(speed)
    offset[torch.rand(n, generator=gen) < 0.5] = 0
    # hand targets: the task's own sampler (reachable from the stance), on in half the episodes
    task._sample_hands(lambda *shape: torch.rand(*shape, generator=gen), torch.arange(n))
    on = torch.rand(n, generator=gen) < cfg.hand_prob
    both = torch.rand(n, generator=gen) < 0.5
    mask = torch.stack([on.float(), (on & both).float()], 1)
    task.set_goals(torch.arange(n), speed, move, wrap_angle(move + offset), task.hand_target.clone(), mask)


def window_velocity_error(pos: torch.Tensor, vel_cmd: torch.Tensor, settle: int, win: int, dt: float) -> torch.Tensor:
    """Per-episode velocity error from pelvis positions (T+1, n, 2): mean over ``win``-step windows
    after ``settle`` steps of |displacement / window time - command|."""
    win = max(1, min(win, pos.shape[0] - 1 - settle))  # short episodes: one window to the end
    starts = torch.arange(settle, pos.shape[0] - 1 - win + 1, win)
    v = (pos[starts + win] - pos[starts]) / (win * dt)                   # (W, n, 2)
    return (v - vel_cmd).norm(dim=-1).mean(0)


def evaluate_teacher(teacher: Teacher, cfg: EvalConfig, progress: bool = True) -> dict:
    n = cfg.episodes
    env_cfg = EnvConfig(num_envs=n, episode_seconds=teacher.env_cfg.episode_seconds,
                        physics=cfg.physics or PhysicsConfig(), seed=cfg.seed,
                        humanoid_version=teacher.env_cfg.humanoid_version)
    task = GoalTask(teacher.goal_cfg, n, resample=False)
    env = HumanoidEnv(env_cfg, task)
    gen = torch.Generator().manual_seed(cfg.seed)
    t0 = time.perf_counter()
    env.reset()
    _episode_goals(cfg, task, n, gen)
    obs = env.observe()
    steps = env.max_steps
    settle = int(cfg.settle_seconds / env.dt)
    win = int(round(cfg.window_seconds / env.dt))
    alive = torch.ones(n, dtype=torch.bool)
    pos = torch.zeros(steps + 1, n, 2)
    pos[0] = env.frame.body_pos[:, 0, :2]
    facing_err, hand_err = torch.zeros(n), torch.zeros(n)
    measured = torch.zeros(n)
    for t in tqdm(range(steps), disable=not progress, desc="teacher eval"):
        r = env.step(teacher.act(obs))
        obs = r.obs
        fell = r.terminated & alive
        alive &= ~fell
        pos[t + 1] = torch.where(alive[:, None], env.frame.body_pos[:, 0, :2], pos[t])
        if t >= settle:
            e = task.errors(env)
            m = alive.float()
            facing_err += e["facing"] * m
            hands = (e["hands"] * task.hand_mask).sum(1) / task.hand_mask.sum(1).clamp(min=1)
            hand_err += hands * m
            measured += m
    env.close()
    wall = time.perf_counter() - t0
    vel_err = window_velocity_error(pos, task.vel_cmd(), settle, win, env.dt)
    ok = alive & (measured > 0)
    speeds = task.speed
    per_speed = {}
    for s in torch.unique(speeds).tolist():
        sel = ok & (speeds == s)
        allsel = speeds == s
        per_speed[f"{s:.2f}"] = {
            "velocity_error_mps": float(vel_err[sel].mean()) if sel.any() else None,
            "fall_rate": float((~alive[allsel]).float().mean()),
            "episodes": int(allsel.sum())}
    tracked = [float(s) for s, d in per_speed.items()
               if float(s) > 0 and d["velocity_error_mps"] is not None
               and d["velocity_error_mps"] <= 0.2 * float(s) and d["fall_rate"] < 0.5]
    hand_eps = ok & (task.hand_mask.sum(1) > 0)
    return {
        "velocity_error_mps": float(vel_err[ok].mean()),
        "max_speed_mps": max(tracked) if tracked else 0.0,
        "facing_error_deg": float(torch.rad2deg(facing_err[ok] / measured[ok]).mean()),
        "hand_error_m": float((hand_err[hand_eps] / measured[hand_eps]).mean()) if hand_eps.any() else None,
        "fall_rate": float((~alive).float().mean()),
        "episodes": n,
        "env_steps": n * steps,
        "eval_wall_s": wall,
        "per_speed": per_speed,
    }


@dataclass
class SkillEvalConfig:
    """Goal set 2's skills: reach (standing, one world-fixed hand target) and jump (a run-up, then
    a jump goal whose window opens after ``run_up_seconds``)."""
    episodes: int = 256
    reach_seconds: float = 6.0
    reach_radius: float = 0.15       # success: mean hand distance over the last 2 s within this
    jump_speed: float = 3.0          # run-up command (m/s)
    run_up_seconds: float = 3.0
    jump_tolerance: float = 0.3      # success: landed on the feet within this of the goal length (m)
    seed: int = 321
    physics: PhysicsConfig | None = None


def _skill_env(teacher: Teacher, cfg: SkillEvalConfig, seconds: float) -> tuple[HumanoidEnv, GoalTask]:
    n = cfg.episodes
    task = GoalTask(teacher.goal_cfg, n, resample=False)
    env = HumanoidEnv(EnvConfig(num_envs=n, episode_seconds=seconds, physics=cfg.physics or PhysicsConfig(),
                                seed=cfg.seed, humanoid_version=teacher.env_cfg.humanoid_version), task)
    env.reset()
    return env, task


def evaluate_reach(teacher: Teacher, cfg: SkillEvalConfig, progress: bool = True) -> dict:
    """Success on world-fixed hand targets of the training range, per band of target height."""
    env, task = _skill_env(teacher, cfg, cfg.reach_seconds + 1)
    n, gen = cfg.episodes, torch.Generator().manual_seed(cfg.seed)
    heading = root_heading(env.frame)
    zero = torch.zeros(n)
    task.set_goals(torch.arange(n), zero, zero, heading)
    c = task.cfg
    side = (torch.rand(n, generator=gen) < 0.5).long()
    az = torch.where(side == 0, -1.0, 1.0) * (-0.5 + 2.25 * torch.rand(n, generator=gen))
    dist = c.reach_planar[0] + (c.reach_planar[1] - c.reach_planar[0]) * torch.rand(n, generator=gen)
    z = c.reach_height[0] + (c.reach_height[1] - c.reach_height[0]) * torch.rand(n, generator=gen)
    p = env.frame.body_pos[:, 0]
    world = torch.stack([p[:, 0] + dist * torch.cos(heading + az), p[:, 1] + dist * torch.sin(heading + az), z], 1)
    for hand in (0, 1):
        sel = torch.nonzero(side == hand).flatten()
        task.set_reach(sel, world[sel], hand)
    obs = env.observe()
    steps = int(cfg.reach_seconds / env.dt)
    last = int(2.0 / env.dt)
    alive, err = torch.ones(n, dtype=torch.bool), torch.zeros(n)
    for t in tqdm(range(steps), disable=not progress, desc="reach eval"):
        r = env.step(teacher.act(obs))
        obs = r.obs
        alive &= ~r.terminated
        if t >= steps - last:
            err += task.errors(env)["hands"].gather(1, side[:, None])[:, 0]
    env.close()
    err = err / last
    ok = alive & (err <= cfg.reach_radius)
    bands = {}
    for lo, hi in ((0.05, 0.6), (0.6, 1.2), (1.2, 1.8)):
        sel = (z >= lo) & (z < hi + 1e-6)
        bands[f"{lo:.2f}-{hi:.2f}"] = {"success": 100 * float(ok[sel].float().mean()) if sel.any() else None,
                                       "episodes": int(sel.sum())}
    return {"success": 100 * float(ok.float().mean()), "fall_rate": float((~alive).float().mean()),
            "hand_error_m": float(err[alive].mean()) if alive.any() else None, "per_height": bands,
            "episodes": n}


def evaluate_jump(teacher: Teacher, cfg: SkillEvalConfig, progress: bool = True) -> dict:
    """Jumps after a run-up: goal lengths over the training range; landed lengths and success."""
    seconds = cfg.run_up_seconds + 4.0
    env, task = _skill_env(teacher, cfg, seconds + 1)
    n, gen = cfg.episodes, torch.Generator().manual_seed(cfg.seed + 1)
    heading = root_heading(env.frame)
    c = task.cfg
    hi = min(c.jump_length[1], 0.8 + c.jump_reach_per_speed * cfg.jump_speed)
    length = c.jump_length[0] + (hi - c.jump_length[0]) * torch.rand(n, generator=gen)
    idx = torch.arange(n)
    task.set_goals(idx, torch.full((n,), cfg.jump_speed), heading, heading)
    task.set_jump(idx, length, torch.full((n,), cfg.run_up_seconds), heading)
    obs = env.observe()
    landed = torch.full((n,), float("nan"))
    alive = torch.ones(n, dtype=torch.bool)
    for _ in tqdm(range(int(seconds / env.dt)), disable=not progress, desc="jump eval"):
        r = env.step(teacher.act(obs))
        obs = r.obs
        j = task.last_jump
        first = (j["landed"] > 0) & torch.isnan(landed) & alive
        landed = torch.where(first, j["length"], landed)
        alive &= ~r.terminated
    env.close()
    did = ~torch.isnan(landed)
    ok = did & ((landed - length).abs() <= cfg.jump_tolerance)
    long_goal = length >= 1.5
    return {"success": 100 * float(ok.float().mean()), "jumped": 100 * float(did.float().mean()),
            "fall_rate": float((~alive).float().mean()),
            "length_error_m": float((landed[did] - length[did]).abs().mean()) if did.any() else None,
            "longest_m": float(landed[did].max()) if did.any() else 0.0,
            "over_1_5m": 100 * float((did & (landed > 1.5))[long_goal].float().mean()) if long_goal.any() else None,
            "goal_lengths_m": [float(length.min()), float(length.max())], "run_up_mps": cfg.jump_speed, "episodes": n}


def evaluate_skills(teacher: Teacher, cfg: SkillEvalConfig | None = None, progress: bool = True) -> dict:
    """Goal set 2's reach and jump evaluations (goal set 1 has neither)."""
    if teacher.goal_cfg.version < 2:
        raise FrozenfitError("this teacher follows goal set 1: it has no world-fixed reach or jump goals")
    cfg = cfg or SkillEvalConfig()
    return {"reach": evaluate_reach(teacher, cfg, progress), "jump": evaluate_jump(teacher, cfg, progress)}


# -- scripted demo for videos ------------------------------------------------------------------
DEMO_SCRIPT = [  # (start s, speed m/s, move direction deg, facing deg, right hand target or None)
    (0.0, 0.0, 0, 0, None),
    (2.0, 1.0, 0, 0, None),
    (5.0, 2.0, 0, 0, None),
    (8.0, 3.0, 0, 0, None),
    (11.0, 1.0, 90, 90, None),
    (14.0, 1.0, 90, 0, None),          # walk left while facing forward
    (17.0, 0.0, 0, 0, (0.35, -0.2, 0.55)),  # stand and reach up-front with the right hand
    (20.0, 0.0, 0, 0, None),
]
# goal set 2's demo adds a backward walk, a sideways run, a floor reach and a jump after a run-up:
# rows may carry a world reach target (forward, left, height: metres from where the pelvis is when
# the row starts) and a jump length (its window opening 2 s into the row)
DEMO_SCRIPT_V2 = [  # (start s, speed, move deg, facing deg, right hand or None, reach or None, jump m or None)
    (0.0, 0.0, 0, 0, None, None, None),
    (2.0, 1.0, 0, 0, None, None, None),
    (5.0, 3.5, 0, 0, None, None, None),
    (8.0, 1.2, 180, 0, None, None, None),     # walk backward
    (11.0, 2.0, 90, 0, None, None, None),     # run sideways to the left
    (14.0, 0.0, 0, 0, None, (0.4, -0.1, 0.1), None),   # reach the floor in front
    (18.0, 3.0, 0, 0, None, None, 2.0),       # run up and jump 2 m
    (23.0, 0.0, 0, 0, None, None, None),
]


def goal_markers(task: GoalTask, frame, i: int = 0, velocity: bool = True, facing: bool = True,
                 body: bool = True) -> list[Marker]:
    """Markers for environment ``i``'s goals: velocity arrow (blue), facing arrow (orange),
    active hand (red) and foot (green) targets: the legend of `frozenfit.humanoid.render.COLORS`."""
    p = frame.body_pos[i, 0].numpy().astype(float)
    ms = []
    spd, mv, face = float(task.speed[i]), float(task.move_yaw[i]), float(task.facing_yaw[i])
    if velocity and spd > 0:
        d = np.array([math.cos(mv), math.sin(mv), 0.0]) * 0.3 * spd
        ms.append(Marker.of("velocity", p + [0, 0, 0.9], 0.02, arrow_to=p + [0, 0, 0.9] + d))
    if facing:
        fd = np.array([math.cos(face), math.sin(face), 0.0]) * 0.5
        ms.append(Marker.of("facing", p + [0, 0, 1.2], 0.015, arrow_to=p + [0, 0, 1.2] + fd))
    if body:
        yaw = float(root_heading(frame)[i])
        c, s = math.cos(yaw), math.sin(yaw)
        for targets, mask, kind in ((task.hand_target, task.hand_mask, "target"),
                                    (task.foot_target, task.foot_mask, "foot")):
            for j in range(2):
                if mask[i, j] > 0:
                    x, y, z = targets[i, j].tolist()
                    ms.append(Marker.of(kind, p + [c * x - s * y, s * x + c * y, z], 0.05))
    return ms


def script_for_goal_set_1(script: list[tuple]) -> list[tuple]:
    """Goal set 2 script rows as the nearest goal set 1 goals (for showing version 1 beside version
    2): a world reach target becomes a right-hand target in the pelvis frame at the same place (its
    height made relative to a standing pelvis), a jump is dropped (goal set 1 has none)."""
    out = []
    for start, spd, mv, face, hand, reach, jump in script:
        if reach is not None:
            hand = (reach[0], reach[1], reach[2] - PELVIS_HEIGHT)
        out.append((start, spd, mv, face, hand, None, None))
    return out


def play_script(teacher: Teacher, seconds: float | None = None, physics: PhysicsConfig | None = None,
                frame_every: int = 2, script: list[tuple] | None = None, title: str = "") -> Recording:
    """Run the teacher on a demo script (default its goal set's: DEMO_SCRIPT, or DEMO_SCRIPT_V2: 26 s)
    in one environment and record it with goal markers; a goal set 1 teacher given goal set 2 rows
    plays `script_for_goal_set_1` of them."""
    v2 = teacher.goal_cfg.version >= 2
    if script is None:
        script = DEMO_SCRIPT_V2 if v2 else [row + (None, None) for row in DEMO_SCRIPT]
    elif not v2:
        script = script_for_goal_set_1(script)
    seconds = seconds or (26.0 if script[-1][0] > 20 else 22.0)    # the last row's 3 s (DEMO_SCRIPT: 2 s)
    task = GoalTask(teacher.goal_cfg, 1, resample=False)
    env = HumanoidEnv(EnvConfig(num_envs=1, episode_seconds=seconds + 1, physics=physics or PhysicsConfig(),
                                humanoid_version=teacher.env_cfg.humanoid_version), task)
    env.reset()
    qpos, markers, captions, status = [], [], [], []
    one, current = torch.arange(1), None
    for t in range(int(seconds / env.dt)):
        now = t * env.dt
        row = [row for row in script if row[0] <= now][-1]
        start, spd, mv, face, hand, reach, jump = row
        hand_t = torch.tensor([[hand or (0, 0, 0), (0, 0, 0)]], dtype=torch.float32)
        if row is not current:          # a new row: its goals (a reach or a jump placed once)
            current = row
            task.set_goals(one, torch.tensor([float(spd)]), torch.tensor([math.radians(mv)]),
                           torch.tensor([math.radians(face)]), hand_t, torch.tensor([[1.0 if hand else 0.0, 0.0]]))
            if reach is not None:
                yaw, p = float(root_heading(env.frame)[0]), env.frame.body_pos[0, 0]
                x, y, z = reach
                world = torch.tensor([[float(p[0]) + math.cos(yaw) * x - math.sin(yaw) * y,
                                       float(p[1]) + math.sin(yaw) * x + math.cos(yaw) * y, z]])
                task.set_reach(one, world, 0)
            if jump is not None:
                task.set_jump(one, torch.tensor([float(jump)]), torch.tensor([2.0]), torch.tensor([math.radians(mv)]))
        obs = env.observe()
        r = env.step(teacher.act(obs))
        if t % frame_every == 0:
            f = env.frame
            markers.append(goal_markers(task, f))
            qpos.append(f.qpos[0].double().numpy().copy())
            captions.append(f"goal: {spd:.1f} m/s toward {mv:+d} deg, face {face:+d} deg"
                            + (f"\nright hand at {hand} m (pelvis frame)" if hand else "")
                            + (f"\nright hand to the point {reach[2]:.2f} m above the floor" if reach else "")
                            + (f"\njump {jump:.1f} m" if jump else ""))
            status.append("fallen" if bool(fallen(f.body_pos)[0]) else None)
        if bool(r.terminated[0]):
            break
    env.close()
    return Recording(qpos=np.stack(qpos), fps=1.0 / (env.dt * frame_every), markers=markers,
                     title=title or "teacher (goal-conditioned PPO)", captions=captions, status=status,
                     humanoid_version=teacher.env_cfg.humanoid_version)
