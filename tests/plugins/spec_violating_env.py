"""A plugin env that breaks its own spec: its observation spec says float32, but it returns
float64 observations. Built through rlexp's env pipeline, where the spec check is on by
default for plugin envs."""

from dataclasses import dataclass

import numpy as np

from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind


@dataclass
class SpecViolatingConfig(PyEnvConfig):
    def base_action_kind(self) -> ActionKind:
        return ActionKind.discrete


def make_env(seed: int):
    from tf_agents.environments import py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    class SpecViolating(py_environment.PyEnvironment):
        def __init__(self):
            super().__init__(handle_auto_reset=True)
            self._steps = 0

        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

        def observation_spec(self):
            return array_spec.ArraySpec((2,), np.float32, name="observation")

        def _reset(self):
            self._steps = 0
            return ts.restart(np.zeros(2, np.float32))

        def _step(self, action):
            self._steps += 1
            observation = np.full(2, self._steps, dtype=np.float64)  # the bug
            if self._steps >= 3:
                return ts.termination(observation, 1.0)
            return ts.transition(observation, 0.0)

    return SpecViolating()


@register("env", "spec_violating", schema=SpecViolatingConfig, doc="Returns float64 obs.")
def build_spec_violating(cfg: SpecViolatingConfig, context):
    return build_tf_env(cfg, context, make_env)
