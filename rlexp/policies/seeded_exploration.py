"""Epsilon-greedy exploration drawn from a `tf.random.Generator`, for the XLA-compiled loop.

TF-Agents' `EpsilonGreedyPolicy` draws its coin and its random action with stateful random
ops. Compiled by XLA, those take their seed from a counter XLA starts at a random value in
each process, so an XLA-compiled collect step would explore differently in every run. This
policy makes the same choice (the greedy action where a uniform draw is >= epsilon, else a
uniform random action) from a generator the caller seeds, so an XLA run repeats bit for bit
and resumes exactly.
"""

from __future__ import annotations

from typing import Any


def supports(policy: Any) -> bool:
    """Whether `policy` is a plain epsilon-greedy policy over one discrete action that
    `SeededEpsilonGreedy` can stand in for (no action masks, no policy info)."""
    import tensorflow as tf
    from tf_agents.policies.epsilon_greedy_policy import EpsilonGreedyPolicy

    spec = policy.action_spec
    return (
        type(policy) is EpsilonGreedyPolicy
        and policy._exploration_mask is None
        and policy.observation_and_action_constraint_splitter is None
        and not tf.nest.flatten(policy.info_spec)
        and isinstance(spec, tf.TypeSpec)
        and spec.dtype.is_integer
        and spec.shape.rank == 0
    )


def seeded_epsilon_greedy(policy: Any, generator: Any) -> Any:
    """`policy` (an `EpsilonGreedyPolicy` that `supports` accepts) drawing from `generator`."""
    import tensorflow as tf
    from tf_agents.policies.epsilon_greedy_policy import EpsilonGreedyPolicy
    from tf_agents.utils import nest_utils

    class SeededEpsilonGreedy(EpsilonGreedyPolicy):
        def _action(self, time_step, policy_state, seed):
            greedy = self._greedy_policy.action(time_step, policy_state)
            shape = nest_utils.get_outer_shape(time_step, self._time_step_spec)
            spec = self.action_spec
            random_action = generator.uniform(
                shape, int(spec.minimum), int(spec.maximum) + 1, dtype=spec.dtype
            )
            explore = generator.uniform(shape) < self._get_epsilon()
            return greedy._replace(action=tf.where(explore, random_action, greedy.action))

    return SeededEpsilonGreedy(policy.wrapped_policy, policy._epsilon, name=policy.name)
