"""The TF-Agents environments tutorial's card game as a `PyEnvironment`.

A blackjack-like game with an infinite deck of cards numbered 1..10. Each step the agent
takes a card (action 0) or stops (action 1); the observation is the sum of its cards. The
round ends when it stops or the sum reaches 21 or more; the final reward is `sum - 21` when
the sum is at most 21 and -21 otherwise, every other reward 0.

This is the tutorial's class with two changes: cards come from the env's own seeded
generator, not NumPy's global one; and an episode that ends because the sum reached 21 is
marked ended like one the agent stopped, so the next step starts a new episode. (The
tutorial's class returned a second LAST step there, as its printed output shows, and would
have gone on drawing cards into the finished round.)
"""

from __future__ import annotations

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

TAKE_CARD = 0
STOP = 1


class CardGameEnv(py_environment.PyEnvironment):
    def __init__(self, seed: int | None = None):
        super().__init__()
        self._action_spec = array_spec.BoundedArraySpec(
            shape=(), dtype=np.int32, minimum=0, maximum=1, name="action"
        )
        self._observation_spec = array_spec.BoundedArraySpec(
            shape=(1,), dtype=np.int32, minimum=0, name="observation"
        )
        self._rng = np.random.default_rng(seed)
        self._state = 0
        self._episode_ended = False

    def action_spec(self):
        return self._action_spec

    def observation_spec(self):
        return self._observation_spec

    def seed(self, seed):
        self._rng = np.random.default_rng(seed)

    def _reset(self):
        self._state = 0
        self._episode_ended = False
        return ts.restart(np.array([self._state], dtype=np.int32))

    def _step(self, action):
        if self._episode_ended:
            # The last action ended the episode. Ignore the current action and start
            # a new episode.
            return self.reset()

        if action == STOP:
            self._episode_ended = True
        elif action == TAKE_CARD:
            self._state += int(self._rng.integers(1, 11))
        else:
            raise ValueError("`action` should be 0 or 1.")

        if self._episode_ended or self._state >= 21:
            self._episode_ended = True
            reward = self._state - 21 if self._state <= 21 else -21
            return ts.termination(np.array([self._state], dtype=np.int32), reward)
        return ts.transition(np.array([self._state], dtype=np.int32), reward=0.0, discount=1.0)
