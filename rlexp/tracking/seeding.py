"""One seed for Python, NumPy and TensorFlow; envs get seeds derived from it."""

from __future__ import annotations

EVAL_SEED_OFFSET = 10_000


def seed_everything(seed: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
