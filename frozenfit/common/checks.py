"""One-line errors for numeric options a config cannot work with (zero, negative, NaN, inf).

`check_numbers` walks a (nested) dataclass config and applies one rule per field, so that every
numeric option of every command is validated in one place:

- by default a number (or each number of a tuple) must be > 0 and finite;
- `seed`, `*_seed`, `threads` and `nthread` (0: automatic), `w_*` (reward weights) and the names a
  class lists in ``ZERO_OK`` may be 0 (`torch_threads` may not: torch needs at least one);
- `p_*`, `*_prob` and the names in ``FRACTIONS`` must lie in [0, 1];
- names in ``ANY_SIGN`` (a log standard deviation, say) need only be finite;
- ``None`` means "the default" and passes.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Callable

from frozenfit.errors import FrozenfitError


def _rule(cls: type, name: str) -> str:
    """'positive', 'zero_ok', 'fraction' or 'any' for field ``name`` of dataclass ``cls``."""
    if name in getattr(cls, "ANY_SIGN", ()):
        return "any"
    if name in getattr(cls, "FRACTIONS", ()) or name.startswith("p_") or name.endswith("_prob"):
        return "fraction"
    if (name in getattr(cls, "ZERO_OK", ()) or name in ("seed", "threads", "nthread") or name.endswith("_seed")
            or name.startswith("w_")):
        return "zero_ok"
    return "positive"


_OK = {"positive": (lambda v: v > 0, "positive"), "zero_ok": (lambda v: v >= 0, "0 or more"),
       "fraction": (lambda v: 0 <= v <= 1, "between 0 and 1"), "any": (lambda v: True, "finite")}


def numeric_fields(cls: type, prefix: str = "") -> list[tuple[str, str]]:
    """Every numeric leaf of a dataclass type as (dotted option name, rule), nested configs included."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        h = hints[f.name]
        if dataclasses.is_dataclass(h):
            out += numeric_fields(h, prefix + f.name + ".")
        elif _is_numeric(h):
            out.append((prefix + f.name, _rule(cls, f.name)))
    return out


def _is_numeric(h) -> bool:
    if h in (int, float):
        return True
    args = typing.get_args(h)
    if typing.get_origin(h) is typing.Literal:
        return False
    return bool(args) and all(a in (int, float, type(None), Ellipsis) for a in args) and any(a in (int, float) for a in args)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_numbers(cfg, prefix: str = "", option: Callable[[str], str] = _flag) -> None:
    """Raise a one-line FrozenfitError naming the first numeric option of ``cfg`` that breaks its rule
    (``option`` spells a dotted field name as the user typed it: a tyro flag by default)."""
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            check_numbers(v, prefix + f.name + ".", option)
            continue
        values = v if isinstance(v, tuple) else (v,)
        if not values or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
            continue
        ok, what = _OK[_rule(type(cfg), f.name)]
        for x in values:
            if not math.isfinite(x) or not ok(x):
                raise FrozenfitError(f"{option(prefix + f.name)} must be {what}, got {v}")
