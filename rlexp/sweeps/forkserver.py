"""Sweep runs that skip the TensorFlow import: a worker's runs fork from a process that
imported TensorFlow, TF-Agents and rlexp's components once.

A sweep of short runs otherwise pays Python's start-up and these imports (seconds) in every
run. The fork server is started by a launcher worker at its first run and serves its later
runs one at a time; each run is a fresh fork, so it starts in the state of a newly imported
process (no TensorFlow op has run in the server, so no TF runtime or thread pool exists
yet), and it can crash or be killed, even by SIGKILL, without touching the server or the
worker. A server that died is started again at the next run.

The protocol, over a Unix socket pair: the worker sends one JSON request (the run's
environment, working directory, plugins, whether to start a session) with the run's stdin
and stdout descriptors attached; the server forks, answers `{"pid": ...}`, and when the
run ends `{"code": ...}` (a `subprocess` return code: negative for a signal).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import traceback
from typing import IO, Any

from rlexp import stop_signals

_server: _Server | None = None  # this worker's fork server, started at its first run


class ForkedRun:
    """A run forked by the server, used like the `subprocess.Popen` of `rlexp.sweeps.child`."""

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes], replies: IO[bytes]):
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self._replies = replies
        self.returncode: int | None = None

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def wait(self) -> int:
        if self.returncode is None:
            reply = _read_reply(self._replies)
            # A server that died while the run went on cannot say how the run ended.
            self.returncode = int(reply["code"]) if reply else 1
        return self.returncode


class _Server:
    def __init__(self, env: dict[str, str]):
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            # -P: the working directory is not put first on sys.path (as `-m` would); the
            # runs find listed plugins there, searched last (`registry.load_plugins`).
            [sys.executable, "-P", "-m", "rlexp.sweeps.forkserver", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # the worker forwards stop signals to the run itself
        )
        theirs.close()
        self.socket = ours
        self.replies = ours.makefile("rb")

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        # The server exits at the end of its input, which comes only once no file of the
        # socket is left open (`replies` holds it open too).
        self.replies.close()
        self.socket.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def fork_run(plugins: list[str], env: dict[str, str], new_session: bool) -> ForkedRun:
    """Start `rlexp.sweeps.child.main(plugins)` in a fork of this worker's server."""
    global _server
    if _server is None or not _server.alive():
        _server = _Server(env)
        atexit.register(_server.close)
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    request = {"env": env, "cwd": os.getcwd(), "plugins": plugins, "new_session": new_session}
    try:
        socket.send_fds(_server.socket, [json.dumps(request).encode()], [stdin_read, stdout_write])
        reply = _read_reply(_server.replies)
    finally:
        os.close(stdin_read)
        os.close(stdout_write)
    if reply is None:
        os.close(stdin_write)
        os.close(stdout_read)
        _server = None
        raise OSError("the sweep worker's fork server ended before it started the run")
    return ForkedRun(
        int(reply["pid"]),
        os.fdopen(stdin_write, "wb"),
        os.fdopen(stdout_read, "rb"),
        _server.replies,
    )


def _read_reply(replies: IO[bytes]) -> dict[str, Any] | None:
    try:
        line = replies.readline()
    except OSError:
        return None
    return json.loads(line) if line else None


def serve(sock: socket.socket) -> None:
    """The server: import once, then fork one run per request until the worker goes."""
    # Stop signals go to the runs, not to the server: a handler that does nothing, not
    # SIG_IGN, so that one sent to a fork before its own handlers waits for them (below).
    # One the worker ignored (SIGHUP under nohup) stays ignored, in the runs too.
    global _IGNORED
    _IGNORED = frozenset(
        s for s in stop_signals.STOP_SIGNALS if signal.getsignal(s) is signal.SIG_IGN
    )
    for s in set(stop_signals.STOP_SIGNALS) - _IGNORED:
        signal.signal(s, _ignore)
    from rlexp.sweeps import child

    child.preload()
    while True:
        message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 2)
        if not message:
            return
        request = json.loads(message)
        sys.stdout.flush()
        sys.stderr.flush()
        # Blocked across the fork: a stop sent to the run before its handlers exist waits
        # for them, not lost (ignored) nor fatal (the default).
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals.STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:
            sock.close()
            _run(request, fds)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals.STOP_SIGNALS)
        for fd in fds:
            os.close(fd)
        if not _reply(sock, {"pid": pid}):
            return
        _, status = os.waitpid(pid, 0)
        if not _reply(sock, {"code": os.waitstatus_to_exitcode(status)}):
            return


def _ignore(signum: int, frame: object) -> None:
    pass


_IGNORED: frozenset[int] = frozenset()  # stop signals the server's worker ignored


def record_stop_signals() -> None:
    """In a run's fork: every stop signal the worker did not ignore back to Python's
    default, then recorded until the trainer's own handlers (`stop_signals`)."""
    for s in set(stop_signals.STOP_SIGNALS) - _IGNORED:
        signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)
    stop_signals.start_recording()


def _reply(sock: socket.socket, message: dict[str, Any]) -> bool:
    """Send `message` to the worker; False when the worker is gone (the server ends)."""
    try:
        sock.sendall(json.dumps(message).encode() + b"\n")
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def _run(request: dict[str, Any], fds: list[int]) -> None:
    """In the fork: become the run's process, as `python -m rlexp.sweeps.child` would be."""
    record_stop_signals()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals.STOP_SIGNALS)
    if request["new_session"]:
        os.setsid()
    stdin, stdout = fds
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.dup2(stdout, 2)
    os.close(stdin)
    os.close(stdout)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    from rlexp.sweeps import child

    code: Any = 1
    try:
        code = child.main(request["plugins"])
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        traceback.print_exc()
    finally:
        # What the interpreter's exit would run: TensorFlow's handlers remove the modules
        # autograph wrote to the temp folder.
        atexit._run_exitfuncs()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr, flush=True)
        code = 1
    os._exit(code)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
    # The server ran no TensorFlow op and holds nothing to save: skip the interpreter's
    # teardown of TensorFlow's modules (~1 s, which the worker's exit waits for).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
