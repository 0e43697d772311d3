"""How the trainer writes to, samples from and learns through a replay buffer.

TF-Agents' buffers differ in exactly these three places: `TFUniformReplayBuffer` takes
`add_batch` inside the collect graph and samples `(experience, info)`;
`PyUniformReplayBuffer` stores NumPy arrays and samples bare experience; a Reverb buffer is
written by Python observers (one writer per env copy) and a prioritized table wants its
priorities back after each train step. A buffer builder returns the TF-Agents buffer and,
when it needs anything other than the TF defaults, attaches a `ReplayIO` subclass to it
with `attach`. The trainer makes three calls, whatever the buffer:

    observer = buffers.observer(buffer)                   # callable(trajectory), in-graph too
    dataset = buffers.dataset(buffer, cfg.buffer, agent.train_sequence_length)
    loss_info = buffers.train(buffer, agent, next(iterator))
"""

from __future__ import annotations

import weakref
from typing import Any

_ATTACHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ReplayIO:
    """The defaults, right for `TFUniformReplayBuffer` (and any buffer built like it)."""

    def __init__(self) -> None:
        self._observer = None

    def observer(self, buffer: Any):
        """A callable(trajectory) adding a batched trajectory, usable inside tf.function
        and eagerly with NumPy trajectories (the py driver). The same one every call."""
        if self._observer is None:
            import tensorflow as tf
            from tf_agents.utils import common

            @common.function
            def add_batch(trajectory):
                # The episode driver groups what observers return, and a tf.function
                # cannot return an op, so return a tensor.
                with tf.control_dependencies([_add_batch(buffer, trajectory)]):
                    return tf.constant(0)

            self._observer = add_batch
        return self._observer

    def dataset(self, buffer: Any, cfg: Any, num_steps: int):
        """Batches of `num_steps`-step sequences; each element as `train` takes it."""
        return buffer.as_dataset(
            sample_batch_size=cfg.sample_batch_size,
            num_steps=num_steps,
            num_parallel_calls=cfg.num_parallel_calls,
        ).prefetch(cfg.prefetch)

    def train(self, buffer: Any, agent: Any, sample: Any):
        """One train step of `agent` on a dataset element; returns its LossInfo."""
        experience, _ = sample
        return agent.train(experience)


def _add_batch(buffer: Any, items: Any) -> Any:
    """`buffer.add_batch(items)`; for a `TFUniformReplayBuffer`, without its
    `CriticalSection` (which XLA cannot compile): the same rows and values. Its one writer
    is the driver that calls it."""
    import tensorflow as tf
    from tf_agents.replay_buffers.tf_uniform_replay_buffer import TFUniformReplayBuffer

    if not isinstance(buffer, TFUniformReplayBuffer):
        return buffer.add_batch(items)
    id_ = buffer._last_id.assign_add(1)
    rows = buffer._get_rows_for_id(id_)
    return tf.group(buffer._id_table.write(rows, id_), buffer._data_table.write(rows, items))


def attach(buffer: Any, io: ReplayIO) -> Any:
    """Give `buffer` its own `ReplayIO`; returns the buffer (for `return attach(...)`)."""
    _ATTACHED[buffer] = io
    return buffer


def io_of(buffer: Any) -> ReplayIO:
    io = _ATTACHED.get(buffer)
    if io is None:
        io = _ATTACHED[buffer] = ReplayIO()
    return io


def numpy_observer(write):
    """Wrap `write(trajectory of NumPy arrays)` as a callable(trajectory) that also runs
    inside a compiled driver (through `tf.numpy_function`)."""
    import numpy as np
    import tensorflow as tf

    def observe(trajectory):
        flat = tf.nest.flatten(trajectory)

        def call(*arrays):
            write(tf.nest.pack_sequence_as(trajectory, list(arrays)))
            return np.int32(0)

        return tf.numpy_function(call, flat, tf.int32, stateful=True)

    return observe
