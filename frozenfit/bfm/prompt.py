"""Prompting the BFM from Python: build a `Prompt`, give it to a `BFMController`, step.

    bfm = load_bfm()
    ctl = BFMController(bfm, num_envs=1)
    ctl.set_prompt(Prompt(velocity=(1.0, 0.0), right_hand=(0.35, -0.2, 0.55)))
    for _ in range(300):
        ctl.step()

Anything left as None is not prompted (the BFM's default for it: stand still, face the way you
move or do not turn, no body target). A keyframe ("be at this point, facing this way, in T s")
replaces the velocity and facing prompts:

    ctl.set_prompt(Prompt(keyframe_pelvis=(2.0, 1.0, 0.93), keyframe_yaw=1.57, keyframe_in=2.5))

``step(extra_tokens=...)`` appends tokens of the model's width from outside (the Task Tokens
hook); the BFM's weights are never touched.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from frozenfit.bfm.keyframe import HEAD_ABOVE_PELVIS, Keyframes
from frozenfit.bfm.masking import MaskingConfig, PromptedGoalTask
from frozenfit.bfm.model import BFM
from frozenfit.bfm.tokens import BFMInput, History
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.env import EnvConfig, HumanoidEnv, StepResult
from frozenfit.humanoid.model import PELVIS_HEIGHT, PhysicsConfig, fallen
from frozenfit.humanoid.observations import PROPRIO_DIM, root_heading
from frozenfit.humanoid.render import Marker, Recording
from frozenfit.humanoid.worlds import WorldRandomization
from frozenfit.teacher.evaluate import goal_markers
from frozenfit.teacher.goals import GoalConfig

Vec3 = tuple[float, float, float]


@dataclass
class Prompt:
    """One goal for the BFM; None means 'not prompted'.

    velocity: world-frame planar velocity (m/s); facing: world yaw (rad); hand/foot targets:
    metres relative to the pelvis in its heading frame (x forward, y left, z up);
    pelvis_height: metres above the ground.
    keyframe_pelvis / keyframe_head: world-frame position (x, y, z) the pelvis / head should reach
    in ``keyframe_in`` seconds; keyframe_yaw: world yaw (rad) to face there. A keyframe sets the
    velocity and facing goals itself, so it cannot be combined with ``velocity`` or ``facing``.
    Goal set 2 BFMs only: reach_point, a world point (x, y, z) for the right hand (the BFM bends or
    kneels to it; part of the body prompt); jump, a length (m) to jump along the velocity, its
    take-off window opening in ``jump_in`` seconds (needs a velocity prompt).
    """

    velocity: tuple[float, float] | None = None
    facing: float | None = None
    right_hand: Vec3 | None = None
    left_hand: Vec3 | None = None
    right_foot: Vec3 | None = None
    left_foot: Vec3 | None = None
    pelvis_height: float | None = None
    keyframe_pelvis: Vec3 | None = None
    keyframe_head: Vec3 | None = None
    keyframe_yaw: float | None = None
    keyframe_in: float = 2.0
    reach_point: Vec3 | None = None
    jump: float | None = None
    jump_in: float = 1.0

    @property
    def has_keyframe(self) -> bool:
        return any(v is not None for v in (self.keyframe_pelvis, self.keyframe_head, self.keyframe_yaw))

    @staticmethod
    def from_dict(d: dict) -> "Prompt":
        known = set(Prompt.__dataclass_fields__)
        bad = set(d) - known
        if bad:
            raise FrozenfitError(f"unknown prompt fields {sorted(bad)}; known: {sorted(known)}")
        return Prompt(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def apply_prompt(task: PromptedGoalTask, frame, prompt: Prompt, idx: torch.Tensor) -> None:
    """Write ``prompt`` into the goal state of environments ``idx`` (with the unprompted defaults)."""
    if prompt.has_keyframe and (prompt.velocity is not None or prompt.facing is not None):
        raise FrozenfitError("a keyframe sets the velocity and facing goals itself: give either a keyframe "
                             "or velocity/facing prompts")
    if prompt.keyframe_in < 0:
        raise FrozenfitError(f"keyframe_in must be >= 0 seconds, got {prompt.keyframe_in}")
    k = idx.numel()
    vx, vy = prompt.velocity or (0.0, 0.0)
    speed = math.hypot(vx, vy)
    move = math.atan2(vy, vx) if speed > 0 else 0.0
    if prompt.facing is not None:
        facing = torch.full((k,), float(prompt.facing))
    elif speed > 0:
        facing = torch.full((k,), move)
    else:
        facing = root_heading(frame)[idx]
    hands = [prompt.right_hand, prompt.left_hand]
    feet = [prompt.right_foot, prompt.left_foot]
    task.set_goals(idx, torch.full((k,), speed), torch.full((k,), move), facing,
                   torch.tensor([h or (0.0, 0.0, 0.0) for h in hands], dtype=torch.float32).expand(k, 2, 3),
                   torch.tensor([float(h is not None) for h in hands]).expand(k, 2))
    task.foot_target[idx] = torch.tensor([f or (0.0, 0.0, 0.0) for f in feet], dtype=torch.float32)
    task.foot_mask[idx] = torch.tensor([float(f is not None) for f in feet])
    if prompt.pelvis_height is not None:
        task.height_target[idx] = float(prompt.pelvis_height)
        task.height_mask[idx] = 1.0
    body = any(v is not None for v in (*hands, *feet, prompt.pelvis_height, prompt.reach_point))
    if (prompt.reach_point is not None or prompt.jump is not None) and task.cfg.version < 2:
        raise FrozenfitError("reach_point and jump prompts need a goal set 2 BFM (humanoid version 2)")
    if prompt.reach_point is not None:
        if prompt.right_hand is not None or prompt.left_hand is not None:
            raise FrozenfitError("reach_point is the right hand's target: give it or hand targets, not both")
        task.set_reach(idx, torch.tensor([prompt.reach_point], dtype=torch.float32).expand(k, 3), 0)
    if prompt.jump is not None:
        if speed == 0:
            raise FrozenfitError("a jump prompt needs a velocity prompt (the run-up it jumps along)")
        task.set_jump(idx, torch.full((k,), float(prompt.jump)), torch.full((k,), float(prompt.jump_in)),
                      torch.full((k,), move))
    task.keyframes.clear(idx)
    if prompt.has_keyframe:
        _apply_keyframe(task, frame, prompt, idx)
    show = [prompt.velocity is not None, prompt.facing is not None, body, prompt.has_keyframe]
    if len(task.layout.names) > len(show):                       # goal set 2's jump token
        show.append(prompt.jump is not None)
    task.set_prompt(idx, torch.tensor(show).expand(k, len(show)), frame)


def _apply_keyframe(task: PromptedGoalTask, frame, prompt: Prompt, idx: torch.Tensor) -> None:
    k = idx.numel()
    if prompt.keyframe_pelvis is not None:
        target = torch.tensor(prompt.keyframe_pelvis, dtype=torch.float32).expand(k, 3)
    elif prompt.keyframe_head is not None:
        target = torch.tensor(prompt.keyframe_head, dtype=torch.float32) - torch.tensor([0.0, 0.0, HEAD_ABOVE_PELVIS])
        target = target.expand(k, 3)
    else:  # rotation only: turn where you stand
        target = frame.body_pos[idx, 0]
    mask = torch.tensor([prompt.keyframe_pelvis is not None, prompt.keyframe_yaw is not None,
                         prompt.keyframe_head is not None]).expand(k, 3)
    task.keyframes.set(idx, target[:, :2], target[:, 2], torch.full((k,), float(prompt.keyframe_yaw or 0.0)),
                       torch.full((k,), float(prompt.keyframe_in)), mask)


def keyframe_markers(kf: Keyframes, i: int) -> list[Marker]:
    """Environment ``i``'s keyframe: a purple pelvis target, with an arrow along its yaw when the
    rotation channel is set."""
    if not bool(kf.active[i]) or not bool(kf.mask[i, 0] + kf.mask[i, 2]):
        return []
    p = np.array([*kf.xy[i].tolist(), float(kf.z[i])])
    ms = [Marker.of("keyframe", p, 0.06)]
    if kf.mask[i, 1] > 0:
        yaw = float(kf.yaw[i])
        ms.append(Marker.of("keyframe", p, 0.015, arrow_to=p + 0.5 * np.array([math.cos(yaw), math.sin(yaw), 0.0])))
    return ms


class BFMController:
    """N humanoids driven by a frozen BFM: keeps the history tokens and the prompts."""

    def __init__(self, bfm: BFM, num_envs: int = 1, episode_seconds: float = 1e6,
                 physics: PhysicsConfig | None = None, seed: int = 0, goal_cfg: GoalConfig | None = None,
                 worlds: WorldRandomization | None = None):
        self.bfm = bfm
        goal_cfg = goal_cfg or (GoalConfig.v2() if bfm.cfg.goal_version >= 2 else GoalConfig())
        if goal_cfg.version != bfm.cfg.goal_version:
            raise FrozenfitError(f"a goal set {bfm.cfg.goal_version} BFM cannot follow goal set {goal_cfg.version} goals")
        self.task = PromptedGoalTask(goal_cfg, MaskingConfig(), num_envs, resample=False)
        self.env = HumanoidEnv(EnvConfig(num_envs=num_envs, episode_seconds=episode_seconds,
                                         physics=physics or PhysicsConfig(), seed=seed,
                                         humanoid_version=bfm.humanoid_version,
                                         worlds=worlds or WorldRandomization()), self.task)
        self.history = History(num_envs, bfm.cfg.history_offsets, self.env.dt)
        self.obs = self.env.reset()
        self.history.reset(self.env.frame)

    def set_prompt(self, prompt: Prompt, idx: torch.Tensor | None = None) -> None:
        idx = torch.arange(self.env.num_envs) if idx is None else idx
        apply_prompt(self.task, self.env.frame, prompt, idx)
        self.obs = self.env.observe()

    def inputs(self) -> BFMInput:
        return BFMInput(self.obs[:, :PROPRIO_DIM], self.history.features(),
                        self.task.prompt(self.env.frame, self.obs[:, PROPRIO_DIM:]), self.task.visible)

    @torch.no_grad()
    def action(self, extra_tokens: torch.Tensor | None = None) -> torch.Tensor:
        return self.bfm(self.inputs(), extra_tokens)

    def step(self, extra_tokens: torch.Tensor | None = None, action: torch.Tensor | None = None) -> StepResult:
        """One control step with the BFM's action (or a given one, e.g. the teacher's on the same goals)."""
        r = self.env.step(self.action(extra_tokens) if action is None else action)
        self.history.push(self.env.frame)
        self.history.reset(self.env.frame, torch.nonzero(r.terminated | r.truncated).flatten())
        self.obs = r.obs
        return r

    def close(self) -> None:
        self.env.close()


# -- scripted demo -------------------------------------------------------------------------------
DEMO_PROMPTS: list[tuple[float, Prompt]] = [
    (0.0, Prompt()),                                                     # no prompt: stand
    (2.0, Prompt(velocity=(1.0, 0.0))),
    (5.0, Prompt(velocity=(2.0, 0.0))),
    (8.0, Prompt(velocity=(0.0, 1.0), facing=0.0)),                      # walk left, face +x
    (11.0, Prompt(facing=math.pi / 2)),                                  # turn in place
    (13.0, Prompt(right_hand=(0.35, -0.2, 0.55))),                       # reach
    (16.0, Prompt(velocity=(1.0, 0.0), facing=0.0, left_hand=(0.3, 0.25, 0.45))),  # several at once
    (19.0, Prompt()),
]


# goal set 2's demo: a floor reach from where the humanoid starts (the origin, facing +x), walk,
# run, walk backward, run sideways, turn round, then a run-up and a 2 m jump
DEMO_PROMPTS_V2: list[tuple[float, Prompt]] = [
    (0.0, Prompt()),
    (1.5, Prompt(reach_point=(0.45, -0.15, 0.1))),                       # reach the floor in front
    (5.0, Prompt(velocity=(1.0, 0.0))),
    (8.0, Prompt(velocity=(3.5, 0.0), facing=0.0)),                      # run
    (11.0, Prompt(velocity=(-1.2, 0.0), facing=0.0)),                    # walk backward
    (14.0, Prompt(velocity=(0.0, 2.0), facing=0.0)),                     # run sideways to the left
    (17.0, Prompt(facing=math.pi)),                                      # turn round in place
    (19.0, Prompt(velocity=(-3.0, 0.0), facing=math.pi, jump=2.0, jump_in=2.0)),   # run up, jump 2 m
    (24.5, Prompt()),
]


def load_script(path: str | Path) -> list[tuple[float, Prompt]]:
    """A prompt script from JSON: [{"t": seconds, "prompt": {field: value, ...}}, ...]."""
    path = Path(path)
    if not path.is_file():
        raise FrozenfitError(f"prompt script not found: {path}")
    try:
        rows = json.loads(path.read_text())
        script = [(float(r["t"]), Prompt.from_dict(r.get("prompt", {}))) for r in rows]
    except (ValueError, KeyError, TypeError) as e:
        raise FrozenfitError(f"{path}: not a prompt script ([{{\"t\": s, \"prompt\": {{...}}}}, ...]): {e}")
    if not script or script[0][0] > 0:
        raise FrozenfitError(f"{path}: the first prompt must start at t = 0")
    return sorted(script, key=lambda r: r[0])


def script_to_json(script: list[tuple[float, Prompt]]) -> str:
    return json.dumps([{"t": t, "prompt": {k: v for k, v in asdict(p).items() if v is not None}}
                       for t, p in script], indent=1)


def play(bfm: BFM, script: list[tuple[float, Prompt]] | None = None, seconds: float | None = None,
         physics: PhysicsConfig | None = None, frame_every: int = 2, title: str = "") -> Recording:
    """Run one humanoid through a timed prompt script (default DEMO_PROMPTS, 22 s, or for a goal set
    2 BFM DEMO_PROMPTS_V2, 26 s) and record it with markers of what is prompted. A goal set 1 BFM
    given goal set 2 prompts plays their nearest goal set 1 prompts (`for_goal_set_1`)."""
    v2 = bfm.cfg.goal_version >= 2
    script = script or (DEMO_PROMPTS_V2 if v2 else DEMO_PROMPTS)
    seconds = seconds or (26.0 if v2 else 22.0)
    if not v2:
        script = [(t, for_goal_set_1(p)) for t, p in script]
    ctl = BFMController(bfm, 1, episode_seconds=seconds + 1, physics=physics)
    qpos, markers, captions, status, current = [], [], [], [], None
    for t in range(int(seconds / ctl.env.dt)):
        now = t * ctl.env.dt
        row = [r for r in script if r[0] <= now][-1]
        if row is not current:
            ctl.set_prompt(row[1])
            current = row
        r = ctl.step()
        if t % frame_every == 0:
            vis = ctl.task.show[0]
            markers.append(goal_markers(ctl.task, ctl.env.frame, 0, bool(vis[0]), bool(vis[1]), bool(vis[2]))
                           + keyframe_markers(ctl.task.keyframes, 0))
            qpos.append(ctl.env.frame.qpos[0].double().numpy().copy())
            captions.append("prompt: " + describe(row[1]))
            status.append("fallen" if bool(fallen(ctl.env.frame.body_pos)[0]) else None)
        if bool(r.terminated[0]):
            break
    ctl.close()
    return Recording(qpos=np.stack(qpos), fps=1.0 / (ctl.env.dt * frame_every), markers=markers,
                     title=title or "BFM (frozen, prompted)", captions=captions, status=status,
                     humanoid_version=bfm.humanoid_version)


def describe(p: Prompt) -> str:
    """A prompt in words and numbers, for video captions."""
    parts = []
    if p.velocity is not None:
        parts.append(f"velocity ({p.velocity[0]:+.1f}, {p.velocity[1]:+.1f}) m/s")
    if p.facing is not None:
        parts.append(f"face {math.degrees(p.facing):+.0f} deg")
    for name in ("right_hand", "left_hand", "right_foot", "left_foot", "keyframe_pelvis", "keyframe_head"):
        v = getattr(p, name)
        if v is not None:
            parts.append(f"{name.replace('_', ' ')} ({', '.join(f'{x:.2f}' for x in v)}) m")
    if p.pelvis_height is not None:
        parts.append(f"pelvis at {p.pelvis_height:.2f} m")
    if p.keyframe_yaw is not None:
        parts.append(f"keyframe yaw {math.degrees(p.keyframe_yaw):+.0f} deg")
    if p.has_keyframe:
        parts.append(f"in {p.keyframe_in:.1f} s")
    if p.reach_point is not None:
        parts.append(f"right hand to the point ({', '.join(f'{x:.2f}' for x in p.reach_point)}) m")
    if p.jump is not None:
        parts.append(f"jump {p.jump:.1f} m in {p.jump_in:.1f} s")
    return ", ".join(parts) if parts else "none (free)"


def for_goal_set_1(p: Prompt) -> Prompt:
    """The nearest prompt a goal set 1 BFM takes (for showing version 1 beside version 2 on one
    script): a reach point becomes a right-hand target relative to a pelvis standing at the origin
    facing +x (where the demo scripts start), and a jump is dropped (goal set 1 has none)."""
    if p.reach_point is None and p.jump is None:
        return p
    hand = p.right_hand
    if p.reach_point is not None:
        x, y, z = p.reach_point
        hand = (x, y, z - PELVIS_HEIGHT)
    return replace(p, right_hand=hand, reach_point=None, jump=None)
