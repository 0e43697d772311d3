"""`MinAtarPyEnvironment`: a MinAtar game (Young & Tian 2019) as a TF-Agents `PyEnvironment`.

MinAtar's five Atari-like games run on a 10x10 grid; the observation is a 10x10xC stack of
binary channels (one per kind of object), delivered here as uint8 0/1, the network's
scaling layer divides by the spec's maximum (1). Sticky actions (the last action repeats
with `sticky_action_prob`, 0.1 in MinAtar) and difficulty ramping are MinAtar's own, done
by `minatar.Environment`. Every step pays MinAtar's reward; a terminal state ends the
episode with discount 0.
"""

from __future__ import annotations

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts


class MinAtarPyEnvironment(py_environment.PyEnvironment):
    def __init__(
        self,
        game: str,
        sticky_action_prob: float = 0.1,
        difficulty_ramping: bool = True,
        minimal_action_set: bool = False,
        seed: int | None = None,
        render_scale: int = 16,
    ):
        super().__init__(handle_auto_reset=True)
        from minatar import Environment

        self._game = Environment(
            game, sticky_action_prob=sticky_action_prob, difficulty_ramping=difficulty_ramping
        )
        actions = (
            self._game.minimal_action_set()
            if minimal_action_set
            else list(range(self._game.num_actions()))
        )
        self._actions = [int(a) for a in actions]
        self._render_scale = int(render_scale)
        shape = tuple(self._game.state_shape())
        self._observation_spec = array_spec.BoundedArraySpec(
            shape, np.uint8, minimum=0, maximum=1, name="observation"
        )
        self._action_spec = array_spec.BoundedArraySpec(
            (), np.int64, minimum=0, maximum=len(self._actions) - 1, name="action"
        )
        if seed is not None:
            self.seed(seed)

    def observation_spec(self):
        return self._observation_spec

    def action_spec(self):
        return self._action_spec

    def seed(self, seed):
        self._game.seed(int(seed))
        return [seed]

    def _observation(self) -> np.ndarray:
        return np.asarray(self._game.state(), dtype=np.uint8)

    def _reset(self):
        self._game.reset()
        return ts.restart(self._observation())

    def _step(self, action):
        reward, terminal = self._game.act(self._actions[int(np.asarray(action))])
        reward = np.asarray(reward, dtype=np.float32)
        if terminal:
            return ts.termination(self._observation(), reward)
        return ts.transition(self._observation(), reward, np.float32(1.0))

    def render(self, mode: str = "rgb_array") -> np.ndarray:
        """The grid in MinAtar's own colours (its cubehelix palette), scaled up."""
        state = self._game.state()
        channels = state.shape[-1]
        numbered = np.amax(state * np.arange(1, channels + 1).reshape(1, 1, -1), axis=2)
        palette = (np.concatenate([[[0.0, 0.0, 0.0]], _cubehelix(channels)]) * 255).astype(np.uint8)
        image = palette[numbered]
        return np.kron(image, np.ones((self._render_scale, self._render_scale, 1), np.uint8))


def _cubehelix(colors: int) -> np.ndarray:
    import seaborn as sns  # MinAtar's dependency; the palette it displays with

    return np.asarray(sns.color_palette("cubehelix", colors))
