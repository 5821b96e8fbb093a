"""The paper's method as the paper runs it, at a long budget -> results/tasktokens/long_budget.json
(+ long_budget.png).

Task Tokens from a cold start (`task_tokens_cold`, the paper's method), from the prompt's warm start
(`task_tokens_warm`, 40 DAgger iterations, ours) and PPO from scratch (`ppo_scratch`) on Direction
and Strike, one seed each, each for BUDGET env steps or until its curve plateaus, whichever comes
first (the record says which). The learning curve is a 256-episode evaluation every EVAL_EVERY PPO
iterations (~0.5 M env steps); the final figure is the paper's protocol on 1024 held-out episodes.
``steps_to_90pct`` is the first curve point at or above 90 % of the final success (null when the
final success is 0). Training runs in bf16 (`--ppo.precision bf16`; results/rl/throughput.json
shows its curves match fp32's), in resumable chunks under runs/tasktokens/long_budget/, and the
JSON is rewritten after every chunk, so an interrupted study resumes where it stopped and a
record in progress says so (``"stopped": null``).

A curve has plateaued once it has run PLATEAU_MIN_STEPS, the mean of its last PLATEAU_POINTS
points is within PLATEAU_TOL points of the mean of the PLATEAU_POINTS before them, and that mean
is at least PLATEAU_MIN_SUCCESS (a curve still flat at zero has not started learning, it has not
converged: it runs to the budget).

    python experiments/tasktokens_long_budget.py [--tasks direction strike] [--methods ...]
                                                 [--max-minutes 0] [--plot-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from frozenfit.bfm.policy import bfm_digest, load_bfm
from frozenfit.common.results import git_commit, machine_info, save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.tasktokens.artifact import export_policy, load_policy
from frozenfit.tasktokens.evaluate import TaskEvalConfig, evaluate_actor
from frozenfit.tasktokens.tasks import task_class
from frozenfit.tasktokens.train import TaskTokensConfig, steps_done, train_task

from tasktokens_sweep import log_curve   # experiments/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "tasktokens"
RUNS = ROOT / "runs" / "tasktokens" / "long_budget"
BUDGET = 20_000_000
EVAL_EVERY = 30                # PPO iterations: 30 x 512 envs x 32 steps = 491,520 env steps
CHUNK = 1_000_000
WARM = 40
PLATEAU_MIN_STEPS, PLATEAU_POINTS, PLATEAU_TOL, PLATEAU_MIN_SUCCESS = 6_000_000, 6, 2.5, 5.0
FINAL_EPISODES = 1024
TASKS = ("direction", "strike")
METHODS = {"task_tokens_cold": ("task_tokens", 0), "task_tokens_warm": ("task_tokens", WARM),
           "ppo_scratch": ("ppo_scratch", 0)}   # name -> (method, warm-start iterations)


def run_dir(task: str, name: str, digest: str) -> Path:
    return RUNS / f"{task}-v{task_class(task).version}" / f"{name}-bfm-{digest}"


def config(task: str, name: str, digest: str) -> TaskTokensConfig:
    method, warm = METHODS[name]
    cfg = TaskTokensConfig(task=task, method=method, seed=0, warm_start=warm, eval_every=EVAL_EVERY,
                           run_dir=str(run_dir(task, name, digest)), progress=False)
    cfg.ppo.total_env_steps = BUDGET
    cfg.ppo.precision = "bf16"
    return cfg


def curve(directory: Path) -> list[list[float]]:
    """The run's learning curve (the sweep's reader: a replayed step keeps its last value)."""
    return log_curve(directory)


def plateaued(points: list[list[float]]) -> bool:
    """See the module docstring."""
    if len(points) < 2 * PLATEAU_POINTS or points[-1][0] < PLATEAU_MIN_STEPS:
        return False
    last = [p[1] for p in points[-PLATEAU_POINTS:]]
    before = [p[1] for p in points[-2 * PLATEAU_POINTS:-PLATEAU_POINTS]]
    mean = sum(last) / len(last)
    return mean >= PLATEAU_MIN_SUCCESS and abs(mean - sum(before) / len(before)) <= PLATEAU_TOL


def steps_to_90pct(points: list[list[float]], final: float) -> int | None:
    """The first curve step at 90 % of the final success; None for a run that never learned (a final
    success under PLATEAU_MIN_SUCCESS: 90 % of 0.8 % is a noise level, not a point of learning)."""
    if final < PLATEAU_MIN_SUCCESS:
        return None
    return next((int(s) for s, v in points if v >= 0.9 * final), None)


PROVENANCE = ("command", "commit", "machine", "wall_s", "written_at")


def load() -> dict:
    path = OUT / "long_budget.json"
    return json.loads(path.read_text()) if path.exists() else {"runs": {}}


def fresh_payload() -> dict:
    """The recorded runs without the file's provenance (command, commit, machine, wall time, date):
    write_result stamps the write that is happening, not the first one."""
    return {k: v for k, v in load().items() if k not in PROVENANCE}


def train(task: str, name: str, digest: str, deadline: float, record: dict) -> dict:
    """Train one run chunk by chunk until its budget or a plateau (or the deadline); its record."""
    cfg = config(task, name, digest)
    ckpt = cfg.directory() / "checkpoint.safetensors"
    if record.get("steps") and record.get("stopped") is None and not ckpt.exists():
        print(f"{task}/{name}: the record has {record['steps']:,} steps but {ckpt} is not here (another machine's run); "
              "it starts over", flush=True)
        record.pop("train_wall_s", None)
    started = time.time()
    while record.get("stopped") is None:
        done = steps_done(ckpt)
        pts = curve(cfg.directory())
        if done >= BUDGET or plateaued(pts):
            record["stopped"] = "budget" if done >= BUDGET else "plateau"
            break
        if deadline and time.time() > deadline:
            break
        cfg.resume, cfg.stop_at = ckpt.exists(), min(BUDGET, done + CHUNK)
        train_task(cfg)
        record.update(progress(cfg, ckpt))
        record["train_wall_s"] = round(record.get("train_wall_s", 0.0) + time.time() - started, 1)
        started = time.time()
        yield record
    if record.get("stopped") and "final_success" not in record:
        bfm = load_bfm()
        actor = load_policy(export_policy(ckpt, cfg.directory() / "policy.safetensors"), bfm)
        r = evaluate_actor(actor, task, False, bfm.cfg.history_offsets, TaskEvalConfig(episodes=FINAL_EPISODES))
        record.update(progress(cfg, ckpt))
        record["final_success"], record["final_fall_rate"] = r["success"], r["fall_rate"]
        record["steps_to_90pct"] = steps_to_90pct(record["curve"], r["success"])
        yield record


def progress(cfg: TaskTokensConfig, ckpt: Path) -> dict:
    return {"steps": steps_done(ckpt), "curve": curve(cfg.directory())}


def summary(runs: dict) -> dict:
    """Per task: PPO from scratch's steps to 90 % over the cold start's (the paper's "up to 6x"),
    and the warm start's success minus the cold start's at the steps both curves have."""
    out = {}
    for task, rs in runs.items():
        s = {}
        cold, scratch, warm = (rs.get(k, {}) for k in ("task_tokens_cold", "ppo_scratch", "task_tokens_warm"))
        if cold.get("steps_to_90pct") and scratch.get("steps_to_90pct"):
            s["scratch_over_cold_steps_to_90pct"] = round(scratch["steps_to_90pct"] / cold["steps_to_90pct"], 2)
        if cold.get("curve") and warm.get("curve"):
            w = dict((int(a), b) for a, b in warm["curve"])
            # the warm start's evaluations sit after its DAgger steps: pair each cold point with the
            # warm curve's nearest point at or before it, within the steps both runs trained
            pairs, end = [], min(max(w), max(int(a) for a, _ in cold["curve"]))
            for step, v in cold["curve"]:
                if step > end:
                    break
                before = [k for k in w if k <= step]
                if before:
                    pairs.append([int(step), round(w[max(before)] - v, 2)])
            s["warm_minus_cold"] = pairs
        out[task] = s
    return out


def plot(payload: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in TASKS if t in payload["runs"]]
    fig, axes = plt.subplots(1, max(1, len(tasks)), figsize=(6 * max(1, len(tasks)), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for name, r in payload["runs"][task].items():
            if r.get("curve"):
                xs, ys = zip(*r["curve"])
                label = name + (f" (final {r['final_success']:.1f} %)" if "final_success" in r else " (running)")
                line, = ax.plot([x / 1e6 for x in xs], ys, label=label)
                if r.get("steps_to_90pct"):
                    ax.axvline(r["steps_to_90pct"] / 1e6, color=line.get_color(), ls=":", lw=1)
        ax.set(title=task, xlabel="env steps (M)", ylabel="success (%)", ylim=(-2, 102))
        ax.legend(fontsize=8)
    fig.suptitle("Task Tokens at a long budget (dotted: 90 % of the final success)")
    save_figure(fig, OUT / "long_budget.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--max-minutes", type=float, default=0.0, help="stop between chunks after this long (0: no limit)")
    ap.add_argument("--plot-only", action="store_true", help="redraw long_budget.png from the JSON; train nothing")
    a = ap.parse_args()
    if a.max_minutes < 0:
        ap.error("--max-minutes must be >= 0")
    payload = load()
    if a.plot_only:
        plot(payload)
        return
    digest = bfm_digest(load_bfm())
    commit, t0 = git_commit(), time.time()
    deadline = t0 + 60 * a.max_minutes if a.max_minutes else 0.0
    for task in a.tasks:
        for name in a.methods:
            rec = payload["runs"].setdefault(task, {}).setdefault(name, {"stopped": None})
            if "final_success" in rec:
                continue
            method, warm = METHODS[name]
            rec.update({"method": method, "warm_start": warm, "seed": 0, "bfm_digest": digest, "budget": BUDGET,
                        "eval_every_iterations": EVAL_EVERY, "curve_episodes": 256, "final_episodes": FINAL_EPISODES,
                        "precision": "bf16", "task_version": task_class(task).version})
            for rec in train(task, name, digest, deadline, rec):
                rec["commit"], rec["machine"] = commit, machine_info()
                payload = fresh_payload()
                payload["commit"] = commit   # the code this process runs, read at its start
                payload["runs"].setdefault(task, {})[name] = rec
                payload["summary"] = summary(payload["runs"])
                payload["plateau_rule"] = {"min_steps": PLATEAU_MIN_STEPS, "points": PLATEAU_POINTS, "tol": PLATEAU_TOL,
                                           "min_success": PLATEAU_MIN_SUCCESS}
                write_result(OUT / "long_budget.json", payload, wall_s=time.time() - t0)
                plot(payload)
                print(f"{task}/{name}: {rec['steps']:,} steps, last curve point "
                      f"{rec['curve'][-1][1] if rec['curve'] else float('nan'):.1f} %, stopped={rec['stopped']}", flush=True)
            if deadline and time.time() > deadline:
                print("stopped at --max-minutes; rerun to continue")
                return


if __name__ == "__main__":
    sys.exit(run_main(main))
