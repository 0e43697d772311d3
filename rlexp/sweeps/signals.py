"""Stopping a sweep by signal, the way a single run stops: every running job checkpoints
and is marked interrupted, jobs not yet started do not start, and sweep.json says
`interrupted`.

The parent (the `rlexp -m` process) passes the first SIGTERM or SIGINT to its own child
processes (the launcher's workers) and leaves a stop mark in the sweep directory. A worker
passes the first signal it gets to its training process, once: training processes run in
their own session, so a Ctrl-C on the terminal reaches each of them exactly once.
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

_received: list[int] = []  # the signal that stopped this process's sweep, if any


def received() -> int | None:
    """The signal that stopped the sweep run by this process, if one did."""
    return _received[0] if _received else None


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def stop_sweep_on_signals(sweep_dir: Path) -> None:
    """In the parent: on the first signal, mark the sweep stopped and tell the workers."""
    _received.clear()
    if not in_main_thread():
        return

    def handle(signum: int, frame: object) -> None:
        if _received:
            return
        _received.append(signum)
        name = signal.Signals(signum).name
        (Path(sweep_dir) / SWEEP_STOP_FILE).write_text(f"{name}\n")
        print(
            f"\nrlexp: {name} received: stopping the sweep (running jobs checkpoint and stop; "
            f"the others do not start)",
            file=sys.stderr,
            flush=True,
        )
        for pid in _child_pids(os.getpid()):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    for s in STOP_SIGNALS:
        signal.signal(s, handle)
    early = take_early()
    if early is not None:  # while the sweep was being composed: no job starts
        handle(early, None)


def stop_requested(sweep_dir: Path) -> bool:
    return (Path(sweep_dir) / SWEEP_STOP_FILE).exists()


@contextmanager
def forwarded_to(child: subprocess.Popen) -> Iterator[None]:
    """In a worker, while `child` trains: pass it the first stop signal, once."""
    if not in_main_thread():
        yield
        return

    sent: list[int] = []

    def handle(signum: int, frame: object) -> None:
        if not sent:
            sent.append(signum)
            child.send_signal(signum)

    previous = {s: signal.signal(s, handle) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


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
