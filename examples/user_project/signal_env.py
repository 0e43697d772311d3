"""A user project's own environment, registered as an rlexp plugin.

Each step shows one of `num_signals` lights; the agent earns 1 for pressing the button of
the light it sees. Built through rlexp's env pipeline (`build_tf_env`), so it gets
env.num_parallel_envs, env.wrappers and the spec check like the built-in Python envs.
"""

from dataclasses import dataclass

import numpy as np

from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind, bounded


@dataclass
class SignalConfig(PyEnvConfig):
    num_signals: int = bounded(2, ge=2, doc="lights, and buttons to press")
    episode_length: int = bounded(20, gt=0, doc="steps per episode")

    def base_action_kind(self) -> ActionKind:
        return ActionKind.discrete  # a declared fact: validation checks agents against it


def make_signal_env(cfg: SignalConfig, seed: int):
    from tf_agents.environments import py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    class Signal(py_environment.PyEnvironment):
        def __init__(self):
            super().__init__(handle_auto_reset=True)
            self._rng = np.random.default_rng(seed)
            self._light = self._steps = 0

        def seed(self, seed):  # rlexp reseeds envs at a run's start and on resume
            self._rng = np.random.default_rng(seed)

        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, cfg.num_signals - 1)

        def observation_spec(self):
            return array_spec.BoundedArraySpec((cfg.num_signals,), np.float32, 0.0, 1.0)

        def _show(self):
            self._light = int(self._rng.integers(cfg.num_signals))
            return np.eye(cfg.num_signals, dtype=np.float32)[self._light]

        def _reset(self):
            self._steps = 0
            return ts.restart(self._show())

        def _step(self, action):
            reward = float(action == self._light)
            self._steps += 1
            if self._steps >= cfg.episode_length:
                return ts.termination(self._show(), reward)
            return ts.transition(self._show(), reward)

    return Signal()


@register("env", "signal", schema=SignalConfig, doc="Press the button of the light you see.")
def build_signal(cfg: SignalConfig, context):
    return build_tf_env(cfg, context, lambda seed: make_signal_env(cfg, seed))
