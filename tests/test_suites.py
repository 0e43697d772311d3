"""The standard suites (env=atari, dm_control, minatar), image networks, and videos.

Each suite's env builds, passes `validate_py_environment` and trains a few hundred steps
with a tiny network (one in-process run per suite, shared by the module's tests); a
video of a greedy episode of the MinAtar run and of the default experiment's cartpole_tf
exists and has frames. Tests of an extra skip when it is not installed (`dev` brings them).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

from rlexp.composition import compose_config
from rlexp.extras import EXTRAS
from rlexp.validation import ConfigError


def needs(extra: str):
    return pytest.mark.skipif(
        not EXTRAS[extra].installed(),
        reason=f"{extra} extra not installed ({EXTRAS[extra].install_command()})",
    )


SHORT = (
    "train.env_steps=300",
    "train.prefill_steps=100",
    "driver.num_steps=50",
    "train.train_steps_per_iteration=5",
    "train.eval_interval=300",
    "train.eval_episodes=1",
    "train.summary_interval=300",
    "train.checkpoint_interval=300",
    "train.progress=false",
    "buffer.max_length=1000",
    "buffer.sample_batch_size=8",
)
TINY_CONV = ("network.conv_layer_params=[[4,3,1]]", "network.fc_layer_params=[16]")


def short_run(overrides, run_dir):
    """Train `overrides` + SHORT in-process; the run dir gets the config as Hydra saves it."""
    from rlexp.training.trainer import train

    cfg = compose_config([*SHORT, *overrides])
    (run_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    return cfg, train(cfg, run_dir)


def build_py_env(overrides):
    """The option's own (unwrapped by TF) PyEnvironment, seeded 0."""
    from rlexp import registry

    cfg = compose_config(overrides)
    schema = registry.get("env", cfg.env.name).schema
    module = sys.modules[schema.__module__]
    make = {"atari": "make_atari", "dm_control": "make_dm_control", "minatar": "make_minatar"}
    return getattr(module, make[cfg.env.name])(OmegaConf.to_object(cfg.env), 0)


# --- MUJOCO_GL, rlexp list ----------------------------------------------------------------


def test_tf_agents_imports_after_rlexp_without_mujoco_gl():
    """`import tf_agents` imports dm_control.suite once dm-control is installed; rlexp sets
    MUJOCO_GL=egl before, so it neither crashes (osmesa) nor warns about DISPLAY."""
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    code = "import os, rlexp, tf_agents; print(os.environ['MUJOCO_GL'])"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "egl"
    assert "DISPLAY" not in result.stderr


def test_rlexp_list_env_documents_each_suite_option(run_cli):
    result = run_cli("list", "env")
    assert result.code == 0, result.describe()
    for option, keys in {
        "atari": (
            "gym_id",
            "noop_max",
            "frame_skip",
            "frame_stack",
            "repeat_action_probability",
            "full_action_space",
            "terminal_on_life_loss",
            "max_episode_frames",
        ),
        "dm_control": ("domain", "task", "observations_allowlist", "action_repeat", "pixels"),
        "minatar": ("game", "sticky_action_prob", "difficulty_ramping"),
    }.items():
        assert option in result.out
        for key in keys:
            assert key in result.out, f"{option}.{key} is not documented"


# --- validation -----------------------------------------------------------------------------


def test_image_env_with_a_dense_network_is_refused_naming_both_and_the_fix():
    with pytest.raises(ConfigError) as raised:
        compose_config(["env=minatar", "network=q_network"])
    message = str(raised.value)
    assert "env=minatar" in message and "network=q_network" in message
    assert "network.conv_layer_params" in message and "network=nature_q_network" in message
    compose_config(["env=minatar", *TINY_CONV])  # the fix passes


def test_image_env_checks_an_agents_second_network():
    with pytest.raises(ConfigError, match="agent.value_network=value_network has no conv"):
        compose_config(["env=minatar", "agent=ppo", *TINY_CONV])


def test_video_interval_needs_an_env_that_renders():
    with pytest.raises(ConfigError) as raised:
        compose_config(["env=card_game", "train.video_interval=100"])
    assert "env=card_game cannot render" in str(raised.value)
    assert "env=cartpole_tf" in str(raised.value)
    compose_config(["train.video_interval=100"])  # the default experiment's cartpole_tf


def test_bad_conv_layer_params_are_refused():
    with pytest.raises(ConfigError, match=r"\[filters, kernel, stride\]"):
        compose_config(["env=minatar", "network.conv_layer_params=[[16,3]]"])


# --- the image network ----------------------------------------------------------------------


def test_uint8_observations_are_scaled_inside_the_network():
    import tensorflow as tf
    from tf_agents.specs import tensor_spec

    from rlexp.networks.image_input import ScaleImage, image_scaling

    spec = tensor_spec.BoundedTensorSpec((2, 2, 1), tf.uint8, 0, 1)
    layer = image_scaling(spec)
    assert isinstance(layer, ScaleImage)
    out = layer(tf.constant([[[[1], [0]], [[1], [1]]]], tf.uint8))
    assert out.dtype == tf.float32 and float(tf.reduce_max(out)) == 1.0
    copy = ScaleImage.from_config(layer.get_config())  # target networks copy it
    assert copy.scale == layer.scale == 1.0
    assert image_scaling(tensor_spec.TensorSpec((4,), tf.float32)) is None


# --- MinAtar --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minatar_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("minatar") / "run"
    overrides = ["env=minatar", *TINY_CONV, "env.game=breakout", "train.video_interval=150"]
    return short_run(overrides, run_dir), run_dir


@needs("minatar")
def test_convolutions_that_leave_nothing_of_the_frame_name_the_conv_layers():
    from rlexp.context import BuildError
    from rlexp.training.build import build_components

    cfg = compose_config(["env=minatar", "network.conv_layer_params=[[4,12,1]]"])
    with pytest.raises(BuildError) as refused:
        build_components(cfg)
    assert "shrink the env's (10, 10, 4) observation to nothing" in str(refused.value)
    assert "network.conv_layer_params" in str(refused.value)


@needs("minatar")
@pytest.mark.parametrize("game", ["asterix", "breakout", "freeway", "seaquest", "space_invaders"])
def test_minatar_games_pass_validate_py_environment(game):
    from tf_agents.environments import utils

    py_env = build_py_env(["env=minatar", *TINY_CONV, f"env.game={game}"])
    spec = py_env.observation_spec()
    assert spec.dtype == np.uint8 and spec.shape[:2] == (10, 10) and spec.maximum == 1
    utils.validate_py_environment(py_env, episodes=1)
    frame = py_env.render()
    assert frame.shape == (160, 160, 3) and frame.dtype == np.uint8 and frame.any()


@needs("minatar")
def test_minatar_sticky_actions_and_seeding_are_minatars():
    py_env = build_py_env(
        ["env=minatar", *TINY_CONV, "env.sticky_action_prob=0.3", "env.game=space_invaders"]
    )
    assert py_env._game.sticky_action_prob == 0.3
    assert py_env._game.env.ramping is True  # difficulty ramping on, MinAtar's default
    flat = build_py_env(
        ["env=minatar", *TINY_CONV, "env.difficulty_ramping=false", "env.game=space_invaders"]
    )
    assert flat._game.env.ramping is False and flat._game.sticky_action_prob == 0.1

    def observations(seed):
        py_env.seed(seed)
        py_env.reset()
        return [py_env.step(np.int64(s % 3)).observation.sum() for s in range(40)]

    assert observations(3) == observations(3)


@needs("minatar")
def test_minatar_trains_a_few_hundred_steps(minatar_run):
    (_, metrics), _ = minatar_run
    assert metrics["status"] == "completed"
    assert metrics["env_steps"] >= 300 and metrics["train_steps"] > 0
    assert metrics["final_eval_return"] is not None


@needs("minatar")
def test_the_runner_records_videos_every_video_interval(minatar_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (_, metrics), run_dir = minatar_run
    steps = sorted(int(p.stem) for p in (run_dir / "videos").iterdir() if p.stem.isdigit())
    assert steps and steps[0] >= 150 and len(steps) >= metrics["env_steps"] // 150 - 1, steps
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    assert "video/episode" in events.Tags()["tensors"]


@needs("minatar")
def test_video_of_a_short_run_exists_and_has_frames(minatar_run):
    import tensorflow as tf

    from rlexp.policies.saved import build_env
    from rlexp.training.video import EpisodeVideo

    _, run_dir = minatar_run
    policy = tf.saved_model.load(str(run_dir / "policy"))
    video = EpisodeVideo(build_env(run_dir, seed=1), policy, run_dir, max_steps=50)
    writer = tf.summary.create_file_writer(str(run_dir / "video_events"))
    with writer.as_default():
        frames = video(300)
    writer.flush()
    assert frames.ndim == 4 and len(frames) > 1 and frames.dtype == np.uint8
    written = list((run_dir / "videos").glob("300.*"))
    assert written, "no video file"
    assert written[0].stat().st_size > 0
    if written[0].suffix == ".mp4":
        import imageio.v2 as imageio

        assert imageio.get_reader(written[0]).count_frames() == len(frames)
    assert list((run_dir / "video_events").iterdir()), "no TensorBoard summary"


# --- Atari ----------------------------------------------------------------------------------

ATARI = ("experiment=dqn_atari", "env.max_episode_frames=1200", "buffer.max_length=1000")


@needs("atari")
def test_atari_protocol_defaults_and_validate_py_environment():
    from tf_agents.environments import utils

    cfg = compose_config(["env=atari", "network=nature_q_network"]).env
    assert (cfg.noop_max, cfg.frame_skip, cfg.screen_size, cfg.frame_stack) == (30, 4, 84, 4)
    assert cfg.grayscale and cfg.repeat_action_probability == 0.25
    assert not cfg.full_action_space and not cfg.terminal_on_life_loss
    assert cfg.max_episode_frames == 108_000
    py_env = build_py_env(list(ATARI))
    spec = py_env.observation_spec()
    assert spec.shape == (84, 84, 4) and spec.dtype == np.uint8
    assert py_env.gym.unwrapped.ale.getFloat("repeat_action_probability") == 0.25
    utils.validate_py_environment(py_env, episodes=1)  # 1200 frames: 300 agent steps
    assert py_env.render().shape == (210, 160, 3)
    time_step, steps = py_env.reset(), 0
    while not time_step.is_last():
        time_step, steps = py_env.step(np.int64(0)), steps + 1
    assert steps <= 1200 // 4 and time_step.discount == 1.0  # the frame limit truncates


@needs("atari")
def test_atari_replay_stores_uint8_frames_28_kb_per_transition():
    import tensorflow as tf

    from rlexp.training.build import build_components

    ctx, _ = build_components(compose_config(list(ATARI)))
    observation = ctx.buffer.data_spec.observation
    assert observation.dtype == tf.uint8 and observation.shape == (84, 84, 4)
    size = sum(int(np.prod(s.shape)) * s.dtype.size for s in tf.nest.flatten(ctx.buffer.data_spec))
    assert 84 * 84 * 4 <= size < 29_000, size  # ~28 KB, not float32's ~113 KB


@needs("atari")
def test_dqn_atari_trains_a_few_hundred_steps(tmp_path):
    _, metrics = short_run([*ATARI], tmp_path / "run")
    assert metrics["status"] == "completed" and metrics["train_steps"] > 0


# --- DeepMind Control -----------------------------------------------------------------------

DMC = (
    "experiment=sac_dmc_cartpole_balance",
    "network.fc_layer_params=[16]",
    "agent.critic_network.fc_layer_params=[16]",
    "env.validate_py_environment=false",  # checked by the test above
)


@needs("dm_control")
def test_dm_control_flattens_repeats_actions_and_validates():
    from tf_agents.environments import utils

    py_env = build_py_env(["env=dm_control", "agent=sac", "network=sac_actor_network"])
    assert py_env.observation_spec().shape == (5,)  # cartpole: position 3 + velocity 2
    action = py_env.action_spec()
    assert action.dtype == np.float32 and action.minimum == -1 and action.maximum == 1
    utils.validate_py_environment(py_env, episodes=1)
    subset = build_py_env(
        [
            "env=dm_control",
            "agent=sac",
            "network=sac_actor_network",
            "env.observations_allowlist=[velocity]",
            "env.action_repeat=4",
        ]
    )
    assert subset.observation_spec().shape == (2,)
    subset.reset()
    steps = 1
    while not subset.step(np.zeros(1, np.float32)).is_last():
        steps += 1
    assert steps == 1000 // 4


@needs("dm_control")
def test_dm_control_pixels_are_uint8_images():
    py_env = build_py_env(
        [
            "env=dm_control",
            "env.pixels=true",
            "env.pixels_size=32",
            "agent=sac",
            "network=sac_actor_network",
            "network.conv_layer_params=[[4,3,2]]",
            "agent.critic_network.conv_layer_params=[[4,3,2]]",
        ]
    )
    spec = py_env.observation_spec()
    assert spec.shape == (32, 32, 3) and spec.dtype == np.uint8
    assert py_env.reset().observation.any()


@needs("dm_control")
def test_sac_on_dm_control_trains_a_few_hundred_steps(tmp_path):
    _, metrics = short_run([*DMC], tmp_path / "run")
    assert metrics["status"] == "completed" and metrics["train_steps"] > 0


@pytest.mark.slow  # about 25 s
@needs("dm_control")
def test_sac_on_dm_control_pixels_trains_evaluates_and_records_a_video(tmp_path):
    # One in-process pixel env: TF steps it from its own threads and the video renders from
    # the main one, while its EGL context works on the thread that made it only.
    pixels = [
        *DMC,
        "env.pixels=true",
        "env.pixels_size=32",
        "network.conv_layer_params=[[4,3,2]]",
        "agent.critic_network.conv_layer_params=[[4,3,2]]",
        "train.video_interval=300",
        "env.wrappers=[{name: TimeLimit, duration: 20}]",  # short eval and video episodes
    ]
    _, metrics = short_run(pixels, tmp_path / "run")
    assert metrics["status"] == "completed" and metrics["train_steps"] > 0
    assert metrics["evaluations"] and list((tmp_path / "run" / "videos").iterdir())


def test_thread_bound_env_is_built_and_used_on_one_thread():
    import threading

    from tf_agents.environments import random_py_environment
    from tf_agents.specs import array_spec

    from rlexp.envs.thread_bound import ThreadBoundPyEnvironment

    threads = []

    class Recording(random_py_environment.RandomPyEnvironment):
        def __init__(self):
            threads.append(threading.current_thread())
            spec = array_spec.BoundedArraySpec((2,), np.float32, -1, 1)
            super().__init__(spec, action_spec=spec, seed=0)

        def _reset(self):
            threads.append(threading.current_thread())
            return super()._reset()

        def _step(self, action):
            threads.append(threading.current_thread())
            return super()._step(action)

        def render(self, mode="rgb_array"):
            threads.append(threading.current_thread())
            return np.zeros((2, 2, 3), np.uint8)

    env = ThreadBoundPyEnvironment(Recording)
    env.reset()
    stepper = threading.Thread(target=lambda: env.step(np.zeros(2, np.float32)))
    stepper.start()
    stepper.join()
    env.render()
    env.close()
    assert len(threads) == 4 and len(set(threads)) == 1
    assert threads[0] is not threading.current_thread() and threads[0] is not stepper


@needs("dm_control")
def test_dqn_on_dm_control_through_the_discretizing_wrapper_validation_suggests(tmp_path):
    # The fix validation names for a discrete-action agent on DMC's continuous actions.
    with pytest.raises(ConfigError, match="ActionDiscretizeWrapper"):
        compose_config(["env=dm_control", "agent=dqn"])
    discrete = [
        "env=dm_control",
        "agent=dqn",
        "network.fc_layer_params=[16]",
        "env.validate_py_environment=false",
        "env.wrappers=[{name: ActionDiscretizeWrapper, num_actions: 3}]",
    ]
    _, metrics = short_run(discrete, tmp_path / "run")
    assert metrics["status"] == "completed" and metrics["train_steps"] > 0


# --- cartpole_tf: rendering, and `rlexp eval video=true` on the default experiment ---------


def test_cartpole_tf_renders_its_carts_from_their_state():
    from rlexp.envs.cartpole_tf_env import CartPoleTFEnvironment

    env = CartPoleTFEnvironment(batch_size=2, seed=0)
    env.set_state(np.array([[0.0, 0, 0, 0], [1.0, 0, 0.2, 0]]))
    frames = env.render()
    assert frames.shape == (2, 400, 600, 3) and frames.dtype == np.uint8
    assert not np.array_equal(frames[0], frames[1])  # the second cart is elsewhere


def test_eval_video_on_a_default_experiment_run(tmp_path):
    from PIL import Image

    from rlexp.policies.saved import evaluate

    run_dir = tmp_path / "run"
    short_run(["train.env_steps=512", "driver.num_steps=256"], run_dir)
    report = evaluate(run_dir, episodes=1, video=True)
    assert Image.open(report.video).n_frames > 1
    assert report.video == run_dir / "videos" / "eval_policy_best_seed0.gif"


def test_eval_video_never_overwrites_a_file_it_did_not_write(tmp_path):
    from rlexp.policies.saved import evaluate

    run_dir = tmp_path / "run"
    short_run(["train.env_steps=512", "driver.num_steps=256"], run_dir)
    videos = run_dir / "videos"
    videos.mkdir()
    (videos / "eval_policy_best_seed0.gif").write_text("the user's own")
    first = evaluate(run_dir, episodes=1, video=True).video
    assert first == videos / "eval_policy_best_seed0_2.gif"
    assert (videos / "eval_policy_best_seed0.gif").read_text() == "the user's own"
    # Its own GIF it replaces: the same evaluation again writes no third file.
    assert evaluate(run_dir, episodes=1, video=True).video == first
    final = evaluate(run_dir / "policy", episodes=1, video=True).video
    assert final == videos / "eval_policy_seed0.gif"
    assert sorted(p.name for p in videos.iterdir()) == [
        "eval_policy_best_seed0.gif",
        "eval_policy_best_seed0_2.gif",
        "eval_policy_seed0.gif",
    ]


def test_eval_video_of_an_env_that_cannot_render_is_refused_naming_it(tmp_path):
    from rlexp.policies.saved import PolicyLoadError, evaluate

    run_dir = tmp_path / "run"
    short_run(["env=card_game", "driver.num_steps=100"], run_dir)
    with pytest.raises(PolicyLoadError) as raised:
        evaluate(run_dir, episodes=1, video=True)
    assert "env=card_game cannot render frames" in str(raised.value)
    assert "without video=true" in str(raised.value)
    assert not list(run_dir.glob("*.gif"))


def test_the_eval_video_never_goes_through_a_symbolic_link(tmp_path):
    # A dangling link in a received run's videos/ would make the GIF appear anywhere.
    from rlexp.policies.saved import video_path

    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "eval_policy_best_seed0.gif").symlink_to(tmp_path / "elsewhere" / "x.gif")
    assert video_path(tmp_path, "policy_best", 0) == videos / "eval_policy_best_seed0_2.gif"


# --- what validation knows of a suite's env without building it -------------------------


def config_problems(overrides: list[str]) -> list[str]:
    try:
        compose_config(overrides)
    except ConfigError as exc:
        return exc.problems
    return []


@needs("dm_control")
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["env.camera_id=7"], r"^env\.camera_id=7: cartpole/balance has 2 cameras; choose 0 to 1$"),
        (
            ["env.observations_allowlist=[]"],
            r"observations_allowlist=\[\]: .*\(position, velocity\)",
        ),
        (
            ["env.observations_allowlist=[positon]"],
            r"no observation positon; its keys: position, velocity",
        ),
        (["env.domain=cartpol"], r"not a DMC task; did you mean domain=cartpole\?"),
        (["env.task=Balance"], r"not a DMC task; did you mean task=balance\? \(cartpole tasks: "),
    ],
    ids=["camera", "empty-allowlist", "allowlist-typo", "domain-typo", "task-typo"],
)
def test_dm_control_settings_the_task_rules_out_are_refused(overrides, expected):
    found = config_problems(["experiment=sac_dmc_cartpole_balance", *overrides])
    assert len(found) == 1 and re.search(expected, found[0]), found


@needs("dm_control")
def test_dm_control_settings_the_task_has_are_accepted():
    preset = "experiment=sac_dmc_cartpole_balance"
    assert config_problems([preset, "env.camera_id=1"]) == []
    assert config_problems([preset, "env.observations_allowlist=[velocity]"]) == []


@needs("dm_control")
def test_a_discrete_agent_on_many_action_dimensions_is_not_told_to_discretize_them():
    """ActionDiscretizeWrapper on walker's 6 actions gives a vector q_network refuses at
    build: validation says why and suggests only what is accepted."""
    overrides = ["env=dm_control", "env.domain=walker", "env.task=walk", "agent=dqn"]
    found = config_problems(overrides)
    assert len(found) == 1 and "6 dimensions" in found[0], found
    assert "ActionDiscretizeWrapper, num_actions" not in found[0]
    agents = re.findall(r"(agent=\w+ network=\w+)", found[0].split("; ", 1)[1])
    assert "agent=sac network=actor_distribution_network" in agents, found[0]
    for choice in agents:
        assert config_problems([*overrides[:3], *choice.split()]) == [], choice


def test_the_discretizing_wrapper_is_suggested_where_it_fits():
    found = config_problems(["env=pendulum", "agent=dqn"])
    assert "add {name: ActionDiscretizeWrapper, num_actions: 5} to env.wrappers" in found[0]
    wrapped = "env.wrappers=[{name: ActionDiscretizeWrapper, num_actions: 5}]"
    assert config_problems(["env=pendulum", "agent=dqn", wrapped]) == []


def test_pendulum_discrete_refuses_a_discrete_action_id():
    found = config_problems(["env=pendulum_discrete", "env.gym_id=CartPole-v1"])
    assert len(found) == 1, found
    assert "ActionDiscretizeWrapper needs continuous actions" in found[0]
    assert "env=gym env.gym_id=CartPole-v1" in found[0]
    assert config_problems(["env=gym", "env.gym_id=CartPole-v1"]) == []
    assert config_problems(["env=pendulum_discrete", "env.gym_id=MountainCarContinuous-v0"]) == []


@needs("atari")
def test_atari_refuses_a_gymnasium_id_that_is_not_an_ale_game():
    found = config_problems(["env=atari", "network=nature_q_network", "env.gym_id=CartPole-v1"])
    assert len(found) == 1 and "not an ALE id" in found[0], found
    assert "env=gymnasium env.gym_id=CartPole-v1" in found[0]


@pytest.mark.parametrize("gym_id", ["PongNoFrameskip-v4", "ALE/Pong-v5"])
def test_an_atari_id_under_env_gym_is_pointed_to_env_atari(gym_id):
    found = config_problems(["env=gym", f"env.gym_id={gym_id}"])
    assert len(found) == 1 and "env=atari" in found[0], found
    assert "pip install" not in found[0]


@needs("atari")
def test_a_gymnasium_image_env_with_a_dense_network_is_refused():
    overrides = ["env=gymnasium", "env.gym_id=ALE/Pong-v5", "plugins=[ale_py]", "agent=dqn"]
    overrides += ["driver=step", "buffer=tf_uniform", "buffer.max_length=1000"]
    found = config_problems(overrides)
    assert len(found) == 1 and "env=gymnasium observes images" in found[0], found
    assert config_problems([*overrides, "network=nature_q_network"]) == []
    assert config_problems(["env=gymnasium"]) == []  # CartPole's vector observations
