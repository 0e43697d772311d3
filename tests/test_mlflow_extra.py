"""`logger=mlflow` without the mlflow extra, and the sweep callback when MLflow fails: runs
whether or not mlflow is installed (it is hidden where a test needs it missing)."""

from __future__ import annotations

import sys

import pytest

from rlexp.extras import EXTRAS


@pytest.fixture
def no_mlflow(monkeypatch):
    """As if the extra were not installed: importing it fails, find_spec finds nothing."""
    monkeypatch.setitem(sys.modules, EXTRAS["mlflow"].module, None)


def test_logger_mlflow_without_its_extra_fails_at_validation(cli, tmp_path, no_mlflow):
    run_dir = tmp_path / "run"
    result = cli("train", "logger=mlflow", "train.env_steps=1500", f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    assert "logger.name=mlflow needs the optional 'mlflow' extra" in result.err
    assert "pip install 'rlexp[mlflow]'" in result.err
    assert EXTRAS["mlflow"].requirement in result.err
    assert "logger=tensorboard" in result.err
    assert not run_dir.exists()


def test_a_sweep_with_logger_mlflow_without_its_extra_starts_nothing(cli, tmp_path, no_mlflow):
    sweep = tmp_path / "sweep"
    result = cli("-m", "repeat=2", "logger=mlflow", f"hydra.sweep.dir={sweep}")
    assert result.code == 2, result.describe()
    assert "pip install 'rlexp[mlflow]'" in result.err
    assert not sweep.exists()


@pytest.mark.parametrize("error", [ImportError("No module named 'mlflow'"), ValueError("Port")])
def test_the_sweep_callback_survives_any_mlflow_error(tmp_path, monkeypatch, capsys, error):
    """Raised in on_multirun_start, it would leave sweep.json unwritten (Hydra only warns)."""
    from rlexp.loggers import mlflow_logger
    from rlexp.sweeps.callbacks import _mlflow_parent_run

    def fail(*args):
        raise error

    monkeypatch.setattr(mlflow_logger, "start_sweep_run", fail)
    assert _mlflow_parent_run({"name": "mlflow"}, tmp_path, []) is None
    err = capsys.readouterr().err
    assert f"the sweep has no MLflow parent run: {type(error).__name__}: {error}" in err
