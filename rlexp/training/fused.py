"""The fused training loop of `driver=fused`: collection and training in one graph.

`make_fused_loop(...)` returns `run(time_step, policy_state, stop_at)`, ONE compiled
function that runs iterations until the env-step count reaches `stop_at`; an iteration is
the driver's `num_steps` env steps (policy, env, buffer write and metrics, all in-graph)
then `train_steps` train steps on batches sampled from the TF replay buffer in-graph
(`buffer.get_next`: no dataset iterator or prefetch thread, so what is sampled never
depends on timing). The trainer calls it once per stretch between trigger points (eval,
summaries, checkpoints), so Python runs only where the triggers need it, and they fire at
the same env steps as with `driver=step`.
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
