"""On-policy policy-gradient agents: REINFORCE (`ReinforceAgent`) and PPO (`PPOClipAgent`).

Both train on the whole episodes just collected (`buffer.gather_all()`) and the trainer
then empties the buffer (`on_policy`), so they pair with `driver=episode` and no random
prefill. Their primary network (the `network` group) is the actor; PPO carries its value
network as the sub-node `agent.value_network`, composed from the `network` options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rlexp.agents.optimizers import Optimizer, build_optimizer, build_slots
from rlexp.context import BuildContext
from rlexp.networks.layers import build_network
from rlexp.networks.value_networks import ValueNetworkConfig
from rlexp.registry import register
from rlexp.schemas import AgentConfig, NetworkRole, bounded, documented


@dataclass
class PolicyGradientConfig(AgentConfig):
    optimizer: Optimizer = documented(Optimizer.adam, "keras optimizer")
    learning_rate: float = bounded(1e-3, gt=0.0, doc="optimizer learning rate")
    gradient_clipping: float | None = bounded(None, gt=0.0, doc="gradient norm clip; null = off")
    entropy_regularization: float = bounded(0.0, ge=0.0, doc="weight of the entropy bonus")

    network_roles: ClassVar[tuple[NetworkRole, ...]] = (NetworkRole.actor,)
    on_policy: ClassVar[bool] = True


@dataclass
class ReinforceConfig(PolicyGradientConfig):
    gamma: float = bounded(0.99, ge=0.0, le=1.0, doc="discount of future rewards")
    normalize_returns: bool = documented(True, "normalize returns per batch (a baseline)")


@dataclass
class PpoConfig(PolicyGradientConfig):
    learning_rate: float = bounded(3e-4, gt=0.0, doc="optimizer learning rate")
    gradient_clipping: float | None = bounded(0.5, gt=0.0, doc="gradient norm clip; null = off")
    importance_ratio_clipping: float = bounded(0.2, ge=0.0, doc="PPO's clip range epsilon")
    discount_factor: float = bounded(0.99, ge=0.0, le=1.0, doc="discount of future rewards")
    lambda_value: float = bounded(0.95, ge=0.0, le=1.0, doc="GAE / TD(lambda) lambda")
    use_gae: bool = documented(True, "generalized advantage estimation")
    use_td_lambda_return: bool = documented(True, "value targets are TD(lambda) returns")
    num_epochs: int = bounded(10, gt=0, doc="passes over each batch of episodes")
    value_pred_loss_coef: float = bounded(0.5, ge=0.0, doc="weight of the value loss")
    normalize_observations: bool = documented(True, "running mean/std of observations")
    normalize_rewards: bool = documented(False, "running std of rewards")
    greedy_eval: bool = documented(
        True, "agent.policy takes the mode action; must stay true (rlexp evaluates the mode)"
    )
    value_network: ValueNetworkConfig = field(
        default_factory=lambda: ValueNetworkConfig(name="value_network")
    )

    def problems(self) -> list[str]:
        if not self.greedy_eval:  # the runner evaluates and exports the mode of any agent
            return [
                "greedy_eval=false: rlexp evaluates and exports every agent's greedy policy "
                "(the mode action), so that evaluations repeat bit for bit and a resumed run "
                "evaluates as one that never stopped; remove the override (a sampled action is "
                "the collect policy's)"
            ]
        return []


@register(
    "agent",
    "reinforce",
    schema=ReinforceConfig,
    doc="REINFORCE (ReinforceAgent): Monte-Carlo policy gradient on whole episodes.",
)
def build_reinforce(cfg: ReinforceConfig, context: BuildContext):
    from tf_agents.agents.reinforce import reinforce_agent

    agent = reinforce_agent.ReinforceAgent(
        context.env.time_step_spec(),
        context.env.action_spec(),
        actor_network=context.network,
        optimizer=build_optimizer(cfg.optimizer, cfg.learning_rate),
        gamma=cfg.gamma,
        normalize_returns=cfg.normalize_returns,
        gradient_clipping=cfg.gradient_clipping,
        entropy_regularization=cfg.entropy_regularization or None,
        train_step_counter=context.train_step_counter,
    )
    agent.initialize()
    build_slots(agent._optimizer, context.network.trainable_weights)
    return agent


@register(
    "agent",
    "ppo",
    schema=PpoConfig,
    doc="PPO with clipped ratios (PPOClipAgent); value network in agent.value_network.",
)
def build_ppo(cfg: PpoConfig, context: BuildContext):
    from tf_agents.agents.ppo import ppo_clip_agent

    agent = ppo_clip_agent.PPOClipAgent(
        context.env.time_step_spec(),
        context.env.action_spec(),
        optimizer=build_optimizer(cfg.optimizer, cfg.learning_rate),
        actor_net=context.network,
        value_net=build_network(cfg.value_network, context),
        greedy_eval=cfg.greedy_eval,
        importance_ratio_clipping=cfg.importance_ratio_clipping,
        lambda_value=cfg.lambda_value,
        discount_factor=cfg.discount_factor,
        entropy_regularization=cfg.entropy_regularization,
        value_pred_loss_coef=cfg.value_pred_loss_coef,
        num_epochs=cfg.num_epochs,
        use_gae=cfg.use_gae,
        use_td_lambda_return=cfg.use_td_lambda_return,
        normalize_rewards=cfg.normalize_rewards,
        normalize_observations=cfg.normalize_observations,
        gradient_clipping=cfg.gradient_clipping,
        train_step_counter=context.train_step_counter,
    )
    agent.initialize()
    build_slots(
        agent._optimizer, agent._actor_net.trainable_weights + agent._value_net.trainable_weights
    )
    return agent
