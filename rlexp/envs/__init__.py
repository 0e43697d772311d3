"""Environment builders (config group `env`) and env wrappers (registry group `wrapper`)."""

from rlexp.envs import (  # noqa: F401  (registers their options)
    card_game,
    cartpole_tf,
    gym_suite,
    gymnasium_suite,
    wrappers,
)
