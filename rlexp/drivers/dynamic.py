"""TF-Agents' dynamic drivers: a fixed number of env steps, or of episodes, per call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.registry import register
from rlexp.schemas import DriverConfig, bounded


@dataclass
class StepDriverConfig(DriverConfig):
    num_steps: int = bounded(1024, gt=0, doc="env steps per collect iteration (all env copies)")


@dataclass
class EpisodeDriverConfig(DriverConfig):
    num_episodes: int | None = bounded(
        None,
        gt=0,
        doc="episodes per collect iteration; null = one per env copy (env.num_parallel_envs)",
    )

    whole_episodes: ClassVar[bool] = True  # what on-policy agents train on


@register("driver", "step", schema=StepDriverConfig, doc="DynamicStepDriver: N steps per call.")
def build_step_driver(cfg: StepDriverConfig, context: BuildContext):
    from tf_agents.drivers import dynamic_step_driver

    return dynamic_step_driver.DynamicStepDriver(
        context.env, context.policy, observers=context.observers, num_steps=cfg.num_steps
    )


@register(
    "driver",
    "episode",
    schema=EpisodeDriverConfig,
    doc="DynamicEpisodeDriver: N episodes per call.",
)
def build_episode_driver(cfg: EpisodeDriverConfig, context: BuildContext):
    from tf_agents.drivers import dynamic_episode_driver

    return dynamic_episode_driver.DynamicEpisodeDriver(
        context.env,
        context.policy,
        observers=context.observers,
        num_episodes=cfg.num_episodes or context.env.batch_size or 1,
    )
