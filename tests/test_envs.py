"""Env options beyond "it builds": the tutorial's card game, the TF CartPole's equivalence with
gym's, the Gymnasium adapter, the spec check, wrappers from config and parallel env copies."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT

from rlexp.composition import compose_config
from rlexp.extras import EXTRAS

PLUGINS = ROOT / "tests" / "plugins"
needs_gymnasium = pytest.mark.skipif(
    not EXTRAS["gymnasium"].installed(),
    reason=f"gymnasium extra not installed ({EXTRAS['gymnasium'].install_command()})",
)


def build_env(overrides: list[str], seed: int = 0):
    """The TF env of a composed config, built by its registered builder."""
    from rlexp.context import BuildContext
    from rlexp.training.build import build

    if not any(o.startswith("env=") for o in overrides):
        overrides = ["env=cartpole", *overrides]  # the gym env these tests were written for
    cfg = compose_config(overrides)
    return build("env", cfg.env, BuildContext(seed=seed))


def unguarded(py_env):
    """The PyEnvironment inside rlexp's env guard (rlexp.envs.guard), which TF steps."""
    from rlexp.envs.guard import GuardedPyEnvironment

    return py_env.wrapped_env() if isinstance(py_env, GuardedPyEnvironment) else py_env


def inner_py_env(tf_env):
    """The (wrapped) PyEnvironment of a single-copy TFPyEnvironment."""
    return unguarded(tf_env.pyenv.envs[0])


# --- the card game --------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_card_game_plays_the_tutorials_fixed_policy(seed):
    """Three cards, then stop (the tutorial's policy); the episode follows the rules."""
    from tf_agents.trajectories.time_step import StepType

    from rlexp.envs.card_game_env import STOP, TAKE_CARD, CardGameEnv

    env = CardGameEnv(seed=seed)
    time_step = env.reset()
    assert time_step.step_type == StepType.FIRST
    assert time_step.observation.tolist() == [0] and time_step.reward == 0.0
    total, cards = float(time_step.reward), 0
    for _ in range(3):
        before = int(time_step.observation[0])
        time_step = env.step(np.array(TAKE_CARD, dtype=np.int32))
        total += float(time_step.reward)
        cards = int(time_step.observation[0])
        assert 1 <= cards - before <= 10, "a card is numbered 1..10"
        if time_step.is_last():  # 21 or more ends the round at once
            break
        assert time_step.step_type == StepType.MID
        assert time_step.reward == 0.0 and time_step.discount == 1.0
    if time_step.is_last():
        assert cards >= 21
        stop = env.step(np.array(STOP, dtype=np.int32))
        assert stop.step_type == StepType.FIRST, "the step after LAST starts a new round"
        assert stop.observation.tolist() == [0]
    else:
        time_step = env.step(np.array(STOP, dtype=np.int32))
        total += float(time_step.reward)
        assert time_step.step_type == StepType.LAST
        assert time_step.observation.tolist() == [cards]
    assert time_step.discount == 0.0
    assert total == (cards - 21 if cards <= 21 else -21)


def test_card_game_episodes_over_21_and_validation():
    from tf_agents.environments import utils

    from rlexp.envs.card_game_env import TAKE_CARD, CardGameEnv

    env = CardGameEnv(seed=0)
    utils.validate_py_environment(env, episodes=5)
    env.reset()
    time_step = env.step(np.array(TAKE_CARD, dtype=np.int32))
    while not time_step.is_last():  # always take: the sum passes 21 or hits it
        time_step = env.step(np.array(TAKE_CARD, dtype=np.int32))
    total = int(time_step.observation[0])
    assert total >= 21
    assert float(time_step.reward) == (0.0 if total == 21 else -21.0)


def test_card_game_option_is_seeded():
    def cards(seed):
        env = inner_py_env(build_env(["env=card_game"], seed=seed))
        env.reset()
        return [int(env.step(np.array(0, np.int32)).observation[0]) for _ in range(2)]

    tf_env = build_env(["env=card_game"])
    assert tf_env.action_spec().dtype.name == "int32"
    assert tuple(tf_env.observation_spec().shape) == (1,)
    assert cards(5) == cards(5)
    assert len({tuple(cards(seed)) for seed in range(6)}) > 1


# --- cartpole_tf against gym's CartPole-v1 --------------------------------------------


def lockstep(policy, steps: int, seed: int = 7):
    """Step suite_gym's CartPole-v1 and CartPoleTFEnvironment with the same actions.

    Whenever gym starts an episode, its initial state is copied into the TF env (the two
    draw initial states from different generators); everything else is compared.
    """
    import tensorflow as tf
    from tf_agents.environments import suite_gym

    from rlexp.envs.cartpole_tf_env import CartPoleTFEnvironment

    py_env = suite_gym.load("CartPole-v1")
    py_env.seed(seed)
    tf_env = CartPoleTFEnvironment(batch_size=1, seed=0)
    step = tf.function(tf_env.step)

    def sync():
        tf_env.set_state(np.asarray(py_env.gym.unwrapped.state, dtype=np.float64)[None])
        return tf_env.current_time_step()

    py_step, tf_step = py_env.reset(), (tf_env.reset(), sync())[1]
    records = []
    for _ in range(steps):
        action = policy(py_step.observation)
        py_step = py_env.step(np.array(action, dtype=np.int64))
        tf_step = step(tf.constant([action], dtype=tf.int64))
        assert int(tf_step.step_type[0]) == int(py_step.step_type), records[-3:]
        if py_step.is_first():
            assert np.all(np.abs(tf_step.observation.numpy()) <= 0.05)  # its own reset
            tf_step = sync()
        records.append(
            (
                int(py_step.step_type),
                float(py_step.reward),
                float(tf_step.reward[0]),
                float(py_step.discount),
                float(tf_step.discount[0]),
                py_step.observation,
                tf_step.observation.numpy()[0],
            )
        )
    return records


def test_cartpole_tf_matches_gym_cartpole_for_500_steps():
    rng = np.random.default_rng(0)
    records = lockstep(lambda observation: int(rng.integers(2)), 500)
    step_types = [r[0] for r in records]
    assert step_types.count(2) >= 5, "several terminations"
    resets = [i for i in range(1, len(step_types)) if step_types[i - 1] == 2]
    assert resets and all(step_types[i] == 0 for i in resets), "LAST is followed by FIRST"
    for _, py_reward, tf_reward, py_discount, tf_discount, py_obs, tf_obs in records:
        assert tf_reward == py_reward and tf_discount == py_discount
        np.testing.assert_allclose(tf_obs, py_obs, rtol=0, atol=1e-5)
    terminal = [r for r in records if r[0] == 2]
    assert all(r[3] == 0.0 for r in terminal), "termination has discount 0"


def test_cartpole_tf_time_limit_matches_gym():
    """A balancing controller reaches the 500-step limit: LAST, then FIRST. Gym 0.23's
    TimeLimit reports `done`, so suite_gym (and the TF env by default) give discount 0."""

    def balance(observation):
        x, x_dot, theta, theta_dot = observation
        return int(theta + 0.1 * theta_dot + 0.01 * x + 0.05 * x_dot > 0)

    records = lockstep(balance, 510, seed=0)
    step_types = [r[0] for r in records]
    assert step_types.index(2) == 499, "the first episode lasts 500 steps"
    assert records[499][3] == records[499][4] == 0.0
    assert step_types[500] == 0
    for _, py_reward, tf_reward, _, _, py_obs, tf_obs in records:
        assert tf_reward == py_reward
        np.testing.assert_allclose(tf_obs, py_obs, rtol=0, atol=1e-5)


def _episode_length(py_env, action, cap: int = 700):
    """Steps until LAST under a constant `action` (`cap` if none), and the last discount."""
    time_step, steps = py_env.reset(), 0
    while not time_step.is_last() and steps < cap:
        time_step, steps = py_env.step(action), steps + 1
    return steps, float(time_step.discount)


@pytest.mark.parametrize(
    ("limit", "length", "discount"),
    [(None, 200, 0.0), (0, 700, 1.0), (300, 300, 0.0), (50, 50, 0.0)],
)
def test_gym_max_episode_steps_replaces_the_spec_limit(limit, length, discount):
    """null keeps Pendulum-v1's 200 steps; 0 removes it; N lengthens or shortens it, ending
    the episode as the spec's limit does (discount 0, as suite_gym's)."""
    from rlexp.envs.gym_suite import GymEnvConfig, load_gym

    cfg = GymEnvConfig(name="pendulum", gym_id="Pendulum-v1", max_episode_steps=limit)
    no_torque = np.array([0.0], dtype=np.float32)  # Pendulum never terminates by itself
    assert _episode_length(load_gym(cfg, seed=0), no_torque) == (length, discount)


@needs_gymnasium
def test_gymnasium_max_episode_steps_can_lengthen_episodes():
    from rlexp.envs.gymnasium_suite import GymnasiumEnvConfig, make_gymnasium_env

    cfg = GymnasiumEnvConfig(name="gymnasium", gym_id="Pendulum-v1", max_episode_steps=300)
    no_torque = np.array([0.0], dtype=np.float32)
    assert _episode_length(make_gymnasium_env(cfg, seed=0), no_torque) == (300, 1.0)


def test_cartpole_tf_can_bootstrap_on_the_time_limit():
    import tensorflow as tf

    from rlexp.envs.cartpole_tf_env import CartPoleTFEnvironment

    env = CartPoleTFEnvironment(max_episode_steps=3, bootstrap_on_time_limit=True, seed=0)
    step = tf.function(env.step)
    for action in (0, 1, 0):
        time_step = step(tf.constant([action], tf.int64))
    assert int(time_step.step_type[0]) == 2 and float(time_step.discount[0]) == 1.0


def test_cartpole_tf_carts_are_independent():
    import tensorflow as tf

    from rlexp.envs.cartpole_tf_env import CartPoleTFEnvironment

    env = CartPoleTFEnvironment(batch_size=4, seed=1)
    first = env.reset().observation.numpy()
    assert len({tuple(row) for row in first}) == 4, "each cart starts from its own state"
    step = tf.function(env.step)
    push_left = tf.constant([0, 0, 0, 0], tf.int64)
    lengths = [0] * 4
    for _ in range(60):
        time_step = step(push_left)
        for i, kind in enumerate(time_step.step_type.numpy()):
            lengths[i] += kind != 0
    # Every cart fell and restarted on its own schedule; none is stuck in LAST.
    assert all(length > 0 for length in lengths)
    assert set(env.current_time_step().step_type.numpy()) <= {0, 1, 2}


# --- the Gymnasium adapter ------------------------------------------------------------


@needs_gymnasium
def test_gymnasium_adapter_specs_termination_and_truncation():
    from tf_agents.environments import utils
    from tf_agents.trajectories.time_step import StepType

    from rlexp.envs.gymnasium_suite import GymnasiumEnvConfig, make_gymnasium_env

    env = make_gymnasium_env(GymnasiumEnvConfig(name="gymnasium", max_episode_steps=5), seed=3)
    assert env.action_spec().dtype == np.int64 and env.action_spec().maximum == 1
    assert env.observation_spec().shape == (4,) and env.observation_spec().dtype == np.float32
    utils.validate_py_environment(env, episodes=3)

    steps = [env.reset()]
    for action in (0, 1, 0, 1, 0):  # wobbles, does not fall in 5 steps
        steps.append(env.step(np.array(action, dtype=np.int64)))
    assert [int(s.step_type) for s in steps] == [0, 1, 1, 1, 1, 2]
    assert steps[-1].discount == 1.0, "a time limit truncates: discount stays 1"

    env = make_gymnasium_env(GymnasiumEnvConfig(name="gymnasium"), seed=3)
    steps = [env.reset()]
    while not steps[-1].is_last():  # always push left: the pole falls
        steps.append(env.step(np.array(0, dtype=np.int64)))
    assert steps[-1].discount == 0.0 and len(steps) < 50, "a termination has discount 0"
    assert env.step(np.array(0, dtype=np.int64)).step_type == StepType.FIRST


@needs_gymnasium
def test_gymnasium_seeding_and_continuous_spaces():
    from rlexp.envs.gymnasium_suite import GymnasiumEnvConfig, make_gymnasium_env

    first = [
        make_gymnasium_env(GymnasiumEnvConfig(name="gymnasium"), seed=11).reset().observation
        for _ in range(2)
    ]
    np.testing.assert_array_equal(first[0], first[1])
    pendulum = make_gymnasium_env(GymnasiumEnvConfig(name="gymnasium", gym_id="Pendulum-v1"), 0)
    spec = pendulum.action_spec()
    assert spec.shape == (1,) and spec.dtype == np.float32
    assert float(spec.minimum) == -2.0 and float(spec.maximum) == 2.0


# --- the spec check -------------------------------------------------------------------


def test_invalid_plugin_env_shows_the_spec_error(monkeypatch):
    from rlexp.envs.spec_check import EnvSpecError
    from rlexp.training.build import build_components

    monkeypatch.syspath_prepend(str(PLUGINS))
    cfg = compose_config(["plugins=[spec_violating_env]", "env=spec_violating"])
    assert cfg.env.validate_py_environment, "on by default for plugin envs"
    with pytest.raises(EnvSpecError) as info:
        build_components(cfg)
    message = str(info.value)
    assert "env=spec_violating" in message
    assert "observation: expected ArraySpec(shape=(2,), dtype=dtype('float32')" in message
    assert "(dtype float64, shape (2,))" in message
    # The same env builds when the check is switched off.
    cfg = compose_config(
        ["plugins=[spec_violating_env]", "env=spec_violating", "env.validate_py_environment=false"]
    )
    build_components(cfg)


def test_spec_error_through_the_cli(cli, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    run_dir = tmp_path / "run"
    result = cli(
        "train", "plugins=[spec_violating_env]", "env=spec_violating", f"hydra.run.dir={run_dir}"
    )
    assert result.code == 2, result.describe()
    assert "violates its spec" in result.err and "observation: expected" in result.err
    assert not run_dir.exists()
    assert "Traceback" not in result.err


# --- wrappers from config -------------------------------------------------------------


def test_wrappers_apply_in_order_with_their_arguments():
    from tf_agents.environments import wrappers

    tf_env = build_env(
        [
            "env=pendulum",
            "env.wrappers=[{name: ActionClipWrapper}, "
            "{name: ActionDiscretizeWrapper, num_actions: 7}, {name: RunStats}]",
        ]
    )
    outer = inner_py_env(tf_env)
    assert isinstance(outer, wrappers.RunStats)
    middle = outer.wrapped_env()
    assert isinstance(middle, wrappers.ActionDiscretizeWrapper)
    assert isinstance(middle.wrapped_env(), wrappers.ActionClipWrapper)
    assert int(tf_env.action_spec().maximum) == 6  # 7 discrete actions


def test_time_limit_and_history_wrappers():
    tf_env = build_env(
        ["env.wrappers=[{name: TimeLimit, duration: 7}, {name: HistoryWrapper, history_length: 4}]"]
    )
    assert tuple(tf_env.observation_spec().shape) == (4, 4)
    env = inner_py_env(tf_env)
    env.reset()
    lengths, length = [], 0
    while len(lengths) < 3:
        time_step = env.step(np.array(0, dtype=np.int64))
        length += 1
        if time_step.is_last():
            lengths.append(length)
            env.step(np.array(0, dtype=np.int64))
            length = 0
    assert max(lengths) <= 7


@pytest.mark.parametrize(
    ("wrappers", "message"),
    [
        (
            "[{name: FlattenObservationsWrapper}]",
            "env.wrappers[0] (FlattenObservationsWrapper): FlattenObservationsWrapper flattens "
            "a dict observation, and the env observes one array; remove the wrapper",
        ),
        (
            "[{name: HistoryWrapper, include_actions: true}, {name: FlattenObservationsWrapper}]",
            "env.wrappers[1] (FlattenObservationsWrapper): the env's observation arrays have "
            "different dtypes (observation: float32, action: int64): FlattenObservationsWrapper "
            "joins arrays of one dtype only",
        ),
    ],
    ids=["one-array", "mixed-dtypes"],
)
def test_flatten_observations_wrapper_says_what_it_cannot_flatten(wrappers, message):
    from rlexp.context import BuildError

    with pytest.raises(BuildError, match=re.escape(message)):
        build_env([f"env.wrappers={wrappers}"])


def test_pendulum_discrete_defaults_to_five_actions():
    tf_env = build_env(["env=pendulum_discrete"])
    spec = tf_env.action_spec()
    assert (int(spec.minimum), int(spec.maximum)) == (0, 4)
    tf_env = build_env(["env=pendulum_discrete", "env.num_actions=3"])
    assert int(tf_env.action_spec().maximum) == 2


def test_user_wrapper_from_a_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    tf_env = build_env(
        [
            "plugins=[target_line]",
            "env=target_line",
            "env.wrappers=[{name: FlattenObservationsWrapper}, {name: RewardScale, factor: 0.5}]",
        ]
    )
    assert tuple(tf_env.observation_spec().shape) == (2,)  # the dict, flattened
    env = inner_py_env(tf_env)
    env.reset()
    rewards = {round(float(env.step(np.array(1, np.int64)).reward), 6) for _ in range(30)}
    assert rewards <= {0.0, -0.025, 0.5}, rewards  # -0.05 and 1.0, halved
    assert -0.025 in rewards


def test_user_wrapper_is_listed(run_cli):
    result = run_cli("list", "wrapper", "plugins=[target_line]", cwd=EXAMPLES)
    assert result.code == 0, result.describe()
    assert "RewardScale" in result.out and "multiplier of every reward" in result.out


# --- parallel env copies --------------------------------------------------------------


def test_copy_seeds():
    from rlexp.envs.pipeline import copy_seeds

    seeds = copy_seeds(3, 4)
    assert seeds[0] == 3 and len(set(seeds)) == 4
    assert copy_seeds(3, 4) == seeds and copy_seeds(4, 4)[1:] != seeds[1:]


def test_batched_and_parallel_copies_are_seeded_alike():
    from tf_agents.environments import batched_py_environment, parallel_py_environment

    batched = build_env(["env.num_parallel_envs=3"], seed=2)
    assert isinstance(unguarded(batched.pyenv), batched_py_environment.BatchedPyEnvironment)
    assert batched.batch_size == 3
    first = batched.reset().observation.numpy()
    assert len({tuple(row) for row in first}) == 3, "each copy has its own seed"
    again = build_env(["env.num_parallel_envs=3"], seed=2).reset().observation.numpy()
    np.testing.assert_array_equal(first, again)
    single = build_env([], seed=2).reset().observation.numpy()
    np.testing.assert_array_equal(first[0], single[0])  # copy 0 is seeded as one env is

    parallel = build_env(["env.num_parallel_envs=3", "env.batching=parallel"], seed=2)
    try:
        assert isinstance(unguarded(parallel.pyenv), parallel_py_environment.ParallelPyEnvironment)
        np.testing.assert_array_equal(parallel.reset().observation.numpy(), first)
    finally:
        parallel.pyenv.close()


def test_parallel_copies_of_an_env_without_seed_name_what_it_needs(monkeypatch):
    from conftest import PLUGINS

    from rlexp.context import BuildContext, BuildError
    from rlexp.envs.pipeline import Batching, PyEnvConfig, build_tf_env
    from rlexp.tracking.seeding import reseed_env

    monkeypatch.syspath_prepend(str(PLUGINS))
    from unseedable_env import make_env

    cfg = PyEnvConfig(name="unseedable", num_parallel_envs=2, batching=Batching.parallel)
    env = build_tf_env(cfg, BuildContext(seed=0), make_env)
    try:
        with pytest.raises(BuildError, match=r"no seed\(seed\) method.*env\.batching=batched"):
            reseed_env(env, 3)
    finally:
        env.pyenv.close()
    batched = build_tf_env(
        PyEnvConfig(name="unseedable", num_parallel_envs=2), BuildContext(seed=0), make_env
    )
    reseed_env(batched, 3)  # copies in this process: left to the global seeds, as before
