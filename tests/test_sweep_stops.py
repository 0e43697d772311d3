"""A sweep stopped from its terminal: Ctrl-C and a closed terminal (SIGHUP) go to the whole
foreground process group, the launcher's workers included, and must stop the sweep as
`kill <parent>` does; a stop mark must not outlive the invocation that wrote it."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import RLEXP, ROOT, _subprocess_env
from test_signals import RUN, _default_stop_signals, read_json, wait_for_evaluations

from rlexp.rundir import SWEEP_STOP_FILE
from rlexp.stop_signals import DUPLICATE_WINDOW_S
from rlexp.sweeps import signals as sweep_signals

# A run whose loop call lasts many seconds (the default fused loop, one call to the first
# trigger point): both Ctrl-Cs come while it is in the call.
# A first loop call of ~50,000 train steps: seconds longer than the test's two Ctrl-Cs take.
ONE_LONG_CALL = (
    "train.env_steps=200000",
    "train.eval_interval=100000",
    "train.summary_interval=100000",
    "train.checkpoint_interval=100000",
    "driver.num_steps=512",
    "train.progress=false",
)


def start_in_terminal(
    sweep_dir: Path,
    run: tuple[str, ...] = ("seed=0,1", *RUN),
    stdout: int = subprocess.PIPE,
) -> subprocess.Popen:
    """`rlexp -m <run>` leading a process group of its own, as a terminal's foreground
    command does: `os.killpg(proc.pid, ...)` is what the terminal sends."""
    return subprocess.Popen(
        [str(RLEXP), "-m", *run, f"hydra.sweep.dir={sweep_dir}"],
        cwd=ROOT,
        env=_subprocess_env(),
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout == subprocess.PIPE else stdout,
        text=True,
        preexec_fn=_default_stop_signals,
        start_new_session=True,
    )


def workers_of(pid: int) -> list[int]:
    """The joblib (loky) workers among the children of `pid`."""
    return [
        child
        for child in sweep_signals._child_pids(pid)
        if b"popen_loky_posix" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@contextmanager
def read_until_closed(terminal: int) -> Iterator[None]:
    """Read the terminal's output (else the sweep blocks once it is full) while the block
    runs; then close it, as a terminal window that closes does."""
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            if select.select([terminal], [], [], 0.05)[0]:
                try:
                    os.read(terminal, 4096)
                except OSError:
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield
    finally:
        done.set()
        reader.join()
        os.close(terminal)


def assert_stopped_cleanly(sweep_dir: Path, code: int, proc: subprocess.Popen) -> None:
    assert proc.returncode == code
    assert read_json(sweep_dir / "sweep.json")["status"] == "interrupted"
    assert not (sweep_dir / SWEEP_STOP_FILE).exists()


def test_a_ctrl_c_to_the_process_group_while_the_workers_start_stops_the_sweep(tmp_path):
    """The workers, in the terminal's foreground group, died of the Ctrl-C while they
    imported or waited for a job: TerminatedWorkerError, sweep.json `aborted`, no resume
    command, and the stop mark left behind."""
    sweep_dir = tmp_path / "sweep"
    proc = start_in_terminal(sweep_dir)
    deadline = time.monotonic() + 120
    while not workers_of(proc.pid):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert_stopped_cleanly(sweep_dir, 130, proc)
    assert "Traceback" not in out and "Error" not in out, out
    assert f"continue it with: rlexp resume {sweep_dir}" in out


def test_a_closed_terminal_stops_the_sweeps_runs_with_checkpoints(tmp_path):
    """The terminal hangs up (writing to it fails, EIO) and sends SIGHUP to the group: the
    parent crashed printing that it stops, and the runs were left `running` without their
    stop checkpoints."""
    sweep_dir = tmp_path / "sweep"
    terminal, tty = pty.openpty()
    proc = start_in_terminal(sweep_dir, stdout=tty)
    os.close(tty)
    with read_until_closed(terminal):
        for job in ("0_seed=0", "1_seed=1"):
            wait_for_evaluations(sweep_dir / job, proc, 1)
    # The terminal is gone: writing to it fails from now on.
    os.killpg(proc.pid, signal.SIGHUP)
    proc.wait(timeout=300)
    assert_stopped_cleanly(sweep_dir, 129, proc)
    for job in ("0_seed=0", "1_seed=1"):
        assert read_json(sweep_dir / job / "job.json")["status"] == "interrupted", job
        metrics = read_json(sweep_dir / job / "metrics.json")
        assert metrics["status"] == "interrupted", metrics
        stopped_at = metrics["env_steps"]
        assert (sweep_dir / job / "checkpoints" / f"trainer_state-{stopped_at}.json").is_file()


@pytest.mark.slow
def test_a_second_ctrl_c_to_the_process_group_aborts_the_runs(tmp_path):
    """As in a single run, a second Ctrl-C aborts the runs at once (failed, resumable from
    their last checkpoints); it reached the workers, which broke joblib's pool, and the
    runs died without a record of how they ended."""
    sweep_dir = tmp_path / "sweep"
    proc = start_in_terminal(sweep_dir, ("seed=0,1", *ONE_LONG_CALL))
    jobs = [sweep_dir / "0_seed=0", sweep_dir / "1_seed=1"]
    deadline = time.monotonic() + 240
    while not all(list(job.glob("checkpoints/trainer_state-*.json")) for job in jobs):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)  # each run has its checkpoint after the prefill
    time.sleep(2)  # and is in its first loop call (compiling it, or training)
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(DUPLICATE_WINDOW_S * 2)
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert_stopped_cleanly(sweep_dir, 130, proc)
    assert "Ctrl-C again: the running jobs abort now" in out, out
    for job in jobs:
        record = read_json(job / "job.json")
        assert record["status"] == "failed" and record["exit_code"] == 130, record
        assert read_json(job / "metrics.json")["error"] == "aborted by a second Ctrl-C"
        # the run's log keeps the abort too (after SIGHUP it is all that does)
        assert "aborted: the run is marked failed" in (job / "train.log").read_text()


@pytest.fixture
def sweep_parent(tmp_path, monkeypatch):
    """This process as the parent of a sweep in `tmp_path`, its stop handlers restored
    after."""
    monkeypatch.setattr(sweep_signals, "_parent_of", [])
    monkeypatch.setattr(sweep_signals, "_received", [])
    handlers = {s: signal.getsignal(s) for s in sweep_signals.STOP_SIGNALS}
    try:
        yield tmp_path
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)


def test_a_process_the_sweeps_parent_forks_leaves_the_terminals_process_group(sweep_parent):
    """What keeps a terminal's Ctrl-C from the launcher's workers (joblib forks them)."""
    sweep_signals.stop_sweep_on_signals(sweep_parent)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_end, str(os.getpgid(0)).encode())
        os._exit(0)
    os.close(write_end)
    group = int(os.read(read_end, 32))
    os.close(read_end)
    os.waitpid(pid, 0)
    assert group == pid != os.getpgid(0)


def test_the_parent_stops_its_sweep_though_its_terminal_is_gone(sweep_parent, monkeypatch):
    class GoneTerminal:
        def write(self, text: str) -> int:
            raise OSError(5, "Input/output error")

        def flush(self) -> None:
            raise OSError(5, "Input/output error")

    sweep_signals.stop_sweep_on_signals(sweep_parent)
    monkeypatch.setattr("sys.stderr", GoneTerminal())
    assert sweep_signals._stop(signal.SIGTERM)  # raised OSError: the parent crashed
    assert (sweep_parent / SWEEP_STOP_FILE).read_text() == "SIGTERM\n"


def test_a_sweep_that_starts_removes_the_stop_mark_an_earlier_invocation_left(sweep_parent):
    """The mark of a sweep whose parent died kept every job of its resume from starting."""
    (sweep_parent / SWEEP_STOP_FILE).write_text("SIGINT\n")
    sweep_signals.stop_sweep_on_signals(sweep_parent)
    assert not sweep_signals.stop_requested(sweep_parent)


def test_an_aborted_sweep_leaves_no_stop_mark(sweep_parent, monkeypatch):
    import json

    from omegaconf import OmegaConf

    from rlexp.rundir import SWEEP_FILE
    from rlexp.sweeps import callbacks

    monkeypatch.setattr(callbacks, "_OPEN", {sweep_parent: OmegaConf.create({})})
    (sweep_parent / SWEEP_FILE).write_text(json.dumps({"status": "running"}))
    (sweep_parent / SWEEP_STOP_FILE).write_text("SIGINT\n")
    callbacks.close_unfinished("BrokenProcessPool: ...")
    assert read_json(sweep_parent / SWEEP_FILE)["status"] == "aborted"
    assert not (sweep_parent / SWEEP_STOP_FILE).exists()

