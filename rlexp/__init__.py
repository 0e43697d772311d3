"""rlexp: config-driven RL experiments on TF-Agents."""

import logging
import os

# Once dm-control is installed, `import tf_agents` imports `dm_control.suite`, which picks
# MuJoCo's OpenGL backend at import: unset it warns about DISPLAY, and `osmesa` (often
# absent) crashes. EGL renders headless. Set here, before any rlexp module imports
# tf_agents; a user's own MUJOCO_GL wins.
os.environ.setdefault("MUJOCO_GL", "egl")
# dm_control's PyOpenGL logs "No OpenGL_accelerate module loaded" at INFO in every run.
logging.getLogger("OpenGL.acceleratesupport").setLevel(logging.WARNING)
