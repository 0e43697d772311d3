"""Keras optimizers by name, shared by every agent schema."""

from __future__ import annotations

from enum import StrEnum


class Optimizer(StrEnum):
    adam = "adam"
    rmsprop = "rmsprop"
    sgd = "sgd"


def build_optimizer(name: Optimizer, learning_rate: float):
    import tensorflow as tf

    classes = {
        Optimizer.adam: tf.keras.optimizers.Adam,
        Optimizer.rmsprop: tf.keras.optimizers.RMSprop,
        Optimizer.sgd: tf.keras.optimizers.SGD,
    }
    return classes[Optimizer(name)](learning_rate=learning_rate)
