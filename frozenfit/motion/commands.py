"""`frozenfit motion ...` commands."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from frozenfit.common.checks import check_numbers
from frozenfit.humanoid.model import CONTROL_DT, build_model
from frozenfit.humanoid.render import Recording, render_rollout, write_video
from frozenfit.motion.clips import CLIPS, load_clip
from frozenfit.motion.playback import looped, track
from frozenfit.motion.retarget import retarget


@dataclass
class MotionRenderConfig:
    """Render a DeepMimic clip retargeted onto our humanoid: its poses, or (--physics) PD-tracked
    open-loop from its first frame."""

    clip: str = "run"                  # a clip name (see `frozenfit motion list`) or a DeepMimic .txt file
    out: str | None = None             # default runs/motion-<clip>[-physics].mp4
    physics: bool = False
    mirror: bool = False               # the left-right mirror image
    seconds: float = 3.0               # a clip shorter than this is looped
    humanoid_version: int = 1          # 2: hinges ordered x-z-y, DeepMimic's proportions
    width: int = 640
    height: int = 360

    def __post_init__(self):
        check_numbers(self)   # the Python API gets the command line's checks


def run_render(cfg: MotionRenderConfig) -> Path:
    clip = load_clip(cfg.clip)
    clip = clip.mirrored() if cfg.mirror else clip
    r = retarget(clip, version=cfg.humanoid_version)
    if cfg.physics:
        qpos, summary = track(r, cfg.seconds, build_model(version=cfg.humanoid_version))
        rec = Recording(qpos, 1.0 / CONTROL_DT, title=f"clip {clip.name}: PD-tracked open-loop (physics)",
                        humanoid_version=cfg.humanoid_version)
    else:
        rec, summary = Recording(looped(r, cfg.seconds), r.fps, title=f"clip {clip.name}: retargeted poses",
                                 humanoid_version=cfg.humanoid_version), {}
    out = cfg.out or f"runs/motion-{clip.name}{'-physics' if cfg.physics else ''}.mp4"
    path = write_video(render_rollout(rec, cfg.width, cfg.height), out, rec.fps)     # on the recording's humanoid
    print(f"wrote {path} ({clip.name}: retargeting error {r.error_cm.mean():.1f} cm mean, {r.limit_violations} "
          f"clipped joint values" + (f"; physics: {json.dumps(summary)}" if summary else "") + ")")
    return path


@dataclass
class MotionListConfig:
    """List the DeepMimic clips found in the installed pybullet package."""


def run_list(cfg: MotionListConfig) -> None:
    for name in CLIPS:
        c = load_clip(name)
        print(f"{name:22s} {c.frames:4d} frames  {c.seconds:5.2f} s  {'loops' if c.loop else 'once'}")
