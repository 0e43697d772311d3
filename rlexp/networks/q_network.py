"""Q networks for the DQN family: `QNetwork`, `QRnnNetwork`, and C51's `CategoricalQNetwork`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.networks.layers import (
    Activation,
    DenseConfig,
    LayersConfig,
    RnnConfig,
    activation_fn,
    conv_layers,
    dense_layers,
    layer_sizes,
    rnn_layers,
)
from rlexp.registry import register
from rlexp.schemas import ActionKind, NetworkRole, bounded, documented


@dataclass
class QNetworkConfig(DenseConfig):
    role: ClassVar[NetworkRole] = NetworkRole.q_values
    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.discrete,)


@dataclass
class QRnnNetworkConfig(RnnConfig):
    role: ClassVar[NetworkRole] = NetworkRole.q_values
    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.discrete,)


@dataclass
class CategoricalQNetworkConfig(LayersConfig):
    fc_layer_params: list[int] = layer_sizes([256, 256])

    # The number of atoms is the agent's (agent.num_atoms), so the two always agree.
    role: ClassVar[NetworkRole] = NetworkRole.q_distributions
    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.discrete,)


@dataclass
class NatureQNetworkConfig(QNetworkConfig):
    """The Q network of Mnih et al. 2015 (Nature DQN): three conv layers, 512 units."""

    conv_layer_params: list[list[int]] | None = documented(
        [[32, 8, 4], [64, 4, 2], [64, 3, 1]], "conv layers, each [filters, kernel, stride]"
    )
    fc_layer_params: list[int] = bounded([512], gt=0, doc="units of each dense layer")
    activation: Activation = documented(Activation.relu, "activation of the dense layers")


@register("network", "q_network", schema=QNetworkConfig, doc="Feed-forward Q network (QNetwork).")
def build_q_network(cfg: QNetworkConfig, context: BuildContext):
    from tf_agents.networks import q_network

    observation_spec = context.env.observation_spec()
    return q_network.QNetwork(
        observation_spec,
        context.env.action_spec(),
        **conv_layers(cfg, observation_spec),
        **dense_layers(cfg),
    )


@register(
    "network",
    "nature_q_network",
    schema=NatureQNetworkConfig,
    doc="Nature DQN's Q network for 84x84x4 frames: conv 32x8/4, 64x4/2, 64x3/1, dense 512.",
)
def build_nature_q_network(cfg: NatureQNetworkConfig, context: BuildContext):
    return build_q_network(cfg, context)


@register(
    "network",
    "q_rnn_network",
    schema=QRnnNetworkConfig,
    doc="Recurrent Q network (QRnnNetwork): dense -> LSTM -> dense.",
)
def build_q_rnn_network(cfg: QRnnNetworkConfig, context: BuildContext):
    from tf_agents.networks import q_rnn_network

    return q_rnn_network.QRnnNetwork(
        context.env.observation_spec(),
        context.env.action_spec(),
        **rnn_layers(cfg),
    )


@register(
    "network",
    "categorical_q_network",
    schema=CategoricalQNetworkConfig,
    doc="Return-distribution Q network for C51 (CategoricalQNetwork); atoms from agent.num_atoms.",
)
def build_categorical_q_network(cfg: CategoricalQNetworkConfig, context: BuildContext):
    from tf_agents.networks import categorical_q_network

    observation_spec = context.env.observation_spec()
    return categorical_q_network.CategoricalQNetwork(
        observation_spec,
        context.env.action_spec(),
        num_atoms=getattr(context.agent_config, "num_atoms", 51),
        **conv_layers(cfg, observation_spec),
        fc_layer_params=tuple(cfg.fc_layer_params),
        activation_fn=activation_fn(cfg.activation),
    )


__all__ = ["Activation", "QNetworkConfig", "build_q_network"]
