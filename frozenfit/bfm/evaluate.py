"""Acceptance evaluation of a BFM against its teacher, on the same goals from the same start states.

Single modalities: the BFM is prompted with one modality only; the teacher sees the same goal
(the unprompted modalities at their defaults: stand, face the way you move or do not turn,
no body target). The goal-tracking reward is the teacher task's reward term of that modality,
averaged over every step after settling (a fallen humanoid earns nothing for the rest of its
episode), so falls count against a policy. Errors are physical (m/s, degrees, metres) over the
steps a humanoid is up. Also: no prompt at all (fall rate over 20 s episodes) and several
modalities at once (velocity + facing + a hand target). Keyframes (for a BFM that reads them):
reach a pelvis position and yaw 2-4 s away; the error is the pelvis's planar distance from the
target once its time is up.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, ClassVar

import torch

from frozenfit.bfm.model import BFM
from frozenfit.bfm.prompt import BFMController
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.humanoid.observations import root_heading
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.humanoid.worlds import WorldRandomization
from frozenfit.teacher.evaluate import window_velocity_error
from frozenfit.teacher.goals import GoalTask
from frozenfit.teacher.policy import Teacher

# modality -> (reward term, error key in GoalTask.errors, unit)
MODALITIES: dict[str, tuple[str, str, str]] = {
    "velocity": ("velocity", "velocity", "m/s"),
    "facing": ("facing", "facing", "deg"),
    "hands": ("hands", "hands", "m"),
    "feet": ("foot", "feet", "m"),
    "pelvis_height": ("height", "height", "m"),
    "keyframe": ("velocity", "keyframe", "m"),   # reward: tracking the velocity the keyframe implies
}
# goal set 2 adds (for a BFM that reads its jump prompt): world-fixed hand targets from the floor up
# (the body token), and a jump after a prompted run-up
MODALITIES_V2: dict[str, tuple[str, str, str]] = {
    "reach": ("hands", "hands", "m"),
    "jump": ("jump", "jump", "m"),               # error: |landed length - goal length| of the landings
}


@dataclass
class BFMEvalConfig:
    ZERO_OK: ClassVar[tuple[str, ...]] = ("settle_seconds",)  # see common.checks
    episodes: int = 256               # per modality and policy
    seconds: float = 10.0             # single-modality and combined episodes
    no_prompt_seconds: float = 20.0
    settle_seconds: float = 2.0       # tracking is measured after this
    max_speed: float | None = None    # None: the teacher's goal range (3 m/s, 3.5 in goal set 2)
    jump_speed: float = 3.0           # run-up of the jump case (goal set 2)
    jump_delay: float = 2.5           # s of run-up before the take-off window opens
    seed: int = 7
    physics: PhysicsConfig | None = None
    worlds: WorldRandomization | None = None
    """Randomised worlds to evaluate in (rough ground, physics variants); None: the nominal world."""


# -- goals per case: each sets the task's goals and the prompt visibility for all envs ----------
def _goals(case: str, cfg: BFMEvalConfig, task, frame, gen: torch.Generator) -> None:
    n = task.speed.shape[0]
    idx = torch.arange(n)
    rand = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731
    heading = root_heading(frame)
    zeros = torch.zeros(n)
    show = {"velocity": [1, 0, 0, 0], "facing": [0, 1, 0, 0], "no_prompt": [0, 0, 0, 0], "combined": [1, 1, 1, 0],
            "keyframe": [0, 0, 0, 1], "jump": [1, 0, 0, 0, 1]}.get(case, [0, 0, 1, 0])
    show = show + [0] * (len(task.layout.names) - len(show))
    if case == "velocity":
        speed = torch.linspace(0, task.cfg.max_speed if cfg.max_speed is None else cfg.max_speed, 16).repeat(math.ceil(n / 16))[:n]
        move = (rand(n) * 2 - 1) * math.pi
        task.set_goals(idx, speed, move, move)
    elif case == "facing":
        task.set_goals(idx, zeros, zeros, wrap_angle(heading + (rand(n) * 2 - 1) * math.pi))
    elif case == "combined":
        speed = 0.5 + rand(n)
        move = (rand(n) * 2 - 1) * math.pi
        task._sample_hands(rand, idx)
        task.set_goals(idx, speed, move, wrap_angle(move + (rand(n) * 2 - 1) * math.pi / 4),
                       task.hand_target.clone(), torch.tensor([1.0, 0.0]).repeat(n, 1))
    elif case == "jump":
        c = task.cfg
        hi = min(c.jump_length[1], 0.8 + c.jump_reach_per_speed * cfg.jump_speed)
        task.set_goals(idx, torch.full((n,), cfg.jump_speed), heading, heading)
        task.set_jump(idx, c.jump_length[0] + (hi - c.jump_length[0]) * rand(n), torch.full((n,), cfg.jump_delay),
                      heading)
    elif case == "reach":
        c = task.cfg
        task.set_goals(idx, zeros, zeros, heading)
        side = (rand(n) < 0.5).long()
        az = heading + torch.where(side == 0, -1.0, 1.0) * (-0.5 + 2.25 * rand(n))
        dist = c.reach_planar[0] + (c.reach_planar[1] - c.reach_planar[0]) * rand(n)
        p = frame.body_pos[:, 0]
        world = torch.stack([p[:, 0] + dist * torch.cos(az), p[:, 1] + dist * torch.sin(az),
                             c.reach_height[0] + (c.reach_height[1] - c.reach_height[0]) * rand(n)], 1)
        for hand in (0, 1):
            sel = torch.nonzero(side == hand).flatten()
            task.set_reach(sel, world[sel], hand)
    elif case == "keyframe":
        seconds, speed = 2.0 + 2.0 * rand(n), 0.5 + 2.0 * rand(n)
        move = (rand(n) * 2 - 1) * math.pi
        yaw = wrap_angle(move + (rand(n) * 2 - 1) * task.cone(speed))
        xy = frame.body_pos[:, 0, :2] + (speed * seconds)[:, None] * torch.stack([torch.cos(move), torch.sin(move)], 1)
        task.set_goals(idx, zeros, zeros, heading)
        task.keyframes.set(idx, xy, torch.full((n,), task.pelvis_height), yaw, seconds,
                           torch.tensor([True, True, False]).expand(n, 3))
    else:
        task.set_goals(idx, zeros, zeros, heading)
        if case == "hands":
            task._sample_hands(rand, idx)
            both = rand(n) < 0.5
            task.hand_mask[:] = torch.stack([torch.ones(n), both.float()], 1)
        elif case == "feet":
            task.foot_mask[:], task.foot_target[:] = GoalTask.raised_foot(rand, n, task.pelvis_height)
        elif case == "pelvis_height":
            lo, hi = task.cfg.crouch_range
            task.height_target[:] = lo + (hi - lo) * rand(n)
            task.height_mask[:] = 1.0
    task.set_prompt(idx, torch.tensor(show, dtype=torch.bool).expand(n, len(show)), frame)


def run_case(policy: str, case: str, cfg: BFMEvalConfig, bfm: BFM, teacher: Teacher, seconds: float) -> dict:
    """Episodes of one case for 'bfm' or 'teacher'; rewards per term, errors, falls."""
    n = cfg.episodes
    ctl = BFMController(bfm, n, episode_seconds=seconds + 1, physics=cfg.physics, seed=cfg.seed,
                        goal_cfg=teacher.goal_cfg, worlds=cfg.worlds)
    task, env = ctl.task, ctl.env
    _goals(case, cfg, task, env.frame, torch.Generator().manual_seed(cfg.seed))
    ctl.obs = env.observe()
    steps, settle, win = int(seconds / env.dt), int(cfg.settle_seconds / env.dt), int(round(1.0 / env.dt))
    alive = torch.ones(n, dtype=torch.bool)
    reward: dict[str, torch.Tensor] = {}
    err = {k: torch.zeros(n) for k in ("facing", "hands", "feet", "height")}
    measured, kf_err, arrived_steps = torch.zeros(n), torch.zeros(n), torch.zeros(n)
    jump_err, landings = torch.zeros(n), torch.zeros(n)
    pos = torch.zeros(steps + 1, n, 2)
    pos[0] = env.frame.body_pos[:, 0, :2]
    act: Callable[[], torch.Tensor | None] = (lambda: None) if policy == "bfm" else (lambda: teacher.act(ctl.obs))
    for t in range(steps):
        r = ctl.step(action=act())
        if getattr(task, "last_jump", None) is not None:      # goal set 2: landings of jump goals
            j = task.last_jump
            jump_err += j["length_err"].abs() * j["landed"] * alive
            landings += j["landed"] * alive
        alive &= ~r.terminated
        pos[t + 1] = torch.where(alive[:, None], env.frame.body_pos[:, 0, :2], pos[t])
        if t < settle:
            continue
        m = alive.float()
        for k, v in r.terms.items():
            reward[k] = reward.get(k, torch.zeros(n)) + v * m
        e = task.errors(env)
        err["facing"] += e["facing"] * m
        err["hands"] += (e["hands"] * task.hand_mask).sum(1) / task.hand_mask.sum(1).clamp(min=1) * m
        err["feet"] += (e["feet"] * task.foot_mask).sum(1) / task.foot_mask.sum(1).clamp(min=1) * m
        err["height"] += e["height"].abs() * m
        arrived = m * (task.keyframes.active & (task.keyframes.time_left == 0)).float()
        kf_err += (env.frame.body_pos[:, 0, :2] - task.keyframes.xy).norm(dim=-1) * arrived
        measured += m
        arrived_steps += arrived
    ctl.close()
    ok = measured > 0
    errors = {k: float((v[ok] / measured[ok]).mean()) if ok.any() else float("nan") for k, v in err.items()}
    there = arrived_steps > 0
    errors["keyframe"] = float((kf_err[there] / arrived_steps[there]).mean()) if there.any() else float("nan")
    errors["facing"] = math.degrees(errors["facing"])
    landed = landings > 0
    errors["jump"] = float((jump_err[landed] / landings[landed]).mean()) if landed.any() else float("nan")
    errors["velocity"] = float(window_velocity_error(pos, task.vel_cmd(), settle, win, env.dt)[alive].mean()) \
        if alive.any() else float("nan")
    return {"reward": {k: float(v.mean()) / (steps - settle) for k, v in reward.items()},
            "errors": errors, "fall_rate": float((~alive).float().mean()), "env_steps": n * steps}


def evaluate_bfm(bfm: BFM, teacher: Teacher, cfg: BFMEvalConfig, progress: Callable[[str], None] = print) -> dict:
    """The BFM acceptance numbers (the `results/bfm/eval.json` payload without provenance)."""
    t0 = time.perf_counter()
    steps = 0
    modalities = {}
    cases = {**MODALITIES, **(MODALITIES_V2 if "jump" in bfm.cfg.prompts else {})}
    for name, (term, ekey, unit) in cases.items():
        if name == "keyframe" and "keyframe" not in bfm.cfg.prompts:
            continue
        b = run_case("bfm", name, cfg, bfm, teacher, cfg.seconds)
        te = run_case("teacher", name, cfg, bfm, teacher, cfg.seconds)
        steps += b["env_steps"] + te["env_steps"]
        br, tr = b["reward"].get(term, 0.0), te["reward"].get(term, 0.0)
        modalities[name] = {"bfm_reward": br, "teacher_reward": tr, "ratio": br / tr if tr else float("nan"),
                            "error": b["errors"][ekey], "error_unit": unit, "teacher_error": te["errors"][ekey],
                            "bfm_fall_rate": b["fall_rate"], "teacher_fall_rate": te["fall_rate"]}
        progress(f"{name}: reward ratio {modalities[name]['ratio']:.3f}, error {b['errors'][ekey]:.3f} {unit} "
                 f"(teacher {te['errors'][ekey]:.3f})")
    none = run_case("bfm", "no_prompt", cfg, bfm, teacher, cfg.no_prompt_seconds)
    steps += none["env_steps"]
    progress(f"no prompt: fall rate {none['fall_rate']:.3f}")
    b = run_case("bfm", "combined", cfg, bfm, teacher, cfg.seconds)
    te = run_case("teacher", "combined", cfg, bfm, teacher, cfg.seconds)
    steps += b["env_steps"] + te["env_steps"]
    combined = {"modalities": ["velocity", "facing", "hands"]}
    for term, ekey, unit in (("velocity", "velocity", "mps"), ("facing", "facing", "deg"), ("hands", "hands", "m")):
        combined[f"{ekey}_error_{unit}"] = b["errors"][ekey]
        combined[f"teacher_{ekey}_error_{unit}"] = te["errors"][ekey]
        combined[f"{term}_reward_ratio"] = b["reward"][term] / te["reward"][term] if te["reward"][term] else float("nan")
    combined["bfm_fall_rate"], combined["teacher_fall_rate"] = b["fall_rate"], te["fall_rate"]
    progress(f"combined: {combined}")
    return {"modalities": modalities, "no_prompt_fall_rate": none["fall_rate"], "combined": combined,
            "eval_env_steps": steps, "eval_wall_s": time.perf_counter() - t0}
