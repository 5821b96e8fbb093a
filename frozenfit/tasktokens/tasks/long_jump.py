"""Long jump: run up along +x, take off before a line, land as far past it as possible.

Layout (paper): the humanoid starts 20 m before the take-off line facing along the track, the goal
is 10 m past the line, the corridor is |y| <= 0.5 m. Our default run-up is 10 m: at our BFM's top
speed (3 m/s, results/teacher) 20 m take ~8 s of the 9 s (300-step) evaluation episode. Observation: goal - root in the heading frame (3)
and the signed distance to the take-off line (1). Reward (paper): progress toward the goal (clamped
to [0, 1]) + 0.01 forward speed + 0.1 root height once past the line + 30 x jump length at landing.
A jump is a flight that takes off before the line and comes down past it (a flight that comes down
before the line is a running stride and does not count); its length is the landing foot's distance
past the line, where the take-off must happen. Landing ends the episode (the reference's known quirk was not
to, which lets success degenerate); so does leaving the corridor or crossing the line on foot.
Success (paper): jump length > 1.5 m.
Prompt prior (ours; the paper has none for this task): a run-up, toward the goal at the BFM's top
speed facing down the track. The teacher never learned to jump, so the prompt cannot take off on
purpose; `experiments/tasktokens_long_jump.py` measures how far its running strides carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from frozenfit.humanoid.env import humanoid_version_of
from frozenfit.humanoid.render import Marker
from frozenfit.humanoid.rotations import rotate_z

from frozenfit.humanoid.observations import root_heading, to_heading_frame
from frozenfit.tasktokens.prior import PromptPrior
from frozenfit.tasktokens.tasks.base import TokenTask
from frozenfit.humanoid.model import FOOT_IDX


@dataclass
class LongJumpConfig:
    run_up: float = 10.0
    goal_past_line: float = 10.0
    corridor: float = 0.5
    success_length: float = 1.5
    prior_speed: float = 3.0      # m/s, the top speed our teacher tracks (results/teacher)
    prior_jump_length: float = 2.3   # goal set 2: the jump goal the prompt asks for (m) ...
    prior_jump_lead: float = 0.6     # ... its take-off window opening this far before the line (m)
    w_progress: float = 1.0       # reward scales (the task's reward is their weighted sum)
    w_speed: float = 0.01
    w_height: float = 0.1
    w_landing: float = 30.0


def jump_reward(progress_before: torch.Tensor, progress_after: torch.Tensor, forward_speed: torch.Tensor,
                root_z: torch.Tensor, past_line: torch.Tensor, landed_length: torch.Tensor) -> dict[str, torch.Tensor]:
    """Named terms, unscaled; ``landed_length`` is the jump length on the landing frame and 0 otherwise."""
    return {"progress": (progress_before - progress_after).clamp(0, 1),
            "speed": forward_speed,
            "height": root_z * past_line.float(),
            "landing": landed_length}


class LongJumpTask(TokenTask):
    name = "long_jump"
    label = "Long jump"
    obs_dim = 4
    has_prior = True

    def __init__(self, num_envs: int, cfg: LongJumpConfig | None = None):
        super().__init__(num_envs)
        self.cfg = cfg or LongJumpConfig()
        n = num_envs
        self.origin = torch.zeros(n, 2)          # world xy of each environment's take-off line centre
        self.track_yaw = torch.zeros(n)          # world direction of the run-up
        self.airborne = torch.zeros(n, dtype=torch.bool)
        self.jumped = torch.zeros(n, dtype=torch.bool)   # a jump has started
        self.landed = torch.zeros(n, dtype=torch.bool)
        self.fault = torch.zeros(n, dtype=torch.bool)    # crossed the line on foot or left the corridor
        self.length = torch.zeros(n)
        self.goal_dist = torch.zeros(n)
        self.success = torch.zeros(n, dtype=torch.bool)
        self.prompt = PromptPrior(n)

    def track(self, env, body: int = 0) -> torch.Tensor:
        """Planar position of ``body`` in track coordinates: x past the line, y across the corridor."""
        return to_heading_frame(env.frame.body_pos[:, body, :2] - self.origin, self.track_yaw)

    def reset_task(self, env, idx: torch.Tensor) -> None:
        # the track runs along the heading the humanoid starts with; the line is run_up metres ahead
        f = env.frame
        yaw = root_heading(f)[idx]
        self.track_yaw[idx] = yaw
        ahead = torch.stack([torch.cos(yaw), torch.sin(yaw)], -1) * self.cfg.run_up
        self.origin[idx] = f.body_pos[idx, 0, :2] + ahead
        for flag in (self.airborne, self.jumped, self.landed, self.fault, self.success):
            flag[idx] = False
        self.length[idx] = 0
        self.goal_dist[idx] = self._goal_dist(env)[idx]

    def _goal_dist(self, env) -> torch.Tensor:
        goal = torch.tensor([self.cfg.goal_past_line, 0.0])
        return (goal - self.track(env)).norm(dim=-1)

    def observe(self, env) -> torch.Tensor:
        rel = torch.tensor([self.cfg.goal_past_line, 0.0]) - self.track(env)          # track frame
        rel = to_heading_frame(rel, root_heading(env.frame) - self.track_yaw)          # -> heading frame
        height = -env.frame.body_pos[:, 0, 2:3]                                        # goal on the ground
        return torch.cat([rel, height, -self.track(env)[:, :1]], 1)

    def _update_jump(self, env) -> torch.Tensor:
        """Advance the jump state machine; returns the length on landing frames (0 elsewhere).
        A flight that comes down before the line is a running stride, not a jump: it is forgotten."""
        f = env.frame
        contact = f.foot_touch > 1.0
        feet_x = torch.stack([self.track(env, i)[:, 0] for i in FOOT_IDX], 1)
        in_air = ~contact.any(1)
        takeoff = in_air & ~self.jumped & (feet_x.max(1).values <= 0.05)
        self.jumped |= takeoff
        touchdown = self.jumped & ~self.landed & ~in_air & self.airborne
        land_x = torch.where(contact, feet_x, torch.full_like(feet_x, 1e9)).min(1).values
        self.jumped &= ~(touchdown & (land_x <= 0))          # a stride before the line
        landing = touchdown & (land_x > 0)
        on_ground_past = (contact & (feet_x > 0)).any(1)
        self.fault |= on_ground_past & ~self.jumped
        self.fault |= self.track(env)[:, 1].abs() > self.cfg.corridor
        landing &= ~self.fault
        length = torch.where(landing, land_x, torch.zeros_like(land_x))
        self.length = torch.where(landing, length, self.length)
        self.landed |= landing
        self.airborne = in_air
        return length

    def reward_terms(self, env):
        before = self.goal_dist
        after = self._goal_dist(env)
        self.goal_dist = after
        landed = self._update_jump(env)
        yaw = root_heading(env.frame)
        fwd = to_heading_frame(env.root_planar_vel, yaw)[:, 0]
        return jump_reward(before, after, fwd, env.frame.body_pos[:, 0, 2], self.track(env)[:, 0] > 0, landed)

    def terminated(self, env) -> torch.Tensor:
        """Training: a landing, a fault or a fall ends the episode. Evaluation runs the full episode
        (the jump state is kept, so the success decided at landing stands)."""
        if self.eval_mode:
            return torch.zeros(env.num_envs, dtype=torch.bool)
        return super().terminated(env) | self.landed | self.fault

    def markers(self, env, i: int) -> list:
        """Path-coloured spheres at the ends of the take-off line, a target one at the goal."""
        c = self.cfg
        out = []
        for x, y, kind in ((0.0, c.corridor, "path"), (0.0, -c.corridor, "path"), (c.goal_past_line, 0.0, "target")):
            p = rotate_z(torch.tensor([x, y]), self.track_yaw[i]) + self.origin[i]
            out.append(Marker.of(kind, np.array([float(p[0]), float(p[1]), 0.05]), 0.06))
        return out

    judged_at_end = True

    def caption(self, env, i: int) -> str:
        if bool(self.fault[i]):
            state = "fault (crossed the line on foot or left the corridor)"
        elif bool(self.landed[i]):
            state = f"landed: {float(self.length[i]):.2f} m"
        else:
            state = "in the air" if bool(self.airborne[i]) else "running up"
        return f"run up and jump more than {self.cfg.success_length:.1f} m from the line: {state}"

    def status(self, i: int) -> str:
        return "failed" if bool(self.fault[i]) else super().status(i)

    def goal_world(self) -> torch.Tensor:
        """World xy (N, 2) of the goal, ``goal_past_line`` metres past the line on the track's centre."""
        ahead = torch.stack([torch.cos(self.track_yaw), torch.sin(self.track_yaw)], -1)
        return self.origin + ahead * self.cfg.goal_past_line

    def prior(self, env):
        """Run toward the goal at ``prior_speed`` (which steers back to the corridor's centre), facing
        down the track; on a goal set 2 BFM also a jump of ``prior_jump_length`` whose take-off window
        opens ``prior_jump_lead`` metres before the line (goal set 1 has no jump)."""
        to_goal = self.goal_world() - env.frame.body_pos[:, 0, :2]
        u = to_goal / to_goal.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        jump = {}
        if humanoid_version_of(env) >= 2:
            c = self.cfg
            to_open = -self.track(env)[:, 0] - c.prior_jump_lead        # metres until the window opens
            jump = {"jump_length": torch.full((env.num_envs,), c.prior_jump_length),
                    "jump_in": to_open / c.prior_speed}
        return self.prompt.build(env, velocity=self.cfg.prior_speed * u, facing=self.track_yaw, **jump)

    def frame_success(self, env) -> torch.Tensor:
        return torch.ones(env.num_envs, dtype=torch.bool)  # success is decided at landing (advance)

    def advance(self, env) -> None:
        self.success = self.landed & (self.length > self.cfg.success_length)
