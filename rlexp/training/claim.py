"""The run directory is claimed before Hydra writes anything into it.

`ClaimRunDir` is a Hydra callback (listed in rlexp/conf/config.yaml). `on_run_start` runs
before Hydra creates the run directory: a directory that already holds anything is
refused, so nothing of the user's is overwritten; `rlexp resume DIR` is the way to go on
with an existing run. The claim creates the directory and its lock file exclusively, so of
two commands started at once into one new directory, one trains and the other is refused
before it writes anything. A sweep directory may be reused only by another rlexp sweep, and
no job may write into a folder that already holds anything (`on_multirun_start` checks
every job's folder before the first job starts). `discard_unstarted` undoes what this
invocation created when a run fails or is stopped before it starts (an invalid config, a
signal while TensorFlow loads), and nothing else; `discard_unbuilt` does the same when its
components fail to build (a setting their library refuses), before anything of the run is
made. Once the run is `built`, its directory is never discarded. The claim fails closed:
any error in it refuses the run (Hydra would otherwise warn and start it unclaimed), and so
does a directory setting that cannot be resolved (a preset's `${oc.env:UNSET}/runs`).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rlexp import rundir

# Run directories this process claimed -> the outermost folder it created for them (None:
# the directory existed, empty).
_CLAIMED: dict[Path, Path | None] = {}
# The lock file a claimed run directory's claim holds open (flocked) until the run starts.
_LOCKS: dict[Path, int] = {}
# Claimed run directories whose run started (the trainer holds their lock) but has not
# built its components yet -> as in _CLAIMED.
_UNBUILT: dict[Path, Path | None] = {}


def _normal(path: Path) -> Path:
    """`path` where the file system puts it: absolute, `..` and symbolic links resolved."""
    return Path(path).resolve()


def _first_missing(path: Path) -> Path | None:
    """The outermost of `path` and its ancestors that does not exist yet."""
    missing = None
    for p in (path, *path.parents):
        if p.exists():
            break
        missing = p
    return missing


def claim(run_dir: Path, what: str) -> None:
    """Refuse (exit 2) a directory that holds anything, is in use, or lies inside a run
    directory; take a run's directory (`_take`) and remember what we create. `what`: run
    or sweep."""
    given = Path(run_dir).absolute()
    key = f"hydra.{what}.dir"
    _refuse_dangling_link(given, key)
    run_dir = _normal(given)
    host = next((p for p in run_dir.parents if rundir.config_path(p).is_file()), None)
    if host is not None:  # `rlexp report <host>` reads one run there and would miss it
        _refuse(
            f"{key}={given} lies inside the run directory {host}, which holds another "
            f"run's files; choose a directory outside it"
        )
    holder = rundir.lock_holder(run_dir)
    if holder is not None:
        _refuse(_in_use(run_dir, holder))
    entries = rundir.foreign_entries(run_dir)
    if entries:
        _refuse(
            f"{run_dir} already exists and {_held_text(run_dir, entries)}To start a new "
            f"{what}, choose a new directory (or leave {key} unset for a fresh timestamped one)"
        )
    if what == "run":
        _take(run_dir)
    else:
        _CLAIMED[run_dir] = _first_missing(run_dir)


def _take(run_dir: Path) -> None:
    """Create `run_dir` and its lock file, the lock file exclusively (`O_EXCL`), and hold
    the lock until the run starts: of two processes claiming one directory at once, one
    gets it and the other is refused before Hydra writes into it."""
    import fcntl

    top = _first_missing(run_dir)
    lock_file = run_dir / rundir.LOCK_FILE
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        if lock_file.exists():  # another process claimed it since the checks above
            _refuse(_in_use(run_dir, rundir.lock_holder(run_dir) or "unknown"))
        _remove_empty_folders(run_dir, top)
        if rundir.no_space_left(exc):
            _refuse(_no_space_text(run_dir))
        _refuse(f"cannot create {lock_file} ({exc.strerror}); choose a directory you can write")
    _CLAIMED[run_dir] = top  # from here on, a failure removes what the claim created
    _LOCKS[run_dir] = fd
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: no other process has it
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _remove_empty_folders(run_dir: Path, top: Path | None) -> None:
    """Remove `run_dir` and its parents up to `top` (the folders the claim created), as
    long as each is empty: another process may have created something in them since."""
    if top is None:
        return
    for folder in (run_dir, *run_dir.parents):
        if not folder.is_relative_to(top):
            break
        try:
            folder.rmdir()
        except OSError:
            break


def _no_space_text(run_dir: Path) -> str:
    return (
        f"no space left on device while creating the run directory {run_dir}: nothing of "
        f"the run was written. {rundir.free_space_hint(run_dir)}, then try again"
    )



def _held_text(run_dir: Path, entries: list[str]) -> str:
    """What an existing `run_dir` holds, and whether `rlexp resume` would go on with it
    (by its sweep.json, or its run's metrics.json status and checkpoints)."""
    if (run_dir / rundir.SWEEP_FILE).is_file():
        return f"holds a sweep. To continue it there: rlexp resume {_quote(run_dir)}. "
    if not rundir.config_path(run_dir).is_file():
        return (
            f"holds {_shown(entries)}; rlexp never writes into a directory it did not "
            f"create. "
        )
    if _began_no_run(run_dir):
        return (
            f"holds {_shown(entries)}, what is left of a run that failed as it started (an "
            f"empty {rundir.HYDRA_DIR}/{rundir.CONFIG_FILE}, no {rundir.METRICS_FILE}, no "
            f"checkpoint): there is nothing to resume. "
        )
    metrics = rundir.read_metrics(run_dir)
    status = metrics.get("status")
    resume = f"To continue the run there: rlexp resume {_quote(run_dir)}. "
    if status == "completed":
        return "holds a completed run, which a new run never writes over. "
    from rlexp.training.checkpoints import newest_on_disk

    checkpointed = newest_on_disk(run_dir) is not None
    if status != "failed":  # interrupted or killed (running), or its record is gone
        if not checkpointed:
            return (
                "holds a run that did not finish and has no checkpoint to resume from (it "
                "was killed before its first one, or its checkpoints were deleted). "
            )
        return f"holds a run that did not finish. {resume}"
    error = metrics.get("error") or "no reason recorded"
    if checkpointed:
        return f"holds a run that failed ({error}). {resume}"
    return f"holds a run that failed before its first checkpoint ({error}). "


def _began_no_run(run_dir: Path) -> bool:
    """Whether `run_dir`'s config is empty and it has no results and no checkpoints (a
    start that failed on a full disk, by an older rlexp that did not remove it)."""
    return (
        rundir.config_path(run_dir).stat().st_size == 0
        and not (run_dir / rundir.METRICS_FILE).exists()
        and not (run_dir / rundir.CHECKPOINT_DIR).exists()
    )


def _shown(entries: list[str]) -> str:
    return ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")


def _in_use(run_dir: Path, holder: str) -> str:
    return (
        f"{run_dir} is in use by another rlexp process (pid {holder}), which writes a run "
        f"there; choose another directory"
    )


def _refuse_dangling_link(path: Path, key: str) -> None:
    """Refuse a path through a symbolic link whose target does not exist (Hydra could not
    create the directory there)."""
    link = next((p for p in (path, *path.parents) if p.is_symlink() and not p.exists()), None)
    if link is None:
        return
    target = link.parent / os.readlink(link)
    _refuse(
        f"{key}={path}: {link} is a symbolic link to {target}, which does not exist; create "
        f"it (mkdir -p {_quote(target)}), or remove the link, or choose another {key}"
    )


def _refuse(reason: str) -> NoReturn:
    print(f"rlexp: error: {reason}", file=sys.stderr)
    sys.exit(2)


def _release(run_dir: Path) -> None:
    """Close the claim's lock file (the flock goes; the pid stays for the trainer's lock)."""
    fd = _LOCKS.pop(run_dir, None)
    if fd is not None:
        os.close(fd)


def discard_unstarted(run_dir: Path) -> bool:
    """Remove what this process created for a run that never started, nothing more;
    whether there was any."""
    run_dir = _normal(run_dir)
    _release(run_dir)
    return run_dir in _CLAIMED and _remove_created(run_dir, _CLAIMED.pop(run_dir))


def discard_unbuilt(run_dir: Path) -> bool:
    """Remove what this process created for a run whose components failed to build (the
    trainer has released its lock), nothing more; whether there was any."""
    run_dir = _normal(run_dir)
    return run_dir in _UNBUILT and _remove_created(run_dir, _UNBUILT.pop(run_dir))


def _remove_created(run_dir: Path, top: Path | None) -> bool:
    """Remove `run_dir`'s contents, and the folders up to `top` that we created for it
    (None: the directory existed, empty: empty it again)."""
    if not run_dir.is_dir():
        return False
    if top is None:
        for entry in run_dir.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        return True
    shutil.rmtree(run_dir)
    for parent in run_dir.parents:  # the empty folders above it that we created
        if not parent.is_relative_to(top) or any(parent.iterdir()):
            break
        parent.rmdir()
    return True


def started(run_dir: Path) -> None:
    """The run has begun: the trainer takes the lock over. Until it is `built`, a failure
    to build its components may still discard what this process created."""
    run_dir = _normal(run_dir)
    if run_dir in _CLAIMED:
        _UNBUILT[run_dir] = _CLAIMED.pop(run_dir)
    _release(run_dir)


def built(run_dir: Path) -> None:
    """The run's components are built: its directory holds the user's data from now on."""
    _UNBUILT.pop(_normal(run_dir), None)


def discard_unstarted_runs() -> list[Path]:
    """`discard_unstarted` every run directory this process claimed whose run never began;
    the ones removed."""
    return [run_dir for run_dir in list(_CLAIMED) if discard_unstarted(run_dir)]


def _quote(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


def _check_sweep_record(sweep_dir: Path) -> None:
    """Refuse (exit 2) a sweep directory whose sweep.json is not an rlexp sweep record:
    nothing then tells which of its folders earlier sweeps wrote."""
    from rlexp.sweeps.multirun import recorded_invocations

    if recorded_invocations(sweep_dir) is None:
        _refuse(
            f"{sweep_dir / rundir.SWEEP_FILE} is not a sweep record rlexp can read (damaged, "
            f"or not written by rlexp), so nothing tells which folders of {sweep_dir} hold "
            f"earlier runs; rlexp never writes into a directory it did not create. Choose "
            f"another hydra.sweep.dir (or leave it unset for a fresh timestamped one)"
        )


def check_job_folders(config: DictConfig) -> None:
    """Refuse (exit 2), before any job starts, a sweep two of whose jobs would write one
    folder, or one of whose jobs would write into a folder that already holds anything.
    `rlexp resume <sweep dir>` launches jobs into their own folders (it checks them)."""
    import re

    from omegaconf import OmegaConf

    from rlexp.sweeps import resume
    from rlexp.sweeps.multirun import job_folders

    sweep_dir = Path(config.hydra.sweep.dir)
    pattern = str(OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir"))
    resuming = resume.resuming() is not None
    numbered = re.search(r"job\.(num|id)\b", pattern) is not None  # unique in one sweep
    if numbered and (resuming or not _names_may_exist(sweep_dir, pattern)):
        return  # composing every job's config to name its folder takes ~0.2 s a job
    folders = [Path(os.path.abspath(folder)) for folder in job_folders(config) or []]
    first_job: dict[Path, int] = {}
    for num, folder in enumerate(folders):
        if folder in first_job:
            _refuse(
                f"hydra.sweep.subdir={pattern} names one folder, {folder}, for jobs "
                f"{first_job[folder]} and {num}: each would overwrite the other's run; put "
                f"${{hydra.job.num}} in it (rlexp's default is "
                f"${{hydra.job.num}}_${{hydra.job.override_dirname}})"
            )
        first_job[folder] = num
    taken = [(num, f) for num, f in enumerate(folders) if rundir.foreign_entries(f)]
    if taken and not resuming:
        num, folder = taken[0]
        _refuse(
            f"job {num}'s folder {folder} already exists and holds "
            f"{_shown(rundir.foreign_entries(folder))}{_more(len(taken) - 1)}; rlexp never "
            f"writes into a directory it did not create. {_new_folders_hint(sweep_dir)}"
        )


def _names_may_exist(sweep_dir: Path, pattern: str) -> bool:
    """Whether a folder named by `pattern` may exist in `sweep_dir`: an entry of it starts
    with the pattern's literal beginning (a continuation's `c2-`)."""
    literal = pattern.split("${", 1)[0]
    if "/" in literal or literal.startswith("."):
        return True
    return any(name.startswith(literal) for name in rundir.foreign_entries(sweep_dir))


def _more(jobs: int) -> str:
    return f" (so do the folders of {jobs} more jobs)" if jobs else ""


def _new_folders_hint(sweep_dir: Path) -> str:
    """How a sweep into `sweep_dir` gets job folders of its own."""
    from rlexp.sweeps.multirun import invocation_prefix, recorded_invocations

    k = recorded_invocations(sweep_dir)
    folders = f"{invocation_prefix(k or 0)}<num>_<overrides>/"
    unset = f"leave hydra.sweep.subdir unset (its jobs then go to {folders}), " if k else ""
    return (
        f"To continue the sweep, {unset}give hydra.sweep.subdir a pattern that names new "
        f"folders, or choose another hydra.sweep.dir"
    )


@contextmanager
def _fail_closed(directory: Path, key: str) -> Iterator[None]:
    """Refuse (exit 2) when the claim of `directory` raises, having removed what it
    created. Hydra turns an exception from a callback into a warning and goes on, which
    would start the run in a directory that was never checked or locked; a SystemExit (a
    refusal) is the one thing it lets through."""
    try:
        yield
    except Exception as exc:
        removed = False
        with suppress(Exception):  # what it cannot remove is named by the message below
            removed = discard_unstarted(directory)
        if rundir.no_space_left(exc):
            _refuse(_no_space_text(directory))
        left = f"; removed {directory}, which it had created" if removed else ""
        _refuse(
            f"cannot claim {key}={directory} ({type(exc).__name__}: {exc}){left}. rlexp "
            f"writes only into a directory it has checked holds nothing of anyone else's and "
            f"has locked; fix the cause (permissions?) or choose another directory"
        )


def _directory(config: DictConfig, key: str) -> Path:
    """The directory `key` (`hydra.run.dir`) names; refused (exit 2) when its value cannot
    be resolved (`${oc.env:RUNROOT}/x` with RUNROOT unset): it is read before the claim's
    guard, and Hydra would turn the error into a warning."""
    from omegaconf import OmegaConf

    parent, _, leaf = key.rpartition(".")
    try:
        return Path(OmegaConf.select(config, key))
    except Exception as exc:  # noqa: BLE001 (any resolver's error: the message names it)
        raw = OmegaConf.to_container(OmegaConf.select(config, parent), resolve=False)[leaf]
        _refuse(
            f"{key}={raw}: cannot be resolved ({str(exc).splitlines()[0]}); nothing was "
            f"written. Set what it refers to, or choose the directory: {key}=<dir>"
        )


class ClaimRunDir(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = _directory(config, "hydra.run.dir")
        with _fail_closed(run_dir, "hydra.run.dir"):
            claim(run_dir, "run")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = _directory(config, "hydra.sweep.dir")
        with _fail_closed(sweep_dir, "hydra.sweep.dir"):
            if (sweep_dir / rundir.SWEEP_FILE).exists():
                _check_sweep_record(sweep_dir)  # another invocation of an rlexp sweep
            else:
                claim(sweep_dir, "sweep")
                started(sweep_dir)  # its jobs' folders are its data; the sweep handles signals
            check_job_folders(config)
