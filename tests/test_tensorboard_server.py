"""A real TensorBoard server (its `program` API, on 127.0.0.1 and a free port) on the
finished 2x2 sweep: every run (and no extra run "." for the sweep folder), each run's eval
curve, and the HParams experiment (every swept key, every metric) with one session group
per run and its metric values, all over its HTTP API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
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


def test_every_run_is_served_and_no_extra_run(tensorboard):
    runs = get(tensorboard, "/data/runs")
    assert sorted(runs) == JOB_NAMES, runs  # no "." for the sweep folder


def test_scalar_tags_are_curves_without_one_point_cards(tensorboard):
    tags = get(tensorboard, "/data/plugin/scalars/tags")
    for run in JOB_NAMES:
        assert {
            "eval/average_return",
            "eval/best_average_return",
            "perf/train_wall_time_s",
            "train/loss",
            "perf/env_steps_per_sec",
        } <= set(tags[run]), (run, sorted(tags.get(run, {})))
        assert not [t for t in tags[run] if t.startswith("hparams")], tags[run]


def test_each_run_has_the_eval_curve(tensorboard, sweep_2x2):
    for run in JOB_NAMES:
        metrics = json.loads((sweep_2x2.dir / run / "metrics.json").read_text())
        query = urllib.parse.urlencode({"run": run, "tag": "eval/average_return"})
        points = get(tensorboard, f"/data/plugin/scalars/scalars?{query}")
        steps = [step for _, step, _ in points]
        assert steps == [e["env_steps"] for e in metrics["evaluations"]], (run, steps)
        assert points[-1][2] == pytest.approx(metrics["final_eval_return"], rel=1e-6)


def test_hparams_experiment_and_session_groups_with_metrics(tensorboard, sweep_2x2):
    experiment = post(tensorboard, "/data/plugin/hparams/experiment", {"experimentName": ""})
    infos = {h["name"]: h for h in experiment["hparamInfos"]}
    swept = json.loads((sweep_2x2.dir / "sweep.json").read_text())["hparam_domains"]
    assert set(swept) == {"agent.learning_rate", "seed"}
    assert set(swept) <= set(infos)  # every swept key
    assert sorted(infos["agent.learning_rate"]["domainDiscrete"]) == [0.0001, 0.001]
    assert infos["seed"]["domainDiscrete"] == ["0", "1"]  # integers shown as integers
    metric_tags = [m["name"]["tag"] for m in experiment["metricInfos"]]
    assert metric_tags == [
        "eval/average_return",
        "eval/best_average_return",
        "perf/train_wall_time_s",
    ]

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
    assert sorted(s["name"] for g in groups for s in g["sessions"]) == JOB_NAMES
    assert len(groups) == len(JOB_NAMES)  # one row per run
    for group in groups:
        (session,) = group["sessions"]
        metrics = json.loads((sweep_2x2.dir / session["name"] / "metrics.json").read_text())
        values = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert values["eval/average_return"] == pytest.approx(metrics["final_eval_return"])
        assert values["eval/best_average_return"] == pytest.approx(metrics["best_eval_return"])
        assert values["perf/train_wall_time_s"] == pytest.approx(
            metrics["train_wall_time_s"], rel=1e-5
        )
        assert group["name"] == session["name"]  # its Trial ID: the run's folder
        assert group["hparams"]["agent.learning_rate"] in (0.001, 0.0001)
        assert group["hparams"]["seed"] in ("0", "1")
        assert session["status"] == "STATUS_SUCCESS"
