"""The masking sampler: which goal modalities the student is prompted with, MaskedMimic-style.

The teacher always sees a full goal; the student sees a masked subset as prompt tokens. To keep
the student's task well posed, a modality that is not prompted takes a default the student can
infer from what it sees: no velocity prompt means stand still; no facing prompt means face the
way you move (or do not turn when standing); no body prompt means no body target.
So an unprompted BFM stands quietly, and every prompt it is given changes only what it asks for.

Visibility is drawn with each goal resample (held for the 3-8 s a command lasts), each modality
with its own probability; sometimes nothing is prompted at all. Body channels (each hand, each
foot, pelvis height) come and go with their own timers and mask bits inside the body token. Short
time gaps hide every prompt token from the student while the teacher keeps the goal, so the BFM
learns to carry on from its history when prompts drop out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from frozenfit.bfm.tokens import PROMPTS
from frozenfit.humanoid.observations import root_heading
from frozenfit.teacher.goals import GoalConfig, GoalTask


@dataclass
class MaskingConfig:
    """Prompt visibility probabilities and time gaps."""

    p_velocity: float = 0.75
    p_facing: float = 0.5
    p_no_prompt: float = 0.1          # nothing at all: velocity, facing and body targets all off
    gap_prob: float = 0.01            # per control step, start a gap hiding every prompt token
    gap_seconds: tuple[float, float] = (0.1, 0.5)


class PromptedGoalTask(GoalTask):
    """The teacher's goal task plus the student's prompt visibility (`visible`, (N, 3) bool)."""

    def __init__(self, goal_cfg: GoalConfig, mask_cfg: MaskingConfig, num_envs: int, resample: bool = True):
        super().__init__(goal_cfg, num_envs, resample)
        self.mask_cfg = mask_cfg
        self.show = torch.zeros(num_envs, len(PROMPTS), dtype=torch.bool)  # prompted modalities
        self.gap_timer = torch.zeros(num_envs)
        self._hold_heading = torch.zeros(num_envs, dtype=torch.bool)

    @property
    def visible(self) -> torch.Tensor:
        """Prompt tokens the student sees now: prompted, the body token only with an active channel,
        nothing during a time gap."""
        vis = self.show.clone()
        vis[:, PROMPTS.index("body")] &= (self.hand_mask.sum(1) + self.foot_mask.sum(1) + self.height_mask) > 0
        return vis & (self.gap_timer <= 0)[:, None]

    # -- sampling with defaults for unprompted modalities ------------------------------------------
    def _sample_commands(self, rand, idx: torch.Tensor) -> None:
        super()._sample_commands(rand, idx)
        c, k = self.mask_cfg, idx.numel()
        none = rand(k) < c.p_no_prompt
        vel = (rand(k) < c.p_velocity) & ~none
        face = (rand(k) < c.p_facing) & ~none
        body = ~none
        self.show[idx] = torch.stack([vel, face, body], 1)
        self.speed[idx] = torch.where(vel, self.speed[idx], torch.zeros(k))
        standing = self.speed[idx] == 0
        # no facing prompt: face the travel direction, or do not turn (set in _apply_defaults)
        self.facing_yaw[idx] = torch.where(face | standing, self.facing_yaw[idx], self.move_yaw[idx])
        self._hold_heading[idx] = ~face & standing
        # no body prompt: no standing goals (crouch, raised foot)
        self.height_mask[idx] = torch.where(none, torch.zeros(k), self.height_mask[idx])
        self.foot_mask[idx] = torch.where(none[:, None], torch.zeros(k, 2), self.foot_mask[idx])

    def _sample_hands(self, rand, idx: torch.Tensor) -> None:
        super()._sample_hands(rand, idx)
        body = self.show[idx, PROMPTS.index("body")]
        self.hand_mask[idx] = self.hand_mask[idx] * body[:, None].float()

    def _apply_defaults(self, env) -> None:
        """Facing default that needs the current state: standing without a facing prompt means
        'do not turn', so the facing goal follows the current heading every step (a fixed goal
        would ask the student to undo drift it cannot see)."""
        hold = torch.nonzero(self._hold_heading).flatten()
        if hold.numel():
            self.facing_yaw[hold] = root_heading(env.frame)[hold]

    # -- Task protocol -------------------------------------------------------------------------
    def reset(self, env, idx: torch.Tensor) -> None:
        self.gap_timer[idx] = 0
        super().reset(env, idx)
        self._apply_defaults(env)

    def advance(self, env) -> None:
        super().advance(env)
        self._apply_defaults(env)
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

    def set_prompt(self, idx: torch.Tensor, show: torch.Tensor) -> None:
        """Fix which modalities are prompted for ``idx`` (evaluation and the prompting API), after
        ``set_goals``: standing without a facing prompt then means 'do not turn'."""
        self.show[idx] = show.bool()
        self.gap_timer[idx] = 0
        self._hold_heading[idx] = ~self.show[idx, PROMPTS.index("facing")] & (self.speed[idx] == 0)
