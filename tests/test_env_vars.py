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
