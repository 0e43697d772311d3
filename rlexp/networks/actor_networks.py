"""Actor networks (a distribution over actions): for REINFORCE, PPO and SAC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.networks.layers import (
    Activation,
    DenseConfig,
    RnnConfig,
    activation,
    conv_layers,
    dense_layers,
    layer_sizes,
    rnn_layers,
)
from rlexp.registry import register
from rlexp.schemas import ActionKind, NetworkRole


@dataclass
class ActorNetworkConfig(DenseConfig):
    activation: Activation = activation(Activation.tanh)

    role: ClassVar[NetworkRole] = NetworkRole.actor
    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.discrete, ActionKind.continuous)


@dataclass
class ActorRnnNetworkConfig(RnnConfig):
    activation: Activation = activation(Activation.tanh)

    role: ClassVar[NetworkRole] = NetworkRole.actor
    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.discrete, ActionKind.continuous)


@dataclass
class SacActorNetworkConfig(DenseConfig):
    fc_layer_params: list[int] = layer_sizes([256, 256])

    role: ClassVar[NetworkRole] = NetworkRole.actor
    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.continuous,)


@register(
    "network",
    "actor_distribution_network",
    schema=ActorNetworkConfig,
    doc="Feed-forward actor (ActorDistributionNetwork): categorical or normal actions.",
)
def build_actor_distribution_network(cfg: ActorNetworkConfig, context: BuildContext):
    from tf_agents.networks import actor_distribution_network

    observation_spec = context.env.observation_spec()
    return actor_distribution_network.ActorDistributionNetwork(
        observation_spec,
        context.env.action_spec(),
        **conv_layers(cfg, observation_spec),
        **dense_layers(cfg),
    )


@register(
    "network",
    "actor_distribution_rnn_network",
    schema=ActorRnnNetworkConfig,
    doc="Recurrent actor (ActorDistributionRnnNetwork): dense -> LSTM -> dense.",
)
def build_actor_distribution_rnn_network(cfg: ActorRnnNetworkConfig, context: BuildContext):
    from tf_agents.networks import actor_distribution_rnn_network

    return actor_distribution_rnn_network.ActorDistributionRnnNetwork(
        context.env.observation_spec(),
        context.env.action_spec(),
        **rnn_layers(cfg),
    )


@register(
    "network",
    "sac_actor_network",
    schema=SacActorNetworkConfig,
    doc="SAC's actor: ActorDistributionNetwork with a TanhNormalProjectionNetwork head.",
)
def build_sac_actor_network(cfg: SacActorNetworkConfig, context: BuildContext):
    from tf_agents.agents.sac import tanh_normal_projection_network
    from tf_agents.networks import actor_distribution_network

    observation_spec = context.env.observation_spec()
    return actor_distribution_network.ActorDistributionNetwork(
        observation_spec,
        context.env.action_spec(),
        **conv_layers(cfg, observation_spec),
        **dense_layers(cfg),
        continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
    )
