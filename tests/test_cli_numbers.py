"""Every numeric option of every `frozenfit` command rejects values it cannot work with (zero,
negative, out of [0, 1], NaN) with a one-line error, before the command runs."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from frozenfit import cli
from frozenfit.common.checks import check_numbers, numeric_fields

BAD = {"positive": "0", "zero_ok": "-1", "fraction": "1.5", "any": "nan"}


def _commands():
    for system, cmds in cli.SYSTEMS.items():
        for name, (config_type, _, _) in cmds().items():
            yield system, name, config_type


def _required_args(config_type) -> list[str]:
    return [a for f in dataclasses.fields(config_type)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            for a in (f"--{f.name.replace('_', '-')}", "x")]


def _default(config_type, dotted: str):
    obj = config_type(**{f.name: "x" for f in dataclasses.fields(config_type)
                         if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING})
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


CASES = [(s, c, t, field, rule) for s, c, t in _commands() for field, rule in numeric_fields(t)]


def test_every_command_has_its_numbers_found():
    counts = {f"{s} {c}": len(numeric_fields(t)) for s, c, t in _commands()}
    assert counts["teacher train"] > 50 and counts["tasktokens eval"] >= 5 and counts["nern fit"] > 15


@pytest.mark.parametrize("system,command,config_type,field,rule", CASES,
                         ids=[f"{s}-{c}-{f}" for s, c, _, f, _ in CASES])
def test_bad_number_is_one_line_error(system, command, config_type, field, rule, capsys):
    default = _default(config_type, field)
    n = len(default) if isinstance(default, tuple) else 1
    # the bad value goes last in a tuple; the others keep their defaults
    values = [str(v) for v in default[:-1]] if isinstance(default, tuple) else []
    values += [BAD[rule]]
    assert len(values) == n
    flag = "--" + field.replace("_", "-")
    rc = cli.main([system, command, *_required_args(config_type), flag, *values])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert err.count("\n") == 0 and err.startswith(f"error: {flag} must be"), err


@pytest.mark.parametrize("system,command,config_type", [(s, c, t) for s, c, t in _commands()],
                         ids=[f"{s}-{c}" for s, c, _ in _commands()])
def test_defaults_pass(system, command, config_type):
    check_numbers(config_type(**{f.name: "x" for f in dataclasses.fields(config_type)
                                 if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}))


def test_task_set_numbers_checked():
    from frozenfit.errors import FrozenfitError
    from frozenfit.tasktokens.tasks import task_config
    with pytest.raises(FrozenfitError, match="--task-set speed must be positive"):
        task_config("direction", ["speed=0,3"])
    with pytest.raises(FrozenfitError, match="--task-set stop_prob must be between 0 and 1"):
        task_config("direction", ["stop_prob=2"])
    assert task_config("direction", ["grace_steps=0"]).grace_steps == 0


def test_rules_by_name():
    @dataclasses.dataclass
    class C:
        ZERO_OK: typing.ClassVar[tuple[str, ...]] = ("warm",)
        ANY_SIGN: typing.ClassVar[tuple[str, ...]] = ("log_std",)
        n: int = 1
        seed: int = 0
        w_x: float = 0.0
        p_y: float = 1.0
        warm: int = 0
        log_std: float = -3.0
        sizes: tuple[int, ...] = (4, 4)
        name: str = "a"
        flag: bool = False
    assert dict(numeric_fields(C)) == {"n": "positive", "seed": "zero_ok", "w_x": "zero_ok", "p_y": "fraction",
                                       "warm": "zero_ok", "log_std": "any", "sizes": "positive"}
    check_numbers(C())
    from frozenfit.errors import FrozenfitError
    for bad in (dict(n=0), dict(seed=-1), dict(p_y=1.01), dict(sizes=(4, 0)), dict(log_std=float("inf")),
                dict(n=float("nan"))):
        with pytest.raises(FrozenfitError):
            check_numbers(C(**bad))
