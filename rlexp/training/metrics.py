"""The training metrics the driver feeds, as TF-Agents' own, cheaper to compile.

TF-Agents' `AverageReturnMetric` and `AverageEpisodeLengthMetric` update their windows in
an autograph-converted Python loop inside a nested `tf.function`: converting and tracing
them was about a third of the time it took to compile a training loop. These subclasses
compute the same values (same variables, so checkpoints are unchanged) with plain tensor
ops, and every metric's update is inlined into the caller's graph instead of a nested
function.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.metrics import tf_metrics


class _Inlined:
    """`metric(trajectory)` runs `call` directly, not through a nested tf.function."""

    def __call__(self, trajectory: Any) -> Any:
        return self.call(trajectory)


def _append(deque: Any, values: tf.Tensor) -> None:
    """Append `values` to a `TFDeque` in order, as `deque.add` for each would."""
    count = tf.shape(values, out_type=tf.int32)[0]
    kept = tf.minimum(count, deque._max_len)  # earlier ones would be overwritten anyway
    skipped = count - kept
    rows = tf.math.mod(deque._head + skipped + tf.range(kept), deque._max_len)
    with tf.control_dependencies([deque._buffer.write(rows, values[skipped:])]):
        deque._head.assign_add(count)


class EnvironmentSteps(_Inlined, tf_metrics.EnvironmentSteps):
    pass


class NumberOfEpisodes(_Inlined, tf_metrics.NumberOfEpisodes):
    pass


class AverageReturnMetric(_Inlined, tf_metrics.AverageReturnMetric):
    def call(self, trajectory: Any) -> Any:
        accumulator = self._return_accumulator
        accumulator.assign(tf.where(trajectory.is_first(), tf.zeros_like(accumulator), accumulator))
        reward_axes = list(range(1, len(trajectory.reward.shape)))
        accumulator.assign_add(tf.reduce_sum(trajectory.reward, axis=reward_axes))
        last = tf.squeeze(tf.where(trajectory.is_last()), axis=-1)
        _append(self._buffer, tf.gather(accumulator.read_value(), last))
        return trajectory


class AverageEpisodeLengthMetric(_Inlined, tf_metrics.AverageEpisodeLengthMetric):
    def call(self, trajectory: Any) -> Any:
        accumulator = self._length_accumulator
        steps = tf.cast(tf.logical_not(trajectory.is_boundary()), accumulator.dtype)
        accumulator.assign_add(steps)
        last = tf.squeeze(tf.where(trajectory.is_last()), axis=-1)
        _append(self._buffer, tf.gather(accumulator.read_value(), last))
        accumulator.scatter_update(tf.IndexedSlices(tf.zeros_like(last, dtype=self._dtype), last))
        return trajectory


def train_metrics(env: Any) -> list:
    """Env steps, episodes, average return and episode length over the last 10 episodes."""
    return [
        EnvironmentSteps(),
        NumberOfEpisodes(),
        AverageReturnMetric(batch_size=env.batch_size),
        AverageEpisodeLengthMetric(batch_size=env.batch_size),
    ]
