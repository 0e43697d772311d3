"""The run directory is claimed before Hydra writes anything into it.

`ClaimRunDir` is a Hydra callback (listed in rlexp/conf/config.yaml). `on_run_start` runs
before Hydra creates the run directory: a directory that already holds anything is
refused, so nothing of the user's is overwritten; `rlexp resume DIR` is the way to go on
with an existing run. A sweep directory may be reused only by another rlexp sweep (its
jobs get new folders). `discard_unstarted` undoes what this invocation created when a
run fails or is stopped before it starts (an invalid config, a signal while TensorFlow
loads), and nothing else; once the run has `started`, its directory is never discarded.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, NoReturn

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rlexp import rundir

# Run directories this process claimed -> the outermost folder it created for them (None:
# the directory existed, empty).
_CLAIMED: dict[Path, Path | None] = {}


def _first_missing(path: Path) -> Path | None:
    """The outermost of `path` and its ancestors that does not exist yet."""
    missing = None
    for p in (path, *path.parents):
        if p.exists():
            break
        missing = p
    return missing


def claim(run_dir: Path, what: str) -> None:
    """Refuse (exit 2) a directory that holds anything, or lies inside a run directory;
    remember what we create. `what`: run or sweep."""
    run_dir = Path(run_dir).absolute()
    key = f"hydra.{what}.dir"
    host = next((p for p in run_dir.parents if rundir.config_path(p).is_file()), None)
    if host is not None:  # `rlexp report <host>` reads one run there and would miss it
        _refuse(
            f"{key}={run_dir} lies inside the run directory {host}, which holds another "
            f"run's files; choose a directory outside it"
        )
    entries = rundir.foreign_entries(run_dir)
    if entries:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        ours = rundir.config_path(run_dir).is_file() or (run_dir / rundir.SWEEP_FILE).is_file()
        resume = f"To continue the {what} there: rlexp resume {_quote(run_dir)}; " if ours else ""
        _refuse(
            f"{run_dir} already exists and holds {shown}; rlexp never writes into a "
            f"directory it did not create. {resume}To start a new {what}, choose a new "
            f"directory (or leave {key} unset for a fresh timestamped one)"
        )
    _CLAIMED[run_dir] = _first_missing(run_dir)


def _refuse(reason: str) -> NoReturn:
    print(f"rlexp: error: {reason}", file=sys.stderr)
    sys.exit(2)


def discard_unstarted(run_dir: Path) -> bool:
    """Remove what this process created for a run that never started, nothing more;
    whether there was any."""
    run_dir = Path(run_dir).absolute()
    if run_dir not in _CLAIMED or not run_dir.is_dir():
        return False
    top = _CLAIMED.pop(run_dir)
    if top is None:  # it existed, empty: empty it again
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
    """The run has begun: its directory holds the user's data from now on."""
    _CLAIMED.pop(Path(run_dir).absolute(), None)


def discard_unstarted_runs() -> list[Path]:
    """`discard_unstarted` every run directory this process claimed whose run never began;
    the ones removed."""
    return [run_dir for run_dir in list(_CLAIMED) if discard_unstarted(run_dir)]


def _quote(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


class ClaimRunDir(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        claim(Path(config.hydra.run.dir), "run")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if (sweep_dir / rundir.SWEEP_FILE).is_file():
            return  # another invocation of an rlexp sweep: its jobs get new folders
        claim(sweep_dir, "sweep")
        started(sweep_dir)  # its jobs' folders are its data; the sweep handles signals
