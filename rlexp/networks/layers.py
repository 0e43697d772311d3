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
    """A stack of dense layers: sizes and activation (input/output specs come from the env)."""

    fc_layer_params: list[int] = layer_sizes([64, 64])
    activation: Activation = activation(Activation.relu)


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
        return []


@dataclass
class RnnConfig(NetworkConfig):
    """Dense layers, then stacked LSTM cells, then dense layers."""

    input_fc_layer_params: list[int] = layer_sizes([64], "dense units before the LSTM")
    lstm_size: list[int] = layer_sizes([64], "units of each stacked LSTM cell")
    output_fc_layer_params: list[int] = layer_sizes([64], "dense units after it")
    activation: Activation = activation(Activation.relu)

    recurrent: ClassVar[bool] = True


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


def build_network(cfg: Any, context: Any):
    """Build the network option `cfg.name` from its typed config: the `network` group's
    choice, or a second network an agent carries as a sub-node (PPO's value network)."""
    from rlexp import registry

    return registry.get("network", cfg.name).builder(cfg, context)
