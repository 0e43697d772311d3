"""Agent builders (config group `agent`)."""

from rlexp.agents import dqn  # noqa: F401  (registers its options)
