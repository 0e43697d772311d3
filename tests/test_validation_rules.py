"""Combination rules of `rlexp.validation` that count what a run holds when: the first replay
sample against the steps each env copy has by then, the budget in whole batches of env
copies, prioritized replay against the agent's TD errors; and every fix a message suggests
is itself accepted."""

from __future__ import annotations

import json
import re

import pytest

from rlexp.composition import compose_config
from rlexp.validation import ConfigError

# "raise train.prefill_steps to 2704 and train.env_steps to 2705", "lower env.num_... to 4"
NUMERIC_FIX = re.compile(r"(?:raise|lower) ([\w.]+) to (\d+)(?: and ([\w.]+) to (\d+))?")


def problems(overrides: list[str]) -> list[str]:
    try:
        compose_config(overrides)
    except ConfigError as exc:
        return exc.problems
    return []


def numeric_fixes(problem: str) -> list[list[str]]:
    """The overrides of each "raise/lower KEY to N" fix after the problem's semicolon."""
    fixes = problem.split("; ", 1)[1]
    return [
        [f"{m[1]}={m[2]}"] + ([f"{m[3]}={m[4]}"] if m[3] else [])
        for m in NUMERIC_FIX.finditer(fixes)
    ]


def assert_fixes_are_accepted(overrides: list[str], at_least: int = 1) -> None:
    """The config has one problem; each numeric fix it suggests makes it valid."""
    found = problems(overrides)
    assert len(found) == 1, found
    fixes = numeric_fixes(found[0])
    assert len(fixes) >= at_least, found[0]
    for fix in fixes:
        assert problems(overrides + fix) == [], (fix, found[0])


# The counts below are worked out for these: 1000 prefill steps over 16 copies are 63
# batches, a 512-step collect 32: 95 steps per copy when the first train step samples.
COPIES, COLLECT = "env.num_parallel_envs=16", "driver.num_steps=512"
SHORT_FIRST_SAMPLE = [
    pytest.param(
        [COPIES, COLLECT, "agent.n_step_update=200", "train.env_steps=3000"], 95, id="n-step-200"
    ),
    pytest.param(
        [COPIES, "train.prefill_steps=0", "driver.num_steps=16", "train.env_steps=2000"],
        1,
        id="no-prefill",
    ),
    pytest.param([COPIES, COLLECT, "agent.n_step_update=95"], 95, id="one-step-short"),
]


@pytest.mark.parametrize(("overrides", "frames"), SHORT_FIRST_SAMPLE)
def test_a_sequence_longer_than_the_first_sample_holds_is_refused(overrides, frames):
    found = problems(overrides)
    assert len(found) == 1, found
    assert f"as few as {frames} step" in found[0], found[0]
    for key in ("agent.n_step_update=", "train.prefill_steps=", "driver.num_steps="):
        assert key in found[0], found[0]
    assert "env.num_parallel_envs=16" in found[0], found[0]


@pytest.mark.parametrize(("overrides", "frames"), SHORT_FIRST_SAMPLE)
def test_the_first_sample_fixes_are_accepted(overrides, frames):
    assert_fixes_are_accepted(overrides, at_least=2)


def test_the_first_sample_counts_whole_batches_and_one_step_per_episode_iteration():
    assert problems([COPIES, COLLECT, "agent.n_step_update=94"]) == []
    # An episode driver's iteration can end after one step: the prefill must hold the rest.
    assert problems(["env=cartpole", "driver=episode", "train.prefill_steps=3"]) == []
    found = problems(["env=cartpole", "driver=episode", "train.prefill_steps=2"])
    assert len(found) == 1 and "raise train.prefill_steps to 3" in found[0], found
    # SAC trains on 2-step transitions.
    sac = ["experiment=sac_pendulum", "train.prefill_steps=0", "driver.num_steps=1"]
    assert len(problems(sac)) == 1
    assert problems(sac + ["driver.num_steps=2"]) == []


def test_the_boundary_of_the_first_sample_trains(cli, tmp_path):
    """The longest accepted sequence trains, in TF's graph mode, where TF-Agents asserts
    that the sampled id range is not empty (XLA drops that assert)."""
    run_dir = tmp_path / "run"
    result = cli(
        "train",
        COPIES,
        COLLECT,
        "agent.n_step_update=94",
        "train.env_steps=2000",
        "train.jit_compile=false",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 0, result.describe()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["train_steps"] > 0, metrics


def test_the_budget_counts_whole_batches_of_env_copies():
    overrides = [
        "env.num_parallel_envs=4096",
        COLLECT,
        "buffer.max_length=300",
        "train.env_steps=2000",
    ]
    found = problems(overrides)
    prefill = [p for p in found if p.startswith("train.env_steps=2000 is not above")]
    collect = [p for p in found if p.startswith("driver.num_steps=512")]
    assert len(prefill) == 1 and len(collect) == 1, found
    assert "4096 env steps" in prefill[0] and "env.num_parallel_envs=4096" in prefill[0]
    # Its first fix clears every problem at once.
    first = numeric_fixes(prefill[0])[0]
    assert first == ["env.num_parallel_envs=256"], prefill[0]
    assert problems(overrides + first) == []


@pytest.mark.parametrize(
    "overrides",
    [
        ["env.num_parallel_envs=64", COLLECT, "train.env_steps=1000", "train.prefill_steps=990"],
        ["env.num_parallel_envs=64", "train.env_steps=2000", "driver.num_steps=1990"],
    ],
    ids=["prefill", "collect"],
)
def test_the_budget_fixes_are_accepted(overrides):
    assert_fixes_are_accepted(overrides, at_least=2)


def test_a_batch_larger_than_the_buffer_is_accepted():
    """Every buffer samples with replacement: a batch never needs as many items."""
    assert problems(["buffer.max_length=100", "buffer.sample_batch_size=128"]) == []


@pytest.mark.parametrize(
    ("overrides", "agent"),
    [
        (["agent=c51", "network=categorical_q_network", "env=cartpole", "driver=step"], "c51"),
        (["experiment=sac_pendulum"], "sac"),
        (
            [
                "env=cartpole",
                "driver=step",
                "network=q_rnn_network",
                "agent.train_sequence_length=10",
                "agent.n_step_update=1",
            ],
            "dqn",
        ),
    ],
    ids=["c51", "sac", "recurrent-dqn"],
)
def test_prioritized_replay_needs_an_agent_reporting_td_errors(overrides, agent):
    pytest.importorskip("reverb")
    found = problems(overrides + ["buffer=reverb_prioritized"])
    assert len(found) == 1, found
    assert f"agent={agent} reports none" in found[0], found[0]
    buffers = re.findall(r"buffer=(\w+)", found[0].split("; ", 1)[1])
    assert "reverb_uniform" in buffers and "reverb_prioritized" not in buffers, found[0]
    for buffer in buffers:
        assert problems(overrides + [f"buffer={buffer}"]) == [], buffer
    agents = re.findall(r"(agent=\w+(?: network=\w+)?)", found[0].split("reports them", 1)[-1])
    for choice in agents if "reports them" in found[0] else []:
        with_agent = [o for o in overrides if not o.startswith(("agent", "network"))]
        assert problems(with_agent + choice.split() + ["buffer=reverb_prioritized"]) == []
    assert problems(["env=cartpole", "driver=step", "buffer=reverb_prioritized"]) == []


@pytest.mark.parametrize("agent", ["ppo", "reinforce"])
def test_prioritized_replay_with_an_on_policy_agent_suggests_only_buffers_it_accepts(agent):
    pytest.importorskip("reverb")
    overrides = [f"agent={agent}", "network=actor_distribution_network", "env=cartpole"]
    found = problems([*overrides, "driver=episode", "buffer=reverb_prioritized"])
    sentence = next(p for p in found if "reports none" in p)
    buffers = re.findall(r"buffer=(\w+)", sentence.split("; ", 1)[1])
    assert buffers, sentence
    for buffer in buffers:
        assert problems([*overrides, "driver=episode", f"buffer={buffer}"]) == [], buffer


@pytest.mark.parametrize(
    "overrides",
    [
        ["agent=ppo", "network=q_network"],
        ["agent=reinforce", "env=cartpole", "driver=py"],
    ],
    ids=["network-for-the-agent", "agent-for-the-driver"],
)
def test_suggested_options_are_accepted(overrides):
    found = problems(overrides)
    assert len(found) == 1, found
    fixes = found[0].split("; ", 1)[1]
    choices = re.findall(r"((?:agent|network|driver)=\w+(?: network=\w+)?)", fixes)
    choices = [c for c in choices if not set(c.split()) <= set(overrides)]  # new options only
    assert len(choices) >= 2, found[0]
    for choice in choices:
        changed = {c.split("=")[0] for c in choice.split()}
        kept = [o for o in overrides if o.split("=")[0] not in changed]
        assert problems(kept + choice.split()) == [], (choice, found[0])
    assert "null" not in found[0]


@pytest.mark.parametrize("preset", [[], ["experiment=sac_pendulum"]], ids=["dqn", "sac"])
def test_a_reward_scale_factor_beyond_float32_is_refused(preset):
    """1e300 passed as finite, became inf as float32, and the run stopped on an inf loss
    blaming the learning rate."""
    found = problems(preset + ["agent.reward_scale_factor=1e300"])
    assert found == ["agent.reward_scale_factor=1e+300: must be >= -3.4e+38 and <= 3.4e+38"]
    assert problems(preset + ["agent.reward_scale_factor=3e38"]) == []


def test_a_recurrent_network_without_lstm_cells_is_refused():
    """`network.lstm_size=[]` passed validation and failed building with an IndexError."""
    overrides = ["agent=ppo", "network=actor_distribution_rnn_network"]
    found = problems(overrides + ["network.lstm_size=[]"])
    assert found == [
        "network.lstm_size=[]: a recurrent network needs at least one LSTM cell, e.g. [64]"
    ]
    assert problems(overrides + ["network.lstm_size=[64]"]) == []
