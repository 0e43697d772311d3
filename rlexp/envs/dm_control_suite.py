"""Env option `dm_control`: a DeepMind Control Suite task via TF-Agents' `suite_dm_control`
[extra: dm_control].

The task's dict observation is flattened into one float32 vector (all of it, or the keys
in `observations_allowlist`), or, with `pixels`, replaced by a rendered uint8 image
(MuJoCo renders headless with EGL: `rlexp/__init__.py` sets `MUJOCO_GL`). Actions are
float32 in [-1, 1]; `action_repeat` repeats each for that many physics steps, summing the
rewards (TF-Agents' `ActionRepeat`). Episodes end on the task's own limit (1000 physics
steps for most tasks) with the discount kept: a truncation.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind, bounded, documented


@dataclass
class DmControlConfig(PyEnvConfig):
    domain: str = documented("cartpole", "DMC domain, e.g. cartpole, walker, cheetah")
    task: str = documented("balance", "task of the domain, e.g. balance, swingup, walk")
    observations_allowlist: list[str] | None = documented(
        None, "observation keys kept (flattened in this order); null = all"
    )
    action_repeat: int = bounded(1, gt=0, doc="physics steps per agent step (rewards summed)")
    pixels: bool = documented(False, "observe a rendered uint8 image instead of the state")
    pixels_size: int = bounded(84, gt=0, doc="height and width of pixel observations")
    camera_id: int = bounded(0, ge=0, doc="camera of pixel observations and video")
    reward_threshold: float | None = documented(
        None, "average eval return that counts as solved; null = none"
    )
    validate_episodes: int = bounded(1, gt=0, doc="random-policy episodes of that check")

    requires_extra: ClassVar[str] = "dm_control"
    can_render: ClassVar[bool] = True

    @property
    def image_observations(self) -> bool:
        """A declared fact read by validation: pixels make the observations images."""
        return self.pixels

    def base_action_kind(self) -> ActionKind:
        return ActionKind.continuous

    def problems(self) -> list[str]:
        from rlexp.extras import EXTRAS

        if not EXTRAS["dm_control"].installed():
            return []  # reported once, with the install command, by validation
        # dm_control's import logs MuJoCo's version and GL backend at INFO: not for a
        # user whose config is being checked.
        logging.getLogger("absl").setLevel(logging.WARNING)
        from dm_control import suite

        tasks = sorted(f"{d}/{t}" for d, t in suite.ALL_TASKS)
        if (self.domain, self.task) not in suite.ALL_TASKS:
            return [
                f"domain={self.domain} task={self.task}: not a DMC task; tasks: " + ", ".join(tasks)
            ]
        if self.pixels and self.observations_allowlist is not None:
            return [
                "observations_allowlist: applies to state observations; with pixels=true "
                "set it to null"
            ]
        return super().problems()


def make_dm_control(cfg: DmControlConfig, seed: int):
    """One seeded DMC task, flattened (or pixels), with its actions repeated.

    A pixel task renders every observation with an EGL context that works on the thread
    that made it only, so it is built and used on a thread of its own."""
    if cfg.pixels:
        from rlexp.envs.thread_bound import ThreadBoundPyEnvironment

        return ThreadBoundPyEnvironment(functools.partial(_load_dm_control, cfg, seed))
    return _load_dm_control(cfg, seed)


def _load_dm_control(cfg: DmControlConfig, seed: int):
    from tf_agents.environments import suite_dm_control, wrappers

    from rlexp.envs.dm_control_env import SeedableDmControl, SelectObservationWrapper

    render_kwargs = {
        "height": cfg.pixels_size,
        "width": cfg.pixels_size,
        "camera_id": cfg.camera_id,
    }
    task_kwargs = {"random": seed}
    if cfg.pixels:
        env = suite_dm_control.load_pixels(
            cfg.domain, cfg.task, task_kwargs=task_kwargs, render_kwargs=render_kwargs
        )
        env = SelectObservationWrapper(SeedableDmControl(env), "pixels")
    else:
        env = suite_dm_control.load(
            cfg.domain, cfg.task, task_kwargs=task_kwargs, render_kwargs=render_kwargs
        )
        allowlist = list(cfg.observations_allowlist) if cfg.observations_allowlist else None
        env = wrappers.FlattenObservationsWrapper(
            SeedableDmControl(env), observations_allowlist=allowlist
        )
    if cfg.action_repeat > 1:
        env = wrappers.ActionRepeat(env, cfg.action_repeat)
    return env


@register(
    "env",
    "dm_control",
    schema=DmControlConfig,
    doc="A DeepMind Control Suite task (env.domain, env.task): flattened state or pixels, "
    "action repeat [extra: dm_control].",
)
def build_dm_control(cfg: DmControlConfig, context: BuildContext):
    from rlexp.extras import require

    require("dm_control")
    return build_tf_env(cfg, context, functools.partial(make_dm_control, cfg))
