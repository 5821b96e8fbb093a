"""Ship one Task-Token policy per task: frozenfit/assets/tasktokens/<task>.safetensors + a video.

    python experiments/tasktokens_ship.py [--tasks direction steering ...]

For every task, the best finished Task Tokens run of the sweep (runs.json; task_tokens or
task_tokens_prior, highest success) is exported (encoder only, ~0.4 MB) to the package's assets,
where `frozenfit tasktokens eval|render --task <task>` finds it, and rendered to
results/tasktokens/<task>.gif. results/tasktokens/shipped.json records which run each file is.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
from frozenfit.bfm.policy import load_bfm
from frozenfit.common.results import write_result
from frozenfit.tasktokens.artifact import export_policy, shipped_policy
from frozenfit.tasktokens.commands import TaskRenderCommand, run_render
from frozenfit.tasktokens.tasks import TASKS
from frozenfit.bfm.policy import bfm_digest

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "tasktokens"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    digest = bfm_digest(load_bfm())  # only runs on the shipped BFM: a task token means nothing to another
    runs = {k: r for k, r in json.loads((OUT / "runs.json").read_text()).items() if r.get("bfm_digest") == digest}
    shipped_path = OUT / "shipped.json"
    shipped = json.loads(shipped_path.read_text())["shipped"] if shipped_path.exists() else {}
    for task in a.tasks:
        cands = [r for r in runs.values() if r["task"] == task and r["method"] in ("task_tokens", "task_tokens_prior")]
        if not cands:
            print(f"{task}: no finished Task Tokens run on this BFM in runs.json; skipped")
            continue
        best = max(cands, key=lambda r: r["success"])
        ckpt = ROOT / "runs" / "tasktokens" / task / best["method"] / f"seed{best['seed']}" / "checkpoint.safetensors"
        path = export_policy(ckpt, shipped_policy(task))
        video = run_render(TaskRenderCommand(task=task, seconds=a.seconds, out=str(OUT / f"{task}.gif")))
        shipped[task] = {"method": best["method"], "seed": best["seed"], "success": best["success"],
                         "episodes": best["episodes"], "env_steps": best["env_steps"],
                         "file": str(path.relative_to(ROOT)), "bytes": path.stat().st_size,
                         "video": str(video.relative_to(ROOT))}
        print(f"{task}: shipped {best['method']} seed {best['seed']} ({best['success']:.1f} %) -> {path}")
    write_result(shipped_path, {"shipped": shipped})


if __name__ == "__main__":
    main()
