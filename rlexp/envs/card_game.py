"""The tutorial's card game (`rlexp.envs.card_game_env.CardGameEnv`) as env option `card_game`."""

from __future__ import annotations

from dataclasses import dataclass

from rlexp.context import BuildContext
from rlexp.envs.pipeline import PyEnvConfig, build_tf_env
from rlexp.registry import register
from rlexp.schemas import ActionKind


@dataclass
class CardGameConfig(PyEnvConfig):
    def base_action_kind(self) -> ActionKind:
        return ActionKind.discrete


def make_card_game(seed: int):
    from rlexp.envs.card_game_env import CardGameEnv

    return CardGameEnv(seed=seed)


@register(
    "env",
    "card_game",
    schema=CardGameConfig,
    doc="The TF-Agents tutorial's card game: take a card or stop, get close to 21.",
)
def build_card_game(cfg: CardGameConfig, context: BuildContext):
    return build_tf_env(cfg, context, make_card_game)
