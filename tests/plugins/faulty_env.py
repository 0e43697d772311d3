"""A test plugin: a coin-flip env that fails on purpose, for the sweep failure-isolation test.

`env.fault`: `none` trains normally; `raise` raises while the env is built; `nan` pays
infinite rewards, so the TD loss is not finite (DQN's own check raises "Loss is inf or
nan"; the trainer's TrainingError is the backstop); `kill` SIGKILLs its own process after
`env.fault_after` steps (nothing in that process can record it); `kill_parent` SIGKILLs
the process that started it (in a sweep, the worker's fork server) and raises; `py_env`
returns the PyEnvironment where a TFEnvironment belongs; `reset_dtype` resets to an
observation of the wrong dtype.
"""

import os
import signal
from dataclasses import dataclass

import numpy as np

from rlexp.registry import register
from rlexp.schemas import EnvConfig, bounded, documented


@dataclass
class FaultyConfig(EnvConfig):
    fault: str = documented("none", "none, raise, nan, kill, kill_parent, py_env or reset_dtype")
    fault_after: int = bounded(50, ge=0, doc="env steps before a kill")


@register("env", "faulty", schema=FaultyConfig, doc="Coin flips that fail on purpose.")
def build_faulty(cfg: FaultyConfig, context):
    from tf_agents.environments import py_environment, tf_py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    if cfg.fault == "raise":
        raise RuntimeError("faulty env raised on purpose")
    if cfg.fault == "kill_parent":
        os.kill(os.getppid(), signal.SIGKILL)
        raise RuntimeError("faulty env killed its parent process")

    class Faulty(py_environment.PyEnvironment):
        def __init__(self):
            super().__init__()
            self._rng = np.random.default_rng(context.seed)
            self._coin, self._steps, self._total = 0, 0, 0

        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

        def observation_spec(self):
            return array_spec.BoundedArraySpec((1,), np.float32, 0.0, 1.0, name="observation")

        def _flip(self):
            self._coin = int(self._rng.integers(2))
            return np.array([self._coin], dtype=np.float32)

        def _reset(self):
            self._steps = 0
            if cfg.fault == "reset_dtype":  # the first time step is not its spec's
                return ts.restart(np.array([self._coin], dtype=np.int64))
            return ts.restart(self._flip())

        def _step(self, action):
            if self.current_time_step().is_last():
                return self.reset()
            self._total += 1
            if cfg.fault == "kill" and self._total >= cfg.fault_after:
                os.kill(os.getpid(), signal.SIGKILL)
            reward = float("inf") if cfg.fault == "nan" else float(action == self._coin)
            self._steps += 1
            if self._steps >= 10:
                return ts.termination(self._flip(), reward)
            return ts.transition(self._flip(), reward)

    if cfg.fault == "py_env":  # the PyEnvironment, not wrapped for TensorFlow
        return Faulty()
    return tf_py_environment.TFPyEnvironment(Faulty())
