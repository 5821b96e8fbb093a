"""frozenfit: fit small networks around large frozen pretrained networks (Task Tokens, NeRN)."""

import os

# torch's OpenMP threads spin for a long while after each parallel region. Next to another busy
# process on a small machine they then spin against the peer they wait for: a 128-episode
# evaluation took 5.3x and a short training run 5.2x their idle time with one of 2 cores taken
# (results/ux/contention.json, "before"). A short spin keeps the idle speed and brings that to
# 2.0x and 1.8x.
# libgomp reads it when torch loads, so it applies wherever frozenfit is imported before torch
# (every `frozenfit` command); a value the user sets wins. 10,000 spins, against libgomp's default
# of 300,000, measured no slower on the idle machine.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from frozenfit.errors import FrozenfitError  # noqa: E402

__version__ = "0.1.0"
__all__ = ["FrozenfitError", "__version__"]
