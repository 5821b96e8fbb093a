"""What the BFM reads: the state token, history tokens and prompt tokens, as plain tensors.

- state token: proprioception in the heading frame (the environment's first PROPRIO_DIM values);
- history tokens: the pose a few control steps ago plus how far the root has moved and turned
  since then (a `History` ring buffer keeps the past poses, batched);
- prompt tokens, one type per goal modality, cut from the teacher's goal observation so the
  student's prompt and the teacher's full goal can never drift apart:
  velocity (command in the heading frame), facing (cos/sin of the facing offset), body targets
  (pelvis height, hands and feet relative to the pelvis, each channel with its mask bit and its
  target-minus-current offset), keyframe (pelvis position, pelvis yaw and head position to reach
  in T seconds, with T; `frozenfit.bfm.keyframe`); goal set 2 adds the jump (on, direction,
  length, time to the take-off window, window open, airborne).
A prompt token is shown or removed as a whole (`visible`); inside the body token, each body
channel carries its own mask bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from frozenfit.bfm.keyframe import KEYFRAME_DIM
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.observations import NUM_BODIES, PROPRIO_DIM, local_body_pos, root_heading, to_heading_frame
from frozenfit.humanoid.rotations import quat_mul, quat_to_tan_norm, wrap_angle, yaw_quat
from frozenfit.humanoid.sim import Frame
from frozenfit.teacher.goals import GOAL_OBS_DIM, JUMP_OBS_DIM

@dataclass(frozen=True)
class PromptLayout:
    """Prompt token types and where each lives in the prompt vector, for one goal set."""

    slices: dict[str, slice]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.slices)

    @property
    def dim(self) -> int:
        return max(s.stop for s in self.slices.values())


# goal set 1: the teacher's goal observation (GoalTask.observe) followed by the keyframe observation
# (Keyframes.observe); goal set 2 appends its jump goal after the keyframe, so every slice of set 1
# stays where it was
_SET1 = {"velocity": slice(0, 2), "facing": slice(2, 4), "body": slice(4, GOAL_OBS_DIM),
         "keyframe": slice(GOAL_OBS_DIM, GOAL_OBS_DIM + KEYFRAME_DIM)}
PROMPT_LAYOUTS: dict[int, PromptLayout] = {
    1: PromptLayout(_SET1),
    2: PromptLayout({**_SET1, "jump": slice(GOAL_OBS_DIM + KEYFRAME_DIM, GOAL_OBS_DIM + KEYFRAME_DIM + JUMP_OBS_DIM)}),
}
PROMPT_SLICES: dict[str, slice] = PROMPT_LAYOUTS[1].slices   # goal set 1's (the shipped BFM's)
PROMPTS = PROMPT_LAYOUTS[1].names
PROMPT_DIM = PROMPT_LAYOUTS[1].dim


def prompt_layout(goal_version: int) -> PromptLayout:
    """The prompt layout of goal set ``goal_version``."""
    if goal_version not in PROMPT_LAYOUTS:
        raise FrozenfitError(f"goal set {goal_version} has no prompt layout; known: {sorted(PROMPT_LAYOUTS)}")
    return PROMPT_LAYOUTS[goal_version]


def prompt_vector(goal_obs: torch.Tensor, keyframe_obs: torch.Tensor) -> torch.Tensor:
    """The prompt vector from the teacher's goal observation and the keyframe observation: goal
    set 1's goal, the keyframe, then whatever goal set 2 adds (its jump)."""
    return torch.cat([goal_obs[:, :GOAL_OBS_DIM], keyframe_obs, goal_obs[:, GOAL_OBS_DIM:]], 1)
LEGACY_PROMPTS = ("velocity", "facing", "body")  # what BFM files written before keyframes read
POSE_DIM = 3 * (NUM_BODIES - 1) + 1 + 6     # local body positions, root height, pelvis tilt
HISTORY_DIM = POSE_DIM + 2 + 2 + 1          # + root displacement, turn (cos, sin), time offset


@dataclass
class BFMInput:
    """One batch of BFM inputs. ``visible`` (N, len(PROMPTS)) says which prompt tokens are present."""

    state: torch.Tensor      # (N, PROPRIO_DIM)
    history: torch.Tensor    # (N, H, HISTORY_DIM)
    goal: torch.Tensor       # (N, PROMPT_DIM) prompt values, laid out as in PROMPT_SLICES
    visible: torch.Tensor    # (N, len(PROMPTS)) bool

    def __len__(self) -> int:
        return self.state.shape[0]

    def index(self, i) -> "BFMInput":
        return BFMInput(self.state[i], self.history[i], self.goal[i], self.visible[i])

    @staticmethod
    def cat(items: list["BFMInput"]) -> "BFMInput":
        return BFMInput(*(torch.cat([getattr(x, f) for x in items]) for f in ("state", "history", "goal", "visible")))

    def check(self, history_len: int, layout: PromptLayout = PROMPT_LAYOUTS[1]) -> None:
        """Clear errors for wrongly shaped inputs (users build these by hand)."""
        n = self.state.shape[0]
        want = {"state": (n, PROPRIO_DIM), "history": (n, history_len, HISTORY_DIM),
                "goal": (n, layout.dim), "visible": (n, len(layout.names))}
        for name, shape in want.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ValueError(f"BFMInput.{name} has shape {got}, expected {shape}")


def pose_record(frame: Frame) -> torch.Tensor:
    """What the history keeps per step: root xy, heading, and the pose in its own heading frame."""
    yaw = root_heading(frame)
    n = yaw.shape[0]
    tilt = quat_to_tan_norm(quat_mul(yaw_quat(-yaw), frame.body_quat[:, 0]))
    pose = torch.cat([local_body_pos(frame, yaw)[:, 1:].reshape(n, -1), frame.body_pos[:, 0, 2:3], tilt], 1)
    return torch.cat([frame.body_pos[:, 0, :2], yaw[:, None], pose], 1)


class History:
    """Ring buffer of past poses for N environments; `features` gives the history tokens' inputs."""

    def __init__(self, num_envs: int, offsets: tuple[int, ...], dt: float):
        if not offsets or min(offsets) < 1:
            raise ValueError(f"history offsets must be >= 1 control step, got {offsets}")
        self.offsets, self.dt = tuple(offsets), dt
        self.length = max(offsets) + 1
        self.buf = torch.zeros(self.length, num_envs, 3 + POSE_DIM)
        self.ptr = 0  # slot of the newest record

    def reset(self, frame: Frame, idx: torch.Tensor | None = None) -> None:
        """Fill the whole history of ``idx`` (all when None) with the current pose (a standing start)."""
        rec = pose_record(frame)
        if idx is None:
            self.buf[:] = rec
        elif idx.numel():
            self.buf[:, idx] = rec[idx]

    def push(self, frame: Frame) -> None:
        self.ptr = (self.ptr + 1) % self.length
        self.buf[self.ptr] = pose_record(frame)

    def features(self) -> torch.Tensor:
        """(N, H, HISTORY_DIM): each past pose with the root motion since then, in today's heading frame."""
        now = self.buf[self.ptr]
        feats = []
        for k in self.offsets:
            past = self.buf[(self.ptr - k) % self.length]
            d_xy = to_heading_frame(now[:, :2] - past[:, :2], now[:, 2])
            turn = wrap_angle(now[:, 2] - past[:, 2])
            t = torch.full_like(turn, k * self.dt)
            feats.append(torch.cat([past[:, 3:], d_xy, torch.cos(turn)[:, None], torch.sin(turn)[:, None],
                                    t[:, None]], 1))
        return torch.stack(feats, 1)
