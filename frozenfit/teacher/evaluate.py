"""Evaluate the teacher in the issue's protocol and render it following a scripted goal sequence.

Evaluation: deterministic actions, every environment runs exactly one 20 s episode with fixed
goals (speed on a grid over [0, 3] m/s, random move direction, facing offset inside the training
cone, one or both hand targets in half of the episodes), starting from rest. Errors are measured
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

from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
from frozenfit.humanoid.model import PhysicsConfig, fallen
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
    max_speed: float = 3.0
    settle_seconds: float = 3.0      # errors are measured after this
    window_seconds: float = 1.0      # velocity averaging window
    hand_prob: float = 0.5
    seed: int = 123
    physics: PhysicsConfig | None = None


def _episode_goals(cfg: EvalConfig, task: GoalTask, n: int, gen: torch.Generator) -> None:
    speed = torch.linspace(0, cfg.max_speed, cfg.speeds).repeat(math.ceil(n / cfg.speeds))[:n]
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


def play_script(teacher: Teacher, seconds: float = 22.0, physics: PhysicsConfig | None = None,
                frame_every: int = 2) -> Recording:
    """Run the teacher on DEMO_SCRIPT in one environment and record it with goal markers."""
    task = GoalTask(teacher.goal_cfg, 1, resample=False)
    env = HumanoidEnv(EnvConfig(num_envs=1, episode_seconds=seconds + 1, physics=physics or PhysicsConfig(),
                                humanoid_version=teacher.env_cfg.humanoid_version), task)
    env.reset()
    qpos, markers, captions, status = [], [], [], []
    for t in range(int(seconds / env.dt)):
        now = t * env.dt
        _, spd, mv, face, hand = [row for row in DEMO_SCRIPT if row[0] <= now][-1]
        hand_t = torch.tensor([[hand or (0, 0, 0), (0, 0, 0)]], dtype=torch.float32)
        task.set_goals(torch.arange(1), torch.tensor([float(spd)]), torch.tensor([math.radians(mv)]),
                       torch.tensor([math.radians(face)]), hand_t, torch.tensor([[1.0 if hand else 0.0, 0.0]]))
        obs = env.observe()
        r = env.step(teacher.act(obs))
        if t % frame_every == 0:
            f = env.frame
            markers.append(goal_markers(task, f))
            qpos.append(f.qpos[0].double().numpy().copy())
            captions.append(f"goal: {spd:.1f} m/s toward {mv:+d} deg, face {face:+d} deg"
                            + (f"\nright hand at {hand} m (pelvis frame)" if hand else ""))
            status.append("fallen" if bool(fallen(f.body_pos)[0]) else None)
        if bool(r.terminated[0]):
            break
    env.close()
    return Recording(qpos=np.stack(qpos), fps=1.0 / (env.dt * frame_every), markers=markers,
                     title="teacher (goal-conditioned PPO)", captions=captions, status=status)
