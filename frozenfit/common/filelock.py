"""An exclusive lock for a read-modify-write of a file that several processes update (a results
file fed by parallel workers), so that no worker's rows are lost to another's write."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from frozenfit.errors import FrozenfitError


@contextmanager
def locked(path: Path | str, wait: bool = True) -> Iterator[None]:
    """Hold an advisory lock named by ``path`` (resolved) while the block runs. The lock file lives
    in the system's temporary folder, not beside ``path``, so results folders stay clean; it
    serialises processes on one machine, which is where parallel workers share a results file.
    ``wait=False``: raise FrozenfitError at once if another process holds it (a job that must
    not run twice, e.g. one fit's folder); the system frees it when its holder dies."""
    key = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"frozenfit-{key}.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise FrozenfitError(f"{path} is in use by another process") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
