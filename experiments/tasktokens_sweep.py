"""The Task Tokens sweep -> results/tasktokens/: summary.json, runs.json, curves_<task>.png, ood.json, ood.png.

    python experiments/tasktokens_sweep.py [--tasks direction steering ...] [--methods ...]
                                           [--steps 3000000] [--max-minutes 55] [--ood]

Every (task, method, seed) is one `frozenfit tasktokens train` run under runs/tasktokens/, trained
to the same env-step budget and then evaluated in the paper's protocol (deterministic, 300-step
episodes, 1024 episodes). Finished runs are recorded in runs.json and skipped when the script is
started again; an unfinished run resumes from its checkpoint, so a sweep spans several sittings
(``--max-minutes`` stops cleanly between chunks). summary.json is rebuilt after every run:
success mean +- std over the seeds finished so far (``seeds`` says how many).
Task Tokens, fine-tuning and the latent policy warm-start from the task's hand-made prompt where
there is one (``--warm-start``, frozenfit/tasktokens/warm_start.py; its env steps count in the
budget): every BFM-based method starts from the prompt's behaviour, then PPO trains its own part.
table.md is the README's results table (next to the paper's numbers), rebuilt with summary.json
and copied into README.md in place of the table there (a test checks the two agree).
``--ood`` evaluates the seed-0 policies of task_tokens, finetune and ppo_scratch on steering and
direction under gravity x1..x2 and ground friction x1..x0.4.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from frozenfit.bfm.policy import load_bfm  # noqa: E402
from frozenfit.common.logging import read_csv_log  # noqa: E402
from frozenfit.common.results import (git_commit, machine_info, save_figure, sync_markdown_table,  # noqa: E402
                                      write_result)
from frozenfit.humanoid.model import PhysicsConfig  # noqa: E402
from frozenfit.tasktokens.artifact import export_policy, load_policy  # noqa: E402
from frozenfit.tasktokens.evaluate import TaskEvalConfig, evaluate_actor  # noqa: E402
from frozenfit.humanoid.observations import NUM_JOINTS  # noqa: E402
from frozenfit.tasktokens.env import ObsLayout  # noqa: E402
from frozenfit.tasktokens.policies import METHODS, trainable_params  # noqa: E402
from frozenfit.tasktokens.tasks import TASKS, make_task, task_class  # noqa: E402
from frozenfit.tasktokens.train import (WARM_STARTABLE, TaskTokensConfig, bfm_digest, build_actor,  # noqa: E402
                                        steps_done, train_task, trained_task_version)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "tasktokens"
SEEDS = {"task_tokens": 3, "finetune": 3, "ppo_scratch": 3, "task_tokens_prior": 1, "prompt_only": 1,
         "latent_policy": 1}
PAPER = {"task_tokens": {"reach": 94.9, "direction": 99.3, "steering": 88.7, "long_jump": 99.8, "strike": 76.6},
         "finetune": {"reach": 93.7, "direction": 99.1, "steering": 87.4, "long_jump": 47.4, "strike": 83.1},
         "latent_policy": {"reach": 84.0, "direction": 97.6, "steering": 40.7, "long_jump": 99.4, "strike": 83.2},
         "ppo_scratch": {"reach": 89.9, "direction": 97.7, "steering": 32.6, "long_jump": 61.9, "strike": 81.4},
         "prompt_only": {"reach": 24.8, "direction": 2.2, "steering": 3.8}}


def load_runs(digest: str | None = None) -> dict:
    """Recorded runs; with ``digest``, only those trained on that BFM and on the current version of
    their task (a new BFM, or a changed task, restarts those runs)."""
    path = OUT / "runs.json"
    runs = json.loads(path.read_text()) if path.exists() else {}
    if digest is not None:
        runs = {k: r for k, r in runs.items() if r.get("bfm_digest") == digest
                and r.get("task_version", 1) == task_class(r["task"]).version}
    return runs


def save_runs(runs: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / "runs.json.tmp"
    tmp.write_text(json.dumps(runs, indent=1) + "\n")
    tmp.replace(OUT / "runs.json")


def run_one(task: str, method: str, seed: int, steps: int, episodes: int, deadline: float,
            warm: int = 40, chunk: int = 500_000) -> dict | None:
    """Train (resuming, in chunks) and evaluate one run; None when the deadline came first.
    The BFM-based methods (WARM_STARTABLE) on a task with a hand-made prompt warm-start from it
    (``warm`` DAgger iterations)."""
    cfg = TaskTokensConfig(task=task, method=method, seed=seed, progress=False)
    probe = make_task(task, 1)
    if method in WARM_STARTABLE and probe.has_prior:
        cfg.warm_start = warm
    cfg.ppo.total_env_steps = steps
    ckpt = cfg.directory() / "checkpoint.safetensors"
    if ckpt.exists() and (old := trained_task_version(ckpt)) != probe.version:
        stale = cfg.directory().with_name(f"{cfg.directory().name}-task-v{old}")
        cfg.directory().rename(stale)
        print(f"{cfg.directory()}: trained on version {old} of the task, moved to {stale}; starting over")
    bfm = load_bfm(cfg.bfm)
    fresh_actor = build_actor(method, bfm, ObsLayout(bfm.history_len, probe.obs_dim), NUM_JOINTS)
    if method == "prompt_only":
        actor, meta = fresh_actor, {"env_steps": 0, "train_wall_s": 0.0}
    else:
        while (done := steps_done(ckpt)) < steps:
            if time.time() > deadline:
                return None
            cfg.resume, cfg.stop_at = ckpt.exists(), min(steps, done + chunk)
            train_task(cfg)
        actor = load_policy(export_policy(ckpt, cfg.directory() / "policy.safetensors"), bfm)
        meta = actor.meta
    r = evaluate_actor(actor, task, cfg.use_prior, bfm.cfg.history_offsets, TaskEvalConfig(episodes=episodes))
    return {"task": task, "method": method, "seed": seed, "warm_start": cfg.warm_start, "bfm_digest": bfm_digest(bfm),
            "task_version": probe.version,
            "success": r["success"], "fall_rate": r["fall_rate"],
            "episodes": r["episodes"], "env_steps": int(meta["env_steps"]),
            "trainable_params": trainable_params(fresh_actor),
            "train_wall_s": float(meta["train_wall_s"]), "eval_wall_s": r["wall_s"]}


def summarise(runs: dict) -> dict:
    tasks: dict = {}
    for r in runs.values():
        tasks.setdefault(r["task"], {}).setdefault(r["method"], []).append(r)
    out = {}
    for task, methods in tasks.items():
        out[task] = {}
        for method, rs in methods.items():
            s = np.array([r["success"] for r in rs])
            out[task][method] = {"success_mean": round(float(s.mean()), 2),
                                 "success_std": round(float(s.std()), 2), "seeds": len(rs),
                                 "episodes": int(sum(r["episodes"] for r in rs)),
                                 "env_steps": int(np.mean([r["env_steps"] for r in rs])),
                                 "trainable_params": int(rs[0]["trainable_params"]),
                                 "wall_s": round(float(np.mean([r["train_wall_s"] for r in rs])), 1)}
    return out


def write_table(summary: dict) -> None:
    """results/tasktokens/table.md: the README's results table, next to the paper's numbers; the
    README's copy is replaced with it."""
    lines = ["| task | method | success % (mean ± std) | seeds × episodes | paper | env steps | trainable params | train wall |",
             "|---|---|---|---|---|---|---|---|"]
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
                         f"{r['wall_s'] / 60:.0f} min |")
    OUT.mkdir(parents=True, exist_ok=True)
    table = "\n".join(lines) + "\n"
    (OUT / "table.md").write_text(table)
    sync_markdown_table(ROOT / "README.md", table)


def eval_curve(task: str, method: str, seed: int) -> list[tuple[float, float]]:
    """(env steps, success %) of a run's learning-curve evaluations (256 episodes each)."""
    log = ROOT / "runs" / "tasktokens" / task / method / f"seed{seed}" / "log.csv"
    if not log.exists():
        return []
    return [(r["step"], r["eval/success"]) for r in read_csv_log(log)
            if "eval/success" in r and r["eval/success"] == r["eval/success"]]


def sample_efficiency(runs: dict) -> None:
    """results/tasktokens/sample_efficiency.json: per finished run, its learning curve (env steps,
    success %) and the first point at >= 90 % of the run's final success (the issue's "a third of
    PPO-from-scratch's steps")."""
    out: dict = {}
    for r in runs.values():
        curve = eval_curve(r["task"], r["method"], r["seed"])
        if not curve or r["success"] <= 0:
            continue
        hit = next((step for step, succ in curve if succ >= 0.9 * r["success"]), None)
        out.setdefault(r["task"], {}).setdefault(r["method"], []).append(
            {"seed": r["seed"], "final_success": r["success"], "steps_to_90pct": hit,
             "eval_points": len(curve), "first_eval_step": curve[0][0], "curve": curve})
    write_result(OUT / "sample_efficiency.json", {"runs": out})


def plot_curves(task: str, runs: dict) -> None:
    """Success vs env steps for every trained method on ``task`` (one colour per method, one line per
    finished seed in ``runs``; unfinished runs are left out); the prompt-only level, which trains
    nothing, is a dashed line."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    colours = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for method in METHODS:
        seeds = sorted(r["seed"] for r in runs.values() if r["task"] == task and r["method"] == method)
        for k, seed in enumerate(seeds):
            curve = eval_curve(task, method, seed)
            if curve:
                ax.plot([c[0] / 1e6 for c in curve], [c[1] for c in curve], "o-", color=colours[method],
                        alpha=0.8, ms=3, label=f"{method} ({len(seeds)} seed{'s' * (len(seeds) > 1)})" if k == 0 else None)
    prompt = runs.get(f"{task}/prompt_only/seed0")
    if prompt is not None:
        ax.axhline(prompt["success"], ls="--", color=colours["prompt_only"], label="prompt_only (1024 episodes)")
    if not ax.lines:
        plt.close(fig)
        return
    ax.set_xlabel("env steps (M)")
    ax.set_ylabel("success (%)")
    ax.set_title(f"{task}: success during training (256 eval episodes)")
    ax.legend(fontsize=7)
    save_figure(fig, OUT / f"curves_{task}.png")


def ood(episodes: int) -> None:
    gravity = [1.0, 1.25, 1.5, 1.75, 2.0]
    friction = [1.0, 0.8, 0.6, 0.4]
    bfm = load_bfm()
    result: dict = {}
    for task in ("steering", "direction"):
        for method in ("task_tokens", "finetune", "ppo_scratch"):
            policy = ROOT / "runs" / "tasktokens" / task / method / "seed0" / "policy.safetensors"
            if not policy.exists():
                continue
            actor = load_policy(policy, bfm)
            for name, values in (("gravity", gravity), ("friction", friction)):
                for v in values:
                    phys = PhysicsConfig(gravity_scale=v) if name == "gravity" else PhysicsConfig(friction_scale=v)
                    r = evaluate_actor(actor, task, actor.meta["use_prior"], bfm.cfg.history_offsets,
                                       TaskEvalConfig(episodes=episodes, physics=phys))
                    result.setdefault(task, {}).setdefault(method, {}).setdefault(name, []).append(
                        {"scale": v, "success": r["success"]})
    write_result(OUT / "ood.json", {"ood": result})
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(result), 2, figsize=(9, 3.2 * len(result)), squeeze=False)
    for i, (task, methods) in enumerate(result.items()):
        for j, name in enumerate(("gravity", "friction")):
            ax = axes[i][j]
            for method, d in methods.items():
                ax.plot([p["scale"] for p in d[name]], [p["success"] for p in d[name]], "o-", label=method)
            ax.set_title(f"{task}: {name} scale")
            ax.set_xlabel(f"{name} (x default)")
            ax.set_ylabel("success (%)")
            ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, OUT / "ood.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--steps", type=int, default=3_000_000)
    ap.add_argument("--episodes", type=int, default=1024)
    ap.add_argument("--max-minutes", type=float, default=55.0)
    ap.add_argument("--warm-start", type=int, default=40, help="DAgger iterations for the warm-startable methods (0: cold)")
    ap.add_argument("--max-seeds", type=int, default=None, help="at most this many seeds per method (a first pass)")
    ap.add_argument("--ood", action="store_true")
    ap.add_argument("--ood-episodes", type=int, default=1024, help="episodes per OOD point")
    a = ap.parse_args()
    deadline = time.time() + 60 * a.max_minutes
    digest = bfm_digest(load_bfm())
    runs = load_runs(digest)
    for task in a.tasks:
        for method in a.methods:
            for seed in range(min(SEEDS[method], a.max_seeds or SEEDS[method])):
                key = f"{task}/{method}/seed{seed}"
                if key in runs:
                    continue
                if time.time() > deadline:
                    break
                r = run_one(task, method, seed, a.steps, a.episodes, deadline, a.warm_start)
                if r is None:
                    print(f"{key}: stopped at the deadline; rerun to continue")
                    break
                runs = load_runs(digest)    # merge: another sweep may have recorded runs meanwhile
                runs[key] = r
                save_runs(runs)
                print(f"{key}: success {r['success']:.1f}%  ({r['env_steps']:,} steps)")
                summary = summarise(runs)
                write_result(OUT / "summary.json", {"tasks": summary, "paper": PAPER,
                                                    "commit": git_commit(), "machine": machine_info()})
                write_table(summary)
        plot_curves(task, runs)
    sample_efficiency(runs)
    if a.ood:
        ood(a.ood_episodes)


if __name__ == "__main__":
    main()
