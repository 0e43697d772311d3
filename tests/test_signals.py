"""SIGTERM and SIGINT stop a run cleanly: the current iteration ends, a checkpoint is saved
at that point, the run is marked interrupted, and `rlexp resume` finishes it with the
results of a run that was never stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import RLEXP, ROOT, _subprocess_env, invoke_main
from test_reproducibility import comparable

from rlexp.stop_signals import DUPLICATE_WINDOW_S

# A Python env with the step driver: iterations are short, so the stop is prompt.
RUN = (
    "env=cartpole",
    "driver=step",
    "train.env_steps=4000",
    "train.prefill_steps=200",
    "train.eval_interval=500",
    "train.eval_episodes=2",
    "train.summary_interval=250",
    "train.checkpoint_interval=1000",
    "train.progress=false",
    "env.max_episode_steps=100",
    "driver.num_steps=512",
)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    """metrics.json of the run never stopped."""
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    result = invoke_main("train", *RUN, f"hydra.run.dir={run_dir}")
    assert result.code == 0, result.describe()
    return read_json(run_dir / "metrics.json")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def start(*args: str) -> subprocess.Popen:
    """`rlexp <args>` in a process of its own, its output captured."""
    return subprocess.Popen(
        [str(RLEXP), *args],
        cwd=ROOT,
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_stop_signals,
    )


def _default_stop_signals() -> None:
    """A child's stop signals at their defaults, as a terminal's command has them: a test
    run under nohup (SIGHUP ignored) or in the background (SIGINT ignored) passes it on."""
    for s in (signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def wait_for_evaluations(run_dir: Path, proc: subprocess.Popen, count: int) -> None:
    """Until metrics.json holds `count` evaluations (past the first checkpoint point)."""
    deadline = time.monotonic() + 240
    while True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run made no progress within 240 s"
        try:
            if len(read_json(run_dir / "metrics.json")["evaluations"]) >= count:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signum", "code"),
    [
        (signal.SIGTERM, 143),
        pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow),
        pytest.param(signal.SIGHUP, 129, marks=pytest.mark.slow),  # the terminal closed
    ],
)
def test_a_signal_checkpoints_marks_interrupted_and_resume_completes(
    tmp_path, run_cli, uninterrupted, signum, code
):
    run_dir = tmp_path / "run"
    proc = start("train", *RUN, f"hydra.run.dir={run_dir}")
    wait_for_evaluations(run_dir, proc, 3)  # past the checkpoint at 1000
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=240)
    name = signal.Signals(signum).name
    assert proc.returncode == code, err
    assert "Traceback" not in out + err
    assert f"interrupted by {name}" in err and f"rlexp resume {run_dir}" in err

    metrics = read_json(run_dir / "metrics.json")
    stopped_at = metrics["env_steps"]
    assert metrics["status"] == "interrupted" and 1000 < stopped_at < 4000, metrics
    checkpoint = read_json(run_dir / "checkpoints" / f"trainer_state-{stopped_at}.json")
    assert checkpoint["env_steps"] == stopped_at  # saved where the run stopped
    assert read_json(run_dir / "provenance.json")["exit_status"] == f"interrupted: {name}"

    resumed = run_cli("resume", run_dir)
    assert resumed.code == 0, resumed.describe()
    final = read_json(run_dir / "metrics.json")
    assert final["status"] == "completed" and final["env_steps"] >= 4000
    assert final["evaluations"][: len(metrics["evaluations"])] == metrics["evaluations"]
    assert comparable(final) == comparable(uninterrupted)
    assert (run_dir / "policy_best" / "saved_model.pb").is_file()


def test_a_second_sigint_aborts_at_once(monkeypatch):
    from rlexp import stop_signals

    now = [100.0]
    monkeypatch.setattr(stop_signals.time, "monotonic", lambda: now[0])
    stop = stop_signals.StopRequest()
    stop.handle(signal.SIGINT, None)
    assert stop() and stop.signum == signal.SIGINT
    stop.handle(signal.SIGTERM, None)  # a later SIGTERM changes nothing
    now[0] += stop_signals.DUPLICATE_WINDOW_S / 2
    stop.handle(signal.SIGINT, None)  # the first one again (timeout -s INT: to the group)
    assert stop.signum == signal.SIGINT
    now[0] += stop_signals.DUPLICATE_WINDOW_S / 2
    with pytest.raises(KeyboardInterrupt):
        stop.handle(signal.SIGINT, None)


def test_an_abort_the_main_thread_sees_is_in_the_run_s_log(tmp_path, monkeypatch):
    """Where no watcher thread sees the signals (the wakeup fd taken), a second Ctrl-C is a
    KeyboardInterrupt in the main thread: its message went to stderr only."""
    from rlexp.training.runner import Runner

    def second_ctrl_c(self, record):
        raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "run", second_ctrl_c)
    run_dir = tmp_path / "run"
    result = invoke_main("train", *RUN, f"hydra.run.dir={run_dir}")
    assert result.code == 130, result.describe()
    said = next(line for line in result.err.splitlines() if "aborted: the run" in line)
    assert said in (run_dir / "train.log").read_text().splitlines()


def test_a_ctrl_c_before_any_run_began_says_there_is_nothing_to_resume(cli, monkeypatch):
    """The first Ctrl-C while the command starts: it said "aborted (a run that had begun is
    marked failed; `rlexp resume` continues it ...)", the second Ctrl-C's message."""
    import rlexp.cli

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(rlexp.cli, "_command", interrupted)
    result = cli("train")
    assert result.code == 130, result.describe()
    assert "stopped by Ctrl-C before any run began (nothing to resume)" in result.err
    assert "resume " not in result.err and "Traceback" not in result.output


def test_a_ctrl_c_during_eval_says_it_stopped_eval_not_a_run(cli, monkeypatch, tmp_path):
    """It said "before any run began (nothing to resume)", words about training."""
    import rlexp.policies.saved

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rlexp.policies.saved, "evaluate", interrupted)
    result = cli("eval", tmp_path, "episodes=5")
    assert result.code == 130, result.describe()
    assert "rlexp eval: stopped by Ctrl-C before it reported a result" in result.err
    assert "run began" not in result.err and "resume" not in result.err


def test_an_abort_of_a_run_that_had_begun_says_how_to_continue_it(cli, monkeypatch, tmp_path):
    import rlexp.cli
    from rlexp.training.trainer import Aborted

    def aborted(argv):
        raise Aborted(tmp_path)

    monkeypatch.setattr(rlexp.cli, "_command", aborted)
    result = cli("train")
    assert result.code == 130, result.describe()
    assert "aborted: the run is marked failed" in result.err
    assert f"rlexp resume {tmp_path}" in result.err and "Traceback" not in result.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_while_tensorflow_loads_stops_before_the_run_and_keeps_nothing(tmp_path, signum):
    """Hydra has written the run directory and the job imports TensorFlow (~2 s): SIGTERM
    killed the process there, and Ctrl-C's KeyboardInterrupt was swallowed by an import
    (the run trained on), both leaving a directory that refused the same command again."""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [str(RLEXP), "train", *RUN, f"hydra.run.dir={run_dir}"],
        cwd=ROOT,
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_stop_signals,
    )
    deadline = time.monotonic() + 60
    while not (run_dir / ".hydra" / "config.yaml").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "the run directory never appeared"
        time.sleep(0.01)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, err
    assert f"{name} received: stopping before the run begins" in err
    assert f"stopped by {name} before the run began; removed {run_dir}" in err
    assert not run_dir.exists() and "Traceback" not in err


def test_a_resume_stopped_before_it_began_leaves_the_run_as_it_was(tmp_path):
    """The signal came while the resume loaded TensorFlow (recorded by the CLI)."""
    import os

    from rlexp import stop_signals
    from rlexp.training.trainer import StoppedBeforeStart, train

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.json").write_text('{"status": "interrupted"}')
    with stop_signals.recorded():
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(StoppedBeforeStart) as stopped:
            train(None, run_dir, resume=True)
    assert stopped.value.exit_code == 143
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.json"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_sweep_takes_a_signal_that_came_while_it_was_composed(tmp_path, monkeypatch):
    import os

    from rlexp import stop_signals
    from rlexp.rundir import SWEEP_STOP_FILE
    from rlexp.sweeps import signals as sweep_signals
    from rlexp.sweeps.signals import stop_sweep_on_signals, take_received

    monkeypatch.setattr(sweep_signals, "_received", [])  # this process's sweep record
    monkeypatch.setattr(sweep_signals, "_parent_of", [])
    handlers = {s: signal.getsignal(s) for s in stop_signals.STOP_SIGNALS}
    try:
        with stop_signals.recorded():
            os.kill(os.getpid(), signal.SIGTERM)
            stop_sweep_on_signals(tmp_path)
        assert take_received() == signal.SIGTERM
        assert (tmp_path / SWEEP_STOP_FILE).read_text() == "SIGTERM\n"
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)


@pytest.mark.slow
def test_a_stopped_sweep_interrupts_its_runs_and_says_so(tmp_path, run_cli):
    sweep_dir = tmp_path / "sweep"
    command = ["-m", "agent.gamma=0.9,0.99", *RUN, "hydra.launcher.n_jobs=2"]
    proc = start(*command, f"hydra.sweep.dir={sweep_dir}")
    for job in ("0_agent.gamma=0.9", "1_agent.gamma=0.99"):
        wait_for_evaluations(sweep_dir / job, proc, 1)
    proc.send_signal(signal.SIGTERM)  # to the parent only, as `kill PID` does
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert "Traceback" not in out + err
    assert read_json(sweep_dir / "sweep.json")["status"] == "interrupted"
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name[0].isdigit())
    for job in jobs:
        assert read_json(job / "metrics.json")["status"] == "interrupted", job
        assert read_json(job / "job.json")["status"] == "interrupted", job
    resumed = run_cli("resume", jobs[0])
    assert resumed.code == 0, resumed.describe()
    assert read_json(jobs[0] / "metrics.json")["status"] == "completed"


def test_a_job_passes_the_sweeps_stop_mark_to_its_run(tmp_path, monkeypatch):
    """Where the parent cannot signal a job's process (Ray's workers, other nodes), the stop
    mark in the shared sweep directory reaches the run: as SIGTERM, once."""
    import sys

    from rlexp.rundir import SWEEP_STOP_FILE
    from rlexp.sweeps import signals as sweep_signals
    from rlexp.sweeps.signals import forwarded_to

    monkeypatch.setattr(sweep_signals, "_parent_of", [])  # a worker: no sweep of its own
    monkeypatch.setattr(sweep_signals, "_received", [])
    child = subprocess.Popen(
        [sys.executable, "-c", CATCHES_SIGTERM_ONCE], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "ready\n"
    with forwarded_to(child, tmp_path):
        (tmp_path / SWEEP_STOP_FILE).write_text("SIGTERM\n")
        assert child.wait(timeout=10) == 7  # its handler's exit code: one SIGTERM


def test_a_stop_mark_seen_after_this_processs_sweep_ended_stops_no_sweep(tmp_path, monkeypatch):
    """Only the run is stopped: the process that ran a sweep (in-process, as tests do) kept
    taking stop marks as its sweep's, and its next command exited 143."""
    import sys

    from rlexp.rundir import SWEEP_STOP_FILE
    from rlexp.sweeps import signals as sweep_signals

    monkeypatch.setattr(sweep_signals, "_parent_of", [])
    monkeypatch.setattr(sweep_signals, "_received", [])
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        sweep_signals.stop_sweep_on_signals(tmp_path / "ended")
        sweep_signals.sweep_ended()
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
    child = subprocess.Popen(
        [sys.executable, "-c", CATCHES_SIGTERM_ONCE], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "ready\n"
    with sweep_signals.forwarded_to(child, tmp_path):
        (tmp_path / SWEEP_STOP_FILE).write_text("SIGTERM\n")
        assert child.wait(timeout=10) == 7
    assert sweep_signals.take_received() is None


CATCHES_SIGTERM_ONCE = """
import signal, sys, time
def stop(signum, frame):
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(9))  # a second SIGTERM: 9
    time.sleep(1)
    sys.exit(7)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(30)
"""


@pytest.mark.parametrize(
    "launcher",
    ["hydra.launcher.n_jobs=1", pytest.param("hydra/launcher=basic", marks=pytest.mark.slow)],
)
def test_a_sequential_sweep_stops_after_the_run_the_signal_interrupts(tmp_path, launcher):
    """A sequential launcher runs the jobs in the `rlexp -m` process itself: the signal it
    passed to the running run also stops the sweep, so the next job does not start, leaves
    no folder, and no job after it is set up (`rlexp resume` starts them)."""
    sweep_dir = tmp_path / "sweep"
    proc = start("-m", "seed=0,1,2", *RUN, launcher, f"hydra.sweep.dir={sweep_dir}")
    wait_for_evaluations(sweep_dir / "0_seed=0", proc, 1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert read_json(sweep_dir / "sweep.json")["status"] == "interrupted"
    assert read_json(sweep_dir / "0_seed=0" / "metrics.json")["status"] == "interrupted"
    assert [p.name for p in sweep_dir.iterdir() if p.is_dir()] == ["0_seed=0"]
    assert "[job 1 seed 1] not started: the sweep was stopped" in err
    assert "[job 2 " not in out + err  # the launcher set up no job after the stop


@pytest.mark.parametrize("wait_for", ["sweep.json", "job.json"])
def test_a_sweep_stopped_while_it_starts_is_interrupted_not_crashed(tmp_path, wait_for):
    """SIGTERM while the launcher's workers start (`sweep.json`) or a run's process does
    (`job.json`): the parent passed it to workers that had no handler yet, which died
    (joblib's TerminatedWorkerError, exit 1, the fork servers' tracebacks), and a run
    forked then lost it (still ignored, as its server's) and trained to the end."""
    sweep_dir = tmp_path / "sweep"
    proc = start("-m", "seed=0,1", *RUN, f"hydra.sweep.dir={sweep_dir}")
    deadline = time.monotonic() + 120
    while not list(sweep_dir.glob(f"**/{wait_for}")) and proc.poll() is None:
        assert time.monotonic() < deadline, f"no {wait_for} appeared"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert "Traceback" not in out + err and "TerminatedWorkerError" not in err
    assert read_json(sweep_dir / "sweep.json")["status"] == "interrupted"
    for metrics in sweep_dir.glob("*/metrics.json"):  # the runs that had started
        record = read_json(metrics)
        stopped = "stopped by SIGTERM before the run began" in str(record.get("error"))
        assert record["status"] == "interrupted" or stopped, record


def test_a_signal_during_the_final_phase_leaves_the_run_completed(tmp_path, monkeypatch):
    """The signal comes once the run has trained its budget (here as its final evaluation
    begins): the run said it was interrupted, exited 143 and recorded `interrupted:
    SIGTERM` in provenance.json, though it completed and exported its policies."""
    import os

    from rlexp.training.runner import Runner

    finish = Runner.finish

    def signalled_finish(self):
        os.kill(os.getpid(), signal.SIGTERM)
        return finish(self)

    monkeypatch.setattr(Runner, "finish", signalled_finish)
    run_dir = tmp_path / "run"
    short = [*RUN[:2], "train.env_steps=600", *RUN[3:]]
    result = invoke_main("train", *short, f"hydra.run.dir={run_dir}")
    assert result.code == 0, result.describe()
    assert "SIGTERM came after the run had finished training" in result.err
    assert "interrupted" not in result.err.replace("SIGTERM received", "")
    assert read_json(run_dir / "metrics.json")["status"] == "completed"
    assert read_json(run_dir / "provenance.json")["exit_status"] == "completed"


def test_a_signal_after_the_last_iteration_leaves_the_run_completed(tmp_path):
    """The signal comes during the last iteration's evaluation, inside the loop, once the
    budget is trained: the run was marked interrupted (exit 143) without its policies."""
    from conftest import sigterm_once_past

    run_dir = tmp_path / "run"
    short = [*RUN[:2], "train.env_steps=1000", *RUN[3:]]  # eval and checkpoint at 1000
    with sigterm_once_past(1000, after="evaluate"):
        result = invoke_main("train", *short, f"hydra.run.dir={run_dir}")
    assert result.code == 0, result.describe()
    assert "SIGTERM came after the run had finished training" in result.err
    assert "Continue it with" not in result.err
    metrics = read_json(run_dir / "metrics.json")
    assert metrics["status"] == "completed" and metrics["env_steps"] >= 1000, metrics
    assert read_json(run_dir / "provenance.json")["exit_status"] == "completed"
    for policy in ("policy", "policy_best"):
        assert (run_dir / policy / "saved_model.pb").is_file(), policy
    log = (run_dir / "train.log").read_text()
    assert "SIGTERM received" in log and "came after the run had finished training" in log


def test_train_log_keeps_what_a_stop_and_its_resume_said(tmp_path):
    """After SIGHUP nothing reads the terminal: the stop's lines and the resume's notes
    went to stderr only, and train.log held none of them."""
    from conftest import sigterm_once_past

    run_dir = tmp_path / "run"
    with sigterm_once_past(1501):
        stopped = invoke_main("train", *RUN, f"hydra.run.dir={run_dir}")
    assert stopped.code == 143, stopped.describe()
    log = (run_dir / "train.log").read_text()
    assert "rlexp: SIGTERM received: stopping after the current iteration" in log
    said = next(line for line in stopped.err.splitlines() if "Continue it with" in line)
    assert said in log.splitlines()
    resumed = invoke_main("resume", run_dir)
    assert resumed.code == 0, resumed.describe()
    notes = [line for line in resumed.err.splitlines() if line.startswith("rlexp resume: ")]
    assert any("replayed env steps " in note for note in notes), resumed.err
    assert set(notes) <= set((run_dir / "train.log").read_text().splitlines())


def test_what_a_stop_said_before_the_run_had_a_log_goes_to_it_once():
    from rlexp.stop_signals import StopRequest

    early, late = StopRequest(), StopRequest()
    early_log, late_log = [], []
    early.record(signal.SIGTERM)
    early.log_to(early_log.append)  # the run's log exists after the signal came
    late.log_to(late_log.append)
    late.record(signal.SIGINT)
    late.record(signal.SIGTERM)  # not the first: said by nobody
    assert early_log == ["rlexp: SIGTERM received: stopping after the current iteration "
                         "with a checkpoint (Ctrl-C again aborts at once)"]
    assert len(late_log) == 1 and late_log[0].startswith("rlexp: SIGINT received")


def test_a_log_that_cannot_be_written_does_not_keep_a_stop_from_being_recorded():
    from rlexp.stop_signals import StopRequest

    def full_disk(line: str) -> None:
        raise OSError(28, "No space left on device")

    stop = StopRequest()
    stop.log_to(full_disk)
    assert stop.record(signal.SIGTERM) and stop()


# The trainer's signal handling around a main thread blocked in one long call that no
# signal interrupts, as TensorFlow's are: the stop signals are blocked in that thread.
BLOCKED_IN_ONE_CALL = """
import os, signal, sys
from rlexp.stop_signals import StopRequest
from rlexp.training.trainer import _signals_to

stop = StopRequest()
stop.on_abort = lambda: "on_abort ran"
stop.log_to(lambda line: print(f"logged: {line}", file=sys.stderr, flush=True))
read_end, _ = os.pipe()
with _signals_to(stop):
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
    print("ready", flush=True)
    os.read(read_end, 1)  # nothing ever comes
"""


def wait_for_text(stream, text: str, seconds: float) -> None:
    """Until a child's output pipe has said `text` (read unbuffered); fails after
    `seconds` without it."""
    import os
    import select

    said, deadline = b"", time.monotonic() + seconds
    while text.encode() not in said:
        left = deadline - time.monotonic()
        assert left > 0 and select.select([stream], [], [], left)[0], f"no {text!r}: {said}"
        said += os.read(stream.fileno(), 4096)


def test_a_second_sigint_aborts_while_the_main_thread_is_in_one_long_call():
    """Python runs handlers only between bytecodes of the main thread: the second Ctrl-C
    waited for TensorFlow's long call to end (minutes), and the run went on training."""
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", BLOCKED_IN_ONE_CALL],
        cwd=ROOT,
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "ready\n", proc.communicate()
        proc.send_signal(signal.SIGINT)
        wait_for_text(proc.stderr, "SIGINT received: stopping", 20)  # at once, too
        proc.send_signal(signal.SIGINT)  # the same stop delivered twice: not an abort
        time.sleep(DUPLICATE_WINDOW_S * 2)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "\non_abort ran\n" in err and "logged: on_abort ran" in err  # said and logged


def test_sighup_stops_a_run_as_sigterm_does_unless_ignored():
    """SIGHUP (a closed terminal, a dropped ssh connection) killed the run at once, with no
    checkpoint and no record of how it ended; under `nohup` it stays ignored."""
    import os

    from rlexp.stop_signals import StopRequest
    from rlexp.training.trainer import _signals_to

    stop = StopRequest()
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)  # whatever pytest inherited
    try:
        with _signals_to(stop):
            assert signal.getsignal(signal.SIGHUP) == stop.handle  # else the kill ends pytest
            os.kill(os.getpid(), signal.SIGHUP)
        assert stop.signum == signal.SIGHUP
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
        with _signals_to(StopRequest()):
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_terminal_that_hung_up_is_left_too():
    """A hung-up terminal is no tty to `isatty` (EIO): a process that took SIGHUP kept
    writing to it, and failed."""
    import os
    import pty

    from rlexp.stop_signals import _was_terminal

    terminal, tty = pty.openpty()
    try:
        assert _was_terminal(tty)
        os.close(terminal)
        assert not os.isatty(tty) and _was_terminal(tty)
    finally:
        os.close(tty)
    read_end, write_end = os.pipe()
    assert not _was_terminal(write_end)
    os.close(read_end)
    os.close(write_end)


def test_a_fork_servers_run_records_every_stop_signal_until_the_trainers_handlers():
    """The server's do-nothing handlers (a stop waits in the fork for the run's) must not
    stay in the run: a SIGHUP before the trainer's handlers was lost."""
    from rlexp import stop_signals
    from rlexp.sweeps import forkserver

    saved = {s: signal.getsignal(s) for s in stop_signals.STOP_SIGNALS}
    try:
        for s in stop_signals.STOP_SIGNALS:
            signal.signal(s, forkserver._ignore)  # as the server sets them
        forkserver.record_stop_signals()
        handlers = {s: signal.getsignal(s) for s in stop_signals.STOP_SIGNALS}
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert all(h == stop_signals._EARLY.handle for h in handlers.values()), handlers


def test_a_sweep_run_stopped_before_it_began_is_interrupted_not_failed(tmp_path, capsys):
    """Ctrl-C while a sweep's run process loads TensorFlow: the user stopped the run, so the
    sweep counts it interrupted (HParams: Unknown), not failed."""
    import os

    from rlexp import stop_signals
    from rlexp.sweeps.job import _outcome
    from rlexp.training.job import train_and_report

    run_dir = tmp_path / "1_seed=1"
    run_dir.mkdir()  # the sweep's job made it, with its .hydra/
    # Python's default, as a run process starts with (an earlier test of this worker may
    # have left another handler, which `recorded` would keep).
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with stop_signals.recorded():
            os.kill(os.getpid(), signal.SIGINT)
            with pytest.raises(SystemExit) as exit_info:
                train_and_report(None, run_dir, resume=False, label="[job 1 seed 1] ")
    finally:
        signal.signal(signal.SIGINT, saved)
    assert exit_info.value.code == 130
    assert "stopped by SIGINT before the run began" in capsys.readouterr().err
    metrics, failure = _outcome(run_dir, 130)  # as the sweep's job reads the run's end
    assert failure is None and metrics["status"] == "interrupted", metrics
    assert "before the run began" in metrics["error"]
