"""Keras optimizers by name, shared by every agent schema."""

from __future__ import annotations

from enum import StrEnum


class Optimizer(StrEnum):
    adam = "adam"
    rmsprop = "rmsprop"
    sgd = "sgd"


def build_optimizer(
    name: Optimizer,
    learning_rate: float,
    learning_rate_final: float | None = None,
    decay_steps: int = 1,
):
    """The optimizer; with `learning_rate_final`, its rate decays linearly over `decay_steps`.

    The schedule runs on the optimizer's own step counter, which checkpoints restore.
    """
    import tensorflow as tf

    rate = learning_rate
    if learning_rate_final is not None:
        rate = tf.keras.optimizers.schedules.PolynomialDecay(
            learning_rate, decay_steps, learning_rate_final
        )

    classes = {
        Optimizer.adam: tf.keras.optimizers.Adam,
        Optimizer.rmsprop: tf.keras.optimizers.RMSprop,
        Optimizer.sgd: tf.keras.optimizers.SGD,
    }
    return classes[Optimizer(name)](learning_rate=rate)


def build_slots(optimizer, variables: list) -> None:
    """Create `optimizer`'s slots for `variables` now rather than at the first train step:
    a tf.function whose first trace creates variables is traced a second time (TF's
    variable-creation rule), which doubles the time to the first iteration of a run. (SAC
    converts its optimizers to Keras' legacy ones, which create slots by another name.)"""
    build = getattr(optimizer, "build", None) or optimizer._create_all_weights
    build(list(variables))
