"""`utils.validate_py_environment` with a message that says which field broke the spec.

TF-Agents' check prints the whole time step and the whole spec. Here the env is run
through the same check, and when it fails, the offending time step is taken apart field by
field: the message names the field (`observation`, `reward`, `observation/position`, ...),
the spec it should match and what came back (dtype, shape, value).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlexp.context import BuildError


class EnvSpecError(BuildError):
    """An env returned a time step that does not match its own `time_step_spec()`."""


def check_py_environment(py_env: Any, name: str, episodes: int) -> None:
    """Run `validate_py_environment(py_env, episodes)`; raise EnvSpecError on a mismatch."""
    from tf_agents.environments import utils, wrappers

    class LastTimeStep(wrappers.PyEnvironmentBaseWrapper):
        """Remembers what the env returned last, to explain a failed check."""

        last = None

        def _reset(self):
            self.last = self._env.reset()
            return self.last

        def _step(self, action):
            self.last = self._env.step(action)
            return self.last

    recorder = LastTimeStep(py_env)
    try:
        utils.validate_py_environment(recorder, episodes=episodes)
    except ValueError as exc:
        if recorder.last is None or "does not match expected `time_step_spec`" not in str(exc):
            raise
        raise EnvSpecError(
            f"env={name} violates its spec (utils.validate_py_environment): "
            + "; ".join(mismatches(recorder.last, py_env.time_step_spec()))
        ) from exc
    finally:
        py_env.close()


def mismatches(time_step: Any, spec: Any) -> list[str]:
    """One line per field of `time_step` that does not match `spec`."""
    import tensorflow as tf

    found = []
    for field in type(spec)._fields:  # TimeStep: step_type, reward, discount, observation
        value, field_spec = getattr(time_step, field), getattr(spec, field)
        try:
            tf.nest.assert_same_structure(value, field_spec)
        except (TypeError, ValueError):
            found.append(f"{field}: expected the structure {field_spec!r}, got {_describe(value)}")
            continue
        for path, leaf_spec, leaf in _leaves(field_spec, value, field):
            if not leaf_spec.check_array(leaf):
                found.append(f"{path}: expected {leaf_spec!r}, got {_describe(leaf)}")
    return found or [f"the time step {time_step!r} does not match {spec!r}"]


def _leaves(spec: Any, value: Any, path: str):
    """(path, spec, value) of each leaf of two nests of the same structure."""
    if isinstance(spec, dict):
        for key in spec:
            yield from _leaves(spec[key], value[key], f"{path}/{key}")
    elif isinstance(spec, list | tuple):
        for index, (sub_spec, sub_value) in enumerate(zip(spec, value, strict=True)):
            yield from _leaves(
                sub_spec, sub_value, f"{path}/{getattr(spec, '_fields', range(len(spec)))[index]}"
            )
    else:
        yield path, spec, value


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value!r} (dtype {value.dtype}, shape {value.shape})"
    return f"{value!r} (a {type(value).__name__}, not a NumPy array)"
