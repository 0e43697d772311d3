"""The training metrics the driver feeds, as TF-Agents' own, cheaper to compile.

TF-Agents' `AverageReturnMetric` and `AverageEpisodeLengthMetric` update their windows in
an autograph-converted Python loop inside a nested `tf.function`: converting and tracing
them was about a third of the time it took to compile a training loop. These subclasses
compute the same values (same variables, so checkpoints are unchanged) with plain tensor
ops, and every metric's update is inlined into the caller's graph instead of a nested
function. The windows' means are plain ops too: TF-Agents' is a `tf.function` whose first
call, at the run's first summary, traced for ~0.2 s per metric.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.metrics import tf_metrics


class _Inlined:
    """`metric(trajectory)` runs `call` directly, not through a nested tf.function."""

    def __call__(self, trajectory: Any) -> Any:
        return self.call(trajectory)


def _append(deque: Any, values: tf.Tensor, mask: tf.Tensor) -> None:
    """Append `values[mask]` to a `TFDeque` in order, as `deque.add` for each would.

    Every shape is the batch's, whatever the mask, so XLA compiles it (`train.jit_compile`):
    rows of values left out, or overwritten within the same append, go to a spare row past
    the deque's end that is then dropped.
    """
    (storage,) = deque._buffer._slot2storage_map.values()
    max_len = deque._max_len
    taken = tf.cast(mask, tf.int32)
    count = tf.reduce_sum(taken)
    rank = tf.cumsum(taken, exclusive=True)
    kept = tf.logical_and(mask, rank >= count - max_len)
    rows = tf.where(kept, tf.math.mod(deque._head + rank, max_len), max_len)
    spare = tf.zeros([1], storage.dtype)
    written = tf.tensor_scatter_nd_update(
        tf.concat([storage.read_value(), spare], 0), rows[:, None], values
    )
    with tf.control_dependencies([storage.assign(written[:max_len])]):
        deque._head.assign_add(count)


class EnvironmentSteps(_Inlined, tf_metrics.EnvironmentSteps):
    pass


class NumberOfEpisodes(_Inlined, tf_metrics.NumberOfEpisodes):
    pass


class _WindowMean:
    """`result()`: the mean of the window, 0 while it is empty, as TF-Agents' `TFDeque.mean`."""

    def result(self) -> tf.Tensor:
        window = self._buffer.data
        return tf.where(tf.size(window) > 0, tf.reduce_mean(window), tf.zeros((), window.dtype))

    def size(self) -> tf.Tensor:
        """How many episodes the window holds (none: `result()` is no mean, only its 0)."""
        return tf.size(self._buffer.data)


class AverageReturnMetric(_Inlined, _WindowMean, tf_metrics.AverageReturnMetric):
    def call(self, trajectory: Any) -> Any:
        accumulator = self._return_accumulator
        accumulator.assign(tf.where(trajectory.is_first(), tf.zeros_like(accumulator), accumulator))
        reward_axes = list(range(1, len(trajectory.reward.shape)))
        accumulator.assign_add(tf.reduce_sum(trajectory.reward, axis=reward_axes))
        _append(self._buffer, accumulator.read_value(), trajectory.is_last())
        return trajectory


class AverageEpisodeLengthMetric(_Inlined, _WindowMean, tf_metrics.AverageEpisodeLengthMetric):
    def call(self, trajectory: Any) -> Any:
        """As the return's: an episode's count starts at its first step, so the steps of an
        episode cut without a last step (a new segment's reset) are not counted in the next."""
        accumulator = self._length_accumulator
        accumulator.assign(tf.where(trajectory.is_first(), tf.zeros_like(accumulator), accumulator))
        steps = tf.cast(tf.logical_not(trajectory.is_boundary()), accumulator.dtype)
        accumulator.assign_add(steps)
        _append(self._buffer, accumulator.read_value(), trajectory.is_last())
        return trajectory


def train_metrics(env: Any) -> list:
    """Env steps, episodes, average return and episode length over the last 10 episodes."""
    return [
        EnvironmentSteps(),
        NumberOfEpisodes(),
        AverageReturnMetric(batch_size=env.batch_size),
        AverageEpisodeLengthMetric(batch_size=env.batch_size),
    ]
