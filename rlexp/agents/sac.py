"""Soft Actor-Critic (`SacAgent`) for continuous actions, with TF-Agents' parameter names.

The `network` group selects the actor (`sac_actor_network`, as in TF-Agents' SAC
tutorial); the critic is the sub-node `agent.critic_network`, composed from the same
`network` options. TF-Agents builds the second critic and both targets by copying it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rlexp.agents.optimizers import Optimizer, build_optimizer, build_slots
from rlexp.context import BuildContext
from rlexp.networks.layers import build_network
from rlexp.networks.value_networks import CriticNetworkConfig
from rlexp.registry import register
from rlexp.schemas import (
    FLOAT32_MAX,
    ActionKind,
    AgentConfig,
    NetworkRole,
    bounded,
    documented,
)


@dataclass
class SacConfig(AgentConfig):
    optimizer: Optimizer = documented(Optimizer.adam, "keras optimizer of all three losses")
    actor_learning_rate: float = bounded(3e-4, gt=0.0, doc="actor optimizer learning rate")
    critic_learning_rate: float = bounded(3e-4, gt=0.0, doc="critic optimizer learning rate")
    alpha_learning_rate: float = bounded(3e-4, gt=0.0, doc="entropy-temperature learning rate")
    target_update_tau: float = bounded(0.005, gt=0.0, le=1.0, doc="target soft-update factor")
    target_update_period: int = bounded(1, gt=0, doc="train steps between target updates")
    gamma: float = bounded(0.99, ge=0.0, le=1.0, doc="discount of future rewards")
    reward_scale_factor: float = bounded(
        1.0, ge=-FLOAT32_MAX, le=FLOAT32_MAX, doc="multiplier applied to rewards (a float32)"
    )
    initial_log_alpha: float = documented(0.0, "initial log of the entropy temperature")
    target_entropy: float | None = documented(None, "null = -(action dimensions)")
    actor_loss_weight: float = bounded(1.0, ge=0.0, doc="weight of the actor loss")
    critic_loss_weight: float = bounded(0.5, ge=0.0, doc="weight of the critic loss")
    alpha_loss_weight: float = bounded(1.0, ge=0.0, doc="weight of the temperature loss")
    gradient_clipping: float | None = bounded(None, gt=0.0, doc="gradient norm clip; null = off")
    critic_network: CriticNetworkConfig = field(
        default_factory=lambda: CriticNetworkConfig(name="critic_network")
    )

    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.continuous,)
    network_roles: ClassVar[tuple[NetworkRole, ...]] = (NetworkRole.actor,)

    def replay_steps(self) -> int:
        """Steps in each sample it replays: a transition's two (TF-Agents' SacAgent
        trains on sequences of 2)."""
        return 2


@register(
    "agent",
    "sac",
    schema=SacConfig,
    doc="Soft Actor-Critic (SacAgent): continuous actions; critic in agent.critic_network.",
)
def build_sac(cfg: SacConfig, context: BuildContext):
    import tensorflow as tf
    from tf_agents.agents.sac import sac_agent

    agent = sac_agent.SacAgent(
        context.env.time_step_spec(),
        context.env.action_spec(),
        critic_network=build_network(cfg.critic_network, context),
        actor_network=context.network,
        actor_optimizer=build_optimizer(cfg.optimizer, cfg.actor_learning_rate),
        critic_optimizer=build_optimizer(cfg.optimizer, cfg.critic_learning_rate),
        alpha_optimizer=build_optimizer(cfg.optimizer, cfg.alpha_learning_rate),
        actor_loss_weight=cfg.actor_loss_weight,
        critic_loss_weight=cfg.critic_loss_weight,
        alpha_loss_weight=cfg.alpha_loss_weight,
        target_update_tau=cfg.target_update_tau,
        target_update_period=cfg.target_update_period,
        td_errors_loss_fn=tf.math.squared_difference,
        gamma=cfg.gamma,
        reward_scale_factor=cfg.reward_scale_factor,
        initial_log_alpha=cfg.initial_log_alpha,
        target_entropy=cfg.target_entropy,
        gradient_clipping=cfg.gradient_clipping,
        train_step_counter=context.train_step_counter,
    )
    agent.initialize()
    critics = (
        agent._critic_network_1.trainable_variables + agent._critic_network_2.trainable_variables
    )
    build_slots(agent._critic_optimizer, critics)
    build_slots(agent._actor_optimizer, agent._actor_network.trainable_variables)
    build_slots(agent._alpha_optimizer, [agent._log_alpha])
    return agent
