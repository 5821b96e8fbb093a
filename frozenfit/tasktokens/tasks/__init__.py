"""The Task Tokens tasks, one module each; `TASKS` maps a task name to its class and config."""

from __future__ import annotations

import dataclasses
from typing import Literal

from frozenfit.common.checks import check_numbers
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

TaskName = Literal[tuple(TASKS)]    # a config field of this type lists the tasks in --help


def task_class(name: str) -> type[TokenTask]:
    """The class of task ``name`` (its ``version``, ``obs_dim``, ... without building one)."""
    if name not in TASKS:
        raise FrozenfitError(f"unknown task '{name}'; known: {', '.join(TASKS)}")
    return TASKS[name][0]


def make_task(name: str, num_envs: int, cfg=None) -> TokenTask:
    """Task ``name`` for ``num_envs`` environments, with its default config unless ``cfg`` is given."""
    return task_class(name)(num_envs, cfg if cfg is not None else TASKS[name][1]())


def task_config(name: str, overrides: tuple[str, ...] | list[str] = ()):
    """Task ``name``'s default config with ``FIELD=VALUE`` overrides (from the command line's
    ``--task-set``; a tuple field takes comma-separated values), each checked against the config."""
    task_class(name)
    cfg = TASKS[name][1]()
    known = {f.name for f in dataclasses.fields(cfg)}
    changes = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or key not in known:
            raise FrozenfitError(f"--task-set {item!r}: expected FIELD=VALUE with FIELD one of the {name} "
                                 f"config's: {', '.join(sorted(known))}")
        default = getattr(cfg, key)
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(text)
                value = text.lower() in ("true", "1")
            elif isinstance(default, tuple):
                value = tuple(type(d)(v) for d, v in zip(default, text.split(","), strict=True))
            elif isinstance(default, (int, float, str)):
                value = type(default)(text)
            else:
                raise ValueError("not settable from the command line")
        except ValueError as e:
            raise FrozenfitError(f"--task-set {item!r}: {key} wants a value like {default!r} ({e})") from None
        changes[key] = value
    cfg = dataclasses.replace(cfg, **changes)
    check_numbers(cfg, option=lambda field: f"--task-set {field}")
    return cfg
