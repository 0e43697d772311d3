"""The run directory is the user's data: claimed before anything is written, locked while
a process trains it, and left untouched by a refused or failed start."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rlexp import rundir
from rlexp.rundir import RunDirError, RunLock
from rlexp.training import claim


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def foreign_dir(tmp_path: Path) -> Path:
    """The issue's case: user data in a folder whose name ends in .log."""
    run_dir = tmp_path / "d"
    (run_dir / "archive.log").mkdir(parents=True)
    (run_dir / "archive.log" / "results.csv").write_text("x\n")
    return run_dir


@pytest.mark.parametrize("budget", ["train.env_steps=0", "train.env_steps=100"])
def test_train_into_a_directory_with_foreign_data_is_refused(cli, tmp_path, budget):
    run_dir = foreign_dir(tmp_path)
    before = snapshot(tmp_path)
    result = cli("train", f"hydra.run.dir={run_dir}", budget)
    assert result.code == 2, result.describe()
    assert str(run_dir) in result.err and "choose a new directory" in result.err
    assert "rlexp resume" not in result.err  # not a run: resuming it would be refused too
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_train_into_an_existing_run_is_refused(cli, trained_run):
    """A completed run has nothing to resume: the advice is a new directory."""
    before = snapshot(trained_run.run_dir)
    result = cli("train", f"hydra.run.dir={trained_run.run_dir}")
    assert result.code == 2, result.describe()
    assert "holds a completed run" in result.err and "choose a new directory" in result.err
    assert "rlexp resume" not in result.err and "did not create" not in result.err
    assert snapshot(trained_run.run_dir) == before


@pytest.mark.parametrize(
    ("status", "checkpoint", "advice"),
    [
        ("interrupted", True, "did not finish. To continue the run there: rlexp resume"),
        ("failed", True, "failed (RuntimeError: boom). To continue the run there: rlexp resume"),
        ("failed", False, "failed before its first checkpoint (RuntimeError: boom). To start"),
        ("running", False, "did not finish and has no checkpoint to resume from (it was"),
    ],
)
def test_the_advice_for_an_existing_run_follows_how_it_ended(
    cli, tmp_path, status, checkpoint, advice
):
    """Resuming a run that failed or was killed before its first checkpoint is refused:
    not advised."""
    run_dir = fake_run(tmp_path / "run")
    metrics = {"status": status, "error": "RuntimeError: boom"}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    if checkpoint:
        add_checkpoint(run_dir)
    result = cli("train", f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    assert f"{run_dir} already exists and holds a run that {advice}" in result.err
    assert ("rlexp resume" in result.err) == checkpoint


@pytest.mark.parametrize(
    ("command", "key", "inside"),
    [
        ("train", "hydra.run.dir", "mine"),
        ("train", "hydra.run.dir", "checkpoints"),  # it suggested resuming that folder
        ("-m", "hydra.sweep.dir", "sweep"),
    ],
)
def test_a_new_run_or_sweep_inside_a_run_directory_is_refused(
    cli, tmp_path, command, key, inside
):
    """The other run's directory would hold it, and `rlexp report` of that one would miss
    it (a run directory is one run)."""
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text("seed: 0\n")
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "checkpoint").write_text("x\n")
    before = snapshot(tmp_path)
    result = cli(command, "seed=0,1" if command == "-m" else "seed=0", f"{key}={run_dir / inside}")
    assert result.code == 2, result.describe()
    assert f"{key}={run_dir / inside} lies inside the run directory {run_dir}" in result.err
    assert snapshot(tmp_path) == before


def fake_run(run_dir: Path) -> Path:
    """A folder that holds a run (its .hydra/config.yaml)."""
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text("seed: 0\n")
    return run_dir


def add_checkpoint(run_dir: Path) -> None:
    """What `newest_on_disk` takes for a checkpoint of the run."""
    (run_dir / "checkpoints").mkdir()
    for name in ("ckpt-100.index", "trainer_state-100.json"):
        (run_dir / "checkpoints" / name).write_text("x")


def test_the_inside_a_run_check_follows_dotdot(cli, tmp_path):
    """`base/../sibling` is beside the run `base`; `nonexist/../base/sub` is inside it."""
    base = fake_run(tmp_path / "base")
    before = snapshot(tmp_path)
    inside = tmp_path / "nonexist" / ".." / "base" / "sub"
    result = cli("train", f"hydra.run.dir={inside}")
    assert result.code == 2, result.describe()
    assert f"hydra.run.dir={inside} lies inside the run directory {base}" in result.err
    assert not (tmp_path / "nonexist").exists() and snapshot(tmp_path) == before

    beside = tmp_path / "base" / ".." / "sibling"
    result = cli("train", f"hydra.run.dir={beside}", "agent.gamma=2")  # refused by validation
    assert result.code == 2, result.describe()
    assert "lies inside" not in result.err and "agent.gamma" in result.err
    assert snapshot(tmp_path) == before  # the sibling it created is removed again


def test_a_dangling_symlink_as_run_directory_is_refused(cli, tmp_path):
    (tmp_path / "ud").mkdir()
    link = tmp_path / "ud" / "link"
    link.symlink_to(tmp_path / "ud" / "missing")
    result = cli("train", f"hydra.run.dir={link}")
    assert result.code == 2, result.describe()
    assert f"{link} is a symbolic link to {tmp_path / 'ud' / 'missing'}" in result.err
    assert "mkdir -p" in result.err and "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "ud").iterdir()) == ["link"]


def test_a_run_directory_is_claimed_atomically(tmp_path, monkeypatch, capsys):
    """The claim creates the lock file exclusively and holds it: a second claim, even one
    whose checks ran before the first claim created anything, is refused."""
    run_dir = tmp_path / "race"
    claim.claim(run_dir, "run")
    try:
        with pytest.raises(SystemExit) as refused:
            claim.claim(run_dir, "run")
        assert refused.value.code == 2
        assert f"{run_dir} is in use by another rlexp process (pid {os.getpid()})" in (
            capsys.readouterr().err
        )
        monkeypatch.setattr(rundir, "foreign_entries", lambda _: [])  # its checks ran first
        monkeypatch.setattr(rundir, "lock_holder", lambda _: None)
        with pytest.raises(SystemExit) as refused:
            claim.claim(run_dir, "run")
        assert refused.value.code == 2 and "is in use" in capsys.readouterr().err
    finally:
        claim.discard_unstarted(run_dir)
    assert not run_dir.exists()


# A short valid run: what a claim that failed open would go on to train.
A_VALID_RUN = (
    "train.env_steps=400",
    "train.prefill_steps=100",
    "driver.num_steps=128",
    "train.eval_episodes=1",
)


def test_a_directory_the_claim_cannot_check_is_refused(cli, tmp_path, monkeypatch):
    """Hydra turns a callback's exception into a warning and starts the run anyway: an
    error while claiming (a folder the user may write but not list) must refuse it."""
    user_dir = tmp_path / "wo"
    user_dir.mkdir()
    (user_dir / "notes.txt").write_text("precious\n")

    def unlistable(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(rundir, "foreign_entries", unlistable)
    result = cli("train", f"hydra.run.dir={user_dir}", *A_VALID_RUN)
    assert result.code == 2, result.describe()
    assert f"cannot claim hydra.run.dir={user_dir} (PermissionError" in result.err
    assert "Traceback" not in result.output and "UserWarning" not in result.output
    assert sorted(p.name for p in user_dir.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("where", ["lock-file", "pid"])
def test_a_full_disk_while_claiming_removes_what_the_claim_created(
    cli, tmp_path, monkeypatch, where
):
    new = tmp_path / "new" / "run"
    full = OSError(28, os.strerror(28))
    real_open = os.open

    def open_on_a_full_disk(path, *args, **kwargs):
        if Path(path).name == rundir.LOCK_FILE:
            raise full
        return real_open(path, *args, **kwargs)

    def pwrite_on_a_full_disk(fd, data, offset):
        raise full

    if where == "lock-file":
        monkeypatch.setattr(os, "open", open_on_a_full_disk)
    else:
        monkeypatch.setattr(os, "pwrite", pwrite_on_a_full_disk)
    result = cli("train", f"hydra.run.dir={new}", *A_VALID_RUN)
    monkeypatch.undo()
    assert result.code == 2, result.describe()
    assert f"no space left on device while creating the run directory {new}" in result.err
    assert "Traceback" not in result.output and "UserWarning" not in result.output
    assert sorted(tmp_path.iterdir()) == []  # the folders it made for the run, and no more


def test_a_full_disk_as_hydra_writes_the_run_files_removes_the_run_directory(
    cli, tmp_path, monkeypatch
):
    """The claim succeeded, then Hydra's save of .hydra/config.yaml met a full disk: the
    start failed, so what it created goes, and the message names the run directory."""
    from hydra.core import utils

    def full(*args):
        raise OSError(28, os.strerror(28))

    new = tmp_path / "new" / "run"
    monkeypatch.setattr(utils, "_save_config", full)
    result = cli("train", f"hydra.run.dir={new}", *A_VALID_RUN)
    assert result.code == 2, result.describe()
    assert f"no space left on device while writing the run directory {new}" in result.err
    assert f"removed {new}, which held nothing of the run yet" in result.err
    assert "Traceback" not in result.output
    assert sorted(tmp_path.iterdir()) == []


def test_a_full_disk_as_the_trainer_locks_a_new_run_removes_the_run_directory(
    cli, tmp_path, monkeypatch
):
    """The claim and Hydra's files were written, then the trainer's lock met a full disk:
    the run never began, so what was created for it goes."""
    from rlexp import rundir

    def full(lock):
        raise lock._write_error(OSError(28, os.strerror(28)))

    new = tmp_path / "new" / "run"
    monkeypatch.setattr(rundir.RunLock, "acquire", full)
    result = cli("train", f"hydra.run.dir={new}", *A_VALID_RUN)
    assert result.code == 2, result.describe()
    assert "no space left on device while writing the lock file" in result.err
    assert f"removed {new}, which held nothing of the run yet" in result.err
    assert sorted(tmp_path.iterdir()) == []


def test_the_remains_of_a_start_on_a_full_disk_are_not_a_run_to_resume(cli, tmp_path):
    """An older rlexp left these (all empty) when a start met a full disk: resuming them
    cannot work, so it is not advised."""
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    for name in (".hydra/config.yaml", ".rlexp.lock", "train.log"):
        (run_dir / name).write_bytes(b"")
    before = snapshot(tmp_path)
    result = cli("train", f"hydra.run.dir={run_dir}", *A_VALID_RUN)
    assert result.code == 2, result.describe()
    assert "a run that failed as it started" in result.err and "nothing to resume" in result.err
    assert "rlexp resume" not in result.err and "did not finish" not in result.err
    assert snapshot(tmp_path) == before


def test_a_sweep_into_a_directory_with_data_names_the_sweeps_key(cli, tmp_path):
    result = cli("-m", "seed=0,1", f"hydra.sweep.dir={foreign_dir(tmp_path)}")
    assert result.code == 2, result.describe()
    assert "leave hydra.sweep.dir unset" in result.err


def test_failed_validation_removes_only_what_it_created(cli, tmp_path):
    new = tmp_path / "new" / "nested" / "run"
    result = cli("train", f"hydra.run.dir={new}", "agent.gamma=2")
    assert result.code == 2, result.describe()
    assert not (tmp_path / "new").exists()  # the folders it made for the run, and no more

    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("train", f"hydra.run.dir={empty}", "agent.gamma=2")
    assert result.code == 2, result.describe()
    assert empty.is_dir() and not any(empty.iterdir())  # it existed: it stays, empty


def test_a_run_whose_components_cannot_be_built_removes_only_what_it_created(cli, tmp_path):
    """A setting refused while building (a replay buffer larger than memory) leaves nothing
    that would block the corrected command; a directory that existed stays, empty."""
    huge = "buffer.max_length=10000000000"
    new = tmp_path / "new" / "run"
    result = cli("train", f"hydra.run.dir={new}", "train.env_steps=2000", huge)
    assert result.code == 2, result.describe()
    assert "lower buffer.max_length" in result.err
    assert f"removed {new}, which held nothing of the run yet" in result.err
    assert not (tmp_path / "new").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("train", f"hydra.run.dir={empty}", "train.env_steps=2000", huge)
    assert result.code == 2, result.describe()
    assert empty.is_dir() and not any(empty.iterdir())


def test_a_locked_run_refuses_a_second_process(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunDirError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path).acquire()
    with RunLock(tmp_path) as lock:  # released: free again, with no note
        assert lock.took_over_from is None


def test_resume_of_a_locked_run_names_the_holder(cli, trained_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.run_dir, run_dir)
    rundir.mark_status(run_dir, "interrupted", None)  # resumable
    before = snapshot(run_dir)
    with RunLock(run_dir):
        result = cli("resume", run_dir)
    assert result.code == 2, result.describe()
    assert snapshot(run_dir) == before
    assert f"pid {os.getpid()}" in result.err
    assert "Traceback" not in result.output


def test_resume_removes_the_temp_folder_of_a_killed_checkpoint_save(cli, trained_run, tmp_path):
    """A kill during TensorFlow's save leaves `checkpoints/ckpt-<step>_temp/` with its part
    files; the resume removes it (a folder of that name holding anything else stays)."""
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.run_dir, run_dir)
    rundir.mark_status(run_dir, "interrupted", None)  # resumable
    stale = run_dir / "checkpoints" / "ckpt-30274_temp"
    stale.mkdir()
    for name in ("part-00000-of-00001.index", "part-00000-of-00001.data-00000-of-00001"):
        (stale / name).write_bytes(b"\0")
    other = run_dir / "checkpoints" / "ckpt-7_temp"
    other.mkdir()
    (other / "notes.txt").write_text("mine\n")
    result = cli("resume", run_dir)
    assert result.code == 0, result.describe()
    assert not stale.exists() and (other / "notes.txt").read_text() == "mine\n"


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / rundir.LOCK_FILE).write_text("999999999\n")  # no flock held: its holder died
    with RunLock(tmp_path) as lock:
        assert lock.took_over_from == 999999999
        assert (tmp_path / rundir.LOCK_FILE).read_text().strip() == str(os.getpid())


def test_json_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        rundir.write_json_atomic(tmp_path / "x.json", {"a": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- sweep job folders

# Refused before any job starts; were it not, two short runs.
SMALL_SWEEP = ("seed=0,1", "train.env_steps=3000", "train.progress=false", "hydra/launcher=basic")


def finished_sweep(sweep_dir: Path, record: str | None = None) -> Path:
    """A sweep directory as one invocation of `rlexp -m seed=0,1` leaves it (its runs
    reduced to a metrics.json); `record`: sweep.json's text instead of a sound record."""
    sweep_dir.mkdir(parents=True)
    sound = {"invocations": [{"overrides": ["seed=0,1"]}], "status": "finished"}
    (sweep_dir / "sweep.json").write_text(record if record is not None else json.dumps(sound))
    for job in ("0_seed=0", "1_seed=1"):
        (sweep_dir / job).mkdir()
        (sweep_dir / job / "metrics.json").write_text('{"status": "completed"}\n')
    return sweep_dir


def test_sweep_jobs_that_would_share_a_folder_are_refused(cli, tmp_path):
    sweep_dir = tmp_path / "sw"
    result = cli("-m", *SMALL_SWEEP, f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=run")
    assert result.code == 2, result.describe()
    assert f"names one folder, {sweep_dir / 'run'}, for jobs 0 and 1" in result.err
    assert "${hydra.job.num}" in result.err and "Traceback" not in result.output
    assert not sweep_dir.exists()


def test_a_sweep_into_existing_job_folders_is_refused(cli, tmp_path):
    """The user's own subdir pattern names the folders of the sweep's earlier jobs: refused
    before any job starts (rlexp's own pattern would have prefixed them c1-)."""
    sweep_dir = finished_sweep(tmp_path / "sw")
    before = snapshot(tmp_path)
    subdir = "hydra.sweep.subdir=${hydra.job.num}_${hydra.job.override_dirname}"
    result = cli("-m", *SMALL_SWEEP, f"hydra.sweep.dir={sweep_dir}", subdir)
    assert result.code == 2, result.describe()
    assert f"job 0's folder {sweep_dir / '0_seed=0'} already exists" in result.err
    assert "(so do the folders of 1 more jobs)" in result.err
    assert "leave hydra.sweep.subdir unset (its jobs then go to c1-<num>_<overrides>/)" in (
        result.err
    )
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "record", ["{", '{"status": "finished"}', '{"invocations": []}', "[1]"]
)
def test_a_sweep_into_a_directory_with_an_unreadable_sweep_record_is_refused(
    cli, tmp_path, record
):
    """A damaged sweep.json, or a file of the user's of that name, tells nothing of which
    folders hold runs: a new sweep there could overwrite them."""
    sweep_dir = finished_sweep(tmp_path / "sw", record)
    before = snapshot(tmp_path)
    result = cli("-m", *SMALL_SWEEP, f"hydra.sweep.dir={sweep_dir}")
    assert result.code == 2, result.describe()
    assert f"{sweep_dir / 'sweep.json'} is not a sweep record rlexp can read" in result.err
    assert "another hydra.sweep.dir" in result.err and "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_a_run_directory_given_as_a_sweep_directory_names_the_run_to_resume(cli, tmp_path):
    run = fake_run(tmp_path / "run")
    add_checkpoint(run)
    result = cli("-m", "seed=0,1", f"hydra.sweep.dir={run}")
    assert result.code == 2, result.describe()
    assert f"To continue the run there: rlexp resume {run}" in result.err
