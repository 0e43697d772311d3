"""The one wrapper DMC pixels need: keep the image of `suite_dm_control.load_pixels`."""

from __future__ import annotations

from tf_agents.environments import wrappers


class SelectObservationWrapper(wrappers.PyEnvironmentBaseWrapper):
    """Keeps one key of a dict observation (`pixels` of `load_pixels`'s OrderedDict)."""

    def __init__(self, env, key: str):
        super().__init__(env)
        self._key = key

    def observation_spec(self):
        return self._env.observation_spec()[self._key]

    def _select(self, time_step):
        return time_step._replace(observation=time_step.observation[self._key])

    def _reset(self):
        return self._select(self._env.reset())

    def _step(self, action):
        return self._select(self._env.step(action))


class SeedableDmControl(wrappers.PyEnvironmentBaseWrapper):
    """Gives `suite_dm_control`'s env the `seed(seed)` rlexp's trainer re-seeds envs with:
    the task's own RandomState (initial states, and noise) restarts from `seed`."""

    def seed(self, seed):
        self._env._env.task.random.seed(int(seed) % 2**32)
        return [seed]

    def close(self):
        """Frees the physics' rendering contexts (dm_env's own `close` frees nothing): a
        context made on one thread fails to free from another at interpreter exit."""
        self._env._env.physics.free()
