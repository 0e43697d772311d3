"""A real TensorBoard server (its `program` API, on 127.0.0.1 and a free port) on the
finished 2x2 sweep: every run, the scalar tags and the HParams session groups with their
metric values are served over its HTTP API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest
from conftest import _subprocess_env
from test_sweeps import JOB_NAMES

SERVE = textwrap.dedent(
    """
    import sys, time
    from tensorboard import program

    tb = program.TensorBoard()
    tb.configure(argv=[None, "--logdir", sys.argv[1], "--host", "127.0.0.1",
                       "--port", sys.argv[2], "--load_fast", "false", "--reload_interval", "1"])
    print(tb.launch(), flush=True)
    time.sleep(600)  # stopped by the test
    """
)
STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tensorboard(sweep_2x2):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(sweep_2x2.dir), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_subprocess_env(),
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith(f"http://127.0.0.1:{port}"), url
        base = url.rstrip("/")
        deadline = time.monotonic() + 120
        while True:  # until the first load of every run is done
            runs = json.loads(urllib.request.urlopen(f"{base}/data/runs", timeout=10).read())
            if set(JOB_NAMES) <= set(runs) or time.monotonic() > deadline:
                break
            time.sleep(1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def get(base, path):
    return json.loads(urllib.request.urlopen(f"{base}{path}", timeout=30).read())


def post(base, path, body):
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"},
    )
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def test_every_run_is_served(tensorboard):
    runs = get(tensorboard, "/data/runs")
    assert set(JOB_NAMES) <= set(runs), runs


def test_scalar_tags_of_every_run(tensorboard):
    tags = get(tensorboard, "/data/plugin/scalars/tags")
    for run in JOB_NAMES:
        assert {
            "eval/average_return",
            "train/loss",
            "perf/env_steps_per_sec",
            "hparams/final_eval_return",
        } <= set(tags[run]), (run, sorted(tags.get(run, {})))


def test_hparams_experiment_and_session_groups_with_metrics(tensorboard, sweep_2x2):
    experiment = post(tensorboard, "/data/plugin/hparams/experiment", {"experimentName": ""})
    names = {h["name"] for h in experiment["hparamInfos"]}
    assert {"agent.learning_rate", "seed"} <= names
    lr = next(h for h in experiment["hparamInfos"] if h["name"] == "agent.learning_rate")
    assert sorted(lr["domainDiscrete"]) == [0.0001, 0.001]
    metric_tags = {m["name"]["tag"] for m in experiment["metricInfos"]}
    assert "hparams/final_eval_return" in metric_tags

    groups = post(
        tensorboard,
        "/data/plugin/hparams/session_groups",
        {
            "experimentName": "",
            "allowedStatuses": STATUSES,
            "colParams": [],
            "startIndex": 0,
            "sliceSize": 100,
        },
    )["sessionGroups"]
    assert sorted(g["name"] for g in groups) == JOB_NAMES  # one row per run
    for group in groups:
        metrics = json.loads((sweep_2x2.dir / group["name"] / "metrics.json").read_text())
        values = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert values["hparams/final_eval_return"] == pytest.approx(metrics["final_eval_return"])
        assert values["hparams/best_eval_return"] == pytest.approx(metrics["best_eval_return"])
        assert values["hparams/wall_time_s"] == pytest.approx(metrics["wall_time_s"], rel=1e-5)
        assert group["hparams"]["agent.learning_rate"] in (0.001, 0.0001)
        assert group["sessions"][0]["status"] == "STATUS_SUCCESS"
