"""`frozenfit teacher ...` commands (train lives in train.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from frozenfit.common.assets import export_target
from frozenfit.common.checks import check_numbers
from frozenfit.humanoid.commands import render_recording
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.teacher.evaluate import EvalConfig, SkillEvalConfig, evaluate_skills, evaluate_teacher, play_script
from frozenfit.teacher.policy import SHIPPED_TEACHER, export_teacher, load_teacher


@dataclass
class TeacherEvalConfig:
    """Evaluate a teacher file (deterministic, fixed goals per 20 s episode)."""

    checkpoint: str = str(SHIPPED_TEACHER)
    eval: EvalConfig = field(default_factory=EvalConfig)
    skills: SkillEvalConfig = field(default_factory=SkillEvalConfig)
    """Goal set 2's reach and jump evaluations (run for a goal set 2 teacher)."""


def run_eval(cfg: TeacherEvalConfig) -> dict:
    teacher = load_teacher(cfg.checkpoint)
    r = evaluate_teacher(teacher, cfg.eval)
    if teacher.goal_cfg.version >= 2:
        r["skills"] = evaluate_skills(teacher, cfg.skills)
    print(json.dumps({k: v for k, v in r.items() if k != "per_speed"}, indent=1))
    return r


@dataclass
class TeacherExportConfig:
    """Strip a training checkpoint to a shippable teacher file."""

    run_checkpoint: str = "runs/teacher/checkpoint.safetensors"
    out: str | None = None               # default runs/exports/teacher.safetensors
    to_assets: bool = False              # replace the shipped teacher (frozenfit/assets/teacher.safetensors)


def run_export(cfg: TeacherExportConfig) -> None:
    path = export_teacher(cfg.run_checkpoint, export_target(cfg.out, "runs/exports/teacher.safetensors",
                                                            SHIPPED_TEACHER, cfg.to_assets))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


@dataclass
class TeacherRenderConfig:
    """Render a teacher (default: the shipped one) following the scripted demo goals."""

    out: str = "runs/teacher.mp4"        # .mp4 (H.264) or .gif
    checkpoint: str = str(SHIPPED_TEACHER)
    seconds: float | None = None       # None: the goal set's script length (22 s, 26 s)
    width: int = 640
    height: int = 360
    frame_every: int = 2                 # render every k-th control step
    save_recording: str | None = None    # also save the rollout as .npz (`frozenfit humanoid render`)
    physics: PhysicsConfig | None = None

    def __post_init__(self):
        check_numbers(self)   # the Python API gets the command line's checks


def run_render(cfg: TeacherRenderConfig) -> Path:
    rec = play_script(load_teacher(cfg.checkpoint), cfg.seconds, cfg.physics, cfg.frame_every)
    if cfg.save_recording:
        rec.save(cfg.save_recording)
    return render_recording(rec, cfg.out, cfg.width, cfg.height)
