"""The advisory file lock: parallel writers wait their turn; a job that must not run twice is refused."""

import multiprocessing as mp
import time

import pytest

from frozenfit.common.filelock import locked
from frozenfit.errors import FrozenfitError


def _hold(path: str, seconds: float, ready) -> None:
    with locked(path):
        ready.set()
        time.sleep(seconds)


def test_another_process_holding_the_lock_refuses_a_no_wait_taker_and_delays_a_waiting_one(tmp_path):
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path / "job"), 1.5, ready))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(FrozenfitError, match="in use by another process"):
            with locked(tmp_path / "job", wait=False):
                pass
        t0 = time.time()
        with locked(tmp_path / "job"):   # waits for the holder to let go
            assert not holder.is_alive() or time.time() - t0 > 0.1
    finally:
        holder.join(30)
    with locked(tmp_path / "job", wait=False):   # free again once its holder is gone
        pass
    with locked(tmp_path / "other", wait=False):   # another name is another lock
        pass
