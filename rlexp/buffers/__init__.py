"""Replay buffer builders (config group `buffer`)."""

from rlexp.buffers import tf_uniform  # noqa: F401  (registers its options)
