"""`rlexp resume <sweep dir>` finishes a stopped sweep in its own folders: completed runs
stay as they are, a stopped run goes on exactly, a run that never began trains."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
from conftest import invoke_main
from test_reproducibility import comparable
from test_signals import RUN, read_json, start, wait_for_evaluations
from test_sweeps import events, hparams_data

from rlexp.sweeps.job import _say_how_it_ended as say_how_it_ended

JOBS = ("0_seed=0", "1_seed=1", "2_seed=2")


@pytest.fixture(scope="module")
def stopped_sweep(tmp_path_factory) -> Path:
    """A sequential sweep of seeds 0-2 stopped by SIGTERM while job 1 trained: job 0
    completed, job 1 interrupted, job 2 never started."""
    sweep_dir = tmp_path_factory.mktemp("stopped") / "sweep"
    proc = start(
        "-m", "seed=0,1,2", *RUN, "hydra.launcher.n_jobs=1", f"hydra.sweep.dir={sweep_dir}"
    )
    wait_for_evaluations(sweep_dir / JOBS[1], proc, 2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert f"continue it with: rlexp resume {sweep_dir}" in out
    statuses = [read_json(sweep_dir / j / "metrics.json").get("status") for j in JOBS[:2]]
    assert statuses == ["completed", "interrupted"]
    assert not (sweep_dir / JOBS[2] / "metrics.json").exists()
    return sweep_dir


def copy_of(sweep_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "sweep"
    shutil.copytree(sweep_dir, copy)
    return copy


def test_a_resumed_sweep_finishes_every_run_in_its_folder(stopped_sweep, tmp_path, run_cli):
    sweep_dir = copy_of(stopped_sweep, tmp_path)
    completed = (sweep_dir / JOBS[0] / "metrics.json").read_bytes()

    result = run_cli("resume", sweep_dir)

    assert result.code == 0, result.describe()
    assert "[job 0 seed 0] completed before" in result.out
    assert (sweep_dir / JOBS[0] / "metrics.json").read_bytes() == completed
    for job in JOBS:
        assert read_json(sweep_dir / job / "metrics.json")["status"] == "completed", job
        assert_one_session_that_succeeded(sweep_dir / job)
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == list(JOBS)
    record = read_json(sweep_dir / "sweep.json")
    assert record["status"] == "finished"
    assert record["invocations"][-1]["resumes"] == 0
    again = invoke_main("resume", str(sweep_dir))
    assert again.code == 0 and "all its runs completed; nothing to resume" in again.out
    # the stopped run went on exactly: as the same run never stopped
    alone = tmp_path / "alone"
    single = run_cli("train", *RUN, "seed=1", f"hydra.run.dir={alone}")
    assert single.code == 0, single.describe()
    resumed = comparable(read_json(sweep_dir / JOBS[1] / "metrics.json"))
    assert resumed == comparable(read_json(alone / "metrics.json"))


def assert_one_session_that_succeeded(run_dir: Path) -> None:
    """TensorBoard shows a run's first HParams session: an old one must not survive."""
    from tensorboard.plugins.hparams import api_pb2

    assert session_status(run_dir) == api_pb2.STATUS_SUCCESS, run_dir


def session_status(run_dir: Path) -> int:
    """The end status of the run's one HParams session."""
    from tensorboard.plugins.hparams import metadata

    data = hparams_data(run_dir)
    assert len(data[metadata.SESSION_START_INFO_TAG]) == 1, run_dir
    (end,) = data[metadata.SESSION_END_INFO_TAG]
    return end.session_end_info.status


def test_a_sweep_run_resumed_alone_records_how_it_ended(stopped_sweep, tmp_path, run_cli):
    from tensorboard.plugins.hparams import api_pb2

    run_dir = copy_of(stopped_sweep, tmp_path) / JOBS[1]
    assert session_status(run_dir) == api_pb2.STATUS_UNKNOWN  # stopped, not failed
    result = run_cli("resume", run_dir)
    assert result.code == 0, result.describe()
    assert read_json(run_dir / "job.json")["status"] == "completed"
    assert_one_session_that_succeeded(run_dir)


@pytest.mark.parametrize(
    "status, shown",
    [
        ("completed", "STATUS_SUCCESS"),
        ("interrupted", "STATUS_UNKNOWN"),
        ("failed", "STATUS_FAILURE"),
    ],
)
def test_an_interrupted_run_is_no_failure_in_hparams(tmp_path, status, shown):
    """An interrupted run is resumable: TensorBoard's HParams shows it as Unknown (how it
    ends is not known yet), not as Failure, and not as Running, which it is not."""
    import time

    from tensorboard.plugins.hparams import api_pb2

    from rlexp.sweeps.hparams import write_session

    metrics = {"status": status, "env_steps": 1500, "evaluations": []}
    write_session(tmp_path, {"seed": "1"}, metrics, "final_eval_return", time.time())
    assert api_pb2.Status.Name(session_status(tmp_path)) == shown


def test_resuming_trims_the_training_events_but_not_the_hparams_session(tmp_path):
    """The session is the job's to write anew; merged into the trimmed events it was a
    second session, which TensorBoard would show instead of the new one."""
    import time

    import tensorflow as tf

    from rlexp.sweeps.hparams import write_session
    from rlexp.training.checkpoints import trim_events

    metrics = {"status": "interrupted", "env_steps": 1500, "evaluations": []}
    session = write_session(tmp_path, {"seed": "1"}, metrics, "final_eval_return", time.time())
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        for step in (500, 1000, 1500):
            tf.summary.scalar("train/loss", 1.0, step=step)
    before = session.read_bytes()
    trim_events(tmp_path, 1000)
    assert session.read_bytes() == before
    trimmed = [
        e for e in events(tmp_path) if e.summary.value and e.summary.value[0].tag == "train/loss"
    ]
    assert [e.step for e in trimmed] == [500, 1000]


def test_tensorboard_reads_the_trimmed_events_before_the_resumed_ones(tmp_path, monkeypatch):
    """TensorBoard reads a run's event files in name order. The resumed writer's file, made
    in the same second as the trim, is named after the host: on `a-node` (any name before
    "resumed-at") its later steps came first, and a second trim kept them first."""
    import socket
    import time

    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.scalar.summary_v2 import scalar_pb

    from rlexp.sweeps.event_files import EventWriter
    from rlexp.training.checkpoints import trim_events

    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        for step in (500, 1000, 1500):
            tf.summary.scalar("train/loss", 1.0, step=step)
    now = float(int(time.time()))
    monkeypatch.setattr(time, "time", lambda: now)  # the resume within one second
    monkeypatch.setattr(socket, "gethostname", lambda: "a-node")
    trim_events(tmp_path, 1000)
    with EventWriter(tmp_path) as resumed:
        for step in (1250, 1500):
            resumed.summary(scalar_pb("train/loss", 1.0), step)

    def steps() -> list[int]:
        accumulator = EventAccumulator(str(tmp_path))
        accumulator.Reload()
        return [event.step for event in accumulator.Tensors("train/loss")]

    assert steps() == [500, 1000, 1250, 1500]
    trim_events(tmp_path, 1250)  # resumed again
    assert steps() == [500, 1000, 1250]
    assert [e.step for e in events(tmp_path) if e.summary.value] == [500, 1000, 1250]


def refused(sweep_dir: Path, *args: str) -> str:
    before = {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()}
    result = invoke_main("resume", str(sweep_dir), *args)
    assert result.code == 2, result.describe()
    assert {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()} == before
    return result.err


def test_a_sweep_resumes_only_as_it_was_launched(stopped_sweep, tmp_path):
    sweep_dir = copy_of(stopped_sweep, tmp_path)
    assert "it takes no overrides (agent.gamma=0.5)" in refused(sweep_dir, "agent.gamma=0.5")
    assert "--config-dir nowhere: no such directory" in refused(
        sweep_dir, "--config-dir", "nowhere"
    )
    saved = sweep_dir / JOBS[0] / ".hydra" / "config.yaml"
    saved.write_text(saved.read_text().replace("env_steps: 4000", "env_steps: 3000"))
    err = refused(sweep_dir)
    assert f"job {JOBS[0]}: refusing to resume: the config differs" in err
    assert "-  env_steps: 3000" in err


def test_job_folders_of_the_users_own_names_are_checked_too(stopped_sweep, tmp_path):
    """With `hydra.sweep.subdir=run${hydra.job.num}` every run folder of the sweep is a job
    to check (they were skipped, and Hydra rewrote an edited job's .hydra/config.yaml)."""
    sweep_dir = copy_of(stopped_sweep, tmp_path)
    for num, job in enumerate(JOBS[:2]):
        (sweep_dir / job).rename(sweep_dir / f"run{num}")
    record = read_json(sweep_dir / "sweep.json")
    record["invocations"][-1]["hydra_overrides"].append("hydra.sweep.subdir=run${hydra.job.num}")
    (sweep_dir / "sweep.json").write_text(json.dumps(record))
    saved = sweep_dir / "run0" / ".hydra" / "config.yaml"
    saved.write_text(saved.read_text().replace("env_steps: 4000", "env_steps: 3000"))
    assert "job run0: refusing to resume: the config differs" in refused(sweep_dir)
    del record["invocations"][-1]["overrides"]
    (sweep_dir / "sweep.json").write_text(json.dumps(record))
    assert "is damaged: invocation 0 lists no overrides" in refused(sweep_dir)


def test_an_optuna_study_is_continued_by_its_own_command(stopped_sweep, tmp_path):
    from rlexp.sweeps.sweepers import OPTUNA_SWEEPER

    sweep_dir = copy_of(stopped_sweep, tmp_path)
    record = read_json(sweep_dir / "sweep.json")
    record["invocations"][-1]["sweeper"] = OPTUNA_SWEEPER
    (sweep_dir / "sweep.json").write_text(json.dumps(record))
    err = refused(sweep_dir)
    assert "whose jobs are not known in advance" in err
    assert f"hydra.sweep.dir={sweep_dir}" in err


def test_a_sweep_still_running_is_refused(stopped_sweep, tmp_path):
    from rlexp.rundir import RunLock

    sweep_dir = copy_of(stopped_sweep, tmp_path)
    with RunLock(sweep_dir / JOBS[1]):  # as the run's training process holds it
        err = refused(sweep_dir)
    assert "is in use by another rlexp process" in err
    assert "the sweep may still be running" in err


def test_an_unreadable_sweep_record_is_refused(stopped_sweep, tmp_path):
    sweep_dir = copy_of(stopped_sweep, tmp_path)
    (sweep_dir / "sweep.json").write_text("{")
    assert f"cannot read {sweep_dir / 'sweep.json'}" in refused(sweep_dir)
    (sweep_dir / "sweep.json").write_text("{}")
    assert "records no invocation to resume" in refused(sweep_dir)


def test_an_interrupted_repeat_run_is_named_by_a_path_to_paste(tmp_path, capsys):
    """A `repeat` run sits in its job's `seed_N/`: the line names it `job/seed_N` for short,
    and its resume command gives the whole path, which works from any folder."""
    run_dir = tmp_path / "my sweep" / "0_lr=1" / "seed_3"
    say_how_it_ended(
        "[job 0 seed 3]", {"status": "interrupted"}, "x", 0.0, "0_lr=1/seed_3", run_dir
    )
    assert f"rlexp resume '{run_dir}'" in capsys.readouterr().err


def test_a_sweep_resumes_with_every_config_dir_it_is_given(stopped_sweep, tmp_path):
    """Several config directories reach Hydra as one search path: of several `--config-dir`
    flags Hydra reads only the last (and rlexp refuses them)."""
    from rlexp.composition import check_config_dir_flags, config_dirs
    from rlexp.sweeps.resume import sweep_argv

    sweep_dir = copy_of(stopped_sweep, tmp_path)
    dirs = [tmp_path / "a", tmp_path / "b"]
    for directory in dirs:
        directory.mkdir()
    argv, _ = sweep_argv(sweep_dir, dirs)
    check_config_dir_flags(argv)
    assert config_dirs(argv) == dirs
    argv, _ = sweep_argv(sweep_dir, dirs[:1])
    assert config_dirs(argv) == dirs[:1]
