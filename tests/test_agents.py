"""Agents beyond DQN: each trains a few steps from the CLI, each agent/network misfit named by
the issue fails at validation (before TensorFlow is imported), `rlexp list` documents them."""

from __future__ import annotations

import json
import re

import pytest

from rlexp import registry
from rlexp.composition import compose_config
from rlexp.validation import ConfigError

TINY = [
    "train.env_steps=120",
    "train.prefill_steps=40",
    "driver.num_steps=40",
    "train.train_steps_per_iteration=2",
    "train.eval_interval=120",
    "train.eval_episodes=1",
    "train.checkpoint_interval=120",
    "train.progress=false",
    "buffer.sample_batch_size=16",
]


# Every agent and network option also builds, collects and takes a train step in
# tests/test_components.py; these runs go through the whole trainer.
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(
            [
                "network=q_rnn_network",
                "network.lstm_size=[8]",
                "agent.train_sequence_length=3",
                "agent.n_step_update=1",
            ],
            id="dqn-q_rnn_network-sequence-replay",
        ),
    ],
)
def test_agent_trains_from_the_cli(cli, tmp_path, overrides):
    result = cli("train", *overrides, *TINY, f"hydra.run.dir={tmp_path}")
    assert result.code == 0, result.describe()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert metrics["env_steps"] >= 120
    assert metrics["train_steps"] > 0
    assert len(metrics["evaluations"]) >= 1


@pytest.mark.slow
def test_agent_ppo_alone_trains_on_whole_episodes_then_empties_the_buffer(cli, tmp_path):
    """`rlexp train agent=ppo` needs no other choice (network, driver come with it); each
    iteration of the 16 carts trains once on what it collected, and the buffer is empty
    afterwards. Several iterations: a later one can start with carts mid-episode."""
    import tensorflow as tf

    budget = ["train.env_steps=1500", "train.eval_interval=1500", "train.eval_episodes=1"]
    result = cli("train", "agent=ppo", *budget, "train.progress=false", f"hydra.run.dir={tmp_path}")
    assert result.code == 0, result.describe()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert metrics["train_steps"] >= 1
    # Whole episodes, no random prefill: one train call (num_epochs=10 gradient steps) per
    # collect iteration of one episode.
    assert metrics["train_steps"] % 10 == 0
    assert 2 <= metrics["train_steps"] // 10 <= metrics["episodes"]
    reader = tf.train.load_checkpoint(str(tmp_path / "checkpoints"))
    last_ids = [k for k in reader.get_variable_to_shape_map() if "last_id" in k]
    assert last_ids, "no replay buffer position in the checkpoint"
    assert all(int(reader.get_tensor(k)) == -1 for k in last_ids)  # cleared after training


def test_on_policy_agent_gets_its_network_and_driver_by_default():
    for agent in ("ppo", "reinforce"):
        cfg = compose_config([f"agent={agent}"])
        assert cfg.network.name == "actor_distribution_network"
        assert cfg.driver.name == "episode"
    cfg = compose_config(["agent=ppo", "agent.value_network.fc_layer_params=[32]"])
    assert list(cfg.agent.value_network.fc_layer_params) == [32]
    assert compose_config(["agent=c51"]).network.name == "categorical_q_network"
    assert compose_config(["agent=sac", "env=pendulum"]).network.name == "sac_actor_network"
    # A command-line choice still wins over the one the agent option makes.
    assert compose_config(["agent=ppo", "network.fc_layer_params=[8]"]).network.name == (
        "actor_distribution_network"
    )


# (overrides, what the message must name): both choices, and what would fit.
MISFITS = [
    pytest.param(
        ["agent=c51", "network=q_network"],
        [r"agent=c51\b", r"network=q_network\b", r"network=categorical_q_network\b"],
        id="c51-with-q_network",
    ),
    pytest.param(
        ["network=q_rnn_network"],
        [
            r"network=q_rnn_network\b",
            r"agent=dqn\b",
            r"buffer=tf_uniform\b",
            r"agent\.train_sequence_length\b",
            r"network=q_network\b",
            r"network=actor_distribution_rnn_network\b",
        ],
        id="rnn-network-with-transition-sampler",
    ),
    pytest.param(
        ["agent=sac", "env=pendulum", "network=actor_distribution_rnn_network"],
        [
            r"network=actor_distribution_rnn_network\b",
            r"agent=sac\b",
            r"network=sac_actor_network\b",
        ],
        id="rnn-actor-with-sac",
    ),
    pytest.param(
        ["agent=dqn", "env=pendulum"],
        [r"env=pendulum\b", r"agent=dqn\b", r"continuous", r"agent=sac\b", r"env=cartpole\b"],
        id="dqn-with-continuous-actions",
    ),
    pytest.param(
        ["agent=sac", "env=cartpole"],
        [r"env=cartpole\b", r"agent=sac\b", r"discrete", r"env=pendulum\b", r"agent=dqn\b"],
        id="sac-with-discrete-actions",
    ),
    pytest.param(
        ["agent=ppo", "driver=step"],
        [r"agent=ppo\b", r"driver=step\b", r"driver=episode\b"],
        id="on-policy-with-step-driver",
    ),
    pytest.param(
        ["agent=ppo", "buffer=py_uniform"],
        [r"agent=ppo\b", r"buffer=py_uniform\b", r"buffer=tf_uniform\b"],
        id="on-policy-with-replay-only-buffer",
    ),
    pytest.param(
        ["agent=ppo", "network=value_network"],
        [r"agent=ppo\b", r"network=value_network\b", r"agent\.value_network\b"],
        id="value-network-as-actor",
    ),
]


@pytest.mark.parametrize(("overrides", "patterns"), MISFITS)
def test_misfit_fails_at_validation_naming_both(overrides, patterns):
    with pytest.raises(ConfigError) as error:
        compose_config(overrides)
    message = str(error.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in:\n{message}"


def test_misfits_fail_without_importing_tensorflow(run_python):
    code = (
        "import sys\n"
        "from rlexp.composition import compose_config\n"
        "from rlexp.validation import ConfigError\n"
        "for o in (['agent=c51', 'network=q_network'], ['network=q_rnn_network'],\n"
        "          ['agent=sac'], ['env=pendulum']):\n"
        "    try:\n"
        "        compose_config(o)\n"
        "    except ConfigError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(f'{o} composed')\n"
        "assert 'tensorflow' not in sys.modules\n"
    )
    result = run_python(code)
    assert result.code == 0, result.describe()


@pytest.mark.parametrize("group", ["agent", "network"])
def test_list_documents_every_option_with_its_fields(cli, group):
    result = cli("list", group)
    assert result.code == 0, result.describe()
    for component in registry.components(group):
        assert re.search(
            rf"^  {re.escape(component.name)}\s+{re.escape(component.doc)}$", result.out, re.M
        ), component.name
    expected = {
        "agent": [
            "num_atoms",
            "min_q_value",
            "max_q_value",
            "num_epochs",
            "use_gae",
            "normalize_observations",
            "value_network.fc_layer_params",
            "critic_network.fc_layer_params",
            "target_update_tau",
            "normalize_returns",
        ],
        "network": [
            "fc_layer_params",
            "dropout_layer_params",
            "activation",
            "lstm_size",
            "observation_fc_layer_params",
        ],
    }[group]
    for key in expected:
        assert re.search(rf"^      {re.escape(key)}: ", result.out, re.M), key


@pytest.mark.parametrize(
    "experiment", ["default", "ppo_cartpole", "reinforce_cartpole", "sac_pendulum"]
)
def test_an_agents_train_step_is_traced_once(experiment):
    """Its optimizers' slots exist once it is built: a tf.function whose first trace creates
    variables is traced a second time (TF's rule), doubling the wait for a run's first
    iteration (PPO's 10 unrolled epochs: ~30 s)."""
    import tensorflow as tf
    from tf_agents.specs import tensor_spec

    from rlexp.training.build import build_components

    cfg = compose_config([] if experiment == "default" else [f"experiment={experiment}"])
    agent = build_components(cfg)[0].agent
    steps = agent.train_sequence_length or 5
    experience = tensor_spec.add_outer_dims_nest(agent.training_data_spec, (2, steps))
    traces = []

    def train(batch):
        traces.append(1)
        return agent.train(batch).loss

    tf.function(train, autograph=False).get_concrete_function(experience)
    assert len(traces) == 1
