"""Can the realism judge tell human from non-human, or only these clips from everything else?
-> results/motion/judge_validity.json (+ judge_validity.png).

The judge (frozenfit/motion/judge.py) is a fresh two-sample classifier between a motion's windows
and the held-out judge clips' (DeepMimic's five walker clips and their mirrors: one subject),
cross-validated over groups (a clip with its mirror, an episode). For it to measure
human-likeness, *other* human motion must score near 0.5. This script measures, for several judge
capacities (the default MLP on raw 1 s windows; logistic regression on them, weakly and strongly
regularised; logistic regression on per-window mean/std summaries and on std-only summaries), the
AUC against the judge clips of: the other humans' locomotion (DeepMimic's walk, run and jump, a
group each), all fifteen other DeepMimic clips, the judge clips against each other (every 2/3
split of the five, mean and spread), and the non-human references (standing, random actions, the
shipped teacher and BFM on a 1.3 m/s walk prompt; one group per episode). It also gives each
source's median nearest-neighbour distance to all *other* human sources in the standardised
mean/std summary space, a distance-based alternative.

    python experiments/motion_judge_validity.py [--envs 8] [--seconds 6]
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch

from frozenfit.bfm.prompt import Prompt
from frozenfit.common.results import save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.model import CONTROL_DT
from frozenfit.motion.clips import CLIPS
from frozenfit.motion.judge import JUDGE_CLIPS, JudgeConfig, WindowSet, clip_trajectory, frame_features, judge

from motion_realism import open_loop, prompted, rollout_args

OUT = Path(__file__).resolve().parents[1] / "results" / "motion"
HUMAN = ("walk", "run", "jump", "dance_b")                    # nearest-neighbour distances
HUMAN_SETS = {"human_locomotion": ("walk", "run", "jump"),
              "human_all_other": tuple(c for c in CLIPS if c not in JUDGE_CLIPS)}
OTHER = ("standing", "random", "teacher_v1", "bfm_v1")
JUDGES = {"mlp_raw (default)": ("raw", JudgeConfig()),
          "logistic_raw": ("raw", JudgeConfig(hidden=0)),
          "logistic_raw_wd1": ("raw", JudgeConfig(hidden=0, weight_decay=1.0)),
          "logistic_mean_std": ("summary", JudgeConfig(hidden=0)),
          "logistic_std_only": ("std", JudgeConfig(hidden=0))}


def summary(qpos: np.ndarray, cfg: JudgeConfig, std_only: bool = False) -> np.ndarray:
    """Per-window (mean, std) of the judge's per-frame features (or the std alone)."""
    f = frame_features(qpos)
    span = int(round(cfg.window_seconds / CONTROL_DT))
    rows = []
    for s in range(0, len(f) - span + 1, cfg.stride):
        w = f[s:s + span]
        rows.append(w.std(0) if std_only else np.concatenate([w.mean(0), w.std(0)]))
    return np.array(rows)


def features(trajs: list[np.ndarray], kind: str, cfg: JudgeConfig, groups: list[int] | None = None) -> WindowSet:
    """The windows (raw or summarised) of trajectories, one group per trajectory unless named."""
    if kind == "raw":
        return WindowSet.of(trajs, cfg, groups)
    ws = [summary(q, cfg, std_only=kind == "std") for q in trajs]
    groups = list(range(len(trajs))) if groups is None else groups
    return WindowSet(np.concatenate(ws), np.concatenate([np.full(len(w), g) for w, g in zip(ws, groups)]))


def split_aucs(ref: WindowSet, cfg: JudgeConfig) -> list[float]:
    """The judge clips against each other: AUC of every split of their groups into two and three."""
    out = []
    for a in itertools.combinations(np.unique(ref.groups), 2):
        side = np.isin(ref.groups, a)
        out.append(judge(WindowSet(ref.x[side], ref.groups[side]), WindowSet(ref.x[~side], ref.groups[~side]),
                         cfg)["auc"])
    return out


def main() -> None:
    a = rollout_args(__doc__, 8, 6.0)
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    pair = lambda names: [i for i in range(len(names)) for _ in (False, True)]   # a clip and its mirror
    trajs = {"judge_clips": [clip_trajectory(c, 3.0, m) for c in JUDGE_CLIPS for m in (False, True)]}
    groups = {"judge_clips": pair(JUDGE_CLIPS)}
    for c in HUMAN:
        trajs[c] = [clip_trajectory(c, 3.0, m) for m in (False, True)]
    for name, clips in HUMAN_SETS.items():
        trajs[name] = [clip_trajectory(c, 3.0, m) for c in clips for m in (False, True)]
        groups[name] = pair(clips)
    for kind in ("standing", "random"):
        trajs[kind] = list(open_loop(kind, a.envs, a.seconds))
    walk = Prompt(velocity=(1.3, 0.0), facing=0.0)
    trajs["teacher_v1"] = list(prompted("teacher", a.envs, a.seconds, walk))
    trajs["bfm_v1"] = list(prompted("bfm", a.envs, a.seconds, walk))

    judged = tuple(HUMAN_SETS) + OTHER
    aucs: dict = {}
    splits: dict = {}
    for jname, (kind, cfg) in JUDGES.items():
        ref = features(trajs["judge_clips"], kind, cfg, groups["judge_clips"])
        aucs[jname] = {s: round(judge(features(trajs[s], kind, cfg, groups.get(s)), ref, cfg)["auc"], 3)
                       for s in judged}
        sp = split_aucs(ref, cfg)
        splits[jname] = [round(x, 3) for x in sp]
        aucs[jname]["mocap_vs_mocap"] = round(float(np.mean(sp)), 3)
        print(jname, aucs[jname], flush=True)

    cfg = JudgeConfig()
    humans = ("judge_clips",) + HUMAN
    summ = {s: np.concatenate([summary(q, cfg) for q in t]) for s, t in trajs.items()}
    pool = np.concatenate([summ[h] for h in humans])
    mu, sd = pool.mean(0), pool.std(0) + 1e-6
    z = {s: (v - mu) / sd for s, v in summ.items()}
    nn = {}
    for s in HUMAN + OTHER:
        ref = np.concatenate([z[h] for h in humans if h != s])
        d = np.sqrt(((z[s][:, None, :] - ref[None]) ** 2).sum(-1)).min(1)
        nn[s] = round(float(np.median(d)), 2)
    payload = {"auc_against_judge_clips": aucs, "mocap_vs_mocap_splits": splits,
               "median_nn_distance_to_other_humans": nn, "human_sets": {k: list(v) for k, v in HUMAN_SETS.items()},
               "cross_validation": "over groups: a clip with its mirror, or an episode",
               "human_sources": list(HUMAN), "judge_clips": list(JUDGE_CLIPS), "non_human": list(OTHER),
               "judges": {k: {"features": v[0], "hidden": v[1].hidden, "weight_decay": v[1].weight_decay}
                          for k, v in JUDGES.items()},
               "rollouts": {"envs": a.envs, "seconds": a.seconds}}
    write_result(OUT / "judge_validity.json", payload, wall_s=time.perf_counter() - t0)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = ["mocap_vs_mocap", *HUMAN_SETS, *OTHER]
    grid = np.array([[aucs[j][c] for c in cols] for j in JUDGES])
    fig, ax = plt.subplots(figsize=(9, 3.2))
    im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [c + (" (human)" if c in HUMAN_SETS else "") for c in cols], rotation=30,
                  ha="right", fontsize=8)
    ax.set_yticks(range(len(JUDGES)), list(JUDGES), fontsize=8)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(im, label="AUC against the judge clips")
    ax.set_title("AUC against the judge clips, cross-validated over clips and episodes")
    save_figure(fig, OUT / "judge_validity.png")


if __name__ == "__main__":
    sys.exit(run_main(main))
