"""Hand-made BFM prompts for the tasks (the paper's "joint conditioning" priors).

Our BFM's prompt modalities are velocity, facing and body targets (hands, feet, pelvis height),
so a prior is written in those: a task fills what it wants and `PromptPrior.build` lays it out
exactly as the BFM was distilled with (the teacher's goal observation), so a prior can never drift
from the BFM's input format.
"""

from __future__ import annotations

import torch

from frozenfit.bfm.keyframe import Keyframes
from frozenfit.bfm.masking import J
from frozenfit.bfm.tokens import prompt_layout, prompt_vector
from frozenfit.humanoid.env import humanoid_version_of
from frozenfit.humanoid.observations import root_heading
from frozenfit.teacher.goals import GoalConfig, GoalTask


class PromptPrior:
    """Builds (prompt (N, layout dim), visible (N, prompt types)) prompts for N environments, in the
    prompt layout of the environment's humanoid (goal set 1 or 2)."""

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self.goal: GoalTask | None = None      # built for the environment's goal set on first use
        self.keyframes = Keyframes(num_envs)  # none placed yet: the shipped BFM predates keyframes

    def _goal_task(self, env) -> GoalTask:
        version = humanoid_version_of(env)
        if self.goal is None or self.goal.cfg.version != version:
            self.goal = GoalTask(GoalConfig.v2() if version >= 2 else GoalConfig(), self.num_envs, resample=False)
        return self.goal

    def build(self, env, velocity: torch.Tensor | None = None, facing: torch.Tensor | None = None,
              right_hand: torch.Tensor | None = None, pelvis_height: torch.Tensor | None = None,
              active: torch.Tensor | None = None, jump_length: torch.Tensor | None = None,
              jump_in: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """velocity: world planar (N, 2) m/s; facing: world yaw (N,); right_hand: target relative to
        the pelvis in its heading frame (N, 3); pelvis_height: crouch target (N,) in metres, NaN where
        none (part of the body token); ``active`` (N,) bool switches the whole prompt off.
        Goal set 2 only: jump_length (N,) metres along the velocity, NaN where none, its take-off
        window opening in ``jump_in`` (N,) seconds (<= 0: open; airborne = no foot on the ground
        while it is open)."""
        n = env.num_envs
        g = self._goal_task(env)
        if velocity is not None:
            speed = velocity.norm(dim=-1)
            move = torch.atan2(velocity[:, 1], velocity[:, 0])
        else:
            speed, move = torch.zeros(n), torch.zeros(n)
        face = facing if facing is not None else root_heading(env.frame)
        hand_mask = torch.zeros(n, 2)
        hand_target = torch.zeros(n, 2, 3)
        if right_hand is not None:
            hand_mask[:, 0] = 1.0
            hand_target[:, 0] = right_hand
        g.set_goals(torch.arange(n), speed, move, face, hand_target, hand_mask)
        if pelvis_height is not None:
            crouch = ~torch.isnan(pelvis_height)
            g.height_mask[:] = crouch.float()
            g.height_target[:] = torch.where(crouch, pelvis_height, g.height_target)
        body = right_hand is not None or pelvis_height is not None
        show = [velocity is not None, facing is not None, body, False]
        show += [False] * (len(prompt_layout(g.cfg.version).names) - len(show))   # goal set 2's jump
        vis = torch.tensor(show).expand(n, len(show)).clone()
        if jump_length is not None:
            if g.cfg.version < 2:
                raise ValueError("a jump prompt needs a goal set 2 BFM (humanoid version 2)")
            on = ~torch.isnan(jump_length)
            g.jump_mask = on.float()
            g.jump_length = torch.nan_to_num(jump_length)
            g.jump_timer = jump_in.clone()
            g.jump_yaw = move
            g.jump_airborne = on & (jump_in <= 0) & ~(env.frame.foot_touch > 1.0).any(-1)
            vis[:, J] = on
        if active is not None:
            vis = vis & active[:, None]
        return prompt_vector(g.observe(env), self.keyframes.observe(env.frame)), vis
