"""rlexp's training metrics give TF-Agents' own values, on the same stream of trajectories."""

from __future__ import annotations

import numpy as np
import pytest

BATCH = 3


def _trajectories(steps: int, seed: int = 0) -> list:
    """Carts whose episodes (random lengths and rewards) each end in a boundary step."""
    from tf_agents.trajectories import time_step as ts
    from tf_agents.trajectories import trajectory

    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 7, BATCH)  # per cart, in steps before the boundary
    position = np.zeros(BATCH, int)
    out = []
    for _ in range(steps):
        first, last, boundary = position == 0, position == lengths - 1, position == lengths
        out.append(
            trajectory.Trajectory(
                step_type=np.select(
                    [first, boundary], [ts.StepType.FIRST, ts.StepType.LAST], ts.StepType.MID
                ).astype(np.int32),
                observation=np.zeros((BATCH, 1), np.float32),
                action=np.zeros(BATCH, np.int64),
                policy_info=(),
                next_step_type=np.select(
                    [last, boundary], [ts.StepType.LAST, ts.StepType.FIRST], ts.StepType.MID
                ).astype(np.int32),
                reward=rng.normal(size=BATCH).astype(np.float32),
                discount=np.ones(BATCH, np.float32),
            )
        )
        position = np.where(boundary, 0, position + 1)
    return out


@pytest.mark.parametrize("name", ["AverageReturnMetric", "AverageEpisodeLengthMetric"])
@pytest.mark.parametrize("steps", [0, 4, 60])  # an empty window, a partial one, a full one
def test_window_metrics_equal_tf_agents(name, steps):
    import tensorflow as tf
    from tf_agents.metrics import tf_metrics

    from rlexp.training import metrics

    ours, theirs = (
        getattr(metrics, name)(batch_size=BATCH),
        getattr(tf_metrics, name)(batch_size=BATCH),
    )
    for t in _trajectories(steps):
        ours(t)
        theirs(t)
    expected = theirs.result().numpy()
    assert ours.result().numpy() == expected
    assert tf.function(ours.result)().numpy() == expected  # in a graph too
    if steps == 60:
        assert int(ours._buffer.length) == 10 and expected != 0


def test_cut_episodes_count_in_neither_window(tmp_path):
    """Every checkpoint starts a new segment whose collect env starts new episodes without
    ending the cut ones; on CartPole (reward 1 per step) the average episode length must
    still equal the average return."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlexp.composition import compose_config
    from rlexp.training.trainer import train

    run = [
        "env=cartpole_tf",
        "env.num_parallel_envs=16",
        "driver.num_steps=512",
        "train.env_steps=3000",
        "train.checkpoint_interval=256",
        "train.summary_interval=256",
        "train.eval_interval=3000",
        "train.eval_episodes=1",
        "train.progress=false",
    ]
    train(compose_config(run), tmp_path / "run")
    events = EventAccumulator(str(tmp_path / "run"), size_guidance={"tensors": 0})
    events.Reload()

    def curve(tag: str) -> list[tuple[int, float]]:
        return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]

    returns = curve("train/average_return")
    assert len(returns) >= 3
    assert curve("train/average_episode_length") == returns
