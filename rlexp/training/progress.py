"""What a run tells the user while it trains and when it ends.

On a terminal a tqdm bar (never past its total); otherwise (not a terminal, or
`train.progress=false`) one line per summary interval on stdout. Every line also goes to
the run's train.log, so a cluster job's log is never empty:

    [job 3 seed 1] env steps 5000/20000 (25%) | eval 123.4 | loss 0.0123 | 812 steps/s | ETA 0:00:18

The runner calls, in order (see the module's tests for each):

    progress = Progress(cfg.train.env_steps, initial=env_steps, bar=cfg.train.progress,
                        log_file=run_dir / "train.log", prefix=job_prefix(job, seed))
    ...each loop iteration:      progress.update(env_steps, eval_return=..., loss=...)
    ...each summary interval:    progress.report(env_steps)
    ...a note:                   progress.write(text, stream=sys.stderr)  # past the bar
    ...a line said elsewhere:    progress.log(text)                       # train.log only
    progress.close()
    for line in closing_lines(metrics, run_dir):   # after metrics.json is final
        progress.write(line)
"""

from __future__ import annotations

import errno
import math
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO


def job_prefix(job: int | None, seed: int | None) -> str:
    """`[job 3 seed 1] ` for a sweep job's lines; empty for a single run."""
    if job is None:
        return ""
    return f"[job {job}" + (f" seed {seed}" if seed is not None else "") + "] "


def show_bar(progress: bool | None, stream: TextIO) -> bool:
    """`train.progress`: true/false, or null = a bar only on a terminal."""
    return stream.isatty() if progress is None else bool(progress)


def duration(seconds: float) -> str:
    """0:00:18, 1:02:03 (h:mm:ss); '-' when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "-"
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _number(value: Any, spec: str) -> str:
    if isinstance(value, int | float) and math.isfinite(value):
        return format(value, spec)
    return "-"


class Progress:
    """The bar or the summary lines of one run (see the module docstring for the calls)."""

    def __init__(
        self,
        total: int,
        initial: int = 0,
        *,
        bar: bool | None = None,
        log_file: Path | None = None,
        prefix: str = "",
        stream: TextIO | None = None,
        bar_stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total, self.prefix, self.clock = int(total), prefix, clock
        self.stream = stream or sys.stdout
        self.log_file = Path(log_file) if log_file else None
        self.start_steps, self.start_time = int(initial), clock()
        self.steps, self.eval_return, self.loss = int(initial), None, None
        self._bar = None
        bar_stream = bar_stream or sys.stderr
        if show_bar(bar, bar_stream):
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total,
                initial=min(self.steps, self.total),
                unit="step",
                desc=prefix.strip() or None,
                file=bar_stream,
                dynamic_ncols=True,
            )

    @property
    def has_bar(self) -> bool:
        return self._bar is not None

    def update(self, steps: int, eval_return: float | None = None, loss: float | None = None):
        """The latest env step count (clamped to the total on the bar) and values."""
        self.steps = int(steps)
        self.eval_return = eval_return if eval_return is not None else self.eval_return
        self.loss = loss if loss is not None else self.loss
        if self._bar is not None:
            self._bar.update(min(self.steps, self.total) - self._bar.n)
            self._bar.set_postfix_str(
                f"eval={_number(self.eval_return, '.1f')} loss={_number(self.loss, '.3g')}",
                refresh=False,
            )

    def rate(self) -> float:
        elapsed = self.clock() - self.start_time
        done = self.steps - self.start_steps
        return done / elapsed if elapsed > 0 and done > 0 else math.nan

    def line(self) -> str:
        steps = min(self.steps, self.total)
        share = 100 * steps / self.total if self.total else 100.0
        rate = self.rate()
        eta = (self.total - steps) / rate if math.isfinite(rate) and rate > 0 else math.nan
        return (
            f"{self.prefix}env steps {steps}/{self.total} ({share:.0f}%) | "
            f"eval {_number(self.eval_return, '.1f')} | loss {_number(self.loss, '.3g')} | "
            f"{_number(rate, '.0f')} steps/s | ETA {duration(eta)}"
        )

    def report(self, steps: int | None = None) -> None:
        """At a summary interval: a line to train.log, and to stdout when there is no bar."""
        if steps is not None:
            self.update(steps)
        self._emit(self.line(), to_stream=self._bar is None)

    def write(self, text: str, stream: TextIO | None = None) -> None:
        """A line for the user and train.log: to `stream` (stdout unless given; stderr for
        notes and warnings), past the bar while it is shown."""
        self._emit(text, to_stream=True, stream=stream)

    def log(self, text: str) -> None:
        """A line for train.log only (one the caller has shown the user itself)."""
        self._emit(text, to_stream=False)

    def _emit(self, text: str, to_stream: bool, stream: TextIO | None = None) -> None:
        stream = stream or self.stream
        if to_stream:
            if self._bar is not None:
                self._bar.write(text, file=stream)
            else:
                print(text, file=stream, flush=True)
        if self.log_file is not None and not append_to_log(self.log_file, text):
            linked, self.log_file = self.log_file, None
            note = f"rlexp: note: {linked} is a symbolic link; the log is not written through it"
            self.write(note)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def append_to_log(log_file: Path, text: str) -> bool:
    """Append the line `text` to `log_file` (train.log), never through a symbolic link (a
    copied or received run directory's link could point at any file): False for a link,
    which is left as it is."""
    try:
        fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        return False
    with os.fdopen(fd, "a") as log:
        log.write(text + "\n")
    return True


def closing_lines(
    metrics: Mapping[str, Any], run_dir: Path, prefix: str = "", host: str = "127.0.0.1"
) -> list[str]:
    """What a finished run says: solved or not, returns, wall time, where, how to look."""
    threshold = metrics.get("reward_threshold")
    solved_at = metrics.get("solved_at_env_steps")
    if threshold is None:
        solved = "solved: - (the env has no reward threshold)"
    elif solved_at is not None:
        solved = (
            f"solved: yes, eval return reached the threshold {threshold:g} at env step "
            f"{solved_at} after {duration(metrics.get('solved_at_wall_time_s') or math.nan)} "
            f"of training"
        )
    else:
        solved = f"solved: no, eval return stayed below the threshold {threshold:g}"
    return [
        f"{prefix}{solved}",
        f"{prefix}eval return: final {_number(metrics.get('final_eval_return'), '.1f')}, "
        f"best {_number(metrics.get('best_eval_return'), '.1f')}",
        f"{prefix}wall time {duration(metrics.get('wall_time_s') or math.nan)} "
        f"(training {duration(metrics.get('train_wall_time_s') or math.nan)}), "
        f"{metrics.get('env_steps', '-')} env steps",
        f"{prefix}run directory: {run_dir}",
        f"{prefix}tensorboard --logdir {shlex.quote(str(run_dir))} --host {host}",
    ]
