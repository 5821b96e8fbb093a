"""One entry point for the CLI and every experiment and benchmark script: a FrozenfitError (a
missing or corrupt file, a mismatched checkpoint, a diverged loss) ends the program with one line
on stderr instead of a traceback, and Ctrl-C says how to resume."""

from __future__ import annotations

import sys
from typing import Callable

from frozenfit.errors import FrozenfitError

INTERRUPTED = "interrupted; rerun with --resume to continue from the last checkpoint"


def run_main(main: Callable[..., object], *args: object) -> int:
    """Call ``main(*args)``; the exit status: its integer return value (0 for None), 2 after a
    FrozenfitError (its message printed as ``error: ...``), 130 after Ctrl-C."""
    try:
        rc = main(*args)
    except FrozenfitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    return rc if isinstance(rc, int) else 0
