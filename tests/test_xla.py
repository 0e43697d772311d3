"""`train.jit_compile=true`: the fused loop's train step compiled by XLA. Its results may
differ from the default mode's, but within the mode a run repeats bit for bit and a
resumed run continues exactly as the uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_fused import TINY_FUSED
from test_reproducibility import comparable

from rlexp.composition import compose_config

XLA = [*TINY_FUSED, "train.jit_compile=true"]


def _train(run_dir: Path, resume: bool = False) -> dict:
    from rlexp.training.trainer import train

    return train(compose_config(XLA), run_dir, resume=resume)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    return _train(tmp_path_factory.mktemp("xla") / "run")


def test_xla_run_trains_and_repeats_bitwise(reference, tmp_path):
    assert reference["status"] == "completed"
    assert reference["train_steps"] > 0
    assert comparable(_train(tmp_path / "again")) == comparable(reference)


def test_xla_run_stopped_at_a_checkpoint_resumes_exactly(reference, tmp_path, monkeypatch):
    from rlexp.training import trainer

    run_dir = tmp_path / "run"

    class StopAfterFirstCheckpoint(trainer.StopRequest):
        """As if SIGTERM arrived while the first checkpoint was written."""

        def __call__(self) -> bool:
            if self.signum is None and list(run_dir.glob("checkpoints/ckpt-*.index")):
                self.signum = 15
            return super().__call__()

    monkeypatch.setattr(trainer, "StopRequest", StopAfterFirstCheckpoint)
    with pytest.raises(trainer.Interrupted) as stopped:
        _train(run_dir)
    assert 0 < stopped.value.metrics.env_steps < reference["env_steps"]
    monkeypatch.undo()
    resumed = _train(run_dir, resume=True)
    assert comparable(resumed) == comparable(reference)
