"""Disk states a run can meet: a full disk while it writes, a read-only run directory, and
damaged checkpoint files. Each ends in one clear message, no traceback, and a run directory
that `rlexp resume` can still continue (or that is left exactly as it was).

One short run on the native TF CartPole serves the module: it is trained onto a small tmpfs
that is filled up just before its second checkpoint (a real ENOSPC from TensorFlow's
SaveV2), then resumed once space is free. Where mounting is not permitted, the same error
is raised from the checkpoint manager instead.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CliResult, invoke_main

from rlexp import rundir

SHORT_RUN = (
    "train.env_steps=400",
    "train.prefill_steps=100",
    "driver.num_steps=128",
    "train.train_steps_per_iteration=16",
    "train.eval_interval=200",
    "train.checkpoint_interval=200",
    "train.eval_episodes=1",
    "train.progress=false",
)
SLACK = 256 * 1024  # left free on the full disk: metrics.json fits, a checkpoint does not


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes (the lock file aside: it only holds a pid)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != rundir.LOCK_FILE
    }


def _mount(*args: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path, slack: int) -> Path:
    """Fill the file system of `folder` up to `slack` free bytes; return the filler file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for chunk in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, bytes(chunk))
    finally:
        os.close(fd)
    os.truncate(filler, max(filler.stat().st_size - slack, 0))
    return filler


@dataclass
class FullDiskRun:
    run_dir: Path
    result: CliResult  # the training that met the full disk
    checkpoints_before: dict[str, bytes]  # checkpoints/ when the disk filled up
    checkpoints_after: dict[str, bytes]  # ... and when the run had stopped
    entries_after: list[str]  # the names in checkpoints/ then (TF's temp folders too)
    metrics: dict  # metrics.json when the run had stopped
    filler: Path | None  # what fills the tmpfs (None: the error was injected)


@pytest.fixture(scope="module")
def full_disk_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullDiskRun]:
    """The short run, stopped by a full disk at its second checkpoint."""
    import tensorflow as tf

    from rlexp.training import checkpoints

    disk = tmp_path_factory.mktemp("disk")
    real_disk = _mount("-t", "tmpfs", "-o", "size=32m", "tmpfs", str(disk))
    # tmpfs: a real ENOSPC from TF's SaveV2; elsewhere the same error is injected
    run_dir = disk / "run"
    real_save, calls, seen = checkpoints.save, [], {}

    def save_on_a_full_disk(manager, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            seen.update(snapshot(run_dir / rundir.CHECKPOINT_DIR))
            if real_disk:
                fill(disk, SLACK)
            else:  # what TF's SaveV2 raises on a full disk
                error = tf.errors.ResourceExhaustedError(
                    None, None, f"{run_dir}/checkpoints/ckpt_temp; No space left on device"
                )
                manager.save = lambda *a, **k: (_ for _ in ()).throw(error)
        return real_save(manager, *args, **kwargs)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(checkpoints, "save", save_on_a_full_disk)
            result = invoke_main("train", *SHORT_RUN, f"hydra.run.dir={run_dir}")
        after = snapshot(run_dir / rundir.CHECKPOINT_DIR)
        filler = disk / "filler" if real_disk else None
        entries = sorted(p.name for p in (run_dir / rundir.CHECKPOINT_DIR).iterdir())
        metrics = rundir.read_metrics(run_dir)
        yield FullDiskRun(run_dir, result, seen, after, entries, metrics, filler)
    finally:
        if real_disk:
            _umount(disk)


@pytest.fixture(scope="module")
def resumed_run(full_disk_run) -> Path:
    """The full-disk run, resumed in place once the space is free again."""
    if full_disk_run.filler is not None:
        full_disk_run.filler.unlink()
    result = invoke_main("resume", full_disk_run.run_dir)
    assert result.code == 0, result.describe()
    return full_disk_run.run_dir


@pytest.fixture
def interrupted_copy(resumed_run, tmp_path) -> Path:
    """A copy of the completed short run (checkpoints at two env steps) that resume tries."""
    run_dir = tmp_path / "run"
    shutil.copytree(resumed_run, run_dir)
    rundir.mark_status(run_dir, "interrupted", None)
    return run_dir


def checkpoint_steps(run_dir: Path) -> list[int]:
    folder = run_dir / rundir.CHECKPOINT_DIR
    return sorted(int(p.stem.split("-")[1]) for p in folder.glob("trainer_state-*.json"))


# A full disk


def test_a_full_disk_while_checkpointing_stops_the_run_with_a_message(full_disk_run):
    result, run_dir = full_disk_run.result, full_disk_run.run_dir
    assert result.code == 1, result.describe()
    assert "no space left on device" in result.err, result.describe()
    assert str(run_dir) in result.err and f"rlexp resume {run_dir}" in result.err
    assert "Traceback" not in result.output and "Error executing job" not in result.output
    # The checkpoint written before the disk filled up is as it was; the failed one left
    # no sidecar or TF temp folder behind.
    assert full_disk_run.checkpoints_before, "the disk filled up before any checkpoint"
    assert full_disk_run.checkpoints_after == full_disk_run.checkpoints_before
    assert sorted(full_disk_run.checkpoints_before) == full_disk_run.entries_after
    metrics = full_disk_run.metrics
    assert metrics["status"] == "failed" and metrics["error"] == "no space left on device"
    assert "marked failed" in result.err


def test_resume_after_freeing_space_continues_from_the_intact_checkpoint(resumed_run):
    metrics = rundir.read_metrics(resumed_run)
    assert metrics["status"] == "completed", metrics
    assert metrics["env_steps"] >= 400 and len(checkpoint_steps(resumed_run)) == 2
    assert (resumed_run / rundir.BEST_POLICY_DIR / "saved_model.pb").is_file()


@pytest.mark.parametrize("recorded", [True, False])
def test_a_full_disk_anywhere_in_a_run_is_one_message(tmp_path, monkeypatch, capsys, recorded):
    """metrics.json, event files, train.log or a policy export: OSError(ENOSPC) from any
    writer; when even the failure cannot be recorded, the message says so."""
    from rlexp.training import job, trainer

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rundir.write_metrics(run_dir, rundir.Metrics(status="running"))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run_dir / "metrics.json"))

    monkeypatch.setattr(trainer, "_build_runner", full)
    if not recorded:
        monkeypatch.setattr(rundir, "mark_status", full)
    with pytest.raises(SystemExit) as exit_info:
        job.train_and_report(None, run_dir, resume=False)
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert "no space left on device" in err and str(run_dir) in err
    assert "no checkpoint yet" in err and "Traceback" not in err
    status = rundir.read_metrics(run_dir)["status"]
    assert status == ("failed" if recorded else "running")
    assert ("marked failed" in err) is recorded


def test_no_space_left_is_recognised_through_the_exception_chain():
    full = OSError(errno.ENOSPC, "No space left on device")
    assert rundir.no_space_left(full)
    try:
        try:
            raise full
        except OSError as exc:
            raise RuntimeError("while writing") from exc
    except RuntimeError as wrapped:
        assert rundir.no_space_left(wrapped)
    assert rundir.no_space_left(RuntimeError("x.data-00000; No space left on device [Op:SaveV2]"))
    assert not rundir.no_space_left(OSError(errno.EACCES, "Permission denied"))


# A read-only run directory


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """`folder` as a read-only path: a read-only bind mount for root (which ignores mode
    bits), else the write bits removed. Skips where neither is possible."""
    if os.geteuid() == 0:
        view = folder.parent / f"{folder.name}-ro"
        view.mkdir()
        if not _mount("--bind", str(folder), str(view)):
            pytest.skip("a read-only view needs `mount --bind` (not permitted here)")
        if not _mount("-o", "remount,ro,bind", str(view)):
            _umount(view)
            pytest.skip("remounting read-only is not permitted here")
        try:
            yield view
        finally:
            _umount(view)
        return
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for path, mode in modes.items():
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield folder
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_resume_of_a_read_only_run_is_refused_and_changes_nothing(interrupted_copy):
    before = snapshot(interrupted_copy)
    with read_only(interrupted_copy) as view:
        result = invoke_main("resume", view)
    assert result.code == 2, result.describe()
    assert "cannot resume" in result.err and "nothing was changed" in result.err
    assert "Traceback" not in result.output
    assert snapshot(interrupted_copy) == before


def test_eval_of_a_read_only_run_reads_only(interrupted_copy):
    before = snapshot(interrupted_copy)
    with read_only(interrupted_copy) as view:
        plain = invoke_main("eval", view, "episodes=1")
        video = invoke_main("eval", view, "episodes=1", "video=true")
        report = invoke_main("report", view)
    assert plain.code == 0, plain.describe()
    assert "return over 1 episode:" in plain.out
    assert video.code == 2 and "cannot write the video" in video.err, video.describe()
    assert report.code == 2 and "out=DIR" in report.err, report.describe()
    for result in (plain, video, report):
        assert "Traceback" not in result.output
    assert snapshot(interrupted_copy) == before


def test_the_lock_of_a_read_only_run_is_a_message(tmp_path):
    (tmp_path / "run").mkdir()
    with read_only(tmp_path / "run") as view:
        with pytest.raises(rundir.RunDirError, match="cannot create the lock file"):
            rundir.RunLock(view).acquire()


# Damaged checkpoint files


@pytest.mark.parametrize(
    "index",
    [b"\xff\xfe not text \x00", b"", b'model_checkpoint_path: "ckpt-99999"\n'],
    ids=["binary", "empty", "names-a-missing-checkpoint"],
)
def test_a_damaged_checkpoint_index_resumes_from_the_newest_checkpoint_on_disk(
    interrupted_copy, index
):
    folder = interrupted_copy / rundir.CHECKPOINT_DIR
    (folder / "checkpoint").write_bytes(index)
    newest = checkpoint_steps(interrupted_copy)[-1]
    result = invoke_main("resume", interrupted_copy)
    assert result.code == 0, result.describe()
    assert f"resuming from {folder / f'ckpt-{newest}'}" in result.err, result.describe()
    assert "Traceback" not in result.output
    assert rundir.read_metrics(interrupted_copy)["status"] == "completed"


def test_a_missing_data_shard_falls_back_to_the_checkpoint_before(interrupted_copy):
    folder = interrupted_copy / rundir.CHECKPOINT_DIR
    older, newest = checkpoint_steps(interrupted_copy)
    (folder / f"ckpt-{newest}.data-00000-of-00001").unlink()
    result = invoke_main("resume", interrupted_copy)
    assert result.code == 0, result.describe()
    assert f"ckpt-{newest}.data-00000-of-00001" in result.err
    assert f"resuming from {folder / f'ckpt-{older}'} instead" in result.err
    assert rundir.read_metrics(interrupted_copy)["status"] == "completed"


@pytest.mark.parametrize("damage", ["folder-is-a-file", "no-data-shards", "killed-early"])
def test_no_usable_checkpoint_is_refused_and_changes_nothing(interrupted_copy, damage):
    """Also a run killed before its first checkpoint, which had no provenance.json yet:
    the refused resume leaves none behind."""
    folder = interrupted_copy / rundir.CHECKPOINT_DIR
    if damage == "killed-early":
        shutil.rmtree(folder)
        (interrupted_copy / rundir.PROVENANCE_FILE).unlink()
        phrase = "has no checkpoints/ folder"
    elif damage == "folder-is-a-file":
        shutil.rmtree(folder)
        folder.write_text("not a folder\n")
        phrase = "is not a folder"
    else:
        for shard in folder.glob("ckpt-*.data-*"):
            shard.unlink()
        phrase = "no intact checkpoint"
    before = snapshot(interrupted_copy)
    result = invoke_main("resume", interrupted_copy)
    assert result.code == 2, result.describe()
    assert phrase in result.err and "No checkpoint or result was changed" in result.err
    assert "Traceback" not in result.output
    assert snapshot(interrupted_copy) == before
    assert json.loads((interrupted_copy / "metrics.json").read_text())["status"] == "interrupted"


# Event files cut off by a kill or a full disk


def scalar_steps(run_dir: Path) -> list[int]:
    """The steps of `run_dir`'s scalar events, read by TensorBoard's loader."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    files = sorted(run_dir.glob(rundir.EVENTS_GLOB))
    loaded = [event for path in files for event in EventFileLoader(str(path)).Load()]
    return [event.step for event in loaded if event.summary.value]


def write_scalars(run_dir: Path, steps: tuple[int, ...]) -> Path:
    import tensorflow as tf

    with tf.summary.create_file_writer(str(run_dir)).as_default():
        for step in steps:
            tf.summary.scalar("train/loss", 1.0, step=step)
    (path,) = run_dir.glob(rundir.EVENTS_GLOB)
    return path


def test_a_cut_off_last_event_keeps_the_records_before_it(tmp_path, capsys):
    from rlexp.training.checkpoints import trim_events

    events = write_scalars(tmp_path, (500, 1000, 1500))
    os.truncate(events, events.stat().st_size - 7)  # a kill -9 mid-record
    trim_events(tmp_path, 1500)
    assert scalar_steps(tmp_path) == [500, 1000]
    assert f"{events} ends in a cut-off or damaged record" in capsys.readouterr().err


def test_a_trim_that_fails_to_write_leaves_no_partial_event_file(tmp_path, monkeypatch):
    """A full disk during the trim: the old files stay, and nothing the next resume would
    read as one of the run's event files is left behind."""
    import tensorflow as tf

    from rlexp.training.checkpoints import trim_events

    write_scalars(tmp_path, (500, 1000, 1500))
    before = snapshot(tmp_path)
    real_writer = tf.io.TFRecordWriter

    class FullDiskWriter(real_writer):
        def write(self, record):
            super().write(record)
            self.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tf.io, "TFRecordWriter", FullDiskWriter)
    with pytest.raises(OSError, match="No space left"):
        trim_events(tmp_path, 1000)
    assert snapshot(tmp_path) == before
    monkeypatch.setattr(tf.io, "TFRecordWriter", real_writer)
    trim_events(tmp_path, 1000)
    assert scalar_steps(tmp_path) == [500, 1000]


def test_a_partial_file_of_an_earlier_trim_adds_no_duplicate_events(tmp_path):
    """What an interrupted trim left (its output cut off, the old file still there): each
    event is kept once."""
    from rlexp.training.checkpoints import trim_events

    events = write_scalars(tmp_path, (500, 1000, 1500))
    partial = tmp_path / "events.out.tfevents.0000000001.resumed-at-1000.v2"
    partial.write_bytes(events.read_bytes()[: events.stat().st_size // 2])
    trim_events(tmp_path, 1000)
    assert scalar_steps(tmp_path) == [500, 1000]


def test_a_run_whose_event_file_was_cut_off_resumes_exactly(interrupted_copy, resumed_run):
    events = max(interrupted_copy.glob(rundir.EVENTS_GLOB))  # the newest writer's
    os.truncate(events, events.stat().st_size - 7)
    result = invoke_main("resume", interrupted_copy)
    assert result.code == 0, result.describe()
    assert "Traceback" not in result.output
    metrics = rundir.read_metrics(interrupted_copy)
    assert metrics["status"] == "completed"
    assert metrics["evaluations"] == rundir.read_metrics(resumed_run)["evaluations"]


def test_a_full_disk_when_a_resume_takes_the_lock_is_one_message(interrupted_copy, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    before = snapshot(interrupted_copy)
    monkeypatch.setattr(os, "pwrite", full)  # the lock file's pid
    result = invoke_main("resume", interrupted_copy)
    assert result.code == 1, result.describe()
    assert "no space left on device" in result.err and str(interrupted_copy) in result.err
    assert "Traceback" not in result.output
    assert snapshot(interrupted_copy) == before
    assert rundir.lock_holder(interrupted_copy) is None  # the lock file was closed


def test_a_lock_file_that_cannot_be_written_is_a_message(tmp_path, monkeypatch):
    def failing(*args):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "ftruncate", failing)
    with pytest.raises(rundir.RunDirError, match="cannot write the lock file .*Input/output"):
        rundir.RunLock(tmp_path).acquire()
    assert rundir.lock_holder(tmp_path) is None
