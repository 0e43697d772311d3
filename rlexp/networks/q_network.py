"""`QNetwork`: a feed-forward Q-value network from the env's observation and action specs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rlexp.context import BuildContext
from rlexp.registry import register
from rlexp.schemas import ComponentConfig, bounded, documented


class Activation(StrEnum):
    relu = "relu"
    tanh = "tanh"
    elu = "elu"
    gelu = "gelu"
    swish = "swish"


@dataclass
class QNetworkConfig(ComponentConfig):
    fc_layer_params: list[int] = bounded([75, 40], gt=0, doc="units of each dense layer")
    dropout_layer_params: list[float] | None = bounded(
        None, ge=0.0, lt=1.0, doc="dropout rate per dense layer; null = none"
    )
    activation: Activation = documented(Activation.relu, "activation of the dense layers")

    def problems(self) -> list[str]:
        rates, layers = self.dropout_layer_params, self.fc_layer_params
        if rates is not None and len(rates) != len(layers):
            return [f"dropout_layer_params={rates} needs one rate per fc layer ({len(layers)})"]
        return []


@register("network", "q_network", schema=QNetworkConfig, doc="Feed-forward Q network (QNetwork).")
def build_q_network(cfg: QNetworkConfig, context: BuildContext):
    import tensorflow as tf
    from tf_agents.networks import q_network

    return q_network.QNetwork(
        context.env.observation_spec(),
        context.env.action_spec(),
        fc_layer_params=tuple(cfg.fc_layer_params),
        dropout_layer_params=cfg.dropout_layer_params and list(cfg.dropout_layer_params),
        activation_fn=getattr(tf.keras.activations, cfg.activation.value),
    )
