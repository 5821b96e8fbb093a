"""`bfm play --interactive`: the key -> prompt mapping everywhere; the viewer itself headless under
Xvfb, where Xvfb and xdotool are installed (Debian: apt install xvfb xdotool)."""

from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from frozenfit.bfm.interactive import CROUCH_HEIGHT, HAND_TARGET, KeyboardPrompt


def test_keys_build_the_prompt():
    k = KeyboardPrompt()
    assert k.prompt().velocity is None and k.prompt().facing is None      # no prompt: stand
    for key in ("up", "up", "left"):
        k.press(key)
    p = k.prompt()
    assert p.velocity == pytest.approx((math.cos(math.radians(30)), math.sin(math.radians(30))))
    assert p.facing == pytest.approx(math.radians(30))                    # facing follows travel
    k.press("d")
    assert k.prompt().facing == pytest.approx(0.0)
    k.press("left")
    assert k.prompt().facing == pytest.approx(0.0)                        # ... until set
    k.press("f")
    assert k.prompt().facing == pytest.approx(math.radians(60))
    k.press("h"), k.press("c")
    assert k.prompt().right_hand == HAND_TARGET and k.prompt().pelvis_height == CROUCH_HEIGHT
    for _ in range(10):
        k.press("up")
    assert k.speed == k.max_speed
    k.press("space")
    assert k.prompt().velocity is None and k.prompt().right_hand is None and k.prompt().pelvis_height is None


def _read_xwd(path) -> np.ndarray:
    """The RGB image of an Xvfb screen file (XWD, 24-bit depth in 32-bit pixels)."""
    raw = path.read_bytes()
    h = np.frombuffer(raw[:100], ">u4")
    header, width, height, bpp, stride, ncolors = int(h[0]), int(h[4]), int(h[5]), int(h[11]), int(h[12]), int(h[19])
    assert bpp == 32
    px = np.frombuffer(raw[header + 12 * ncolors:header + 12 * ncolors + stride * height], np.uint8)
    return px.reshape(height, stride // 4, 4)[:, :width, [2, 1, 0]]


@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool")
def test_viewer_under_xvfb_takes_keys(tmp_path):
    display = f":{random.randint(50, 400)}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x576x24", "-fbdir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": display, "MUJOCO_GL": "glfw", "OMP_NUM_THREADS": "1"}
    try:
        time.sleep(1.0)
        play = subprocess.Popen([sys.executable, "-m", "frozenfit.cli", "bfm", "play", "--interactive", "--seconds", "6"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = play.stdout.readline()
        assert "viewer open" in first, first
        time.sleep(1.0)
        for key in ("Up", "Up", "Up"):
            subprocess.run(["xdotool", "key", key], env=env, check=True)
            time.sleep(0.3)
        time.sleep(1.0)
        shot = _read_xwd(tmp_path / "Xvfb_screen0")
        out, _ = play.communicate(timeout=120)
        assert play.returncode == 0, out
    finally:
        xvfb.terminate()
    assert "up: prompt velocity (+1.5" in out, out
    travelled = float(out.split("travelled ")[1].split(" m")[0])
    assert travelled > 0.5, out
    # the screenshot shows the scene: a sky above, a floor below, not one flat colour
    assert shot.std() > 10 and shot[:40].mean() > shot[-40:].mean() - 60


def test_interactive_without_a_display_is_one_line(monkeypatch, capsys):
    from frozenfit.cli import main
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["bfm", "play", "--interactive", "--seconds", "1"]) == 2
    assert "--interactive needs a display" in capsys.readouterr().err
