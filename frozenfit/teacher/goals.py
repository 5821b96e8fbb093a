"""The teacher's task: follow procedurally sampled goals, all visible to the policy.

Goals (world frame inside, heading frame in the observation):
- planar velocity command: speed in [0, max_speed] (standing included) along a move direction;
- facing direction, independent of the move direction (free at walking speed, within a cone that
  narrows to +-45 deg at 3 m/s, where running sideways is not a human gait);
- hand targets relative to the pelvis in its heading frame, each hand on or off;
- standing goals: a pelvis height (crouch) or one raised foot target.
Every reward term is named and summed in `GoalTask.reward`; `reward_terms` is a pure function of
the state so tests can check each formula on hand-made numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from frozenfit.humanoid.model import (FALL_HEAD_HEIGHT, FOOT_IDX, HAND_IDX, HEAD_IDX, PELVIS_HEIGHT,
                                      SHOULDER_OFFSET, TORSO_IDX)
from frozenfit.humanoid.observations import local_body_pos, root_heading, to_heading_frame
from frozenfit.humanoid.rotations import quat_to_tan_norm, wrap_angle



@dataclass
class GoalConfig:
    """Goal sampling, curriculum and reward weights of the teacher task."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("start_max_speed",)  # see common.checks
    FRACTIONS: ClassVar[tuple[str, ...]] = ("curriculum_threshold",)  # see common.checks

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


GOAL_OBS_DIM = 35


def facing_cone(speed: torch.Tensor) -> torch.Tensor:
    """Half-width (rad) of facing offsets allowed at ``speed``: free up to 1 m/s, +-45 deg at 3 m/s."""
    return math.pi - (math.pi - math.pi / 4) * ((speed - 1.0) / 2.0).clamp(0, 1)


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

    obs_dim = GOAL_OBS_DIM

    def __init__(self, cfg: GoalConfig, num_envs: int, resample: bool = True):
        self.cfg = cfg
        self.resample = resample  # evaluation fixes goals per episode
        self.cur_max_speed = cfg.start_max_speed
        n = num_envs
        self.speed = torch.zeros(n)
        self.move_yaw = torch.zeros(n)
        self.facing_yaw = torch.zeros(n)
        self.hand_target = torch.zeros(n, 2, 3)
        self.hand_mask = torch.zeros(n, 2)
        self.foot_target = torch.zeros(n, 2, 3)
        self.foot_mask = torch.zeros(n, 2)
        self.height_target = torch.full((n,), PELVIS_HEIGHT)
        self.height_mask = torch.zeros(n)
        self.command_timer = torch.zeros(n)
        self.hand_timer = torch.zeros(n)
        self.air_time = torch.zeros(n, 2)
        self._vel_score_sum = 0.0
        self._vel_score_n = 0
        self._good_iters = 0

    # -- goals -----------------------------------------------------------------------------------
    def vel_cmd(self) -> torch.Tensor:
        """World-frame planar velocity command (N, 2)."""
        return self.speed[:, None] * torch.stack([torch.cos(self.move_yaw), torch.sin(self.move_yaw)], -1)

    @staticmethod
    def _uniform(rand, k: int, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * rand(k)

    def _sample_commands(self, rand, idx: torch.Tensor) -> None:
        """New velocity/facing (and standing) goals for ``idx``; ``rand(*shape)`` gives U[0, 1)."""
        k, c = idx.numel(), self.cfg
        speed = self._uniform(rand, k, 0.0, self.cur_max_speed)
        speed[rand(k) < c.stand_prob] = 0.0
        move = self._uniform(rand, k, -math.pi, math.pi)
        offset = (rand(k) * 2 - 1) * facing_cone(speed)
        offset[rand(k) >= c.facing_free_prob] = 0.0
        self.speed[idx], self.move_yaw[idx] = speed, move
        self.facing_yaw[idx] = wrap_angle(move + offset)
        self.command_timer[idx] = self._uniform(rand, k, *c.command_seconds)
        # standing goals: crouch or lift one foot, only while the command is to stand
        standing = speed == 0
        goal = standing & (rand(k) < c.standing_goal_prob)
        crouch = goal & (rand(k) < 0.5)
        lift = goal & ~crouch
        self.height_mask[idx] = crouch.float()
        self.height_target[idx] = torch.where(crouch, self._uniform(rand, k, *c.crouch_range),
                                              torch.full((k,), PELVIS_HEIGHT))
        fmask, ftarget = self.raised_foot(rand, k)
        fmask *= lift[:, None].float()
        self.foot_mask[idx], self.foot_target[idx] = fmask, ftarget

    @classmethod
    def raised_foot(cls, rand, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A raised-foot goal for ``k`` environments: (mask (k, 2) with one foot on, targets (k, 2, 3))."""
        side = (rand(k) < 0.5).long()
        fmask = torch.zeros(k, 2)
        fmask[torch.arange(k), side] = 1.0
        ftarget = torch.tensor([[0.0, -0.09, -0.87], [0.0, 0.09, -0.87]]).repeat(k, 1, 1)  # feet under the hips
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
        self.hand_target[idx] = torch.tensor(SHOULDER_OFFSET) + r[..., None] * d
        self.hand_mask[idx] = (rand(k, 2) < c.hand_prob).float()
        self.hand_timer[idx] = self._uniform(rand, k, *c.hand_seconds)

    def set_goals(self, idx: torch.Tensor, speed, move_yaw, facing_yaw, hand_target=None, hand_mask=None) -> None:
        """Fix goals for environments ``idx`` (evaluation)."""
        self.speed[idx], self.move_yaw[idx], self.facing_yaw[idx] = speed, move_yaw, facing_yaw
        self.hand_mask[idx] = 0 if hand_mask is None else hand_mask
        if hand_target is not None:
            self.hand_target[idx] = hand_target
        self.foot_mask[idx] = 0
        self.height_mask[idx] = 0

    # -- Task protocol -------------------------------------------------------------------------
    def reset(self, env, idx: torch.Tensor) -> None:
        self.air_time[idx] = 0
        if self.resample:
            self._sample_commands(env.rand, idx)
            self._sample_hands(env.rand, idx)

    def advance(self, env) -> None:
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

    def errors(self, env) -> dict[str, torch.Tensor]:
        """Physical tracking errors of the current state (also what evaluation reports)."""
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
        f = env.frame
        yaw = root_heading(f)
        local = local_body_pos(f, yaw)
        vcmd = to_heading_frame(self.vel_cmd(), yaw)
        rel_face = self.facing_yaw - yaw
        hm, fm = self.hand_mask[..., None], self.foot_mask[..., None]
        return torch.cat([
            vcmd, torch.cos(rel_face)[:, None], torch.sin(rel_face)[:, None],
            (self.hand_target * hm).flatten(1), self.hand_mask,
            ((self.hand_target - local[:, list(HAND_IDX)]) * hm).flatten(1),
            (self.foot_target * fm).flatten(1), self.foot_mask,
            ((self.foot_target - local[:, list(FOOT_IDX)]) * fm).flatten(1),
            (self.height_target * self.height_mask)[:, None], self.height_mask[:, None],
            ((self.height_target - f.body_pos[:, 0, 2]) * self.height_mask)[:, None],
        ], dim=1)

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
        score = self._vel_score_sum / max(self._vel_score_n, 1)
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
