"""Determinism, provenance and exact resume after SIGKILL (issue: reproducible runs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import RLEXP, ROOT, _subprocess_env, invoke_main, sigterm_once_past

from rlexp.composition import compose_config

# Short, but every mechanism fires: evaluations, summaries every iteration, checkpoints.
RUN = (
    "train.env_steps=4000",
    "train.prefill_steps=500",
    "driver.num_steps=100",
    "train.train_steps_per_iteration=50",
    "train.eval_interval=500",
    "train.eval_episodes=2",
    "train.summary_interval=100",
    "train.checkpoint_interval=1000",
    "train.progress=false",
    "buffer.sample_batch_size=32",
    "env.max_episode_steps=100",  # bounds the cost of evaluations
)
TIMES = {"wall_time_s", "train_wall_time_s", "solved_at_wall_time_s"}


def comparable(metrics: dict) -> dict:
    """metrics.json without wall-clock values, which differ between any two runs."""
    result = {k: v for k, v in metrics.items() if k not in TIMES}
    result["evaluations"] = [
        {k: v for k, v in e.items() if k != "train_wall_time_s"} for e in metrics["evaluations"]
    ]
    return result


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]


def train_in_process(run_dir: Path, *extra: str) -> dict:
    from rlexp.training.trainer import train

    return train(compose_config([*RUN, *extra]), run_dir)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run, through the CLI (in this process) so it has .hydra/."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    result = invoke_main("train", *RUN, f"hydra.run.dir={run_dir}")
    assert result.code == 0, result.describe()
    return run_dir


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def test_same_config_and_seed_give_bitwise_equal_results(reference, tmp_path):
    train_in_process(tmp_path / "again")
    assert comparable(read_metrics(tmp_path / "again")) == comparable(read_metrics(reference))
    for tag in ("train/loss", "train/average_return", "eval/average_return"):
        assert scalars(tmp_path / "again", tag) == scalars(reference, tag), tag


@pytest.mark.slow
def test_another_seed_gives_other_results(reference, tmp_path):
    train_in_process(tmp_path / "other", "seed=1")
    assert scalars(tmp_path / "other", "train/loss") != scalars(reference, "train/loss")


def past_the_first_periodic_checkpoint(run_dir: Path) -> bool:
    """A checkpoint past the run's start (checkpoint_interval=1000) is complete."""
    index = run_dir / "checkpoints" / "checkpoint"
    text = index.read_text() if index.is_file() else ""
    steps = [int(s) for s in re.findall(r'"ckpt-(\d+)"', text)]
    return any(step >= 1000 for step in steps)


def test_resume_after_sigkill_equals_the_uninterrupted_run(reference, tmp_path):
    run_dir = tmp_path / "killed"
    command = [str(RLEXP), "train", *RUN, f"hydra.run.dir={run_dir}"]
    proc = subprocess.Popen(command, cwd=ROOT, env=_subprocess_env(), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not past_the_first_periodic_checkpoint(run_dir):
        assert proc.poll() is None, "the run ended before its first periodic checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = read_metrics(run_dir)
    assert killed_at["status"] == "running" and killed_at["env_steps"] < 4000, killed_at

    resumed = subprocess.run(
        [str(RLEXP), "resume", str(run_dir)],
        cwd=ROOT,
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert comparable(read_metrics(run_dir)) == comparable(read_metrics(reference))
    for tag in ("train/loss", "train/average_return", "eval/average_return"):
        curve = scalars(run_dir, tag)
        steps = [step for step, _ in curve]
        assert len(steps) == len(set(steps)), f"{tag} has duplicated steps after resume"
        assert curve == scalars(reference, tag), tag
    record = json.loads((run_dir / "provenance.json").read_text())
    assert record["exit_status"] == "completed"
    assert record["resumes"][0]["command"].startswith("rlexp resume")


@pytest.fixture(scope="module")
def stopped_between_checkpoints(tmp_path_factory) -> Path:
    """A run SIGTERM stopped at the first summary past env step 1500 (no checkpoint point:
    its segment started at the checkpoint just past 1000)."""
    from rlexp.training.trainer import Interrupted, train

    run_dir = tmp_path_factory.mktemp("stopped") / "run"
    with sigterm_once_past(1501), pytest.raises(Interrupted):
        train(compose_config(list(RUN)), run_dir)
    assert 1500 < read_metrics(run_dir)["env_steps"] < 2000
    return run_dir


def resume_copy(run_dir: Path, to: Path, capfd) -> str:
    """Resume a copy of `run_dir` in this process; its stderr."""
    from rlexp.training.trainer import train

    shutil.copytree(run_dir, to)
    capfd.readouterr()
    train(compose_config(list(RUN)), to, resume=True)
    return capfd.readouterr().err


def test_resume_after_a_stop_between_checkpoints_equals_the_uninterrupted_run(
    reference, stopped_between_checkpoints, tmp_path, capfd
):
    stopped_at = read_metrics(stopped_between_checkpoints)["env_steps"]
    run_dir = tmp_path / "resumed"
    err = resume_copy(stopped_between_checkpoints, run_dir, capfd)
    assert re.search(rf"replayed env steps 10\d\d-{stopped_at} ", err), err
    assert comparable(read_metrics(run_dir)) == comparable(read_metrics(reference))
    for tag in ("train/loss", "train/average_return", "eval/average_return"):
        assert scalars(run_dir, tag) == scalars(reference, tag), tag


@pytest.mark.slow
def test_without_its_segments_checkpoint_a_stopped_run_resumes_repeatably(
    stopped_between_checkpoints, tmp_path, capfd
):
    runs = [tmp_path / "a", tmp_path / "b"]
    for run_dir in runs:
        shutil.copytree(stopped_between_checkpoints, run_dir / "original")
        for path in (run_dir / "original" / "checkpoints").glob("*-10[0-9][0-9]*"):
            path.unlink()  # the checkpoint the segment started from
        err = resume_copy(run_dir / "original", run_dir / "resumed", capfd)
        assert "is missing or damaged; going on from env step" in err, err
        assert read_metrics(run_dir / "resumed")["status"] == "completed"
    first, second = (comparable(read_metrics(r / "resumed")) for r in runs)
    assert first == second


def test_a_stop_in_the_last_iteration_completes_the_run_as_the_uninterrupted_one(tmp_path):
    """A signal in the loop call that reaches the budget leaves only the final phase: the
    run completes (its final summary writes the loss that call left) with the results and
    curves of the run never stopped."""
    from rlexp.training.trainer import train

    last = ("train.env_steps=2000", "train.summary_interval=300")  # 2000: no summary point
    train_in_process(tmp_path / "reference", *last)
    run_dir = tmp_path / "stopped"
    with sigterm_once_past(2000, after="run_loop_until"):
        metrics = train(compose_config([*RUN, *last]), run_dir)
    assert metrics["status"] == "completed" and metrics["env_steps"] >= 2000, metrics
    assert comparable(read_metrics(run_dir)) == comparable(read_metrics(tmp_path / "reference"))
    for tag in ("train/loss", "train/average_return", "eval/average_return"):
        assert scalars(run_dir, tag) == scalars(tmp_path / "reference", tag), tag


def test_resuming_an_env_without_seed_says_it_cannot_be_exact(tmp_path, monkeypatch, capsys):
    from rlexp.envs import gym_suite
    from rlexp.training.trainer import Interrupted, train

    load_gym = gym_suite.load_gym

    def load_gym_without_seed(cfg, seed):
        env = load_gym(cfg, seed)  # seeded once, as the user's env is when it is made

        def no_seed(seed):
            raise NotImplementedError  # PyEnvironment.seed of an env that has none

        env.seed = no_seed
        return env

    monkeypatch.setattr(gym_suite, "load_gym", load_gym_without_seed)
    run_dir, cfg = tmp_path / "run", compose_config([*RUN, "env=cartpole", "train.env_steps=1500"])
    with sigterm_once_past(1000, after="run_loop_until"), pytest.raises(Interrupted):
        train(cfg, run_dir)
    assert "seed" not in capsys.readouterr().out  # a run from its start is repeatable
    train(cfg, run_dir, resume=True)
    note = "the env has no seed(seed) method"
    assert note in capsys.readouterr().out
    assert note in (run_dir / "train.log").read_text()


def test_provenance_is_recorded(reference):
    record = json.loads((reference / "provenance.json").read_text())
    assert record["command"]
    assert record["git_commit"] and len(record["git_commit"]) == 40
    assert isinstance(record["git_dirty"], bool)
    if record["git_dirty"]:
        assert (reference / record["git_diff_file"]).is_file()
    for package in ("python", "tensorflow", "tf-agents", "gym", "hydra-core", "numpy"):
        assert record["versions"][package], package
    assert record["cpu_count"] == os.cpu_count()
    assert record["start_time"] <= record["end_time"]
    assert record["exit_status"] == "completed"

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(reference), size_guidance={"tensors": 0})
    events.Reload()
    assert "provenance" in events.Tags()["tensors"]


def last_provenance_text(run_dir: Path) -> tuple[int, str]:
    """The Text tab's latest `provenance` record: its env step and its Markdown."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    last = max(events.Tensors("provenance"), key=lambda e: e.step)
    return last.step, tf.make_ndarray(last.tensor_proto).item().decode()


def test_the_text_tab_shows_how_the_run_ended(reference, stopped_between_checkpoints, tmp_path):
    from rlexp.training.runner import Runner

    step, text = last_provenance_text(reference)
    assert step == read_metrics(reference)["env_steps"]
    assert "| exit_status | completed |" in text and "running" not in text

    step, text = last_provenance_text(stopped_between_checkpoints)
    assert step == read_metrics(stopped_between_checkpoints)["env_steps"]
    assert "| exit_status | interrupted: SIGTERM |" in text

    def summarize_fails(runner: Runner) -> None:
        raise RuntimeError("summary broke")

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(Runner, "summarize", summarize_fails)
        with pytest.raises(RuntimeError):
            train_in_process(tmp_path / "failed", "train.env_steps=1000")
    step, text = last_provenance_text(tmp_path / "failed")
    assert "| exit_status | failed: RuntimeError: summary broke |" in text


def test_resume_refuses_a_changed_config_with_a_diff(reference, cli):
    before = (reference / "metrics.json").read_bytes()
    result = cli("resume", reference, "agent.gamma=0.5")
    assert result.code == 2, result.describe()
    assert "refusing to resume" in result.err
    assert "-  gamma: 0.99" in result.err and "+  gamma: 0.5" in result.err
    assert (reference / "metrics.json").read_bytes() == before


def test_resume_may_set_what_only_the_terminal_shows(reference):
    from rlexp.training.resume import config_for_resume

    for progress in ("false", "true"):
        cfg = config_for_resume(reference, [f"train.progress={progress}"], announce=False)
        assert cfg.train.progress is (progress == "true")


def test_resume_of_a_completed_run_does_nothing(reference, cli):
    before = (reference / "metrics.json").read_bytes()
    for overrides in ([], ["seed=0", "train.progress=false"]):  # the config as it was
        result = cli("resume", reference, *overrides)
        assert result.code == 0, result.describe()
        assert "already completed" in result.out
    assert (reference / "metrics.json").read_bytes() == before


@pytest.mark.slow
def test_deterministic_false_trains_with_op_determinism_off(tmp_path):
    from tensorflow.python.framework import config as tf_config

    metrics = train_in_process(tmp_path / "fast", "deterministic=false", "train.env_steps=1500")
    assert metrics["status"] == "completed"
    assert not tf_config.is_op_determinism_enabled()
    train_in_process(tmp_path / "exact", "train.env_steps=1000")
    assert tf_config.is_op_determinism_enabled()


def test_a_py_driver_run_stopped_and_resumed_equals_the_uninterrupted_run(tmp_path, capfd):
    """driver=py collects through PyTFEagerPolicy's compiled action: each segment must draw
    its exploration from the segment's seed, as the resumed run (a new process) does."""
    from rlexp.training.trainer import Interrupted, train

    py_run = ("env=cartpole", "driver=py", "train.env_steps=1800", "train.eval_interval=900")
    config = compose_config([*RUN, *py_run])
    train(config, tmp_path / "reference")
    stopped = tmp_path / "stopped"
    with sigterm_once_past(1301), pytest.raises(Interrupted):
        train(config, stopped)
    capfd.readouterr()
    train(config, stopped, resume=True)
    assert "replayed env steps 1000-" in capfd.readouterr().err
    reference = comparable(read_metrics(tmp_path / "reference"))
    assert comparable(read_metrics(stopped)) == reference
