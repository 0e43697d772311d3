"""DQN, Double DQN and C51 (`DqnAgent`, `DdqnAgent`, `CategoricalDqnAgent`), with
TF-Agents' parameter names."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from rlexp.agents.optimizers import Optimizer, build_optimizer, build_slots
from rlexp.context import BuildContext
from rlexp.registry import register
from rlexp.schemas import (
    FLOAT32_MAX,
    ActionKind,
    AgentConfig,
    NetworkRole,
    bounded,
    documented,
)


class TdLoss(StrEnum):
    mse = "mse"
    huber = "huber"


class EpsilonSchedule(StrEnum):
    constant = "constant"
    polynomial = "polynomial"


@dataclass
class EpsilonGreedyConfig:
    schedule: EpsilonSchedule = documented(
        EpsilonSchedule.polynomial, "constant, or polynomial decay as keras PolynomialDecay"
    )
    initial: float = bounded(1.0, ge=0.0, le=1.0, doc="epsilon at train step 0 (the constant)")
    final: float = bounded(0.04, ge=0.0, le=1.0, doc="epsilon after decay_steps")
    decay_steps: int = bounded(4000, gt=0, doc="train steps from initial to final")
    power: float = bounded(1.0, gt=0.0, doc="power of the polynomial decay")


@dataclass
class DqnConfig(AgentConfig):
    optimizer: Optimizer = documented(Optimizer.adam, "keras optimizer")
    learning_rate: float = bounded(1e-3, gt=0.0, doc="optimizer learning rate")
    learning_rate_final: float | None = bounded(
        1e-5, gt=0.0, doc="decay the rate linearly to this; null = constant rate"
    )
    learning_rate_decay_steps: int = bounded(24_500, gt=0, doc="train steps of that decay")
    gamma: float = bounded(0.99, ge=0.0, le=1.0, doc="discount of future rewards")
    td_errors_loss_fn: TdLoss = documented(TdLoss.huber, "element-wise TD loss: mse or huber")
    epsilon_greedy: EpsilonGreedyConfig = field(default_factory=EpsilonGreedyConfig)
    target_update_period: int = bounded(128, gt=0, doc="train steps between target updates")
    target_update_tau: float = bounded(1.0, gt=0.0, le=1.0, doc="target soft-update factor")
    gradient_clipping: float | None = bounded(10.0, gt=0.0, doc="gradient norm clip; null = off")
    n_step_update: int = bounded(3, gt=0, doc="steps of the n-step TD target")
    reward_scale_factor: float = bounded(
        1.0, ge=-FLOAT32_MAX, le=FLOAT32_MAX, doc="multiplier applied to rewards (a float32)"
    )
    train_sequence_length: int | None = bounded(
        None, ge=2, doc="steps per replayed sequence, for a recurrent Q network; null = n-step"
    )

    # A Q-network scores each of a finite set of actions: one discrete action.
    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.discrete,)
    network_roles: ClassVar[tuple[NetworkRole, ...]] = (NetworkRole.q_values,)

    def replay_steps(self) -> int:
        """Steps in each sample it replays: its sequence length, or the n-step target's
        n_step_update + 1 (TF-Agents' DqnAgent.train_sequence_length)."""
        return self.train_sequence_length or self.n_step_update + 1

    def reports_td_errors(self) -> bool:
        """Whether train() reports one TD error per sample (LossInfo.extra.td_error), as a
        prioritized buffer needs: DqnAgent does, except with sequences (a recurrent Q
        network), where it reports one per step."""
        return self.train_sequence_length is None

    def problems(self) -> list[str]:
        if self.train_sequence_length is not None and self.n_step_update != 1:
            return [
                f"train_sequence_length={self.train_sequence_length} (a recurrent Q network) "
                f"needs n_step_update=1, not {self.n_step_update}: TF-Agents' DQN has no n-step "
                f"targets for RNNs; set agent.n_step_update=1"
            ]
        return []


@dataclass
class C51Config(DqnConfig):
    num_atoms: int = bounded(51, ge=2, doc="atoms of the return distribution (the network's)")
    min_q_value: float = documented(0.0, "lowest return the distribution's support covers")
    max_q_value: float = documented(
        100.0, "highest return it covers (CartPole's: at most 1 / (1 - gamma 0.99))"
    )

    network_roles: ClassVar[tuple[NetworkRole, ...]] = (NetworkRole.q_distributions,)

    def reports_td_errors(self) -> bool:
        """CategoricalDqnAgent reports no TD errors (its LossInfo.extra.td_error is empty)."""
        return False

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.min_q_value >= self.max_q_value:
            problems.append(
                f"min_q_value={self.min_q_value} must be below max_q_value={self.max_q_value}"
            )
        return problems


def _build(agent_class_name: str, cfg: DqnConfig, context: BuildContext):
    from tf_agents.agents.dqn import dqn_agent
    from tf_agents.utils import common

    epsilon = _epsilon_fn(cfg.epsilon_greedy, context.train_step_counter)
    context.scalars["train/epsilon"] = epsilon
    losses = {
        TdLoss.mse: common.element_wise_squared_loss,
        TdLoss.huber: common.element_wise_huber_loss,
    }
    if agent_class_name == "CategoricalDqnAgent":
        from tf_agents.agents.categorical_dqn import categorical_dqn_agent

        agent_class = categorical_dqn_agent.CategoricalDqnAgent
        networks = {
            "categorical_q_network": context.network,
            "min_q_value": cfg.min_q_value,
            "max_q_value": cfg.max_q_value,
        }
    else:
        agent_class = getattr(dqn_agent, agent_class_name)
        networks = {"q_network": context.network}
    agent = agent_class(
        context.env.time_step_spec(),
        context.env.action_spec(),
        **networks,
        optimizer=build_optimizer(
            cfg.optimizer,
            cfg.learning_rate,
            cfg.learning_rate_final,
            cfg.learning_rate_decay_steps,
        ),
        epsilon_greedy=epsilon,
        n_step_update=cfg.n_step_update,
        target_update_tau=cfg.target_update_tau,
        target_update_period=cfg.target_update_period,
        td_errors_loss_fn=losses[cfg.td_errors_loss_fn],
        gamma=cfg.gamma,
        reward_scale_factor=cfg.reward_scale_factor,
        gradient_clipping=cfg.gradient_clipping,
        train_step_counter=context.train_step_counter,
    )
    agent.initialize()
    build_slots(agent._optimizer, context.network.trainable_variables)
    return agent


def _epsilon_fn(cfg: EpsilonGreedyConfig, train_step):
    """A no-argument callable, re-evaluated at every collect step as TF-Agents expects."""
    import tensorflow as tf

    if cfg.schedule == EpsilonSchedule.constant:
        return lambda: tf.constant(cfg.initial, tf.float32)
    decay = tf.keras.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=cfg.initial,
        decay_steps=cfg.decay_steps,
        end_learning_rate=cfg.final,
        power=cfg.power,
    )
    return lambda: decay(train_step)


@register("agent", "dqn", schema=DqnConfig, doc="Deep Q-Network (DqnAgent).")
def build_dqn(cfg: DqnConfig, context: BuildContext):
    return _build("DqnAgent", cfg, context)


@register("agent", "ddqn", schema=DqnConfig, doc="Double DQN (DdqnAgent): decoupled target action.")
def build_ddqn(cfg: DqnConfig, context: BuildContext):
    return _build("DdqnAgent", cfg, context)


@register(
    "agent",
    "c51",
    schema=C51Config,
    doc="C51 distributional DQN (CategoricalDqnAgent) with network=categorical_q_network.",
)
def build_c51(cfg: C51Config, context: BuildContext):
    return _build("CategoricalDqnAgent", cfg, context)
