"""Gym environments through TF-Agents' `suite_gym`, wrapped in a `TFPyEnvironment`.

Options: `cartpole` (CartPole-v1), `cartpole_v0`, `acrobot`, `mountain_car`, `pendulum`
(continuous actions), `pendulum_discrete` (Pendulum behind an `ActionDiscretizeWrapper`)
and `gym`, any registered gym id with its kwargs. All share `GymEnvConfig`; the YAML file
of each option sets its `gym_id`.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from omegaconf import MISSING

from rlexp.context import BuildContext, BuildError
from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind, bounded, documented

# Ids whose episodes end only at their step limit (the gym spec's TimeLimit).
ENDLESS_IDS = frozenset({"Pendulum-v0", "Pendulum-v1"})

# The action kind of well-known ids (gym 0.23 and Gymnasium 1.x names), so validation can
# match envs with agents without building an env. Other ids are `unknown` (not checked).
KNOWN_ACTION_KINDS = {
    **dict.fromkeys(
        [
            "CartPole-v0",
            "CartPole-v1",
            "Acrobot-v1",
            "MountainCar-v0",
            "LunarLander-v2",
            "LunarLander-v3",
            "Taxi-v3",
            "Taxi-v4",
            "CliffWalkingSlippery-v1",
            "FrozenLake-v1",
            "FrozenLake8x8-v1",
            "CliffWalking-v0",
            "CliffWalking-v1",
            "Blackjack-v1",
        ],
        ActionKind.discrete,
    ),
    **dict.fromkeys(
        [
            "Pendulum-v1",
            "MountainCarContinuous-v0",
            "LunarLanderContinuous-v2",
            "LunarLanderContinuous-v3",
            "BipedalWalker-v3",
            "BipedalWalkerHardcore-v3",
            "CarRacing-v1",
            "CarRacing-v3",
        ],
        ActionKind.continuous,
    ),
    **dict.fromkeys(
        [
            f"{body}-v{version}"
            for body in (
                "Ant",
                "HalfCheetah",
                "Hopper",
                "Humanoid",
                "HumanoidStandup",
                "InvertedDoublePendulum",
                "InvertedPendulum",
                "Pusher",
                "Reacher",
                "Swimmer",
                "Walker2d",
            )
            for version in range(2, 6)
        ],
        ActionKind.continuous,
    ),
}


@dataclass
class GymEnvConfig(PyEnvConfig):
    gym_id: str = documented(MISSING, "registered gym id (each option's YAML sets its own)")
    gym_kwargs: dict[str, Any] = documented({}, "keyword arguments of the gym env")
    max_episode_steps: int | None = bounded(
        None, ge=0, doc="episode step limit (replaces the gym spec's); null = the spec's, 0 = none"
    )
    discount: float = bounded(1.0, ge=0.0, le=1.0, doc="env discount per step")
    reward_threshold: float | None = documented(
        None, "average eval return that counts as solved; null = the gym spec's"
    )
    validate_py_environment: bool = documented(
        False, "check the env against its specs (utils.validate_py_environment) first"
    )

    can_render: ClassVar[bool] = True  # suite_gym's envs render rgb_array frames

    def base_action_kind(self) -> ActionKind:
        return KNOWN_ACTION_KINDS.get(self.gym_id, ActionKind.unknown)

    def base_action_shape(self) -> tuple[int, ...] | None:
        """The action shape of the gym env (made, not reset); None if it cannot be made."""
        return action_shape(_import_gym().make, self.gym_id)

    def problems(self) -> list[str]:
        if ":" in self.gym_id:  # checked before gym.spec, which would import the module
            return [module_prefix_problem(self.gym_id)]
        gym = _import_gym()
        try:
            spec = gym.spec(self.gym_id)
        except gym.error.Error as exc:
            return [f"gym_id={self.gym_id}: not a registered gym id{_gym_advice(exc)}"]
        missing = _missing_box2d(self.gym_id, spec.entry_point)
        kwargs = kwargs_problems(self.gym_id, spec.entry_point, self.gym_kwargs)
        return missing + kwargs + self._endless_problems() + super().problems()

    def _endless_problems(self) -> list[str]:
        """No step limit on an env whose episodes end only at one: no episode, so no
        evaluation, would ever end (and the run would hang in its first evaluation)."""
        limited = any(w.get("name") == "TimeLimit" for w in self.wrappers)
        if self.max_episode_steps != 0 or self.gym_id not in ENDLESS_IDS or limited:
            return []
        return [
            f"max_episode_steps=0: {self.gym_id} ends an episode only at its step limit, "
            f"so with none no episode or evaluation would ever end; give a limit, e.g. "
            f"env.max_episode_steps=200, or leave it out for the gym spec's"
        ]

    def spec_reward_threshold(self) -> float | None:
        try:
            return _import_gym().spec(self.gym_id).reward_threshold
        except Exception:
            return None


@dataclass
class AnyGymEnvConfig(GymEnvConfig):
    gym_id: str = documented(MISSING, "registered gym id (required), e.g. MountainCarContinuous-v0")


@dataclass
class PendulumDiscreteConfig(GymEnvConfig):
    gym_id: str = documented("Pendulum-v1", "registered gym id (continuous actions)")
    num_actions: int = bounded(5, ge=2, doc="discrete actions of the ActionDiscretizeWrapper")

    def base_action_kind(self) -> ActionKind:
        return ActionKind.discrete  # after the option's own ActionDiscretizeWrapper

    def own_wrappers(self) -> list[dict]:
        return [{"name": "ActionDiscretizeWrapper", "num_actions": self.num_actions}]

    def problems(self) -> list[str]:
        """Also: the option's own ActionDiscretizeWrapper fits `gym_id`'s actions (checked
        for the ids whose kind is known)."""
        raw = KNOWN_ACTION_KINDS.get(self.gym_id, ActionKind.unknown)
        continuous = raw == ActionKind.continuous
        shape = action_shape(_import_gym().make, self.gym_id) if continuous else None
        size = None if shape is None else int(np.prod(shape))
        wraps = f"gym_id={self.gym_id}: pendulum_discrete's ActionDiscretizeWrapper"
        fix = (
            "give a gym id with one continuous action (Pendulum-v1, MountainCarContinuous-v0)"
            f", or use env=gym env.gym_id={self.gym_id}"
        )
        if raw == ActionKind.discrete:
            return [f"{wraps} needs continuous actions, but {self.gym_id}'s are discrete; {fix}"]
        if size is not None and size > 1:
            return [
                f"{wraps} would turn {self.gym_id}'s {size} action dimensions into {size} "
                f"discrete actions at once, and discrete-action agents take one; {fix}"
            ]
        return super().problems()


def action_shape(make: Callable[[str], Any], gym_id: str) -> tuple[int, ...] | None:
    """The action shape of `make(gym_id)`, or None if it cannot be made here."""
    spaces = made_spaces(make, gym_id)
    return None if spaces is None else tuple(spaces[0].shape)


@functools.cache
def made_spaces(make: Callable[[str], Any], gym_id: str) -> tuple[Any, Any] | None:
    """(action space, observation space) of `make(gym_id)` (gym's or Gymnasium's make; the
    env is closed, never reset), or None if it cannot be made here."""
    try:
        quiet = io.StringIO()  # the env's own notices (ALE's "Powered by Stella")
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            env = make(gym_id)
    except Exception:  # noqa: BLE001 (a missing optional dependency: unknown, not wrong)
        return None
    try:
        return env.action_space, env.observation_space
    finally:
        env.close()


def _missing_box2d(gym_id: str, entry_point: Any) -> list[str]:
    """gym's Box2D envs (LunarLander, BipedalWalker, CarRacing) import the Box2D package,
    which gym 0.23 leaves to its `box2d` extra; without it they fail when made."""
    import importlib.util

    if not str(entry_point).startswith("gym.envs.box2d") or importlib.util.find_spec("Box2D"):
        return []
    return [
        f"gym_id={gym_id}: a Box2D env, and the Box2D package is not installed: "
        f"pip install box2d-py==2.3.5 (the version gym 0.23's box2d extra pins)"
    ]


def _gym_advice(exc: Exception) -> str:
    """gym's own reason, except for an Atari id: gym 0.23 says to install ale-py, which
    registers its games with Gymnasium only; rlexp plays them as env=atari."""
    text = str(exc)
    if "ale-py" in text or "`ALE`" in text:
        return "; Atari games are env=atari with an ALE id, e.g. env=atari env.gym_id=ALE/Pong-v5"
    return f" ({text})"


def module_prefix_problem(gym_id: str) -> str:
    """gym and Gymnasium import `m` for an id `m:Env-v0`: code named by a config value."""
    module, env_id = gym_id.split(":", 1)
    return (
        f"gym_id={gym_id}: the '{module}:' prefix makes gym import {module!r}, and a config "
        f"value never imports code; list the module under plugins (plugins=[{module}]) so "
        f"it registers its envs when imported, and give the id alone (env.gym_id={env_id})"
    )


def kwargs_problems(
    gym_id: str, entry_point: Any, kwargs: Any, make_keys: tuple[str, ...] = ()
) -> list[str]:
    """gym_kwargs the env's constructor does not take (unchecked if it takes **kwargs or
    cannot be inspected without building it); `make_keys` are taken by `make` itself."""
    import importlib
    import inspect

    try:
        if isinstance(entry_point, str):
            module, _, attr = entry_point.partition(":")
            entry_point = getattr(importlib.import_module(module), attr)
        parameters = inspect.signature(entry_point).parameters
    except Exception:  # noqa: BLE001 (a missing optional dependency, a C extension)
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    unknown = sorted(str(k) for k in (kwargs or {}) if k not in (*parameters, *make_keys))
    if not unknown:
        return []
    accepted = ", ".join(parameters) or "none"
    return [
        f"gym_kwargs: {gym_id} does not take {', '.join(unknown)}; "
        f"its constructor's keyword arguments: {accepted}"
    ]


def _import_gym():
    with contextlib.redirect_stderr(io.StringIO()):  # gym's import-time notice
        import gym
    return gym


def load_gym(cfg: GymEnvConfig, seed: int):
    """One seeded `suite_gym.load` of `cfg.gym_id` (a PyEnvironment), with
    `cfg.max_episode_steps` in place of the spec's limit when it is set."""
    from tf_agents.environments import suite_gym

    try:
        if cfg.max_episode_steps is None:
            py_env = suite_gym.load(
                cfg.gym_id, discount=cfg.discount, gym_kwargs=dict(cfg.gym_kwargs)
            )
        else:
            py_env = suite_gym.wrap_env(
                _with_step_limit(cfg.gym_id, dict(cfg.gym_kwargs), cfg.max_episode_steps),
                discount=cfg.discount,
                max_episode_steps=cfg.max_episode_steps,
            )
    except TypeError as exc:
        if "argument" not in str(exc) or not cfg.gym_kwargs:
            raise
        raise BuildError(
            f"env {cfg.gym_id}: its constructor refused env.gym_kwargs "
            f"{sorted(cfg.gym_kwargs)}: {exc}; remove or rename them (see the env's docs)"
        ) from exc
    py_env.seed(seed)
    return py_env


def _with_step_limit(gym_id: str, gym_kwargs: dict, max_episode_steps: int):
    """`gym.spec(gym_id).make()` with gym's TimeLimit at `max_episode_steps` (0: none)
    instead of the spec's: `suite_gym.load` only adds a TimeLimit outside gym's own, which
    can shorten episodes but never lengthen them. gym's TimeLimit ends an episode with
    `done`, a termination (discount 0), as with the spec's limit."""
    from gym.wrappers.time_limit import TimeLimit

    gym_env = _import_gym().spec(gym_id).make(**gym_kwargs)
    if isinstance(gym_env, TimeLimit):
        gym_env = gym_env.env
    if max_episode_steps > 0:
        gym_env = TimeLimit(gym_env, max_episode_steps=max_episode_steps)
    return gym_env


def _make(cfg: GymEnvConfig):
    return functools.partial(load_gym, cfg)


def build_gym_env(cfg: GymEnvConfig, context: BuildContext):
    """A seeded `TFPyEnvironment` over `suite_gym.load(cfg.gym_id)` copies."""
    return build_tf_env(cfg, context, _make(cfg))


DOCS = {
    "cartpole": "Gym CartPole-v1 via suite_gym (solved at 475).",
    "cartpole_v0": "Gym CartPole-v0: 200-step episodes (solved at 195).",
    "acrobot": "Gym Acrobot-v1: swing the two-link arm up (3 actions).",
    "mountain_car": "Gym MountainCar-v0: drive up the hill (3 actions).",
    "pendulum": "Gym Pendulum-v1: continuous torque, for continuous-action agents.",
}
for _name, _doc in DOCS.items():
    register("env", _name, schema=GymEnvConfig, doc=_doc)(build_gym_env)
register(
    "env",
    "gym",
    schema=AnyGymEnvConfig,
    doc="Any registered gym id (env.gym_id) with its kwargs (env.gym_kwargs).",
)(build_gym_env)


@register(
    "env",
    "pendulum_discrete",
    schema=PendulumDiscreteConfig,
    doc="Pendulum-v1 behind ActionDiscretizeWrapper (num_actions, 5 as in the tutorial).",
)
def build_pendulum_discrete(cfg: PendulumDiscreteConfig, context: BuildContext):
    return build_tf_env(cfg, context, _make(cfg), own_wrappers=cfg.own_wrappers())


def reward_threshold(cfg: object) -> float | None:
    """The solved threshold: the config's, else the one the env's registry gives its id."""
    if getattr(cfg, "reward_threshold", None) is not None:
        return float(cfg.reward_threshold)
    lookup = getattr(cfg, "spec_reward_threshold", None)
    return lookup() if callable(lookup) else None
