"""The Ray launcher presets (the `ray` extra): a 2-job sweep on a local Ray, and on a Ray
cluster started with `ray start --head` that the sweep joins (`ray_cluster`)."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import RLEXP, SWEEP_RUN_OVERRIDES, _subprocess_env, run_sweep

pytest.importorskip("ray", reason="the ray extra is not installed")
pytest.importorskip("hydra_plugins.hydra_ray_launcher")

pytestmark = pytest.mark.ray
RAY = Path(sys.executable).parent / "ray"


def check_sweep(sweep_dir: Path, result) -> None:
    assert result.code == 0, result.describe()
    jobs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert jobs == ["0_agent.learning_rate=0.001", "1_agent.learning_rate=0.0001"]
    for job in jobs:
        metrics = json.loads((sweep_dir / job / "metrics.json").read_text())
        assert metrics["status"] == "completed", metrics.get("error")
    assert "sweep finished: 2 runs, 2 completed, 0 interrupted, 0 failed" in result.out


# Ray gives a new node a fixed 30 s to register with its GCS; on a loaded 2-core machine it
# sometimes needs longer and ray.init raises this before any job ran.
RAY_STARTUP_TIMEOUT = "The current node timed out during startup"


@pytest.mark.slow
def test_two_job_sweep_on_a_local_ray(tmp_path):
    for attempt in range(2):
        sweep_dir = tmp_path / f"sweep{attempt}"
        result = run_sweep(
            "hydra/launcher=ray_local",
            "agent.learning_rate=1e-3,1e-4",
            *SWEEP_RUN_OVERRIDES,
            f"hydra.sweep.dir={sweep_dir}",
        )
        if RAY_STARTUP_TIMEOUT not in result.err:
            break
    check_sweep(sweep_dir, result)


@pytest.mark.slow
def test_a_sweep_on_a_local_ray_stops_cleanly_and_resumes(tmp_path):
    """ray.init sets a SIGTERM handler that ended the sweep's process at once (exit 134,
    its runs killed and `failed`); Ray's workers are not the parent's children, so each
    job passes the sweep's stop mark to its run."""
    from test_signals import RUN, start, wait_for_evaluations

    sweep_dir = tmp_path / "sweep"
    proc = start("-m", "hydra/launcher=ray_local", "seed=0,1", *RUN, f"hydra.sweep.dir={sweep_dir}")
    wait_for_evaluations(sweep_dir / "0_seed=0", proc, 1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert json.loads((sweep_dir / "sweep.json").read_text())["status"] == "interrupted"
    statuses = {
        json.loads(metrics.read_text())["status"] for metrics in sweep_dir.glob("*/metrics.json")
    }
    assert statuses <= {"interrupted", "completed"} and "interrupted" in statuses, statuses
    resumed = subprocess.run(
        [str(RLEXP), "resume", str(sweep_dir)],
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "sweep finished: 2 runs, 2 completed, 0 interrupted, 0 failed" in resumed.stdout


def free_port() -> int:
    # outside Ray's default worker port range (10002-19999)
    for _ in range(50):
        port = random.randint(20000, 30000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def test_two_job_sweep_joining_a_ray_cluster(tmp_path):
    port = free_port()
    head = subprocess.Popen(
        [
            str(RAY),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_subprocess_env(),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the head's GCS port is open
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert head.poll() is None, "ray start --head exited"
            time.sleep(1)
        time.sleep(3)
        sweep_dir = tmp_path / "sweep"
        result = run_sweep(
            "hydra/launcher=ray_cluster",
            f"hydra.launcher.ray.init.address=127.0.0.1:{port}",
            "agent.learning_rate=1e-3,1e-4",
            *SWEEP_RUN_OVERRIDES,
            f"hydra.sweep.dir={sweep_dir}",
        )
        check_sweep(sweep_dir, result)
    finally:
        head.terminate()  # `--block` stops the head's processes with it
        head.wait(timeout=60)
        # what `ray stop` would do for our head only: forget it as the machine's latest cluster
        latest = Path("/tmp/ray/ray_current_cluster")
        if latest.is_file() and latest.read_text().strip().endswith(f":{port}"):
            latest.unlink()
