"""The fused training loop of `driver=fused`: collection and training in one graph.

`make_fused_loop(...)` returns `run(time_step, policy_state, stop_at)`, ONE compiled
function that runs iterations until the env-step count reaches `stop_at`; an iteration is
the driver's `num_steps` env steps (policy, env, buffer write and metrics, all in-graph)
then `train_steps` train steps on batches sampled from the TF replay buffer in-graph
(`buffer.get_next`: no dataset iterator or prefetch thread, so what is sampled never
depends on timing). The trainer calls it once per stretch between trigger points (eval,
summaries, checkpoints), so Python runs only where the triggers need it, and they fire at
the same env steps as with `driver=step`.

With `jit_compile=True` (`train.jit_compile`) each train step (replay sampling and
`agent.train`) is one XLA cluster. TF-Agents' `get_next` guards the buffer with a
`CriticalSection`, which XLA cannot compile, so that mode samples the buffer's storage
directly (`sample_uniform`: the same uniform draw over the valid ids and carts) from its own
`tf.random.Generator`, seeded per segment; nothing else touches the buffer inside the loop.
"""

from __future__ import annotations

from typing import Any


def make_fused_loop(
    driver: Any,
    buffer: Any,
    agent: Any,
    env_steps: Any,
    sample_batch_size: int,
    sequence_length: int | None,
    train_steps: int,
    jit_compile: bool = False,
    replay_seed: int = 0,
):
    """`run(time_step, policy_state, stop_at) -> (time_step, policy_state, last loss)`.

    Runs iterations until the `env_steps` metric (fed by the driver's observers) is at
    least `stop_at`, and always at least one: the iteration that crosses a trigger point
    is the last, as when the trainer checks its triggers after every iteration.
    """
    import tensorflow as tf
    from tf_agents.utils import common

    def train_once():
        experience, _ = buffer.get_next(
            sample_batch_size=sample_batch_size, num_steps=sequence_length
        )
        return agent.train(experience).loss

    if jit_compile:
        generator = tf.random.Generator.from_seed(replay_seed)

        def train_once_xla():
            experience = sample_uniform(buffer, generator, sample_batch_size, sequence_length)
            return agent.train(experience).loss

        train_once = tf.function(train_once_xla, jit_compile=True, autograph=False)

    def train_loop():
        # Explicit while loops, compiled without autograph: autograph would convert every
        # TF-Agents function called inside (the driver, the agent's train), which made
        # tracing take ~10 s on this stack.
        return tf.while_loop(
            lambda i, _: i < train_steps,
            lambda i, _: (i + 1, train_once()),
            (tf.constant(0), tf.constant(0.0)),
        )[1]

    def run(time_step, policy_state, stop_at):
        def body(i, time_step, policy_state, loss):
            time_step, policy_state = driver.run(time_step, policy_state)
            with tf.control_dependencies(tf.nest.flatten(time_step)):
                loss = train_loop()
            return i + 1, time_step, policy_state, loss

        _, time_step, policy_state, loss = tf.while_loop(
            lambda i, *_: tf.logical_or(i == 0, env_steps.result() < stop_at),
            body,
            (tf.constant(0), time_step, policy_state, tf.constant(0.0)),
        )
        return time_step, policy_state, loss

    return common.function(run, autograph=False)


def sample_uniform(buffer: Any, generator: Any, sample_batch_size: int, num_steps: int | None):
    """A batch drawn uniformly from a `TFUniformReplayBuffer`, as its `get_next` draws it
    (time-stacked sequences of `num_steps`), without its CriticalSection: XLA compiles it."""
    import tensorflow as tf
    from tf_agents.replay_buffers.tf_uniform_replay_buffer import _valid_range_ids

    max_length = buffer._max_length
    low, high = _valid_range_ids(buffer._last_id.read_value(), max_length, num_steps)
    shape = [sample_batch_size]
    ids = generator.uniform(shape, low, high, dtype=tf.int64)
    carts = generator.uniform(shape, 0, buffer._batch_size, dtype=tf.int64)
    if num_steps is None:
        rows = tf.math.mod(ids, max_length) + carts * max_length
    else:
        steps = tf.range(num_steps, dtype=tf.int64)[None, :]
        rows = tf.math.mod(ids[:, None] + steps, max_length) + carts[:, None] * max_length
    return buffer._data_table.read(rows)
