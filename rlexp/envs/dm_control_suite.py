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

import difflib
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

    def base_action_shape(self) -> tuple[int, ...] | None:
        """The task's action shape (None while the task or the extra is missing)."""
        facts = self._facts()
        return None if facts is None else facts.action_shape

    def problems(self) -> list[str]:
        from rlexp.extras import EXTRAS

        if not EXTRAS["dm_control"].installed():
            return []  # reported once, with the install command, by validation
        facts = self._facts()
        if facts is None:
            return [self._task_problem()]
        problems = []
        if self.pixels and self.observations_allowlist is not None:
            problems.append(
                "observations_allowlist: applies to state observations; with pixels=true "
                "set it to null"
            )
        elif self.observations_allowlist is not None:
            problems += _allowlist_problems(self.observations_allowlist, facts, self.domain)
        if self.camera_id >= facts.cameras:
            problems.append(
                f"camera_id={self.camera_id}: {self.domain}/{self.task} has {facts.cameras} "
                f"cameras; choose 0 to {facts.cameras - 1}"
            )
        return problems + super().problems()

    def _facts(self) -> TaskFacts | None:
        from rlexp.extras import EXTRAS

        if not EXTRAS["dm_control"].installed():
            return None
        return task_facts(self.domain, self.task)

    def _task_problem(self) -> str:
        """The unknown domain or task, with the closest name and the valid ones."""
        from dm_control import suite

        tasks = sorted(t for d, t in suite.ALL_TASKS if d == self.domain)
        if tasks:
            key, value, valid = "task", self.task, tasks
        else:
            key, value, valid = "domain", self.domain, sorted({d for d, _ in suite.ALL_TASKS})
        close = difflib.get_close_matches(value, valid, n=1)
        mean = f"; did you mean {key}={close[0]}?" if close else ""
        scope = f"{self.domain} tasks" if tasks else "domains"
        return (
            f"domain={self.domain} task={self.task}: not a DMC task{mean} "
            f"({scope}: {', '.join(valid)})"
        )


@dataclass(frozen=True)
class TaskFacts:
    """What validation needs of a DMC task, read from its physics (nothing rendered)."""

    action_shape: tuple[int, ...]
    cameras: int
    observation_keys: tuple[str, ...]


@functools.cache
def task_facts(domain: str, task: str) -> TaskFacts | None:
    """The facts of `domain`/`task` (loading it compiles its model: ~0.1 s), or None if
    DMC has no such task."""
    # dm_control's import logs MuJoCo's version and GL backend at INFO: not for a
    # user whose config is being checked.
    logging.getLogger("absl").setLevel(logging.WARNING)
    from dm_control import suite

    if (domain, task) not in suite.ALL_TASKS:
        return None
    env = suite.load(domain, task)
    return TaskFacts(
        tuple(env.action_spec().shape),
        int(env.physics.model.ncam),
        tuple(env.observation_spec()),
    )


def _allowlist_problems(allowlist: list[str], facts: TaskFacts, domain: str) -> list[str]:
    keys = ", ".join(facts.observation_keys)
    if not allowlist:
        return [
            f"observations_allowlist=[]: keeps no observation; list the keys to keep "
            f"({keys}) or set null for all"
        ]
    unknown = [key for key in allowlist if key not in facts.observation_keys]
    if unknown:
        return [
            f"observations_allowlist: {domain} has no observation {', '.join(unknown)}; "
            f"its keys: {keys}"
        ]
    return []


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
        allowlist = None if cfg.observations_allowlist is None else list(cfg.observations_allowlist)
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
