"""A function run in a forked process while the caller goes on, its failure re-raised in
the caller: `rlexp report` draws its figures this way beside writing its tables."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path


class FigureError(Exception):
    """Drawing the figures failed; the message names the exception and where it arose."""


def _failure(exc: BaseException) -> tuple:
    """What the parent needs to re-raise `exc`: an OSError whole (its errno and file make
    the report's "cannot write" message), anything else as text."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return ("OSError", (exc.errno, exc.strerror, exc.filename), "")
    if isinstance(exc, KeyboardInterrupt):  # Ctrl-C reached the whole process group
        return ("interrupt", "", "")
    if isinstance(exc, FigureError):  # from a figure process of its own: passed on as is
        return ("error", str(exc), "".join(getattr(exc, "__notes__", [])))
    frame = traceback.extract_tb(exc.__traceback__)[-1:]
    where = f" ({Path(frame[0].filename).name}:{frame[0].lineno})" if frame else ""
    message = f"{type(exc).__name__}: {exc}{where}"
    return ("error", message, "".join(traceback.format_exception(exc)))


def _raise(failure: tuple) -> None:
    kind, detail, trace = failure
    if kind == "OSError":
        raise OSError(*detail)
    if kind == "interrupt":
        raise KeyboardInterrupt
    error = FigureError(detail)
    if trace:
        error.add_note(f"in the figure process:\n{trace}")
    raise error


def _draw_and_report(draw: Callable[[], None], conn) -> None:
    """The figure process: draw, then send None or the failure; exit 1 on failure (no
    traceback on stderr: the parent reports it)."""
    failure = None
    try:
        draw()
    except BaseException as exc:  # Ctrl-C and SystemExit too: the parent decides
        failure = _failure(exc)
    try:
        conn.send(failure)
    except OSError:  # the parent is gone (Ctrl-C): nobody to tell
        pass
    sys.exit(1 if failure else 0)


# Only on Linux: macOS's system libraries are unsafe in a forked child (Python's own
# multiprocessing stopped forking there) and Windows has no fork.
FORK = sys.platform.startswith("linux")


class Drawing:
    """`draw()` in a forked process from construction until `wait()`, which re-raises its
    failure here (an OSError as itself, Ctrl-C as KeyboardInterrupt, anything else as
    FigureError; a process killed by a signal is a FigureError too). Without FORK, `wait()`
    draws in-process. Leaving the `with` block early stops the process."""

    def __init__(self, draw: Callable[[], None]):
        import multiprocessing

        self._draw = draw
        self._process = None
        if FORK:
            context = multiprocessing.get_context("fork")
            self._reader, writer = context.Pipe(duplex=False)
            for stream in (sys.stdout, sys.stderr):  # else the child writes their buffers too
                if stream is not None:
                    stream.flush()
            self._process = context.Process(
                target=_draw_and_report, args=(draw, writer), name="rlexp-report-figures"
            )
            self._process.start()
            writer.close()

    def wait(self) -> None:
        if self._process is None:
            try:
                self._draw()
            except Exception as exc:
                _raise(_failure(exc))
            return
        try:
            failure = self._reader.recv()
        except EOFError:  # the process ended without a word: killed
            failure = False
        self._process.join()
        code = self._process.exitcode
        if failure is False or (failure is None and code != 0):
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            raise FigureError(f"the figure process ended without a result ({how})")
        if failure:
            _raise(failure)

    def __enter__(self) -> Drawing:
        return self

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._reader.close()
