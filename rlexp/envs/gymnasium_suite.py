"""Env option `gymnasium`: any Gymnasium env id through `GymnasiumPyEnvironment`.

Needs the optional `gymnasium` extra (gymnasium 1.3.0): `pip install 'rlexp[gymnasium]'`.
Without it, choosing this option fails at validation with that command.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

from rlexp.context import BuildContext
from rlexp.envs.gym_suite import (
    KNOWN_ACTION_KINDS,
    action_shape,
    kwargs_problems,
    made_spaces,
    module_prefix_problem,
)
from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind, bounded, documented


@dataclass
class GymnasiumEnvConfig(PyEnvConfig):
    gym_id: str = documented("CartPole-v1", "registered Gymnasium env id")
    gym_kwargs: dict[str, Any] = documented({}, "keyword arguments of gymnasium.make")
    max_episode_steps: int | None = bounded(
        None, gt=0, doc="episode step limit (truncation); null = the env spec's"
    )
    discount: float = bounded(1.0, ge=0.0, le=1.0, doc="env discount per step")
    reward_threshold: float | None = documented(
        None, "average eval return that counts as solved; null = the env spec's"
    )
    validate_py_environment: bool = documented(
        True, "check the env against its specs (utils.validate_py_environment) first"
    )

    requires_extra: ClassVar[str | None] = "gymnasium"
    can_render: ClassVar[bool] = True  # made with render_mode='rgb_array'

    def base_action_kind(self) -> ActionKind:
        return KNOWN_ACTION_KINDS.get(self.gym_id, ActionKind.unknown)

    def base_action_shape(self) -> tuple[int, ...] | None:
        """The action shape of the env (made, not reset); None if it cannot be made."""
        import gymnasium

        return action_shape(gymnasium.make, self.gym_id)

    @property
    def image_observations(self) -> bool:
        """A declared fact read by validation: a uint8 (H, W, C) observation is an image
        (ALE/Pong-v5's frames). Known by making the env, not resetting it."""
        from rlexp.extras import EXTRAS

        if not EXTRAS["gymnasium"].installed() or ":" in self.gym_id:
            return False
        import gymnasium
        import numpy as np

        spaces = made_spaces(gymnasium.make, self.gym_id)
        observation = None if spaces is None else spaces[1]
        shape = getattr(observation, "shape", None) or ()
        return len(shape) == 3 and getattr(observation, "dtype", None) == np.uint8

    def problems(self) -> list[str]:
        from rlexp.extras import EXTRAS

        if not EXTRAS["gymnasium"].installed():
            return []  # reported once, with the install command, by validation
        if ":" in self.gym_id:  # checked before gymnasium.spec, which would import it
            return [module_prefix_problem(self.gym_id)]
        import gymnasium

        try:
            spec = gymnasium.spec(self.gym_id)
        except gymnasium.error.Error as exc:
            atari = "; Atari games are env=atari" if self.gym_id.startswith("ALE/") else ""
            return [f"gym_id={self.gym_id}: not a registered Gymnasium id ({exc}){atari}"]
        make_keys = ("disable_env_checker",)  # gymnasium.make's own keyword
        problems = kwargs_problems(self.gym_id, spec.entry_point, self.gym_kwargs, make_keys)
        return problems + super().problems()

    def spec_reward_threshold(self) -> float | None:
        try:
            import gymnasium

            return gymnasium.spec(self.gym_id).reward_threshold
        except Exception:
            return None


def make_gymnasium_env(cfg: GymnasiumEnvConfig, seed: int):
    """One seeded `GymnasiumPyEnvironment` over `gymnasium.make(cfg.gym_id, ...)`."""
    import gymnasium

    from rlexp.envs.gymnasium_env import GymnasiumPyEnvironment

    kwargs = {"render_mode": "rgb_array", **dict(cfg.gym_kwargs)}  # frames for videos
    gym_env = gymnasium.make(cfg.gym_id, max_episode_steps=cfg.max_episode_steps, **kwargs)
    return GymnasiumPyEnvironment(gym_env, discount=cfg.discount, seed=seed)


@register(
    "env",
    "gymnasium",
    schema=GymnasiumEnvConfig,
    doc="Any Gymnasium env id (env.gym_id) via an adapter PyEnvironment [extra: gymnasium].",
)
def build_gymnasium(cfg: GymnasiumEnvConfig, context: BuildContext):
    from rlexp.extras import require

    require("gymnasium")
    return build_tf_env(cfg, context, functools.partial(make_gymnasium_env, cfg))
