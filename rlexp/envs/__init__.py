"""Environment builders (config group `env`)."""

from rlexp.envs import gym_suite  # noqa: F401  (registers its options)
