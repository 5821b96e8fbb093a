"""An exclusive lock for a read-modify-write of a file that several processes update (a results
file fed by parallel workers), so that no worker's rows are lost to another's write."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def locked(path: Path | str) -> Iterator[None]:
    """Hold an advisory lock named by ``path`` (resolved) while the block runs. The lock file lives
    in the system's temporary folder, not beside ``path``, so results folders stay clean; it
    serialises processes on one machine, which is where parallel workers share a results file."""
    key = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"frozenfit-{key}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
