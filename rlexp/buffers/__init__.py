"""Replay buffer builders (config group `buffer`) and the trainer's view of a buffer."""

from typing import Any

from rlexp.buffers import py_uniform, reverb_replay, tf_uniform  # noqa: F401  (registers)
from rlexp.buffers.replay_io import io_of


def observer(buffer: Any):
    """The callable(trajectory) that writes collected steps into `buffer`."""
    return io_of(buffer).observer(buffer)


def dataset(buffer: Any, cfg: Any, num_steps: int):
    """The dataset of training samples of `buffer` (`cfg` is the buffer's config)."""
    return io_of(buffer).dataset(buffer, cfg, num_steps)


def train(buffer: Any, agent: Any, sample: Any):
    """Train `agent` on one dataset element; a prioritized buffer updates its priorities."""
    return io_of(buffer).train(buffer, agent, sample)
