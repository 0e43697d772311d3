"""`train(cfg, run_dir)`: one run, locked, recorded, and stoppable by signal.

The run itself is `rlexp.training.runner.Runner`. Around it: the run-directory lock (one
process per run), provenance, the failure record, and stop-signal handling
(`rlexp.stop_signals`): the first SIGTERM, SIGINT or SIGHUP lets the current loop call
end, checkpoints and marks the run `interrupted` (`Interrupted` is raised for the CLI to
exit 128 + the signal's number); one that comes once the run has completed changes
nothing. A second SIGINT aborts at once: the run is marked failed and the process exits.
"""

from __future__ import annotations

import re
import shlex
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from rlexp import rundir, stop_signals
from rlexp.context import BuildError
from rlexp.rundir import DiskFullError, Metrics, RunLock
from rlexp.stop_signals import StopRequest
from rlexp.tracking import provenance
from rlexp.tracking.quiet import quiet_tensorflow
from rlexp.training import claim, xla
from rlexp.training.checkpoints import CheckpointError, newest_on_disk


class StoppedBySignal(Exception):
    """A run a stop signal ended; the process exits as that signal would (128 + signum)."""

    def __init__(self, signum: int, message: str):
        self.signum = signum
        super().__init__(message)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class Interrupted(StoppedBySignal):
    """The run stopped cleanly on a signal, with a checkpoint to resume from."""

    def __init__(self, signum: int, metrics: Metrics):
        self.metrics = metrics
        super().__init__(signum, f"interrupted by {signal.Signals(signum).name}")


class Aborted(KeyboardInterrupt):
    """A second Ctrl-C ended a run that had begun; it is marked failed."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        super().__init__(aborted_text(run_dir))


def aborted_text(run_dir: Path) -> str:
    """What a second Ctrl-C left of a run that had begun."""
    return (
        f"aborted: the run is marked failed; continue it from its last checkpoint with: "
        f"rlexp resume {shlex.quote(str(run_dir))}"
    )


class StoppedBeforeStart(StoppedBySignal):
    """A stop signal came before the run began (`rlexp.stop_signals`)."""

    def __init__(self, signum: int):
        name = signal.Signals(signum).name
        super().__init__(signum, f"stopped by {name} before the run began")


def train(cfg: DictConfig, run_dir: Path, resume: bool = False, label: str = "") -> dict[str, Any]:
    """Train one run into `run_dir`, or continue it from its latest checkpoint.

    `label` goes before every progress line (`[job 3 seed 1] ` for a sweep job).
    Returns the contents of metrics.json; raises Interrupted after a clean stop by signal,
    StoppedBeforeStart (having written nothing) for a signal `rlexp.stop_signals` recorded
    before it. Provenance and a failure record are written whatever happens once it began.
    """
    run_dir = Path(run_dir)
    stop = StopRequest()
    with _signals_to(stop):
        early = stop_signals.take_early()
        if early is not None:  # while TensorFlow loaded: nothing of the run is written yet
            raise StoppedBeforeStart(early)
        claim.started(run_dir)
        return _locked_run(cfg, run_dir, resume, stop, label)


def _locked_run(
    cfg: DictConfig, run_dir: Path, resume: bool, stop: StopRequest, label: str
) -> dict[str, Any]:
    """`train` under the run directory's lock, with provenance and a failure record."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir) as lock:
        if lock.took_over_from is not None:
            print(
                f"rlexp: note: taking over the lock of {run_dir} from pid "
                f"{lock.took_over_from}, which is no longer running",
                file=sys.stderr,
            )
        provenance_file = run_dir / rundir.PROVENANCE_FILE
        before = provenance_file.read_bytes() if provenance_file.exists() else None
        try:
            record = provenance.start_record(run_dir, resume=resume)
        except OSError as exc:
            if rundir.no_space_left(exc):
                raise DiskFullError(disk_full_text(run_dir, recorded=False)) from exc
            raise
        stop.on_abort = lambda: _abort_run(run_dir, record)
        runner = None
        try:
            runner = _build_runner(cfg, run_dir, resume, stop, label)
            with _out_of_memory_named():
                metrics = runner.run(record)
        except CheckpointError:  # a refused resume: the run directory stays as it was
            if before is not None:
                provenance_file.write_bytes(before)
            else:
                provenance_file.unlink(missing_ok=True)
            raise
        except BaseException as exc:
            full = rundir.no_space_left(exc)
            reason = "no space left on device" if full else f"{type(exc).__name__}: {exc}"
            recorded = _record_failure(run_dir, record, reason)
            if recorded and runner is not None:
                with suppress(Exception):  # the error that stopped the run counts
                    runner.write_provenance(record)
            if full:
                raise DiskFullError(disk_full_text(run_dir, recorded)) from exc
            if isinstance(exc, KeyboardInterrupt):
                stop.log(f"rlexp: {aborted_text(run_dir)}")  # the command says it
                raise Aborted(run_dir) from None
            raise
        return _finish(run_dir, record, metrics, stop, runner)


def _finish(
    run_dir: Path, record: dict, metrics: Metrics, stop: StopRequest, runner: Any
) -> dict[str, Any]:
    """Record how the run ended, in provenance.json and TensorBoard's Text tab: interrupted
    (raises Interrupted) or completed, which a signal that came during the final evaluation
    or export does not change."""
    if metrics.status == "interrupted" and stop.signum is not None:
        name = signal.Signals(stop.signum).name
        provenance.finish_record(run_dir, record, f"interrupted: {name}")
        runner.write_provenance(record)
        raise Interrupted(stop.signum, metrics)
    stop.on_abort = None  # a second Ctrl-C from now on leaves the completed run as it is
    provenance.finish_record(run_dir, record, "completed")
    runner.write_provenance(record)
    if stop.signum is not None:
        runner.progress.write(
            f"rlexp: note: {signal.Signals(stop.signum).name} came after the run had "
            f"finished training; it completed",
            stream=sys.stderr,
        )
    return metrics.to_json()


def _abort_run(run_dir: Path, record: dict) -> str:
    """A second Ctrl-C while the run trains: mark it failed; the line that says so
    (`StopRequest.abort` says and logs it, then ends the process)."""
    _record_failure(run_dir, record, "aborted by a second Ctrl-C")
    return f"rlexp: {aborted_text(run_dir)}"


def _record_failure(run_dir: Path, record: dict, reason: str) -> bool:
    """Mark the run failed in metrics.json and provenance.json; False when the disk (full,
    read-only) refused, so the error that stopped the run is the one reported."""
    try:
        rundir.mark_status(run_dir, "failed", reason)
        provenance.finish_record(run_dir, record, f"failed: {reason}")
    except OSError:
        return False
    return True


def disk_full_text(run_dir: Path, recorded: bool) -> str:
    """What happened when the run directory's disk filled up, and what to do about it."""
    where = shlex.quote(str(run_dir))
    status = (
        "it is marked failed in metrics.json"
        if recorded
        else "metrics.json could not be updated either"
    )
    newest = newest_on_disk(run_dir)
    free_space = rundir.free_space_hint(run_dir)
    then = (
        f"its newest complete checkpoint, {newest}, is intact. {free_space}, then continue "
        f"the run with: rlexp resume {where}"
        if newest
        else f"it had written no checkpoint yet. {free_space}, then start the run again in a "
        f"new directory"
    )
    return (
        f"no space left on device while writing the run directory {run_dir}: the run "
        f"stopped and {status}; {then}"
    )


def _build_runner(
    cfg: DictConfig, run_dir: Path, resume: bool, stop: StopRequest, label: str
) -> Any:
    """The run's Runner, its components built (TensorFlow is imported here, quietly)."""
    quiet_tensorflow()
    xla.skip_slow_passes()
    from rlexp.training.runner import Runner, uses_xla

    if uses_xla(cfg):
        problem = xla.persistent_cache_problem()
        if problem:
            raise BuildError(problem)
        xla.spend_the_first_compile_notice()
    with _out_of_memory_named():
        runner = Runner(cfg, run_dir, resume, should_stop=stop, label=label)
    stop.log_to(runner.progress.log)
    claim.built(run_dir)
    return runner


@contextmanager
def _out_of_memory_named() -> Iterator[None]:
    """TensorFlow's out-of-memory error as a TrainingError saying what to lower."""
    import tensorflow as tf

    from rlexp.training.runner import TrainingError

    try:
        yield
    except tf.errors.ResourceExhaustedError as exc:
        raise TrainingError(out_of_memory_text(str(exc))) from None


_OOM = re.compile(r"OOM when allocating tensor with shape\[([^\]]*)\] and type (\w+)")


def out_of_memory_text(message: str) -> str:
    """TensorFlow's out-of-memory error as what it could not allocate and what sizes it."""
    found = _OOM.search(message)
    tensor = f" a tensor of shape [{found[1]}] ({found[2]})" if found else ""
    return (
        f"out of memory: TensorFlow could not allocate{tensor}; lower the setting that sizes "
        f"it (network.fc_layer_params, buffer.max_length, buffer.sample_batch_size, "
        f"env.num_parallel_envs, train.eval_episodes)"
    )


@contextmanager
def _signals_to(stop: StopRequest) -> Iterator[None]:
    """Route the stop signals to `stop`, watched (`StopRequest.watched`); main thread only
    (elsewhere leave them be). SIGHUP stays ignored where it was (`nohup`)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        s: signal.signal(s, stop.handle)
        for s in stop_signals.STOP_SIGNALS
        if s != signal.SIGHUP or signal.getsignal(s) is not signal.SIG_IGN
    }
    try:
        with stop.watched():
            yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
