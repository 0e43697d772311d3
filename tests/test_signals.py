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


def start(run_dir: Path) -> subprocess.Popen:
    command = [str(RLEXP), "train", *RUN, f"hydra.run.dir={run_dir}"]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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
    [(signal.SIGTERM, 143), pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow)],
)
def test_a_signal_checkpoints_marks_interrupted_and_resume_completes(
    tmp_path, run_cli, uninterrupted, signum, code
):
    run_dir = tmp_path / "run"
    proc = start(run_dir)
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


def test_a_second_sigint_aborts_at_once():
    from rlexp.training.trainer import StopRequest

    stop = StopRequest()
    stop.handle(signal.SIGINT, None)
    assert stop() and stop.signum == signal.SIGINT
    stop.handle(signal.SIGTERM, None)  # a later SIGTERM changes nothing
    assert stop.signum == signal.SIGINT
    with pytest.raises(KeyboardInterrupt):
        stop.handle(signal.SIGINT, None)


def test_an_abort_exits_130_with_one_line(cli, monkeypatch):
    import rlexp.cli

    def abort(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(rlexp.cli, "_command", abort)
    result = cli("train")
    assert result.code == 130, result.describe()
    assert "aborted" in result.err and "Traceback" not in result.output


@pytest.mark.slow
def test_a_stopped_sweep_interrupts_its_runs_and_says_so(tmp_path, run_cli):
    sweep_dir = tmp_path / "sweep"
    command = [str(RLEXP), "-m", "agent.gamma=0.9,0.99", *RUN, "hydra.launcher.n_jobs=2"]
    proc = subprocess.Popen(
        [*command, f"hydra.sweep.dir={sweep_dir}"],
        cwd=ROOT,
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
