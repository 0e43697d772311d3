"""Stopping a sweep by signal, the way a single run stops: every running job checkpoints
and is marked interrupted, jobs not yet started do not start, and sweep.json says
`interrupted`.

The parent (the `rlexp -m` process) is the only process of the sweep that a terminal's
signals reach: the processes it forks (joblib's workers) go to process groups of their own
as they start, and the training processes run in sessions of their own. So a Ctrl-C, or
the hang-up of a closed terminal, which the terminal sends to its whole foreground process
group, reaches the parent alone, as `kill <parent>` does; a worker dies of none while it
starts or waits for a job. The parent leaves a stop mark in the sweep directory and passes
each stop signal to those of its child processes (the launcher's workers) that have a run
training; such a worker passes it on to its run. The run takes the first as its stop, and
a second Ctrl-C aborts it (`rlexp.stop_signals`: marked failed, resumable from its last
checkpoint). A worker between runs gets none: the mark keeps it from starting a run, or
reaches the run it is starting. A training process records a stop that comes before its
trainer's handlers and stops before it begins. A sequential launcher
(`hydra.launcher.n_jobs=1`, `hydra/launcher=basic`) runs the jobs in the parent itself:
there the handler that passes a signal to a run also stops the sweep. Ray's workers are not
the parent's children (and may be on other nodes): there each job watches for the mark,
which lies in the sweep directory every node shares, and passes it on to its run as
SIGTERM.

After SIGHUP the terminal is gone, and writing to it fails (EIO): the parent, and a worker
that learns of the hang-up (the signal passed on, or the mark naming it), write to
/dev/null from then on (each run's output.log keeps what its run prints).

The mark lives as long as the invocation that wrote it: the sweep's end removes it, and
a sweep that starts removes one an earlier invocation left (its parent died).

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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rlexp.rundir import SWEEP_STOP_FILE
from rlexp.stop_signals import (
    DUPLICATE_WINDOW_S,
    STOP_SIGNALS,
    leave_the_terminal,
    say,
    take_early,
)

STOP_MARK_POLL_S = 0.25  # how often a training run's job looks for the stop mark
_received: list[int] = []  # the signal that stopped this process's sweep, if any
_received_at: list[float] = []  # when it came (time.monotonic())
_parent_of: list[Path] = []  # the sweep this process is the parent of, if any
_forks_hooked: list[bool] = []  # `_own_process_group` is registered to run in each fork
_lock = threading.RLock()  # a job's stop-mark watcher and the main thread both stop


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
    """In the parent: on a stop signal, mark the sweep stopped and (`forward`) pass the
    signal to the workers, its child processes; a launcher whose workers are not (Ray's)
    leaves it to each job to see the mark. A mark an earlier invocation left is removed:
    it stopped that invocation, not this one."""
    _received.clear()
    _parent_of[:] = [Path(sweep_dir)]
    (Path(sweep_dir) / SWEEP_STOP_FILE).unlink(missing_ok=True)
    if not _forks_hooked:
        os.register_at_fork(after_in_child=_own_process_group)
        _forks_hooked.append(True)
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


def _own_process_group() -> None:
    """In a process forked by a sweep's parent (a launcher's worker, as it starts): a
    process group of its own, out of the terminal's foreground group, so that a Ctrl-C or
    a hang-up reaches the parent alone, which passes it on to the runs."""
    if _parent_of:
        try:
            os.setpgid(0, 0)
        except OSError:
            pass  # a session leader already (a subprocess started with a new session)


def _stop(signum: int) -> bool:
    """In the parent: take `signum` as a stop of its sweep; whether to pass it on to the
    runs (False in any other process).

    The first marks the sweep stopped and says so, and is passed on; so is a later SIGINT
    past DUPLICATE_WINDOW_S, a second Ctrl-C (the runs abort), said too. SIGHUP, first or
    not, leaves the terminal, which is gone, and is added to the mark (workers leave it
    too)."""
    with _lock:
        if not _parent_of:
            return False
        first = not _received
        if first:
            _received.append(signum)
            _received_at[:] = [time.monotonic()]
        mark = _parent_of[0] / SWEEP_STOP_FILE
    name = signal.Signals(signum).name
    if signum == signal.SIGHUP:
        leave_the_terminal()
    if first:
        mark.write_text(f"{name}\n")
        say(
            f"\nrlexp: {name} received: stopping the sweep (running jobs checkpoint and "
            f"stop; the others do not start; Ctrl-C again aborts the running jobs at once)"
        )
        return True
    if signum == signal.SIGHUP:
        with mark.open("a") as names:
            names.write(f"{name}\n")
    again = signum == signal.SIGINT and time.monotonic() - _received_at[0] >= DUPLICATE_WINDOW_S
    if again:
        say(
            "\nrlexp: Ctrl-C again: the running jobs abort now (marked failed; "
            "rlexp resume goes on from their last checkpoints)"
        )
    return again


def stop_requested(sweep_dir: Path) -> bool:
    """Whether the sweep in `sweep_dir` was stopped (its mark exists). A stop by a hang-up
    (the mark names SIGHUP) took the terminal away: this process leaves it too."""
    try:
        names = (Path(sweep_dir) / SWEEP_STOP_FILE).read_text().split()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    if signal.SIGHUP.name in names:
        leave_the_terminal()
    return True


@contextmanager
def forwarded_to(child: subprocess.Popen, sweep_dir: Path) -> Iterator[None]:
    """In a worker, while `child` trains: pass it the first stop signal, whether the signal
    reaches this process or the sweep's stop mark appears (as SIGTERM: a worker the parent
    cannot signal, on Ray, on another node), and a second Ctrl-C after it (`child` aborts:
    `rlexp.stop_signals`)."""
    sent: list[int] = []
    lock = threading.RLock()  # a second signal may come while the main thread holds it

    def handle(signum: int, frame: object) -> None:
        if signum == signal.SIGHUP:
            leave_the_terminal()  # the sweep's terminal is gone
        # The parent passes on the first stop and a second Ctrl-C, nothing else; the parent
        # itself (a sequential launcher) decides here.
        again = _stop(signum) if is_sweep_parent() else signum == signal.SIGINT
        with lock:
            if sent and not again:
                return
            sent.append(signum)
        child.send_signal(signum)

    ended = threading.Event()

    def watch() -> None:
        while not ended.wait(STOP_MARK_POLL_S):
            if stop_requested(sweep_dir):
                return handle(signal.SIGTERM, None)

    watcher = threading.Thread(target=watch, name="rlexp-stop-mark", daemon=True)
    previous = {s: signal.signal(s, handle) for s in STOP_SIGNALS} if in_main_thread() else {}
    if stop_requested(sweep_dir):
        handle(signal.SIGTERM, None)
    else:
        watcher.start()
    try:
        yield
    finally:
        ended.set()
        if watcher.is_alive():
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
