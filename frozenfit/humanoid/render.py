"""Videos of the humanoid: MuJoCo's offscreen renderer (EGL/OSMesa), written with imageio.

`render_rollout` turns a recorded trajectory (root + joint positions per control step, plus
optional goal markers) into frames; `write_video` writes GIF (always available) or MP4 (when
imageio-ffmpeg is installed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import imageio.v3 as iio
import mujoco
import numpy as np

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import build_model


@dataclass
class Marker:
    """A coloured sphere (goal target) or arrow (commanded velocity / facing) drawn in the scene."""

    pos: np.ndarray
    rgba: tuple[float, float, float, float]
    size: float = 0.04
    arrow_to: np.ndarray | None = None


@dataclass
class Recording:
    """A rollout to render: qpos per control step and markers per step (optional)."""

    qpos: np.ndarray                     # (T, nq)
    fps: float
    markers: list[list[Marker]] = field(default_factory=list)

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, qpos=self.qpos, fps=self.fps)

    @staticmethod
    def load(path: str | Path) -> "Recording":
        path = Path(path)
        if not path.is_file():
            raise FrozenfitError(f"recording not found: {path}")
        try:
            z = np.load(path)
            return Recording(qpos=z["qpos"], fps=float(z["fps"]))
        except (OSError, KeyError, ValueError) as e:
            raise FrozenfitError(f"{path} is not a frozenfit recording (.npz with qpos and fps): {e}")


def _add_marker(scene: mujoco.MjvScene, m: Marker) -> None:
    if scene.ngeom >= scene.maxgeom:
        return
    g = scene.geoms[scene.ngeom]
    if m.arrow_to is None:
        mujoco.mjv_initGeom(g, mujoco.mjtGeom.mjGEOM_SPHERE, np.array([m.size, 0, 0]), np.asarray(m.pos, float),
                            np.eye(3).flatten(), np.asarray(m.rgba, np.float32))
    else:
        mujoco.mjv_initGeom(g, mujoco.mjtGeom.mjGEOM_ARROW, np.zeros(3), np.zeros(3), np.zeros(9),
                            np.asarray(m.rgba, np.float32))
        mujoco.mjv_connector(g, mujoco.mjtGeom.mjGEOM_ARROW, m.size, np.asarray(m.pos, float),
                             np.asarray(m.arrow_to, float))
    scene.ngeom += 1


def render_rollout(rec: Recording, width: int = 480, height: int = 360, model: mujoco.MjModel | None = None) -> list[np.ndarray]:
    """RGB frames of a recording, with a camera following the pelvis."""
    model = model or build_model()
    # brighter, softer light than the model's default (render-only: the physics model is untouched)
    model.vis.headlight.ambient[:] = 0.35
    model.vis.headlight.diffuse[:] = 0.6
    model.vis.headlight.specular[:] = 0.1
    if rec.qpos.ndim != 2 or rec.qpos.shape[1] != model.nq:
        raise FrozenfitError(f"recording has qpos of shape {rec.qpos.shape}, the humanoid needs (T, {model.nq})")
    data = mujoco.MjData(model)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.distance, cam.azimuth, cam.elevation = 4.0, 135.0, -15.0
    frames = []
    try:
        renderer = mujoco.Renderer(model, height, width)
    except Exception as e:  # no GL backend: say how to get one
        raise FrozenfitError(f"cannot open an offscreen OpenGL context ({e}); set MUJOCO_GL=egl or osmesa "
                             "before starting Python")
    with renderer:
        for t, q in enumerate(rec.qpos):
            data.qpos[:] = q
            mujoco.mj_kinematics(model, data)
            cam.lookat[:] = [q[0], q[1], 0.9]
            renderer.update_scene(data, cam)
            for marker in (rec.markers[t] if t < len(rec.markers) else []):
                _add_marker(renderer.scene, marker)
            frames.append(renderer.render().copy())
    return frames


def write_video(frames: list[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write frames as GIF or MP4 (by extension); MP4 needs the imageio-ffmpeg package."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        iio.imwrite(path, np.stack(frames), duration=1000.0 / fps, loop=0)
    elif path.suffix.lower() == ".mp4":
        try:
            iio.imwrite(path, np.stack(frames), fps=fps, codec="libx264", plugin="FFMPEG")
        except (ImportError, ValueError, OSError) as e:
            raise FrozenfitError(f"MP4 needs imageio-ffmpeg ({e}); write a .gif instead")
    else:
        raise FrozenfitError(f"unknown video format '{path.suffix}': use .gif or .mp4")
    return path
