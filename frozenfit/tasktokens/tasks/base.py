"""What every Task Tokens task shares: target timers, strict per-target success, the eval switch.

A task implements the humanoid environment's Task protocol (observe / reward / terminated /
reset / advance) plus two things Task Tokens needs:
- ``prior(env)``: the hand-made prompt ("joint conditioning") for the frozen BFM, as the BFM's
  goal vector and which prompt tokens are visible; tasks without one return None;
- ``success``: (N,) bool, the paper's success criterion for the episode so far; read at the end of
  an evaluation episode. Training reports the success of every finished episode.
In evaluation (``eval_mode``) falling does not end an episode, as in the paper's protocol.
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from frozenfit.humanoid.observations import root_heading, to_heading_frame
from frozenfit.humanoid.model import fallen


class TokenTask:
    """Base class: episode bookkeeping and finished-episode success statistics."""

    name = "task"
    label = ""            # the name figures and videos show
    obs_dim = 0
    has_prior = False
    # bumped when the observation, reward, schedule or prompt changes: a policy trained on another
    # version is refused (artifact.py, a resume) and the sweep retrains its runs
    version = 1

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self.eval_mode = False
        self.success = torch.ones(num_envs, dtype=torch.bool)
        self.started = torch.zeros(num_envs, dtype=torch.bool)
        self.finished = 0
        self.finished_success = 0

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def uniform(env, k: int, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * env.rand(k)

    @staticmethod
    def heading_vec(env, world_xy: torch.Tensor) -> torch.Tensor:
        """World planar vectors (N, 2) in the root heading frame."""
        return to_heading_frame(world_xy, root_heading(env.frame))

    def pop_success_rate(self) -> float | None:
        """Success rate of the episodes finished since the last call (None if none finished)."""
        if not self.finished:
            return None
        rate = self.finished_success / self.finished
        self.finished = self.finished_success = 0
        return rate

    # -- Task protocol pieces shared by all tasks ------------------------------------------------------
    def reset(self, env, idx: torch.Tensor) -> None:
        done = idx[self.started[idx]]
        self.finished += done.numel()
        self.finished_success += int(self.success[done].sum())
        self.started[idx] = True
        self.success[idx] = True
        self.reset_task(env, idx)

    def terminated(self, env) -> torch.Tensor:
        return fallen(env.frame.body_pos) & ~torch.tensor(self.eval_mode)

    def advance(self, env) -> None:
        self.success &= self.frame_success(env)
        self.advance_task(env)

    # -- what each task defines --------------------------------------------------------------------------
    def reset_task(self, env, idx: torch.Tensor) -> None:
        raise NotImplementedError

    def advance_task(self, env) -> None:
        """Target schedule: called after the reward of each step."""

    def frame_success(self, env) -> torch.Tensor:
        """(N,) bool: this frame keeps the episode successful."""
        raise NotImplementedError

    def observe(self, env) -> torch.Tensor:
        raise NotImplementedError

    def reward_terms(self, env) -> dict[str, torch.Tensor]:
        """The named reward terms, unscaled (each (N,)); their scales are the config's ``w_<term>``."""
        raise NotImplementedError

    def reward(self, env) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The reward, summed here and only here: each named term times its scale ``cfg.w_<term>``;
        returns (total, scaled terms)."""
        terms = self.reward_terms(env)
        missing = [k for k in terms if not hasattr(self.cfg, f"w_{k}")]
        if missing:
            raise AttributeError(f"{type(self.cfg).__name__} has no scale for reward terms {missing} (w_<term>)")
        scaled = {k: getattr(self.cfg, f"w_{k}") * v for k, v in terms.items()}
        return sum(scaled.values()), scaled

    def prior(self, env) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The hand-made BFM prompt: (prompt (N, PROMPT_DIM), visible (N, len(PROMPTS)) bool), or None."""
        return None

    def markers(self, env, i: int) -> list:
        """Goal markers of environment ``i`` for videos (`frozenfit.humanoid.render.Marker`)."""
        return []

    # True where success is judged on the episode's last frame (Strike, Long jump), not kept frame by frame
    judged_at_end = False

    def caption(self, env, i: int) -> str:
        """Environment ``i``'s current command or target in words and numbers, for videos."""
        return ""

    def status(self, i: int) -> str:
        """Environment ``i``'s success state as the task judges it so far, for videos."""
        if self.judged_at_end:
            return "success" if bool(self.success[i]) else "not yet"
        return "on track" if bool(self.success[i]) else "failed"

    def config_dict(self) -> dict:
        """The task's config (ranges, success thresholds, reward scales) as recorded with every run."""
        cfg = getattr(self, "cfg", None)
        return asdict(cfg) if cfg is not None else {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, d: dict) -> None:
        pass


class RetargetingTask(TokenTask):
    """A task whose targets are re-drawn every ``cfg.change_steps`` (a (lo, hi) range of control
    steps); ``since_change`` counts steps since the last new target (the success grace period)."""

    def __init__(self, num_envs: int, cfg):
        super().__init__(num_envs)
        self.cfg = cfg
        self.timer = torch.zeros(num_envs, dtype=torch.long)
        self.since_change = torch.zeros(num_envs, dtype=torch.long)

    def new_targets(self, env, idx: torch.Tensor, fresh: bool) -> None:
        """Draw targets for ``idx``; ``fresh`` at an episode start, otherwise a scheduled change."""
        raise NotImplementedError

    def _retarget(self, env, idx: torch.Tensor, fresh: bool) -> None:
        self.new_targets(env, idx, fresh)
        lo, hi = self.cfg.change_steps
        self.timer[idx] = torch.randint(lo, hi + 1, (idx.numel(),), generator=env.gen)
        self.since_change[idx] = 0

    def in_grace(self) -> torch.Tensor:
        return self.since_change < self.cfg.grace_steps

    def reset_task(self, env, idx: torch.Tensor) -> None:
        self._retarget(env, idx, fresh=True)

    def advance_task(self, env) -> None:
        self.timer -= 1
        self.since_change += 1
        due = torch.nonzero(self.timer <= 0).flatten()
        if due.numel():
            self._retarget(env, due, fresh=False)
