"""A BFM in worlds it was not trained in -> results/bfm/ood.json (+ ood.png).

Teacher v2 and BFM v2 train under randomised worlds (`frozenfit.humanoid.worlds`: gravity x0.9-1.1,
friction x0.6-1.4, masses x0.85-1.15, rough ground up to 5 cm). Each named variation below lies
outside those ranges except ``nominal`` and ``training_worlds`` (drawn from them: the reference);
``seen`` says which, computed from the worlds the BFM was distilled in (its file records them;
older BFM files: its teacher's training worlds). A BFM of the nominal world only has seen nothing
but ``nominal``. In each, the BFM and its teacher run the same episodes of each prompt
modality (`frozenfit.bfm.evaluate.run_case`); per modality the record has the BFM's reward over the
teacher's in that world (``ratio``), the BFM's reward there over its own nominal-world reward
(``retained``), both fall rates (%), and the no-prompt fall rate. The gravity and friction points
include the Task Tokens OOD study's (gravity x1.5, friction x0.4).

    python experiments/bfm_ood.py [--bfm FILE] [--teacher FILE] [--episodes 64] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from frozenfit.bfm.evaluate import MODALITIES, MODALITIES_V2, BFMEvalConfig, run_case
from frozenfit.bfm.policy import SHIPPED_BFM, bfm_digest, load_bfm
from frozenfit.common.results import portable_path, save_figure, write_result
from frozenfit.common.script import run_main
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.humanoid.worlds import WorldRandomization
from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher

OUT = Path(__file__).resolve().parents[1] / "results" / "bfm"
FLAT = dict(gravity_scale=(1.0, 1.0), friction_scale=(1.0, 1.0), mass_scale=(1.0, 1.0))
# name -> (physics, worlds); teacher v2's training worlds are WorldRandomization()'s ranges
VARIATIONS: dict[str, tuple[PhysicsConfig, WorldRandomization | None]] = {
    "nominal": (PhysicsConfig(), None),
    "training_worlds": (PhysicsConfig(), WorldRandomization(worlds=8, seed=101)),
    "gravity_x0.75": (PhysicsConfig(gravity_scale=0.75), None),
    "gravity_x1.25": (PhysicsConfig(gravity_scale=1.25), None),
    "gravity_x1.5": (PhysicsConfig(gravity_scale=1.5), None),
    "friction_x0.4": (PhysicsConfig(friction_scale=0.4), None),
    "friction_x2": (PhysicsConfig(friction_scale=2.0), None),
    "mass_x0.7": (PhysicsConfig(mass_scale=0.7), None),
    "mass_x1.3": (PhysicsConfig(mass_scale=1.3), None),
    "terrain_8cm": (PhysicsConfig(), WorldRandomization(worlds=8, terrain_height=(0.08, 0.08), seed=102, **FLAT)),
}
RANGES = ("gravity_scale", "friction_scale", "mass_scale", "terrain_height")


def seen(physics: PhysicsConfig, worlds: WorldRandomization | None, trained: WorldRandomization) -> bool:
    """Whether every world of a variation lies inside the ranges the teacher trained under (with no
    randomisation: whether the variation is the nominal world)."""
    lo_hi = {k: getattr(worlds, k) if worlds and worlds.worlds else
             ((getattr(physics, k),) * 2 if k != "terrain_height" else (0.0, 0.0)) for k in RANGES}
    if worlds and worlds.worlds:     # a variation's world scales multiply its physics
        lo_hi = {k: v if k == "terrain_height" else (v[0] * getattr(physics, k), v[1] * getattr(physics, k))
                 for k, v in lo_hi.items()}
    if not trained.worlds:
        return all(v == ((1.0, 1.0) if k != "terrain_height" else (0.0, 0.0)) for k, v in lo_hi.items())
    return all(getattr(trained, k)[0] <= v[0] and v[1] <= getattr(trained, k)[1] for k, v in lo_hi.items())
CASES = ("velocity", "facing", "hands", "reach", "jump")


def evaluate_world(bfm, teacher, base: BFMEvalConfig, physics: PhysicsConfig, worlds) -> dict:
    """Rewards and fall rates of the BFM and the teacher per modality, and the no-prompt fall rate."""
    cfg = replace(base, physics=physics, worlds=worlds)
    cases = {**MODALITIES, **(MODALITIES_V2 if "jump" in bfm.cfg.prompts else {})}
    out = {}
    for case in CASES:
        if case not in cases:
            continue
        term = cases[case][0]
        b = run_case("bfm", case, cfg, bfm, teacher, cfg.seconds)
        t = run_case("teacher", case, cfg, bfm, teacher, cfg.seconds)
        br, tr = b["reward"].get(term, 0.0), t["reward"].get(term, 0.0)
        out[case] = {"bfm_reward": br, "teacher_reward": tr, "ratio": br / tr if tr else None,
                     "fall_rate": 100.0 * b["fall_rate"], "teacher_fall_rate": 100.0 * t["fall_rate"]}
    none = run_case("bfm", "no_prompt", cfg, bfm, teacher, cfg.no_prompt_seconds)
    return {"modalities": out, "no_prompt_fall_rate": 100.0 * none["fall_rate"]}


def plot(payload: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(payload["variations"])
    cases = [c for c in CASES if any(c in v["modalities"] for v in payload["variations"].values())]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    width = 0.8 / max(1, len(cases))
    for k, case in enumerate(cases):
        for ax, key in zip(axes, ("retained", "fall_rate")):
            ys = [payload["variations"][n]["modalities"].get(case, {}).get(key) for n in names]
            ax.bar([i + k * width for i in range(len(names))], [y if y is not None else 0.0 for y in ys], width,
                   label=case)
    for ax, label in zip(axes, ("BFM reward / its nominal-world reward", "BFM fall rate (%)")):
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))])
        ax.set_xticklabels([n + ("" if payload["variations"][n]["seen"] else " *") for n in names], rotation=40,
                           ha="right", fontsize=8)
        ax.set_ylabel(label)
    axes[0].axhline(1.0, color="k", lw=0.8, ls=":")
    axes[0].legend(fontsize=8, ncol=len(cases))
    fig.suptitle("The BFM in worlds it was not trained in (* unseen)")
    save_figure(fig, OUT / "ood.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bfm", default=str(SHIPPED_BFM))
    ap.add_argument("--teacher", default=str(SHIPPED_TEACHER))
    ap.add_argument("--episodes", type=int, default=64, help="episodes per modality, policy and world")
    ap.add_argument("--only", nargs="+", choices=list(VARIATIONS), help="these variations (nominal is always run)")
    ap.add_argument("--seconds", type=float, default=10.0, help="episode length of each modality (no prompt: 2x)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.episodes <= 0 or a.threads <= 0 or a.seconds <= 2.0:
        ap.error("--episodes and --threads must be positive, --seconds above 2 (tracking is measured after 2 s)")
    for p in (a.bfm, a.teacher):
        if not Path(p).is_file():
            ap.error(f"no file at {p}")
    torch.set_num_threads(a.threads)
    t0 = time.time()
    bfm, teacher = load_bfm(a.bfm), load_teacher(a.teacher)
    base = BFMEvalConfig(episodes=a.episodes, seconds=a.seconds, no_prompt_seconds=2 * a.seconds)
    recorded = bfm.meta.get("worlds")
    trained = (WorldRandomization(**{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()})
               if recorded else teacher.env_cfg.worlds)
    names = ["nominal"] + [n for n in VARIATIONS if n != "nominal" and (not a.only or n in a.only)]
    rows = {}
    for name in names:
        physics, worlds = VARIATIONS[name]
        r = evaluate_world(bfm, teacher, base, physics, worlds)
        r["seen"] = seen(physics, worlds, trained)
        r["physics"] = {"gravity_scale": physics.gravity_scale, "friction_scale": physics.friction_scale,
                        "mass_scale": physics.mass_scale}
        if worlds is not None:
            r["worlds"] = {"worlds": worlds.worlds, "terrain_height": list(worlds.terrain_height),
                           "gravity_scale": list(worlds.gravity_scale), "friction_scale": list(worlds.friction_scale),
                           "mass_scale": list(worlds.mass_scale), "seed": worlds.seed}
        for case, m in r["modalities"].items():
            nominal = rows.get("nominal", r)["modalities"][case]["bfm_reward"]
            m["retained"] = m["bfm_reward"] / nominal if nominal else None
        rows[name] = r
        print(name, {c: (round(m["ratio"] or 0, 3), round(m["fall_rate"], 1)) for c, m in r["modalities"].items()},
              f"no prompt falls {r['no_prompt_fall_rate']:.1f} %", flush=True)
    payload = {"variations": rows, "bfm": portable_path(a.bfm), "bfm_digest": bfm_digest(bfm),
               "teacher": portable_path(a.teacher), "humanoid_version": bfm.humanoid_version,
               "episodes": a.episodes, "seconds": base.seconds, "no_prompt_seconds": base.no_prompt_seconds,
               "training_worlds": {"worlds": trained.worlds, **{k: list(getattr(trained, k)) for k in RANGES}}}
    write_result(OUT / "ood.json", payload, wall_s=time.time() - t0)
    plot(payload)


if __name__ == "__main__":
    sys.exit(run_main(main))
