"""A 2x2 sweep (two learning rates x repeat=2) through the default joblib launcher, checked
end to end: the multirun layout, seeds as a repeat axis, TF thread limits, HParams records
(`rlexp report` on it: tests/test_report.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import SWEEP_RUN_OVERRIDES, run_sweep
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from test_reproducibility import comparable

LEARNING_RATES = {0.001, 0.0001}
JOB_NAMES = [
    "0_agent.learning_rate=0.001,seed=0",
    "1_agent.learning_rate=0.001,seed=1",
    "2_agent.learning_rate=0.0001,seed=0",
    "3_agent.learning_rate=0.0001,seed=1",
]


def events(run_dir: Path) -> list:
    """The events of `run_dir`'s own event files, read by TensorBoard's loader."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    files = sorted(run_dir.glob("events.out.tfevents.*"))
    return [event for path in files for event in EventFileLoader(str(path)).Load()]


def hparams_data(run_dir: Path) -> dict[str, list]:
    """{tag: [HParamsPluginData, ...]} of the HParams summaries in `run_dir`'s own events."""
    found: dict[str, list] = {}
    for event in events(run_dir):
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME:
                data = plugin_data_pb2.HParamsPluginData.FromString(
                    value.metadata.plugin_data.content
                )
                found.setdefault(value.tag, []).append(data)
    return found


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} of the scalar summaries in `run_dir`'s own events."""
    from tensorboard.util import tensor_util

    found: dict[str, list[tuple[int, float]]] = {}
    for event in events(run_dir):
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name == "scalars":
                number = float(tensor_util.make_ndarray(value.tensor))
                found.setdefault(value.tag, []).append((event.step, number))
    return found


# ---------------------------------------------------------------- layout and repeat


def test_sweep_layout(sweep_2x2):
    root = sweep_2x2.dir
    assert [p.name for p in sweep_2x2.job_dirs()] == JOB_NAMES
    assert (root / "multirun.yaml").is_file()
    assert json.loads((root / "sweep.json").read_text())["status"] == "finished"
    for job in sweep_2x2.job_dirs():
        for name in (".hydra/config.yaml", ".hydra/overrides.yaml", "metrics.json", "job.json"):
            assert (job / name).is_file(), f"{job.name}: no {name}"
        assert list(job.glob("events.out.tfevents.*")), job.name
        assert (job / "policy" / "saved_model.pb").is_file(), job.name
        metrics = json.loads((job / "metrics.json").read_text())
        assert metrics["status"] == "completed", (job.name, metrics.get("error"))
    assert "sweep finished: 4 runs, 4 completed, 0 interrupted, 0 failed" in sweep_2x2.result.out


def test_each_run_records_the_sweep_command_the_user_typed(sweep_2x2):
    for job in sweep_2x2.job_dirs():
        record = json.loads((job / "provenance.json").read_text())
        assert record["command"].startswith("rlexp -m agent.learning_rate=1e-3,1e-4"), record
        assert "rlexp.sweeps.child" not in record["command"]


def test_repeat_runs_seeds_from_the_base_seed_as_jobs(sweep_2x2):
    seeds: dict[float, list[int]] = {}
    for job in sweep_2x2.job_dirs():
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        config = (job / ".hydra" / "config.yaml").read_text()
        assert "repeat: 1" in config  # each job trains one seed
        lr = next(
            float(line.split("=")[1]) for line in overrides.splitlines() if "learning" in line
        )
        seed = next(int(line.split("=")[1]) for line in overrides.splitlines() if "seed=" in line)
        seeds.setdefault(lr, []).append(seed)
    assert seeds == {0.001: [0, 1], 0.0001: [0, 1]}


def test_repeat_expansion_is_seeds_from_the_base_seed():
    from rlexp.composition import prepare_registry
    from rlexp.sweeps.multirun import SweepArgumentError, prepare_argv

    prepare_registry([])  # as `rlexp` does before it reads a command line
    argv = prepare_argv(["-m", "agent.gamma=0.9,0.99", "seed=5", "repeat=3"])
    assert "seed=5,6,7" in argv and "repeat=1" in argv
    assert "seed=5" not in argv and "repeat=3" not in argv
    # shared overrides stay out of folder names; the swept ones and the seed stay in
    exclude = next(a for a in argv if a.startswith("hydra.job.config.override_dirname"))
    assert "experiment" in exclude and "repeat" in exclude and "seed" not in exclude
    assert prepare_argv(["agent.gamma=0.9", "repeat=3"]) == ["agent.gamma=0.9", "repeat=3"]
    with pytest.raises(SweepArgumentError):
        prepare_argv(["-m", "seed=0,1", "repeat=2"])


def test_repeat_with_a_preset_s_seed_sweep_is_refused(tmp_path):
    """A preset with `repeat: 2` and `hydra.sweeper.params.seed` is refused as the command
    line's `seed=1,2 repeat=2` is: the seeds appended for repeat would replace its list."""
    from rlexp.composition import prepare_registry
    from rlexp.sweeps.multirun import SweepArgumentError, prepare_argv

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "swprep.yaml").write_text(
        "# @package _global_\nrepeat: 2\nhydra:\n  sweeper:\n    params:\n      seed: 1,2\n"
    )
    argv = ["-m", "--config-dir", str(tmp_path), "experiment=swprep"]
    prepare_registry(argv)
    with pytest.raises(SweepArgumentError, match=r"repeat=2 .*params\.seed: 1,2"):
        prepare_argv(argv)


@pytest.mark.parametrize("where", ["command-line", "preset"])
def test_repeat_with_an_optuna_study_s_seed_is_refused(where, tmp_path):
    """An Optuna trial trains its repeat seeds counted up from its seed: a seed the study
    samples as a hyperparameter would mix the repeat axis into the search."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    from rlexp.composition import prepare_registry
    from rlexp.sweeps.multirun import SweepArgumentError, prepare_argv

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "seeds.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n      seed: range(0,4)\n"
    )
    seed = "seed=choice(1,2)" if where == "command-line" else "experiment=seeds"
    argv = ["-m", "--config-dir", str(tmp_path), "hydra/sweeper=optuna_study", seed]
    prepare_registry(argv)
    assert prepare_argv(argv)[: len(argv)] == argv  # without repeat it may sample the seed
    with pytest.raises(SweepArgumentError, match=r"repeat=2 derives the seeds"):
        prepare_argv([*argv, "repeat=2"])


def test_a_key_the_default_option_lacks_reaches_hydra_as_a_forced_value():
    """Hydra composes the sweep's shared config at the default agent (dqn), which has no
    entropy_regularization: as a plain override Hydra refused the sweep, and the repeat was
    not expanded. A key the default option has stays as given."""
    from rlexp.composition import prepare_registry
    from rlexp.sweeps.multirun import prepare_argv

    prepare_registry([])
    ppo = ["-m", "agent=ppo,reinforce", "agent.entropy_regularization=0.01", "repeat=2"]
    argv = prepare_argv(ppo)
    assert "++agent.entropy_regularization=0.01" in argv and "seed=0,1" in argv
    argv = prepare_argv(["-m", "agent=dqn,ddqn", "agent.gamma=0.9"])
    assert "agent.gamma=0.9" in argv and "++agent.gamma=0.9" not in argv


def test_sweep_runs_are_limited_to_one_tf_thread(sweep_2x2):
    for job in sweep_2x2.job_dirs():
        record = json.loads((job / "job.json").read_text())
        assert record["tf_threads"] == {"intra_op": 1, "inter_op": 1}
        assert record["exit_code"] == 0
        # read back from TensorFlow in the training process, before it built anything
        assert "TensorFlow threads: intra-op 1, inter-op 1" in (job / "output.log").read_text()


def test_a_forked_run_equals_the_same_run_in_a_new_process(sweep_2x2, tmp_path):
    """Runs fork from the worker's fork server (`sweep.fork_server`, the default); the
    result is that of the same run started as a new Python process."""
    alone = tmp_path / "alone"
    result = run_sweep(
        "agent.learning_rate=1e-3",
        "seed=1",
        "env=cartpole",
        *SWEEP_RUN_OVERRIDES,
        "sweep.fork_server=false",
        f"hydra.sweep.dir={alone}",
    )
    assert result.code == 0, result.describe()
    (alone_job,) = (p for p in alone.iterdir() if p.is_dir() and p.name[0].isdigit())
    forked = sweep_2x2.dir / "1_agent.learning_rate=0.001,seed=1"
    read = lambda job: comparable(json.loads((job / "metrics.json").read_text()))  # noqa: E731
    assert read(forked) == read(alone_job)


def test_default_sweep_launcher_is_joblib_on_every_core():
    from hydra import compose, initialize_config_dir

    from rlexp import registry
    from rlexp.composition import prepare_registry

    prepare_registry([])
    with initialize_config_dir(config_dir=str(registry.CONF_DIR), version_base="1.3"):
        cfg = compose("config", return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert cfg.hydra.launcher.n_jobs == -1  # joblib: one worker per core
    assert cfg.sweep.intra_op_threads == 1 and cfg.sweep.inter_op_threads == 1


# ---------------------------------------------------------------- HParams


def test_each_run_records_its_hparams_and_real_metrics(sweep_2x2):
    for job in sweep_2x2.job_dirs():
        metrics = json.loads((job / "metrics.json").read_text())
        data = hparams_data(job)
        (start,) = data[metadata.SESSION_START_INFO_TAG]
        hparams = start.session_start_info.hparams
        assert hparams["agent.learning_rate"].number_value in LEARNING_RATES
        assert hparams["seed"].string_value in ("0", "1")  # an integer shows as one
        assert hparams["env.gym_id"].string_value == "CartPole-v1"
        (end,) = data[metadata.SESSION_END_INFO_TAG]
        assert end.session_end_info.status == api_pb2.STATUS_SUCCESS
        curves = scalars(job)
        evaluations = metrics["evaluations"]
        best = curves["eval/best_average_return"]
        assert [step for step, _ in best] == [e["env_steps"] for e in evaluations]  # a curve
        assert best[-1][1] == pytest.approx(metrics["best_eval_return"], rel=1e-6)
        assert curves["eval/average_return"][-1][1] == pytest.approx(
            metrics["final_eval_return"], rel=1e-6
        )
        assert curves["perf/train_wall_time_s"][-1] == (
            metrics["env_steps"],
            pytest.approx(metrics["train_wall_time_s"], rel=1e-6),
        )
        assert not [tag for tag in curves if tag.startswith("hparams/")]  # no one-point cards


def test_runs_carry_the_experiment_and_the_sweep_root_has_no_events(sweep_2x2):
    assert not list(sweep_2x2.dir.glob("events.out.tfevents.*"))  # no extra run "."
    record = json.loads((sweep_2x2.dir / "sweep.json").read_text())
    assert record["hparam_domains"]["agent.learning_rate"] == {"values": [0.001, 0.0001]}
    for job in sweep_2x2.job_dirs():
        (experiment,) = hparams_data(job)[metadata.EXPERIMENT_TAG]
        infos = {i.name: i for i in experiment.experiment.hparam_infos}
        lr = infos["agent.learning_rate"]
        assert lr.type == api_pb2.DATA_TYPE_FLOAT64
        assert {v.number_value for v in lr.domain_discrete.values} == LEARNING_RATES
        assert [v.string_value for v in infos["seed"].domain_discrete.values] == ["0", "1"]
        assert infos["env.gym_id"].type == api_pb2.DATA_TYPE_STRING
        differing = {name for name, info in infos.items() if info.differs}
        assert differing == {"agent.learning_rate", "seed"}  # the columns TensorBoard shows first
        tags = [m.name.tag for m in experiment.experiment.metric_infos]
        assert tags == ["eval/average_return", "eval/best_average_return", "perf/train_wall_time_s"]


# ---------------------------------------------------------------- the sweep objective


@pytest.mark.parametrize("objective", ["episodes_per_hour", "reward_threshold", "env_steps"])
def test_sweep_objective_must_be_a_result(cli, tmp_path, objective):
    result = cli("train", f"sweep.objective={objective}", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.code == 2, result.describe()
    assert f"sweep.objective={objective}: not a metrics.json result" in result.err
    assert "final_eval_return" in result.err and "(lower is better)" in result.err


@pytest.mark.parametrize(
    ("metrics", "value"),
    [
        ({"status": "completed", "final_eval_return": 480.0}, 480.0),
        ({"status": "completed", "solved_at_env_steps": 9000, "reward_threshold": 475}, 9000),
        ({"status": "completed", "solved_at_env_steps": None, "reward_threshold": 475}, math.inf),
        ({"status": "completed", "solved_at_env_steps": None, "reward_threshold": None}, math.nan),
        ({"status": "failed", "solved_at_env_steps": None, "reward_threshold": 475}, math.nan),
        ({"status": "interrupted", "final_eval_return": 480.0}, math.nan),
    ],
    ids=["return", "solved", "never-solved", "no-threshold", "failed", "interrupted"],
)
def test_a_runs_objective_value_counts_a_solve_that_never_came_as_inf(metrics, value):
    from rlexp.sweeps.job import objective_value

    objective = next(k for k in metrics if k not in ("status", "reward_threshold"))
    got = objective_value(metrics, objective)
    assert got == value or (math.isnan(got) and math.isnan(value))


def test_a_fork_server_exits_on_its_own_when_its_worker_closes_it(monkeypatch):
    """A launcher worker closes its fork server at exit; the server must see the end of its
    input and exit by itself (a server still reading is killed after 5 s, which every sweep
    paid at its end)."""
    import os

    from rlexp.sweeps import forkserver

    monkeypatch.setattr(forkserver, "_server", None)
    run = forkserver.fork_run([], dict(os.environ), new_session=False)
    run.stdin.close()  # no config: the run fails at once, after the server's imports
    run.stdout.read()
    assert run.wait() != 0
    server = forkserver._server
    server.close()
    assert server.process.returncode == 0


def test_a_forked_run_leaves_no_generated_modules_behind(tmp_path, monkeypatch):
    """TensorFlow removes the modules autograph writes to the temp folder at exit; a run
    forked from the fork server ends without the interpreter's exit, so it runs those
    handlers itself."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    sweep_dir = tmp_path / "sweep"
    result = run_sweep(
        "seed=0", "env=cartpole", *SWEEP_RUN_OVERRIDES, f"hydra.sweep.dir={sweep_dir}"
    )
    assert result.code == 0, result.describe()
    assert (sweep_dir / "0_seed=0" / "metrics.json").is_file()
    assert not list(temp.glob("__autograph_generated_file*")), list(temp.iterdir())
