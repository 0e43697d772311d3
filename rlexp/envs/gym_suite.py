"""Gym environments through TF-Agents' `suite_gym`, wrapped in a `TFPyEnvironment`."""

from __future__ import annotations

from dataclasses import dataclass

from rlexp.context import BuildContext
from rlexp.registry import register
from rlexp.schemas import ComponentConfig, bounded, documented


@dataclass
class GymEnvConfig(ComponentConfig):
    gym_id: str = documented("CartPole-v1", "registered gym id")
    max_episode_steps: int | None = bounded(
        None, ge=0, doc="episode step limit; null = the gym spec's, 0 = none"
    )
    discount: float = bounded(1.0, ge=0.0, le=1.0, doc="env discount per step")
    reward_threshold: float | None = documented(
        None, "average eval return that counts as solved; null = the gym spec's"
    )


@register("env", "cartpole", schema=GymEnvConfig, doc="Gym CartPole (v1 by default) via suite_gym.")
def build_cartpole(cfg: GymEnvConfig, context: BuildContext):
    """A seeded `TFPyEnvironment` over `suite_gym.load(cfg.gym_id)`."""
    from tf_agents.environments import suite_gym, tf_py_environment

    py_env = suite_gym.load(
        cfg.gym_id, discount=cfg.discount, max_episode_steps=cfg.max_episode_steps
    )
    py_env.seed(context.seed)
    return tf_py_environment.TFPyEnvironment(py_env)


def reward_threshold(cfg: object) -> float | None:
    """The solved threshold: the config's, else the one gym registers for the id."""
    if getattr(cfg, "reward_threshold", None) is not None:
        return float(cfg.reward_threshold)
    if not hasattr(cfg, "gym_id"):
        return None
    import gym

    try:
        return gym.spec(cfg.gym_id).reward_threshold
    except gym.error.Error:
        return None
