"""A user-defined Python env and env wrapper, registered as rlexp plugins.

The env: walk along a line to a target. Its observation is a dict (`position`, `target`),
so DQN's QNetwork needs it flattened: TF-Agents' FlattenObservationsWrapper does that. The
wrapper: `RewardScale` multiplies every reward by a factor. The env is built through
`build_tf_env`, so it gets env.wrappers, env.num_parallel_envs and the spec check of
utils.validate_py_environment (on by default for plugin envs) like the built-in envs.
Run it with:

  rlexp train plugins=[target_line] env=target_line \
    'env.wrappers=[{name: FlattenObservationsWrapper}, {name: RewardScale, factor: 0.5}]'
"""

from dataclasses import dataclass

import numpy as np

from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind, WrapperConfig, bounded


@dataclass
class TargetLineConfig(PyEnvConfig):
    length: int = bounded(8, ge=2, doc="positions on the line")
    max_steps: int = bounded(20, gt=0, doc="steps per episode at most")

    def base_action_kind(self) -> ActionKind:
        return ActionKind.discrete  # a static fact: validation checks agents against it


def make_target_line(cfg: TargetLineConfig, seed: int):
    from tf_agents.environments import py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    class TargetLine(py_environment.PyEnvironment):
        """Action 0 steps left, 1 right; reaching the target pays 1, each step costs 0.05."""

        def __init__(self):
            super().__init__(handle_auto_reset=True)
            self._rng = np.random.default_rng(seed)
            self._position = self._target = self._steps = 0

        def seed(self, seed):  # rlexp reseeds envs at a run's start and on resume
            self._rng = np.random.default_rng(seed)

        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

        def observation_spec(self):
            bounds = dict(minimum=0.0, maximum=cfg.length - 1.0)
            return {
                "position": array_spec.BoundedArraySpec((1,), np.float32, **bounds),
                "target": array_spec.BoundedArraySpec((1,), np.float32, **bounds),
            }

        def _observation(self):
            return {
                "position": np.array([self._position], np.float32),
                "target": np.array([self._target], np.float32),
            }

        def _reset(self):
            self._position, self._target = self._rng.choice(cfg.length, 2, replace=False)
            self._steps = 0
            return ts.restart(self._observation())

        def _step(self, action):
            move = 1 if action == 1 else -1
            self._position = int(np.clip(self._position + move, 0, cfg.length - 1))
            self._steps += 1
            if self._position == self._target:
                return ts.termination(self._observation(), 1.0)
            if self._steps >= cfg.max_steps:
                return ts.truncation(self._observation(), -0.05)
            return ts.transition(self._observation(), -0.05)

    return TargetLine()


@register("env", "target_line", schema=TargetLineConfig, doc="Walk to a target on a line.")
def build_target_line(cfg: TargetLineConfig, context):
    return build_tf_env(cfg, context, lambda seed: make_target_line(cfg, seed))


@dataclass
class RewardScaleConfig(WrapperConfig):
    factor: float = bounded(1.0, gt=0.0, doc="multiplier of every reward")


@register("wrapper", "RewardScale", schema=RewardScaleConfig, doc="Multiply rewards by a factor.")
def build_reward_scale(cfg: RewardScaleConfig, context):
    # context.env is the PyEnvironment to wrap.
    from tf_agents.environments import wrappers

    class RewardScale(wrappers.PyEnvironmentBaseWrapper):
        def _step(self, action):
            time_step = self._env.step(action)
            return time_step._replace(reward=time_step.reward * np.float32(cfg.factor))

    return RewardScale(context.env)
