"""Test plugin: 50-step episodes whose reward becomes 1e30 after `explode_after` steps.

With the mse TD loss that makes the loss infinite, so a test can trigger the non-finite
loss guard after a checkpoint has been written.
"""

from dataclasses import dataclass

import numpy as np

from rlexp.registry import register
from rlexp.schemas import EnvConfig, bounded


@dataclass
class ExplodingRewardConfig(EnvConfig):
    explode_after: int = bounded(1500, gt=0, doc="env steps before rewards blow up")


@register("env", "exploding_reward", schema=ExplodingRewardConfig, doc="Reward 1e30 later on.")
def build_exploding_reward(cfg: ExplodingRewardConfig, context):
    from tf_agents.environments import py_environment, tf_py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    class ExplodingReward(py_environment.PyEnvironment):
        def __init__(self):
            super().__init__()
            self._steps = 0

        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

        def observation_spec(self):
            return array_spec.ArraySpec((1,), np.float32, name="observation")

        def _reset(self):
            return ts.restart(np.zeros(1, np.float32))

        def _step(self, action):
            self._steps += 1
            reward = 1e30 if self._steps > cfg.explode_after else 1.0
            if self._steps % 50 == 0:
                return ts.termination(np.ones(1, np.float32), reward)
            return ts.transition(np.ones(1, np.float32), reward)

    return tf_py_environment.TFPyEnvironment(ExplodingReward())
