"""Env option `cartpole_tf`: N CartPole-v1 carts in one native TF environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.registry import register
from rlexp.schemas import ActionKind, EnvConfig, bounded, documented


@dataclass
class CartPoleTFConfig(EnvConfig):
    num_parallel_envs: int = bounded(
        32, gt=0, le=2**20, doc="carts in the batch, stepped by tensor ops"
    )
    max_episode_steps: int = bounded(500, ge=0, doc="episode step limit (LAST); 0 = none")
    discount: float = bounded(1.0, ge=0.0, le=1.0, doc="env discount per step")
    bootstrap_on_time_limit: bool = documented(
        False, "time limit keeps the discount (truncation); false = 0, as suite_gym's CartPole"
    )
    reward_threshold: float | None = documented(
        475.0, "average eval return that counts as solved (CartPole-v1's)"
    )

    python_env: ClassVar[bool] = False
    can_render: ClassVar[bool] = True  # drawn from the carts' state (CartPoleTFEnvironment.render)

    def action_kind(self) -> ActionKind:
        return ActionKind.discrete


@register(
    "env",
    "cartpole_tf",
    schema=CartPoleTFConfig,
    doc="CartPole-v1 physics as a native batched TFEnvironment (collection in-graph).",
)
def build_cartpole_tf(cfg: CartPoleTFConfig, context: BuildContext):
    from rlexp.envs.cartpole_tf_env import CartPoleTFEnvironment

    return CartPoleTFEnvironment(
        batch_size=cfg.num_parallel_envs,
        max_episode_steps=cfg.max_episode_steps,
        discount=cfg.discount,
        seed=context.seed,
        bootstrap_on_time_limit=cfg.bootstrap_on_time_limit,
    )
