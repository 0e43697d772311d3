"""Value networks V(s) and critics Q(s, a): the second network of PPO and SAC.

An agent that needs one carries it as a sub-node (`agent.value_network`,
`agent.critic_network`) composed from these same options, so `rlexp list network`
documents it and the CLI configures it (`agent.value_network.fc_layer_params=[64,64]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.networks.layers import (
    Activation,
    DenseConfig,
    LayersConfig,
    activation,
    activation_fn,
    conv_layers,
    dense_layers,
    layer_sizes,
)
from rlexp.registry import register
from rlexp.schemas import NetworkRole, bounded, documented


@dataclass
class ValueNetworkConfig(DenseConfig):
    activation: Activation = activation(Activation.tanh)

    role: ClassVar[NetworkRole] = NetworkRole.value


@dataclass
class CriticNetworkConfig(LayersConfig):
    fc_layer_params: list[int] = layer_sizes(
        [256, 256], "units of each joint (observation+action) dense layer"
    )
    observation_fc_layer_params: list[int] | None = bounded(
        None, gt=0, doc="dense units on the observation alone first; null = none"
    )
    action_fc_layer_params: list[int] | None = bounded(
        None, gt=0, doc="dense units on the action alone first; null = none"
    )
    kernel_initializer: str = documented("glorot_uniform", "keras initializer of the layers")

    role: ClassVar[NetworkRole] = NetworkRole.critic


@register(
    "network",
    "value_network",
    schema=ValueNetworkConfig,
    doc="State-value network V(s) (ValueNetwork); PPO's agent.value_network.",
)
def build_value_network(cfg: ValueNetworkConfig, context: BuildContext):
    from tf_agents.networks import value_network

    observation_spec = context.env.observation_spec()
    return value_network.ValueNetwork(
        observation_spec,
        **conv_layers(cfg, observation_spec),
        **dense_layers(cfg),
    )


@register(
    "network",
    "critic_network",
    schema=CriticNetworkConfig,
    doc="Critic Q(s, a) on observation and action (CriticNetwork); SAC's agent.critic_network.",
)
def build_critic_network(cfg: CriticNetworkConfig, context: BuildContext):
    from tf_agents.agents.ddpg import critic_network

    def sizes(params):
        return tuple(params) if params else None

    conv = cfg.conv_layer_params
    return critic_network.CriticNetwork(
        (context.env.observation_spec(), context.env.action_spec()),
        # CriticNetwork casts observations to float32 itself (uint8 images are not scaled).
        observation_conv_layer_params=[tuple(int(v) for v in p) for p in conv] if conv else None,
        observation_fc_layer_params=sizes(cfg.observation_fc_layer_params),
        action_fc_layer_params=sizes(cfg.action_fc_layer_params),
        joint_fc_layer_params=sizes(cfg.fc_layer_params),
        activation_fn=activation_fn(cfg.activation),
        kernel_initializer=cfg.kernel_initializer,
        last_kernel_initializer=cfg.kernel_initializer,
    )
