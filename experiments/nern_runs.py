"""Shared by the NeRN experiment scripts: named, resumable fits on the shipped ResNet-20.

Every fit lives in ``runs/nern-studies/<name>`` and is recorded in ``finished.json`` when done, so a
restarted script skips it (and an interrupted one resumes from its last checkpoint). Scripts that
need the same fit (e.g. the real-data run of the data-free study is the warm-up run of the
schedule study) share it by name. A fit is reused only for the same settings *and* the same code
(`code_digest`: the sources of the frozenfit modules a fit loads); otherwise it is refitted from
scratch, so a results file never mixes fits of different code. Each record names the commit and
code digest it was fitted with.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path

from frozenfit.common.filelock import locked
from frozenfit.common.logging import read_csv_log
from frozenfit.common.results import git_commit
from frozenfit.nern.fit import FitConfig, fit
from frozenfit.nern.original import SHIPPED_ORIGINAL

RUN_ROOT = Path("runs/nern-studies")


RECORDED = ("hidden", "permutation", "iterations", "warmup", "schedule", "data_free", "alpha", "beta")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the code a fit runs: the sources of every frozenfit module that importing
    `frozenfit.nern.fit` loads (frozenfit/nern and the parts of frozenfit/common it uses), listed
    by a fresh interpreter so that what a script imports besides does not count."""
    listing = subprocess.run(
        [sys.executable, "-c", "import sys, frozenfit.nern.fit; print('\\n'.join(sorted("
         "getattr(m, '__file__', '') or '' for n, m in sys.modules.items() if n.startswith('frozenfit'))))"],
        capture_output=True, text=True, check=True).stdout.split()
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in listing:
        h.update(str(Path(path).resolve().relative_to(root)).encode())
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


COMMIT = git_commit()   # the code this process runs (read at start: later edits do not count)


def _tensorboard_chunks(out_dir: Path, before: float) -> list[dict]:
    """Wall time of the earlier processes that worked on a fit, from their TensorBoard event files
    (first to last event of each file written before ``before``); [] when there are none or
    TensorBoard cannot read them. Only for fits started before `ChunkClock` existed."""
    try:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    except ImportError:
        return []
    chunks = []
    for f in sorted((out_dir / "logs" / "tb").glob("events.out.tfevents.*")):
        times = [e.wall_time for e in EventFileLoader(str(f)).Load()]
        if times and times[0] < before:
            chunks.append({"wall_s": round(times[-1] - times[0], 1), "source": "tensorboard"})
    return chunks


class ChunkClock:
    """Counts the wall time every process spends on a fit, in ``<fit>/chunks.json``, so the record
    of a fit interrupted and resumed across sessions gives its whole cost (the fit's own wall_s is
    only that of the process that finished it). A chunk is rewritten every ``every`` seconds, so a
    killed process's count is short by at most that much. (Not file times: a checkout on another
    machine stamps every committed file anew.)"""

    def __init__(self, out_dir: Path, every: float = 30.0):
        self.path = out_dir / "chunks.json"
        t0 = time.time()
        self.chunks = (json.loads(self.path.read_text())["chunks"] if self.path.exists()
                       else _tensorboard_chunks(out_dir, before=t0))
        self.chunks.append({"wall_s": 0.0, "source": "clock"})
        self.t0, self.every = t0, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> "ChunkClock":
        self._write()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._write(ended=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self._write()

    def _write(self, ended: bool = False) -> None:
        self.chunks[-1].update(wall_s=round(time.time() - self.t0, 1), **({"ended": True} if ended else {}))
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"chunks": self.chunks}, indent=1))
        tmp.replace(self.path)

    def totals(self) -> dict:
        """{"wall_s", "chunks"}: the wall time over every process that worked on the fit."""
        return {"wall_s": round(sum(c["wall_s"] for c in self.chunks), 1), "chunks": len(self.chunks)}


def recipe(hidden: int = 160, permutation: str = "cross_filter", iterations: int = 4000,
           warmup: int = 3000, schedule: str = "joint", data_free: bool = False,
           alpha: float = 1e-2, beta: float = 1e-2) -> FitConfig:
    """A fit of the shipped original; α = β = 1e-2 after a reconstruction-only warm-up."""
    return FitConfig(original=str(SHIPPED_ORIGINAL), hidden=hidden, permutation=permutation,
                     iterations=iterations, warmup=warmup, schedule=schedule, data_free=data_free,
                     alpha=alpha, beta=beta, resume=True)


def run_fit(name: str, cfg: FitConfig, root: Path = RUN_ROOT) -> dict:
    """Fit (or resume, or skip if finished with the same config) and return its record."""
    root.mkdir(parents=True, exist_ok=True)
    done_path = root / "finished.json"
    finished = json.loads(done_path.read_text()) if done_path.exists() else {}
    cfg.out_dir = str(root / name)
    settings = {k: getattr(cfg, k) for k in RECORDED}
    code = code_digest()
    if name in finished and finished[name]["settings"] == settings and finished[name].get("code_digest") == code:
        rec = finished[name]
    else:
        with locked(Path(cfg.out_dir), wait=False):   # two processes on one fit would corrupt its folder
            rec = _fit_and_record(name, cfg, settings, code, done_path)
    hist = [h for h in read_csv_log(Path(cfg.out_dir) / "logs" / "log.csv") if "val_acc" in h]
    return {**rec, "final_rmse": round(hist[-1]["rmse_all"], 5), "history": hist}


def _fit_and_record(name: str, cfg: FitConfig, settings: dict, code: str, done_path: Path) -> dict:
    """Fit in ``cfg.out_dir`` (resumed or started over, see `run_fit`) and record it in ``done_path``."""
    # an interrupted fit of the same settings and code resumes from its checkpoint; one of
    # another code or settings starts over
    started = Path(cfg.out_dir) / "started.json"
    mark = {"settings": settings, "code_digest": code}
    if Path(cfg.out_dir).exists() and not (started.exists() and json.loads(started.read_text()) == mark):
        shutil.rmtree(cfg.out_dir)
    Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
    started.write_text(json.dumps(mark))
    with ChunkClock(Path(cfg.out_dir)) as clock:
        r = fit(cfg)
    rec = {"name": name, "settings": settings, "predictor_params": r.predictor_params,
           "represented_params": r.represented_params,
           "reconstructed_acc": round(r.reconstructed_test_acc, 2),
           "final_iteration_acc": round(r.final_test_acc, 2), "best_iteration": r.best_iteration,
           "best_val_acc": round(r.reconstructed_val_acc, 2), "artifact": r.artifact,
           "artifact_bytes": r.artifact_bytes, "original_acc": round(r.original_test_acc, 2),
           **clock.totals(), "code_digest": code, "commit": COMMIT}
    with locked(done_path):   # parallel shards of a grid share the file
        finished = json.loads(done_path.read_text()) if done_path.exists() else {}
        finished[name] = rec
        done_path.write_text(json.dumps(finished, indent=1))
    return rec


def strip(rec: dict) -> dict:
    """A run record without its history and local paths (for results files)."""
    return {k: v for k, v in rec.items() if k not in ("history", "artifact")}

