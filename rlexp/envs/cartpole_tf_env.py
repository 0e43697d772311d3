"""`CartPoleTFEnvironment`: gym's CartPole-v1 as a native, batched `TFEnvironment`.

The batch dimension holds `batch_size` independent carts stepped together by tensor ops,
so a `DynamicStepDriver` collects inside one compiled graph with no Python in the loop.
The physics is gym 0.23's `CartPoleEnv.step` (Euler integration) in float64, the precision
gym computes in, and observations are cast to float32 as gym returns them. Episodes end
like `suite_gym.load("CartPole-v1")`'s: termination (the pole falls past 12 degrees or the
cart leaves +-2.4) gives discount 0; so does the `max_episode_steps` time limit, because
gym 0.23's TimeLimit reports `done` and suite_gym turns every `done` into a termination
(with `bootstrap_on_time_limit=True` it keeps the env discount instead, a truncation);
every step pays 1, and the step after a LAST resets that cart alone (FIRST,
reward 0) with a state drawn uniformly from [-0.05, 0.05) as gym draws it.

Steps match gym bit for bit, which matters: a balanced pole is an unstable system, and a
one-ulp difference grows past 1e-5 within a few hundred steps. Inside a tf.function,
Grappler's arithmetic optimizer would reorder products with scalar constants (to minimize
broadcasts) and fold constants, changing the rounding. So the physical constants live in a
[batch, 8] variable, every operand of the arithmetic has the batch shape, and the terms are
evaluated in gym's order (`x ** 2` as `x * x`, which Python also rounds exactly).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from tf_agents.environments import tf_environment
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

# gym 0.23 CartPoleEnv.__init__, computed the same way (Python floats, i.e. float64).
GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD_RADIANS = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
OBSERVATION_HIGH = np.array(
    [
        X_THRESHOLD * 2,
        np.finfo(np.float32).max,
        THETA_THRESHOLD_RADIANS * 2,
        np.finfo(np.float32).max,
    ],
    dtype=np.float32,
)


class CartPoleTFEnvironment(tf_environment.TFEnvironment):
    def __init__(
        self,
        batch_size: int = 1,
        max_episode_steps: int = 500,
        discount: float = 1.0,
        seed: int | None = None,
        bootstrap_on_time_limit: bool = False,
    ):
        observation_spec = tensor_spec.BoundedTensorSpec(
            (4,), tf.float32, -OBSERVATION_HIGH, OBSERVATION_HIGH, name="observation"
        )
        action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")
        super().__init__(ts.time_step_spec(observation_spec), action_spec, batch_size)
        self._max_episode_steps = int(max_episode_steps)
        self._discount = float(discount)
        self._bootstrap_on_time_limit = bool(bootstrap_on_time_limit)
        self._rng = (
            tf.random.Generator.from_seed(seed)
            if seed is not None
            else tf.random.Generator.from_non_deterministic_state()
        )
        shape = (batch_size,)
        self._state = tf.Variable(tf.zeros(shape + (4,), tf.float64), name="state")
        self._episode_steps = tf.Variable(tf.zeros(shape, tf.int32), name="episode_steps")
        self._step_type = tf.Variable(tf.zeros(shape, tf.int32), name="step_type")
        self._reward = tf.Variable(tf.zeros(shape, tf.float32), name="reward")
        self._discount_var = tf.Variable(tf.ones(shape, tf.float32), name="discount")
        physics = [
            GRAVITY,
            MASSPOLE,
            TOTAL_MASS,
            LENGTH,
            POLEMASS_LENGTH,
            FORCE_MAG,
            TAU,
            4.0 / 3.0,
        ]
        self._physics = tf.Variable(
            np.tile(np.array([physics], dtype=np.float64), (batch_size, 1)),
            trainable=False,
            name="physics",
        )
        self._reset()

    def set_state(self, state) -> None:
        """Put the carts in `state` ([batch, 4]: x, x_dot, theta, theta_dot; float64)."""
        self._state.assign(tf.cast(tf.reshape(state, (self.batch_size, 4)), tf.float64))

    def reseed(self, seed: int) -> None:
        """Restart the initial-state RNG from `seed` (trainer segments, evaluations)."""
        self._rng.reset_from_seed(seed)

    def get_state(self) -> tf.Tensor:
        return tf.identity(self._state)

    def render(self) -> np.ndarray:
        """[batch, 400, 600, 3] uint8 frames drawn from the carts' state (eager only)."""
        from rlexp.envs.cartpole_drawing import draw_cartpole

        state = self._state.numpy()
        return np.stack([draw_cartpole(float(s[0]), float(s[2])) for s in state])

    def _initial_states(self) -> tf.Tensor:
        return self._rng.uniform((self.batch_size, 4), -0.05, 0.05, dtype=tf.float64)

    def _current_time_step(self) -> ts.TimeStep:
        return ts.TimeStep(
            step_type=tf.identity(self._step_type),
            reward=tf.identity(self._reward),
            discount=tf.identity(self._discount_var),
            observation=tf.cast(self._state, tf.float32),
        )

    def _reset(self) -> ts.TimeStep:
        shape = (self.batch_size,)
        self._state.assign(self._initial_states())
        self._episode_steps.assign(tf.zeros(shape, tf.int32))
        self._step_type.assign(tf.fill(shape, ts.StepType.FIRST))
        self._reward.assign(tf.zeros(shape, tf.float32))
        self._discount_var.assign(tf.ones(shape, tf.float32))
        return self._current_time_step()

    def _step(self, action) -> ts.TimeStep:
        action = tf.reshape(tf.convert_to_tensor(action), (self.batch_size,))
        restart = tf.equal(self._step_type, ts.StepType.LAST)

        # gym 0.23 CartPoleEnv.step, term by term (see the module doc on the constants).
        gravity, masspole, total_mass, length, polemass_length, force_mag, tau, four_thirds = (
            tf.unstack(self._physics, axis=1)
        )
        x, x_dot, theta, theta_dot = tf.unstack(self._state, axis=1)
        force = tf.where(tf.equal(action, 1), force_mag, -force_mag)
        costheta = tf.cos(theta)
        sintheta = tf.sin(theta)
        temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass
        thetaacc = (gravity * sintheta - costheta * temp) / (
            length * (four_thirds - masspole * (costheta * costheta) / total_mass)
        )
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        x = x + tau * x_dot
        x_dot = x_dot + tau * xacc
        theta = theta + tau * theta_dot
        theta_dot = theta_dot + tau * thetaacc
        moved = tf.stack([x, x_dot, theta, theta_dot], axis=1)
        terminated = (
            (x < -X_THRESHOLD)
            | (x > X_THRESHOLD)
            | (theta < -THETA_THRESHOLD_RADIANS)
            | (theta > THETA_THRESHOLD_RADIANS)
        )
        episode_steps = self._episode_steps + 1
        truncated = (
            episode_steps >= self._max_episode_steps
            if self._max_episode_steps > 0
            else tf.zeros_like(terminated)
        )

        # A cart whose last step was LAST starts a new episode instead of moving.
        self._state.assign(tf.where(restart[:, None], self._initial_states(), moved))
        self._episode_steps.assign(tf.where(restart, 0, episode_steps))
        step_type = tf.where(terminated | truncated, ts.StepType.LAST, ts.StepType.MID)
        self._step_type.assign(tf.where(restart, ts.StepType.FIRST, step_type))
        self._reward.assign(tf.where(restart, 0.0, 1.0))
        ends = terminated if self._bootstrap_on_time_limit else terminated | truncated
        discount = tf.where(ends, 0.0, self._discount)
        self._discount_var.assign(tf.where(restart, 1.0, discount))
        return self._current_time_step()
