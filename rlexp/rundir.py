"""The run directory: every file name in it, how its JSON files are written, its metrics
schema, and the claim and lock that make it the user's data.

A run directory is the API between training and review: training writes it, `rlexp
report`, `rlexp eval` and `rlexp resume` read it. Every other module takes the names from
here. This module sits on the ground floor: it imports nothing from rlexp.

Layout of a run (`rlexp train`):

    .hydra/config.yaml, overrides.yaml   the composed config and the overrides (Hydra)
    .hydra/hydra.yaml                    Hydra's settings (the config directories used)
    train.log                            the job log
    events.out.tfevents.*                TensorBoard scalars, text and HParams
    metrics.json                         results (`Metrics`), rewritten at every evaluation
    provenance.json, git.diff            what produced the run
    checkpoints/                         TF checkpoints + trainer_state-<env step>.json
    policy/, policy_best/                SavedModels: the final and the best-scoring policy
    .rlexp.lock                          held while a process trains or resumes the run

A sweep directory holds sweep.json and one folder per job (job.json, output.log, and
repeat.json with one `seed_<n>` run folder per seed when `repeat` > 1).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import shlex
import tempfile
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HYDRA_DIR = ".hydra"
CONFIG_FILE = "config.yaml"  # in HYDRA_DIR
OVERRIDES_FILE = "overrides.yaml"  # in HYDRA_DIR
HYDRA_SETTINGS_FILE = "hydra.yaml"  # in HYDRA_DIR: Hydra's settings, its config sources
TRAIN_LOG = "train.log"
METRICS_FILE = "metrics.json"
PROVENANCE_FILE = "provenance.json"
DIFF_FILE = "git.diff"
CHECKPOINT_DIR = "checkpoints"
POLICY_DIR = "policy"
BEST_POLICY_DIR = "policy_best"
VIDEO_DIR = "videos"
EVAL_VIDEO = "eval_{policy}_seed{seed}"  # in VIDEO_DIR: `rlexp eval video=true`'s GIF
LOCK_FILE = ".rlexp.lock"
EVENTS_GLOB = "events.out.tfevents.*"
# `rlexp resume`'s trimmed events while they are written (no "tfevents" in it: TensorBoard
# reads every file whose name has that).
EVENTS_TRIM_TEMP = ".events-trim.tmp"
HPARAMS_SUFFIX = ".hparams"  # of the event file holding a sweep run's HParams session
HPARAMS_SESSION_GLOB = f"{EVENTS_GLOB}{HPARAMS_SUFFIX}.v2"
# Sweeps
SWEEP_FILE = "sweep.json"
MULTIRUN_FILE = "multirun.yaml"  # Hydra's: the latest sweep invocation's config
MLFLOW_PARENT_KEY = "mlflow_parent_run_id"  # sweep.json: the sweep's MLflow parent run
SWEEP_STOP_FILE = ".rlexp-stop"  # left by a sweep stopped by signal, until it has ended
JOB_FILE = "job.json"
REPEAT_FILE = "repeat.json"
OUTPUT_LOG = "output.log"
REPORT_DIR = "report"
# Folders of a run directory that hold no runs (a report never looks inside them).
NOT_RUN_DIRS = {HYDRA_DIR, CHECKPOINT_DIR, POLICY_DIR, BEST_POLICY_DIR, VIDEO_DIR, REPORT_DIR}


def config_path(run_dir: Path) -> Path:
    return Path(run_dir) / HYDRA_DIR / CONFIG_FILE


def sweep_of(run_dir: Path) -> Path | None:
    """The sweep folder of a sweep's run (a job folder or its seed_<k> subfolder)."""
    for candidate in (Path(run_dir).parent, Path(run_dir).parent.parent):
        if (candidate / SWEEP_FILE).is_file():
            return candidate
    return None


def sweep_hint(path: Path, command: str) -> str:
    """`; it is a sweep directory ...` naming one of its runs where `path` holds a sweep
    (its sweep.json), for an error that wanted a run directory; else ''."""
    if not (Path(path) / SWEEP_FILE).is_file():
        return ""
    pattern = str(Path(HYDRA_DIR) / CONFIG_FILE)
    runs = sorted(Path(path).glob(f"*/{pattern}")) or sorted(Path(path).glob(f"*/*/{pattern}"))
    example = (
        f", such as: rlexp {command} {shlex.quote(str(runs[0].parent.parent))}" if runs else ""
    )
    return f"; it is a sweep directory: rlexp {command} takes one of its runs{example}"


def overrides_path(run_dir: Path) -> Path:
    return Path(run_dir) / HYDRA_DIR / OVERRIDES_FILE


@dataclass
class Metrics:
    """The contents of metrics.json. Return values are greedy-evaluation averages."""

    status: str = "running"  # running | completed | interrupted | failed
    final_eval_return: float | None = None
    best_eval_return: float | None = None
    best_eval_env_steps: int | None = None  # where the best return was scored: policy_best/
    reward_threshold: float | None = None  # the env's "solved" return, if it has one
    solved_at_env_steps: int | None = None  # first evaluation >= reward_threshold
    solved_at_wall_time_s: float | None = None  # its training wall time
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    env_steps: int = 0
    train_steps: int = 0
    episodes: int = 0
    wall_time_s: float = 0.0
    train_wall_time_s: float = 0.0  # wall time minus evaluation time
    error: str | None = None  # why the run failed or was interrupted

    def to_json(self) -> dict[str, Any]:
        # Shallow copies, not dataclasses.asdict's deep ones: this runs at every evaluation.
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["evaluations"] = [dict(e) for e in self.evaluations]
        if data["error"] is None:
            del data["error"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Metrics:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _is_numeric(annotation: Any) -> bool:
    hint = typing.get_type_hints(Metrics)[annotation]
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return any(a in (int, float) for a in args)


# The numeric keys of metrics.json: what a sweep can optimise (`sweep.objective`), the
# HParams metrics and the report's columns.
NUMERIC_METRICS = tuple(f.name for f in dataclasses.fields(Metrics) if _is_numeric(f.name))

# The numeric keys that say how well a run did, each with its better direction: what
# `rlexp report metric=KEY` ranks by. The other numeric keys (reward_threshold, env_steps,
# train_steps, episodes, best_eval_env_steps) describe the run's budget or its env.
RESULT_METRICS = {
    "final_eval_return": "higher",
    "best_eval_return": "higher",
    "solved_at_env_steps": "lower",
    "solved_at_wall_time_s": "lower",
    "train_wall_time_s": "lower",
    "wall_time_s": "lower",
}
# Results a completed run leaves null when it never reached reward_threshold: it did not
# solve within its budget, so a report counts them as +inf (slower than any solve).
SOLVE_METRICS = ("solved_at_env_steps", "solved_at_wall_time_s")


def lower_is_better(key: str) -> bool:
    """Whether a smaller `key` is the better result (a time or env steps to solve)."""
    return RESULT_METRICS.get(key) == "lower"


def result_choices() -> str:
    """The result metrics grouped by direction, for messages."""
    by = {d: [k for k, v in RESULT_METRICS.items() if v == d] for d in ("higher", "lower")}
    return "; ".join(f"{', '.join(keys)} ({d} is better)" for d, keys in by.items())


def never_solved(metrics: dict[str, Any], key: str) -> bool:
    """Whether `key` is a solve metric the run left null although its env has a reward
    threshold: for a completed run, a solve that did not come within its budget (+inf)."""
    threshold = metrics.get("reward_threshold")
    return (
        key in SOLVE_METRICS
        and metrics.get(key) is None
        and isinstance(threshold, int | float)
        and math.isfinite(threshold)
    )


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so a reader never sees half a file; the mode follows the umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`; {} when it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_metrics(run_dir: Path) -> dict[str, Any]:
    return read_json(Path(run_dir) / METRICS_FILE)


def write_metrics(run_dir: Path, metrics: Metrics) -> None:
    write_json_atomic(Path(run_dir) / METRICS_FILE, metrics.to_json())


def mark_status(run_dir: Path, status: str, error: str | None) -> None:
    """Set the status (and reason) in metrics.json, keeping whatever results it has."""
    if not Path(run_dir).is_dir():
        return
    metrics = read_metrics(run_dir)
    metrics.update(status=status, error=error)
    if error is None:
        metrics.pop("error")
    write_json_atomic(Path(run_dir) / METRICS_FILE, metrics)


def yaml_aliases(text: str) -> bool:
    """Whether YAML `text` uses aliases (`*name`), which Hydra and OmegaConf never write in a
    run's files: a few hundred bytes of nested aliases expand to gigabytes once loaded, so a
    received run's file that has them is refused before it is loaded."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, loader))
    except yaml.YAMLError:
        return False  # not YAML: the load that follows says so


def unwritable_reason(path_text: str) -> str | None:
    """Why runs cannot be written under `path_text`, or None when they can.

    Checks the first existing ancestor (the part before any `${...}` interpolation) by
    creating a temporary file in it, which also catches read-only file systems.
    """
    path = Path(path_text.split("${", 1)[0] or ".").absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return f"cannot create files in {existing} ({exc.strerror})"
    return None


class RunDirError(RuntimeError):
    """A run directory that this invocation may not write (held by another, or foreign)."""


class DiskFullError(RuntimeError):
    """The run directory's file system filled up while a run wrote to it."""


_NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_NO_SPACE_TEXTS = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))


def free_space_hint(path: Path) -> str:
    """How to make room on the file system that holds `path` (its nearest existing folder)."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    return f"Free space on that file system (df -h {shlex.quote(str(existing))})"


def no_space_left(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it arose from, is a full disk or an exceeded quota.

    Python raises OSError(ENOSPC); TensorFlow's writers (checkpoints, SavedModels, event
    files) raise an OpError that carries only the C library's words, so the text counts too.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE_ERRNOS:
            return True
        if any(text in str(exc) for text in _NO_SPACE_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def foreign_entries(run_dir: Path) -> list[str]:
    """What a directory holds before a new run would start in it."""
    run_dir = Path(run_dir)
    return sorted(p.name for p in run_dir.iterdir()) if run_dir.is_dir() else []


def lock_holder(run_dir: Path) -> str | None:
    """The pid (as text; "unknown" when not written yet) of the live process that holds
    `run_dir`'s lock, or None when no process holds it. Reads only: the lock file is
    neither created nor written."""
    import fcntl

    try:
        fd = os.open(Path(run_dir) / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
    finally:
        os.close(fd)  # closing releases a flock taken here
    return None


class RunLock:
    """An advisory lock on a run directory, held by the process that trains it.

    The lock file holds the pid. A lock whose process is gone (the kernel released it)
    is taken over; a live one makes `acquire` raise RunDirError naming the pid, and a
    pid that cannot be written raises DiskFullError (a full disk) or RunDirError.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None
        self.took_over_from: int | None = None

    def acquire(self) -> RunLock:
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        except OSError as exc:  # a read-only file system or folder, a full disk
            raise RunDirError(
                f"cannot create the lock file {self.path} ({exc.strerror}); rlexp writes "
                f"into the run directory, so it must be writable: fix that (or copy the "
                f"directory somewhere writable) and try again"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunDirError(
                f"{self.path.parent} is in use by another rlexp process (pid {holder}); "
                f"wait for it to end, or stop it (kill -TERM {holder}: it checkpoints and "
                f"stops cleanly), then try again"
            ) from None
        previous = os.pread(fd, 64, 0).decode(errors="replace").strip()
        if previous.isdigit() and int(previous) != os.getpid():
            self.took_over_from = int(previous)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:  # a full disk, a failing device
            os.close(fd)
            raise self._write_error(exc) from exc
        self._fd = fd
        return self

    def _write_error(self, exc: OSError) -> RuntimeError:
        """Why the pid could not be written into the lock file, and what to do."""
        run_dir = self.path.parent
        if no_space_left(exc):
            return DiskFullError(
                f"no space left on device while writing the lock file {self.path} of the run "
                f"directory {run_dir}: nothing of the run was changed. {free_space_hint(run_dir)}, "
                f"then run the command again"
            )
        return RunDirError(
            f"cannot write the lock file {self.path} ({exc.strerror}); nothing of the run "
            f"was changed. rlexp writes into the run directory, so it must be writable: fix "
            f"that (or copy the directory somewhere writable) and try again"
        )

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # empty: released cleanly (a pid left = a dead holder)
            os.close(self._fd)  # closing releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
