"""Env option `minatar`: the five MinAtar games (Young & Tian 2019) [extra: minatar].

Made so that DQN learns Atari-like games in hours on a CPU. Needs `pip install
'rlexp[minatar]'` (MinAtar 1.0.15); without it, choosing this option fails at validation
with that command.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind, bounded, documented


class MinAtarGame(StrEnum):
    asterix = "asterix"
    breakout = "breakout"
    freeway = "freeway"
    seaquest = "seaquest"
    space_invaders = "space_invaders"


@dataclass
class MinAtarConfig(PyEnvConfig):
    game: MinAtarGame = documented(MinAtarGame.breakout, "the MinAtar game")
    sticky_action_prob: float = bounded(
        0.1, ge=0.0, le=1.0, doc="chance the last action repeats (MinAtar's default 0.1)"
    )
    difficulty_ramping: bool = documented(True, "games speed up over time, as MinAtar defines")
    minimal_action_set: bool = documented(
        False, "only the game's own actions; false = all 6, as the MinAtar paper's DQN"
    )
    render_scale: int = bounded(16, gt=0, doc="pixels per grid cell of rendered frames")
    reward_threshold: float | None = documented(
        None, "average eval return that counts as solved; null = none"
    )
    validate_episodes: int = bounded(1, gt=0, doc="random-policy episodes of that check")

    requires_extra: ClassVar[str] = "minatar"
    image_observations: ClassVar[bool] = True
    can_render: ClassVar[bool] = True

    def base_action_kind(self) -> ActionKind:
        return ActionKind.discrete


def make_minatar(cfg: MinAtarConfig, seed: int):
    from rlexp.envs.minatar_env import MinAtarPyEnvironment

    return MinAtarPyEnvironment(
        str(cfg.game),
        sticky_action_prob=cfg.sticky_action_prob,
        difficulty_ramping=cfg.difficulty_ramping,
        minimal_action_set=cfg.minimal_action_set,
        seed=seed,
        render_scale=cfg.render_scale,
    )


@register(
    "env",
    "minatar",
    schema=MinAtarConfig,
    doc="A MinAtar game (env.game: breakout, asterix, freeway, seaquest, space_invaders) "
    "as 10x10xC uint8 images [extra: minatar].",
)
def build_minatar(cfg: MinAtarConfig, context: BuildContext):
    from rlexp.extras import require

    require("minatar")
    return build_tf_env(cfg, context, functools.partial(make_minatar, cfg))
