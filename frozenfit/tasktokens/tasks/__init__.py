"""The Task Tokens tasks, one module each; `TASKS` maps a task name to its class and config."""

from __future__ import annotations

from frozenfit.errors import FrozenfitError
from frozenfit.tasktokens.tasks.base import TokenTask
from frozenfit.tasktokens.tasks.direction import DirectionConfig, DirectionTask
from frozenfit.tasktokens.tasks.long_jump import LongJumpConfig, LongJumpTask
from frozenfit.tasktokens.tasks.path_follow import PathFollowConfig, PathFollowTask
from frozenfit.tasktokens.tasks.reach import ReachConfig, ReachTask
from frozenfit.tasktokens.tasks.steering import SteeringConfig, SteeringTask
from frozenfit.tasktokens.tasks.strike import StrikeConfig, StrikeTask

TASKS: dict[str, tuple[type[TokenTask], type]] = {
    "direction": (DirectionTask, DirectionConfig),
    "steering": (SteeringTask, SteeringConfig),
    "reach": (ReachTask, ReachConfig),
    "strike": (StrikeTask, StrikeConfig),
    "long_jump": (LongJumpTask, LongJumpConfig),
    "path_follow": (PathFollowTask, PathFollowConfig),
}


def task_class(name: str) -> type[TokenTask]:
    """The class of task ``name`` (its ``version``, ``obs_dim``, ... without building one)."""
    if name not in TASKS:
        raise FrozenfitError(f"unknown task '{name}'; known: {', '.join(TASKS)}")
    return TASKS[name][0]


def make_task(name: str, num_envs: int, cfg=None) -> TokenTask:
    """Task ``name`` for ``num_envs`` environments, with its default config unless ``cfg`` is given."""
    return task_class(name)(num_envs, cfg if cfg is not None else TASKS[name][1]())
