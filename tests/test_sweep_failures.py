"""Failure isolation: in one sweep a job raises, one hits a non-finite loss and one is
SIGKILLed; the healthy job still finishes, each failed folder records why, and
`rlexp report` lists them as failed with the reason. A run that kills the worker's fork
server fails alone: the next run starts a new server."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import PLUGINS, SWEEP_RUN_OVERRIDES, run_sweep
from tensorboard.plugins.hparams import api_pb2, metadata
from test_report import report
from test_sweeps import hparams_data

FAULTS = {
    "none": None,
    "raise": "RuntimeError: faulty env raised on purpose",
    "nan": "non-finite reward",  # named by the env guard before the loss goes NaN
    "kill": "killed by SIGKILL",
}


@pytest.fixture(scope="module")
def faulty_sweep(tmp_path_factory):
    sweep_dir = tmp_path_factory.mktemp("faults") / "multirun"
    result = run_sweep(
        "plugins=[faulty_env]",
        "env=faulty",
        f"env.fault={','.join(FAULTS)}",
        *SWEEP_RUN_OVERRIDES,
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=PLUGINS,
    )
    return sweep_dir, result


def job_dir(sweep_dir, fault):
    (found,) = sweep_dir.glob(f"*_env.fault={fault}")
    return found


def test_the_sweep_finishes_and_the_healthy_job_completes(faulty_sweep):
    sweep_dir, result = faulty_sweep
    assert result.code == 0, result.describe()
    assert "sweep finished: 4 runs, 1 completed, 0 interrupted, 3 failed" in result.out
    metrics = json.loads((job_dir(sweep_dir, "none") / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert (job_dir(sweep_dir, "none") / "policy" / "saved_model.pb").is_file()


@pytest.mark.parametrize("fault", ["raise", "nan", "kill"])
def test_failed_job_folder_records_the_error(faulty_sweep, fault):
    sweep_dir, _ = faulty_sweep
    folder = job_dir(sweep_dir, fault)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "failed"
    assert FAULTS[fault] in metrics["error"]
    job = json.loads((folder / "job.json").read_text())
    assert job["status"] == "failed" and FAULTS[fault] in job["error"]
    if fault == "kill":
        assert job["exit_code"] == -9
    (end,) = hparams_data(folder)[metadata.SESSION_END_INFO_TAG]
    assert end.session_end_info.status == api_pb2.STATUS_FAILURE


def test_report_lists_failed_runs_with_reasons(faulty_sweep, tmp_path):
    sweep_dir, _ = faulty_sweep
    result = report(sweep_dir, f"out={tmp_path}")
    assert result.code == 0, result.describe()
    failed_section = result.out.split("## Failed runs", 1)[1]
    for fault, reason in FAULTS.items():
        if reason:
            line = next(x for x in failed_section.splitlines() if f"env.fault={fault}" in x)
            assert reason in line, line
    with open(tmp_path / "runs.csv") as f:
        runs = {r["run"].split("=")[-1]: r for r in csv.DictReader(f)}
    assert runs["none"]["status"] == "completed"
    assert {runs[f]["status"] for f in ("raise", "nan", "kill")} == {"failed"}
    assert "SIGKILL" in runs["kill"]["error"]


def test_a_swept_value_whose_interpolation_does_not_resolve_is_a_skipped_job(tmp_path):
    """The sweep's start record and the skipped job's HParams read the overrides as
    written; resolving them crashed the whole sweep ("Interpolation key 'nope' not
    found") after the other job had trained."""
    sweep_dir = tmp_path / "multirun"
    result = run_sweep(
        "agent.gamma=${nope},0.9", *SWEEP_RUN_OVERRIDES, f"hydra.sweep.dir={sweep_dir}"
    )
    assert result.code == 0, result.describe()
    assert "sweep finished: 2 runs, 1 completed, 0 interrupted, 1 failed" in result.out
    (skipped,) = sweep_dir.glob("0_*")
    metrics = json.loads((skipped / "metrics.json").read_text())
    assert "agent.gamma: Interpolation key 'nope' not found" in metrics["error"]
    record = json.loads((sweep_dir / "sweep.json").read_text())
    assert record["swept"] == {"agent.gamma": ["${nope}", 0.9]}
    assert record["invocations"][0]["overrides"][0] == "agent.gamma=${nope},0.9"


@pytest.mark.slow
def test_a_killed_fork_server_is_started_again(tmp_path):
    sweep_dir = tmp_path / "multirun"
    result = run_sweep(
        "plugins=[faulty_env]",
        "env=faulty",
        "env.fault=kill_parent,none",
        *SWEEP_RUN_OVERRIDES,
        "hydra.launcher.n_jobs=1",  # both jobs in one worker, one after the other
        f"hydra.sweep.dir={sweep_dir}",
        cwd=PLUGINS,
    )
    assert result.code == 0, result.describe()
    assert "sweep finished: 2 runs, 1 completed, 0 interrupted, 1 failed" in result.out
    failed = json.loads((job_dir(sweep_dir, "kill_parent") / "metrics.json").read_text())
    assert "faulty env killed its parent process" in failed["error"]
    healthy = json.loads((job_dir(sweep_dir, "none") / "metrics.json").read_text())
    assert healthy["status"] == "completed", healthy.get("error")


def test_a_sweep_whose_every_run_failed_exits_1(tmp_path):
    sweep_dir = tmp_path / "multirun"
    result = run_sweep(
        "plugins=[faulty_env]",
        "env=faulty",
        "env.fault=raise",
        "seed=0,1",
        *SWEEP_RUN_OVERRIDES,
        "hydra.launcher.n_jobs=1",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=PLUGINS,
    )
    assert result.code == 1, result.describe()
    assert "sweep finished: 2 runs, 0 completed, 0 interrupted, 2 failed" in result.out
    assert f"rlexp: no run of the sweep {sweep_dir} completed" in result.err
