"""The trainer state a checkpoint's JSON sidecar holds (rlexp.training.state)."""

from __future__ import annotations

import json

from rlexp.training.state import TrainerState


def test_the_sidecar_keeps_the_last_loss_and_older_ones_still_load():
    state = TrainerState(env_steps=2048, loss=0.27877622842788696)
    data = json.loads(json.dumps(state.to_json(), allow_nan=False))
    assert TrainerState.from_json(data).loss == state.loss
    del data["loss"]  # as an older sidecar has it
    assert TrainerState.from_json(data).loss is None
