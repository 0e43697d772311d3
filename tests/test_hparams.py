"""HParams records of sweep runs (rlexp/sweeps/hparams.py), read back through TensorBoard's
own HParams backend, as its HParams tab shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tensorboard.plugins.hparams import api_pb2

from rlexp.sweeps.hparams import METRICS, experiment_summary, metric_curves, write_session

BEST = METRICS["best_eval_return"][0]
WALL = METRICS["train_wall_time_s"][0]


def run_metrics(final: float, total_time: float) -> dict:
    """A completed run's metrics.json whose last evaluation is at its last env step."""
    return {
        "status": "completed",
        "env_steps": 2000,
        "train_wall_time_s": total_time,
        "final_eval_return": final,
        "evaluations": [
            {"env_steps": 1000, "average_return": final / 2, "train_wall_time_s": 2.0},
            {"env_steps": 2000, "average_return": final, "train_wall_time_s": total_time - 0.5},
        ],
    }


def hparams_context(logdir: Path) -> Any:
    """The HParams plugin's backend context for `--logdir logdir`, as TensorBoard builds it."""
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import backend_context

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    tb_context = base_plugin.TBContext(logdir=str(logdir), data_provider=provider)
    return backend_context.Context(tb_context)


def session_groups(logdir: Path) -> list[api_pb2.SessionGroup]:
    """The session groups TensorBoard's HParams tab lists for `--logdir logdir`."""
    from tensorboard import context
    from tensorboard.plugins.hparams import list_session_groups

    request = api_pb2.ListSessionGroupsRequest(
        start_index=0,
        slice_size=100,
        allowed_statuses=[api_pb2.STATUS_SUCCESS, api_pb2.STATUS_UNKNOWN],
        col_params=[api_pb2.ColParams(metric=api_pb2.MetricName(tag=tag)) for tag in (BEST, WALL)],
    )
    handler = list_session_groups.Handler(
        context.RequestContext(), hparams_context(logdir), "", request
    )
    return list(handler.run().session_groups)


def metric(group: api_pb2.SessionGroup, tag: str) -> float:
    (value,) = [m.value for m in group.metric_values if m.name.tag == tag]
    return value


def test_runs_with_equal_hparams_are_separate_rows(tmp_path):
    """The same sweep run twice (e.g. after a preset edit) under one logdir: one row per run,
    each with its own metrics, not one row with their average."""
    hparams = {"agent.target_update_period": "64", "seed": "0"}
    for sweep, final in (("v1", 47.25), ("v2", 9.5)):
        run_dir = tmp_path / sweep / "0_seed=0"
        write_session(run_dir, hparams, run_metrics(final, 6.0), "final_eval_return", 1.0)

    groups = session_groups(tmp_path)

    assert sorted(g.name for g in groups) == ["v1/0_seed=0", "v2/0_seed=0"]
    assert all(len(g.sessions) == 1 for g in groups)
    best = {g.name: metric(g, BEST) for g in groups}
    assert best == {"v1/0_seed=0": 47.25, "v2/0_seed=0": 9.5}


def test_a_resumed_run_stays_one_row_under_its_name(tmp_path):
    run_dir = tmp_path / "sweep" / "0_seed=0"
    hparams = {"seed": "0"}
    interrupted = {**run_metrics(10.0, 3.0), "status": "interrupted"}
    write_session(run_dir, hparams, interrupted, "final_eval_return", 1.0)
    write_session(run_dir, hparams, run_metrics(30.0, 6.0), "final_eval_return", 1.0)

    (group,) = session_groups(tmp_path)

    assert group.name == "sweep/0_seed=0"
    assert metric(group, BEST) == 30.0
    assert group.sessions[0].status == api_pb2.STATUS_SUCCESS


def test_training_time_metric_is_metrics_json_total(tmp_path):
    """The HParams "training time (s)" equals metrics.json's `train_wall_time_s`, not the
    time at the last evaluation."""
    write_session(
        tmp_path / "run", {"seed": "0"}, run_metrics(20.0, 6.64), "final_eval_return", 1.0
    )

    (group,) = session_groups(tmp_path)

    assert metric(group, WALL) == pytest.approx(6.64)


def test_training_time_curve_keeps_earlier_evaluations():
    points = [
        (step, value)
        for tag, step, value in metric_curves(run_metrics(20.0, 6.64), "x")
        if tag == WALL
    ]
    assert points == [(1000, 2.0), (2000, 6.64)]


def test_training_time_curve_without_a_total_ends_at_the_last_evaluation():
    """A failed run's metrics.json may lack the total: the evaluations' times remain."""
    metrics = run_metrics(20.0, 6.64)
    del metrics["train_wall_time_s"]
    points = [(step, value) for tag, step, value in metric_curves(metrics, "x") if tag == WALL]
    assert points == [(1000, 2.0), (2000, 6.14)]


def experiment(logdir: Path) -> api_pb2.Experiment:
    """The experiment TensorBoard's HParams tab takes its columns from."""
    from tensorboard import context
    from tensorboard.plugins.hparams import get_experiment

    handler = get_experiment.Handler(
        context.RequestContext(), hparams_context(logdir), "", api_pb2.GetExperimentRequest()
    )
    return handler.run()


@pytest.mark.parametrize(
    "domain", [{"values": [32, 64]}, {"interval": [16.0, 128.0]}], ids=["values", "interval"]
)
def test_swept_parameters_are_among_the_columns_shown(tmp_path, domain):
    """TensorBoard's HParams tab shows the experiment's first five hparams (differing ones
    first, then by name); a swept key that sorts late by name is one of them."""
    domains = {"train.batch_size": domain}
    fixed = key_values_of_a_run()
    summary = experiment_summary(domains, "final_eval_return", fixed)
    hparams = {**fixed, "train.batch_size": "32"}
    write_session(
        tmp_path / "0", hparams, run_metrics(20.0, 6.0), "final_eval_return", 1.0, summary
    )

    shown = [info.name for info in experiment(tmp_path).hparam_infos][:5]

    assert shown[0] == "train.batch_size"


def key_values_of_a_run() -> dict:
    return {
        "seed": "0",
        "env.gym_id": "CartPole-v1",
        "agent.name": "dqn",
        "agent.learning_rate": 0.001,
        "agent.gamma": 0.99,
        "network.fc_layer_params": "[64, 64]",
        "train.env_steps": "2000",
    }
