"""`${oc.env:NAME}` in an override is expanded before Hydra sees it, so the run directory
records the value it trained with and later commands do not depend on the environment."""

from __future__ import annotations

import pytest
import yaml

from rlexp.env_vars import EnvVarError, expand_env_vars

BUDGET = ("train.env_steps=600", "train.prefill_steps=100", "driver.num_steps=100")


def test_a_variable_its_default_and_a_missing_one(monkeypatch):
    monkeypatch.setenv("RLEXP_TEST_SEED", "7")
    monkeypatch.delenv("RLEXP_TEST_UNSET", raising=False)
    assert expand_env_vars(["seed=${oc.env:RLEXP_TEST_SEED}", "a=b"]) == ["seed=7", "a=b"]
    assert expand_env_vars(["seed=${oc.env:RLEXP_TEST_UNSET,3}"]) == ["seed=3"]
    assert expand_env_vars(["seed=${oc.env:RLEXP_TEST_SEED,3}"]) == ["seed=7"]
    assert expand_env_vars(["seed=${oc.env:RLEXP_TEST_SEED},${oc.env:RLEXP_TEST_UNSET,8}"]) == [
        "seed=7,8"
    ]
    with pytest.raises(EnvVarError, match=r"RLEXP_TEST_UNSET is not set.*RLEXP_TEST_UNSET,<value>"):
        expand_env_vars(["seed=${oc.env:RLEXP_TEST_UNSET}"])


def test_the_run_records_the_value_and_resumes_in_another_environment(cli, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    monkeypatch.setenv("RLEXP_TEST_SEED", "5")
    monkeypatch.setenv("RLEXP_TEST_EPISODES", "3")
    result = cli(
        "train", "seed=${oc.env:RLEXP_TEST_SEED}",
        "train.eval_episodes=${oc.env:RLEXP_TEST_EPISODES}", *BUDGET,
        "train.progress=false", f"hydra.run.dir={run_dir}",
    )  # fmt: skip
    assert result.code == 0, result.describe()
    config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert config["seed"] == 5 and config["train"]["eval_episodes"] == 3
    assert "seed=5" in (run_dir / ".hydra" / "overrides.yaml").read_text()

    monkeypatch.setenv("RLEXP_TEST_SEED", "6")  # another shell: the run is still the same run
    again = cli("resume", run_dir)
    assert again.code == 0 and "already completed" in again.out, again.describe()


def test_a_missing_variable_is_refused_before_anything_is_written(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("RLEXP_TEST_UNSET", raising=False)
    run_dir = tmp_path / "run"
    result = cli("train", "seed=${oc.env:RLEXP_TEST_UNSET}", f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    assert "RLEXP_TEST_UNSET is not set" in result.err and "Traceback" not in result.err
    assert not run_dir.exists()


PRESET = """\
# @package _global_
agent:
  learning_rate: ${oc.env:RLEXP_TEST_LR,1.0e-3}
seed: ${oc.env:RLEXP_TEST_SEED,3}
"""


def test_a_preset_s_variables_are_recorded_reported_and_compared_on_resume(
    cli, tmp_path, monkeypatch
):
    """`${oc.env:...}` in a preset: each run records the values it trained with, so the
    report tells runs of different values apart and a resume under other values is refused."""
    from rlexp.training.resume import ResumeError, config_for_resume

    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "envlr.yaml").write_text(PRESET)
    runs = tmp_path / "runs"
    for name, lr, seed in (("a", "1.0e-3", "4"), ("b", "5.0e-2", "5")):
        monkeypatch.setenv("RLEXP_TEST_LR", lr)
        monkeypatch.setenv("RLEXP_TEST_SEED", seed)
        result = cli(
            "train", "--config-dir", conf, "experiment=envlr", *BUDGET, "train.progress=false",
            f"hydra.run.dir={runs / name}",
        )  # fmt: skip
        assert result.code == 0, result.describe()
        config = yaml.safe_load((runs / name / ".hydra" / "config.yaml").read_text())
        assert config["agent"]["learning_rate"] == float(lr) and config["seed"] == int(seed)

    report = cli("report", runs, f"out={tmp_path / 'report'}")
    assert report.code == 0, report.describe()
    assert "2 configurations" in report.output and "oc.env" not in report.output, report.output

    # b trained with lr 5e-2 and seed 5; the variables now hold another lr.
    monkeypatch.setenv("RLEXP_TEST_LR", "1.0e-3")
    with pytest.raises(ResumeError, match=r"(?s)learning_rate: 0\.05.*agent\.learning_rate"):
        config_for_resume(runs / "b")
    monkeypatch.setenv("RLEXP_TEST_LR", "5.0e-2")
    assert config_for_resume(runs / "b").agent.learning_rate == 0.05
