"""The SLURM path without a cluster: a 2-job sweep through submitit's local executor
(`hydra/launcher=submitit_local`), with the SLURM preset's settings that apply to it (its
submitit folder in the sweep directory, one CPU and its time limit per job)."""

from __future__ import annotations

import json

import pytest
from conftest import SWEEP_RUN_OVERRIDES, run_sweep

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="no submitit extra")


def test_two_job_sweep_through_submitit(tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_sweep(
        "hydra/launcher=submitit_local",
        "hydra.launcher.submitit_folder=${hydra.sweep.dir}/.submitit/%j",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.timeout_min=20",
        "agent.learning_rate=1e-3,1e-4",
        *SWEEP_RUN_OVERRIDES,
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert result.code == 0, result.describe()
    jobs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name[0].isdigit())
    assert jobs == ["0_agent.learning_rate=0.001", "1_agent.learning_rate=0.0001"]
    for job in jobs:
        metrics = json.loads((sweep_dir / job / "metrics.json").read_text())
        assert metrics["status"] == "completed", metrics.get("error")
    assert (sweep_dir / ".submitit").is_dir()  # submitit's own logs, beside the jobs
    assert "sweep finished: 2 runs, 2 completed, 0 interrupted, 0 failed" in result.out
