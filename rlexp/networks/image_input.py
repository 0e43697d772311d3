"""Image observations inside the network: uint8 in, float32 in [0, 1] to the conv layers.

Scaling inside the network keeps observations uint8 from env to replay buffer (a quarter
of float32's memory: ~28 KB per Atari transition instead of ~113 KB) and in the exported
policy's input signature. Imported only when a network is built (it imports TensorFlow).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf


class ScaleImage(tf.keras.layers.Layer):
    """float32(x) * scale. A named Keras class with a config, so TF-Agents can copy it
    (`Network.copy` rebuilds preprocessing layers from their config for target networks)."""

    def __init__(self, scale: float = 1.0 / 255.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        return tf.cast(inputs, tf.float32) * self.scale

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


def image_scaling(observation_spec: Any) -> ScaleImage | None:
    """The scaling layer for a uint8 observation spec, else None (other specs pass as
    before). Divides by the spec's maximum: 255 for Atari frames, 1 for MinAtar's channels."""
    if getattr(observation_spec, "dtype", None) != tf.uint8:
        return None
    maximum = float(np.max(getattr(observation_spec, "maximum", 255)))
    return ScaleImage(scale=1.0 / max(maximum, 1.0))
