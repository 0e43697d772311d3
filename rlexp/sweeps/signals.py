"""Stopping a sweep by signal, the way a single run stops: every running job checkpoints
and is marked interrupted, jobs not yet started do not start, and sweep.json says
`interrupted`.

The parent (the `rlexp -m` process) leaves a stop mark in the sweep directory and passes
the first SIGTERM or SIGINT to those of its child processes (the launcher's workers) that
have a run training. A worker passes the first signal it gets to its training process,
once: training processes run in their own session, so a Ctrl-C on the terminal reaches
each of them exactly once. A worker that is starting, or between runs, would die of the
signal (a failed sweep, not an interrupted one): it gets none, and the mark keeps it from
starting a run, or reaches the run it is starting. A training process records a stop that
comes before its trainer's handlers (`rlexp.stop_signals`) and stops before it begins. A
sequential launcher (`hydra.launcher.n_jobs=1`, `hydra/launcher=basic`) runs the jobs in
the parent itself: there the handler that passes a signal to a run also stops the sweep.
Ray's workers are not the parent's children (and may be on other nodes): there each job
watches for the mark, which lies in the sweep directory every node shares, and passes it
on to its run as SIGTERM.

A job that the mark keeps from starting leaves no folder. In the parent (a sequential
launcher) it raises `SweepStopped`, which ends the launcher's loop over the jobs left (Hydra
records an `Exception` of a job as a failed job and goes on; this is not one); `rlexp`
then ends the sweep `interrupted`. An Optuna study asks for no trial once the mark exists
(`rlexp.sweeps.optuna_stop`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rlexp.rundir import SWEEP_STOP_FILE
from rlexp.stop_signals import STOP_SIGNALS, take_early

STOP_MARK_POLL_S = 0.25  # how often a training run's job looks for the stop mark
_received: list[int] = []  # the signal that stopped this process's sweep, if any
_parent_of: list[Path] = []  # the sweep this process is the parent of, if any


class SweepStopped(BaseException):
    """A job of a stopped sweep, not started, in the sweep's parent process: no job after it
    starts either."""


def take_received() -> int | None:
    """The signal that stopped the sweep this process ran, if one did; forgotten after."""
    signum = _received[0] if _received else None
    _received.clear()
    return signum


def sweep_ended() -> None:
    """In the parent, once its sweep has ended: a later signal stops no sweep."""
    _parent_of.clear()


def is_sweep_parent() -> bool:
    """Whether this process is the parent of a running sweep (a sequential launcher runs the
    jobs there)."""
    return bool(_parent_of)


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def stop_sweep_on_signals(sweep_dir: Path, forward: bool = True) -> None:
    """In the parent: on the first signal, mark the sweep stopped and (`forward`) tell the
    workers, its child processes; a launcher whose workers are not (Ray's) leaves it to
    each job to see the mark."""
    _received.clear()
    _parent_of[:] = [Path(sweep_dir)]
    if not in_main_thread():
        return

    def handle(signum: int, frame: object) -> None:
        if not _stop(signum) or not forward:
            return
        for pid in _child_pids(os.getpid()):
            if not _catches(pid, signal.SIGTERM):
                continue  # a worker before (or between) its runs: the stop file stops it
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    for s in STOP_SIGNALS:
        signal.signal(s, handle)
    early = take_early()
    if early is not None:  # while the sweep was being composed: no job starts
        handle(early, None)


def _stop(signum: int) -> bool:
    """In the parent: mark its sweep stopped by `signum`; False if it already was."""
    if _received or not _parent_of:
        return False
    _received.append(signum)
    name = signal.Signals(signum).name
    (_parent_of[0] / SWEEP_STOP_FILE).write_text(f"{name}\n")
    print(
        f"\nrlexp: {name} received: stopping the sweep (running jobs checkpoint and stop; "
        f"the others do not start)",
        file=sys.stderr,
        flush=True,
    )
    return True


def stop_requested(sweep_dir: Path) -> bool:
    return (Path(sweep_dir) / SWEEP_STOP_FILE).exists()


@contextmanager
def forwarded_to(child: subprocess.Popen, sweep_dir: Path) -> Iterator[None]:
    """In a worker, while `child` trains: pass it the first stop signal, once, whether the
    signal reaches this process or the sweep's stop mark appears (a worker the parent
    cannot signal: on Ray, on another node)."""
    sent: list[int] = []
    lock = threading.RLock()  # a second signal may come while the main thread holds it

    def handle(signum: int, frame: object) -> None:
        with lock:
            if not sent:
                sent.append(signum)
                child.send_signal(signum)
        _stop(signum)  # a sequential launcher: this process is the sweep's parent

    ended = threading.Event()

    def watch() -> None:
        while not ended.wait(STOP_MARK_POLL_S):
            if stop_requested(sweep_dir):
                return handle(signal.SIGTERM, None)

    watcher = threading.Thread(target=watch, name="rlexp-stop-mark", daemon=True)
    previous = {s: signal.signal(s, handle) for s in STOP_SIGNALS} if in_main_thread() else {}
    if stop_requested(sweep_dir):
        handle(signal.SIGTERM, None)
    watcher.start()
    try:
        yield
    finally:
        ended.set()
        watcher.join()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler for `signum` (Linux /proc): a launcher worker
    has one only while a run of its trains (`forwarded_to`); at the default it would die."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    masks = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return bool(int(masks.get("SigCgt", "0").strip(), 16) >> (signum - 1) & 1)


def _child_pids(parent: int) -> list[int]:
    """Direct child processes of `parent` (Linux /proc; none elsewhere)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return pids
