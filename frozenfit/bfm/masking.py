"""The masking sampler: which goal modalities the student is prompted with, MaskedMimic-style.

The teacher always sees a full goal; the student sees a masked subset as prompt tokens. To keep
the student's task well posed, a modality that is not prompted takes a default the student can
infer from what it sees: no velocity prompt means stand still; no facing prompt means face the
way you move (or do not turn when standing: the teacher holds the heading it had, up to
``hold_tolerance_deg`` of drift); no body prompt means no body target.
So an unprompted BFM stands quietly, and every prompt it is given changes only what it asks for.

Visibility is drawn with each goal resample (held for the 3-8 s a command lasts), each modality
with its own probability; sometimes nothing is prompted at all. Body channels (each hand, each
foot, pelvis height) come and go with their own timers and mask bits inside the body token. Short
time gaps hide every prompt token from the student while the teacher keeps the goal, so the BFM
learns to carry on from its history when prompts drop out.
Some commands come as a keyframe instead (`frozenfit.bfm.keyframe`): the same sampled motion, but
prompted as "be here, facing this way, in T seconds" with the velocity and facing tokens hidden;
each keyframe channel (pelvis position, rotation, head position) has its own mask bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from frozenfit.bfm.keyframe import Keyframes
from frozenfit.bfm.tokens import PROMPT_SLICES, PROMPTS, prompt_layout, prompt_vector
from frozenfit.humanoid.model import PELVIS_HEIGHT
from frozenfit.humanoid.observations import root_heading
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.humanoid.sim import Frame
from frozenfit.teacher.goals import GoalConfig, GoalTask

V, F, B, K = (PROMPTS.index(p) for p in ("velocity", "facing", "body", "keyframe"))
J = prompt_layout(2).names.index("jump")   # goal set 2's jump prompt


@dataclass
class MaskingConfig:
    """Prompt visibility probabilities and time gaps."""

    p_velocity: float = 0.75
    p_facing: float = 0.5
    p_no_prompt: float = 0.1          # nothing at all: velocity, facing and body targets all off
    gap_prob: float = 0.01            # per control step, start a gap hiding every prompt token
    gap_seconds: tuple[float, float] = (0.1, 0.5)
    p_keyframe: float = 0.25          # a command is prompted as a keyframe instead
    keyframe_seconds: tuple[float, float] = (0.5, 4.0)   # time to target
    keyframe_hold: tuple[float, float] = (1.0, 3.0)      # then the keyframe stays until the next command
    p_keyframe_channel: tuple[float, float, float] = (0.8, 0.6, 0.5)  # pelvis, rotation, head bits
    hold_tolerance_deg: float = 15.0  # "do not turn": the facing goal moves with the heading only past this


class PromptedGoalTask(GoalTask):
    """The teacher's goal task plus the student's prompt visibility (`visible`, (N, 3) bool)."""

    def __init__(self, goal_cfg: GoalConfig, mask_cfg: MaskingConfig, num_envs: int, resample: bool = True):
        super().__init__(goal_cfg, num_envs, resample)
        self.mask_cfg = mask_cfg
        self.layout = prompt_layout(goal_cfg.version)
        self.show = torch.zeros(num_envs, len(self.layout.names), dtype=torch.bool)  # prompted modalities
        self.gap_timer = torch.zeros(num_envs)
        self._hold_heading = torch.zeros(num_envs, dtype=torch.bool)
        self._hold_new = torch.zeros(num_envs, dtype=torch.bool)  # anchor at the next refresh
        self.keyframes = Keyframes(num_envs)
        self._kf_offset = torch.zeros(num_envs, 2)   # new keyframe's planar target from the pelvis ...
        self._kf_pending = torch.zeros(num_envs, dtype=torch.bool)  # ... placed at the next state

    @property
    def visible(self) -> torch.Tensor:
        """Prompt tokens the student sees now: prompted, the body token only with an active channel,
        nothing during a time gap."""
        vis = self.show.clone()
        vis[:, B] &= (self.hand_mask.sum(1) + self.foot_mask.sum(1) + self.height_mask) > 0
        vis[:, K] &= self.keyframes.active
        if self.cfg.version >= 2:
            vis[:, J] &= self.jump_mask > 0
        return vis & (self.gap_timer <= 0)[:, None]

    def prompt(self, frame: Frame, goal_obs: torch.Tensor) -> torch.Tensor:
        """The student's prompt vector (N, layout dim): the goal observation and the keyframe
        (`frozenfit.bfm.tokens.prompt_vector`)."""
        return prompt_vector(goal_obs, self.keyframes.observe(frame))

    # -- sampling with defaults for unprompted modalities ------------------------------------------
    def _sample_commands(self, rand, idx: torch.Tensor) -> None:
        super()._sample_commands(rand, idx)
        c, k = self.mask_cfg, idx.numel()
        none = rand(k) < c.p_no_prompt
        kf = (rand(k) < c.p_keyframe) & ~none
        self._sample_keyframes(rand, idx, kf)
        vel = (rand(k) < c.p_velocity) & ~none & ~kf
        face = (rand(k) < c.p_facing) & ~none & ~kf
        body = ~none
        show = [vel, face, body, kf]
        if self.cfg.version >= 2:
            # a jump rides on a prompted run-up: none with no prompt, a keyframe or a hidden velocity
            jump = vel & ~none & ~kf
            self.jump_mask[idx] = self.jump_mask[idx] * jump.float()
            show.append(jump)
        self.show[idx] = torch.stack(show, 1)
        self.speed[idx] = torch.where(vel, self.speed[idx], torch.zeros(k))
        standing = self.speed[idx] == 0
        # no facing prompt: face the travel direction, or do not turn (set in refresh_goals)
        self.facing_yaw[idx] = torch.where(face | standing, self.facing_yaw[idx], self.move_yaw[idx])
        self._hold_heading[idx] = ~face & standing & ~kf
        self._hold_new[idx] = True
        # no body prompt: no standing goals (crouch, raised foot)
        self.height_mask[idx] = torch.where(none, torch.zeros(k), self.height_mask[idx])
        self.foot_mask[idx] = torch.where(none[:, None], torch.zeros(k, 2), self.foot_mask[idx])

    def _sample_keyframes(self, rand, idx: torch.Tensor, kf: torch.Tensor) -> None:
        """Turn the freshly sampled command of ``idx[kf]`` into a keyframe: where that motion leads in
        T seconds, facing the sampled way; a standing command keeps its crouch as the keyframe height."""
        c = self.mask_cfg
        self.keyframes.clear(idx[~kf])
        self._kf_pending[idx[~kf]] = False
        sel = idx[kf]
        k = sel.numel()
        if not k:
            return
        seconds = self._uniform(rand, k, *c.keyframe_seconds)
        mask = rand(k, 3) < torch.tensor(c.p_keyframe_channel)
        moving = self.speed[sel] > 0
        mask[:, 0] |= (moving | (self.height_mask[sel] > 0) | ~mask.any(1)) & ~mask[:, 2]  # something to go by
        z = torch.where(self.height_mask[sel] > 0, self.height_target[sel], torch.full((k,), PELVIS_HEIGHT))
        self.keyframes.set(sel, torch.zeros(k, 2), z, self.facing_yaw[sel], seconds, mask)
        dist = self.speed[sel] * seconds
        self._kf_offset[sel] = dist[:, None] * torch.stack([torch.cos(self.move_yaw[sel]), torch.sin(self.move_yaw[sel])], 1)
        self._kf_pending[sel] = True
        self.command_timer[sel] = seconds + self._uniform(rand, k, *c.keyframe_hold)

    def _sample_hands(self, rand, idx: torch.Tensor) -> None:
        super()._sample_hands(rand, idx)
        body = self.show[idx, B]
        self.hand_mask[idx] = self.hand_mask[idx] * body[:, None].float()

    def _place_reach(self, env, idx: torch.Tensor) -> None:
        super()._place_reach(env, idx)
        body = self.show[idx, B]      # a world-fixed hand target is a body prompt too
        self.hand_mask[idx] = self.hand_mask[idx] * body[:, None].float()
        self.hand_anchored[idx] &= body[:, None]

    def refresh_goals(self, frame: Frame) -> None:
        """Goals that need the current state: a new keyframe is placed from the pelvis, 'do not turn'
        holds the heading (below), and an active keyframe sets velocity, facing and crouch anew."""
        pending = torch.nonzero(self._kf_pending).flatten()
        if pending.numel():
            self.keyframes.xy[pending] = frame.body_pos[pending, 0, :2] + self._kf_offset[pending]
            self._kf_pending[pending] = False
        heading = root_heading(frame)
        # "do not turn" anchors the facing goal at the heading and re-anchors it only when the drift
        # passes a tolerance: the teacher then damps small yaw drift. A goal equal to the heading on
        # every step gives the teacher no yaw feedback at all, and the 89.9M-step teacher falls
        # within seconds under it (while it stands under a fixed goal).
        drift = wrap_angle(self.facing_yaw - heading).abs()
        anchor = self._hold_heading & (self._hold_new | (drift > math.radians(self.mask_cfg.hold_tolerance_deg)))
        self.facing_yaw = torch.where(anchor, heading, self.facing_yaw)
        self._hold_new[:] = False
        act = torch.nonzero(self.keyframes.active).flatten()
        if act.numel():
            g = {k: v[act] for k, v in self.keyframes.goal(frame, self.cfg.max_speed).items()}
            self.speed[act], self.move_yaw[act] = g["speed"], g["move_yaw"]
            default = torch.where(g["speed"] > 0, g["move_yaw"], heading[act])
            self.facing_yaw[act] = torch.where(torch.isnan(g["facing_yaw"]), default, g["facing_yaw"])
            self.height_mask[act] = g["crouch"].float()
            self.height_target[act] = torch.where(g["crouch"], g["height"], torch.full_like(g["height"], PELVIS_HEIGHT))

    # -- Task protocol -------------------------------------------------------------------------
    def reset(self, env, idx: torch.Tensor) -> None:
        self.gap_timer[idx] = 0
        super().reset(env, idx)
        self._hold_new[idx] = True
        self.refresh_goals(env.frame)

    def advance(self, env) -> None:
        self.keyframes.tick(env.dt)
        super().advance(env)
        self.refresh_goals(env.frame)
        if not self.resample:
            return
        c = self.mask_cfg
        self.gap_timer -= env.dt
        start = (self.gap_timer <= 0) & (env.rand(self.num_envs) < c.gap_prob)
        k = int(start.sum())
        if k:
            self.gap_timer[start] = c.gap_seconds[0] + (c.gap_seconds[1] - c.gap_seconds[0]) * env.rand(k)

    @property
    def num_envs(self) -> int:
        return self.speed.shape[0]

    def set_prompt(self, idx: torch.Tensor, show: torch.Tensor, frame: Frame) -> None:
        """Fix which modalities are prompted for ``idx`` (evaluation and the prompting API), after
        ``set_goals`` and any keyframe: standing without a facing prompt then means 'do not turn',
        and the goals that depend on the state ``frame`` are set at once."""
        self.show[idx] = show.bool()
        self.gap_timer[idx] = 0
        self._hold_heading[idx] = ~self.show[idx, F] & (self.speed[idx] == 0) & ~self.keyframes.active[idx]
        self._hold_new[idx] = True
        self.refresh_goals(frame)


class HiddenFacing:
    """The facing goal a hidden facing prompt stands for, as the masking sampler labels it: face the
    way the velocity prompt moves, or, standing, hold the heading anchored when the hold began
    (re-anchored past ``tolerance_deg`` of drift). For driving the teacher from a prompt (the
    ceiling of a prompt): filling a hidden facing with "the current heading" on every step gives the
    teacher no yaw feedback, and it falls."""

    def __init__(self, num_envs: int, tolerance_deg: float = MaskingConfig.hold_tolerance_deg):
        self.anchor = torch.zeros(num_envs)
        self.holding = torch.zeros(num_envs, dtype=torch.bool)
        self.tolerance = math.radians(tolerance_deg)

    def fill(self, goal: torch.Tensor, visible: torch.Tensor, heading: torch.Tensor) -> torch.Tensor:
        """``goal`` (N, >= 4; velocity command and facing in the heading frame, a hidden velocity
        already zero) with the facing channels of hidden-facing rows replaced."""
        vel, face = goal[:, PROMPT_SLICES["velocity"]], PROMPT_SLICES["facing"]
        moving = vel.norm(dim=1) > 1e-6
        hidden = ~visible[:, F].bool()
        hold = hidden & ~moving
        drift = wrap_angle(self.anchor - heading).abs()
        anchor = hold & (~self.holding | (drift > self.tolerance))
        self.anchor = torch.where(anchor, heading, self.anchor)
        self.holding = hold
        offset = torch.where(moving, torch.atan2(vel[:, 1], vel[:, 0]), wrap_angle(self.anchor - heading))
        out = goal.clone()
        out[:, face] = torch.where(hidden[:, None], torch.stack([torch.cos(offset), torch.sin(offset)], 1), goal[:, face])
        return out
