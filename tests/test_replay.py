"""Reverb replay (skipped without the optional `reverb` extra): a server from config, the
in-process server's port, and priorities updated from the agent's TD errors."""

from __future__ import annotations

import pytest
from conftest import collect_env_steps, sigterm_once_past
from omegaconf import OmegaConf

from rlexp.buffers import io_of
from rlexp.composition import compose_config
from rlexp.extras import EXTRAS

pytestmark = pytest.mark.skipif(
    not EXTRAS["reverb"].installed(),
    reason=f"reverb extra not installed ({EXTRAS['reverb'].install_command()})",
)


def build(overrides: list[str]):
    from rlexp.training.build import build_components

    cfg = compose_config([*overrides, "driver.num_steps=50"])
    ctx, driver = build_components(cfg)
    return cfg, ctx, driver


def uniform_table(name: str):
    import reverb

    return reverb.Table(
        name,
        max_size=1000,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        rate_limiter=reverb.rate_limiters.MinSize(1),
    )


def test_reverb_buffer_uses_the_server_address_from_config():
    import reverb

    server = reverb.Server([uniform_table("experience")])
    address = f"localhost:{server.port}"
    cfg, ctx, driver = build(["buffer=reverb_uniform", f"buffer.server_address={address}"])
    assert ctx.buffer.local_server is None, "no server of its own"
    collect_env_steps(ctx, driver, 100)
    io_of(ctx.buffer).flush()  # the writers send items asynchronously
    assert reverb.Client(address).server_info()["experience"].current_size > 0


def test_reverb_server_address_without_the_table_is_a_clear_error():
    import reverb

    from rlexp.context import BuildError

    server = reverb.Server([uniform_table("other")])
    with pytest.raises(BuildError, match=r"table_name=experience.*its tables: other"):
        build(["buffer=reverb_uniform", f"buffer.server_address=localhost:{server.port}"])


def test_in_process_server_on_the_configured_port():
    import portpicker

    port = portpicker.pick_unused_port()
    _, ctx, _ = build(["buffer=reverb_uniform", f"buffer.port={port}"])
    assert ctx.buffer.local_server.port == port


def test_reverb_items_start_at_every_step_episode_ends_included():
    """As in `TFUniformReplayBuffer`, an item starts at every collected step. TF-Agents'
    observer dropped each episode's last `sequence_length - 1` starts, the terminal
    transition among them, and n-step DQN (4-step items) diverged on CartPole."""
    import numpy as np
    import tensorflow as tf
    from tf_agents.trajectories import StepType

    from rlexp import buffers

    cfg, ctx, driver = build(["buffer=reverb_uniform", "env.num_parallel_envs=2"])
    rows = tf.Variable(0, dtype=tf.int64)  # trajectory steps written, episode ends included
    ctx.observers.append(lambda traj: rows.assign_add(tf.size(traj.step_type, tf.int64)))
    collect_env_steps(ctx, driver, 300)
    io_of(ctx.buffer).flush()
    length = ctx.agent.train_sequence_length
    assert length == 4, "DQN's 3-step update"
    assert ctx.buffer.get_table_info().current_size == int(rows.numpy()) - 2 * (length - 1)
    dataset = buffers.dataset(ctx.buffer, OmegaConf.to_object(cfg.buffer), length)
    first_steps = [
        (int(a), int(b))
        for experience, _ in dataset.take(10)
        for a, b in zip(
            experience.step_type.numpy()[:, 0],
            experience.next_step_type.numpy()[:, 0],
            strict=True,
        )
    ]
    terminal = (int(StepType.MID), int(StepType.LAST))
    assert np.mean([pair == terminal for pair in first_steps]) > 0.01, "no terminal starts"


def test_prioritized_replay_updates_priorities_from_td_errors():
    from rlexp import buffers

    cfg, ctx, driver = build(["buffer=reverb_prioritized", "buffer.sample_batch_size=16"])
    sampler = ctx.buffer.get_table_info().sampler_options
    assert sampler.prioritized.priority_exponent == pytest.approx(0.6)
    collect_env_steps(ctx, driver, 100)
    dataset = buffers.dataset(
        ctx.buffer, OmegaConf.to_object(cfg.buffer), ctx.agent.train_sequence_length
    )
    iterator = iter(dataset)
    for _ in range(3):
        loss_info = buffers.train(ctx.buffer, ctx.agent, next(iterator))
    assert int(ctx.agent.train_step_counter.numpy()) == 3
    # Sampled afresh: the items trained on now hold |TD error| + epsilon, not 1.0. (Each
    # sample is a list of its steps; drain the generator, an abandoned one can block.)
    samples = list(ctx.buffer.py_client.sample("experience", num_samples=200))
    priorities = {round(float(steps[0].info.priority), 6) for steps in samples}
    assert priorities - {1.0}, priorities
    assert loss_info.extra.td_error.shape == (16,)


def test_a_resumed_reverb_run_says_its_table_is_not_restored(tmp_path, capfd):
    """No checkpoint holds a Reverb table, so no replay of the stopped segment can match:
    the resume says why its results differ, instead of replaying."""
    from rlexp.training.trainer import Interrupted, train

    config = compose_config(
        [
            "env=cartpole",
            "buffer=reverb_uniform",
            "driver=step",
            "train.env_steps=1600",
            "train.prefill_steps=200",
            "driver.num_steps=100",
            "train.train_steps_per_iteration=10",
            "train.eval_interval=800",
            "train.eval_episodes=1",
            "train.summary_interval=100",
            "train.checkpoint_interval=500",
            "train.progress=false",
            "buffer.sample_batch_size=16",
            "env.max_episode_steps=50",
        ]
    )
    with sigterm_once_past(801), pytest.raises(Interrupted):
        train(config, tmp_path / "run")
    capfd.readouterr()
    metrics = train(config, tmp_path / "run", resume=True)
    err = capfd.readouterr().err
    assert metrics["status"] == "completed"
    assert "buffer=reverb_uniform keeps its items in a Reverb table" in err, err
    assert "replaying" not in err, err
