"""Keyframe prompts: where the pelvis and head should be, facing which way, in T seconds.

MaskedMimic conditions its student on future target poses, each with a time to target. Our
teacher has no timed goals, so every control step a keyframe is turned into the goal the teacher
does understand (`Keyframes.goal`):
- velocity = remaining planar displacement / remaining time (never less than ``TAU``), capped at
  the teacher's top speed, and zero once that is slower than a step (the keyframe is reached);
- facing = the keyframe's yaw when its rotation channel is set, otherwise the default of the
  velocity prompt (face the way you move; do not turn when standing);
- pelvis height = the keyframe's height when it asks for a crouch (the teacher crouches only
  while standing).
The student sees only the keyframe token and learns to be there on time; the teacher labels each
visited state with the goal the keyframe implies.

Channels, each with its own mask bit: pelvis position (planar + height), pelvis rotation, head
position. The rotation is the yaw only: the teacher has no goal for tilting the body, so a full
3-D rotation target could not be labelled. The head channel is the pelvis target seen from the
head (a standing humanoid carries its head ``HEAD_ABOVE_PELVIS`` above the pelvis), so either
channel alone places the keyframe.
"""

from __future__ import annotations

import math

import torch

from frozenfit.humanoid.model import PELVIS_HEIGHT
from frozenfit.humanoid.observations import root_heading, to_heading_frame
from frozenfit.humanoid.rotations import wrap_angle
from frozenfit.humanoid.sim import Frame

KEYFRAME_CHANNELS = ("pelvis", "rotation", "head")
KEYFRAME_DIM = 4 + 3 + 4 + 1      # pelvis (xy, z, bit), rotation (cos, sin, bit), head (xy, z, bit), time
HEAD_ABOVE_PELVIS = 0.54          # m, head above the pelvis frame when standing (tests check the model)
TAU = 0.5                         # s; the velocity goal never plans to arrive faster than this
MIN_SPEED = 0.15                  # m/s; a slower velocity goal is a stop (the keyframe is reached)
CROUCH_BELOW = 0.03               # m under standing height: the keyframe asks for a crouch


class Keyframes:
    """One keyframe per environment, in the world frame, with its time left and channel masks."""

    def __init__(self, num_envs: int):
        n = num_envs
        self.active = torch.zeros(n, dtype=torch.bool)
        self.xy = torch.zeros(n, 2)           # pelvis planar target
        self.z = torch.full((n,), PELVIS_HEIGHT)
        self.yaw = torch.zeros(n)
        self.time_left = torch.zeros(n)
        self.mask = torch.zeros(n, len(KEYFRAME_CHANNELS))

    def set(self, idx: torch.Tensor, xy: torch.Tensor, z: torch.Tensor, yaw: torch.Tensor, seconds: torch.Tensor,
            mask: torch.Tensor) -> None:
        """Place keyframes for ``idx``: world pelvis target (xy, z), yaw, seconds to get there, channel
        mask (k, 3) in KEYFRAME_CHANNELS order."""
        self.active[idx] = True
        self.xy[idx], self.z[idx], self.yaw[idx] = xy, z, yaw
        self.time_left[idx] = seconds
        self.mask[idx] = mask.float()

    def clear(self, idx: torch.Tensor) -> None:
        self.active[idx] = False
        self.mask[idx] = 0.0

    def tick(self, dt: float) -> None:
        self.time_left = (self.time_left - dt).clamp(min=0.0)

    @property
    def positioned(self) -> torch.Tensor:
        """(N,) bool: an active keyframe with a position (pelvis or head channel) to go to."""
        return self.active & ((self.mask[:, 0] + self.mask[:, 2]) > 0)

    def goal(self, frame: Frame, max_speed: float) -> dict[str, torch.Tensor]:
        """The teacher goal each keyframe implies now: speed, move_yaw, facing_yaw (NaN: use the
        default), crouch (bool) and height (see the module docstring). Rows without an active keyframe
        are meaningless."""
        d = self.xy - frame.body_pos[:, 0, :2]
        v = d / self.time_left.clamp(min=TAU)[:, None]
        positioned = self.positioned
        speed = v.norm(dim=-1).clamp(max=max_speed)
        speed = torch.where((speed < MIN_SPEED) | ~positioned, torch.zeros_like(speed), speed)
        move = torch.atan2(v[:, 1], v[:, 0])
        facing = torch.where(self.mask[:, 1] > 0, self.yaw, torch.full_like(self.yaw, math.nan))
        crouch = positioned & (self.z < PELVIS_HEIGHT - CROUCH_BELOW)
        return {"speed": speed, "move_yaw": move, "facing_yaw": facing, "crouch": crouch, "height": self.z}

    def observe(self, frame: Frame) -> torch.Tensor:
        """(N, KEYFRAME_DIM) student view in the pelvis heading frame; masked channels are zeros."""
        yaw = root_heading(frame)
        rel = to_heading_frame(self.xy - frame.body_pos[:, 0, :2], yaw)
        turn = wrap_angle(self.yaw - yaw)
        m = self.mask * self.active[:, None].float()
        pelvis = torch.cat([rel, self.z[:, None]], 1) * m[:, :1]
        rot = torch.stack([torch.cos(turn), torch.sin(turn)], 1) * m[:, 1:2]
        head = torch.cat([rel, (self.z + HEAD_ABOVE_PELVIS)[:, None]], 1) * m[:, 2:3]
        t = self.time_left[:, None] * self.active[:, None].float()
        return torch.cat([pelvis, m[:, :1], rot, m[:, 1:2], head, m[:, 2:3], t], 1)
