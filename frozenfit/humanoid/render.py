"""Videos of the humanoid: MuJoCo's offscreen renderer (EGL/OSMesa), captioned, written with imageio.

`render_rollout` turns a recorded trajectory (root + joint positions per control step, goal
markers, captions) into frames; `write_video` writes MP4 (H.264, via imageio-ffmpeg's bundled
ffmpeg) or GIF. Every video uses one colour legend (`COLORS`): blue is always the travel command,
orange the facing command, red a target, purple a prompt keyframe. The scene is a render-only copy
of the physics model (`scene_model`): a light floor with a 1 m grid, a sky with a horizon, soft
light; the camera looks along world +y from behind and above, so +x is screen-right and +y is
screen-up (a 90-degree turn reads as one), and it follows the pelvis with a little lag.
"""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path

import imageio.v3 as iio
import mujoco
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import LAYOUTS, BoxSpec, humanoid_xml, joint_table

# kind -> (rgba, legend text): the one colour legend of every video
COLORS: dict[str, tuple[tuple[float, float, float, float], str]] = {
    "velocity": ((0.15, 0.45, 1.0, 0.95), "travel command (length = speed)"),
    "facing": ((1.0, 0.6, 0.05, 0.95), "facing command"),
    "target": ((0.9, 0.1, 0.15, 0.95), "target"),
    "path": ((0.3, 0.3, 0.3, 0.8), "path ahead"),
    "foot": ((0.1, 0.7, 0.3, 0.9), "foot target"),
    "keyframe": ((0.6, 0.2, 0.9, 0.85), "prompt keyframe"),
}
STATUS_COLORS = {"on track": (40, 160, 70), "success": (40, 160, 70), "failed": (200, 40, 40),
                 "fallen": (200, 40, 40)}


@dataclass
class Marker:
    """A coloured sphere (goal target) or arrow (commanded velocity / facing) drawn in the scene."""

    pos: np.ndarray
    rgba: tuple[float, float, float, float]
    size: float = 0.04
    arrow_to: np.ndarray | None = None
    kind: str | None = None              # a COLORS key: names the marker in the legend

    @staticmethod
    def of(kind: str, pos, size: float = 0.04, arrow_to=None) -> "Marker":
        """A marker in the legend's colour for ``kind``."""
        return Marker(np.asarray(pos, float), COLORS[kind][0], size,
                      None if arrow_to is None else np.asarray(arrow_to, float), kind)


@dataclass
class Recording:
    """A rollout to render: qpos per frame, and per frame (optional) markers, a caption (the
    command or target in words and numbers) and a status ("on track", "failed", ...)."""

    qpos: np.ndarray                     # (T, nq)
    fps: float
    markers: list[list[Marker]] = field(default_factory=list)
    title: str = ""                      # e.g. "Direction - Task Tokens"
    captions: list[str] = field(default_factory=list)
    status: list[str | None] = field(default_factory=list)
    humanoid_version: int = 1            # whose qpos layout (versions order some hinges differently)

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, qpos=self.qpos, fps=self.fps, humanoid_version=self.humanoid_version)

    @staticmethod
    def load(path: str | Path) -> "Recording":
        path = Path(path)
        if not path.is_file():
            raise FrozenfitError(f"recording not found: {path}")
        try:
            z = np.load(path)
            version = int(z["humanoid_version"]) if "humanoid_version" in z else 1   # older recordings: version 1
            return Recording(qpos=z["qpos"], fps=float(z["fps"]), humanoid_version=version)
        except (OSError, KeyError, ValueError) as e:
            raise FrozenfitError(f"{path} is not a frozenfit recording (.npz with qpos and fps): {e}")


def scene_model(box: BoxSpec | None = None, version: int = 1) -> mujoco.MjModel:
    """A render-only copy of the humanoid (of ``version``, and box): the same bodies and qpos layout
    as the physics model, with a light gridded floor, a sky and a larger offscreen buffer. Physics
    never uses it."""
    xml = humanoid_xml(box, version)
    old_tex = next(line for line in xml.splitlines() if 'name="grid"' in line and "<texture" in line)
    old_mat = next(line for line in xml.splitlines() if 'name="grid"' in line and "<material" in line)
    xml = xml.replace(old_tex, '<texture name="grid" type="2d" builtin="checker" rgb1=".93 .93 .9" '
                               'rgb2=".86 .86 .83" mark="edge" markrgb=".55 .55 .55" width="512" height="512"/>'
                               '<texture type="skybox" builtin="gradient" rgb1=".78 .86 .95" rgb2=".98 .98 1" '
                               'width="512" height="3072"/>')
    xml = xml.replace(old_mat, '<material name="grid" texture="grid" texrepeat="1 1" texuniform="true" '
                               'reflectance="0"/>')
    xml = xml.replace('<global offwidth="640" offheight="480"/>',
                      '<global offwidth="1920" offheight="1080"/><quality shadowsize="4096"/>'
                      '<map znear="0.02" zfar="60" fogstart="8" fogend="30"/>'
                      '<rgba fog=".9 .93 .97 1" haze=".9 .93 .97 1"/>')
    model = mujoco.MjModel.from_xml_string(xml)
    model.geom_rgba[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor")] = 1.0   # the texture's own colours
    model.vis.headlight.ambient[:] = 0.45
    model.vis.headlight.diffuse[:] = 0.5
    model.vis.headlight.specular[:] = 0.05
    return model


def add_marker(scene: mujoco.MjvScene, m: Marker) -> None:
    """Append ``m`` to a scene (an offscreen frame's, or the interactive viewer's user scene)."""
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


@lru_cache(maxsize=8)   # the same sizes on every frame: read the font file once
def _font(px: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _rgb(rgba) -> tuple[int, int, int]:
    return tuple(int(255 * c) for c in rgba[:3])


def caption_frame(frame: np.ndarray, lines: list[str], status: str | None, legend: list[str]) -> np.ndarray:
    """Draw the text panel (title, time, caption lines), a status badge and the colour legend of
    the ``legend`` kinds onto an RGB frame."""
    h, w = frame.shape[:2]
    img = Image.fromarray(frame).convert("RGBA")
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    px = max(11, h // 24)
    font, pad = _font(px), max(4, px // 3)
    lines = [s for s in lines if s]
    if lines:
        tw = max(d.textlength(s, font=font) for s in lines)
        d.rectangle([0, 0, tw + 2 * pad, len(lines) * (px + pad) + pad], fill=(255, 255, 255, 200))
        for k, s in enumerate(lines):
            d.text((pad, pad + k * (px + pad)), s, font=font, fill=(20, 20, 20, 255))
    if status:
        tw = d.textlength(status, font=font)
        x0 = w - tw - 3 * pad
        d.rounded_rectangle([x0, pad, w - pad, pad + px + 2 * pad], radius=pad,
                            fill=(*STATUS_COLORS.get(status, (90, 90, 90)), 230))
        d.text((x0 + pad, 2 * pad), status, font=font, fill=(255, 255, 255, 255))
    if legend:
        small = _font(max(10, px * 4 // 5))
        sp = max(10, px * 4 // 5)
        items = [(COLORS[k][0], COLORS[k][1]) for k in legend]
        widths = [sp + pad + d.textlength(text, font=small) for _, text in items]
        x, y = pad, h - sp - 2 * pad
        d.rectangle([0, y - pad, sum(widths) + 2 * pad * len(items) + pad, h], fill=(255, 255, 255, 200))
        for (rgba, text), wd in zip(items, widths):
            d.ellipse([x, y, x + sp, y + sp], fill=(*_rgb(rgba), 255))
            d.text((x + sp + pad, y - 1), text, font=small, fill=(20, 20, 20, 255))
            x += wd + 2 * pad
    return np.asarray(Image.alpha_composite(img, layer).convert("RGB"))


def model_version(model: mujoco.MjModel) -> int | None:
    """The humanoid version whose hinge order ``model`` has (None: neither)."""
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(model.njnt)]
    for v in LAYOUTS:
        table = [r[0] for r in joint_table(v)]
        if names[1:1 + len(table)] == table:
            return v
    return None


def render_rollout(rec: Recording, width: int = 640, height: int = 360, model: mujoco.MjModel | None = None,
                   captions: bool = True) -> list[np.ndarray]:
    """RGB frames of a recording with a camera following the pelvis; ``model`` is a render model
    (`scene_model`; default the recording's humanoid alone); ``captions`` draws the text and legend."""
    model = model or scene_model(version=rec.humanoid_version)
    if rec.qpos.ndim != 2 or rec.qpos.shape[1] != model.nq:
        raise FrozenfitError(f"recording has qpos of shape {rec.qpos.shape}, the humanoid needs (T, {model.nq})")
    if model_version(model) != rec.humanoid_version:
        raise FrozenfitError(f"the recording is of humanoid version {rec.humanoid_version}, the render model is "
                             f"version {model_version(model)}'s: build it with scene_model(version=...)")
    if width > model.vis.global_.offwidth or height > model.vis.global_.offheight:
        raise FrozenfitError(f"at most {model.vis.global_.offwidth}x{model.vis.global_.offheight} pixels, "
                             f"got {width}x{height}")
    data = mujoco.MjData(model)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.distance, cam.azimuth, cam.elevation = 5.0, 90.0, -30.0
    legend = [k for k in COLORS if any(m.kind == k for ms in rec.markers for m in ms)]
    frames = []
    try:
        renderer = mujoco.Renderer(model, height, width)
    except Exception as e:  # no GL backend: say how to get one
        raise FrozenfitError(f"cannot open an offscreen OpenGL context ({e}); set MUJOCO_GL=egl or osmesa "
                             "before starting Python")
    lookat = None
    with renderer:
        for t, q in enumerate(rec.qpos):
            data.qpos[:] = q
            mujoco.mj_kinematics(model, data)
            target = np.array([q[0], q[1], 0.9])
            # follow with a lag (time constant ~0.5 s) so the floor's motion shows the speed
            lookat = target if lookat is None else lookat + min(1.0, 2.0 / rec.fps) * (target - lookat)
            cam.lookat[:] = lookat
            renderer.update_scene(data, cam)
            for marker in (rec.markers[t] if t < len(rec.markers) else []):
                add_marker(renderer.scene, marker)
            frame = renderer.render().copy()
            if captions:
                text = [rec.title, f"t = {t / rec.fps:4.1f} s"]
                if t < len(rec.captions):
                    text += rec.captions[t].split("\n")
                frame = caption_frame(frame, text, rec.status[t] if t < len(rec.status) else None, legend)
            frames.append(frame)
    return frames


def side_by_side(videos: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Tile equally sized videos in a grid (2 columns from 3 videos on), padding short ones with
    their last frame."""
    if not videos:
        raise FrozenfitError("no videos to tile")
    cols = len(videos) if len(videos) <= 2 else 2
    rows = math.ceil(len(videos) / cols)
    n = max(len(v) for v in videos)
    h, w = videos[0][0].shape[:2]
    out = []
    for t in range(n):
        canvas = np.full((rows * h, cols * w, 3), 255, np.uint8)
        for k, v in enumerate(videos):
            r, c = divmod(k, cols)
            canvas[r * h:(r + 1) * h, c * w:(c + 1) * w] = v[min(t, len(v) - 1)]
        out.append(canvas)
    return out


def write_video(frames: list[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write frames as MP4 (H.264, yuv420p: plays in browsers) or GIF, by extension."""
    path = Path(path)
    if not frames:
        raise FrozenfitError("no frames to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        iio.imwrite(path, np.stack(frames), duration=1000.0 / fps, loop=0)
    elif path.suffix.lower() == ".mp4":
        h, w = frames[0].shape[:2]
        if h % 2 or w % 2:
            raise FrozenfitError(f"MP4 (H.264) needs an even width and height, got {w}x{h}")
        try:
            iio.imwrite(path, np.stack(frames), fps=fps, codec="libx264", plugin="FFMPEG", macro_block_size=2,
                        pixelformat="yuv420p", quality=7)
        except (ImportError, ValueError, OSError, RuntimeError) as e:
            raise FrozenfitError(f"cannot write MP4 ({e}); imageio-ffmpeg provides ffmpeg, or write a .gif")
    else:
        raise FrozenfitError(f"unknown video format '{path.suffix}': use .mp4 or .gif")
    return path
