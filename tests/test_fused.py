"""The fused driver (collection and training in one compiled loop) and the unbiased
batched evaluation."""

from __future__ import annotations

import math

import pytest

from rlexp.composition import compose_config

TINY_FUSED = [
    "env=cartpole_tf",
    "env.num_parallel_envs=4",
    "driver=fused",
    "network.fc_layer_params=[16]",
    "train.env_steps=1200",
    "train.prefill_steps=100",
    "driver.num_steps=40",
    "train.train_steps_per_iteration=3",
    "train.eval_interval=300",
    "train.eval_episodes=3",
    "train.summary_interval=200",
    "train.checkpoint_interval=600",
    "train.progress=false",
    "buffer.sample_batch_size=16",
]


def test_fused_run_trains_and_fires_every_trigger_on_time(tmp_path):
    from rlexp.training.trainer import train

    metrics = train(compose_config(TINY_FUSED), tmp_path)
    assert metrics["status"] == "completed"
    assert metrics["env_steps"] >= 1200
    # 3 train steps per collect iteration of 40 to 43 env steps (whole batches of 4 carts;
    # the driver counts steps that are not episode boundaries).
    assert metrics["train_steps"] % 3 == 0
    assert metrics["train_steps"] >= 3 * math.floor((1200 - 100) / 43)
    assert math.isfinite(metrics["final_eval_return"])
    eval_steps = [e["env_steps"] for e in metrics["evaluations"]]
    # Each periodic evaluation fires at the end of the first iteration past its point,
    # exactly as with driver=step (an iteration adds at most 43 env steps).
    previous = 0
    for step in eval_steps[:-1]:
        assert previous + 300 <= step < previous + 300 + 43, eval_steps
        previous = step
    assert list((tmp_path / "checkpoints").glob("ckpt-*.index"))
    assert (tmp_path / "policy" / "saved_model.pb").is_file()


def test_fused_runs_in_graph_mode_repeat_bitwise(tmp_path):
    from rlexp.training.trainer import train

    graph = [*TINY_FUSED, "train.jit_compile=false", "train.env_steps=600"]
    first = train(compose_config(graph), tmp_path / "a")
    second = train(compose_config(graph), tmp_path / "b")
    keys = ("env_steps", "train_steps", "episodes", "final_eval_return")
    assert {k: first[k] for k in keys} == {k: second[k] for k in keys}


@pytest.mark.parametrize("copies, episodes", [(4, 4), (2, 4), (3, 5)])
def test_evaluation_counts_the_same_episodes_of_every_env_copy(copies, episodes):
    """Every copy plays ceil(episodes / copies) whole episodes and all count: the result
    equals an eager episode-by-episode replay of the same carts, short or long."""
    import numpy as np
    import tensorflow as tf
    from tf_agents.policies import tf_policy
    from tf_agents.trajectories import policy_step

    from rlexp.envs.cartpole_tf_env import CartPoleTFEnvironment
    from rlexp.training.evaluation import make_evaluator

    class PushTowardsThePole(tf_policy.TFPolicy):
        """Deterministic and imperfect: episodes of different lengths."""

        def _action(self, time_step, policy_state, seed):
            action = tf.cast(time_step.observation[:, 2] > 0.02, tf.int64)
            return policy_step.PolicyStep(action, policy_state, ())

    env = CartPoleTFEnvironment(batch_size=copies, seed=0)
    policy = PushTowardsThePole(env.time_step_spec(), env.action_spec())
    env.reseed(7)
    result = make_evaluator(env, policy, episodes)()

    env.reseed(7)
    per_copy = math.ceil(episodes / copies)
    returns = [[] for _ in range(copies)]
    current = np.zeros(copies)
    time_step = env.reset()
    while min(len(r) for r in returns) < per_copy:
        was_last = time_step.is_last().numpy()
        time_step = env.step(policy.action(time_step).action)
        for i in range(copies):
            if was_last[i]:
                continue
            current[i] += float(time_step.reward[i])
            if time_step.is_last().numpy()[i]:
                returns[i].append(current[i])
                current[i] = 0.0
    expected = [r for copy in returns for r in copy[:per_copy]]
    assert len(set(expected)) > 1  # the policy is imperfect: a meaningful check
    assert result.average_return == pytest.approx(np.mean(expected))
    assert result.average_episode_length == pytest.approx(np.mean(expected))


@pytest.mark.parametrize("copies", [1, 10, 32])
def test_evaluation_compiled_by_xla_equals_the_graphs(copies):
    """The evaluator XLA-compiles a native TF env's episodes: the same starting carts and the
    same returns as TensorFlow's graph, here over long episodes, where a one-ulp difference
    in the physics would grow into a different return."""
    import tensorflow as tf
    from tf_agents.policies import tf_policy
    from tf_agents.trajectories import policy_step

    from rlexp.envs.cartpole_tf_env import CartPoleTFEnvironment
    from rlexp.training.evaluation import make_evaluator

    class Balance(tf_policy.TFPolicy):
        """A linear controller: poles stay up for hundreds of steps, carts drift out."""

        def _action(self, time_step, policy_state, seed):
            gains = tf.constant([[0.0], [-0.3], [4.0], [1.0]])
            push = tf.matmul(time_step.observation, gains)[:, 0]
            return policy_step.PolicyStep(tf.cast(push > 0, tf.int64), policy_state, ())

    results = []
    for jit_compile in (False, True):
        env = CartPoleTFEnvironment(batch_size=copies, seed=0)
        policy = Balance(env.time_step_spec(), env.action_spec())
        env.reseed(11)
        results.append(make_evaluator(env, policy, copies, jit_compile)())
    graph, xla = results
    assert graph.average_episode_length > 100  # long episodes: a meaningful check
    assert xla == graph
