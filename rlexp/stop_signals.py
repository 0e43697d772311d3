"""Stop signals that arrive before a run or a sweep handles them itself.

`rlexp train` and `rlexp resume` spend seconds importing TensorFlow before a run installs
its own handlers (`rlexp.training.trainer`) or a sweep its own (`rlexp.sweeps.signals`).
Left to Python's defaults, SIGTERM kills the process with the run directory half made, and
Ctrl-C raises KeyboardInterrupt wherever the main thread is, which some libraries' import
code swallows (the run then trains on to the end). Meanwhile these handlers only record
the signal; the run or the sweep takes it when it installs its own handlers and stops
before it begins. A second Ctrl-C aborts at once. A signal the parent process ignored
stays ignored.

Imports nothing heavy.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """The signal that asked to stop, if any: the first is recorded and said, with what
    happens next (`then`); a second Ctrl-C aborts at once."""

    def __init__(self, then: str = "stopping after the current iteration with a checkpoint"):
        self.signum: int | None = None
        self.then = then

    def __call__(self) -> bool:
        return self.signum is not None

    def handle(self, signum: int, frame: object) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: abort now
        if self.signum is None:
            self.signum = signum
            print(
                f"\nrlexp: {signal.Signals(signum).name} received: {self.then} (Ctrl-C again "
                f"aborts at once)",
                file=sys.stderr,
                flush=True,
            )


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
