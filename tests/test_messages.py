"""Bad input outside the training loop gets one clear message, a non-zero exit and no
traceback: values that used to pass validation and fail later, an output directory set
with `++`, a pipe closed early, a sweep whose launcher fails, unknown gym kwargs."""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path

import pytest


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("override", "phrase"),
    [
        ("agent.learning_rate=inf", "agent.learning_rate=inf: must be a finite number"),
        ("agent.learning_rate=nan", "agent.learning_rate=nan: must be a finite number"),
        ("agent.gamma=-inf", "agent.gamma=-inf: must be a finite number"),
        ("seed=99999999999999", "seed=99999999999999: must be >= 0 and <= 4294967295"),
        ("train.env_steps=9223372036854775808", "does not fit a 64-bit integer"),
        ("train.prefill_steps=100000000000000000000", "train.prefill_steps="),
        ("+env.gym_kwargs={foo: 1}", "gym_kwargs: CartPole-v1 does not take foo"),
    ],
)
def test_values_that_used_to_fail_later_fail_at_validation(cli, tmp_path, override, phrase):
    run_dir = tmp_path / "run"
    result = cli("train", "env=cartpole", "driver=step", override, f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    assert phrase in result.err
    assert "Traceback" not in result.output
    assert not run_dir.exists() or not any(
        p.name != ".hydra" and p.suffix != ".log" for p in run_dir.iterdir()
    )


@pytest.mark.parametrize("prefix", ["", "++"])
def test_unwritable_output_dir_set_any_way_is_reported(cli, tmp_path, prefix, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("train", f"{prefix}hydra.run.dir=/proc/rlexp-run")
    assert result.code == 2, result.describe()
    assert "hydra.run.dir=/proc/rlexp-run" in result.err and "writable" in result.err
    assert "Traceback" not in result.output
    assert not any(tmp_path.iterdir())


def test_help_into_a_closed_pipe_is_quiet(monkeypatch, capsys):
    from rlexp import cli

    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert cli.main(["--help"]) == 141
    assert "Traceback" not in capsys.readouterr().err


def test_help_piped_to_head_has_no_traceback(tmp_path):
    import subprocess

    from conftest import RLEXP

    proc = subprocess.run(
        f"{shlex.quote(str(RLEXP))} --help | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.stdout.startswith("usage: rlexp")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_tensorboard_command_is_quoted_for_the_shell():
    from rlexp.training.progress import closing_lines

    run_dir = Path("outputs/multirun/x/1_agent.gamma=0.9,seed=1 späte Läufe")
    metrics = {"final_eval_return": 1.0, "best_eval_return": 2.0, "reward_threshold": None}
    line = next(x for x in closing_lines(metrics, run_dir) if "tensorboard" in x)
    words = shlex.split(line)
    assert words[:3] == ["tensorboard", "--logdir", str(run_dir)]


def test_a_sweep_whose_launcher_fails_is_not_left_running(cli, tmp_path, monkeypatch):
    """SLURM's launcher, off a cluster, fails once the sweep has started."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `srun` on it, even on a cluster
    sweep_dir = tmp_path / "sweep"
    result = cli("-m", "seed=0,1", "hydra/launcher=slurm", f"hydra.sweep.dir={sweep_dir}")
    assert result.code == 1, result.describe()
    assert "srun" in result.err and "Traceback" not in result.output
    record = json.loads((sweep_dir / "sweep.json").read_text())
    assert record["status"] == "aborted" and "srun" in record["error"]
    assert record["invocations"][-1]["end_time"] is not None


def test_unknown_gym_kwargs_at_build_name_the_env():
    from rlexp.context import BuildError
    from rlexp.envs.gym_suite import GymEnvConfig, load_gym

    with pytest.raises(BuildError, match=r"CartPole-v1.*env\.gym_kwargs \['foo'\]"):
        load_gym(GymEnvConfig(name="cartpole", gym_id="CartPole-v1", gym_kwargs={"foo": 1}), seed=0)


OPTUNA = "hydra/sweeper=optuna_study"


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["-m", "plugins=[a],[b]"], "plugins cannot be swept"),
        (["-m", "repeat=99999999999"], "the last seed, 99999999998, is above"),  # it hung
        (["-m", "repeat=20000"], "at most 10000 seeds"),
        (["-m", "repeat=0"], "repeat=0: must be > 0"),
        (["-m", "seed=1,2", "hydra.launcher.n_jobs=0"], "hydra.launcher.n_jobs=0: no worker"),
        (["-m", "repeat=-2"], "repeat=-2: must be > 0"),
        (["-m", OPTUNA, "repeat=0"], "repeat=0: must be > 0"),
        (["-m", OPTUNA, "hydra.sweeper.n_trials=0"], "hydra.sweeper.n_trials=0: must be > 0"),
        (["-m", OPTUNA, "hydra.sweeper.n_jobs=-1"], "hydra.sweeper.n_jobs=-1: must be > 0"),
        (["-m", OPTUNA, "hydra.sweeper.direction=up"], "direction=up: must be maximize or"),
        (["-m", OPTUNA, "hydra.sweeper.max_failure_rate=2"], "max_failure_rate=2.0: must be"),
        (["-m", "hydra/sweeper=optuna"], "use rlexp's study, hydra/sweeper=optuna_study"),
        (
            ["-m", "seed=1,2", "sweep.intra_op_threads=-1"],
            "1 setting(s) make every sweep point invalid; no job was started. Fix or drop these "
            "values:\n  - sweep.intra_op_threads=-1: must be >= 0",
        ),
        (
            ["-m", OPTUNA, "sweep.objective=solved_at_env_steps"],
            "would seek the worst sweep.objective=solved_at_env_steps, where lower is better; "
            "set hydra.sweeper.direction=minimize",
        ),
        (["seed=4294967295", "repeat=2"], "the last seed, 4294967296, is above 4294967295"),
    ],
    ids=[
        "swept-plugins",
        "huge-repeat",
        "repeat-above-the-limit",
        "no-repeat",
        "no-launcher-worker",
        "negative-repeat",
        "no-repeat-in-a-study",
        "no-trials",
        "no-trial-jobs",
        "unknown-direction",
        "failure-rate-above-1",
        "the-plugins-bare-study",
        "a-setting-no-point-escapes",
        "a-direction-seeking-the-worst",
        "repeat-past-the-seed-range",
    ],
)
def test_sweep_arguments_that_cannot_work_are_refused(cli, tmp_path, monkeypatch, args, phrase):
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.code == 2, result.describe()
    assert phrase in result.err and "Traceback" not in result.output
    assert not any(p.suffix != ".log" for p in tmp_path.rglob("*") if p.is_file())


def test_an_optuna_trial_without_a_value_is_a_failed_trial_not_a_crash(run_cli, tmp_path):
    """Trials whose runs fail (here: skipped as invalid) are recorded as FAIL and the study
    goes on; with none completed, the error says so (the sweeper crashed on the first NaN:
    "Values were told ...")."""
    optuna = pytest.importorskip("optuna")
    sweep_dir = tmp_path / "study"
    result = run_cli(  # its own process: the launcher's workers unpickle the registry
        "-m", OPTUNA, "hydra.sweeper.n_trials=2", "agent.gamma=interval(1.1, 1.5)",
        f"hydra.sweep.dir={sweep_dir}",
    )  # fmt: skip
    assert result.code == 1, result.describe()
    assert "no trial of the Optuna study completed" in result.err, result.describe()
    study = optuna.load_study(study_name="rlexp", storage=f"sqlite:///{sweep_dir}/optuna.db")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2


@pytest.mark.parametrize("mode", [[], ["train.jit_compile=false"]])  # XLA: loop+eval, eval
def test_a_run_prints_no_tensorflow_start_up_chatter(tmp_path, mode):
    """A user's shell has no TF_CPP_MIN_LOG_LEVEL: TensorFlow's C++ start-up lines (CUDA,
    oneDNN, CPU features, XLA's first compile) stay out of what `rlexp train` prints."""
    import os
    import subprocess

    from conftest import RLEXP

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH")}
    budget = ["train.env_steps=100", "train.prefill_steps=50", "driver.num_steps=50"]
    budget += ["train.eval_episodes=1", *mode]
    proc = subprocess.run(
        [str(RLEXP), "train", *budget, f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for chatter in ("cuda", "oneDNN", "cpu_feature_guard", "TensorRT", "absl", "Compiled cluster"):
        assert chatter not in proc.stdout + proc.stderr, proc.stderr


@pytest.mark.parametrize("command", ["eval"])
def test_a_sweep_directory_given_for_a_run_names_one_of_its_runs(cli, tmp_path, command):
    sweep = tmp_path / "sweep"
    run = sweep / "0_agent.gamma=0.9,seed=0"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("seed: 0\n")
    (sweep / "sweep.json").write_text("{}")
    result = cli(command, sweep)
    assert result.code == 2, result.describe()
    assert f"it is a sweep directory: rlexp {command} takes one of its runs" in result.err
    assert f"rlexp {command} {shlex.quote(str(run))}" in result.err


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ("hydra.run.dir=~/runs/a", "`~` is not expanded in an override"),
        ("hydra.job.env_set.OMP_NUM_THREADS=1;2", "also needs quotes of its own inside"),
    ],
)
def test_an_override_the_grammar_refuses_gets_the_hint_that_fixes_it(cli, override, hint):
    result = cli("train", override)
    assert result.code == 2, result.describe()
    assert "not an override in Hydra's grammar" in result.err and hint in result.err
