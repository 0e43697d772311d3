"""The `mlflow` logger against a real `mlflow server` on 127.0.0.1 (SQLite backend), and
with its default tracking URI (a SQLite file, no server). Skipped without the extra."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

pytest.importorskip("mlflow")

from rlexp.loggers import build_logger  # noqa: E402
from rlexp.loggers.mlflow_logger import start_sweep_run  # noqa: E402

BIN = Path(sys.executable).parent
CONFIG = {"seed": 0, "agent": {"name": "dqn", "learning_rate": 0.001}, "train": {"env_steps": 10}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--default-artifact-root",
            (root / "artifacts").as_uri(),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},  # its gunicorn
        start_new_session=True,  # its own process group: gunicorn stops with it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "no mlflow server"
                time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def fake_run(run_dir: Path) -> None:
    (run_dir / "policy").mkdir(parents=True)
    (run_dir / "policy" / "saved_model.pb").write_bytes(b"pb")
    (run_dir / "metrics.json").write_text(json.dumps({"status": "completed"}))


def train(logger, run_dir: Path, status: str = "completed") -> None:
    """What the runner does with a logger."""
    for step, value in ((500, 10.0), (1000, 25.0)):
        logger.log_scalars(step, {"eval/average_return": value, "train/loss": float("nan")})
    logger.log_artifacts([run_dir / "metrics.json", run_dir / "policy"])
    logger.close(status)


def test_a_run_goes_to_the_server(server, tmp_path):
    from mlflow.tracking import MlflowClient

    run_dir = tmp_path / "run"
    fake_run(run_dir)
    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": server, "experiment_name": "t"})
    logger = build_logger(cfg, run_dir, CONFIG)
    train(logger, run_dir)
    client = MlflowClient(server)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["agent.learning_rate"] == "0.001"
    assert run.data.params["train.env_steps"] == "10"
    history = client.get_metric_history(logger.run_id, "eval/average_return")
    assert [(m.step, m.value) for m in history] == [(500, 10.0), (1000, 25.0)]
    assert "train/loss" not in run.data.metrics  # non-finite values are skipped
    names = {a.path for a in client.list_artifacts(logger.run_id)}
    assert names == {"metrics.json", "policy"}
    assert [a.path for a in client.list_artifacts(logger.run_id, "policy")] == [
        "policy/saved_model.pb"
    ]


def test_a_resumed_run_goes_on_in_its_own_mlflow_run(server, tmp_path):
    from mlflow.tracking import MlflowClient

    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": server, "experiment_name": "r"})
    run_dir = tmp_path / "run"
    fake_run(run_dir)
    first = build_logger(cfg, run_dir, CONFIG)
    first.log_scalars(500, {"eval/average_return": 10.0})
    first.close("interrupted")
    client = MlflowClient(server)
    assert client.get_run(first.run_id).info.status == "KILLED"

    resumed = build_logger(cfg, run_dir, CONFIG, resume=True)
    assert resumed.run_id == first.run_id
    assert client.get_run(first.run_id).info.status == "RUNNING"
    resumed.log_scalars(1000, {"eval/average_return": 25.0})
    resumed.close("completed")
    assert client.get_run(first.run_id).info.status == "FINISHED"
    history = client.get_metric_history(first.run_id, "eval/average_return")
    assert [(m.step, m.value) for m in history] == [(500, 10.0), (1000, 25.0)]
    experiment = client.get_experiment_by_name("r")
    assert len(client.search_runs([experiment.experiment_id])) == 1

    copy = build_logger(cfg, tmp_path / "copy", CONFIG, resume=True)  # another run's folder
    assert copy.run_id != first.run_id


@pytest.mark.parametrize("name", ["o'q", 'd"q', "both'\"_%"])
def test_a_resumed_run_with_quotes_in_its_folder_name_goes_on_in_its_mlflow_run(tmp_path, name):
    """`_run_of` gave up on a `'` (MLflow's filter takes a double-quoted value), and the
    resume started a second MLflow run."""
    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": f"sqlite:///{tmp_path}/m.db"})
    run_dir = tmp_path / name
    fake_run(run_dir)
    first = build_logger(cfg, run_dir, CONFIG)
    first.close("interrupted")
    newer = tmp_path / name.replace("'", "x").replace('"', "x")  # LIKE `name` finds it first
    build_logger(cfg, newer, CONFIG).close("interrupted")
    resumed = build_logger(cfg, run_dir, CONFIG, resume=True)
    assert resumed.run_id == first.run_id
    experiment = resumed.client.get_experiment_by_name("rlexp")
    assert len(resumed.client.search_runs([experiment.experiment_id])) == 2


def test_a_sweep_is_a_parent_run_with_a_child_per_job(server, tmp_path):
    from mlflow.tracking import MlflowClient

    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": server, "experiment_name": "s"})
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    parent = start_sweep_run(cfg, sweep, ["agent.learning_rate=1e-3,1e-4"])
    (sweep / "sweep.json").write_text(json.dumps({"mlflow_parent_run_id": parent}))
    children = []
    for job in ("0_lr=0.001", "1_lr=0.0001/seed_1"):
        run_dir = sweep / job
        fake_run(run_dir)
        logger = build_logger(cfg, run_dir, CONFIG)
        train(logger, run_dir, "completed" if job.startswith("0") else "failed")
        children.append(logger.run_id)
    client = MlflowClient(server)
    experiment = client.get_experiment_by_name("s")
    found = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent}'")
    assert sorted(r.info.run_id for r in found) == sorted(children)
    assert sorted(r.info.status for r in found) == ["FAILED", "FINISHED"]


def sweep_config(sweep: Path) -> Any:
    """What the sweep callback reads of a basic sweep's config."""
    return OmegaConf.create(
        {
            "logger": {"name": "mlflow", "tracking_uri": f"sqlite:///{sweep.parent}/m.db"},
            "hydra": {
                "sweep": {"dir": str(sweep)},
                "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"},
            },
        }
    )


@pytest.mark.parametrize("end", ["interrupted", "aborted"])
def test_a_stopped_or_aborted_sweeps_parent_run_is_killed_or_failed(tmp_path, end):
    """Like its children, not FINISHED."""
    from rlexp.rundir import SWEEP_STOP_FILE
    from rlexp.sweeps import callbacks

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    config = sweep_config(sweep)
    parent = start_sweep_run(config.logger, sweep, ["repeat=2"])
    record = {"status": "running", "invocations": [{}], "mlflow_parent_run_id": parent}
    (sweep / "sweep.json").write_text(json.dumps(record))
    if end == "interrupted":
        (sweep / SWEEP_STOP_FILE).write_text("")
        callbacks.SweepReview().on_multirun_end(config)
    else:
        callbacks._OPEN[sweep] = config
        callbacks.close_unfinished("the launcher raised")
    assert json.loads((sweep / "sweep.json").read_text())["status"] == end
    client = build_logger(config.logger, sweep / "0_seed=0", CONFIG).client
    expected = "KILLED" if end == "interrupted" else "FAILED"
    assert client.get_run(parent).info.status == expected


def test_the_default_tracking_uri_is_sqlite_in_the_outputs_folder(tmp_path):
    run_dir = tmp_path / "outputs" / "2026-11-27" / "17-00-00"
    fake_run(run_dir)
    logger = build_logger(OmegaConf.create({"name": "mlflow"}), run_dir, CONFIG)
    train(logger, run_dir)
    assert logger.tracking_uri == f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}"
    assert (tmp_path / "outputs" / "mlflow.db").is_file()
    assert logger.client.get_run(logger.run_id).info.status == "FINISHED"


def test_tensorboard_logger_is_the_default_and_does_nothing_else(tmp_path):
    logger = build_logger(None, tmp_path, CONFIG)
    train(logger, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("uri", "phrase"),
    [
        (lambda tmp: f"http://127.0.0.1:{free_port()}", "no MLflow server answers at 127.0.0.1:"),
        (lambda tmp: str(tmp / "a-file" / "mlflow.db"), "Error: [Errno"),
        (lambda tmp: "notascheme://x", "unsupported URI"),
    ],
    ids=["no-server", "path-under-a-file", "unknown-scheme"],
)
def test_a_tracking_uri_mlflow_cannot_use_is_named(tmp_path, uri, phrase):
    """At once (MLflow's client retries an unanswered server for minutes), naming the key."""
    from rlexp.context import BuildError

    (tmp_path / "a-file").write_text("")
    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": uri(tmp_path)})
    with pytest.raises(BuildError) as info:
        build_logger(cfg, tmp_path / "run", CONFIG)
    assert f"logger.tracking_uri={cfg.tracking_uri}" in str(info.value)
    assert phrase in str(info.value) and "logger.tracking_uri=null" in str(info.value)


def test_an_empty_experiment_name_is_refused_before_training():
    from rlexp.composition import compose_config
    from rlexp.validation import ConfigError

    with pytest.raises(ConfigError, match=r"logger\.experiment_name='': must name"):
        compose_config(["logger=mlflow", "logger.experiment_name="])


@pytest.mark.parametrize(
    ("uri", "phrase"),
    [
        ("sqlite:////proc/rlexp/mlflow.db", r"\(no folder /proc/rlexp\)"),
        ("sqlite:////proc/mlflow.db", r"\(cannot create files in /proc "),
    ],
    ids=["no-folder", "unwritable-folder"],
)
def test_a_sqlite_file_that_cannot_be_written_is_refused_before_training(uri, phrase):
    """MLflow retried opening it for over ten minutes, the run hanging in its setup."""
    from rlexp.composition import compose_config
    from rlexp.validation import ConfigError

    with pytest.raises(ConfigError, match=rf"logger\.tracking_uri={uri}: the SQLite file can"):
        compose_config(["logger=mlflow", f"logger.tracking_uri={uri}"])
    with pytest.raises(ConfigError, match=phrase):
        compose_config(["logger=mlflow", f"logger.tracking_uri={uri}"])


@pytest.mark.parametrize(
    ("uri", "phrase"),
    [
        ("http://127.0.0.1:99999", "its port is not a number from 0 to 65535"),
        ("http://h:abc", "its port is not a number from 0 to 65535"),
        ("http://", "it names no host"),  # MLflow retried host "api" for two minutes
        ("https://:5000", "it names no host"),
    ],
)
def test_a_server_uri_without_a_host_or_with_a_bad_port_is_refused(tmp_path, uri, phrase):
    """Before training (a bare ValueError, exit 1, was raised after the run folder was
    made), and by the logger itself, at once."""
    from rlexp.composition import compose_config
    from rlexp.context import BuildError
    from rlexp.validation import ConfigError

    named = rf"logger\.tracking_uri={re.escape(uri)}: {phrase}"
    with pytest.raises(ConfigError, match=named):
        compose_config(["logger=mlflow", f"logger.tracking_uri={uri}"])
    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": uri})
    started = time.monotonic()
    with pytest.raises(BuildError, match=named):
        build_logger(cfg, tmp_path / "run", CONFIG)
    assert time.monotonic() - started < 5


def test_a_relative_sqlite_path_is_the_working_directorys(tmp_path, monkeypatch):
    """Its artifact folder beside it (a relative path raised "can't be expressed as a file
    URI")."""
    monkeypatch.chdir(tmp_path)
    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": "sqlite:///mine.db"})
    logger = build_logger(cfg, tmp_path / "run", CONFIG)
    assert (tmp_path / "mine.db").is_file()
    experiment = logger.client.get_experiment_by_name("rlexp")
    assert experiment.artifact_location == (tmp_path / "mlartifacts").as_uri()


def test_a_resume_from_another_directory_finds_a_relative_sqlite_paths_database(
    tmp_path, monkeypatch
):
    """Resolved against the directory the run was started in (its .hydra/hydra.yaml), not
    the resuming command's: that made a new database there and a second MLflow run."""
    started, elsewhere = tmp_path / "started", tmp_path / "elsewhere"
    run_dir = started / "outputs" / "run"
    fake_run(run_dir)
    (run_dir / ".hydra").mkdir()
    (run_dir / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  runtime:\n    cwd: {started}\n")
    elsewhere.mkdir()
    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": "sqlite:///rel.db"})
    monkeypatch.chdir(started)
    first = build_logger(cfg, run_dir, CONFIG)
    first.close("interrupted")
    monkeypatch.chdir(elsewhere)
    resumed = build_logger(cfg, run_dir, CONFIG, resume=True)
    assert resumed.tracking_uri == f"sqlite:///{started / 'rel.db'}"
    assert resumed.run_id == first.run_id
    resumed.close("completed")
    assert list(elsewhere.iterdir()) == []


def test_a_sweep_without_a_reachable_server_says_so_once_and_fails_its_jobs(tmp_path):
    from conftest import run_sweep

    uri = f"http://127.0.0.1:{free_port()}"
    sweep = tmp_path / "sweep"
    budget = ["train.env_steps=200", "train.prefill_steps=100", "driver.num_steps=100"]
    budget.append("train.progress=false")
    result = run_sweep(
        "logger=mlflow", f"logger.tracking_uri={uri}", "seed=0", *budget, f"hydra.sweep.dir={sweep}"
    )
    assert result.code == 1, result.describe()  # no run of the sweep completed
    assert result.err.count("the sweep has no MLflow parent run") == 1, result.describe()
    assert "UserWarning" not in result.output and "Traceback" not in result.output
    metrics = json.loads((sweep / "0_seed=0" / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "no MLflow server answers" in metrics["error"]


def test_a_failed_runs_mlflow_run_records_why(server, tmp_path):
    from mlflow.tracking import MlflowClient

    run_dir = tmp_path / "run"
    fake_run(run_dir)
    cfg = OmegaConf.create({"name": "mlflow", "tracking_uri": server, "experiment_name": "f"})
    logger = build_logger(cfg, run_dir, CONFIG)
    logger.close("failed", "TrainingError: loss is inf at train step 120" + "." * 6000)
    run = MlflowClient(server).get_run(logger.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["rlexp.error"].startswith("TrainingError: loss is inf at train step 120")
    assert len(run.data.tags["rlexp.error"]) == 5000  # MLflow's longest tag value


def test_the_runner_hands_the_logger_why_the_run_failed(cli, tmp_path, monkeypatch):
    """The error metrics.json records reaches the logger's close (MLflow's FAILED run
    showed no reason)."""
    import rlexp.training.runner as runner

    closed = []

    class Recording:
        def log_scalars(self, step, values):
            pass

        def log_artifacts(self, paths):
            pass

        def close(self, status, error=None):
            closed.append((status, error))

    monkeypatch.setattr(runner, "build_logger", lambda *args: Recording())
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins"))
    run_dir = tmp_path / "run"
    result = cli(
        "train", "plugins=[exploding_reward]", "env=exploding_reward", "env.explode_after=600",
        "agent.td_errors_loss_fn=mse", "train.env_steps=3000", "train.prefill_steps=500",
        "driver.num_steps=100", "train.train_steps_per_iteration=20", "train.eval_interval=500",
        "train.eval_episodes=1", "train.progress=false", f"hydra.run.dir={run_dir}",
    )  # fmt: skip
    assert result.code == 1, result.describe()
    error = json.loads((run_dir / "metrics.json").read_text())["error"]
    assert closed == [("failed", error)] and "loss is" in error
