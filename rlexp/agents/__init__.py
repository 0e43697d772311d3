"""Agent builders (config group `agent`)."""

from rlexp.agents import dqn, policy_gradient, sac  # noqa: F401  (registers their options)
