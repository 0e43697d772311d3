"""rlexp.training.progress: summary lines without a bar, the bar's bounds, closing lines."""

from __future__ import annotations

import io
import shlex
from pathlib import Path

from rlexp.training.progress import Progress, closing_lines, duration, job_prefix


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_a_bar_each_summary_is_a_line_on_stdout_and_in_train_log(tmp_path):
    out, clock, log = io.StringIO(), Clock(), tmp_path / "train.log"
    progress = Progress(
        20000, bar=False, log_file=log, prefix=job_prefix(3, 1), stream=out, clock=clock
    )
    clock.now += 10
    progress.update(5000, eval_return=123.44, loss=0.012345)
    progress.report()
    clock.now += 10
    progress.report(10000)
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines == [
        "[job 3 seed 1] env steps 5000/20000 (25%) | eval 123.4 | loss 0.0123 | 500 steps/s "
        "| ETA 0:00:30",
        "[job 3 seed 1] env steps 10000/20000 (50%) | eval 123.4 | loss 0.0123 | 500 steps/s "
        "| ETA 0:00:20",
    ]
    assert log.read_text().splitlines() == lines


def test_a_resumed_run_counts_its_rate_from_where_it_resumed():
    out, clock = io.StringIO(), Clock()
    progress = Progress(1000, initial=600, bar=False, stream=out, clock=clock)
    assert "steps/s | ETA -" in progress.line()  # nothing done yet: no rate
    clock.now += 2
    progress.report(800)
    assert out.getvalue().startswith("env steps 800/1000 (80%) | eval - | loss - | 100 steps/s")


def test_the_bar_never_passes_its_total_and_lines_go_to_the_log_only(tmp_path):
    bar_out, out, log = io.StringIO(), io.StringIO(), tmp_path / "train.log"
    progress = Progress(1000, bar=True, log_file=log, stream=out, bar_stream=bar_out)
    assert progress.has_bar
    progress.update(600)
    progress.update(1370, eval_return=10.0, loss=0.5)  # the last iteration overshoots
    progress.report()
    assert progress._bar.n == 1000
    progress.close()
    assert "1000/1000" in bar_out.getvalue() and "1370" not in bar_out.getvalue()
    assert "100%" in bar_out.getvalue()
    assert out.getvalue() == ""  # the bar is the terminal's progress
    assert log.read_text().startswith("env steps 1000/1000 (100%)")


def test_progress_null_means_a_bar_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not Progress(10, bar=None, bar_stream=io.StringIO(), stream=io.StringIO()).has_bar
    with_bar = Progress(10, bar=None, bar_stream=Terminal(), stream=io.StringIO())
    assert with_bar.has_bar
    with_bar.close()


def test_closing_lines_of_a_solved_run_quote_the_run_dir():
    run_dir = Path("/tmp/outputs/my run")
    metrics = {
        "reward_threshold": 475.0,
        "solved_at_env_steps": 12000,
        "solved_at_wall_time_s": 34.4,
        "final_eval_return": 500.0,
        "best_eval_return": 500.0,
        "wall_time_s": 62.2,
        "train_wall_time_s": 50.0,
        "env_steps": 20000,
    }
    lines = closing_lines(metrics, run_dir, prefix="[job 0] ")
    assert lines[0] == (
        "[job 0] solved: yes, eval return reached the threshold 475 at env step 12000 "
        "after 0:00:34 of training"
    )
    assert lines[1] == "[job 0] eval return: final 500.0, best 500.0"
    assert lines[2] == "[job 0] wall time 0:01:02 (training 0:00:50), 20000 env steps"
    assert lines[3] == "[job 0] run directory: /tmp/outputs/my run"
    command = lines[4].removeprefix("[job 0] ")
    assert shlex.split(command) == ["tensorboard", "--logdir", str(run_dir), "--host", "127.0.0.1"]


def test_closing_lines_of_an_unsolved_run_and_an_env_without_threshold():
    unsolved = closing_lines(
        {
            "reward_threshold": 475.0,
            "solved_at_env_steps": None,
            "final_eval_return": 20.0,
            "best_eval_return": 31.0,
        },
        Path("r"),
    )
    assert unsolved[0] == "solved: no, eval return stayed below the threshold 475"
    assert unsolved[1] == "eval return: final 20.0, best 31.0"
    assert closing_lines({}, Path("r"))[0] == "solved: - (the env has no reward threshold)"


def test_duration():
    assert duration(3723.4) == "1:02:03"
    assert duration(float("nan")) == "-"


def test_train_log_is_never_written_through_a_symbolic_link(tmp_path):
    # A received run directory's train.log may link to any file of the user's.
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me\n")
    log = tmp_path / "run" / "train.log"
    log.parent.mkdir()
    log.symlink_to(victim)
    out = io.StringIO()
    progress = Progress(1000, bar=False, log_file=log, stream=out)
    progress.write("a line")
    progress.report(500)
    assert victim.read_text() == "keep me\n"
    assert "is a symbolic link; the log is not written through it" in out.getvalue()
    assert "a line" in out.getvalue()


def test_a_resume_note_starts_on_its_own_line_past_the_bar_and_goes_to_train_log(
    tmp_path, monkeypatch
):
    """`Runner.note` printed to stderr into the middle of the bar's line, and not to
    train.log."""
    import sys
    from types import SimpleNamespace

    from rlexp.training.runner import Runner

    screen, log = io.StringIO(), tmp_path / "train.log"
    monkeypatch.setattr(sys, "stderr", screen)  # the terminal the bar is drawn on
    progress = Progress(6000, initial=1524, bar=True, log_file=log, bar_stream=screen)
    progress.update(1524)
    Runner.note(SimpleNamespace(label="", progress=progress), "replaying env steps 1002-1524")
    progress.close()
    line = next(line for line in screen.getvalue().split("\n") if "replaying" in line)
    assert line.split("\r")[-1] == "rlexp resume: replaying env steps 1002-1524"
    assert log.read_text() == "rlexp resume: replaying env steps 1002-1524\n"
