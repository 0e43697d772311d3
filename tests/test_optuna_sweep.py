"""The Optuna preset (`hydra/sweeper=optuna_study`, the `optuna` extra): each trial trains
`repeat` seeds and returns their mean final eval return; the study lives in SQLite in the
sweep folder, and running the command again on that folder continues it."""

from __future__ import annotations

import json
import signal
import time

import pytest
from conftest import SWEEP_RUN_OVERRIDES, run_sweep
from tensorboard.plugins.hparams import metadata
from test_report import report
from test_signals import RUN, read_json, start, wait_for_evaluations
from test_sweeps import hparams_data

optuna = pytest.importorskip("optuna", reason="the optuna extra is not installed")
pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")

pytestmark = [pytest.mark.optuna, pytest.mark.slow]


def study_command(sweep_dir, n_trials):
    return (
        "hydra/sweeper=optuna_study",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.sweeper.n_jobs=2",
        "hydra.launcher.n_jobs=2",
        "repeat=2",
        "agent.learning_rate=tag(log, interval(1e-4, 1e-2))",
        *SWEEP_RUN_OVERRIDES,
        f"hydra.sweep.dir={sweep_dir}",
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    sweep_dir = tmp_path_factory.mktemp("optuna") / "study"
    result = run_sweep(*study_command(sweep_dir, 2))
    assert result.code == 0, result.describe()
    return sweep_dir


def load(sweep_dir):
    return optuna.load_study(study_name="rlexp", storage=f"sqlite:///{sweep_dir}/optuna.db")


def test_trial_value_is_the_mean_over_its_seeds(study):
    trials = load(study).trials
    assert len(trials) == 2
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for trial in trials:
        lr = trial.params["agent.learning_rate"]
        (job,) = [p for p in study.glob("*_*") if f"agent.learning_rate={lr}" in p.name]
        finals = [
            json.loads((job / f"seed_{s}" / "metrics.json").read_text())["final_eval_return"]
            for s in (0, 1)
        ]
        assert trial.value == pytest.approx(sum(finals) / 2)
        repeat = json.loads((job / "repeat.json").read_text())
        assert repeat["seeds"] == [0, 1] and repeat["mean"] == pytest.approx(trial.value)
        # the seed is no hyperparameter of the study
        assert set(trial.params) == {"agent.learning_rate", "agent.gamma"}


def test_seed_runs_are_run_dirs_with_hparams(study):
    for seed_dir in study.glob("*_*/seed_*"):
        assert (seed_dir / ".hydra" / "config.yaml").is_file()
        assert (seed_dir / ".hydra" / "hydra.yaml").is_file()  # its config dirs, for resume
        (start,) = hparams_data(seed_dir)[metadata.SESSION_START_INFO_TAG]
        assert start.session_start_info.hparams["seed"].number_value in (0.0, 1.0)
    # the experiment (the swept domains) is in each run's HParams file: no "." run
    (experiment,) = hparams_data(seed_dir)[metadata.EXPERIMENT_TAG]
    lr = next(i for i in experiment.experiment.hparam_infos if i.name == "agent.learning_rate")
    assert (lr.domain_interval.min_value, lr.domain_interval.max_value) == pytest.approx(
        (1e-4, 1e-2)
    )


def test_report_groups_trials_by_config(study, tmp_path):
    result = report(study, f"out={tmp_path}")
    assert result.code == 0, result.describe()
    assert "4 runs in 2 configurations" in result.out


def test_running_again_continues_the_study(study):
    before = {p.name for p in study.iterdir() if p.is_dir()}
    result = run_sweep(*study_command(study, 1))
    assert result.code == 0, result.describe()
    trials = load(study).trials
    assert len(trials) == 3 and trials[-1].state == optuna.trial.TrialState.COMPLETE
    new = {p.name for p in study.iterdir() if p.is_dir()} - before
    assert len(new) == 1 and next(iter(new)).startswith("c1-0_"), new
    assert not list(study.glob("events.out.tfevents.*"))  # the sweep folder is no run (".")


def test_a_stopped_study_asks_for_no_more_trials_and_runs_the_unstarted_one_when_continued(
    tmp_path,
):
    """One SIGINT while trial 0 trains: trial 0 is interrupted (a FAIL, it has no value),
    no later trial starts nor leaves a folder, the one the study had asked for goes back to
    its queue (not FAIL), the command exits 130; the continued study runs it first."""
    sweep_dir = tmp_path / "study"
    command = (
        "hydra/sweeper=optuna_study",
        "hydra.sweeper.n_jobs=1",
        "hydra.launcher.n_jobs=1",
        *RUN,
        f"hydra.sweep.dir={sweep_dir}",
    )
    proc = start("-m", *command, "hydra.sweeper.n_trials=15")
    deadline = time.monotonic() + 120
    while not list(sweep_dir.glob("0_*/metrics.json")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    wait_for_evaluations(next(sweep_dir.glob("0_*")), proc, 1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert read_json(sweep_dir / "sweep.json")["status"] == "interrupted"
    assert [p.name[:2] for p in sweep_dir.iterdir() if p.is_dir()] == ["0_"]
    assert f"the same command again, with hydra.sweep.dir={sweep_dir}" in out
    states = [t.state for t in load(sweep_dir).trials]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.WAITING]
    asked = load(sweep_dir).trials[1].params

    result = run_sweep(*command, "hydra.sweeper.n_trials=1")
    assert result.code == 0, result.describe()
    trials = load(sweep_dir).trials
    assert len(trials) == 2 and trials[1].state == optuna.trial.TrialState.COMPLETE
    assert trials[1].params == asked
