"""The teacher's task: follow procedurally sampled goals, all visible to the policy.

Goals (world frame inside, heading frame in the observation):
- planar velocity command: speed in [0, max_speed] (standing included) along a move direction;
- facing direction, independent of the move direction (free at walking speed, within a cone that
  narrows to +-45 deg at 3 m/s, where running sideways is not a human gait);
- hand targets relative to the pelvis in its heading frame, each hand on or off;
- standing goals: a pelvis height (crouch) or one raised foot target.
Goal set 2 (``GoalConfig.v2()``, for humanoid version 2) extends them: facing free up to 2 m/s and
speeds to 3.5 m/s; standing hand targets fixed in the world from 0.05 to 1.8 m above the floor (the
teacher bends, crouches or kneels to them: the observation re-expresses them from the pelvis every
step); and a jump goal (take off within a window, land ``length`` metres further along the move
direction on the feet), observed in 7 extra numbers (`JUMP_OBS_DIM`).
Every reward term is named and summed in `GoalTask.reward`; `reward_terms` is a pure function of
the state so tests can check each formula on hand-made numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from frozenfit.common.distributed import Shard, all_mean
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import FALL_HEAD_HEIGHT, FOOT_IDX, HAND_IDX, HEAD_IDX, LAYOUTS, TORSO_IDX, fallen
from frozenfit.humanoid.observations import local_body_pos, root_heading, to_heading_frame
from frozenfit.humanoid.rotations import quat_to_tan_norm, wrap_angle



@dataclass
class GoalConfig:
    """Goal sampling, curriculum and reward weights of the teacher task."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("start_max_speed", "reach_prob", "jump_prob", "w_jump_miss")  # see common.checks
    FRACTIONS: ClassVar[tuple[str, ...]] = ("curriculum_threshold", "reach_prob", "jump_prob")  # see common.checks

    version: int = 1
    """Goal set and the humanoid version it is laid out for (standing height, shoulders): 1, the
    shipped teacher's; 2, the extended set (`GoalConfig.v2()` sets its defaults)."""
    max_speed: float = 3.0            # fastest command once the curriculum is done
    start_max_speed: float = 1.0      # curriculum starts here ...
    speed_step: float = 0.25          # ... and grows by this when velocity tracking is good
    curriculum_threshold: float = 0.6  # mean of exp(-|v - v_cmd|^2 / 0.25) needed to grow ...
    curriculum_patience: int = 5      # ... for this many consecutive PPO iterations
    stand_prob: float = 0.2
    command_seconds: tuple[float, float] = (3.0, 8.0)
    facing_free_prob: float = 0.5     # otherwise facing = move direction
    hand_prob: float = 0.35           # each hand, per resample
    hand_seconds: tuple[float, float] = (2.0, 5.0)
    hand_reach: tuple[float, float] = (0.2, 0.5)  # distance from the shoulder
    standing_goal_prob: float = 0.5   # when standing: a crouch or raised-foot goal
    crouch_range: tuple[float, float] = (0.65, 0.9)
    fall_head_height: float = FALL_HEAD_HEIGHT
    free_facing_speed: float = 1.0    # facing free up to this speed ...
    narrow_facing_speed: float = 3.0  # ... its cone narrowing linearly to +-45 deg at this one
    # goal set 2 only (0 in set 1)
    reach_prob: float = 0.0           # a standing goal is a world-fixed hand target (then no crouch/foot)
    reach_height: tuple[float, float] = (0.05, 1.8)   # m above the floor
    reach_planar: tuple[float, float] = (0.15, 0.6)   # m from the pelvis, in front or beside
    jump_prob: float = 0.0            # per moving command: a jump along the move direction
    jump_delay: tuple[float, float] = (0.5, 2.0)      # s until the take-off window opens ...
    jump_window: float = 1.0          # ... for this long
    jump_length: tuple[float, float] = (0.5, 2.5)     # m, landing foot past the take-off foot ...
    jump_reach_per_speed: float = 0.5  # ... at most 0.8 m + this x the command speed (a run-up first)
    jump_min_flight: float = 0.12     # s: shorter flights are running strides
    # reward weights
    w_velocity: float = 1.5
    w_facing: float = 0.8
    w_hands: float = 1.5
    w_foot: float = 0.4
    w_height: float = 0.4
    w_alive: float = 0.5
    w_upright: float = 0.2
    w_air_time: float = 1.0
    w_action_rate: float = 0.01
    w_joint_vel: float = 1e-4
    w_ang_vel: float = 0.02
    w_jump: float = 10.0              # at landing, by how close the length is to the goal's
    w_jump_miss: float = 1.0          # the window closed without a jump

    @classmethod
    def v2(cls, **over) -> "GoalConfig":
        """Goal set 2's defaults (humanoid version 2): free facing to 2 m/s, speeds to 3.5 m/s, world
        hand targets down to the floor, jumps; crouching down to a 0.45 m pelvis."""
        d = dict(version=2, max_speed=3.5, free_facing_speed=2.0, narrow_facing_speed=3.5, reach_prob=0.5,
                 jump_prob=0.2, crouch_range=(0.45, 0.85))
        return cls(**{**d, **over})

    @property
    def layout(self):
        """The humanoid layout the goals are placed for (`frozenfit.humanoid.model.LAYOUTS`)."""
        if self.version not in LAYOUTS:
            raise FrozenfitError(f"goal set {self.version}: known {sorted(LAYOUTS)}")
        return LAYOUTS[self.version]


GOAL_OBS_DIM = 35   # goal set 1's observation
JUMP_OBS_DIM = 7    # goal set 2 adds: on, direction (cos, sin, heading frame), length, time to the window, open, airborne


def goal_obs_dim(version: int) -> int:
    """Width of the goal observation of goal set ``version``."""
    return GOAL_OBS_DIM + (JUMP_OBS_DIM if version >= 2 else 0)


def facing_cone(speed: torch.Tensor, free_speed: float = 1.0, narrow_speed: float = 3.0) -> torch.Tensor:
    """Half-width (rad) of facing offsets allowed at ``speed``: free up to ``free_speed``, narrowing
    linearly to +-45 deg at ``narrow_speed`` (goal set 1: 1 and 3 m/s; set 2: 2 and 3.5 m/s)."""
    return math.pi - (math.pi - math.pi / 4) * ((speed - free_speed) / (narrow_speed - free_speed)).clamp(0, 1)


def jump_terms(cfg: GoalConfig, *, landed, length_err, missed) -> dict[str, torch.Tensor]:
    """The jump goal's reward (goal set 2): at landing on the feet, a sharp and a broad kernel of the
    length error (m); -w_jump_miss when the window closes without a take-off."""
    score = 0.5 * torch.exp(-length_err ** 2 / 0.2 ** 2) + 0.5 * torch.exp(-length_err ** 2 / 0.6 ** 2)
    return {"jump": cfg.w_jump * landed * score - cfg.w_jump_miss * missed}


def reward_terms(cfg: GoalConfig, *, planar_vel, vel_cmd, facing_err, hand_err, hand_mask,
                 foot_err, foot_mask, height_err, height_mask, torso_up_z, first_contact, air_time,
                 moving, action, last_action, joint_vel, pelvis_angvel_xy) -> dict[str, torch.Tensor]:
    """Every reward term (already weighted) from plain tensors; their sum is the reward."""
    def masked_mean(score, mask):
        return (score * mask).sum(-1) / mask.sum(-1).clamp(min=1)

    # each tracking term pairs a sharp kernel (precision) with a broad one (a gradient from far away)
    vel_sq = ((planar_vel - vel_cmd) ** 2).sum(-1)
    hand = 0.6 * torch.exp(-(hand_err ** 2) / 0.1 ** 2) + 0.4 * torch.exp(-(hand_err ** 2) / 0.4 ** 2)
    foot = 0.5 * torch.exp(-(foot_err ** 2) / 0.15 ** 2) + 0.5 * torch.exp(-(foot_err ** 2) / 0.4 ** 2)
    return {
        "velocity": cfg.w_velocity * (0.5 * torch.exp(-vel_sq / 0.25) + 0.5 * torch.exp(-vel_sq / 2.0)),
        "facing": cfg.w_facing * (0.6 * torch.exp(-facing_err ** 2 / 0.06) + 0.2 * (1 + torch.cos(facing_err))),
        "hands": cfg.w_hands * masked_mean(hand, hand_mask),
        "foot": cfg.w_foot * masked_mean(foot, foot_mask),
        "height": cfg.w_height * height_mask * (0.5 * torch.exp(-height_err ** 2 / 0.1 ** 2)
                                                + 0.5 * torch.exp(-height_err ** 2 / 0.3 ** 2)),
        "alive": torch.full_like(vel_sq, cfg.w_alive),
        "upright": cfg.w_upright * torso_up_z.clamp(min=0),
        "air_time": cfg.w_air_time * moving * ((air_time - 0.3).clamp(max=0.2) * first_contact).sum(-1),
        "action_rate": -cfg.w_action_rate * ((action - last_action) ** 2).sum(-1),
        "joint_vel": -cfg.w_joint_vel * (joint_vel ** 2).sum(-1),
        "ang_vel": -cfg.w_ang_vel * (pelvis_angvel_xy ** 2).sum(-1),
    }


class GoalTask:
    """Goal sampling, observation, rewards and falls for the goal-conditioned teacher."""

    def __init__(self, cfg: GoalConfig, num_envs: int, resample: bool = True, shard: Shard = Shard()):
        self.cfg = cfg
        self.obs_dim = goal_obs_dim(cfg.version)
        self.resample = resample  # evaluation fixes goals per episode
        self.shard = shard        # under torchrun the curriculum decides on every rank's score
        self.cur_max_speed = cfg.start_max_speed
        lay = cfg.layout
        self.pelvis_height = lay.pelvis_height
        self.shoulders = torch.tensor(lay.shoulder_offset)
        n = num_envs
        self.speed = torch.zeros(n)
        self.move_yaw = torch.zeros(n)
        self.facing_yaw = torch.zeros(n)
        self.hand_target = torch.zeros(n, 2, 3)
        self.hand_mask = torch.zeros(n, 2)
        self.hand_world = torch.zeros(n, 2, 3)      # goal set 2: world-fixed hand targets ...
        self.hand_anchored = torch.zeros(n, 2, dtype=torch.bool)  # ... where this is set
        self.foot_target = torch.zeros(n, 2, 3)
        self.foot_mask = torch.zeros(n, 2)
        self.height_target = torch.full((n,), self.pelvis_height)
        self.height_mask = torch.zeros(n)
        self.command_timer = torch.zeros(n)
        self.hand_timer = torch.zeros(n)
        self.air_time = torch.zeros(n, 2)
        # the jump goal (goal set 2): on, length, timer (s until the window opens; the window is open
        # while -jump_window < timer <= 0), airborne since take-off, take-off foot, flight time
        self.jump_mask = torch.zeros(n)
        self.jump_length = torch.zeros(n)
        self.jump_timer = torch.zeros(n)
        self.jump_yaw = torch.zeros(n)
        self.jump_airborne = torch.zeros(n, dtype=torch.bool)
        self.jump_takeoff = torch.zeros(n, 2)
        self.jump_flight = torch.zeros(n)
        self._was_touching = torch.ones(n, dtype=torch.bool)
        self._pending_reach = torch.zeros(0, dtype=torch.long)  # reach goals placed at the next state
        self.last_jump: dict[str, torch.Tensor] | None = None    # goal set 2: the last step's landings
        self._vel_score_sum = 0.0
        self._vel_score_n = 0
        self._good_iters = 0

    # -- goals -----------------------------------------------------------------------------------
    def vel_cmd(self) -> torch.Tensor:
        """World-frame planar velocity command (N, 2)."""
        return self.speed[:, None] * torch.stack([torch.cos(self.move_yaw), torch.sin(self.move_yaw)], -1)

    def cone(self, speed: torch.Tensor) -> torch.Tensor:
        """This goal set's facing cone at ``speed`` (`facing_cone`)."""
        return facing_cone(speed, self.cfg.free_facing_speed, self.cfg.narrow_facing_speed)

    @staticmethod
    def _uniform(rand, k: int, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * rand(k)

    def _sample_commands(self, rand, idx: torch.Tensor) -> None:
        """New velocity/facing (and standing) goals for ``idx``; ``rand(*shape)`` gives U[0, 1)."""
        k, c = idx.numel(), self.cfg
        speed = self._uniform(rand, k, 0.0, self.cur_max_speed)
        speed[rand(k) < c.stand_prob] = 0.0
        move = self._uniform(rand, k, -math.pi, math.pi)
        offset = (rand(k) * 2 - 1) * self.cone(speed)
        offset[rand(k) >= c.facing_free_prob] = 0.0
        self.speed[idx], self.move_yaw[idx] = speed, move
        self.facing_yaw[idx] = wrap_angle(move + offset)
        self.command_timer[idx] = self._uniform(rand, k, *c.command_seconds)
        # standing goals: crouch or lift one foot, only while the command is to stand
        standing = speed == 0
        goal = standing & (rand(k) < c.standing_goal_prob)
        crouch = goal & (rand(k) < 0.5)
        lift = goal & ~crouch
        if c.version >= 2:   # a share of the standing goals is a world-fixed hand target instead
            reach = goal & (rand(k) < c.reach_prob)
            crouch, lift = crouch & ~reach, lift & ~reach
            ended = self.hand_anchored[idx]                 # a world target ends with its command
            self.hand_mask[idx] = torch.where(ended, torch.zeros(k, 2), self.hand_mask[idx])
            self.hand_anchored[idx] = False
            self._pending_reach = torch.cat([self._pending_reach, idx[reach]])
        self.height_mask[idx] = crouch.float()
        self.height_target[idx] = torch.where(crouch, self._uniform(rand, k, *c.crouch_range),
                                              torch.full((k,), self.pelvis_height))
        fmask, ftarget = self.raised_foot(rand, k, self.pelvis_height)
        fmask *= lift[:, None].float()
        self.foot_mask[idx], self.foot_target[idx] = fmask, ftarget
        if c.version >= 2:
            self._sample_jumps(rand, idx)

    def _sample_jumps(self, rand, idx: torch.Tensor) -> None:
        """A jump goal for a ``jump_prob`` share of the moving commands of ``idx``: along the move
        direction, facing it, length up to 0.8 m + ``jump_reach_per_speed`` x speed."""
        k, c = idx.numel(), self.cfg
        speed = self.speed[idx]
        on = (speed > 0) & (rand(k) < c.jump_prob)
        hi = (0.8 + c.jump_reach_per_speed * speed).clamp(max=c.jump_length[1]).clamp(min=c.jump_length[0])
        length = c.jump_length[0] + (hi - c.jump_length[0]) * rand(k)
        delay = self._uniform(rand, k, *c.jump_delay)
        self.jump_mask[idx] = on.float()
        self.jump_length[idx] = torch.where(on, length, torch.zeros(k))
        self.jump_timer[idx] = delay
        self.jump_yaw[idx] = self.move_yaw[idx]
        self.jump_airborne[idx] = False
        self.jump_flight[idx] = 0
        self.facing_yaw[idx] = torch.where(on, self.move_yaw[idx], self.facing_yaw[idx])
        # the command lasts until the window has closed and the jumper has landed
        self.command_timer[idx] = torch.where(on, torch.maximum(self.command_timer[idx], delay + c.jump_window + 1.5),
                                              self.command_timer[idx])

    @classmethod
    def raised_foot(cls, rand, k: int, pelvis_height: float = LAYOUTS[1].pelvis_height) -> tuple[torch.Tensor, torch.Tensor]:
        """A raised-foot goal for ``k`` environments: (mask (k, 2) with one foot on, targets (k, 2, 3))."""
        side = (rand(k) < 0.5).long()
        fmask = torch.zeros(k, 2)
        fmask[torch.arange(k), side] = 1.0
        below = -(pelvis_height - 0.06)   # feet under the hips (-0.87 m on version 1)
        ftarget = torch.tensor([[0.0, -0.09, below], [0.0, 0.09, below]]).repeat(k, 1, 1)
        raise_ = torch.stack([cls._uniform(rand, k, -0.1, 0.35), cls._uniform(rand, k, -0.08, 0.08),
                              cls._uniform(rand, k, 0.1, 0.4)], -1)
        ftarget[torch.arange(k), side] += raise_
        return fmask, ftarget

    def _sample_hands(self, rand, idx: torch.Tensor) -> None:
        """New hand targets (reachable from the shoulders) and on/off bits for ``idx``."""
        k, c = idx.numel(), self.cfg
        # directions in front of / beside the shoulder: azimuth +-100 deg, elevation -60..+80 deg
        az = self._uniform(rand, 2 * k, -1.75, 1.75).reshape(k, 2)
        el = self._uniform(rand, 2 * k, -1.05, 1.4).reshape(k, 2)
        r = self._uniform(rand, 2 * k, *c.hand_reach).reshape(k, 2)
        side_sign = torch.tensor([-1.0, 1.0])  # right hand reaches to -y, left to +y
        d = torch.stack([torch.cos(el) * torch.cos(az), side_sign * torch.cos(el) * torch.sin(az).abs(),
                         torch.sin(el)], -1)
        self.hand_target[idx] = self.shoulders + r[..., None] * d
        self.hand_mask[idx] = (rand(k, 2) < c.hand_prob).float()
        self.hand_timer[idx] = self._uniform(rand, k, *c.hand_seconds)
        self.hand_anchored[idx] = False

    def _place_reach(self, env, idx: torch.Tensor) -> None:
        """World-fixed targets for one hand of each of ``idx`` (goal set 2's standing reach): at a
        height in ``reach_height``, ``reach_planar`` from the pelvis, within +-100 deg of the heading
        on the hand's side; held for the command."""
        k, c, rand = idx.numel(), self.cfg, env.rand
        side = (rand(k) < 0.5).long()                       # 0 right, 1 left
        sign = torch.where(side == 0, -1.0, 1.0)
        az = sign * self._uniform(rand, k, -0.5, 1.75)      # mostly in front, out to the hand's side
        dist = self._uniform(rand, k, *c.reach_planar)
        yaw = root_heading(env.frame)[idx] + az
        pelvis = env.frame.body_pos[idx, 0]
        world = torch.stack([pelvis[:, 0] + dist * torch.cos(yaw), pelvis[:, 1] + dist * torch.sin(yaw),
                             self._uniform(rand, k, *c.reach_height)], -1)
        rows = torch.arange(k)
        self.hand_world[idx, side] = world
        self.hand_anchored[idx] = False
        self.hand_anchored[idx, side] = True
        mask = torch.zeros(k, 2)
        mask[rows, side] = 1.0
        self.hand_mask[idx] = mask
        self.hand_timer[idx] = self.command_timer[idx]      # held as long as the standing command

    def _track(self, env) -> None:
        """Goal set 2: place pending reach targets and re-express world-fixed ones from the pelvis."""
        if self._pending_reach.numel():
            pending, self._pending_reach = self._pending_reach.unique(), torch.zeros(0, dtype=torch.long)
            self._place_reach(env, pending)
        if self.hand_anchored.any():
            f = env.frame
            yaw = root_heading(f)
            rel = (self.hand_world - f.body_pos[:, None, 0]).reshape(-1, 3)
            local = to_heading_frame(rel, yaw.repeat_interleave(2)).reshape(-1, 2, 3)
            self.hand_target = torch.where(self.hand_anchored[..., None], local, self.hand_target)

    def set_goals(self, idx: torch.Tensor, speed, move_yaw, facing_yaw, hand_target=None, hand_mask=None) -> None:
        """Fix goals for environments ``idx`` (evaluation)."""
        self.speed[idx], self.move_yaw[idx], self.facing_yaw[idx] = speed, move_yaw, facing_yaw
        self.hand_mask[idx] = 0 if hand_mask is None else hand_mask
        if hand_target is not None:
            self.hand_target[idx] = hand_target
        self.hand_anchored[idx] = False
        self.foot_mask[idx] = 0
        self.height_mask[idx] = 0
        self.jump_mask[idx] = 0

    def set_reach(self, idx: torch.Tensor, world: torch.Tensor, hand: int = 0) -> None:
        """Fix a world-fixed target (k, 3) for ``hand`` (0 right, 1 left) of ``idx`` (evaluation)."""
        self.hand_world[idx, hand] = world
        self.hand_anchored[idx] = False
        self.hand_anchored[idx, hand] = True
        self.hand_mask[idx] = 0
        self.hand_mask[idx, hand] = 1.0

    def set_jump(self, idx: torch.Tensor, length: torch.Tensor, delay: torch.Tensor, yaw: torch.Tensor) -> None:
        """Fix a jump goal for ``idx`` (evaluation): ``length`` m along world ``yaw``, the window
        opening in ``delay`` s."""
        self.jump_mask[idx], self.jump_length[idx], self.jump_timer[idx] = 1.0, length, delay
        self.jump_yaw[idx] = yaw
        self.jump_airborne[idx] = False
        self.jump_flight[idx] = 0

    # -- Task protocol -------------------------------------------------------------------------
    def reset(self, env, idx: torch.Tensor) -> None:
        self.air_time[idx] = 0
        self.jump_airborne[idx] = False
        self._was_touching[idx] = True
        if self.resample:
            self._sample_commands(env.rand, idx)
            self._sample_hands(env.rand, idx)

    def advance(self, env) -> None:
        self.jump_timer -= env.dt
        if not self.resample:
            return
        self.command_timer -= env.dt
        self.hand_timer -= env.dt
        due = torch.nonzero(self.command_timer <= 0).flatten()
        if due.numel():
            self._sample_commands(env.rand, due)
        due = torch.nonzero(self.hand_timer <= 0).flatten()
        if due.numel():
            self._sample_hands(env.rand, due)

    def jump_dir(self) -> torch.Tensor:
        """World-frame unit direction of each jump goal (N, 2)."""
        return torch.stack([torch.cos(self.jump_yaw), torch.sin(self.jump_yaw)], -1)

    def errors(self, env) -> dict[str, torch.Tensor]:
        """Physical tracking errors of the current state (also what evaluation reports)."""
        self._track(env)
        f = env.frame
        yaw = root_heading(f)
        local = local_body_pos(f, yaw)
        return {
            "velocity": (env.root_planar_vel - self.vel_cmd()).norm(dim=-1),
            "facing": wrap_angle(yaw - self.facing_yaw).abs(),
            "hands": (local[:, list(HAND_IDX)] - self.hand_target).norm(dim=-1),
            "feet": (local[:, list(FOOT_IDX)] - self.foot_target).norm(dim=-1),
            "height": f.body_pos[:, 0, 2] - self.height_target,
        }

    def observe(self, env) -> torch.Tensor:
        self._track(env)
        f = env.frame
        yaw = root_heading(f)
        local = local_body_pos(f, yaw)
        vcmd = to_heading_frame(self.vel_cmd(), yaw)
        rel_face = self.facing_yaw - yaw
        hm, fm = self.hand_mask[..., None], self.foot_mask[..., None]
        parts = [
            vcmd, torch.cos(rel_face)[:, None], torch.sin(rel_face)[:, None],
            (self.hand_target * hm).flatten(1), self.hand_mask,
            ((self.hand_target - local[:, list(HAND_IDX)]) * hm).flatten(1),
            (self.foot_target * fm).flatten(1), self.foot_mask,
            ((self.foot_target - local[:, list(FOOT_IDX)]) * fm).flatten(1),
            (self.height_target * self.height_mask)[:, None], self.height_mask[:, None],
            ((self.height_target - f.body_pos[:, 0, 2]) * self.height_mask)[:, None],
        ]
        if self.cfg.version >= 2:
            parts.append(self.jump_observation(yaw))
        return torch.cat(parts, dim=1)

    def jump_observation(self, yaw: torch.Tensor) -> torch.Tensor:
        """(N, JUMP_OBS_DIM): on, direction in the heading frame, length, time to the window
        (clamped to [-window, 3] s), window open, airborne since take-off; zero where no jump."""
        m, c = self.jump_mask, self.cfg
        rel = self.jump_yaw - yaw
        open_ = ((self.jump_timer <= 0) & (self.jump_timer > -c.jump_window)).float()
        return torch.stack([m, torch.cos(rel) * m, torch.sin(rel) * m, self.jump_length * m,
                            self.jump_timer.clamp(-c.jump_window, 3.0) * m, open_ * m,
                            self.jump_airborne.float() * m], 1)

    def _jump_step(self, env, contact: torch.Tensor) -> dict[str, torch.Tensor]:
        """Advance every jump goal by the new frame; returns landed (on the feet, after a flight),
        the length error there, and missed (the window closed without a take-off)."""
        c, f = self.cfg, env.frame
        on = self.jump_mask > 0
        touching = contact.any(-1)
        open_ = on & (self.jump_timer <= 0) & (self.jump_timer > -c.jump_window)
        d = self.jump_dir()
        feet = f.body_pos[:, list(FOOT_IDX), :2]                           # (N, 2, 2)
        along = (feet * d[:, None]).sum(-1)                                # (N, 2)
        takeoff = open_ & ~self.jump_airborne & ~touching & self._was_touching
        # the take-off point: the rear foot along the jump, the last to leave the ground
        rear = along.argmin(-1)
        self.jump_takeoff = torch.where(takeoff[:, None], feet[torch.arange(len(feet)), rear], self.jump_takeoff)
        self.jump_flight = torch.where(takeoff, torch.zeros_like(self.jump_flight), self.jump_flight)
        self.jump_airborne |= takeoff
        flying = self.jump_airborne & ~takeoff
        self.jump_flight = self.jump_flight + flying.float() * env.dt
        down = flying & touching
        landed = down & (self.jump_flight >= c.jump_min_flight) & ~fallen(f.body_pos)
        start = (self.jump_takeoff * d).sum(-1)
        near = torch.where(contact, along, torch.full_like(along, float("inf"))).min(-1).values
        length = torch.where(down, near - start, torch.zeros_like(start))
        self.jump_airborne &= ~down
        missed = on & ~self.jump_airborne & (self.jump_timer <= -c.jump_window) & ~down
        done = (landed | missed) & on
        self.jump_mask = torch.where(done, torch.zeros_like(self.jump_mask), self.jump_mask)
        self._was_touching = touching
        return {"landed": landed.float(), "length_err": torch.where(landed, length - self.jump_length, torch.zeros_like(length)),
                "missed": missed.float(), "length": length}

    def reward(self, env) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        f = env.frame
        err = self.errors(env)
        contact = f.foot_touch > 1.0
        first_contact = (self.air_time > 0) & contact
        self.air_time += env.dt
        air = self.air_time.clone()
        self.air_time[contact] = 0
        moving = (self.speed > 0.1).float()
        terms = reward_terms(
            self.cfg, planar_vel=env.root_planar_vel, vel_cmd=self.vel_cmd(), facing_err=err["facing"],
            hand_err=err["hands"], hand_mask=self.hand_mask, foot_err=err["feet"], foot_mask=self.foot_mask,
            height_err=err["height"], height_mask=self.height_mask,
            torso_up_z=quat_to_tan_norm(f.body_quat[:, TORSO_IDX])[:, 5], first_contact=first_contact.float(),
            air_time=air, moving=moving, action=env.action, last_action=env.last_action,
            joint_vel=f.joint_vel, pelvis_angvel_xy=f.body_angvel[:, 0, :2])
        if self.cfg.version >= 2:
            j = self._jump_step(env, contact)
            terms.update(jump_terms(self.cfg, landed=j["landed"], length_err=j["length_err"], missed=j["missed"]))
            self.last_jump = j
        self._vel_score_sum += float(torch.exp(-(err["velocity"] ** 2) / 0.25).sum())
        self._vel_score_n += terms["velocity"].numel()
        return sum(terms.values()), terms

    def terminated(self, env) -> torch.Tensor:
        return env.frame.body_pos[:, HEAD_IDX, 2] < self.cfg.fall_head_height

    # -- curriculum ----------------------------------------------------------------------------
    def update_curriculum(self) -> float:
        """Raise the speed range after sustained good velocity tracking; returns this iteration's score.

        One good iteration is not enough (a lucky batch grew the range from 1.75 to 3 m/s in ~6M
        steps); the score must stay above the threshold for ``curriculum_patience`` iterations.
        """
        total, n = all_mean([self._vel_score_sum, float(self._vel_score_n)], self.shard)   # ranks decide alike
        score = total / n if n else 0.0
        self._vel_score_sum, self._vel_score_n = 0.0, 0
        self._good_iters = self._good_iters + 1 if score > self.cfg.curriculum_threshold else 0
        if self._good_iters >= self.cfg.curriculum_patience and self.cur_max_speed < self.cfg.max_speed:
            self.cur_max_speed = min(self.cfg.max_speed, self.cur_max_speed + self.cfg.speed_step)
            self._good_iters = 0
        return score

    def state_dict(self) -> dict:
        return {"cur_max_speed": self.cur_max_speed}

    def load_state_dict(self, d: dict) -> None:
        self.cur_max_speed = float(d["cur_max_speed"])
