"""Name an env's failure while TensorFlow steps it.

`TFPyEnvironment` steps its Python env inside `tf.numpy_function`, so an exception raised
by the env (or a NaN reward that TF-Agents rejects later) reaches the trainer as a TF
`UnknownError` carrying a long graph trace. `GuardedPyEnvironment` wraps the Python env
handed to `TFPyEnvironment`: it records the first failure, with the env's name, the step,
the exception type and message, then re-raises; it also turns a non-finite reward or
observation, or an observation whose dtype or shape is not its spec's, into an `EnvFailure`
at the step that produced it. The trainer catches the TF error and asks `take_failure()` for the
plain message:

    try:
        ...collect...
    except tf.errors.OpError as exc:
        failure = take_failure()
        if failure is not None:
            raise TrainingError(str(failure)) from None
        raise
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from tf_agents.environments import wrappers

NAN_TIME_STEP = "converted to a nan array"
_LOCK = threading.Lock()
_FAILURE: list[EnvFailure] = []


class EnvFailure(RuntimeError):
    """An env raised, or returned a value its specs rule out, while being stepped."""


def take_failure() -> EnvFailure | None:
    """The first failure recorded since the last call (and forget it), or None."""
    with _LOCK:
        return _FAILURE.pop(0) if _FAILURE else None


def _record(failure: EnvFailure) -> None:
    with _LOCK:
        if not _FAILURE:
            _FAILURE.append(failure)


class GuardedPyEnvironment(wrappers.PyEnvironmentBaseWrapper):
    """The Python env (batched or not) as TF steps it, with its failures named."""

    def __init__(self, env: Any, name: str):
        super().__init__(env)
        self._name = name
        self._steps = 0
        specs = _flatten(env.observation_spec())
        outer = (env.batch_size,) if env.batched else ()  # a batched env's copies, stacked
        self._observation_specs = [(np.dtype(s.dtype), outer + tuple(s.shape)) for s in specs]

    def _reset(self):
        return self._checked(self._env.reset, "reset()")

    def _step(self, action):
        time_step = self._checked(lambda: self._env.step(action), "step()")
        self._steps += 1
        return time_step

    def _checked(self, call, what: str):
        try:
            time_step = call()
        except Exception as exc:
            if isinstance(exc, ValueError) and NAN_TIME_STEP in str(exc):
                # TF-Agents' ts.transition/restart refuse a nan reward or observation
                problem = "returned a nan reward or observation (TF-Agents refused its time step)"
            else:
                problem = f"raised {type(exc).__name__}"
            message = " ".join(str(exc).split())
            _record(
                EnvFailure(
                    f"env={self._name} {problem} in {what} after {self._steps} steps: {message}"
                )
            )
            raise
        problem = self._problem(time_step)
        if problem:
            failure = EnvFailure(f"env={self._name} {problem} in {what} after {self._steps} steps")
            _record(failure)
            raise failure
        return time_step

    def _problem(self, time_step) -> str | None:
        reward = np.asarray(time_step.reward)
        if np.issubdtype(reward.dtype, np.floating) and not np.all(np.isfinite(reward)):
            return f"returned a non-finite reward ({reward.tolist()})"
        arrays = _flatten(time_step.observation)
        if len(arrays) != len(self._observation_specs):
            return "returned an observation whose structure is not its spec's"
        for array, (dtype, shape) in zip(arrays, self._observation_specs, strict=True):
            array = np.asarray(array)
            if array.dtype != dtype:
                return f"returned an observation of dtype {array.dtype}; its spec says {dtype}"
            if array.shape != shape:
                return f"returned an observation of shape {array.shape}; its spec says {shape}"
            if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
                return "returned a non-finite observation (inf or nan)"
        return None


def _flatten(structure: Any) -> list:
    import tensorflow as tf

    return tf.nest.flatten(structure)


def guard_tf_env(tf_env: Any, name: str) -> Any:
    """Guard the Python env inside a `TFPyEnvironment` a builder made itself (a plugin
    that does not use `build_tf_env`); a native TF env, or one already guarded, is returned
    as is. Call it right after building, before anything steps the env: it swaps the
    env `TFPyEnvironment` steps (its `_env`, as in tf-agents 0.19)."""
    from tf_agents.environments import tf_py_environment

    if not isinstance(tf_env, tf_py_environment.TFPyEnvironment):
        return tf_env
    inner = tf_env.pyenv
    if _is_guarded(inner):
        return tf_env
    tf_env._env = GuardedPyEnvironment(inner, name)  # noqa: SLF001 (documented above)
    return tf_env


def _is_guarded(env: Any) -> bool:
    if isinstance(env, GuardedPyEnvironment):
        return True
    envs = getattr(env, "_envs", None) or getattr(env, "envs", None) or []
    return len(envs) > 0 and all(isinstance(e, GuardedPyEnvironment) for e in envs)
