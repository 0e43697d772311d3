"""One short CartPole run through `rlexp train` (the session's `trained_run`), checked end to end:
TensorBoard events, metrics.json, checkpoints and the exported SavedModel policy."""

from __future__ import annotations

import json
import math
import textwrap

import pytest
from conftest import E2E_OVERRIDES, invoke_main

SCALAR_TAGS = (
    "train/loss",
    "train/epsilon",
    "train/average_return",
    "train/average_episode_length",
    "eval/average_return",
    "eval/average_episode_length",
    "perf/env_steps_per_sec",
    "perf/train_steps_per_sec",
)


@pytest.fixture(scope="module")
def events(trained_run):
    """{tag: [(step, ndarray), ...]} from the run's event files, read by TensorBoard itself."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(trained_run.run_dir), size_guidance={"tensors": 0})
    accumulator.Reload()
    return {
        tag: [(e.step, tf.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors(tag)]
        for tag in accumulator.Tags()["tensors"]
    }


def test_cli_reports_the_run(trained_run):
    out = trained_run.result.out
    assert "solved:" in out and "eval return: final" in out
    assert f"run directory: {trained_run.run_dir}" in out
    assert f"tensorboard --logdir {trained_run.run_dir}" in out
    # the bar is off (train.progress=false): one line per summary interval after the
    # 1000-step random prefill, also in train.log
    assert out.count("env steps ") >= (2000 - 1000) // 500
    log = (trained_run.run_dir / "train.log").read_text()
    assert "env steps 2000/2000 (100%)" in log and "run directory:" in log


def test_each_progress_line_shows_the_evaluation_of_its_step(trained_run):
    evaluations = {e["env_steps"]: e["average_return"] for e in trained_run.metrics["evaluations"]}
    checked = 0
    for line in trained_run.result.out.splitlines():
        if "env steps " not in line:
            continue
        step = int(line.split("env steps ")[1].split("/")[0])
        if step in evaluations:  # an evaluation and a summary at the same step
            assert f"| eval {evaluations[step]:.1f} |" in line, line
            checked += 1
    assert checked


@pytest.mark.parametrize("tag", SCALAR_TAGS)
def test_event_files_hold_finite_scalars(events, tag):
    assert tag in events, f"{tag} missing; tags present: {sorted(events)}"
    values = [float(value) for _, value in events[tag]]
    assert values, f"{tag} has no values"
    assert all(math.isfinite(v) for v in values), f"{tag}: {values}"


def test_config_text_summary_holds_the_run_config(events):
    assert "config" in events
    text = events["config"][0][1].item().decode()
    assert "agent:" in text and "gamma:" in text
    assert "env_steps: 2000" in text  # the command-line override, not the default


def test_config_text_summary_is_resolved(events, trained_run):
    text = events["config"][0][1].item().decode()
    assert "${" not in text, text


def test_step_axis_is_env_steps(events, trained_run):
    metrics = trained_run.metrics
    eval_steps = [step for step, _ in events["eval/average_return"]]
    assert max(eval_steps) == metrics["env_steps"]
    assert eval_steps == [e["env_steps"] for e in metrics["evaluations"]]
    eval_values = [float(v) for _, v in events["eval/average_return"]]
    assert eval_values[-1] == pytest.approx(metrics["final_eval_return"])
    assert max(step for step, _ in events["train/loss"]) == metrics["env_steps"]


def test_train_scalars_are_the_runs_values(events, trained_run):
    """Each train/* tag holds its own value: epsilon at the last summary is the schedule's at
    the run's last train step; CartPole's average return is its average episode length."""
    from omegaconf import OmegaConf

    schedule = OmegaConf.load(trained_run.run_dir / ".hydra" / "config.yaml").agent
    schedule = schedule.epsilon_greedy
    done = min(trained_run.metrics["train_steps"] / schedule.decay_steps, 1.0)
    left = (1 - done) ** schedule.power  # keras PolynomialDecay
    expected = schedule.final + (schedule.initial - schedule.final) * left
    assert float(events["train/epsilon"][-1][1]) == pytest.approx(expected, rel=1e-5)
    returns = [float(v) for _, v in events["train/average_return"]]
    assert returns == [float(v) for _, v in events["train/average_episode_length"]]
    assert max(returns) > 1


def test_metrics_json(trained_run):
    metrics = trained_run.metrics
    assert metrics["status"] == "completed"
    for key in ("final_eval_return", "best_eval_return", "env_steps", "train_steps"):
        assert key in metrics
    assert "solved_at_env_steps" in metrics  # may be null
    assert math.isfinite(metrics["final_eval_return"])
    assert math.isfinite(metrics["best_eval_return"])
    assert metrics["best_eval_return"] >= metrics["final_eval_return"]
    assert metrics["best_eval_return"] == pytest.approx(
        max(e["average_return"] for e in metrics["evaluations"])
    )
    assert metrics["env_steps"] >= 2000
    assert metrics["train_steps"] > 0
    assert metrics["wall_time_s"] > 0
    solved = metrics["solved_at_env_steps"]
    assert solved is None or 0 < solved <= metrics["env_steps"]


def test_checkpoint_exists(trained_run):
    import tensorflow as tf

    ckpt_dir = trained_run.run_dir / "checkpoints"
    latest = tf.train.latest_checkpoint(str(ckpt_dir))
    assert latest is not None, f"no checkpoint in {ckpt_dir}: {list(ckpt_dir.glob('*'))}"
    assert latest.endswith(f"ckpt-{trained_run.metrics['env_steps']}")
    assert list(ckpt_dir.glob("ckpt-*.index"))


POLICY_SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import numpy as np
    import tensorflow as tf
    from tf_agents.trajectories import time_step as ts

    policy = tf.saved_model.load(sys.argv[1])
    batch = 6
    rng = np.random.default_rng(0)
    observation = tf.constant(rng.uniform(-0.05, 0.05, (batch, 4)), tf.float32)
    step = ts.restart(observation, batch_size=batch)
    action = policy.action(step, policy.get_initial_state(batch)).action.numpy()
    assert not [m for m in sys.modules if m == "rlexp" or m.startswith("rlexp.")]
    print("ACTIONS", json.dumps({"shape": list(action.shape), "actions": action.tolist()}))
    """
)


def test_saved_policy_loads_without_rlexp(trained_run, run_python, tmp_path):
    policy_dir = trained_run.run_dir / "policy"
    assert (policy_dir / "saved_model.pb").is_file()
    script = POLICY_SCRIPT.replace("sys.argv[1]", repr(str(policy_dir)))
    result = run_python(script, cwd=tmp_path)
    assert result.code == 0, result.describe()
    line = next(x for x in result.out.splitlines() if x.startswith("ACTIONS "))
    answer = json.loads(line.removeprefix("ACTIONS "))
    assert answer["shape"] == [6]
    assert set(answer["actions"]) <= {0, 1}


def test_the_best_policy_is_exported_and_evaluated_by_default(trained_run, cli):
    metrics = trained_run.metrics
    best = max(metrics["evaluations"], key=lambda e: e["average_return"])
    assert metrics["best_eval_return"] == best["average_return"]
    assert metrics["best_eval_env_steps"] == best["env_steps"]
    assert (trained_run.run_dir / "policy_best" / "saved_model.pb").is_file()
    chosen = cli("eval", trained_run.run_dir, "episodes=1")
    assert chosen.code == 0, chosen.describe()
    assert "policy_best" in chosen.out
    final = cli("eval", trained_run.run_dir, "episodes=1", "policy=final")
    assert final.code == 0 and "policy_best" not in final.out, final.describe()
    bad = cli("eval", trained_run.run_dir, "policy=latest")
    assert bad.code == 2 and "must be best or final" in bad.err, bad.describe()


def test_stop_when_solved_ends_at_the_first_solving_evaluation(tmp_path):
    from rlexp.composition import compose_config
    from rlexp.training.trainer import train

    cfg = compose_config([*E2E_OVERRIDES, "env.reward_threshold=5", "train.stop_when_solved=true"])
    metrics = train(cfg, tmp_path / "run")
    assert metrics["status"] == "completed"
    assert metrics["solved_at_env_steps"] == metrics["evaluations"][0]["env_steps"]
    assert metrics["env_steps"] < 2000
    assert (tmp_path / "run" / "policy" / "saved_model.pb").is_file()


def test_wall_times_count_the_prefill_once(tmp_path, monkeypatch):
    """A run's wall times cannot exceed the time it took: a slow prefill (here 3 s longer)
    counts once, as the training time it is."""
    import time

    from tf_agents.drivers import dynamic_step_driver
    from tf_agents.policies import random_tf_policy

    run = dynamic_step_driver.DynamicStepDriver.run

    def slow_random_prefill(self, *args, **kwargs):
        if isinstance(self.policy, random_tf_policy.RandomTFPolicy):
            time.sleep(3)  # while tracing, inside the prefill's timing
        return run(self, *args, **kwargs)

    monkeypatch.setattr(dynamic_step_driver.DynamicStepDriver, "run", slow_random_prefill)
    began = time.perf_counter()
    result = invoke_main(
        "train",
        *E2E_OVERRIDES,
        "train.env_steps=300",
        "train.prefill_steps=100",
        "driver.num_steps=100",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    elapsed = time.perf_counter() - began
    assert result.code == 0, result.describe()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 3 < metrics["train_wall_time_s"] <= metrics["wall_time_s"] <= elapsed


def test_train_returns_start_at_the_first_finished_episode(run_cli, examples_dir, tmp_path):
    # Coin-flip episodes of 400 steps: summaries at 100-step intervals come before any ends.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    result = run_cli(
        "train",
        "plugins=[coin_flip]",
        "env=coin_flip",
        "env.episode_length=400",
        "train.env_steps=1000",
        "train.prefill_steps=100",
        "train.summary_interval=100",
        "driver.num_steps=50",
        "train.eval_interval=1000",
        "train.eval_episodes=1",
        "train.progress=false",
        f"hydra.run.dir={run_dir}",
        cwd=examples_dir,
    )
    assert result.code == 0, result.describe()
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    loss_steps = [e.step for e in events.Tensors("train/loss")]
    return_steps = [e.step for e in events.Tensors("train/average_return")]
    assert min(loss_steps) < 400 <= min(return_steps)
    assert [e.step for e in events.Tensors("train/average_episode_length")] == return_steps
