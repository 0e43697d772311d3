"""`GymnasiumPyEnvironment`: a Gymnasium env as a TF-Agents `PyEnvironment`.

TF-Agents 0.19 has `suite_gym` for the old gym API only. This adapter speaks Gymnasium's:
`reset(seed=...) -> (obs, info)` and `step(a) -> (obs, reward, terminated, truncated, info)`.
`terminated` ends the episode with discount 0 (`ts.termination`), `truncated` (a time limit)
with the env's discount (`ts.truncation`), so bootstrapping stays right. Spaces become
`BoundedArraySpec`s (Discrete -> an int64 scalar, Box -> its shape and bounds, Dict/Tuple ->
nests); float64 observations are delivered as float32, what TF networks expect.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts


def spec_from_space(space: Any, name: str, float_dtype=None) -> Any:
    """The ArraySpec nest of a Gymnasium space; `float_dtype` replaces float64 if given."""
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        start = int(space.start)
        return array_spec.BoundedArraySpec(
            (), np.int64, minimum=start, maximum=start + int(space.n) - 1, name=name
        )
    if isinstance(space, spaces.MultiDiscrete):
        return array_spec.BoundedArraySpec(
            space.shape, np.int64, minimum=0, maximum=np.asarray(space.nvec) - 1, name=name
        )
    if isinstance(space, spaces.MultiBinary):
        return array_spec.BoundedArraySpec(space.shape, np.int8, minimum=0, maximum=1, name=name)
    if isinstance(space, spaces.Box):
        dtype = np.dtype(space.dtype)
        if float_dtype is not None and dtype == np.float64:
            dtype = np.dtype(float_dtype)
        low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
        if np.issubdtype(dtype, np.floating):
            info = np.finfo(dtype)
            low, high = np.clip(low, info.min, info.max), np.clip(high, info.min, info.max)
        return array_spec.BoundedArraySpec(
            space.shape, dtype, minimum=low.astype(dtype), maximum=high.astype(dtype), name=name
        )
    if isinstance(space, spaces.Dict):
        return {key: spec_from_space(sub, key, float_dtype) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(
            spec_from_space(sub, f"{name}_{i}", float_dtype) for i, sub in enumerate(space.spaces)
        )
    raise TypeError(f"no ArraySpec for the Gymnasium space {space!r}")


class GymnasiumPyEnvironment(py_environment.PyEnvironment):
    """Wraps an env made by `gymnasium.make`; seeded by `seed()` or the constructor."""

    def __init__(self, gym_env: Any, discount: float = 1.0, seed: int | None = None):
        super().__init__(handle_auto_reset=True)
        self._env = gym_env
        self._discount = np.float32(discount)
        self._observation_spec = spec_from_space(
            gym_env.observation_space, "observation", np.float32
        )
        self._action_spec = spec_from_space(gym_env.action_space, "action")
        spec = self._action_spec
        self._discrete_action = (
            isinstance(spec, array_spec.ArraySpec)
            and spec.shape == ()
            and np.issubdtype(spec.dtype, np.integer)
        )
        self._next_seed = None
        if seed is not None:
            self.seed(seed)

    @property
    def gym(self) -> Any:
        return self._env

    def observation_spec(self):
        return self._observation_spec

    def action_spec(self):
        return self._action_spec

    def seed(self, seed):
        """Seed the next reset (Gymnasium seeds through `reset`) and the action space."""
        self._next_seed = int(seed)
        self._env.action_space.seed(int(seed))
        return [seed]

    def _observation(self, obs: Any) -> Any:
        return _cast(obs, self._observation_spec)

    def _reset(self):
        obs, _ = self._env.reset(seed=self._next_seed)
        self._next_seed = None
        return ts.restart(self._observation(obs))

    def _step(self, action):
        if self._discrete_action:
            action = int(np.asarray(action))
        obs, reward, terminated, truncated, _ = self._env.step(action)
        obs = self._observation(obs)
        reward = np.asarray(reward, dtype=np.float32)
        if terminated:
            return ts.termination(obs, reward)
        if truncated:
            return ts.truncation(obs, reward, self._discount)
        return ts.transition(obs, reward, self._discount)

    def render(self, mode: str = "rgb_array"):
        return self._env.render()

    def close(self) -> None:
        self._env.close()


def _cast(value: Any, spec: Any) -> Any:
    if isinstance(spec, dict):
        return {key: _cast(value[key], sub) for key, sub in spec.items()}
    if isinstance(spec, tuple):
        return tuple(_cast(v, sub) for v, sub in zip(value, spec, strict=True))
    return np.asarray(value, dtype=spec.dtype)
