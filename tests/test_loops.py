"""The collect/train loops' segments: what a checkpoint rebuilds and what it keeps."""

from __future__ import annotations

import pytest
from test_golden import SHORT

from rlexp.composition import compose_config
from rlexp.training.loops import draws_random


def test_draws_random_finds_op_seeded_random_ops_also_inside_a_loop():
    import tensorflow as tf

    def traced(body):
        return tf.function(body, autograph=False).get_concrete_function()

    assert draws_random(traced(lambda: tf.random.uniform([2], seed=1)))
    assert draws_random(
        traced(
            lambda: tf.while_loop(
                lambda i, x: i < 3,
                lambda i, x: (i + 1, x + tf.random.normal([], seed=2)),
                (tf.constant(0), tf.constant(0.0)),
            )
        )
    )
    assert not draws_random(traced(lambda: tf.random.stateless_uniform([2], seed=[1, 2])))
    assert not draws_random(traced(lambda: tf.reduce_sum(tf.ones([2]))))


@pytest.mark.parametrize(
    ("experiment", "traced_again"),
    [
        pytest.param("dqn_gym_cartpole", False, marks=pytest.mark.slow),
        ("ppo_cartpole", False),
        pytest.param("sac_pendulum", True, marks=pytest.mark.slow),
    ],
)
def test_a_checkpoint_traces_the_train_step_again_only_where_it_draws_random(
    experiment, traced_again, tmp_path, monkeypatch
):
    """Tracing PPO's train step takes seconds, and every trace's graphs stay in memory: a
    segment keeps it. SAC's draws actions from op-seeded kernels, which only a new trace
    restarts where a resumed run's does (exact resume)."""
    from tf_agents.utils import common

    from rlexp.training import loops
    from rlexp.training.trainer import train

    made, segments = [], []
    function = common.function

    def counted(*args, **kwargs):
        if args and callable(args[0]):
            made.append(getattr(args[0], "__name__", ""))
        return function(*args, **kwargs)

    begin_segment = loops._Loop.begin_segment

    def counted_segment(loop, step):
        segments.append(step)
        return begin_segment(loop, step)

    monkeypatch.setattr(common, "function", counted)
    monkeypatch.setattr(loops._Loop, "begin_segment", counted_segment)
    train(compose_config([*SHORT, f"experiment={experiment}"]), tmp_path / "run")
    assert len(segments) >= 2  # SHORT checkpoints mid-run
    assert made.count("train_iteration") == (len(segments) if traced_again else 1)
