"""`frozenfit humanoid ...` commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.humanoid.render import Recording, render_rollout, write_video


@dataclass
class RenderConfig:
    """Render a policy (teacher file, following the scripted demo goals) or a recorded rollout."""

    out: str = "humanoid.gif"            # .gif, or .mp4 with imageio-ffmpeg installed
    policy: str | None = None            # a teacher checkpoint (default: the shipped teacher)
    recording: str | None = None         # an .npz with qpos (T, nq) and fps, e.g. from --save-recording
    seconds: float = 22.0
    width: int = 320
    height: int = 240
    frame_every: int = 2                 # render every k-th control step
    save_recording: str | None = None    # also save the rollout as .npz
    physics: PhysicsConfig | None = None


def run_render(cfg: RenderConfig) -> Path:
    if cfg.recording and cfg.policy:
        raise FrozenfitError("give either --policy or --recording, not both")
    if cfg.recording:
        rec = Recording.load(cfg.recording)
    else:
        from frozenfit.teacher.evaluate import play_script
        from frozenfit.teacher.policy import SHIPPED_TEACHER, load_teacher
        teacher = load_teacher(cfg.policy or SHIPPED_TEACHER)
        rec = play_script(teacher, cfg.seconds, cfg.physics, cfg.frame_every)
    if cfg.save_recording:
        rec.save(cfg.save_recording)
    frames = render_rollout(rec, cfg.width, cfg.height)
    path = write_video(frames, cfg.out, rec.fps)
    print(f"wrote {path} ({len(frames)} frames, {path.stat().st_size / 1e6:.1f} MB)")
    return path
