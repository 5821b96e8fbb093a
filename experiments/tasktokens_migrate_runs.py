"""One-off: rewrite results/tasktokens/runs.json from the first sweep format (keyed task/method/seed,
no budget, curve, commit or machine) into the sweep's `RunSpec` records, from the git history.

    python experiments/tasktokens_migrate_runs.py [--rev 9fdecbd]

For each run in runs.json at ``--rev``:
- its budget: the sweep's ``--steps 500000`` (every trained run then stopped at 507,904 env steps,
  the first whole PPO iteration past 500,000; checked) or 0 for the prompt alone;
- its commit and machine: those of summary.json in the first commit whose runs.json holds the run
  with this exact success (the sweep wrote both files together, stamped with the code it ran);
- its learning curve: from the newest version of sample_efficiency.json holding the run with this
  exact final success; the prompt alone has the one point of its evaluation.
Runs whose curve is in no version of sample_efficiency.json (the old sweep left out runs of 0 %
final success) are not carried over: the sweep trains them again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tasktokens_sweep import OUT, RunSpec, save_runs  # noqa: E402  (experiments/ is the script's folder)

from frozenfit.common.script import run_main

ROOT = Path(__file__).resolve().parents[1]
FILE = "results/tasktokens/{}.json"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def history(name: str, rev: str) -> list[tuple[str, dict]]:
    """(commit, parsed file) for every commit up to ``rev`` that changed results/tasktokens/<name>.json,
    newest first."""
    out = []
    for c in git("log", "--format=%H", rev, "--", FILE.format(name)).split():
        try:
            out.append((c, json.loads(git("show", f"{c}:{FILE.format(name)}"))))
        except (subprocess.CalledProcessError, json.JSONDecodeError):
            continue
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="9fdecbd", help="the last commit with runs.json in the old format")
    a = ap.parse_args()
    old = json.loads(git("show", f"{a.rev}:{FILE.format('runs')}"))
    runs_hist = history("runs", a.rev)[::-1]          # oldest first: the first appearance
    summary_at = {c: d for c, d in history("summary", a.rev)}
    curves_hist = history("sample_efficiency", a.rev)  # newest first
    new: dict = {}
    dropped = []
    for key, r in old.items():
        trains = r["method"] != "prompt_only"
        if trains and r["env_steps"] != 507_904:
            raise SystemExit(f"{key}: {r['env_steps']} env steps, not a 500,000-step budget")
        first = next(c for c, d in runs_hist if key in d and d[key].get("success") == r["success"])
        summary = summary_at.get(first)
        if summary is None:
            raise SystemExit(f"{key}: no summary.json in commit {first}")
        if trains:
            curve = next((e["curve"] for _, d in curves_hist
                          for e in d["runs"].get(r["task"], {}).get(r["method"], [])
                          if e["seed"] == r["seed"] and e["final_success"] == r["success"]), None)
        else:
            curve = [[0, r["success"]]]
        if curve is None:
            dropped.append(key)
            continue
        rec = {"task": r["task"], "task_version": r.get("task_version", 1), "method": r["method"],
               "seed": r["seed"], "steps": 500_000 if trains else 0, "warm_start": r["warm_start"],
               "bfm_digest": r["bfm_digest"], "success": r["success"],
               "fall_rate": 100.0 * r["fall_rate"], "fall_head_height": 0.5, "aborted": None,
               "episodes": r["episodes"], "env_steps": r["env_steps"], "trainable_params": r["trainable_params"],
               "train_wall_s": r["train_wall_s"], "eval_wall_s": r["eval_wall_s"], "task_config": None,
               # a step logged twice (a resumed run) keeps its last value
               "curve": [[int(s), float(v)] for s, v in sorted(dict(curve).items())],
               "curve_episodes": 256 if trains else r["episodes"],
               "commit": summary["commit"], "machine": summary["machine"],
               "recorded_at": summary.get("written_at"),
               "recorded_by": f"experiments/tasktokens_migrate_runs.py from runs.json at {first[:12]}"}
        new[RunSpec.from_record(rec).key] = rec
    save_runs(new)
    print(f"{len(new)} runs carried over to {OUT / 'runs.json'}; {len(dropped)} without a recorded curve "
          f"left for the sweep to retrain: {', '.join(dropped)}")


if __name__ == "__main__":
    sys.exit(run_main(main))
