"""The Task Tokens sweep -> results/tasktokens/: runs.json, summary.json, table.md,
sample_efficiency.json, curves_<task>.png (and, with --ood, ood.json, ood.png).

    python experiments/tasktokens_sweep.py [--tasks direction steering ...] [--methods ...]
                                           [--steps 500000] [--max-minutes 0] [--list] [--ood]

A run is defined by everything that decides its outcome: task and task version, method, seed,
env-step budget, warm start and the digest of the BFM it trains on (`RunSpec`, whose `key` names
it in runs.json and whose `run_dir` is its folder under runs/tasktokens/). Each run trains (in
resumable chunks) to its budget and is evaluated in the paper's protocol (deterministic, 300-step
episodes, 1024 episodes); the record written to runs.json holds its result, its learning curve
(256-episode evaluations during training), the commit and machine it ran on, its budget and wall
time. Everything else (summary.json, table.md, sample_efficiency.json, the curve plots) is derived
from runs.json alone, so a machine without runs/ rebuilds the same files. Recorded runs are never
trained again; ``--max-minutes`` stops cleanly between chunks (0: no limit).
Task Tokens, fine-tuning and the latent policy warm-start from the task's hand-made prompt where
there is one (``--warm-start`` DAgger iterations, frozenfit/tasktokens/warm_start.py; its env steps
count in the budget). table.md is the README's results table; the README's copy is replaced with it
(a test checks the two agree). ``--list`` prints the runs the table is built from, and what is
missing. ``--ood`` evaluates the seed-0 policies of task_tokens, finetune and ppo_scratch on
steering and direction under gravity x1..x2 and ground friction x1..x0.4 (a policy missing from
runs/, as on a fresh clone, is trained again to the same spec first).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import dataclass
import sys
from pathlib import Path

import numpy as np

from frozenfit.bfm.policy import bfm_digest, load_bfm
from frozenfit.common.logging import read_csv_log
from frozenfit.common.results import git_commit, machine_info, machine_label, save_figure, sync_markdown_table, write_result
from frozenfit.common.script import run_main
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import FALL_HEAD_HEIGHT, PhysicsConfig
from frozenfit.humanoid.observations import NUM_JOINTS
from frozenfit.tasktokens.artifact import export_policy, load_policy
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.tasktokens.evaluate import TaskEvalConfig, evaluate_actor
from frozenfit.tasktokens.policies import METHODS, build_actor, trainable_params
from frozenfit.tasktokens.tasks import TASKS, make_task, task_class
from frozenfit.tasktokens.train import TaskTokensConfig, steps_done, train_task

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "tasktokens"
RUNS = ROOT / "runs" / "tasktokens"
DEFAULT_STEPS = 500_000     # the budget of every run in the README's table
DEFAULT_WARM = 40
CURVE_EPISODES = 256        # TaskTokensConfig.eval_episodes
CURVE_EVERY = 10            # PPO iterations between curve points (every recorded sweep run used 10)
PAPER = {"task_tokens": {"reach": 94.9, "direction": 99.3, "steering": 88.7, "long_jump": 99.8, "strike": 76.6},
         "finetune": {"reach": 93.7, "direction": 99.1, "steering": 87.4, "long_jump": 47.4, "strike": 83.1},
         "latent_policy": {"reach": 84.0, "direction": 97.6, "steering": 40.7, "long_jump": 99.4, "strike": 83.2},
         "ppo_scratch": {"reach": 89.9, "direction": 97.7, "steering": 32.6, "long_jump": 61.9, "strike": 81.4},
         "prompt_only": {"reach": 24.8, "direction": 2.2, "steering": 3.8}}


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one run of the sweep."""

    task: str
    task_version: int
    method: str
    seed: int
    steps: int          # env-step budget (0: a method that trains nothing)
    warm_start: int     # DAgger iterations imitating the prompt before PPO
    bfm_digest: str

    @classmethod
    def of(cls, task: str, method: str, seed: int, steps: int, warm: int, digest: str) -> "RunSpec":
        """The spec the sweep runs for (task, method, seed) under a budget, warm start and BFM."""
        m = METHODS[method]
        has_prior = make_task(task, 1).has_prior
        return cls(task, task_class(task).version, method, seed, steps if m.trains else 0,
                   warm if (m.warm_startable and has_prior and m.trains) else 0, digest)

    @property
    def key(self) -> str:
        return (f"{self.task}@v{self.task_version}/{self.method}/seed{self.seed}/steps{self.steps}"
                f"/warm{self.warm_start}/bfm-{self.bfm_digest}")

    @property
    def run_dir(self) -> Path:
        return (RUNS / f"{self.task}-v{self.task_version}" / self.method /
                f"seed{self.seed}-steps{self.steps}-warm{self.warm_start}-bfm-{self.bfm_digest}")

    @classmethod
    def from_record(cls, r: dict) -> "RunSpec":
        return cls(r["task"], r["task_version"], r["method"], r["seed"], r["steps"], r["warm_start"], r["bfm_digest"])


def load_runs() -> dict:
    """Every recorded run, keyed by `RunSpec.key`."""
    path = OUT / "runs.json"
    return json.loads(path.read_text()) if path.exists() else {}


def save_runs(runs: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / "runs.json.tmp"
    tmp.write_text(json.dumps(runs, indent=1) + "\n")
    tmp.replace(OUT / "runs.json")


def log_curve(run_dir: Path) -> list[list[float]]:
    """[[env steps, success %], ...] of a run's learning-curve evaluations; a step logged twice (a
    resumed run replays the steps after its checkpoint) keeps its last value."""
    log = run_dir / "log.csv"
    if not log.exists():
        return []
    points = {r["step"]: r["eval/success"] for r in read_csv_log(log)
              if "eval/success" in r and r["eval/success"] == r["eval/success"]}
    return [[int(s), float(v)] for s, v in sorted(points.items())]


def train_policy(spec: RunSpec, deadline: float = 0.0, chunk: int = 500_000) -> Path | None:
    """Train ``spec`` (resuming, in chunks) and export its policy file; None when the deadline came
    first. A method that trains nothing has no policy file."""
    cfg = TaskTokensConfig(task=spec.task, method=spec.method, seed=spec.seed, progress=False,
                           run_dir=str(spec.run_dir), warm_start=spec.warm_start, eval_every=CURVE_EVERY)
    cfg.ppo.total_env_steps = spec.steps
    ckpt = spec.run_dir / "checkpoint.safetensors"
    while (done := steps_done(ckpt)) < spec.steps:
        if deadline and time.time() > deadline:
            return None
        cfg.resume, cfg.stop_at = ckpt.exists(), min(spec.steps, done + chunk)
        train_task(cfg)
    return export_policy(ckpt, spec.run_dir / "policy.safetensors")


def run_one(spec: RunSpec, episodes: int, deadline: float, commit: str) -> dict | None:
    """Train and evaluate one run; its runs.json record (``commit``: the code this process runs,
    read when it started), or None when the deadline came first."""
    bfm = load_bfm()
    if bfm_digest(bfm) != spec.bfm_digest:
        raise FrozenfitError(f"{spec.key}: the shipped BFM is {bfm_digest(bfm)}")
    probe = make_task(spec.task, 1)
    fresh_actor = build_actor(spec.method, bfm, ObsLayout(bfm.history_len, probe.obs_dim, bfm.cfg.goal_version), NUM_JOINTS)
    trains = METHODS[spec.method].trains
    if not trains:
        actor, meta = fresh_actor, {"env_steps": 0, "train_wall_s": 0.0}
    else:
        policy = train_policy(spec, deadline)
        if policy is None:
            return None
        actor = load_policy(policy, bfm)
        meta = actor.meta
    r = evaluate_actor(actor, spec.task, METHODS[spec.method].use_prior, bfm.cfg.history_offsets,
                       TaskEvalConfig(episodes=episodes))
    curve = log_curve(spec.run_dir) if trains else [[0, r["success"]]]
    return {"task": spec.task, "task_version": spec.task_version, "method": spec.method, "seed": spec.seed,
            "steps": spec.steps, "warm_start": spec.warm_start, "bfm_digest": spec.bfm_digest,
            "success": r["success"], "fall_rate": r["fall_rate"], "fall_head_height": FALL_HEAD_HEIGHT,
            "aborted": r["aborted"], "episodes": r["episodes"], "env_steps": int(meta["env_steps"]),
            "trainable_params": trainable_params(fresh_actor),
            "train_wall_s": float(meta["train_wall_s"]), "eval_wall_s": r["wall_s"],
            "task_config": probe.config_dict(), "curve": curve,
            "curve_episodes": CURVE_EPISODES if trains else r["episodes"],
            "commit": commit, "machine": machine_info(),
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def wanted(tasks, methods, steps: int, warm: int, digest: str, max_seeds: int | None = None) -> list[RunSpec]:
    """The runs the table needs under these settings, in sweep order."""
    return [RunSpec.of(task, method, seed, steps, warm, digest)
            for task in tasks for method in methods
            for seed in range(min(METHODS[method].seeds, max_seeds or METHODS[method].seeds))]


def select(runs: dict, specs: list[RunSpec]) -> dict:
    """The recorded runs among ``specs`` (key -> record)."""
    return {s.key: runs[s.key] for s in specs if s.key in runs}


def summarise(runs: dict) -> dict:
    groups: dict = {}
    for r in runs.values():
        groups.setdefault(r["task"], {}).setdefault(r["method"], []).append(r)
    out: dict = {}
    for task, methods in groups.items():
        out[task] = {}
        for method, rs in methods.items():
            s = np.array([r["success"] for r in rs])
            out[task][method] = {"success_mean": round(float(s.mean()), 2),
                                 "success_std": round(float(s.std()), 2), "seeds": len(rs),
                                 "episodes": int(sum(r["episodes"] for r in rs)),
                                 "steps": int(rs[0]["steps"]),
                                 "env_steps": int(np.mean([r["env_steps"] for r in rs])),
                                 "trainable_params": int(rs[0]["trainable_params"]),
                                 "wall_s": round(float(np.mean([r["train_wall_s"] for r in rs])), 1),
                                 "machines": sorted({machine_label(r["machine"]) for r in rs}),
                                 "commits": sorted({r["commit"] for r in rs})}
    return out


def table_markdown(summary: dict) -> str:
    """The README's results table, next to the paper's numbers; a row says which machine(s) its
    seeds ran on."""
    lines = ["| task | method | success % (mean ± std) | seeds × episodes | paper | env steps | trainable params "
             "| train wall | machine |",
             "|---|---|---|---|---|---|---|---|---|"]
    for task in TASKS:
        for method in METHODS:
            r = summary.get(task, {}).get(method)
            if r is None:
                continue
            paper = PAPER.get(method, {}).get(task)
            std = f" ± {r['success_std']:.1f}" if r["seeds"] > 1 else ""
            lines.append(f"| {task} | {method} | **{r['success_mean']:.1f}**{std} | {r['seeds']} × "
                         f"{r['episodes'] // r['seeds']} | {'–' if paper is None else paper} | "
                         f"{r['env_steps'] / 1e6:.2f} M | {r['trainable_params']:,} | "
                         f"{r['wall_s'] / 60:.0f} min | {' + '.join(r['machines'])} |")
    return "\n".join(lines) + "\n"


def sample_efficiency(runs: dict) -> dict:
    """Per trained run: its learning curve (env steps, success %) and the first point at >= 90 % of
    the run's final success (None when the final success is 0)."""
    out: dict = {}
    for r in runs.values():
        if r["steps"] == 0 or len(r["curve"]) < 2:
            continue
        hit = next((s for s, v in r["curve"] if v >= 0.9 * r["success"]), None) if r["success"] > 0 else None
        out.setdefault(r["task"], {}).setdefault(r["method"], []).append(
            {"seed": r["seed"], "final_success": r["success"], "steps_to_90pct": hit,
             "eval_points": len(r["curve"]), "first_eval_step": r["curve"][0][0],
             "curve_episodes": r["curve_episodes"], "curve": r["curve"]})
    return out


def plot_curves(task: str, runs: dict, suffix: str = "") -> None:
    """Success vs env steps for every trained method on ``task`` (one colour per method, one line per
    seed); the prompt-only level, which trains nothing, is a dashed line."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    colours = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for method in METHODS:
        rs = sorted((r for r in runs.values() if r["task"] == task and r["method"] == method and r["steps"]),
                    key=lambda r: r["seed"])
        for k, r in enumerate(rs):
            ax.plot([c[0] / 1e6 for c in r["curve"]], [c[1] for c in r["curve"]], "o-", color=colours[method],
                    alpha=0.8, ms=3, label=f"{method} ({len(rs)} seed{'s' * (len(rs) > 1)})" if k == 0 else None)
    prompt = [r for r in runs.values() if r["task"] == task and r["method"] == "prompt_only"]
    if prompt:
        ax.axhline(prompt[0]["success"], ls="--", color=colours["prompt_only"],
                   label=f"prompt_only ({prompt[0]['episodes']} episodes)")
    if not ax.lines:
        plt.close(fig)
        return
    ax.set_xlabel("env steps (M)")
    ax.set_ylabel("success (%)")
    ax.set_title(f"{task}: success during training ({CURVE_EPISODES} eval episodes)")
    ax.legend(fontsize=7)
    save_figure(fig, OUT / f"curves_{task}{suffix}.png")


def derive(runs: dict, specs: list[RunSpec], tasks, suffix: str = "") -> dict:
    """Rewrite summary.json, table.md, sample_efficiency.json and the curve plots from the recorded
    runs among ``specs``. The README's table is synced only for the README's settings (no
    ``suffix``); other budgets get their own files (``summary<suffix>.json``, ...)."""
    chosen = select(runs, specs)
    summary = summarise(chosen)
    command = "python experiments/tasktokens_sweep.py (derived from runs.json)"
    write_result(OUT / f"summary{suffix}.json", {"tasks": summary, "paper": PAPER,
                                                 "runs": sorted(chosen)}, command=command)
    table = table_markdown(summary)
    (OUT / f"table{suffix}.md").write_text(table)
    if not suffix:
        sync_markdown_table(ROOT / "README.md", table)
    write_result(OUT / f"sample_efficiency{suffix}.json", {"runs": sample_efficiency(chosen)}, command=command)
    for task in tasks:
        plot_curves(task, {k: r for k, r in chosen.items() if r["task"] == task}, suffix)
    return chosen


def list_runs(runs: dict, specs: list[RunSpec]) -> None:
    """Print every run the table needs: recorded (budget, commit, machine, result) or missing."""
    for s in specs:
        r = runs.get(s.key)
        if r is None:
            print(f"MISSING   {s.key}")
        else:
            print(f"recorded  {s.key}  success {r['success']:5.1f} %  budget {r['steps']:,} "
                  f"({r['env_steps']:,} env steps)  commit {r['commit'][:12]}  {machine_label(r['machine'])}  "
                  f"train {r['train_wall_s'] / 60:.0f} min  curve {len(r['curve'])} points")


def ood(runs: dict, specs: list[RunSpec], episodes: int) -> None:
    gravity = [1.0, 1.25, 1.5, 1.75, 2.0]
    friction = [1.0, 0.8, 0.6, 0.4]
    bfm = load_bfm()
    result: dict = {}
    cases = [s for s in specs if s.task in ("steering", "direction") and s.seed == 0
             and s.method in ("task_tokens", "finetune", "ppo_scratch")]
    for s in cases:   # a machine without runs/ (a fresh clone) trains the policies again
        if not (s.run_dir / "policy.safetensors").exists():
            print(f"--ood: training {s.key} for its policy (not in runs/)", flush=True)
            train_policy(s)
    for s in cases:
        actor = load_policy(s.run_dir / "policy.safetensors", bfm)
        for name, values in (("gravity", gravity), ("friction", friction)):
            for v in values:
                phys = PhysicsConfig(gravity_scale=v) if name == "gravity" else PhysicsConfig(friction_scale=v)
                r = evaluate_actor(actor, s.task, actor.meta["use_prior"], bfm.cfg.history_offsets,
                                   TaskEvalConfig(episodes=episodes, physics=phys))
                result.setdefault(s.task, {}).setdefault(s.method, {}).setdefault(name, []).append(
                    {"scale": v, "success": r["success"]})
    write_result(OUT / "ood.json", {"ood": result, "runs": [s.key for s in cases], "episodes": episodes})
    plot_ood(result, episodes)


def plot_ood(result: dict, episodes: int) -> None:
    """ood.png from ood.json's "ood": one row per task, gravity and friction side by side, one legend."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(result), 2, figsize=(10, 3.4 * len(result)), squeeze=False, sharey="row")
    for i, (task, methods) in enumerate(result.items()):
        for j, name in enumerate(("gravity", "friction")):
            ax = axes[i][j]
            for method, d in methods.items():
                ax.plot([p["scale"] for p in d[name]], [p["success"] for p in d[name]], "o-",
                        label=METHODS[method].label or method)
            ax.axvline(1.0, color="grey", ls=":", lw=1)
            ax.set_title(f"{task_class(task).label}, {name}", fontsize=10)
            ax.set_xlabel(f"{name} scale (x the training value; dotted: trained)")
            if j == 0:
                ax.set_ylabel("success (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.suptitle(f"Out of distribution: seed-0 policies, {episodes} episodes per point")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save_figure(fig, OUT / "ood.png", layout=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="env-step budget of every trained run")
    ap.add_argument("--episodes", type=int, default=1024)
    ap.add_argument("--max-minutes", type=float, default=0.0, help="stop between chunks after this long (0: no limit)")
    ap.add_argument("--warm-start", type=int, default=DEFAULT_WARM,
                    help="DAgger iterations for the warm-startable methods (0: cold)")
    ap.add_argument("--max-seeds", type=int, default=None, help="at most this many seeds per method (a first pass)")
    ap.add_argument("--list", action="store_true", help="print the runs the table needs (recorded or missing); train nothing")
    ap.add_argument("--ood", action="store_true")
    ap.add_argument("--ood-episodes", type=int, default=256, help="episodes per OOD point")
    ap.add_argument("--replot", action="store_true", help="redraw ood.png from ood.json; train nothing")
    a = ap.parse_args()
    if a.replot:
        r = json.loads((OUT / "ood.json").read_text())
        # files written before "episodes" was recorded say it in their command line
        episodes = r.get("episodes") or int(re.search(r"--ood-episodes (\d+)", r["command"]).group(1))
        plot_ood(r["ood"], episodes)
        return
    for name in ("steps", "episodes"):
        if getattr(a, name) <= 0:
            ap.error(f"--{name} must be positive")
    digest = bfm_digest(load_bfm())
    # the table always covers every task and method; --tasks/--methods only limit what trains now
    table_specs = wanted(TASKS, METHODS, a.steps, a.warm_start, digest)
    runs = load_runs()
    commit = git_commit()   # the code this process runs, whatever is committed while it trains
    if a.list:
        list_runs(runs, table_specs)
        return
    deadline = time.time() + 60 * a.max_minutes if a.max_minutes > 0 else 0.0
    suffix = "" if (a.steps, a.warm_start) == (DEFAULT_STEPS, DEFAULT_WARM) else f"_steps{a.steps}_warm{a.warm_start}"
    for spec in wanted(a.tasks, a.methods, a.steps, a.warm_start, digest, a.max_seeds):
        if spec.key in runs:
            continue
        if deadline and time.time() > deadline:
            print("stopped at --max-minutes; rerun to continue")
            break
        r = run_one(spec, a.episodes, deadline, commit)
        if r is None:
            print(f"{spec.key}: stopped at the deadline; rerun to continue")
            break
        runs = load_runs()    # merge: another sweep may have recorded runs meanwhile
        runs[spec.key] = r
        save_runs(runs)
        print(f"{spec.key}: success {r['success']:.1f}%  ({r['env_steps']:,} steps)", flush=True)
        derive(runs, table_specs, TASKS, suffix)
    derive(runs, table_specs, TASKS, suffix)
    if a.ood:
        ood(runs, table_specs, a.ood_episodes)


if __name__ == "__main__":
    sys.exit(run_main(main))
