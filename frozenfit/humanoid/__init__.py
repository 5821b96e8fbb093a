"""The MuJoCo humanoid: model, batched simulation, observations, environment, rendering.

MuJoCo picks its OpenGL backend when it is first imported. Without a display we default to
EGL (headless, works with Mesa's software renderer); set MUJOCO_GL yourself (osmesa, egl, glfw)
to choose another before anything imports mujoco.
"""

import os

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")
