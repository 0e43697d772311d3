"""`rlexp.envs.guard`: an env failing while TensorFlow steps it is named (env, step,
exception type and message) instead of being lost in a TF graph error, and a non-finite
reward or observation, or an observation of the wrong dtype, is caught at its step."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tf_agents")


def make_env(fault: str, after: int = 3):
    from tf_agents.environments import py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    class Faulty(py_environment.PyEnvironment):
        def __init__(self):
            super().__init__()
            self.steps = 0

        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

        def observation_spec(self):
            return array_spec.ArraySpec((2,), np.float32, name="observation")

        def _reset(self):
            self.steps = 0
            return ts.restart(np.zeros(2, np.float32))

        def _step(self, action):
            self.steps += 1
            observation = np.full(2, self.steps, np.float32)
            reward = 1.0
            if self.steps > after:
                if fault == "raise":
                    raise ValueError("the simulator lost its state")
                if fault == "nan_reward":
                    reward = float("nan")
                if fault == "inf_observation":
                    observation[0] = np.inf
                if fault == "dtype":
                    observation = observation.astype(np.float64)
                if fault == "shape":
                    observation = np.zeros(3, np.float32)
                if fault == "nan_transition":  # TF-Agents' own constructor refuses it
                    return ts.transition(observation, np.float32("nan"))
            return ts.TimeStep(  # as an env that builds its own time steps does
                np.asarray(ts.StepType.MID, np.int32),
                np.asarray(reward, np.float32),
                np.asarray(1.0, np.float32),
                observation,
            )

    return Faulty()


@pytest.fixture(autouse=True)
def no_stale_failure():
    from rlexp.envs.guard import take_failure

    take_failure()
    yield
    take_failure()


def test_a_healthy_env_steps_unchanged():
    from rlexp.envs.guard import GuardedPyEnvironment, take_failure

    plain, guarded = make_env("none"), GuardedPyEnvironment(make_env("none"), "faulty")
    plain.reset(), guarded.reset()
    for _ in range(5):
        a, b = plain.step(np.int64(1)), guarded.step(np.int64(1))
        np.testing.assert_array_equal(a.observation, b.observation)
        assert a.reward == b.reward
    assert take_failure() is None


@pytest.mark.parametrize(
    ("fault", "raised", "phrase"),
    [
        ("raise", ValueError, "env=faulty raised ValueError in step() after 3 steps: the simul"),
        ("nan_reward", "EnvFailure", "env=faulty returned a non-finite reward (nan)"),
        ("nan_transition", ValueError, "env=faulty returned a nan reward or observation"),
        ("inf_observation", "EnvFailure", "env=faulty returned a non-finite observation"),
        ("dtype", "EnvFailure", "observation of dtype float64; its spec says float32"),
        ("shape", "EnvFailure", "observation of shape (3,); its spec says (2,)"),
    ],
)
def test_failures_are_named_at_their_step(fault, raised, phrase):
    from rlexp.envs import guard

    env = guard.GuardedPyEnvironment(make_env(fault), "faulty")
    env.reset()
    for _ in range(3):
        env.step(np.int64(0))
    expected = guard.EnvFailure if raised == "EnvFailure" else raised
    with pytest.raises(expected):
        env.step(np.int64(0))
    failure = guard.take_failure()
    assert failure is not None and phrase in str(failure), failure
    assert guard.take_failure() is None  # taken once


def test_the_failure_behind_a_tf_graph_error_is_named():
    """Through TFPyEnvironment (numpy_function), the trainer sees a TF error; the guard
    holds the plain message the trainer reports instead."""
    import tensorflow as tf
    from tf_agents.environments import tf_py_environment

    from rlexp.envs.guard import GuardedPyEnvironment, take_failure

    tf_env = tf_py_environment.TFPyEnvironment(
        GuardedPyEnvironment(make_env("raise", after=1), "faulty")
    )
    step = tf.function(tf_env.step)  # inside a graph, as the drivers step it
    tf_env.reset()
    step(tf.constant([0], tf.int64))
    with pytest.raises(tf.errors.OpError):
        step(tf.constant([0], tf.int64))
    failure = take_failure()
    assert str(failure) == (
        "env=faulty raised ValueError in step() after 1 steps: the simulator lost its state"
    )


def test_build_tf_env_guards_the_env(monkeypatch):
    from rlexp.context import BuildContext
    from rlexp.envs.guard import GuardedPyEnvironment
    from rlexp.envs.gym_suite import GymEnvConfig, build_gym_env

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    env = build_gym_env(GymEnvConfig(name="cartpole", gym_id="CartPole-v1"), BuildContext(seed=0))
    env.reset()
    # TFPyEnvironment batches an unbatched env itself: the guard is its one env.
    (guarded,) = env.pyenv.envs
    assert isinstance(guarded, GuardedPyEnvironment)
    assert guarded.render("rgb_array").ndim == 3  # the wrapped env's methods stay reachable


def test_a_plugins_own_tf_env_is_guarded_after_building():
    import tensorflow as tf
    from tf_agents.environments import tf_py_environment

    from rlexp.envs.guard import guard_tf_env, take_failure

    tf_env = guard_tf_env(tf_py_environment.TFPyEnvironment(make_env("raise", after=1)), "mine")
    assert guard_tf_env(tf_env, "mine").pyenv is tf_env.pyenv  # guarded once
    step = tf.function(tf_env.step)
    tf_env.reset()
    step(tf.constant([0], tf.int64))
    with pytest.raises(tf.errors.OpError):
        step(tf.constant([0], tf.int64))
    assert "env=mine raised ValueError in step() after 1 steps" in str(take_failure())
