"""Wall-clock time per named phase of a loop (where does an iteration's time go?)."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from typing import ContextManager, Iterator


class PhaseTimer:
    """Accumulates seconds per phase: ``with timer("backward"): ...``. CPU torch ops are
    synchronous, so wall time around them is their cost."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - t

    def reset(self) -> None:
        self.seconds.clear()


def phase(timer: PhaseTimer | None, name: str) -> ContextManager:
    """``timer(name)``, or a no-op when no timer is given (the training hot path)."""
    return nullcontext() if timer is None else timer(name)
