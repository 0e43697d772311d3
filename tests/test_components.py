"""Every registered (group, option) composes, builds into the expected TF-Agents objects,
collects a few hundred env steps through the trainer's collect call and trains a step."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, ROOT, collect_env_steps
from omegaconf import OmegaConf

from rlexp import registry
from rlexp.composition import compose_config
from rlexp.extras import EXTRAS

registry.load_builtins()
REGISTERED = [(c.group, c.name) for c in registry.components()]
COLLECT_STEPS = 200

# Exact classes of the built-in options, by import path (resolved lazily: TF is slow to import).
EXACT_TYPES = {
    ("env", "cartpole"): "tf_agents.environments.tf_py_environment.TFPyEnvironment",
    ("env", "card_game"): "tf_agents.environments.tf_py_environment.TFPyEnvironment",
    ("env", "cartpole_tf"): "rlexp.envs.cartpole_tf_env.CartPoleTFEnvironment",
    ("network", "q_network"): "tf_agents.networks.q_network.QNetwork",
    ("network", "nature_q_network"): "tf_agents.networks.q_network.QNetwork",
    ("agent", "dqn"): "tf_agents.agents.dqn.dqn_agent.DqnAgent",
    ("agent", "ddqn"): "tf_agents.agents.dqn.dqn_agent.DdqnAgent",
    ("agent", "c51"): "tf_agents.agents.categorical_dqn.categorical_dqn_agent.CategoricalDqnAgent",
    ("agent", "reinforce"): "tf_agents.agents.reinforce.reinforce_agent.ReinforceAgent",
    ("agent", "ppo"): "tf_agents.agents.ppo.ppo_clip_agent.PPOClipAgent",
    ("agent", "sac"): "tf_agents.agents.sac.sac_agent.SacAgent",
    ("network", "categorical_q_network"): "tf_agents.networks.categorical_q_network."
    "CategoricalQNetwork",
    ("network", "q_rnn_network"): "tf_agents.networks.q_rnn_network.QRnnNetwork",
    ("network", "actor_distribution_network"): "tf_agents.networks.actor_distribution_network."
    "ActorDistributionNetwork",
    ("network", "actor_distribution_rnn_network"): "tf_agents.networks."
    "actor_distribution_rnn_network.ActorDistributionRnnNetwork",
    ("network", "sac_actor_network"): "tf_agents.networks.actor_distribution_network."
    "ActorDistributionNetwork",
    ("buffer", "tf_uniform"): "tf_agents.replay_buffers.tf_uniform_replay_buffer."
    "TFUniformReplayBuffer",
    ("buffer", "py_uniform"): "tf_agents.replay_buffers.py_uniform_replay_buffer."
    "PyUniformReplayBuffer",
    ("buffer", "reverb_uniform"): "tf_agents.replay_buffers.reverb_replay_buffer."
    "ReverbReplayBuffer",
    ("buffer", "reverb_prioritized"): "tf_agents.replay_buffers.reverb_replay_buffer."
    "ReverbReplayBuffer",
    ("driver", "step"): "tf_agents.drivers.dynamic_step_driver.DynamicStepDriver",
    ("driver", "episode"): "tf_agents.drivers.dynamic_episode_driver.DynamicEpisodeDriver",
    ("driver", "py"): "tf_agents.drivers.py_driver.PyDriver",
    ("driver", "fused"): "tf_agents.drivers.dynamic_step_driver.DynamicStepDriver",
}

# What any option of a group must build (so options added later are checked too).
GROUP_BASES = {
    "env": "tf_agents.environments.tf_environment.TFEnvironment",
    "network": "tf_agents.networks.network.Network",
    "agent": "tf_agents.agents.tf_agent.TFAgent",
    "buffer": "tf_agents.replay_buffers.replay_buffer.ReplayBuffer",
    "driver": "tf_agents.drivers.driver.Driver",
}

# Options that need company to train with the default DQN: the rest of the config they go in.
COMPANIONS = {
    ("env", "gym"): ["env.gym_id=Acrobot-v1"],
    ("env", "pendulum"): ["env.wrappers=[{name: ActionDiscretizeWrapper, num_actions: 3}]"],
    ("wrapper", "ActionDiscretizeWrapper"): ["env=pendulum"],
    ("wrapper", "ActionClipWrapper"): [
        "env=pendulum",
        "env.wrappers=[{name: ActionClipWrapper}, {name: ActionDiscretizeWrapper}]",
    ],
    ("wrapper", "TimeLimit"): ["env=cartpole", "env.wrappers=[{name: TimeLimit, duration: 20}]"],
    # Python envs' companions (the default env is the native TF cartpole_tf).
    ("wrapper", "HistoryWrapper"): ["env=cartpole"],
    ("wrapper", "RunStats"): ["env=cartpole"],
    ("buffer", "py_uniform"): ["env=cartpole"],
    ("driver", "py"): ["env=cartpole"],
    ("wrapper", "FlattenObservationsWrapper"): ["plugins=[target_line]", "env=target_line"],
    ("agent", "sac"): ["env=pendulum"],
    ("network", "categorical_q_network"): ["agent=c51"],
    ("network", "q_rnn_network"): ["agent.train_sequence_length=3", "agent.n_step_update=1"],
    ("network", "actor_distribution_network"): ["agent=reinforce"],
    ("network", "actor_distribution_rnn_network"): ["agent=ppo"],
    ("network", "sac_actor_network"): ["agent=sac", "env=pendulum"],
    ("network", "value_network"): ["agent=ppo"],
    ("network", "critic_network"): ["agent=sac", "env=pendulum"],
    # The standard suites (tests/test_suites.py tests them further).
    ("env", "atari"): ["network=nature_q_network", "env.max_episode_frames=2000"],
    ("network", "nature_q_network"): ["env=atari", "env.max_episode_frames=2000"],
    ("env", "minatar"): ["network.conv_layer_params=[[4,3,1]]", "network.fc_layer_params=[16]"],
    ("env", "dm_control"): ["agent=sac", "network=sac_actor_network"],
}
# Second networks: an agent's sub-node composed from the network option, not `network=`.
SUB_NODES = {
    ("network", "value_network"): "agent.value_network",
    ("network", "critic_network"): "agent.critic_network",
}


def option_overrides(group: str, name: str) -> list[str]:
    """Overrides that select (group, name): a wrapper is selected by listing it."""
    extra = COMPANIONS.get((group, name), [])
    if (group, name) in SUB_NODES:
        return extra
    if group not in registry.CONFIG_GROUPS:
        listed = any(o.startswith("env.wrappers=") for o in extra)
        return extra if listed else [*extra, f"env.wrappers=[{{name: {name}}}]"]
    return [f"{group}={name}", *extra]


def needs_extra(group: str, name: str):
    """A skip mark when the option needs an optional extra that is not installed."""
    component = registry.get(group, name)
    extra = EXTRAS.get(getattr(component.schema, "requires_extra", None) or "")
    if extra is None:
        return []
    reason = f"the optional '{extra.name}' extra is not installed ({extra.install_command()})"
    return [pytest.mark.skipif(not extra.installed(), reason=reason)]


PARAMS = [
    pytest.param(group, name, marks=needs_extra(group, name), id=f"{group}={name}")
    for group, name in REGISTERED
]


def resolve(path: str) -> type:
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_registry_has_every_group_and_the_builtin_options():
    assert {group for group, _ in REGISTERED} == set(registry.GROUPS)
    assert set(EXACT_TYPES) <= set(REGISTERED), "a built-in option is no longer registered"


@pytest.mark.parametrize(("group", "name"), PARAMS)
def test_compose_and_build_every_option(group: str, name: str, monkeypatch):
    import tensorflow as tf

    from rlexp import buffers
    from rlexp.training.build import build_components

    monkeypatch.syspath_prepend(str(EXAMPLES))  # the example plugins some companions use
    cfg = compose_config(option_overrides(group, name))
    if "num_steps" in cfg.driver:  # a step driver (an episode driver collects whole episodes)
        cfg.driver.num_steps = COLLECT_STEPS
    if (group, name) in SUB_NODES:
        assert OmegaConf.select(cfg, SUB_NODES[(group, name)]).name == name
    elif group in registry.CONFIG_GROUPS:
        assert cfg[group].name == name
    else:
        assert name in [entry.name for entry in cfg.env.wrappers]

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

    # The driver is wired to the built env (a py driver to the Python env inside it), the
    # collect policy and the replay buffer.
    assert driver.env in (ctx.env, getattr(ctx.env, "pyenv", None))
    assert getattr(driver.policy, "_policy", driver.policy) is ctx.agent.collect_policy
    assert buffers.observer(ctx.buffer) in driver.observers

    # A few hundred env steps through the trainer's collect call, counted by a TF metric
    # observer as the trainer counts them, then one train step on them as the trainer takes
    # it: all of them for an on-policy agent, else a replay sample.
    collect_env_steps(ctx, driver, COLLECT_STEPS)
    if getattr(ctx.agent_config, "on_policy", False):
        loss_info = ctx.agent.train(ctx.buffer.gather_all())
    else:
        length = ctx.agent.train_sequence_length or getattr(
            ctx.agent_config, "train_sequence_length", None
        )
        dataset = buffers.dataset(ctx.buffer, OmegaConf.to_object(cfg.buffer), length)
        loss_info = buffers.train(ctx.buffer, ctx.agent, next(iter(dataset)))
    assert bool(tf.math.is_finite(loss_info.loss))
    # One train call: one gradient step, or PPO's num_epochs of them.
    assert int(counter.numpy()) == getattr(ctx.agent_config, "num_epochs", 1)


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


@pytest.mark.parametrize(
    "preset", sorted(p.stem for p in (ROOT / "rlexp" / "conf" / "experiment").glob("*.yaml"))
)
def test_every_experiment_preset_composes_and_validates(preset):
    from rlexp.validation import validate

    cfg = compose_config([f"experiment={preset}"])
    validate(cfg)  # raises ConfigError naming the problem
    assert cfg.train.env_steps > 0


def test_command_line_overrides_win_over_the_preset():
    cfg = compose_config(["experiment=seed_notebook", "agent.gamma=0.9", "buffer.max_length=500"])
    assert cfg.agent.gamma == pytest.approx(0.9)
    assert cfg.buffer.max_length == 500
    assert cfg.agent.target_update_period == 50  # the rest of the preset still applies


def test_observations_of_several_dtypes_are_not_sent_to_the_flattening_wrapper():
    """HistoryWrapper's include_actions on CartPole: float32 observations, int64 actions,
    which FlattenObservationsWrapper cannot join; the hint says so and what to change."""
    from rlexp.context import BuildContext, BuildError
    from rlexp.training.build import build

    wrapped = "env.wrappers=[{name: HistoryWrapper, include_actions: true}]"
    cfg = compose_config(["env=cartpole", wrapped, "network=q_network", "agent=dqn"])
    context = BuildContext(seed=0)
    context.env = build("env", cfg.env, context)
    context.agent_config = OmegaConf.to_object(cfg.agent)
    with pytest.raises(BuildError) as refused:
        build("network", cfg.network, context)
    message = str(refused.value)
    assert "FlattenObservationsWrapper}]" not in message
    assert (
        "the env observes several arrays (observation, action) but network=q_network takes "
        "one; the env's observation arrays have different dtypes (observation: float32, "
        "action: int64): FlattenObservationsWrapper joins arrays of one dtype only"
    ) in message
    assert "include_actions=false" in message


def test_a_dict_observation_the_network_cannot_take_points_to_the_flattening_wrapper():
    """QNetwork refuses a dict of observations ("preprocessing_combiner layer is required");
    no network setting fixes that, the env's FlattenObservationsWrapper does."""
    import numpy as np
    import tensorflow as tf
    from tf_agents.environments import tf_environment
    from tf_agents.specs import tensor_spec
    from tf_agents.trajectories import time_step as ts

    from rlexp.context import BuildContext, BuildError
    from rlexp.training.build import build

    class DictObservations(tf_environment.TFEnvironment):
        def __init__(self):
            observations = {
                key: tensor_spec.BoundedTensorSpec((1,), tf.float32, 0.0, 1.0)
                for key in ("position", "target")
            }
            action = tensor_spec.BoundedTensorSpec((), tf.int64, np.int64(0), np.int64(1))
            super().__init__(ts.time_step_spec(observations), action)

        def _current_time_step(self):
            raise AssertionError("not stepped")

        _reset = _step = _current_time_step

    cfg = compose_config(["env=cartpole", "network=q_network", "agent=dqn"])
    context = BuildContext(seed=0, env=DictObservations())
    context.agent_config = OmegaConf.to_object(cfg.agent)
    with pytest.raises(BuildError) as refused:
        build("network", cfg.network, context)
    assert (
        "the env observes several arrays (position, target) but network=q_network takes one: "
        "flatten them with 'env.wrappers=[{name: FlattenObservationsWrapper}]'"
    ) in str(refused.value)
