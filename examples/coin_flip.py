"""A user-defined environment, registered as an rlexp plugin.

Each step shows a coin (0 or 1); the agent earns 1 for naming the coin it sees.
Run it with:  rlexp train plugins=[coin_flip] env=coin_flip
"""

from dataclasses import dataclass

import numpy as np

from rlexp.registry import register
from rlexp.schemas import EnvConfig, bounded


@dataclass
class CoinFlipConfig(EnvConfig):
    episode_length: int = bounded(20, gt=0, doc="steps per episode")


@register("env", "coin_flip", schema=CoinFlipConfig, doc="Name the coin you are shown.")
def build_coin_flip(cfg: CoinFlipConfig, context):
    # TF-Agents is imported inside the builder so `rlexp list` and validation stay fast.
    from tf_agents.environments import py_environment, tf_py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    class CoinFlip(py_environment.PyEnvironment):
        def __init__(self):
            super().__init__()
            self._rng = np.random.default_rng(context.seed)
            self._coin, self._steps = 0, 0

        def seed(self, seed):  # rlexp reseeds envs at a run's start and on resume
            self._rng = np.random.default_rng(seed)

        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

        def observation_spec(self):
            return array_spec.BoundedArraySpec((1,), np.float32, 0.0, 1.0, name="observation")

        def _flip(self):
            self._coin = int(self._rng.integers(2))
            return np.array([self._coin], dtype=np.float32)

        def _reset(self):
            self._steps = 0
            return ts.restart(self._flip())

        def _step(self, action):
            if self.current_time_step().is_last():
                return self.reset()
            reward = float(action == self._coin)
            self._steps += 1
            if self._steps >= cfg.episode_length:
                return ts.termination(self._flip(), reward)
            return ts.transition(self._flip(), reward)

    return tf_py_environment.TFPyEnvironment(CoinFlip())
