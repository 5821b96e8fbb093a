"""`frozenfit humanoid ...` commands: what needs only the humanoid (a teacher's own render command
is `frozenfit teacher render`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from frozenfit.common.checks import check_numbers
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.render import Recording, render_rollout, write_video


@dataclass
class RenderConfig:
    """Render a recorded rollout (an .npz with qpos (T, nq) and fps, e.g. from `teacher render
    --save-recording`)."""

    recording: str = "rollout.npz"
    out: str = "runs/humanoid.mp4"       # .mp4 (H.264) or .gif
    width: int = 640
    height: int = 360

    def __post_init__(self):
        check_numbers(self)   # the Python API gets the command line's checks


def render_recording(rec: Recording, out: str, width: int, height: int) -> Path:
    """Write ``rec`` as a video and say so."""
    frames = render_rollout(rec, width, height)
    path = write_video(frames, out, rec.fps)
    print(f"wrote {path} ({len(frames)} frames, {path.stat().st_size / 1e6:.1f} MB)")
    return path


def run_render(cfg: RenderConfig) -> Path:
    if not Path(cfg.recording).exists():
        raise FrozenfitError(f"recording not found: {cfg.recording}")
    return render_recording(Recording.load(cfg.recording), cfg.out, cfg.width, cfg.height)
