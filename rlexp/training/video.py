"""Videos of greedy episodes during training: `train.video_interval` (0 = off).

`record_episode` plays one episode of a policy on an env's first copy, writes it to
`<run dir>/videos/<env step>.mp4` (a GIF when imageio's ffmpeg plugin, the `video` extra,
is missing) and returns the frames; `write_summary` puts a strip of them in TensorBoard.
`EpisodeVideo` is both as one interval-trigger callback:

    EpisodeVideo(eval_env, eval_policy, run_dir)(env_step)   # the runner's `video` trigger

Validation refuses `train.video_interval > 0` with an env whose option does not declare
`can_render`, so here an env that cannot render is a bug, not a config error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from rlexp.envs.rendering import render_frame
from rlexp.rundir import VIDEO_DIR

FPS = 30


def record_episode(
    env: Any, policy: Any, path: Path, max_steps: int = 27_000, fps: int = FPS
) -> np.ndarray:
    """One greedy episode of `policy` on `env`'s first copy, written to `path` (its suffix
    becomes .gif when mp4 cannot be written); returns the frames, [T, H, W, 3] uint8.

    The episode starts from `env.reset()` and ends at the first copy's LAST step or after
    `max_steps` steps (27,000 = 108,000 Atari frames)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # gym's pygame renders without a display
    from tf_agents.utils import common

    act = common.function(policy.action)
    time_step = env.reset()
    state = policy.get_initial_state(env.batch_size)
    frames = [render_frame(env)]
    for _ in range(max_steps):
        step = act(time_step, state)
        state = step.state
        time_step = env.step(step.action)
        frames.append(render_frame(env))
        if bool(np.asarray(time_step.is_last())[0]):
            break
    video = np.stack(frames)
    write_video(video, Path(path), fps)
    return video


def write_video(frames: np.ndarray, path: Path, fps: int = FPS) -> Path:
    """`frames` as an mp4 at `path` (imageio-ffmpeg), or as a GIF beside it without it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (the mp4 writer)
    except ImportError:
        return _write_gif(frames, path.with_suffix(".gif"), fps)
    # macro_block_size=2: even sizes, as H.264's yuv420p needs, without resizing 84x84 frames.
    imageio.mimwrite(path, list(frames), fps=fps, macro_block_size=2)
    return path


def _write_gif(frames: np.ndarray, path: Path, fps: int) -> Path:
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)
    return path


def write_summary(frames: np.ndarray, step: int, name: str = "video/episode", count: int = 8):
    """`count` evenly spaced frames of the episode as a TensorBoard image summary (TF 2's
    TensorBoard has no video plugin); written to the default summary writer."""
    import tensorflow as tf

    picks = np.linspace(0, len(frames) - 1, num=min(count, len(frames))).astype(int)
    tf.summary.image(name, frames[picks], step=step, max_outputs=len(picks))


class EpisodeVideo:
    """The interval-trigger callback: `video(env_step)` records `videos/<env_step>.mp4`
    and writes its summary (inside the caller's `writer.as_default()`)."""

    def __init__(self, env: Any, policy: Any, run_dir: Path, max_steps: int = 27_000):
        self.env, self.policy, self.max_steps = env, policy, max_steps
        self.directory = Path(run_dir) / VIDEO_DIR

    def path(self, env_step: int) -> Path:
        return self.directory / f"{int(env_step)}.mp4"

    def __call__(self, env_step: int) -> np.ndarray:
        frames = record_episode(self.env, self.policy, self.path(env_step), self.max_steps)
        write_summary(frames, int(env_step))
        return frames
