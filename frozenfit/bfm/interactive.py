"""Steer the frozen BFM from the keyboard in MuJoCo's own viewer (`frozenfit bfm play --interactive`).

Keys: Up/Down speed +/-0.5 m/s; Left/Right turn the travel direction by 30 degrees; A/D turn the
facing by 30 degrees (it follows the travel direction until you do); F facing follows travel
again; H raise/lower the right hand; C crouch/stand; Space stop (no prompt). The physics runs in
the BFM's own batched simulator; the viewer shows its state in real time.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass


from frozenfit.bfm.model import BFM
from frozenfit.bfm.prompt import BFMController, Prompt, describe
from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import PhysicsConfig
from frozenfit.humanoid.render import add_marker, scene_model

# GLFW key codes (what mujoco.viewer's key_callback receives)
KEYS = {265: "up", 264: "down", 263: "left", 262: "right", 65: "a", 68: "d", 70: "f", 72: "h", 67: "c", 32: "space"}
HAND_TARGET = (0.35, -0.2, 0.55)     # right hand, pelvis heading frame (the demo script's reach)
CROUCH_HEIGHT = 0.7                  # m, within the teacher's crouch range


@dataclass
class KeyboardPrompt:
    """The prompt the keys have built so far."""

    speed: float = 0.0
    move_yaw: float = 0.0              # world rad
    facing: float | None = None        # world rad; None: face the travel direction
    hand: bool = False
    crouch: bool = False
    max_speed: float = 3.0

    def press(self, key: str) -> None:
        if key == "up":
            self.speed = min(self.max_speed, self.speed + 0.5)
        elif key == "down":
            self.speed = max(0.0, self.speed - 0.5)
        elif key in ("left", "right"):
            self.move_yaw += math.radians(30 if key == "left" else -30)
        elif key in ("a", "d"):
            base = self.move_yaw if self.facing is None else self.facing
            self.facing = base + math.radians(30 if key == "a" else -30)
        elif key == "f":
            self.facing = None
        elif key == "h":
            self.hand = not self.hand
        elif key == "c":
            self.crouch = not self.crouch
        elif key == "space":
            self.speed, self.facing, self.hand, self.crouch = 0.0, None, False, False

    def prompt(self) -> Prompt:
        moving = self.speed > 0
        facing = self.facing if self.facing is not None else (self.move_yaw if moving else None)
        return Prompt(velocity=(self.speed * math.cos(self.move_yaw), self.speed * math.sin(self.move_yaw))
                      if moving or facing is not None else None,
                      facing=facing, right_hand=HAND_TARGET if self.hand else None,
                      pelvis_height=CROUCH_HEIGHT if self.crouch else None)


def run_interactive(bfm: BFM, seconds: float, physics: PhysicsConfig | None = None, log=print) -> dict:
    """Open the viewer and run the BFM for ``seconds`` (or until the window closes); returns a
    summary: keys pressed, distance travelled, falls."""
    from frozenfit.teacher.evaluate import goal_markers
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        # checked here: without a display MuJoCo's viewer exits the process with a GLFW message
        raise FrozenfitError("--interactive needs a display (DISPLAY is not set): run it on a desktop, over "
                             "ssh -X, or under Xvfb; `bfm play` without it writes a video")
    try:
        import mujoco.viewer
    except ImportError as e:
        raise FrozenfitError(f"mujoco.viewer is unavailable ({e})")
    ctl = BFMController(bfm, 1, episode_seconds=seconds + 1, physics=physics)
    model = scene_model(version=bfm.humanoid_version)
    data = mujoco.MjData(model)
    pressed: list[int] = []
    state, keys_seen = KeyboardPrompt(), []
    try:
        viewer = mujoco.viewer.launch_passive(model, data, key_callback=pressed.append,
                                              show_left_ui=False, show_right_ui=False)
    except Exception as e:  # no display, no GL
        raise FrozenfitError(f"cannot open MuJoCo's viewer ({e}); it needs a display (DISPLAY) and MUJOCO_GL=glfw")
    log("viewer open: Up/Down speed, Left/Right direction, A/D facing, F facing follows, H hand, C crouch, "
        "Space stop; close the window to quit", flush=True)
    start = ctl.env.frame.body_pos[0, 0, :2].clone()
    falls, steps = 0, int(seconds / ctl.env.dt)
    ctl.set_prompt(state.prompt())
    t0 = time.perf_counter()
    try:
        for t in range(steps):
            if not viewer.is_running():
                break
            while pressed:
                key = KEYS.get(pressed.pop(0))
                if key:
                    state.press(key)
                    ctl.set_prompt(state.prompt())
                    keys_seen.append(key)
                    log(f"{key}: prompt {describe(state.prompt())}", flush=True)
            r = ctl.step()
            falls += int(r.terminated[0])
            frame = ctl.env.frame
            data.qpos[:] = frame.qpos[0].double().numpy()
            mujoco.mj_kinematics(model, data)
            vis = ctl.task.show[0]
            with viewer.lock():
                viewer.cam.lookat[:] = [data.qpos[0], data.qpos[1], 0.9]
                viewer.user_scn.ngeom = 0
                for m in goal_markers(ctl.task, frame, 0, bool(vis[0]), bool(vis[1]), bool(vis[2])):
                    add_marker(viewer.user_scn, m)
            viewer.sync()
            lag = t0 + (t + 1) * ctl.env.dt - time.perf_counter()
            if lag > 0:                        # real time, never faster
                time.sleep(lag)
        travelled = float((ctl.env.frame.body_pos[0, 0, :2] - start).norm())
    finally:
        viewer.close()
        time.sleep(0.5)   # let the viewer's render thread finish its last frame before the process goes on
        ctl.close()
    summary = {"keys": keys_seen, "travelled_m": round(travelled, 2), "falls": falls,
               "seconds": round(time.perf_counter() - t0, 1)}
    log(f"travelled {travelled:.2f} m in {summary['seconds']} s, {falls} falls, keys: {' '.join(keys_seen) or 'none'}")
    return summary
