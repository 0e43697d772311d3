"""Bad configs fail before anything is built: non-zero exit, a message naming the key and the
value (and the valid choices), no run directory left behind, and no TensorFlow import."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from rlexp.composition import compose_config
from rlexp.validation import ConfigError

# (overrides, regexes the error output must match). Word boundaries matter: "cartpol" is a
# prefix of "cartpole" and "adam" of "adamx".
BAD_CONFIGS = [
    pytest.param(
        ["agent.gama=0.9"],
        [r"agent\.gama=0\.9\b", r"did you mean agent\.gamma\?", r"valid keys: .*\bgamma\b"],
        id="misspelt-key",
    ),
    pytest.param(
        ["env.num_parallel_env=2"],
        [r"env\.num_parallel_env=2\b", r"did you mean env\.num_parallel_envs\?"],
        id="misspelt-key-of-an-option",
    ),
    pytest.param(
        ["env=gym", "env.id=CartPole-v1"],
        [r"env\.id=CartPole-v1\b", r"did you mean env\.gym_id\?"],
        id="part-of-a-key",
    ),
    pytest.param(
        ["env=atari", "env.name=Breakout-v5"],
        [
            r"env\.name=Breakout-v5: env 'Breakout-v5' has no registered builder",
            r"env\.name "
            r"is the option `env=<option>` selects; the gym or ALE id goes in env\.gym_id="
            r"Breakout-v5",
            r"^(?![\s\S]*observes images)",
        ],
        id="gym-id-as-the-option-name",
    ),
    pytest.param(["agent.gamma=abc"], [r"agent\.gamma\b", r"\babc\b"], id="wrong-type"),
    pytest.param(
        ["env=cartpol"], [r"\benv\b", r"\bcartpol\b", r"\bcartpole\b"], id="unknown-option"
    ),
    pytest.param(
        ["agent.optimizer=adamx"],
        [r"agent\.optimizer\b", r"\badamx\b", r"\badam\b", r"\brmsprop\b", r"\bsgd\b"],
        id="invalid-enum",
    ),
    pytest.param(["agent.gamma=1.5"], [r"agent\.gamma=1\.5\b"], id="gamma-above-1"),
    pytest.param(
        ["train.env_steps=200"],
        [r"train\.env_steps=200\b", r"train\.prefill_steps=1000\b", "without training"],
        id="budget-within-the-prefill",
    ),
    pytest.param(
        ["driver.num_steps=100000"],
        [r"driver\.num_steps=100000\b", r"train\.env_steps=56000\b", "whole budget"],
        id="iteration-above-the-budget",
    ),
    pytest.param(
        ["agent.learning_rate=0"], [r"agent\.learning_rate=0(\.0)?\b"], id="learning-rate-zero"
    ),
    # Sizes that would exhaust memory while building (the kernel killed the process, silently).
    pytest.param(
        ["env.num_parallel_envs=100000000"],
        [r"env\.num_parallel_envs=100000000\b", r"<= 1048576\b"],
        id="too-many-carts",
    ),
    pytest.param(
        ["env=cartpole", "env.num_parallel_envs=100000"],
        [r"env\.num_parallel_envs=100000\b", r"<= 4096\b"],
        id="too-many-python-envs",
    ),
    pytest.param(
        ["agent.n_step_update=1000000"],
        [r"agent\.n_step_update=1000000\b", r"buffer\.max_length=\d+", r"1000001 steps"],
        id="n-step-longer-than-the-buffer",
    ),
    pytest.param(
        ["train.eval_episodes=1000000000"],
        [r"train\.eval_episodes=1000000000\b", r"<= 1048576\b"],
        id="too-many-eval-episodes",
    ),
    # Combinations that cannot work: both choices named, and what would fit.
    pytest.param(
        ["env=pendulum"],
        [
            r"env=pendulum\b",
            r"\bcontinuous actions\b",
            r"agent=dqn\b",
            r"\bdiscrete actions\b",
            r"env=pendulum_discrete\b",
            r"\bActionDiscretizeWrapper\b",
        ],
        id="continuous-env-with-dqn",
    ),
    pytest.param(
        ["env=cartpole_tf", "driver=py"],
        [
            r"driver=py\b",
            r"env=cartpole_tf\b",
            r"driver=step\b",
            r"driver=episode\b",
            r"env=cartpole\b",
        ],
        id="py-driver-with-tf-env",
    ),
    pytest.param(
        ["agent=ppo", "driver.num_episodes=4"],
        [r"driver\.num_episodes=4\b", r"env\.num_parallel_envs=32\b", r"at least 32\b"],
        id="on-policy-fewer-episodes-than-env-copies",
    ),
    pytest.param(
        ["env=cartpole", "driver=fused"],
        [r"driver=fused\b", r"env=cartpole\b", r"env=cartpole_tf\b", r"driver=step\b"],
        id="fused-driver-with-python-env",
    ),
    pytest.param(
        ["env=cartpole_tf", "env.num_parallel_envs=1", "driver=fused", "buffer=py_uniform"],
        [r"driver=fused\b", r"buffer=py_uniform\b", r"buffer=tf_uniform\b", r"driver=step\b"],
        id="fused-driver-with-python-buffer",
    ),
    pytest.param(
        ["buffer=py_uniform", "env.num_parallel_envs=4"],
        [r"buffer=py_uniform\b", r"env\.num_parallel_envs=4\b", r"buffer=tf_uniform\b"],
        id="py-buffer-with-parallel-envs",
    ),
    pytest.param(
        ["env=cartpole", "driver=step", "env.wrappers=[{name: ActionDiscretizeWrapper}]"],
        [r"env\.wrappers\[0\]", r"\bActionDiscretizeWrapper\b", r"\bcontinuous actions\b"],
        id="wrapper-needs-continuous-actions",
    ),
    pytest.param(
        ["env=cartpole", "driver=step", "env.wrappers=[{name: TimeLimit, durration: 5}]"],
        [r"env\.wrappers\[0\]\.durration\b", r"\bduration\b"],
        id="wrapper-misspelt-argument",
    ),
    pytest.param(
        ["env=cartpole", "driver=step", "env.wrappers=[{name: TimeLimit}]"],
        [r"env\.wrappers\[0\]\.duration\b", r"\bTimeLimit\b"],
        id="wrapper-missing-argument",
    ),
    pytest.param(
        ["env=cartpole", "driver=step", "env.wrappers=[{name: TimeLimits, duration: 5}]"],
        [r"\bTimeLimits\b", r"\bTimeLimit\b", r"\bHistoryWrapper\b"],
        id="unknown-wrapper",
    ),
    pytest.param(
        ["env=cartpole", "driver=step", "env.wrappers=[{name: TimeLimit, duration: 0}]"],
        [r"env\.wrappers\[0\]\.duration=0\b"],
        id="wrapper-argument-out-of-range",
    ),
    pytest.param(
        ["env=cartpole", "env.wrappers=[{name: TimeLimit, duration: abc}]"],
        [r"env\.wrappers\[0\]\.duration=abc: TimeLimit's duration must be an integer"],
        id="wrapper-argument-of-the-wrong-type",
    ),
    pytest.param(
        ["env=cartpole_tf", "env.wrappers=[{name: TimeLimit, duration: 3}]"],
        [
            r"env\.wrappers=.*: unknown key",
            r"env\.wrappers wrap a Python env, and env=cartpole_tf is not one",
            r"the options that take wrappers: .*\benv=cartpole\b",
        ],
        id="wrappers-on-a-tf-env",
    ),
    pytest.param(["env=gym"], [r"env\.gym_id\b", r"env=gym\b"], id="gym-without-id"),
    pytest.param(  # Pendulum ends episodes only at its limit: the first evaluation hung
        ["env=pendulum_discrete", "env.max_episode_steps=0"],
        [r"env\.max_episode_steps=0: Pendulum-v1 ends an episode only at its step limit"],
        id="no-step-limit-on-an-endless-env",
    ),
    pytest.param(
        ["env=gym", "env.gym_id=CartPol-v1"], [r"\bCartPol-v1\b", r"\bCartPole\b"], id="bad-gym-id"
    ),
    pytest.param(  # accepted, it changed nothing: the runner evaluates the mode action
        ["experiment=ppo_cartpole", "agent.greedy_eval=false"],
        [r"agent\.greedy_eval=false: rlexp evaluates and exports every agent's greedy policy"],
        id="sampled-evaluation",
    ),
]

# Options that need an optional extra, and what validation must say when it is missing.
EXTRA_OPTIONS = [
    pytest.param("reverb", ["buffer=reverb_uniform"], id="reverb_uniform"),
    pytest.param("reverb", ["buffer=reverb_prioritized"], id="reverb_prioritized"),
    pytest.param("gymnasium", ["env=gymnasium"], id="gymnasium"),
    pytest.param("atari", ["env=atari", "network=nature_q_network"], id="atari"),
    pytest.param("dm_control", ["env=dm_control", "agent=sac"], id="dm_control"),
    pytest.param("minatar", ["env=minatar", "network.conv_layer_params=[[4,3,1]]"], id="minatar"),
]


def assert_no_run_left(run_dir: Path) -> None:
    if not run_dir.exists():
        return
    leftovers = sorted(p.name for p in run_dir.iterdir())
    assert not (run_dir / "metrics.json").exists(), leftovers
    assert not list(run_dir.glob("events.out.tfevents*")), leftovers
    assert not (run_dir / "checkpoints").exists(), leftovers


def assert_names(output: str, patterns: list[str]) -> None:
    for pattern in patterns:
        assert re.search(pattern, output), f"{pattern!r} not in the error output:\n{output}"


@pytest.mark.parametrize(("overrides", "patterns"), BAD_CONFIGS)
def test_bad_config_fails_through_the_cli(cli, tmp_path, overrides, patterns):
    run_dir = tmp_path / "run"
    result = cli("train", *overrides, f"hydra.run.dir={run_dir}")
    assert result.code != 0, result.describe()
    assert_names(result.err, patterns)
    assert "To append to your config use +" not in result.err  # a typed config refuses that
    assert_no_run_left(run_dir)


# Overrides Hydra refuses to merge or parse: what the key takes, in one line, exit 2.
WRONG_VALUES = [
    (["train.env_steps=abc"], "train.env_steps=abc: train.env_steps must be an integer"),
    (["train.env_steps=[1,2]"], "train.env_steps=[1,2]: train.env_steps must be an integer"),
    (["seed=1.5"], "seed=1.5: seed must be an integer"),
    (["agent.gamma=abc"], "agent.gamma=abc: agent.gamma must be a number"),
    (["train.progress=maybe"], "train.progress=maybe: train.progress must be true or false"),
    (["train.env_steps=null"], "train.env_steps must have a value (null is not allowed)"),
    (["env=cartpole", "env.gym_id=[a]"], "env.gym_id=[a]: env.gym_id must be a string"),
    (["agent.optimizer=adamx"], "agent.optimizer must be one of adam, rmsprop, sgd"),
    (
        ["network.fc_layer_params=[a]"],
        "network.fc_layer_params=[a]: network.fc_layer_params[0] must be an integer",
    ),
    (
        ["network.fc_layer_params=5"],
        "network.fc_layer_params must be a list: network.fc_layer_params=[...]",
    ),
    (
        ["env=cartpole", "env.wrappers={name: TimeLimit}"],
        "env.wrappers must be a list: env.wrappers=[...]",
    ),
    (["train=5"], "train=5: train holds settings, not one value: set them one by one, e.g. "),
    (["agent.epsilon_greedy=[1]"], "agent.epsilon_greedy holds settings, not one value"),
    (["train.env_steps=${nope}"], "train.env_steps: Interpolation key 'nope' not found"),
    # The shell split an unquoted override at its space.
    (["env=cartpole", "env.wrappers=[{name:", "TimeLimit}]"], "quote it for the shell, e.g. '"),
    (
        ["hydra.run.dir=ü"],
        "hydra.run.dir=ü: not an override in Hydra's grammar (https://hydra.cc/docs/1.3/advanced/"
        "override_grammar/basic); an unquoted value holds ASCII characters only; ü needs quotes "
        "of its own inside the override (besides the shell's): 'hydra.run.dir=\"my runs/ü\"'",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), WRONG_VALUES)
def test_a_value_of_the_wrong_kind_says_what_the_key_takes(cli, tmp_path, overrides, message):
    run_dir = tmp_path / "run"
    result = cli("train", *overrides, f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    assert message in result.err, result.describe()
    assert "Exception" not in result.err and "--debug" not in result.err, result.describe()
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("overrides", "patterns"),
    [
        (["env=cartpol"], [r"\bcartpol\b", r"\bcartpole\b"]),
        (["agent.gamma=1.5"], [r"agent\.gamma=1\.5\b"]),
        # Checking the task imports dm_control, whose import logs at INFO (MuJoCo's version).
        (["env=dm_control", "agent=sac", "env.domain=cartpol"], [r"not a DMC task"]),
        # In a fresh process (ale_py not imported, which registers ALE ids with Gymnasium);
        # train.env_steps=1 is refused too, so no case of this test can train.
        (
            ["env=gymnasium", "env.gym_id=ALE/Pong-v5", "train.env_steps=1"],
            [r"env\.gym_id=ALE/Pong-v5: not a registered Gymnasium id .*; Atari games are "
             r"env=atari"],
        ),
    ],
    ids=[
        "unknown-option",
        "out-of-range",
        "dmc-task-names-only-the-problem",
        "atari-id-on-gymnasium",
    ],
)
def test_bad_config_fails_through_the_console_script(run_cli, tmp_path, overrides, patterns):
    run_dir = tmp_path / "run"
    result = run_cli("train", *overrides, f"hydra.run.dir={run_dir}")
    assert result.code != 0, result.describe()
    assert_names(result.err, patterns)
    assert "Traceback" not in result.err
    assert "INFO" not in result.err + result.out, result.describe()
    assert_no_run_left(run_dir)


def test_compose_config_lists_every_problem():
    overrides = [
        "seed=-1",
        "train.env_steps=0",
        "agent.gamma=1.5",
        "agent.learning_rate=0",
        "buffer.max_length=10",
        "buffer.sample_batch_size=64",
        "network.fc_layer_params=[32,32]",
        "network.dropout_layer_params=[0.1]",
    ]
    with pytest.raises(ConfigError) as info:
        compose_config(overrides)
    problems = info.value.problems
    expected_keys = [
        "seed",
        "train.env_steps",
        "agent.gamma",
        "agent.learning_rate",
        "network.dropout_layer_params",
    ]
    for key in expected_keys:
        matching = [p for p in problems if p.startswith(f"{key}=")]
        assert len(matching) == 1, f"{key}: {problems}"
        assert matching[0] in str(info.value)
    assert len(problems) == len(expected_keys), problems


def test_sound_config_composes():
    cfg = compose_config(["agent.gamma=0.5", "buffer.max_length=64", "buffer.sample_batch_size=64"])
    assert cfg.agent.gamma == 0.5
    assert cfg.buffer.max_length == cfg.buffer.sample_batch_size == 64


NO_TF_SCRIPT = textwrap.dedent(
    """
    import sys

    from rlexp.composition import compose_config

    try:
        compose_config({overrides!r})
    except Exception as exc:
        print("REJECTED", type(exc).__name__, exc)
    else:
        sys.exit("compose_config accepted {overrides!r}")
    assert "tensorflow" not in sys.modules, "validation imported tensorflow"
    print("NO TENSORFLOW")
    """
)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [(["agent.gamma=1.5"], "ConfigError"), (["agent.gama=0.9"], "ConfigCompositionException")],
    ids=["range-check", "hydra-check"],
)
def test_validation_does_not_import_tensorflow(run_python, overrides, error):
    result = run_python(NO_TF_SCRIPT.format(overrides=overrides))
    assert result.code == 0, result.describe()
    assert f"REJECTED {error}" in result.out
    assert "NO TENSORFLOW" in result.out


def test_cli_config_error_does_not_import_tensorflow(run_python, tmp_path):
    run_dir = tmp_path / "run"
    script = textwrap.dedent(
        f"""
        import sys

        from rlexp.cli import main

        code = main(["train", "agent.gamma=1.5", "hydra.run.dir={run_dir}"])
        assert code == 2, code
        assert "tensorflow" not in sys.modules, "a config error imported tensorflow"
        print("NO TENSORFLOW")
        """
    )
    result = run_python(script)
    assert result.code == 0, result.describe()
    assert "NO TENSORFLOW" in result.out
    assert not run_dir.exists()


@pytest.mark.parametrize(("extra", "overrides"), EXTRA_OPTIONS)
def test_option_without_its_extra_fails_at_validation(cli, tmp_path, monkeypatch, extra, overrides):
    """As if the extra were not installed: importing it fails, find_spec finds nothing."""
    from rlexp.extras import EXTRAS

    monkeypatch.setitem(sys.modules, EXTRAS[extra].module, None)
    run_dir = tmp_path / "run"
    result = cli("train", *overrides, f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    option = overrides[0]
    group = option.split("=")[0]
    assert_names(
        result.err,
        [
            rf"{re.escape(option)}\b",
            rf"pip install 'rlexp\[{extra}\]'",
            re.escape(EXTRAS[extra].requirement),
            rf"{group}=(tf_uniform|cartpole)\b",  # an option that needs no extra
        ],
    )
    assert_no_run_left(run_dir)


def test_combination_error_does_not_import_tensorflow(run_python):
    result = run_python(NO_TF_SCRIPT.format(overrides=["env=cartpole_tf", "driver=py"]))
    assert result.code == 0, result.describe()
    assert "REJECTED ConfigError" in result.out and "driver=py" in result.out
    assert "NO TENSORFLOW" in result.out


def test_a_single_run_with_repeat_says_to_make_it_a_sweep(cli, tmp_path):
    """`rlexp train repeat=3` trained one seed of the three, silently."""
    run_dir = tmp_path / "run"
    result = cli("train", "repeat=3", "seed=5", f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    assert "repeat=3: a single run trains one seed; for 3 runs (seeds 5..7)" in result.err
    assert "rlexp -m ... repeat=3" in result.err
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("override", "typo"),
    [("env=cartpol", "Did you mean env=cartpole?"), ("network=my_net", "")],
)
def test_an_option_hydra_cannot_find_says_how_own_options_are_found(cli, tmp_path, override, typo):
    result = cli("train", override, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code == 2, result.describe()
    assert typo in result.err
    assert f"If {override} is your own, list the module that registers it" in result.err
    assert "--config-dir DIR" in result.err


@pytest.mark.parametrize("key", ["deterministic", "seed", "repeat", "sweep", "train.env_steps"])
@pytest.mark.parametrize("multirun", [False, True], ids=["run", "sweep"])
def test_deleting_a_key_is_refused_before_the_run(cli, tmp_path, key, multirun):
    """`~deterministic` passed every check and failed inside the job with a raw
    ConfigAttributeError (exit 1), leaving a run directory that blocked the fixed command."""
    where = (
        ["-m", "train.eval_episodes=2,3", f"hydra.sweep.dir={tmp_path / 'run'}"]
        if multirun
        else [f"hydra.run.dir={tmp_path / 'run'}"]
    )
    result = cli("train", f"~{key}", "train.prefill_steps=100", *where)  # nothing trains
    assert result.code == 2, result.describe()
    assert f"~{key}: {key} cannot be deleted, rlexp reads it; set a value instead" in result.err
    assert "ConfigAttributeError" not in result.err and "support deletion" not in result.err
    assert not (tmp_path / "run").exists(), result.describe()


def test_a_saved_run_that_deleted_a_key_is_refused_on_resume():
    with pytest.raises(ConfigError, match=r"~deterministic: deterministic cannot be deleted"):
        compose_config(["~deterministic"])


@pytest.mark.parametrize("multirun", [False, True], ids=["run", "sweep"])
def test_an_integer_for_a_true_false_key_is_refused(cli, tmp_path, multirun):
    """OmegaConf reads any non-zero integer as true: `train.progress=3` passed as true."""
    where = (
        ["-m", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'run'}"]
        if multirun
        else [f"hydra.run.dir={tmp_path / 'run'}"]
    )
    bad = ["train.stop_when_solved=2", "train.jit_compile=5", "deterministic=-1"]
    result = cli("train", *bad, "train.env_steps=1", *where)  # refused too: nothing trains
    assert result.code == 2, result.describe()
    for override in bad:
        key = override.split("=")[0]
        assert f"{override}: {key} must be true or false" in result.err, result.describe()
    assert not (tmp_path / "run").exists(), result.describe()


@pytest.mark.parametrize(
    "value", ["true", "False", "1", "0", "yes", "off"], ids=lambda v: f"progress={v}"
)
def test_a_true_false_key_takes_what_omegaconf_reads_as_one(value):
    from omegaconf import OmegaConf

    from rlexp.validation import validate

    cfg = compose_config([f"train.progress={value}"])
    validate(cfg, OmegaConf.create({"overrides": {"task": [f"train.progress={value}"]}}))


@pytest.mark.parametrize(
    "group, option, chosen", [("env", "cartpole", "cartpole_tf"), ("agent", "ppo", "dqn")]
)
def test_setting_an_options_name_says_to_choose_it(cli, tmp_path, group, option, chosen):
    """`env.name=cartpole` was blamed on "the YAML file selected for env"."""
    result = cli("train", f"{group}.name={option}", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code == 2, result.describe()
    assert (
        f"{group}.name={option}: an option is chosen with {group}={option}, not by setting "
        f"{group}.name (the option chosen is {group}={chosen})"
    ) in result.err, result.describe()
    assert "YAML file" not in result.err


@pytest.mark.parametrize(
    ("overrides", "gym_id"),
    [
        (["env=gym", "env.gym_id=LunarLander-v2"], "LunarLander-v2"),
        (["env=pendulum_discrete", "env.gym_id=BipedalWalker-v3"], "BipedalWalker-v3"),
    ],
)
def test_a_box2d_env_without_box2d_names_the_package(monkeypatch, overrides, gym_id):
    """gym 0.23's Box2D envs need the Box2D package (not a dependency of rlexp): refused
    at validation with the install command, whether or not it is installed here."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "Box2D" else real(name, *a)
    )
    with pytest.raises(ConfigError) as refused:
        compose_config(overrides)
    assert (
        f"env.gym_id={gym_id}: a Box2D env, and the Box2D package is not installed: "
        f"pip install box2d-py==2.3.5"
    ) in str(refused.value)
