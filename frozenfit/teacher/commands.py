"""`frozenfit teacher ...` commands (train lives in train.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from frozenfit.teacher.evaluate import EvalConfig, evaluate_teacher
from frozenfit.teacher.policy import SHIPPED_TEACHER, export_teacher, load_teacher


@dataclass
class TeacherEvalConfig:
    """Evaluate a teacher file (deterministic, fixed goals per 20 s episode)."""

    checkpoint: str = str(SHIPPED_TEACHER)
    eval: EvalConfig = field(default_factory=EvalConfig)


def run_eval(cfg: TeacherEvalConfig) -> dict:
    r = evaluate_teacher(load_teacher(cfg.checkpoint), cfg.eval)
    print(json.dumps({k: v for k, v in r.items() if k != "per_speed"}, indent=1))
    return r


@dataclass
class TeacherExportConfig:
    """Strip a training checkpoint to a shippable teacher file."""

    run_checkpoint: str = "runs/teacher/checkpoint.safetensors"
    out: str = str(SHIPPED_TEACHER)


def run_export(cfg: TeacherExportConfig) -> None:
    path = export_teacher(cfg.run_checkpoint, cfg.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
