"""Environment builders (config group `env`) and env wrappers (registry group `wrapper`)."""

from rlexp.envs import (  # noqa: F401  (registers their options)
    atari,
    card_game,
    cartpole_tf,
    dm_control_suite,
    gym_suite,
    gymnasium_suite,
    minatar_suite,
    wrappers,
)
