"""Every registered (group, option) composes and builds into the expected TF-Agents objects."""

from __future__ import annotations

import pytest

from rlexp import registry
from rlexp.composition import compose_config

registry.load_builtins()
REGISTERED = [(c.group, c.name) for c in registry.components()]

# Exact classes of the built-in options, by import path (resolved lazily: TF is slow to import).
EXACT_TYPES = {
    ("env", "cartpole"): "tf_agents.environments.tf_py_environment.TFPyEnvironment",
    ("network", "q_network"): "tf_agents.networks.q_network.QNetwork",
    ("agent", "dqn"): "tf_agents.agents.dqn.dqn_agent.DqnAgent",
    ("agent", "ddqn"): "tf_agents.agents.dqn.dqn_agent.DdqnAgent",
    ("buffer", "tf_uniform"): "tf_agents.replay_buffers.tf_uniform_replay_buffer."
    "TFUniformReplayBuffer",
    ("driver", "step"): "tf_agents.drivers.dynamic_step_driver.DynamicStepDriver",
    ("driver", "episode"): "tf_agents.drivers.dynamic_episode_driver.DynamicEpisodeDriver",
}

# What any option of a group must build (so options added later are checked too).
GROUP_BASES = {
    "env": "tf_agents.environments.tf_environment.TFEnvironment",
    "network": "tf_agents.networks.network.Network",
    "agent": "tf_agents.agents.tf_agent.TFAgent",
    "buffer": "tf_agents.replay_buffers.replay_buffer.ReplayBuffer",
    "driver": "tf_agents.drivers.driver.Driver",
}


def resolve(path: str) -> type:
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_registry_has_every_group_and_the_builtin_options():
    assert {group for group, _ in REGISTERED} == set(registry.GROUPS)
    assert set(EXACT_TYPES) <= set(REGISTERED), "a built-in option is no longer registered"


@pytest.mark.parametrize(("group", "name"), REGISTERED, ids=[f"{g}={n}" for g, n in REGISTERED])
def test_compose_and_build_every_option(group: str, name: str):
    import tensorflow as tf

    from rlexp.training.trainer import build_components

    # Few steps per collect call: the driver is run once below, eagerly.
    cfg = compose_config([f"{group}={name}", "train.collect_steps_per_iteration=16"])
    assert cfg[group].name == name

    ctx, driver = build_components(cfg)
    built = {
        "env": ctx.env,
        "network": ctx.network,
        "agent": ctx.agent,
        "buffer": ctx.buffer,
        "driver": driver,
    }
    for g, obj in built.items():
        assert isinstance(obj, resolve(GROUP_BASES[g])), f"{g} built {type(obj)!r}"
    if (group, name) in EXACT_TYPES:
        expected = resolve(EXACT_TYPES[(group, name)])
        assert type(built[group]) is expected, f"{group}={name} built {type(built[group])!r}"

    counter = ctx.agent.train_step_counter
    assert isinstance(counter, tf.Variable)
    assert counter.dtype == tf.int64
    assert counter is ctx.train_step_counter
    assert int(counter.numpy()) == 0

    # The driver is wired to the built env, the collect policy and the replay buffer.
    assert driver.env is ctx.env
    assert driver.policy is ctx.agent.collect_policy
    assert int(ctx.buffer.num_frames()) == 0
    driver.run()
    assert int(ctx.buffer.num_frames()) > 0


def test_experiment_preset_applies():
    cfg = compose_config(["experiment=seed_notebook"])
    assert cfg.agent.gamma == pytest.approx(0.95)
    assert cfg.agent.td_errors_loss_fn == "mse"
    assert cfg.agent.target_update_period == 50
    assert cfg.buffer.max_length == 10000
    assert cfg.buffer.sample_batch_size == 128
    assert list(cfg.network.fc_layer_params) == [75, 40]
    assert cfg.agent.epsilon_greedy.decay_steps == 1600
    assert cfg.agent.epsilon_greedy.final == 0.0
    assert cfg.train.prefill_steps == 1000


def test_command_line_overrides_win_over_the_preset():
    cfg = compose_config(["experiment=seed_notebook", "agent.gamma=0.9", "buffer.max_length=500"])
    assert cfg.agent.gamma == pytest.approx(0.9)
    assert cfg.buffer.max_length == 500
    assert cfg.agent.target_update_period == 50  # the rest of the preset still applies
