"""What every network option shares: dense-layer settings, and building a network node."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from rlexp.schemas import NetworkConfig, bounded, documented


class Activation(StrEnum):
    relu = "relu"
    tanh = "tanh"
    elu = "elu"
    gelu = "gelu"
    swish = "swish"


def layer_sizes(default: list[int], doc: str = "units of each dense layer") -> Any:
    """A field of layer sizes (each > 0): an option's schema states its own default."""
    return bounded(default, gt=0, doc=doc)


def activation(default: Activation) -> Any:
    return documented(default, "activation of the dense layers")


@dataclass
class LayersConfig(NetworkConfig):
    """Conv layers (for images), then dense layers: sizes and activation (input/output
    specs come from the env). uint8 observations are cast and scaled inside the network."""

    conv_layer_params: list[list[int]] | None = documented(
        None, "conv layers before the dense ones, each [filters, kernel, stride]; null = none"
    )
    fc_layer_params: list[int] = layer_sizes([64, 64])
    activation: Activation = activation(Activation.relu)

    def has_conv_layers(self) -> bool:
        """A declared fact validation reads: does the network see images as images?"""
        return bool(self.conv_layer_params)

    def problems(self) -> list[str]:
        for layer in self.conv_layer_params or []:
            if len(layer) != 3 or any(int(v) <= 0 for v in layer):
                return [
                    f"conv_layer_params={[list(x) for x in self.conv_layer_params]}: each layer "
                    f"is [filters, kernel, stride] with positive integers, e.g. [32, 8, 4]"
                ]
        return []


@dataclass
class DenseConfig(LayersConfig):
    """Dense layers with optional dropout after each."""

    dropout_layer_params: list[float] | None = bounded(
        None, ge=0.0, lt=1.0, doc="dropout rate per dense layer; null = none"
    )

    def problems(self) -> list[str]:
        rates, layers = self.dropout_layer_params, self.fc_layer_params
        if rates is not None and len(rates) != len(layers):
            return [f"dropout_layer_params={rates} needs one rate per fc layer ({len(layers)})"]
        return super().problems()


@dataclass
class RnnConfig(NetworkConfig):
    """Dense layers, then stacked LSTM cells, then dense layers."""

    input_fc_layer_params: list[int] = layer_sizes([64], "dense units before the LSTM")
    lstm_size: list[int] = layer_sizes([64], "units of each stacked LSTM cell")
    output_fc_layer_params: list[int] = layer_sizes([64], "dense units after it")
    activation: Activation = activation(Activation.relu)

    recurrent: ClassVar[bool] = True

    def problems(self) -> list[str]:
        if not self.lstm_size:
            return ["lstm_size=[]: a recurrent network needs at least one LSTM cell, e.g. [64]"]
        return []


def activation_fn(activation: Activation):
    import tensorflow as tf

    return getattr(tf.keras.activations, activation.value)


def dropout(cfg: DenseConfig) -> list[float] | None:
    return list(cfg.dropout_layer_params) if cfg.dropout_layer_params else None


def dense_layers(cfg: DenseConfig) -> dict[str, Any]:
    """TF-Agents' keyword arguments for a network's dense layers."""
    return {
        "fc_layer_params": tuple(cfg.fc_layer_params),
        "dropout_layer_params": dropout(cfg),
        "activation_fn": activation_fn(cfg.activation),
    }


def rnn_layers(cfg: RnnConfig) -> dict[str, Any]:
    """TF-Agents' keyword arguments for a recurrent network's dense and LSTM layers."""
    return {
        "input_fc_layer_params": tuple(cfg.input_fc_layer_params),
        "lstm_size": tuple(cfg.lstm_size),
        "output_fc_layer_params": tuple(cfg.output_fc_layer_params),
        "activation_fn": activation_fn(cfg.activation),
    }


def conv_layers(cfg: LayersConfig, observation_spec: Any) -> dict[str, Any]:
    """TF-Agents' keyword arguments for the conv layers and the uint8 input scaling."""
    from rlexp.networks.image_input import image_scaling

    params = cfg.conv_layer_params
    return {
        "conv_layer_params": [tuple(int(v) for v in p) for p in params] if params else None,
        "preprocessing_layers": image_scaling(observation_spec),
    }


def build_network(cfg: Any, context: Any):
    """Build the network option `cfg.name` from its typed config: the `network` group's
    choice, or a second network an agent carries as a sub-node (PPO's value network)."""
    from rlexp import registry

    return registry.get("network", cfg.name).builder(cfg, context)
