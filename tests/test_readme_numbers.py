"""The README's prose and table numbers are those of the results files they cite.

Each claim is a README snippet with ``{}`` where numbers go, the results file, and one getter per
number (with its format). The test formats the file's values into the snippet and requires the
README to contain it; a re-measured file whose numbers moved fails here until the README follows.
(The Task Tokens results table is checked whole against table.md by its own test.)
"""

import json
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    return json.loads((ROOT / "results" / name).read_text())


def run(name: str, **match):
    """The first entry of ``runs`` in file ``name`` whose fields equal ``match``."""
    return next(r for r in load(name)["runs"] if all(r.get(k) == v for k, v in match.items()))


def tt(task: str, method: str, key: str = "success_mean"):
    return load("tasktokens/summary.json")["tasks"][task][method][key]


def curve(task: str, seed: int = 0, method: str = "task_tokens") -> list[str]:
    runs = load("tasktokens/sample_efficiency.json")["runs"][task][method]
    return [f1(v) for _, v in next(r for r in runs if r["seed"] == seed)["curve"]]


def bfm(mod: str, key: str):
    return load("bfm/eval.json")["modalities"][mod][key]


def ceiling(task: str, *keys):
    d = load("tasktokens/ceiling.json")["teachers"]["v1"]["tasks"][task]
    for k in keys:
        d = d[k]
    return d


def pct(x):
    return f"{100 * x:.1f}"


def f1(x):
    return f"{x:.1f}"


def f2(x):
    return f"{x:.2f}"


def thousands(x):
    return f"{x:,}"


def clip(name: str, key: str, version: int = 1):
    d = load("motion/retarget.json")
    return (d["clips"] if version == 1 else d[f"v{version}"]["clips"])[name][key]


def up_for(name: str, version: int = 1) -> str:
    f = clip(name, "physics_open_loop", version)["fell_after_s"]
    return "3 s (no fall)" if f is None else f"{f:.2f} s"



def realism_proxy(d: dict, row: str, key: str) -> str:
    """A realism.json proxy as the README's table prints it ('–' where undefined)."""
    x = d["rows"][row]["proxies"].get(key)
    if x is None:
        return "–"
    return f"{100 * x:.0f} %" if key == "hands_above_shoulder" else (f"{x:.2f}" if key == "arm_leg_swing_corr" else f"{x:.1f}")


def walking_proxy(d: dict, key: str) -> list[float]:
    """A proxy over the realism rows of policies that walk (at least 100 walking frames an episode)."""
    return [r["proxies"][key] for name, r in d["rows"].items()
            if name not in ("mocap_vs_mocap", "standing", "random") and (r["proxies"]["walking_frames"] or 0) >= 100]

def long_budget(task: str, method: str) -> dict:
    return load("tasktokens/long_budget.json")["runs"][task][method]


def pilot(name: str) -> dict:
    return load("teacher/v2_pilots.json")["pilots"][name]


CLAIMS = [
    # teacher v2's pilots
    ("windows at D = {} after {} M steps, where its clamped reward is flat ({} a step)", "teacher/v2_pilots.json",
     [lambda d: f2(pilot("C")["curve"][-1]["d_policy"]), lambda d: f1(pilot("C")["steps"] / 1e6),
      lambda d: f"{pilot('C')['curve'][-1]['style']:.3f}"]),
    # the Shapes-32 benchmark's originals and their noise curves
    ("`resnet56_shapes32.safetensors`: **{} %** and **{} %** test accuracy on\n  the {} test images",
     "nern/benchmark.json",
     [lambda d: f2(d["models"]["resnet20"]["test_acc"]), lambda d: f2(d["models"]["resnet56"]["test_acc"]),
      lambda d: thousands(d["test_images"])]),
    *[(f"| {label} | {{}} | {{}} | {{}} | {{}} | {{}} | {{}} |", "nern/benchmark.json",
       [lambda d, g=g, s=s: f2(dict(g(d))[s]) for s in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)])
      for label, g in (("ResNet-20, Shapes-32", lambda d: d["noise_sensitivity_by_model"]["resnet20"]),
                       ("ResNet-56, Shapes-32", lambda d: d["noise_sensitivity_by_model"]["resnet56"]),
                       ("ResNet-20, digits", lambda d: d["noise_sensitivity_digits_resnet20"]))],
    ("A relative weight error of 0.1 costs the ResNet-20 {} points and 0.2 costs {}", "nern/benchmark.json",
     [lambda d: f1(d["models"]["resnet20"]["test_acc"] - dict(d["noise_sensitivity_by_model"]["resnet20"])[0.1]),
      lambda d: f1(d["models"]["resnet20"]["test_acc"] - dict(d["noise_sensitivity_by_model"]["resnet20"])[0.2])]),
    # runs[0] of throughput.json is the 3x32x32 ResNet-20
    ("about 68k distillation steps, which\n  at the {} it/s below would be ~{} hours of one ResNet-20 fit", "nern/throughput.json",
     [lambda d: f2(d["runs"][0]["iterations_per_s"]), lambda d: f"{68_000 / d['runs'][0]['iterations_per_s'] / 3600:.0f}"]),
    ("step of the 32×32 ResNet-20 costs about {} reconstruction-only steps ({} against\n  {} it/s on 2 threads",
     "nern/throughput.json",
     [lambda d: f"{d['runs'][0]['reconstruction_only_iterations_per_s'] / d['runs'][0]['iterations_per_s']:.0f}",
      lambda d: f2(d["runs"][0]["iterations_per_s"]), lambda d: f1(d["runs"][0]["reconstruction_only_iterations_per_s"])]),
    # the paper's cold start at a long budget
    ("cold start, the paper's method, ran its whole budget, {} M env steps, and ended at {} % on {} held-out "
     "episodes, its curve never above {} %", "tasktokens/long_budget.json",
     [lambda d: f1(long_budget("direction", "task_tokens_cold")["steps"] / 1e6),
      lambda d: f1(long_budget("direction", "task_tokens_cold")["final_success"]),
      lambda d: str(long_budget("direction", "task_tokens_cold")["final_episodes"]),
      lambda d: f1(max(v for _, v in long_budget("direction", "task_tokens_cold")["curve"]))]),
    ("plateau rule (at least {} M steps; the mean of its last {} curve points within {} points of\n  the {} before) at {} M "
     "env steps and ended at {} % on {} held-out\n  episodes: it begins at {} % after the DAgger steps",
     "tasktokens/long_budget.json",
     [lambda d: f"{d['plateau_rule']['min_steps'] / 1e6:.0f}", lambda d: str(d["plateau_rule"]["points"]),
      lambda d: f1(d["plateau_rule"]["tol"]), lambda d: str(d["plateau_rule"]["points"]),
      lambda d: f1(long_budget("direction", "task_tokens_warm")["steps"] / 1e6),
      lambda d: f1(long_budget("direction", "task_tokens_warm")["final_success"]),
      lambda d: str(long_budget("direction", "task_tokens_warm")["final_episodes"]),
      lambda d: f1(long_budget("direction", "task_tokens_warm")["curve"][1][1])]),
    ("(curve {}-{} %, drifting down). At equal steps it is\n  {}-{} points above the cold start ({} curve points up to\n  {} M steps",
     "tasktokens/long_budget.json",
     [lambda d: f1(min(v for s, v in long_budget("direction", "task_tokens_warm")["curve"] if s > 0)),
      lambda d: f1(max(v for _, v in long_budget("direction", "task_tokens_warm")["curve"])),
      lambda d: f1(min(v for s, v in d["summary"]["direction"]["warm_minus_cold"] if s > 0)),
      lambda d: f1(max(v for s, v in d["summary"]["direction"]["warm_minus_cold"] if s > 0)),
      lambda d: str(sum(1 for s, _ in d["summary"]["direction"]["warm_minus_cold"] if s > 0)),
      lambda d: f1(d["summary"]["direction"]["warm_minus_cold"][-1][0] / 1e6)]),
    ("no BFM) ran its whole budget, {} M env steps, and ended at {} % on {}\n  held-out episodes (falls in {} %): "
     "its curve is 0 % up to {} M steps, then\n  climbs to 90 % of its final at {} M steps ({}-{} % from 10 M steps on)",
     "tasktokens/long_budget.json",
     [lambda d: f1(long_budget("direction", "ppo_scratch")["steps"] / 1e6),
      lambda d: f1(long_budget("direction", "ppo_scratch")["final_success"]),
      lambda d: str(long_budget("direction", "ppo_scratch")["final_episodes"]),
      lambda d: f1(long_budget("direction", "ppo_scratch")["final_fall_rate"]),
      lambda d: f1(max(s for s, v in long_budget("direction", "ppo_scratch")["curve"] if v == 0) / 1e6),
      lambda d: f1(long_budget("direction", "ppo_scratch")["steps_to_90pct"] / 1e6),
      lambda d: f1(min(v for s, v in long_budget("direction", "ppo_scratch")["curve"] if s >= 10e6)),
      lambda d: f1(max(v for s, v in long_budget("direction", "ppo_scratch")["curve"] if s >= 10e6))]),
    ("On Strike all three runs stopped on the {}\n  rule", "tasktokens/long_budget.json",
     [lambda d: "/".join(sorted({r["stopped"] for r in d["runs"]["strike"].values()}))]),
    ("its curve peaks at {} % at\n  {} M steps, falls to {} % and ends at {} % on {} held-out episodes\n  (falls in {} %) after {} M env steps",
     "tasktokens/long_budget.json",
     [lambda d: f1(max(v for _, v in long_budget("strike", "task_tokens_cold")["curve"])),
      lambda d: f1(max(long_budget("strike", "task_tokens_cold")["curve"], key=lambda p: p[1])[0] / 1e6),
      lambda d: f1(min(v for s, v in long_budget("strike", "task_tokens_cold")["curve"] if s > 1.5e6)),
      lambda d: f1(long_budget("strike", "task_tokens_cold")["final_success"]),
      lambda d: str(long_budget("strike", "task_tokens_cold")["final_episodes"]),
      lambda d: f1(long_budget("strike", "task_tokens_cold")["final_fall_rate"]),
      lambda d: f1(long_budget("strike", "task_tokens_cold")["steps"] / 1e6)]),
    ("PPO from scratch ended at {} %\n  after {} M steps with falls in {} % of the episodes; its last curve point,\n  {} %, is its highest",
     "tasktokens/long_budget.json",
     [lambda d: f1(long_budget("strike", "ppo_scratch")["final_success"]),
      lambda d: f1(long_budget("strike", "ppo_scratch")["steps"] / 1e6),
      lambda d: f1(long_budget("strike", "ppo_scratch")["final_fall_rate"]),
      lambda d: f1(long_budget("strike", "ppo_scratch")["curve"][-1][1])
      if long_budget("strike", "ppo_scratch")["curve"][-1][1] == max(v for _, v in long_budget("strike", "ppo_scratch")["curve"])
      else "not its highest"]),
    ("is {} ({} M against {} M steps)", "tasktokens/long_budget.json",
     [lambda d: f1(d["summary"]["strike"]["scratch_over_cold_steps_to_90pct"]),
      lambda d: f2(long_budget("strike", "ppo_scratch")["steps_to_90pct"] / 1e6),
      lambda d: f2(long_budget("strike", "task_tokens_cold")["steps_to_90pct"] / 1e6)]),
    ("The warm start begins at {} %\n  after the DAgger steps, stays at {}-{} % and ends at {} % after\n  {} M steps; at equal steps it is {}-{} points above the cold start\n  ({} curve points up to {} M steps)",
     "tasktokens/long_budget.json",
     [lambda d: f1(long_budget("strike", "task_tokens_warm")["curve"][1][1]),
      lambda d: f1(min(v for s, v in long_budget("strike", "task_tokens_warm")["curve"] if s > 0)),
      lambda d: f1(max(v for _, v in long_budget("strike", "task_tokens_warm")["curve"])),
      lambda d: f1(long_budget("strike", "task_tokens_warm")["final_success"]),
      lambda d: f1(long_budget("strike", "task_tokens_warm")["steps"] / 1e6),
      lambda d: f1(min(v for s, v in d["summary"]["strike"]["warm_minus_cold"] if s > 0)),
      lambda d: f1(max(v for s, v in d["summary"]["strike"]["warm_minus_cold"] if s > 0)),
      lambda d: str(sum(1 for s, _ in d["summary"]["strike"]["warm_minus_cold"] if s > 0)),
      lambda d: f1(d["summary"]["strike"]["warm_minus_cold"][-1][0] / 1e6)]),
    # data-parallel training
    ("batch (largest difference {})", "rl/ddp.json", [lambda d: f"{d['equivalence_max_abs_diff']:.1e}"]),
    ("trains at {} env steps/s with 1 process and {} with 2", "rl/ddp.json",
     [lambda d: f"{d['scaling']['1']:,.0f}", lambda d: f"{d['scaling']['2']:,.0f}"]),
    # running next to other work
    ("takes\n{}× its idle time and a short training run {}×", "ux/contention.json",
     [lambda d: f1(d["eval"]["ratio"]), lambda d: f1(d["train"]["ratio"])]),
    ("Before, they took {}× and {}×", "ux/contention.json",
     [lambda d: f1(d["before"]["eval"]["ratio"]), lambda d: f1(d["before"]["train"]["ratio"])]),
    ("({} s and\n{} s now, {} s and {} s before)", "ux/contention.json",
     [lambda d: f1(d["eval"]["idle_s"]), lambda d: f1(d["train"]["idle_s"]), lambda d: f1(d["before"]["eval"]["idle_s"]),
      lambda d: f1(d["before"]["train"]["idle_s"])]),
    # human motion data
    *[(f"| {c} | {{}} | {{}} / {{}} cm | {{}} | {{}} | {{}} / {{}} cm | {{}} | {{}} |", "motion/retarget.json",
       [lambda d, c=c: str(clip(c, "frames")), lambda d, c=c: f1(clip(c, "error_mean_cm")),
        lambda d, c=c: f1(clip(c, "error_max_cm")), lambda d, c=c: str(clip(c, "limit_violations")),
        lambda d, c=c: up_for(c), lambda d, c=c: f1(clip(c, "error_mean_cm", 2)), lambda d, c=c: f1(clip(c, "error_max_cm", 2)),
        lambda d, c=c: str(clip(c, "limit_violations", 2)), lambda d, c=c: up_for(c, 2)])
      for c in ("walk", "run", "jump", "walker_0walk_forward", "dance_b", "crawl", "kick", "getup_faceup", "backflip")],
    ("the walk's\n  key-point error drops from {} to {} cm, the legs' from {} to {} cm, and {} of the\n  {} clips pass the `used` rule against {} on version 1", "motion/retarget.json",
     [lambda d: f1(clip("walk", "error_mean_cm")), lambda d: f1(clip("walk", "error_mean_cm", 2)),
      lambda d: f1(clip("walk", "error_mean_cm_by_point")["right_thigh"]),
      lambda d: f1(clip("walk", "error_mean_cm_by_point", 2)["right_thigh"]),
      lambda d: str(len(d["v2"]["used"])), lambda d: str(len(d["clips"])), lambda d: str(len(d["used"]))]),
    ("{} cm at every leg point", "motion/retarget.json",
     [lambda d: f1(clip("walk", "error_mean_cm_by_point")["right_thigh"])]),
    ("{}–{} cm at the shoulders", "motion/retarget.json",
     [lambda d: f1(clip("walk", "error_mean_cm_by_point")["right_upper_arm"]),
      lambda d: f1(clip("walk", "error_mean_cm_by_point")["head"])]),
    ("judge clips against each other **{}** on average over the ten 2/3 splits of the five clips\n  (single splits {}–{}), the other humans' locomotion (DeepMimic's walk, run and jump)\n  {}, all fifteen other DeepMimic clips {} (other activities), and standing, random\n  actions, the teacher and the BFM walking {} under every capacity tried",
     "motion/judge_validity.json",
     [lambda d: f2(d["auc_against_judge_clips"]["mlp_raw (default)"]["mocap_vs_mocap"]),
      lambda d: f2(min(d["mocap_vs_mocap_splits"]["mlp_raw (default)"])),
      lambda d: f2(max(d["mocap_vs_mocap_splits"]["mlp_raw (default)"])),
      lambda d: f2(d["auc_against_judge_clips"]["mlp_raw (default)"]["human_locomotion"]),
      lambda d: f2(d["auc_against_judge_clips"]["mlp_raw (default)"]["human_all_other"]),
      lambda d: f2(min(r[s] for r in d["auc_against_judge_clips"].values()
                       for s in ("standing", "random", "teacher_v1", "bfm_v1")))]),
    ("{} for the walk clip,\n  {} for the teacher and {} for the BFM walking, but {} for standing and\n  {}–{} for the other human activities",
     "motion/judge_validity.json",
     [lambda d, k=k: f1(d["median_nn_distance_to_other_humans"][k]) for k in ("walk", "teacher_v1", "bfm_v1", "standing")]
     + [lambda d: f1(min(d["median_nn_distance_to_other_humans"][k] for k in ("run", "jump", "dance_b"))),
        lambda d: f1(max(d["median_nn_distance_to_other_humans"][k] for k in ("run", "jump", "dance_b")))]),
    *[(f"| {r} | {{}} | {{}} % | {{}} | {{}} | {{}} |", "motion/realism.json",
       [lambda d, r=r: f2(d["rows"][r]["auc"]), lambda d, r=r: f"{100 * d['rows'][r]['judged_human']:.0f}",
        lambda d, r=r: realism_proxy(d, r, "arm_leg_swing_corr"), lambda d, r=r: realism_proxy(d, r, "hands_above_shoulder"),
        lambda d, r=r: realism_proxy(d, r, "foot_skating_cm")])
      for r in ("mocap_vs_mocap", "standing", "random", "teacher_v1", "bfm_v1", "bfm_v1_no_prompt",
                "tasktokens/direction", "tasktokens/steering", "tasktokens/reach", "tasktokens/strike",
                "tasktokens/long_jump", "tasktokens/path_follow", "finetune/direction", "ppo_scratch/direction",
                "prompt_only/direction")],
    ("the shoulder in {}–{} % of walking frames (mocap: never), swing arms and legs with a\n  correlation of {} to {} (mocap {}) and slide {}–{} cm per stance phase (mocap {})", "motion/realism.json",
     [lambda d: f"{100 * min(walking_proxy(d, 'hands_above_shoulder')):.0f}",
      lambda d: f"{100 * max(walking_proxy(d, 'hands_above_shoulder')):.0f}",
      lambda d: f2(min(walking_proxy(d, "arm_leg_swing_corr"))).replace("-", "−"),
      lambda d: f2(max(walking_proxy(d, "arm_leg_swing_corr"))),
      lambda d: f2(d["rows"]["mocap_vs_mocap"]["proxies"]["arm_leg_swing_corr"]),
      lambda d: f"{min(walking_proxy(d, 'foot_skating_cm')):.0f}", lambda d: f"{max(walking_proxy(d, 'foot_skating_cm')):.0f}",
      lambda d: f1(d["rows"]["mocap_vs_mocap"]["proxies"]["foot_skating_cm"])]),
    ("fine-tuning's at a rate of {}, than PPO from scratch's at {} and than the prompt alone's at\n  {}:", "motion/realism.json",
     [lambda d, m=m: f2(d["pairwise"][f"task_tokens_vs_{m}/direction"]) for m in ("finetune", "ppo_scratch", "prompt_only")]),
    ("our x-y-z order represents {} of\n  {} clips ({} % of all frames have a joint off by more than 15°), but **x-z-y** — abduction,\n  twist, then flexion innermost — represents {} ({} % of frames)", "motion/kinematics.json",
     [lambda d: str(d["summary"]["v1_ranges_xyz"]["clips_represented"]), lambda d: str(len(d["clips"])),
      lambda d: f1(100 * d["summary"]["v1_ranges_xyz"]["mean_frames_over_15deg"]),
      lambda d: str(d["summary"]["v1_ranges_xzy"]["clips_represented"]),
      lambda d: f1(100 * d["summary"]["v1_ranges_xzy"]["mean_frames_over_15deg"])]),
    ("dance_a (a shoulder {}° off)", "motion/kinematics.json",
     [lambda d: f"{d['clips']['dance_a']['v1_ranges_xzy']['worst_joint_max_deg']:.0f}"]),
    ("{} of {} clips (mirrors included) pass the `used` rule", "motion/retarget.json",
     [lambda d: str(len(d["used"])), lambda d: str(len(d["clips"]))]),
    # NeRN on the embedded default
    ("ResNet-20 (1×1-conv shortcuts, {} represented conv parameters)", "nern/embedded.json",
     [lambda d: thousands(d["runs"][0]["represented_params"])]),
    ("trained here on the embedded digits: **{} %** test accuracy", "nern/embedded.json",
     [lambda d: f2(d["original_acc"])]),
    *[(f"| {p} | {{}} (43%) | {{}} % | +{{}} | {{}} | {{}} | {{}} min |", "nern/embedded.json",
       [lambda d, p=p: thousands(run("nern/embedded.json", permutation=p)["predictor_params"]),
        lambda d, p=p: f2(run("nern/embedded.json", permutation=p)["reconstructed_acc"]),
        lambda d, p=p: f2(d["original_acc"] - run("nern/embedded.json", permutation=p)["reconstructed_acc"]),
        lambda d, p=p: f"{run('nern/embedded.json', permutation=p)['final_rmse']:.4f}",
        lambda d, p=p: thousands(run("nern/embedded.json", permutation=p)["artifact_bytes"]),
        lambda d, p=p: f1(run("nern/embedded.json", permutation=p)["wall_s"] / 60)])
      for p in ("none", "in_filter", "cross_filter")],
    # permutation speed
    ("| one 512×512×3×3 layer | {} | {} s | **{} s** (target < 120 s) |", "nern/permutation_speed.json",
     [lambda d: thousands(d["layer_512x512x3x3"]["kernels"]), lambda d: f2(d["layer_512x512x3x3"]["in_filter_s"]),
      lambda d: f1(d["layer_512x512x3x3"]["cross_filter_s"])]),
    ("| whole ResNet-18 | {} | {} s | {} min (the reference: hours) |", "nern/permutation_speed.json",
     [lambda d: thousands(d["resnet18"]["kernels"]), lambda d: f2(d["resnet18"]["in_filter_s"]),
      lambda d: f1(d["resnet18"]["cross_filter_s"] / 60)]),
    # schedules and data-free
    *[(f"| {label} | {{}} | {{}} | {{}} |", "nern/schedule.json",
       [lambda d, s=s: f2(run("nern/schedule.json", schedule=s)["reconstructed_acc"]),
        lambda d, s=s: f2(run("nern/schedule.json", schedule=s)["best_val_acc"]),
        lambda d, s=s: f"{run('nern/schedule.json', schedule=s)['final_rmse']:.4f}"])
      for label, s in (("joint loss from iteration 0", "joint"),
                       ("reconstruction warm-up, then joint", "warmup_joint"),
                       ("decoupled: reconstruction, then distillation only", "decoupled"))],
    ("distilling on noise images gives {}% test accuracy, against {}% on real images",
     "nern/data_free.json", [lambda d: f2(run("nern/data_free.json", inputs="noise")["reconstructed_acc"]),
                             lambda d: f2(run("nern/data_free.json", inputs="real")["reconstructed_acc"])]),
    # pruning
    *[(f"| {int(100 * r)}% | {{}} | {{}} | {{}} | {{}} |", "nern/pruning.json",
       [lambda d, i=i: f2(d["curves"]["layer"]["nern"][i]), lambda d, i=i: f2(d["curves"]["layer"]["magnitude"][i]),
        lambda d, i=i: f2(d["curves"]["global"]["nern"][i]), lambda d, i=i: f2(d["curves"]["global"]["magnitude"][i])])
      for i, r in ((0, 0.1), (2, 0.3), (4, 0.5), (6, 0.7))],
    # fit throughput
    *[(f"| {label} | {{}} | {{}} / {{}} ms | {{}} ms | {{}} ms | {{}} ms |", "nern/throughput.json",
       [lambda d, i=i: f2(d["runs"][i]["iterations_per_s"]),
        *[lambda d, i=i, k=k: f"{d['runs'][i]['breakdown'][k]['ms']:,.0f}"
          for k in ("predict_subset", "predict_rest", "original_forward", "reconstructed_forward", "backward")]])
      for i, label in ((0, "ResNet-20, 3×32×32"), (1, "ResNet-56, 3×32×32"), (2, "ResNet-20, digits 1×8×8"))],
    ("**1.64× as many iterations per second** in\nfp32 ({} → {} s/it), {}× with `--precision bf16` ({} s/it)", "nern/throughput.json",
     [lambda d: f"{d['versus_before']['s_per_it']['before']:.3f}", lambda d: f"{d['versus_before']['s_per_it']['after']:.3f}",
      lambda d: f"{d['versus_before']['speedup_vs_9fdecbd_bf16']:.2f}", lambda d: f"{d['versus_before']['s_per_it']['after_bf16']:.3f}"]),
    ("**{}× as many iterations per second**", "nern/throughput.json", [lambda d: f"{d['speedup_vs_9fdecbd']:.2f}"]),
    ("A joint step costs about {} reconstruction-only\nsteps ({} vs {} it/s in `throughput.json`, digits row)", "nern/throughput.json",
     [lambda d: f"{d['runs'][2]['reconstruction_only_iterations_per_s'] / d['runs'][2]['iterations_per_s']:.0f}",
      lambda d: f2(d["runs"][2]["iterations_per_s"]), lambda d: f"{d['runs'][2]['reconstruction_only_iterations_per_s']:.1f}"]),
    ("costs {} % of the wall time at the\n  default `--eval-every 20` under bf16 ({} % in fp32; {} % every 10 iterations", "rl/throughput.json",
     [lambda d: f"{100 * d['task_tokens']['evaluations']['share_of_wall_by_eval_every']['bf16']['20']:.0f}",
      lambda d: f"{100 * d['task_tokens']['evaluations']['share_of_wall_by_eval_every']['fp32']['20']:.0f}",
      lambda d: f"{100 * d['task_tokens']['evaluations']['share_of_wall_by_eval_every']['bf16']['10']:.0f}"]),
    ("{} % every 30, the long runs' ~0.5 M steps", "rl/throughput.json",
     [lambda d: f"{100 * d['task_tokens']['evaluations']['share_of_wall_by_eval_every']['bf16']['30']:.0f}"]),
    # PPO throughput and bf16
    ("Task Tokens (Direction, cold start, 512 environments) {} → {} env steps/s with bf16\n  ({}×; {} in fp32",
     "rl/throughput.json",
     [lambda d: f"{d['task_tokens']['env_steps_per_s']['before']:,.0f}", lambda d: f"{d['task_tokens']['env_steps_per_s']['after']:,.0f}",
      lambda d: f2(d["task_tokens"]["speedup"]), lambda d: f"{d['task_tokens']['after_fp32_env_steps_per_s']:,.0f}"]),
    ("env steps/s, **{} of raw physics** ({} steps/s; {} in fp32, {} before;", "rl/throughput.json",
     [lambda d: f2(d["teacher"]["ratio"]), lambda d: f"{d['teacher']['raw_physics_steps_per_s']:,.0f}",
      lambda d: f2(d["teacher"]["ratio_fp32"]), lambda d: f2(d["teacher"]["ratio_before"])]),
    ("the frozen BFM's actions move by {} on average\n  ({} at most) against an exploration σ of {}", "rl/throughput.json",
     [lambda d: f"{d['bf16']['bfm_action_abs_error']['mean']:.4f}", lambda d: f"{d['bf16']['bfm_action_abs_error']['max']:.4f}",
      lambda d: f"{d['bf16']['exploration_std']:.3f}"]),
    ("{} ± {} in fp32 and {} ± {} in bf16 (3 seeds)", "rl/throughput.json",
     [lambda d, p=p, k=k: f"{d['bf16']['curve_ends']['teacher'][p][k]:.0f}" for p in ("fp32", "bf16") for k in ("mean", "std")]),
    # humanoid throughput
    ("| {} control steps/s | {} | {} env steps/s | **{}** |", "humanoid/throughput.json",
     [lambda d: f"{d['raw_control_steps_per_s_one_thread']:,.0f}", lambda d: f"{d['raw_control_steps_per_s']:,.0f}",
      lambda d: f"{d['train_env_steps_per_s']:,.0f}", lambda d: f2(d["ratio"])]),
    # teacher
    ("| velocity error, mean over 0–3 m/s | 0.14 m/s | 0.14 m/s | **{} m/s** |", "teacher/eval.json",
     [lambda d: f2(d["velocity_error_mps"])]),
    ("| facing error | 22.9° | 17.2° | **{}°** |", "teacher/eval.json", [lambda d: f1(d["facing_error_deg"])]),
    ("| hand target error | 0.52 m | 0.27 m | **{} m** |", "teacher/eval.json", [lambda d: f"{d['hand_error_m']:.3f}"]),
    ("| falls per 20 s episode | 4.7 % | 2.5 % | **{} %** |", "teacher/eval.json", [lambda d: pct(d["fall_rate"])]),
    # BFM: reward ratios beside both fall rates
    *[(f"| {m} | {{}} | {{}} | **{{}} %** | {{}} % ({{}} %) |", "bfm/eval.json",
       [lambda d, m=m: f"{bfm(m, 'teacher_reward'):.3f}", lambda d, m=m: f"{bfm(m, 'bfm_reward'):.3f}",
        lambda d, m=m: pct(bfm(m, "ratio")), lambda d, m=m: f1(bfm(m, "fall_rate")),
        lambda d, m=m: f1(bfm(m, "teacher_fall_rate"))])
      for m in ("velocity", "facing", "hands", "feet", "pelvis_height", "keyframe")],
    ("BFM earns {} % of the teacher's reward but falls in {} % of episodes against the teacher's {} %",
     "bfm/eval.json", [lambda d: pct(bfm("pelvis_height", "ratio")), lambda d: f1(bfm("pelvis_height", "fall_rate")),
                       lambda d: f1(bfm("pelvis_height", "teacher_fall_rate"))]),
    ("Hands: {} % against {} %", "bfm/eval.json", [lambda d: f1(bfm("hands", "fall_rate")),
                                                   lambda d: f1(bfm("hands", "teacher_fall_rate"))]),
    ("velocity error {} m/s (teacher {}), facing {}° (teacher {}°), hand {} m (teacher {}); reward ratios {} / {} / {} %",
     "bfm/eval.json", [lambda d: f2(d["combined"]["velocity_error_mps"]),
                       lambda d: f2(d["combined"]["teacher_velocity_error_mps"]),
                       lambda d: f1(d["combined"]["facing_error_deg"]), lambda d: f1(d["combined"]["teacher_facing_error_deg"]),
                       lambda d: f"{d['combined']['hands_error_m']:.3f}",
                       lambda d: f"{d['combined']['teacher_hands_error_m']:.3f}",
                       *[lambda d, k=k: pct(d["combined"][f"{k}_reward_ratio"]) for k in ("velocity", "facing", "hands")]]),
    ("**No prompt at all**, 20 s episodes: fall rate **{} %**", "bfm/eval.json",
     [lambda d: f1(d["no_prompt_fall_rate"])]),
    # Task Tokens prose (the table itself: tests/tasktokens/test_readme_table.py)
    ("averages ~{} env steps/s on the 2-core VM with 512 environments (runs.json: {} steps in {} s of training for "
     "Direction seed 0)", "tasktokens/runs.json",
     [lambda d, k="direction@v1/task_tokens/seed0/steps500000/warm40/bfm-03db08bdcdd19715":
      f"{round(d[k]['env_steps'] / d[k]['train_wall_s'], -1):,.0f}",
      lambda d, k="direction@v1/task_tokens/seed0/steps500000/warm40/bfm-03db08bdcdd19715": f"{d[k]['env_steps']:,}",
      lambda d, k="direction@v1/task_tokens/seed0/steps500000/warm40/bfm-03db08bdcdd19715": f"{d[k]['train_wall_s']:.0f}"]),
    *[(f"**{label}: {{}} ± {{}} %**", "tasktokens/summary.json",
       [lambda d, t=t: f1(tt(t, "task_tokens")), lambda d, t=t: f1(tt(t, "task_tokens", "success_std"))])
      for label, t in (("Direction", "direction"), ("Steering", "steering"), ("Reach", "reach"),
                       ("Strike", "strike"), ("Path following", "path_follow"))],
    *[(f"{label} {{}} % for the teacher", "tasktokens/ceiling.json", [lambda d, t=t: f1(ceiling(t, "success"))])
      for label, t in (("Direction", "direction"), ("Steering", "steering"), ("Reach", "reach"),
                       ("Strike", "strike"), ("Path following", "path_follow"), ("Long jump", "long_jump"))],
    ("the teacher topples the box in {} % of episodes (`strike_paper_prompt`)", "tasktokens/ceiling.json",
     [lambda d: f1(ceiling("strike_paper_prompt", "success"))]),
    ("Our Steering token is at {} ± {} %, prompt only {} %; Reach prompt only on the BFM {} %; Strike prompt only {} %",
     "tasktokens/summary.json", [lambda d: f1(tt("steering", "task_tokens")),
                                 lambda d: f1(tt("steering", "task_tokens", "success_std")),
                                 lambda d: f1(tt("steering", "prompt_only")), lambda d: f1(tt("reach", "prompt_only")),
                                 lambda d: f1(tt("strike", "prompt_only"))]),
    *[(f"{label} {{}} → {{}} → {{}} → {{}}", "tasktokens/sample_efficiency.json", [lambda d, t=t, i=i: curve(t)[i]
                                                                           for i in range(4)])
      for label, t in (("Direction", "direction"), ("Steering", "steering"), ("Strike", "strike"),
                       ("Path following", "path_follow"), ("Reach", "reach"))],
    ("(seeds 1 and 2: {} → {} → {} → {} and {} → {} → {} → {};", "tasktokens/sample_efficiency.json",
     [lambda d, i=i, k=k: curve("reach", k)[i] for k in (1, 2) for i in range(4)]),
    ("({} % in episodes that ask for a facing more than 45° off the travel direction, {} % in the others)",
     "tasktokens/ceiling.json", [lambda d: f1(ceiling("steering", "offset_gt_45deg", "success")),
                                 lambda d: f1(ceiling("steering", "offset_le_45deg", "success"))]),
    ("on the paper's range the teacher itself succeeds in {} % of the {} of {} episodes that hold a lower "
     "target, against {} % of the {} that do not", "tasktokens/ceiling.json",
     [lambda d: f1(ceiling("reach_paper_range", "a_target_below_0.6m", "success")),
      lambda d: str(ceiling("reach_paper_range", "a_target_below_0.6m", "episodes")),
      lambda d: str(ceiling("reach_paper_range", "episodes")),
      lambda d: f1(ceiling("reach_paper_range", "targets_ge_0.6m", "success")),
      lambda d: str(ceiling("reach_paper_range", "targets_ge_0.6m", "episodes"))]),
    ("direction {} %, steering {} %, reach {} %, strike {} %, path_follow {} %", "tasktokens/shipped.json",
     [lambda d, t=t: f1(d["shipped"][t]["success"]) for t in ("direction", "steering", "reach", "strike", "path_follow")]),
    *[(f"{t} ({{}} seed {{}}, {{}}; {{}} % on held-out episodes)", "tasktokens/shipped.json",
       [lambda d, t=t: d["shipped"][t]["method"].replace("_", " "), lambda d, t=t: str(d["shipped"][t]["seed"]),
        lambda d, t=t: "chosen on validation episodes" if "candidates" in d["shipped"][t]["selection"]
        else "picked by the old rule",
        lambda d, t=t: f1(d["shipped"][t]["held_out"]["success"] if "held_out" in d["shipped"][t]
                          else d["shipped"][t]["success"])])
      for t in ("direction", "steering", "reach", "strike", "long_jump", "path_follow")],
]


@pytest.mark.parametrize("template,name,getters", CLAIMS, ids=[c[0][:60] for c in CLAIMS])
def test_readme_number_is_the_results_files(template, name, getters):
    d = load(name)
    text = " ".join(template.format(*(g(d) for g in getters)).split())
    readme = " ".join((ROOT / "README.md").read_text().split())     # line wrapping does not matter
    assert text in readme, f"README should say {text!r} (from results/{name})"


def test_every_picture_the_readme_shows_is_committed():
    import re
    text = (ROOT / "README.md").read_text()
    paths = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert any("results/videos/" in p for p in paths)
    missing = [p for p in paths if not (ROOT / p).is_file()]
    assert not missing, missing


def test_the_default_evaluation_interval_costs_at_most_15_percent_of_a_run():
    """Issue 25's bound, at whatever interval TaskTokensConfig defaults to, in both precisions."""
    from frozenfit.tasktokens.train import TaskTokensConfig
    share = load("rl/throughput.json")["task_tokens"]["evaluations"]["share_of_wall_by_eval_every"]
    every = str(TaskTokensConfig.eval_every)
    assert all(share[prec][every] <= 0.15 for prec in ("fp32", "bf16")), share
