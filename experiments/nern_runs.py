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
from functools import lru_cache
from pathlib import Path

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
        # an interrupted fit of the same settings and code resumes from its checkpoint; one of
        # another code or settings starts over
        started = Path(cfg.out_dir) / "started.json"
        mark = {"settings": settings, "code_digest": code}
        if Path(cfg.out_dir).exists() and not (started.exists() and json.loads(started.read_text()) == mark):
            shutil.rmtree(cfg.out_dir)
        Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
        started.write_text(json.dumps(mark))
        r = fit(cfg)
        rec = {"name": name, "settings": settings, "predictor_params": r.predictor_params,
               "represented_params": r.represented_params,
               "reconstructed_acc": round(r.reconstructed_test_acc, 2),
               "final_iteration_acc": round(r.final_test_acc, 2), "best_iteration": r.best_iteration,
               "best_val_acc": round(r.reconstructed_val_acc, 2), "artifact": r.artifact,
               "artifact_bytes": r.artifact_bytes, "original_acc": round(r.original_test_acc, 2),
               "wall_s": round(r.wall_s, 1), "code_digest": code, "commit": COMMIT}
        finished = json.loads(done_path.read_text()) if done_path.exists() else {}
        finished[name] = rec
        done_path.write_text(json.dumps(finished, indent=1))
    hist = [h for h in read_csv_log(Path(cfg.out_dir) / "logs" / "log.csv") if "val_acc" in h]
    return {**rec, "final_rmse": round(hist[-1]["rmse_all"], 5), "history": hist}


def strip(rec: dict) -> dict:
    """A run record without its history and local paths (for results files)."""
    return {k: v for k, v in rec.items() if k not in ("history", "artifact")}

