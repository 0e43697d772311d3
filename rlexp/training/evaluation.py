"""Greedy evaluation: a compiled episode driver over a separate eval env."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EvalResult:
    average_return: float
    average_episode_length: float


def make_evaluator(env, policy, num_episodes: int):
    """A callable running `num_episodes` greedy episodes inside one `tf.function`."""
    from tf_agents.drivers import dynamic_episode_driver
    from tf_agents.metrics import tf_metrics
    from tf_agents.utils import common

    returns = tf_metrics.AverageReturnMetric(batch_size=env.batch_size, buffer_size=num_episodes)
    lengths = tf_metrics.AverageEpisodeLengthMetric(
        batch_size=env.batch_size, buffer_size=num_episodes
    )
    driver = dynamic_episode_driver.DynamicEpisodeDriver(
        env, policy, observers=[returns, lengths], num_episodes=num_episodes
    )
    run = common.function(driver.run)

    def evaluate() -> EvalResult:
        returns.reset()
        lengths.reset()
        run(env.reset(), policy.get_initial_state(env.batch_size))
        return EvalResult(float(returns.result()), float(lengths.result()))

    return evaluate
