"""How human do our policies move? The realism judge and the proxies -> results/motion/realism.json.

    python experiments/motion_realism.py [--envs 16] [--seconds 10]

Rows (frozenfit/motion/judge.py, proxies.py):
- calibration: ``mocap_vs_mocap`` (the judge's held-out clips against each other: every split of
  the five clips into two and three, the mean over splits; ``splits`` lists each), ``random``
  (uniform random actions), ``standing`` (zero actions: the PD controller holding the nominal pose);
- ``teacher_v1``: the shipped teacher, and ``bfm_v1`` / ``bfm_v1_no_prompt``: the shipped BFM, on the
  same velocity prompts (a world-frame velocity of 1.0-1.6 m/s along +x, facing +x, from random
  start headings) and with no prompt at all;
- ``teacher_v2``, ``bfm_v2``, ``bfm_v2_no_prompt`` (with ``--teacher-v2`` and ``--bfm-v2``): the same
  prompts on version 2, judged against the judge's clips retargeted onto humanoid 2 (``clips_v2``
  their proxies); each version-2 row says which proxies lie in the clips' own range
  (``proxies_in_clip_range``: between the lowest and highest clip value);
- ``tasktokens/<task>``: each shipped task policy in its task's evaluation protocol;
- ``finetune/direction``, ``ppo_scratch/direction`` (and ``prompt_only/direction``): the sweep's seed-0
  policies of those methods (trained again when runs/ lacks them).
``pairwise``: Task Tokens against each baseline on Direction, on the same episode seeds: the rate
at which one judge scores a Task Tokens window as more human than the baseline's.
``clips``: the proxies of the judge's clips themselves (their range is what human looks like).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch

from frozenfit.bfm.policy import bfm_digest, load_bfm
from frozenfit.bfm.prompt import BFMController, Prompt
from frozenfit.common.results import write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.model import build_model
from frozenfit.motion.judge import JUDGE_CLIPS, JudgeConfig, WindowSet, clip_trajectory, judge, mocap_windows, pairwise
from frozenfit.motion.proxies import mean_proxies, proxies
from frozenfit.tasktokens.artifact import load_policy, shipped_policy
from frozenfit.tasktokens.env import ObsLayout
from frozenfit.tasktokens.policies import PromptOnlyActor
from frozenfit.tasktokens.realism import policy_trajectories
from frozenfit.tasktokens.tasks import TASKS, make_task
from frozenfit.teacher.policy import load_teacher

from tasktokens_sweep import DEFAULT_STEPS, DEFAULT_WARM, RunSpec, train_policy

OUT = Path(__file__).resolve().parents[1] / "results" / "motion"
NQ = build_model().nq    # the humanoid's own qpos (a scene box follows it)


@torch.no_grad()
def prompted(policy: str, envs: int, seconds: float, prompt: Prompt | None,
             teacher_path: str | Path | None = None, bfm_path: str | Path | None = None) -> np.ndarray:
    """qpos trajectories (envs, T, nq) of the BFM or the teacher on one prompt (the shipped files
    unless paths are given; the BFM's humanoid either way)."""
    bfm = load_bfm(bfm_path) if bfm_path else load_bfm()
    teacher = load_teacher(teacher_path) if teacher_path else load_teacher()
    ctl = BFMController(bfm, envs, seed=7, goal_cfg=teacher.goal_cfg)
    if prompt is not None:
        ctl.set_prompt(prompt)
        speeds = torch.linspace(1.0, 1.6, envs)      # one speed per environment along +x
        ctl.task.speed[:] = speeds
        ctl.obs = ctl.env.observe()
    out = []
    for _ in range(int(seconds / ctl.env.dt)):
        ctl.step(action=teacher.act(ctl.obs) if policy == "teacher" else None)
        out.append(ctl.env.frame.qpos[:, :NQ].double().numpy().copy())
    ctl.close()
    return np.stack(out, 1)


@torch.no_grad()
def open_loop(kind: str, envs: int, seconds: float) -> np.ndarray:
    """Random or zero actions in the bare humanoid environment."""
    from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
    from frozenfit.teacher.goals import GoalConfig, GoalTask
    env = HumanoidEnv(EnvConfig(num_envs=envs, episode_seconds=1e6, seed=3), GoalTask(GoalConfig(), envs, resample=False))
    env.reset()
    gen, out = torch.Generator().manual_seed(0), []
    for _ in range(int(seconds / env.dt)):
        a = torch.zeros(envs, env.num_actions) if kind == "standing" else torch.rand(envs, env.num_actions, generator=gen) * 2 - 1
        env.step(a)
        out.append(env.frame.qpos[:, :NQ].double().numpy().copy())
    env.close()
    return np.stack(out, 1)


def row(trajs: np.ndarray, mocap: WindowSet, cfg: JudgeConfig, version: int = 1) -> tuple[dict, WindowSet]:
    """A row of the table: the judge's verdict (one group per episode) and the mean proxies of
    humanoid ``version``'s trajectories (``mocap``: the judge's clips on that humanoid)."""
    w = WindowSet.of(list(trajs), cfg)
    return {**judge(w, mocap, cfg), "proxies": mean_proxies(list(trajs), version=version)}, w


PROXY_KEYS = ("arm_leg_swing_corr", "hands_above_shoulder", "foot_skating_cm", "joint_jerk")


def in_clip_range(row_proxies: dict, clips: dict) -> dict:
    """Per proxy: whether the row's value lies between the lowest and highest clip value (None
    where the row or every clip lacks it)."""
    out = {}
    for k in PROXY_KEYS:
        vals = [c[k] for c in clips.values() if c.get(k) is not None]
        v = row_proxies.get(k)
        out[k] = None if v is None or not vals else bool(min(vals) <= v <= max(vals))
    return out


def clip_proxies(version: int) -> dict:
    """The proxies of the judge's clips and the walk and run clips (and mirrors) on humanoid ``version``."""
    model = build_model(version=version)
    return {f"{c}{'_mirror' if m else ''}": proxies(clip_trajectory(c, 3.0, m, version), model=model, version=version)
            for c in JUDGE_CLIPS + ("walk", "run") for m in (False, True)}


def mocap_vs_mocap(mocap: WindowSet, cfg: JudgeConfig) -> dict:
    """The judge clips against each other, over every split of their groups into two sides."""
    groups = np.unique(mocap.groups)
    splits = []
    for a in itertools.combinations(groups, len(groups) // 2):
        side = np.isin(mocap.groups, a)
        v = judge(WindowSet(mocap.x[side], mocap.groups[side]), WindowSet(mocap.x[~side], mocap.groups[~side]), cfg)
        splits.append({"clips": [JUDGE_CLIPS[g] for g in a], "auc": v["auc"], "judged_human": v["judged_human"]})
    return {"auc": float(np.mean([x["auc"] for x in splits])), "auc_std": float(np.std([x["auc"] for x in splits])),
            "judged_human": float(np.mean([x["judged_human"] for x in splits])), "splits": splits}


def rollout_args(doc: str, envs: int, seconds: float, versions: bool = False) -> argparse.Namespace:
    """--envs and --seconds of the rollouts a judge script makes (and the version-2 files), checked."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--envs", type=int, default=envs)
    ap.add_argument("--seconds", type=float, default=seconds)
    if versions:
        ap.add_argument("--teacher-v2", help="teacher v2 file (with --bfm-v2: the version-2 rows)")
        ap.add_argument("--bfm-v2", help="BFM v2 file")
    a = ap.parse_args()
    for name in ("teacher_v2", "bfm_v2"):
        path = getattr(a, name, None)
        if path and not Path(path).is_file():
            ap.error(f"--{name.replace('_', '-')}: no file at {path}")
    if versions and bool(a.teacher_v2) != bool(a.bfm_v2):
        ap.error("--teacher-v2 and --bfm-v2 go together")
    if a.envs <= 0 or a.seconds <= 1:
        ap.error("--envs must be positive and --seconds above 1 (a judge window is 1 s)")
    return a


def main() -> None:
    a = rollout_args(__doc__, 16, 10.0, versions=True)
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    cfg = JudgeConfig()
    mocap = mocap_windows(cfg)
    rows: dict = {}
    rows["mocap_vs_mocap"] = {**mocap_vs_mocap(mocap, cfg),
                              "proxies": mean_proxies([clip_trajectory(c, 3.0, m) for c in JUDGE_CLIPS for m in (0, 1)])}
    for kind in ("random", "standing"):
        rows[kind], _ = row(open_loop(kind, a.envs, a.seconds), mocap, cfg)
        print(kind, rows[kind]["auc"], flush=True)
    walk = Prompt(velocity=(1.3, 0.0), facing=0.0)
    rows["teacher_v1"], _ = row(prompted("teacher", a.envs, a.seconds, walk), mocap, cfg)
    rows["bfm_v1"], _ = row(prompted("bfm", a.envs, a.seconds, walk), mocap, cfg)
    rows["bfm_v1_no_prompt"], _ = row(prompted("bfm", a.envs, a.seconds, None), mocap, cfg)
    print("teacher", rows["teacher_v1"]["auc"], "bfm", rows["bfm_v1"]["auc"], flush=True)
    extra = {}
    if a.teacher_v2:
        mocap2, clips2 = mocap_windows(cfg, version=2), clip_proxies(2)
        for name, policy, prompt in (("teacher_v2", "teacher", walk), ("bfm_v2", "bfm", walk),
                                     ("bfm_v2_no_prompt", "bfm", None)):
            rows[name], _ = row(prompted(policy, a.envs, a.seconds, prompt, a.teacher_v2, a.bfm_v2), mocap2, cfg, 2)
            rows[name]["proxies_in_clip_range"] = in_clip_range(rows[name]["proxies"], clips2)
            print(name, rows[name]["auc"], flush=True)
        extra = {"clips_v2": clips2, "files_v2": {"teacher": a.teacher_v2, "bfm": a.bfm_v2}}
    bfm = load_bfm()
    digest = bfm_digest(bfm)
    direction_windows = {}
    for task in TASKS:
        path = shipped_policy(task)
        if path.exists():
            actor = load_policy(path, bfm)
            rows[f"tasktokens/{task}"], w = row(policy_trajectories(actor, task, actor.meta["use_prior"], a.envs, a.seconds),
                                                mocap, cfg)
            if task == "direction":
                direction_windows["task_tokens"] = w
            print(task, rows[f"tasktokens/{task}"]["auc"], flush=True)
    for method in ("finetune", "ppo_scratch", "prompt_only"):
        if method == "prompt_only":
            actor, use_prior = PromptOnlyActor(bfm, ObsLayout(bfm.history_len, make_task("direction", 1).obs_dim)), True
        else:
            spec = RunSpec.of("direction", method, 0, DEFAULT_STEPS, DEFAULT_WARM, digest)
            policy = spec.run_dir / "policy.safetensors"
            if not policy.exists():
                print(f"training {spec.key} for its policy (not in runs/)", flush=True)
                policy = train_policy(spec)
            actor = load_policy(policy, bfm)
            use_prior = bool(actor.meta["use_prior"])
        rows[f"{method}/direction"], direction_windows[method] = row(
            policy_trajectories(actor, "direction", use_prior, a.envs, a.seconds), mocap, cfg)
        print(method, rows[f"{method}/direction"]["auc"], flush=True)
    pair = {f"task_tokens_vs_{m}/direction": pairwise(direction_windows["task_tokens"], direction_windows[m], mocap, cfg)
            for m in ("finetune", "ppo_scratch", "prompt_only") if "task_tokens" in direction_windows}
    write_result(OUT / "realism.json", {
        "rows": rows, "pairwise": pair, "clips": clip_proxies(1), **extra, "judge_clips": list(JUDGE_CLIPS),
        "judge": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "rollouts": {"envs": a.envs, "seconds": a.seconds},
        "note": "cross-validation is over clips and episodes; with five held-out clips a verdict "
                "between human clips varies widely from split to split (see mocap_vs_mocap.splits)"},
        wall_s=time.perf_counter() - t0)


if __name__ == "__main__":
    sys.exit(run_main(main))
