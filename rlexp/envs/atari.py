"""Env option `atari`: any ALE game with the protocol of Machado et al. 2018 [extra: atari].

TF-Agents' `suite_atari` needs gym's ALE envs, which have no Python 3.11 build with ROMs;
here the game comes from Gymnasium's ALE (`ale-py` bundles the ROMs), preprocessed by
Gymnasium's `AtariPreprocessing` (noop starts, frame skip with a max over the last two
frames, 84x84 grayscale) and `FrameStackObservation`, and reaches TF-Agents through rlexp's
`GymnasiumPyEnvironment`. The stacked frames are moved channels-last (84x84x4, what conv
layers take) and stay uint8: the network scales them (rlexp.networks.image_input).

The defaults are the protocol's: sticky actions (ALE's `repeat_action_probability` 0.25),
up to 30 no-op starts, the game's minimal action set, no terminal on life loss, and
episodes truncated (discount kept) at 108,000 frames, 30 minutes of play.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rlexp.context import BuildContext
from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind, bounded, documented


@dataclass
class AtariConfig(PyEnvConfig):
    gym_id: str = documented("ALE/Pong-v5", "ALE game id (ALE/<Game>-v5)")
    noop_max: int = bounded(30, ge=0, doc="at most this many no-op actions after a reset")
    frame_skip: int = bounded(4, gt=0, doc="frames per agent step (max over the last two)")
    screen_size: int = bounded(84, gt=0, doc="observed frames are screen_size^2")
    grayscale: bool = documented(True, "grayscale frames; false = RGB (3 channels per frame)")
    frame_stack: int = bounded(4, gt=0, doc="last frames stacked as channels")
    repeat_action_probability: float = bounded(
        0.25, ge=0.0, le=1.0, doc="sticky actions: chance the previous action repeats"
    )
    full_action_space: bool = documented(False, "all 18 actions; false = the game's own")
    terminal_on_life_loss: bool = documented(False, "a lost life ends the episode")
    max_episode_frames: int = bounded(108_000, gt=0, doc="episode limit in frames (truncation)")
    discount: float = bounded(1.0, ge=0.0, le=1.0, doc="env discount per step")
    reward_threshold: float | None = documented(
        None, "average eval return that counts as solved; null = none"
    )
    validate_py_environment: bool = documented(
        False, "check the env against its specs first (whole random episodes: slow)"
    )

    requires_extra: ClassVar[str] = "atari"
    image_observations: ClassVar[bool] = True
    can_render: ClassVar[bool] = True

    def base_action_kind(self) -> ActionKind:
        return ActionKind.discrete

    def problems(self) -> list[str]:
        from rlexp.extras import EXTRAS

        if not EXTRAS["atari"].installed():
            return []  # reported once, with the install command, by validation
        gymnasium = _gymnasium_with_ale()
        try:
            spec = gymnasium.spec(self.gym_id)
        except gymnasium.error.Error as exc:
            return [f"gym_id={self.gym_id}: not an ALE id, e.g. ALE/Pong-v5 ({exc})"]
        if not str(spec.entry_point).startswith("ale_py."):
            return [
                f"gym_id={self.gym_id}: not an ALE id, e.g. ALE/Pong-v5; other Gymnasium "
                f"envs are env=gymnasium env.gym_id={self.gym_id}"
            ]
        return super().problems()


def _gymnasium_with_ale():
    import ale_py
    import gymnasium

    gymnasium.register_envs(ale_py)
    return gymnasium


def make_atari(cfg: AtariConfig, seed: int):
    """One seeded, preprocessed ALE game as a `GymnasiumPyEnvironment`."""
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    from rlexp.envs.gymnasium_env import GymnasiumPyEnvironment

    env = _gymnasium_with_ale().make(
        cfg.gym_id,
        frameskip=1,  # AtariPreprocessing skips (and max-pools) frames itself
        repeat_action_probability=cfg.repeat_action_probability,
        full_action_space=cfg.full_action_space,
        max_num_frames_per_episode=cfg.max_episode_frames,
        render_mode="rgb_array",
    )
    env = AtariPreprocessing(
        env,
        noop_max=cfg.noop_max,
        frame_skip=cfg.frame_skip,
        screen_size=cfg.screen_size,
        terminal_on_life_loss=cfg.terminal_on_life_loss,
        grayscale_obs=cfg.grayscale,
        scale_obs=False,
    )
    env = channels_last(FrameStackObservation(env, cfg.frame_stack))
    return GymnasiumPyEnvironment(env, discount=cfg.discount, seed=seed)


def channels_last(env: Any) -> Any:
    """(stack, H, W[, C]) frames -> (H, W, stack * C): the stack becomes conv channels."""
    from gymnasium import spaces
    from gymnasium.wrappers import TransformObservation

    stack, height, width = env.observation_space.shape[:3]
    channels = stack * int(np.prod(env.observation_space.shape[3:], dtype=int))

    def move(frames: np.ndarray) -> np.ndarray:
        return np.moveaxis(np.asarray(frames), 0, 2).reshape(height, width, channels)

    space = spaces.Box(0, 255, (height, width, channels), np.uint8)
    return TransformObservation(env, move, space)


@register(
    "env",
    "atari",
    schema=AtariConfig,
    doc="Any ALE game (env.gym_id) with Machado et al. 2018's protocol: 84x84x4 uint8 "
    "frames, sticky actions [extra: atari].",
)
def build_atari(cfg: AtariConfig, context: BuildContext):
    from rlexp.extras import require

    require("atari")
    return build_tf_env(cfg, context, functools.partial(make_atari, cfg))
