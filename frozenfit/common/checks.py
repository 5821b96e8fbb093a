"""One-line errors for numeric options a config cannot work with (zero, negative, NaN)."""

from __future__ import annotations

import math

from frozenfit.errors import FrozenfitError


def require(cfg, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = ()) -> None:
    """Refuse a config whose ``positive`` fields are not > 0 or ``non_negative`` ones are < 0 (None
    means 'default' and passes), naming the command-line option."""
    for names, ok, what in ((positive, lambda v: v > 0, "positive"), (non_negative, lambda v: v >= 0, "0 or more")):
        for name in names:
            v = getattr(cfg, name)
            if v is None:
                continue
            if (isinstance(v, float) and math.isnan(v)) or not ok(v):
                raise FrozenfitError(f"--{name.replace('_', '-')} must be {what}, got {v}")
