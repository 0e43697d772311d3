"""The warm-ups beside the training loop's first call (`Runner.start_warm_ups`): the
XLA compile of the loop's train steps, the evaluation's compile and the export's tracing run
in background threads, end before the first trigger, and change nothing a run gives."""

from __future__ import annotations

import json
import logging
import threading

import numpy as np
from conftest import SWEEP_RUN_OVERRIDES, invoke_main
from test_reproducibility import comparable

# A short run of the default experiment (cartpole_tf, the fused loop compiled by XLA), with
# one iteration between trigger points, as the default: the loop in two XLA clusters, whose
# train steps compile ahead.
SHORT = (*SWEEP_RUN_OVERRIDES, "driver.num_steps=250")


def record_threads(monkeypatch) -> list[tuple[str, str]]:
    """[(what, thread name), ...] of every evaluation played, every export warm-up and every
    compile of the XLA loop's train steps ahead of their first call."""
    from rlexp.training import export, fused, runner

    events: list[tuple[str, str]] = []
    make_evaluator, warm_up = runner.make_evaluator, export.BestPolicy.warm_up
    compile_train = fused.XlaLoop.compile_train

    def recording_make_evaluator(*args, **kwargs):
        evaluate = make_evaluator(*args, **kwargs)

        def recording_evaluate():
            events.append(("evaluation", threading.current_thread().name))
            return evaluate()

        return recording_evaluate

    def recording_warm_up(self):
        events.append(("export warm-up", threading.current_thread().name))
        return warm_up(self)

    def recording_compile_train(self):
        events.append(("train compile", threading.current_thread().name))
        return compile_train(self)

    monkeypatch.setattr(runner, "make_evaluator", recording_make_evaluator)
    monkeypatch.setattr(export.BestPolicy, "warm_up", recording_warm_up)
    monkeypatch.setattr(fused.XlaLoop, "compile_train", recording_compile_train)
    return events


def test_the_fused_loop_warms_up_its_train_steps_evaluation_and_export_in_the_background(
    tmp_path, monkeypatch
):
    events = record_threads(monkeypatch)
    result = invoke_main("train", *SHORT, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code == 0, result.describe()
    background = {"train compile", "evaluation", "export warm-up"}  # in two threads
    assert sorted(events[:3]) == sorted((what, "rlexp-background") for what in background)
    assert events.index(("evaluation", "rlexp-background")) < events.index(
        ("export warm-up", "rlexp-background")
    )
    # every real evaluation comes after them, on the main thread: one per eval point
    evaluations = json.loads((tmp_path / "run" / "metrics.json").read_text())["evaluations"]
    assert events[3:] == [("evaluation", "MainThread")] * len(evaluations)


def test_a_step_loop_warms_nothing_up(tmp_path, monkeypatch):
    """Its first call is not one traced call that a thread could run beside."""
    events = record_threads(monkeypatch)
    result = invoke_main("train", *SHORT, "driver=step", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code == 0, result.describe()
    assert {thread for _, thread in events} == {"MainThread"}


def test_a_run_with_warm_ups_equals_one_without(tmp_path, monkeypatch):
    """The same metrics, and the same weights in policy/ and policy_best/."""
    import tensorflow as tf

    from rlexp.training import runner

    def run(name: str) -> tuple[dict, dict]:
        result = invoke_main("train", *SHORT, f"hydra.run.dir={tmp_path / name}")
        assert result.code == 0, result.describe()
        metrics = comparable(json.loads((tmp_path / name / "metrics.json").read_text()))
        policies = {
            folder: [
                v.numpy()
                for v in tf.saved_model.load(str(tmp_path / name / folder)).model_variables
            ]
            for folder in ("policy", "policy_best")
        }
        return metrics, policies

    warm_metrics, warm_policies = run("warm")
    monkeypatch.setattr(runner.Runner, "start_warm_ups", lambda self: [])
    cold_metrics, cold_policies = run("cold")
    assert warm_metrics == cold_metrics
    for folder, values in cold_policies.items():
        assert len(warm_policies[folder]) == len(values) > 0
        for warm, cold in zip(warm_policies[folder], values, strict=True):
            np.testing.assert_array_equal(warm, cold)


def test_a_failing_task_leaves_the_next_to_run_and_is_logged(caplog):
    """A warm-up's error is its real call's to raise; the thread goes on to the next task."""
    from rlexp.training import background

    ran = []

    def fails():
        raise RuntimeError("XLA refused")

    with caplog.at_level(logging.DEBUG, logger="rlexp.training.background"):
        background.start([fails, lambda: ran.append(True)]).join()
    assert ran == [True]
    assert "XLA refused" in caplog.text
