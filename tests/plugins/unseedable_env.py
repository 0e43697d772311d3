"""An env without `seed(seed)`, for the test that env.batching=parallel names what it
needs (the maker is module-level: ParallelPyEnvironment pickles it into its workers)."""

import numpy as np


def make_env(seed: int):
    from tf_agents.environments import py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    class Unseedable(py_environment.PyEnvironment):
        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

        def observation_spec(self):
            return array_spec.ArraySpec((1,), np.float32, name="observation")

        def _reset(self):
            return ts.restart(np.zeros(1, np.float32))

        def _step(self, action):
            return ts.termination(np.zeros(1, np.float32), 1.0)

    return Unseedable()
