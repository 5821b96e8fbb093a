"""PPO training throughput before and after the speed-ups, and what bfloat16 changes
-> results/rl/throughput.json (+ throughput.png).

Before: the code at BEFORE (the commit preceding the speed-ups), exported into a scratch folder and
run from there; after: this checkout, in fp32 and in bf16 (`--ppo.precision`). Every configuration
runs in each of ``--rounds`` interleaved rounds and the median counts, so machine drift hits all
alike. Rates are training-loop rates (rollout + update, no learning-curve evaluations): the mean of
the PPO log's env_steps_per_s after its first iteration.

- Task Tokens: a cold-start Direction run, 512 environments (the training default).
- Teacher: the teacher recipe (`TeacherConfig` defaults), against raw physics (`BatchedSim.step`
  alone on all cores, PD targets near the standing pose) measured in the same rounds.
- Evaluations: one learning-curve evaluation's wall time against the training time between two,
  for each interval (what share of a run's wall time the curve costs).
- bf16: the frozen BFM's action error against fp32 beside the exploration noise, the log-ratio
  noise PPO would see if only the update ran in bf16 (why the rollout runs in it too), the shipped
  Direction policy evaluated both ways, and short training curves in both precisions (the teacher
  from scratch; Direction Task Tokens in the sweep's warm-started protocol).
Run it on an otherwise idle machine (about 35 minutes on 2 cores).

    python benchmarks/rl_throughput.py [--rounds 3] [--curve-steps 1500000]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from frozenfit.common.results import env_running, export_commit
from frozenfit.common.script import run_main

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "rl"
BEFORE = "c6571cf"   # the code before the speed-ups (fp32 only: it has no --ppo.precision)
TT_STEPS = 512 * 32 * 5      # 5 iterations: the first (warm-up) is not counted
TEACHER_STEPS = 1024 * 24 * 6
CURVE_EVERY = (10, 20, 30)    # learning-curve intervals (PPO iterations) whose eval share is reported


def export_before(work: Path) -> Path:
    """The BEFORE commit's tree in a scratch folder (its assets included)."""
    return export_commit(BEFORE, work / "before", ROOT)


def train_rate(code: Path, args: list[str], run: Path) -> float:
    """Training-loop env steps/s of one `frozenfit` training command run from ``code``."""
    env = env_running(code)
    cmd = [sys.executable, "-m", "frozenfit.cli", *args, "--no-progress", "--run-dir", str(run)]
    out = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(args[:2])} failed in {code.name}:\n{out.stderr[-2000:]}")
    rows = list(csv.DictReader((run / "log.csv").open()))
    rates = [float(r["env_steps_per_s"]) for r in rows[1:] if r.get("env_steps_per_s")]
    return sum(rates) / len(rates)


def raw_physics_rate(num_envs: int) -> float:
    """`BatchedSim.step` alone on all cores (benchmarks/humanoid_throughput.py's measurement)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from humanoid_throughput import raw_rate

    return raw_rate(num_envs, os.cpu_count() or 2)


def rates(rounds: int, work: Path) -> dict:
    """Interleaved rounds of every configuration; medians."""
    before = export_before(work)
    tt = ["tasktokens", "train", "--task", "direction", "--eval-every", "0", "--ppo.total-env-steps", str(TT_STEPS)]
    te = ["teacher", "train", "--ppo.total-env-steps", str(TEACHER_STEPS), "--ppo.checkpoint-every", "100"]
    configs = {"tt_before": (before, tt), "tt_fp32": (ROOT, tt), "tt_bf16": (ROOT, tt + ["--ppo.precision", "bf16"]),
               "teacher_before": (before, te), "teacher_fp32": (ROOT, te),
               "teacher_bf16": (ROOT, te + ["--ppo.precision", "bf16"])}
    seen: dict[str, list[float]] = {k: [] for k in [*configs, "raw"]}
    for r in range(rounds):
        for name, (code, args) in configs.items():
            seen[name].append(train_rate(code, args, work / f"{name}-{r}"))
            print(f"round {r}: {name} {seen[name][-1]:.0f} env steps/s", flush=True)
        seen["raw"].append(raw_physics_rate(1024))
        print(f"round {r}: raw physics {seen['raw'][-1]:.0f} steps/s", flush=True)
    return {k: statistics.median(v) for k, v in seen.items()} | {"all": {k: [round(x, 1) for x in v] for k, v in seen.items()}}


def eval_share(rate_bf16: float, rate_fp32: float) -> dict:
    """One learning-curve evaluation (the training default: 256 episodes) against the training
    time between two, per interval."""
    from frozenfit.bfm.policy import load_bfm
    from frozenfit.tasktokens.evaluate import TaskEvalConfig, evaluate_actor
    from frozenfit.tasktokens.train import TaskTokensConfig, build

    cfg = TaskTokensConfig(task="direction", eval_every=0, progress=False, run_dir=tempfile.mkdtemp())
    _, env, agent, _ = build(cfg)
    env.close()
    bfm = load_bfm()
    ev = TaskEvalConfig(episodes=cfg.eval_episodes, batch=cfg.eval_episodes)
    wall = evaluate_actor(agent.actor, "direction", False, bfm.cfg.history_offsets, ev)["wall_s"]
    batch = cfg.env.num_envs * cfg.ppo.num_steps
    share = {}
    for prec, rate in (("fp32", rate_fp32), ("bf16", rate_bf16)):
        share[prec] = {str(k): round(wall / (wall + k * batch / rate), 3) for k in CURVE_EVERY}
    return {"eval_wall_s": round(wall, 2), "episodes": cfg.eval_episodes, "iteration_env_steps": batch,
            "share_of_wall_by_eval_every": share}


def numerics() -> dict:
    """What bf16 does to the frozen BFM's actions and to PPO's ratio; the shipped policy both ways."""
    from frozenfit.bfm.policy import load_bfm
    from frozenfit.tasktokens.artifact import load_policy
    from frozenfit.tasktokens.evaluate import TaskEvalConfig, evaluate_actor
    from frozenfit.tasktokens.train import TaskTokensConfig, build

    cfg = TaskTokensConfig(task="direction", eval_every=0, progress=False, run_dir=tempfile.mkdtemp(),
                           method="prompt_only")
    _, env, agent, _ = build(cfg)
    obs = env.reset()
    gen = torch.Generator().manual_seed(0)
    states = []
    for _ in range(90):                      # states the prompted BFM visits, 3 s into an episode
        with torch.no_grad():
            a = agent.act(obs)
        obs = env.step(a + agent.log_std.exp() * torch.randn(a.shape, generator=gen)).obs
        states.append(obs)
    env.close()
    obs = torch.cat(states[30::20])
    with torch.no_grad():
        a32 = agent.action_mean(obs)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            a16 = agent.action_mean(obs)
        std = agent.log_std.exp()
        act = a32 + std * torch.randn(a32.shape, generator=gen)
        logr = (torch.distributions.Normal(a16, std).log_prob(act).sum(-1)
                - torch.distributions.Normal(a32, std).log_prob(act).sum(-1))
    bfm = load_bfm()
    actor = load_policy(ROOT / "frozenfit" / "assets" / "tasktokens" / "direction.safetensors", bfm)
    ev = TaskEvalConfig(episodes=512, batch=512)
    shipped = {}
    for prec in ("fp32", "bf16"):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
            shipped[prec] = evaluate_actor(actor, "direction", False, bfm.cfg.history_offsets, ev)["success"]
    return {"bfm_action_abs_error": {"mean": float((a16 - a32).abs().mean()), "max": float((a16 - a32).abs().max())},
            "exploration_std": float(std.mean()), "states": int(obs.shape[0]),
            "mixed_precision_log_ratio_std": float(logr.std()),
            "mixed_precision_clipped_fraction": float((logr.abs() > 0.2).float().mean()),
            "shipped_direction_success": shipped, "shipped_episodes": ev.episodes}


def curve(code_args: list[str], run: Path, column: str) -> list[list[float]]:
    env = env_running(ROOT)
    subprocess.run([sys.executable, "-m", "frozenfit.cli", *code_args, "--no-progress", "--run-dir", str(run)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    rows = list(csv.DictReader((run / "log.csv").open()))
    return [[int(float(r["step"])), round(float(r[column]), 3)] for r in rows if r.get(column)]


def curves(steps: int, seeds: int, work: Path) -> dict:
    """Short training curves in both precisions: the teacher's episode return from scratch (seed k
    seeds both the policy and the environments), and the sweep protocol's Direction Task Tokens
    success (warm start 40, 0.5 M steps; two seeds)."""
    out: dict = {"teacher": {}, "task_tokens_direction": {}}
    for seed in range(seeds):
        for prec in ("fp32", "bf16"):
            t = curve(["teacher", "train", "--ppo.total-env-steps", str(steps), "--ppo.seed", str(seed),
                       "--env.seed", str(seed), "--ppo.precision", prec], work / f"teacher-{prec}-{seed}",
                      "episode/return")
            out["teacher"].setdefault(prec, []).append(t)
            print(f"curve teacher {prec} seed {seed}: return {t[-1][1]:.1f}", flush=True)
            if seed >= 2:
                continue
            d = curve(["tasktokens", "train", "--task", "direction", "--seed", str(seed), "--warm-start", "40",
                       "--ppo.total-env-steps", "500000", "--ppo.precision", prec],
                      work / f"tt-{prec}-{seed}", "eval/success")
            out["task_tokens_direction"].setdefault(prec, []).append(d)
            print(f"curve task tokens {prec} seed {seed}: success {d[-1][1]:.1f}", flush=True)
    return out


def ends(runs: list[list[list[float]]]) -> dict:
    """Mean and spread over seeds of each curve's last value (the teacher: the mean of its last
    three logged iterations, which are noisy one by one)."""
    last = [float(np.mean([v for _, v in c[-3:]])) for c in runs]
    return {"values": [round(v, 2) for v in last], "mean": round(float(np.mean(last)), 2),
            "std": round(float(np.std(last, ddof=1)) if len(last) > 1 else 0.0, 2)}


def plot(payload: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from frozenfit.common.results import save_figure
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    tt, te = payload["task_tokens"], payload["teacher"]
    ax = axes[0]
    names = ["Task Tokens\nbefore", "Task Tokens\nafter fp32", "Task Tokens\nafter bf16",
             "teacher\nbefore", "teacher\nafter fp32", "teacher\nafter bf16", "raw physics"]
    vals = [tt["env_steps_per_s"]["before"], tt["after_fp32_env_steps_per_s"], tt["env_steps_per_s"]["after"],
            te["before_env_steps_per_s"], te["after_fp32_env_steps_per_s"], te["env_steps_per_s"],
            te["raw_physics_steps_per_s"]]
    ax.barh(names[::-1], vals[::-1], color=["#555", "#2a7", "#9c9", "#bbb", "#2a7", "#9c9", "#bbb"])
    ax.set_xlabel("env steps / s (training loop)")
    ax.set_title(f"throughput, {payload['cores']} cores")
    for prec, style in (("fp32", "-"), ("bf16", "--")):
        for i, c in enumerate(payload["bf16"]["curves"]["teacher"][prec]):
            axes[1].plot(*zip(*c), style, color="C0" if prec == "fp32" else "C1", label=prec if i == 0 else None)
        for i, c in enumerate(payload["bf16"]["curves"]["task_tokens_direction"][prec]):
            axes[2].plot(*zip(*c), style, marker="o", color="C0" if prec == "fp32" else "C1",
                         label=prec if i == 0 else None)
    axes[1].set(xlabel="env steps", ylabel="episode return", title="teacher from scratch")
    axes[2].set(xlabel="env steps", ylabel="success %", title="Direction, Task Tokens (warm start 40)")
    for ax in axes[1:]:
        ax.legend()
    save_figure(fig, OUT / "throughput.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--curve-steps", type=int, default=1_500_000, help="teacher curve length (env steps)")
    ap.add_argument("--curve-seeds", type=int, default=3, help="teacher seeds (Task Tokens: at most 2)")
    a = ap.parse_args()
    if a.rounds <= 0 or a.curve_steps <= 0 or a.curve_seeds <= 0:
        ap.error("--rounds, --curve-steps and --curve-seeds must be positive")
    from frozenfit.common.results import write_result
    torch.set_num_threads(2)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="rl-throughput-") as tmp:
        work = Path(tmp)
        r = rates(a.rounds, work)
        share = eval_share(r["tt_bf16"], r["tt_fp32"])
        num = numerics()
        num["curves"] = curves(a.curve_steps, a.curve_seeds, work)
    num["curve_ends"] = {name: {prec: ends(runs) for prec, runs in by_prec.items()}
                         for name, by_prec in num["curves"].items()}
    payload = {
        "task_tokens": {"env_steps_per_s": {"before": round(r["tt_before"], 1), "after": round(r["tt_bf16"], 1)},
                        "after_fp32_env_steps_per_s": round(r["tt_fp32"], 1),
                        "speedup": round(r["tt_bf16"] / r["tt_before"], 2),
                        "speedup_fp32": round(r["tt_fp32"] / r["tt_before"], 2),
                        "setting": "direction, cold start, 512 envs, horizon 32, --eval-every 0",
                        "evaluations": share},
        "teacher": {"env_steps_per_s": round(r["teacher_bf16"], 1), "raw_physics_steps_per_s": round(r["raw"], 1),
                    "ratio": round(r["teacher_bf16"] / r["raw"], 3),
                    "after_fp32_env_steps_per_s": round(r["teacher_fp32"], 1),
                    "ratio_fp32": round(r["teacher_fp32"] / r["raw"], 3),
                    "before_env_steps_per_s": round(r["teacher_before"], 1),
                    "ratio_before": round(r["teacher_before"] / r["raw"], 3),
                    "setting": "TeacherConfig defaults, 1024 envs, horizon 24"},
        "bf16": num, "before_commit": BEFORE, "rounds": a.rounds, "all_rates": r["all"], "cores": os.cpu_count(),
        "bf16_hardware": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
    }
    write_result(OUT / "throughput.json", payload, wall_s=time.time() - t0)
    plot(payload)
    print({k: payload[k] for k in ("task_tokens", "teacher")})


if __name__ == "__main__":
    sys.exit(run_main(main))
