"""Stop signals that arrive before a run or a sweep handles them itself.

`rlexp train` and `rlexp resume` spend seconds importing TensorFlow before a run installs
its own handlers (`rlexp.training.trainer`) or a sweep its own (`rlexp.sweeps.signals`).
Left to Python's defaults, SIGTERM kills the process with the run directory half made, and
Ctrl-C raises KeyboardInterrupt wherever the main thread is, which some libraries' import
code swallows (the run then trains on to the end). Meanwhile these handlers only record
the signal; the run or the sweep takes it when it installs its own handlers and stops
before it begins. A second Ctrl-C aborts at once. A signal the parent process ignored
stays ignored (SIGHUP under `nohup`).

SIGHUP (the terminal closed, the ssh connection dropped) stops like SIGTERM; the output
that went to the terminal goes to /dev/null from then on, as nothing reads it any more.
What a run's stop says also goes to its train.log (`StopRequest.log_to`).

Python runs signal handlers on the main thread between bytecodes, so while TensorFlow is
busy in one long call a handler waits for it. `StopRequest.watched` closes that gap: a
thread woken by the interpreter's wakeup fd says the first signal at once and acts on a
second Ctrl-C at once.

A SIGINT within DUPLICATE_WINDOW_S of the first stop signal is the same stop delivered
twice, not a second Ctrl-C: GNU `timeout -s INT` signals the command and then its whole
process group, and a scheduler may signal every process of a job.

Imports nothing heavy.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
ABORT_EXIT_CODE = 128 + signal.SIGINT
DUPLICATE_WINDOW_S = 0.5  # a SIGINT this soon after the first stop repeats it (above)


class StopRequest:
    """The signal that asked to stop, if any: the first is recorded and said, with what
    happens next (`then`); a second Ctrl-C aborts at once: KeyboardInterrupt, or, while
    `watched`, `on_abort` and the process's exit, wherever the main thread is."""

    def __init__(self, then: str = "stopping after the current iteration with a checkpoint"):
        self.signum: int | None = None
        self.then = then
        self.on_abort: Callable[[], str] | None = None  # records what the abort left: its line
        self._log: Callable[[str], None] | None = None  # the run's log (`log_to`)
        self._said: str | None = None  # the line the first stop signal said
        self._lock = threading.RLock()  # the watcher and the main thread both record
        self._watching = False
        self._recorded_at = 0.0  # time.monotonic() of the first stop signal

    def __call__(self) -> bool:
        return self.signum is not None

    def handle(self, signum: int, frame: object) -> None:
        """The Python-level handler (main thread, between bytecodes)."""
        if self._watching:
            self.record(signum)  # the watcher has seen it already and acts on a second
        elif self.is_second_ctrl_c(signum):
            raise KeyboardInterrupt  # abort now
        else:
            self.record(signum)

    def is_second_ctrl_c(self, signum: int) -> bool:
        """A SIGINT after the first stop signal, and not its duplicate (DUPLICATE_WINDOW_S)."""
        return (
            signum == signal.SIGINT
            and self.signum is not None
            and time.monotonic() - self._recorded_at >= DUPLICATE_WINDOW_S
        )

    def record(self, signum: int) -> bool:
        """Take `signum` as the stop if it is the first; whether it was."""
        said = (
            f"rlexp: {signal.Signals(signum).name} received: {self.then} (Ctrl-C again "
            f"aborts at once)"
        )
        with self._lock:
            if self.signum is not None:
                return False
            self.signum, self._recorded_at = signum, time.monotonic()
            self._said, log = said, self._log  # `log_to` or this call logs it, not both
        if signum == signal.SIGHUP:
            leave_the_terminal()
        say("\n" + said)  # on a line of its own, past a progress bar's
        _write_log(log, said)
        return True

    def log_to(self, write: Callable[[str], None]) -> None:
        """Write what the stop says to the run's log (train.log) too: from now on, and the
        line it has said already, if any. After SIGHUP the log is all that keeps it."""
        with self._lock:
            self._log, said = write, self._said
        if said is not None:
            _write_log(write, said)

    def log(self, line: str) -> None:
        """`line` to the run's log (`log_to`), if it has one."""
        with self._lock:
            write = self._log
        _write_log(write, line)

    @contextmanager
    def watched(self) -> Iterator[None]:
        """While the block runs, a thread sees stop signals as they arrive (through
        `signal.set_wakeup_fd`), even while the main thread is in one long call: it
        records the first and aborts on a later SIGINT (`abort`). Main thread only, with
        this object's `handle` installed; where the wakeup fd is taken (an event loop),
        the block runs unwatched."""
        wake = _WakeupPipe.install()
        if wake is None:
            yield
            return
        self._watching = True
        watcher = threading.Thread(
            target=self._watch, args=(wake.read_fd,), name="rlexp-stop-signals", daemon=True
        )
        watcher.start()
        try:
            yield
        finally:
            wake.uninstall()
            self._watching = False
            watcher.join()
            wake.close()

    def _watch(self, read_fd: int) -> None:
        seen = self.signum is not None  # the main thread's handler may record one first
        while True:
            for signum in os.read(read_fd, 64):
                if signum == _WakeupPipe.END:
                    return
                if signum not in STOP_SIGNALS:
                    continue
                if seen and self.is_second_ctrl_c(signum):
                    self.abort()
                seen = True
                self.record(signum)

    def abort(self) -> None:
        """End the process now (exit 130), after `on_abort` has recorded what it leaves and
        its line is said and logged; the kernel releases the run's lock with the process."""
        try:
            said = self.on_abort() if self.on_abort is not None else "rlexp: aborted"
            say("\n" + said)
            self.log(said)
        finally:
            exit_now(ABORT_EXIT_CODE)


def exit_now(code: int) -> NoReturn:
    """End the process with `code` without the interpreter's teardown, its output flushed
    first (a stream that is gone is no error)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


class _WakeupPipe:
    """A pipe the interpreter's C-level signal handler writes each signal's number to."""

    END = 0  # no signal has number 0: written to end the watcher

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd

    @classmethod
    def install(cls) -> _WakeupPipe | None:
        """The process's wakeup pipe, or None where another one is set (kept as it was)."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        if previous != -1:
            signal.set_wakeup_fd(previous)
            os.close(read_fd)
            os.close(write_fd)
            return None
        return cls(read_fd, write_fd)

    def uninstall(self) -> None:
        signal.set_wakeup_fd(-1)
        os.write(self.write_fd, bytes([self.END]))

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)


def say(line: str) -> None:
    """Print `line` to stderr; a terminal that is gone (EIO) is not an error."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _write_log(write: Callable[[str], None] | None, line: str) -> None:
    """`line` to the run's log, if there is one; a log that cannot be written (a full
    disk) does not keep the stop from going on."""
    if write is None:
        return
    try:
        write(line)
    except OSError:
        pass


def leave_the_terminal() -> None:
    """Point stdout and stderr at /dev/null where they are a terminal: after SIGHUP it is
    gone, and writing to it fails (EIO)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            if _was_terminal(fd):
                os.dup2(devnull, fd)
    except OSError:
        pass
    finally:
        os.close(devnull)


def _was_terminal(fd: int) -> bool:
    """Whether `fd` is a terminal, or one that hung up: that is no tty to `isatty` any more
    (its ioctl fails, EIO), but still a character device."""
    try:
        return os.isatty(fd) or stat.S_ISCHR(os.fstat(fd).st_mode)
    except OSError:
        return False


_EARLY = StopRequest("stopping before the run begins")  # recorded, not yet taken


def start_recording() -> dict[int, Any]:
    """Record stop signals from now on, instead of Python's defaults; returns the handlers
    replaced (none off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    defaults = (signal.SIG_DFL, signal.default_int_handler)
    previous = {s: h for s in STOP_SIGNALS if (h := signal.getsignal(s)) in defaults}
    for s in previous:
        signal.signal(s, _EARLY.handle)
    return previous


@contextmanager
def recorded() -> Iterator[None]:
    """Record stop signals (instead of Python's defaults) while the block runs."""
    previous = start_recording()
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _EARLY.signum = None


def take_early() -> int | None:
    """The stop signal recorded so far, if any, for the caller to act on (once). Call it
    after installing your own handlers, so that no signal falls between."""
    signum, _EARLY.signum = _EARLY.signum, None
    return signum
