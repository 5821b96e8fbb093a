"""Ship one Task-Token policy per task: frozenfit/assets/tasktokens/<task>.safetensors + a video.

    python experiments/tasktokens_ship.py [--tasks direction steering ...] [--validation-episodes 512]
    python experiments/tasktokens_ship.py --remeasure      # the shipped files' held-out success only

For every task, the finished Task Tokens runs of the sweep (task_tokens and task_tokens_prior at the
README's settings, their policies in runs/) are evaluated on *validation* episodes (seeds from
VALIDATION_SEED, never used for a reported figure); the best is exported (encoder only, ~0.4 MB)
to the package's assets, where `frozenfit tasktokens eval|render --task <task>` finds it, and
rendered to results/tasktokens/<task>.gif. Its reported success is the sweep's figure on the test
episodes (TaskEvalConfig.seed), which took no part in the choice.
``--remeasure`` evaluates the files already shipped on the validation episodes: for a file chosen
by an earlier rule (the best on the test episodes it was then reported on), those are held out.
results/tasktokens/shipped.json records which run each file is, how it was chosen and its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
from frozenfit.bfm.policy import bfm_digest, load_bfm
from frozenfit.common.results import portable_path, write_result
from frozenfit.common.script import run_main
from frozenfit.tasktokens.artifact import export_policy, load_policy, shipped_policy
from frozenfit.tasktokens.commands import TaskRenderCommand, run_render
from frozenfit.tasktokens.evaluate import VALIDATION_SEED, TaskEvalConfig, evaluate_actor
from frozenfit.tasktokens.tasks import TASKS

from tasktokens_sweep import DEFAULT_STEPS, DEFAULT_WARM, OUT, RunSpec, load_runs

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = (("task_tokens", 3), ("task_tokens_prior", 1))


def validation_success(policy: Path, bfm, episodes: int) -> float:
    actor = load_policy(policy, bfm)
    r = evaluate_actor(actor, actor.meta["task"], actor.meta["use_prior"], bfm.cfg.history_offsets,
                       TaskEvalConfig(episodes=episodes, seed=VALIDATION_SEED))
    return r["success"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--validation-episodes", type=int, default=512)
    ap.add_argument("--remeasure", action="store_true", help="only measure the shipped files on validation episodes")
    a = ap.parse_args()
    if a.validation_episodes <= 0 or a.seconds <= 0:
        ap.error("--validation-episodes and --seconds must be positive")
    bfm = load_bfm()
    digest = bfm_digest(bfm)  # only runs on the shipped BFM: a task token means nothing to another
    runs = load_runs()
    shipped_path = OUT / "shipped.json"
    shipped = json.loads(shipped_path.read_text())["shipped"] if shipped_path.exists() else {}
    for task in a.tasks:
        if a.remeasure:
            path = shipped_policy(task)
            if task in shipped and path.exists():
                e = shipped[task]
                e.setdefault("run", RunSpec.of(task, e["method"], e["seed"], DEFAULT_STEPS, DEFAULT_WARM, digest).key)
                e.setdefault("selection", {"rule": "best success on the test episodes it is reported on (the rule "
                                                    "before validation episodes; its held-out figure is 'held_out')"})
                shipped[task]["held_out"] = {"success": validation_success(path, bfm, a.validation_episodes),
                                             "episodes": a.validation_episodes, "seed": VALIDATION_SEED}
                print(f"{task}: shipped file, held-out {shipped[task]['held_out']['success']:.1f} %")
            continue
        specs = [RunSpec.of(task, m, seed, DEFAULT_STEPS, DEFAULT_WARM, digest) for m, n in CANDIDATES for seed in range(n)]
        cands = [s for s in specs if s.key in runs and (s.run_dir / "policy.safetensors").exists()]
        if not cands:
            print(f"{task}: no finished Task Tokens run with its policy in runs/; skipped")
            continue
        val = {s.key: validation_success(s.run_dir / "policy.safetensors", bfm, a.validation_episodes) for s in cands}
        best = max(cands, key=lambda s: val[s.key])
        rec = runs[best.key]
        path = export_policy(best.run_dir / "checkpoint.safetensors", shipped_policy(task))
        video = run_render(TaskRenderCommand(task=task, seconds=a.seconds, out=str(OUT / f"{task}.gif")))
        shipped[task] = {"run": best.key, "method": rec["method"], "seed": rec["seed"],
                         "success": rec["success"], "episodes": rec["episodes"], "env_steps": rec["env_steps"],
                         "selection": {"rule": "best success on validation episodes", "seed": VALIDATION_SEED,
                                       "episodes": a.validation_episodes, "candidates": val},
                         "file": portable_path(path), "bytes": path.stat().st_size, "video": portable_path(video)}
        print(f"{task}: shipped {rec['method']} seed {rec['seed']} (validation {val[best.key]:.1f} %, "
              f"test {rec['success']:.1f} %) -> {path}")
    write_result(shipped_path, {"shipped": shipped})


if __name__ == "__main__":
    sys.exit(run_main(main))
