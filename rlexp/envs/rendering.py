"""One RGB frame of an env's first copy, whatever built it: a `TFPyEnvironment` over
Python envs (their own `render("rgb_array")`), or a native TF env with a `render()` of
its own (cartpole_tf draws its carts). Used by videos and `rlexp eval video=true`."""

from __future__ import annotations

from typing import Any

import numpy as np


class RenderError(RuntimeError):
    """The env draws no frames (its option declares `can_render = False`)."""


def render_frame(env: Any) -> np.ndarray:
    """The (H, W, 3) uint8 frame of `env`'s first copy."""
    try:
        pyenv = getattr(env, "pyenv", None)
        if pyenv is not None:
            copies = getattr(pyenv, "envs", None)
            frame = copies[0].render("rgb_array") if copies else pyenv.render("rgb_array")[0]
        else:
            frame = np.asarray(env.render())[0]
    except (AttributeError, NotImplementedError, TypeError) as exc:
        raise RenderError(f"{type(env).__name__} cannot render frames ({exc})") from exc
    if frame is None:
        raise RenderError(f"{type(env).__name__} rendered nothing (no rgb_array render mode)")
    return np.asarray(frame, dtype=np.uint8)
