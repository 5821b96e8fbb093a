"""`frozenfit bfm ...` commands (distill lives in distill.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from frozenfit.bfm.evaluate import BFMEvalConfig, evaluate_bfm
from frozenfit.bfm.policy import SHIPPED_BFM, export_bfm, load_bfm
from frozenfit.bfm.prompt import load_script, play
from frozenfit.common.assets import export_target
from frozenfit.common.checks import check_numbers
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.humanoid.render import render_rollout, write_video
from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher


@dataclass
class PlayConfig:
    """Render the BFM following a timed prompt script (default: the built-in demo script)."""

    out: str = "runs/bfm.mp4"            # .mp4 (H.264) or .gif
    checkpoint: str = str(SHIPPED_BFM)
    script: str | None = None            # JSON: [{"t": 0, "prompt": {"velocity": [1, 0]}}, ...]
    seconds: float | None = None         # default: the demo script's length (22 s; goal set 2's 26 s)
    width: int = 640
    height: int = 360
    frame_every: int = 2
    physics: PhysicsConfig | None = None
    interactive: bool = False            # steer it from the keyboard in MuJoCo's viewer for --seconds
                                         # (needs a display; MUJOCO_GL=glfw)

    def __post_init__(self):
        check_numbers(self)   # the Python API gets the command line's checks


def run_play(cfg: PlayConfig) -> Path | dict:
    bfm = load_bfm(cfg.checkpoint)
    if cfg.interactive:
        from frozenfit.bfm.interactive import run_interactive
        return run_interactive(bfm, cfg.seconds or 22.0, cfg.physics)
    script = load_script(cfg.script) if cfg.script else None     # None: the BFM's goal set's demo script
    rec = play(bfm, script, cfg.seconds, cfg.physics, cfg.frame_every)
    frames = render_rollout(rec, cfg.width, cfg.height)
    path = write_video(frames, cfg.out, rec.fps)
    print(f"wrote {path} ({len(frames)} frames, {path.stat().st_size / 1e6:.1f} MB)")
    return path


@dataclass
class BFMEvalCommand:
    """Evaluate a BFM against its teacher (single modalities, no prompt, combined)."""

    checkpoint: str = str(SHIPPED_BFM)
    teacher: str = str(SHIPPED_TEACHER)
    eval: BFMEvalConfig = field(default_factory=BFMEvalConfig)


def run_eval(cfg: BFMEvalCommand) -> dict:
    r = evaluate_bfm(load_bfm(cfg.checkpoint), load_teacher(cfg.teacher), cfg.eval)
    print(json.dumps(r, indent=1))
    return r


@dataclass
class BFMExportConfig:
    """Strip a distillation checkpoint to a shippable BFM file."""

    run_checkpoint: str = "runs/bfm/checkpoint.safetensors"
    out: str | None = None               # default runs/exports/bfm.safetensors
    to_assets: bool = False              # replace the shipped BFM (frozenfit/assets/bfm.safetensors)


def run_export(cfg: BFMExportConfig) -> None:
    path = export_bfm(cfg.run_checkpoint, export_target(cfg.out, "runs/exports/bfm.safetensors", SHIPPED_BFM,
                                                        cfg.to_assets))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
